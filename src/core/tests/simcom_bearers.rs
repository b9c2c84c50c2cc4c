//! The SIMCom bearers on the core: `AT+SAPBR` profiles, the SIM7080's `AT+CNACT` contexts, the
//! SIM7000's own `AT+CNACT`, the `CIP*` bring-up states, and what the network's acts do to
//! them.

use crate::core::testing::Bench;
use crate::family::Family;
use crate::network::NetworkEvent;

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

#[test]
fn sapbr_profiles_open_query_close_and_go_with_the_network() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+SAPBR=2,1"), "\r\n+SAPBR: 1,3,\"0.0.0.0\"\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+SAPBR=0,1"), ERROR, "closing a closed bearer");
    assert_eq!(b.at("AT+SAPBR=1,1"), OK);
    assert_eq!(b.at("AT+SAPBR=1,1"), ERROR, "opening an open bearer");
    assert_eq!(b.at("AT+SAPBR=2,1"), "\r\n+SAPBR: 1,1,\"10.94.36.44\"\r\n\r\nOK\r\n");
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+SAPBR 1: DEACT\r\n");
    assert_eq!(b.at("AT+SAPBR=2,1"), "\r\n+SAPBR: 1,3,\"0.0.0.0\"\r\n\r\nOK\r\n");
}

#[test]
fn cnact_contexts_of_the_sim7080_and_the_sim7000s_own_form() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CNACT=1,1"), "\r\nOK\r\n\r\n+APP PDP: 1,ACTIVE\r\n");
    assert_eq!(b.at("AT+CNACT=1,1"), ERROR);
    b.network(NetworkEvent::LoseRegistration);
    assert_eq!(b.take(), "\r\n+APP PDP: 1,DEACTIVE\r\n");
    assert_eq!(b.at("AT+CNACT=1,1"), ERROR, "no registration, no context");
    b.network(NetworkEvent::Register);
    assert_eq!(b.at("AT+CNACT=1,1"), "\r\nOK\r\n\r\n+APP PDP: 1,ACTIVE\r\n");

    let mut b = Bench::new(Family::Sim7000);
    assert_eq!(b.at("AT+CNACT=1,\"CMNET\""), "\r\nOK\r\n\r\n+APP PDP: ACTIVE\r\n");
    assert_eq!(b.at("AT+CNACT?"), "\r\n+CNACT: 1,\"10.94.36.44\"\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNACT=0"), "\r\nOK\r\n\r\n+APP PDP: DEACTIVE\r\n");
}

#[test]
fn the_cip_bring_up_goes_through_its_states_in_order() {
    let mut b = Bench::new(Family::Sim800);
    let status = |b: &mut Bench| b.at("AT+CIPSTATUS");
    assert_eq!(status(&mut b), "\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n");
    assert_eq!(b.at("AT+CIICR"), ERROR, "out of its state");
    assert_eq!(b.at("AT+CSTT=\"CMNET\""), OK);
    assert_eq!(status(&mut b), "\r\nOK\r\n\r\nSTATE: IP START\r\n");
    assert_eq!(b.at("AT+CIICR"), OK);
    assert_eq!(b.at("AT+CIFSR"), "\r\n10.94.36.44\r\n");
    assert_eq!(status(&mut b), "\r\nOK\r\n\r\nSTATE: IP STATUS\r\n");
    assert_eq!(b.at("AT+CIPSHUT"), "\r\nSHUT OK\r\n");
    assert_eq!(status(&mut b), "\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n");
}

#[test]
fn every_simcom_family_stores_the_general_settings() {
    for family in [Family::Sim7080, Family::Sim7000, Family::Sim800, Family::Sim900] {
        let mut b = Bench::new(family);
        for (set, read) in [("AT+CLTS=1", "+CLTS: 1"), ("AT+CBATCHK=1", "+CBATCHK: 1"), ("AT+CSCLK=2", "+CSCLK: 2")] {
            assert_eq!(b.at(set), OK, "{family} {set}");
            let name = &set[2..set.find('=').unwrap()];
            assert_eq!(b.at(&format!("AT{name}?")), format!("\r\n{read}\r\n\r\nOK\r\n"), "{family}");
        }
        assert_eq!(b.at("AT+CLTS=2"), ERROR);
    }
}
