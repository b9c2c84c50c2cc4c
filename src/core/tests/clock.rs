//! The module's clock on the core: `AT+CCLK` from power-on, set by the host, and the network's
//! time with `AT+CLTS=1` on registration (the URCs of the SIMCom families).

use std::time::Duration;

use crate::core::testing::Bench;
use crate::family::Family;
use crate::network::NetworkEvent;

const OK: &str = "\r\nOK\r\n";

#[test]
fn the_clock_runs_from_power_on_and_takes_what_the_host_sets() {
    for family in [Family::Sim800, Family::Sim7080, Family::L610] {
        let mut b = Bench::new(family);
        b.advance(Duration::from_secs(75));
        assert_eq!(b.at("AT+CCLK?"), "\r\n+CCLK: \"04/01/01,00:01:15+00\"\r\n\r\nOK\r\n", "{family:?}");
        assert_eq!(b.at("AT+CCLK=\"26/12/07,21:56:47+32\""), OK);
        b.advance(Duration::from_secs(13));
        assert_eq!(b.at("AT+CCLK?"), "\r\n+CCLK: \"26/12/07,21:57:00+32\"\r\n\r\nOK\r\n");
        assert_ne!(b.at("AT+CCLK=\"26/02/30,00:00:00+00\""), OK, "no such date");
        assert_ne!(b.at("AT+CCLK=\"26/12/07,21:56:47+99\""), OK);
    }
}

#[test]
fn with_clts_the_network_s_time_comes_on_registration() {
    let mut b = Bench::new(Family::Sim800);
    b.network(NetworkEvent::LoseRegistration);
    b.network(NetworkEvent::Register);
    assert_eq!(b.take(), "", "AT+CLTS is 0: no network time");
    assert_eq!(b.at("AT+CLTS=1"), OK);
    b.network(NetworkEvent::LoseRegistration);
    b.network(NetworkEvent::Register);
    assert_eq!(b.take(), "\r\n+CTZV: +32,0\r\n\r\n*PSUTTZ: 2026,12,7,13,56,47,\"+32\",0\r\n\r\nDST: 0\r\n");
    assert_eq!(b.at("AT+CCLK?"), "\r\n+CCLK: \"26/12/07,21:56:47+32\"\r\n\r\nOK\r\n", "local time");
}
