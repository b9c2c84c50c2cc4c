//! The module's clock on the core: `AT+CCLK` from power-on, set by the host, and the network's
//! time with `AT+CLTS=1` on registration (the URCs of the SIMCom families), and `AT+CNTP`.

use std::time::Duration;

use crate::core::testing::{Bench, NETWORK_TIME};
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::ntp::job::{Event as NtpEvent, NtpError, Request as NtpRequest};

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

#[test]
fn cntp_asks_the_server_and_sets_the_clock_in_the_zone_given() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CNTPCID=1"), OK);
    assert_eq!(b.at("AT+CNTP"), "\r\nERROR\r\n", "no server named yet");
    assert_eq!(b.at("AT+CNTP=\"pool.ntp.org\",32"), OK);
    assert_eq!(b.at("AT+CNTP?"), "\r\n+CNTP: \"pool.ntp.org\",32\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNTP"), "\r\nOK\r\n\r\n+CNTP: 61\r\n", "bearer profile 1 is not open");
    assert_eq!(b.at("AT+SAPBR=1,1"), OK);
    assert_eq!(b.at("AT+CNTP"), OK);
    let (job, owner, request) = b.started();
    assert_eq!(owner, crate::dialect::Owner::Ntp);
    let crate::service::Request::Ntp(NtpRequest::Sync { host, port }) = request else { panic!("{request:?}") };
    assert_eq!((host.as_str(), port), ("pool.ntp.org", 123));
    b.event(job, NtpEvent::Synced(Ok(NETWORK_TIME)));
    assert_eq!(b.take(), "\r\n+CNTP: 1\r\n");
    assert_eq!(b.at("AT+CCLK?"), "\r\n+CCLK: \"26/12/07,21:56:47+32\"\r\n\r\nOK\r\n");
    b.at("AT+CNTP");
    let (job, ..) = b.started();
    b.event(job, NtpEvent::Synced(Err(NtpError::Dns)));
    assert_eq!(b.take(), "\r\n+CNTP: 62\r\n");
}

#[test]
fn the_sim7080_names_a_context_and_a_mode_and_reports_the_time() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CNACT=0,1"), "\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n");
    assert_eq!(b.at("AT+CNTPCID=0"), OK);
    assert_eq!(b.at("AT+CNTP=\"pool.ntp.org\",-28,0,1"), OK);
    assert_eq!(b.at("AT+CNTP?"), "\r\n+CNTP: \"pool.ntp.org\",-28,0,1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNTP=\"x\",49"), "\r\nERROR\r\n", "zone beyond 48");
    b.at("AT+CNTP");
    let (job, ..) = b.started();
    b.event(job, NtpEvent::Synced(Ok(NETWORK_TIME)));
    assert_eq!(b.take(), "\r\n+CNTP: 1,\"2026/12/07,13:56:47\"\r\n");
    assert_eq!(b.at("AT+CCLK?"), "\r\n+CCLK: \"04/01/01,00:00:00+00\"\r\n\r\nOK\r\n", "mode 1 only shows it");
}
