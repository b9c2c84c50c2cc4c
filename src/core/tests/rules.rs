//! The core's own rules, on virtual time: the module's answer and URC times, a freeze, a
//! reboot's end of every job, and events of jobs that no longer run.

use std::time::Duration;

use crate::core::ModuleTimes;
use crate::core::testing::Bench;
use crate::family::Family;
use crate::plan::PlanEntry;
use crate::service::ftp::Value;
use crate::service::ftp::job::Event;

const OK: &str = "\r\nOK\r\n";

fn fault(text: &str) -> PlanEntry {
    PlanEntry::parse(text).unwrap()
}

#[test]
fn the_answer_waits_for_the_modules_answer_time_and_urcs_for_theirs() {
    let mut b = Bench::new(Family::Sim7080);
    let ms = Duration::from_millis;
    b.core().set_times(ModuleTimes { answer: ms(300), urc: ms(500) });
    assert_eq!(b.at("AT+CNACT=0,1"), "");
    b.advance(ms(299));
    assert_eq!(b.take(), "");
    b.advance(ms(1));
    assert_eq!(b.take(), OK);
    b.advance(ms(199));
    assert_eq!(b.take(), "");
    b.advance(ms(1));
    assert_eq!(b.take(), "\r\n+APP PDP: 0,ACTIVE\r\n");
}

#[test]
fn a_frozen_modem_loses_host_bytes_and_handles_no_events_until_it_thaws() {
    let mut b = Bench::new(Family::Sim7080);
    let now = b.now();
    b.core().handle_fault(now, fault("kind = \"freeze\", seconds = 5"));
    b.flush();
    b.advance(Duration::ZERO);
    assert!(!b.core().takes_events());
    assert_eq!(b.at("AT"), "", "lost, as on a hung module's UART");
    assert_eq!(b.core().poll_timeout(), Some(now + Duration::from_secs(5)));
    b.advance(Duration::from_secs(5));
    assert!(b.core().takes_events());
    assert_eq!(b.at("AT"), OK);
}

#[test]
fn a_reboot_cancels_every_job_and_boots_again() {
    let mut b = Bench::new(Family::Sim7080);
    for line in ["AT+CNACT=0,1", "AT+FTPSERV=\"h\"", "AT+FTPGETNAME=\"f\"", "AT+FTPSIZE"] {
        b.at(line);
    }
    let (job, _, _) = b.started();
    assert_eq!(b.at("AT+CFUN=1,1"), "\r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n");
    assert!(b.cancelled(job));
    b.event(job, Event::Done(Ok(Value::Size(1))));
    assert_eq!(b.take(), "", "the old job's event is dropped");
    assert_eq!(b.at("AT+FTPSTATE"), "AT+FTPSTATE\r\r\n+FTPSTATE: 0\r\n\r\nOK\r\n", "echo is on again");
}

#[test]
fn a_urc_rule_of_the_plan_drops_or_delays_urcs() {
    let mut b = Bench::new(Family::Sim7080);
    let now = b.now();
    b.core().handle_fault(now, fault("kind = \"urc\", matching = \"+APP PDP\", delay = 2, count = 1"));
    assert_eq!(b.at("AT+CNACT=0,1"), OK);
    b.advance(Duration::from_secs(2));
    assert_eq!(b.take(), "\r\n+APP PDP: 0,ACTIVE\r\n");
    assert_eq!(b.at("AT+CNACT=0,0"), "\r\nOK\r\n\r\n+APP PDP: 0,DEACTIVE\r\n", "the count is spent");
}
