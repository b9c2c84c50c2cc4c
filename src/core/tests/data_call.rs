//! The packet data call on the core, with the PPP job played by the test: the dial strings,
//! `CONNECT` per family, the host's bytes to the job one acknowledged piece at a time, the
//! job's bytes to the line while online and not in command mode, `+++` with its guard times,
//! `ATO`, `ATH`, and the ends: the link's (`NO CARRIER` ends the phase, or comes as a URC in
//! command mode) and the network's (the job is told to close the link).

use std::time::Duration;

use crate::core::testing::Bench;
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::ppp::job::{End, Event, Input};
use crate::service::{Input as JobInput, JobId, Request};

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";
const GUARD: Duration = Duration::from_millis(1100);

/// Dials with `dial`; the call's job, after `expect` came.
fn dial(b: &mut Bench, dial: &str, expect: &str) -> JobId {
    assert_eq!(b.at(dial), expect);
    let (job, owner, request) = b.started();
    assert_eq!(owner, Owner::Ppp);
    let Request::Ppp(request) = request else { panic!("not a call: {request:?}") };
    assert_eq!(request.link.host, request.relay.host);
    assert_eq!(request.link.host.to_string(), "10.94.36.44");
    job
}

/// The next piece the call's job was fed.
fn fed(b: &mut Bench, job: JobId) -> Input {
    let (fed_job, input) = b.fed();
    assert_eq!(fed_job, job);
    let JobInput::Ppp(input) = input else { panic!("not the call's input: {input:?}") };
    input
}

/// `+++` with a second of silence before and after.
fn escape(b: &mut Bench) -> String {
    b.advance(GUARD);
    b.send(b"+++");
    b.advance(GUARD);
    b.take()
}

#[test]
fn each_family_answers_its_connect_and_takes_every_dial_string() {
    for (family, connect) in [
        (Family::Sim7080, "\r\nCONNECT 150000000\r\n"),
        (Family::Sim7000, "\r\nCONNECT 150000000\r\n"),
        (Family::Sim800, "\r\nCONNECT\r\n"),
        (Family::Sim900, "\r\nCONNECT\r\n"),
        (Family::L610, "\r\nCONNECT\r\n"),
    ] {
        for dial_string in ["ATD*99#", "ATD*99***1#", "ATD*99##", "AT+CGDATA=\"PPP\",1"] {
            let mut b = Bench::new(family);
            dial(&mut b, dial_string, connect);
            assert_eq!(escape(&mut b), OK, "{family:?} {dial_string}");
            assert_eq!(b.at("ATH"), OK);
        }
    }
}

#[test]
fn bad_dial_strings_and_contexts_are_refused_and_start_nothing() {
    let mut b = Bench::new(Family::Sim800);
    for bad in ["ATD*99***9#", "ATD123;", "ATD*98#", "AT+CGDATA=\"IP\",1", "AT+CGDATA=\"PPP\",25"] {
        assert_eq!(b.at(bad), ERROR, "{bad}");
    }
    assert_eq!(b.at("AT+CGDCONT=2,\"IPV6\",\"v6\""), OK);
    assert_eq!(b.at("ATD*99***2#"), ERROR);
    assert_eq!(b.at("AT+CGDATA=?"), "\r\n+CGDATA: (\"PPP\")\r\n\r\nOK\r\n");
    assert!(!b.has_started());
    b.network(NetworkEvent::LoseRegistration);
    assert_eq!(b.at("ATD*99#"), "\r\nNO CARRIER\r\n");
    assert!(!b.has_started());
}

#[test]
fn the_host_s_bytes_go_one_acknowledged_piece_at_a_time_and_the_link_s_come_back() {
    let mut b = Bench::new(Family::Sim800);
    let job = dial(&mut b, "ATD*99#", "\r\nCONNECT\r\n");
    b.event(job, Event::Line(b"~LCP from the modem~".to_vec()));
    assert_eq!(b.take(), "~LCP from the modem~");
    b.send(b"~first~");
    // The service hands the bytes over on its timer, due at once.
    b.advance(Duration::ZERO);
    let Input::Line(first) = fed(&mut b, job) else { panic!("not line bytes") };
    assert_eq!(first, b"~first~");
    b.send(b"~second~");
    b.advance(Duration::from_millis(10));
    assert_eq!(b.fed_count(), 0, "a second piece before the first was taken");
    b.event(job, Event::Taken);
    b.advance(Duration::ZERO);
    let Input::Line(second) = fed(&mut b, job) else { panic!("not line bytes") };
    assert_eq!(second, b"~second~");
    b.event(job, Event::Taken);
    // The host terminates the link: NO CARRIER ends the phase, and commands are back.
    b.event(job, Event::Ended(End::Host));
    assert_eq!(b.take(), "\r\nNO CARRIER\r\n");
    assert_eq!(b.at("AT"), OK);
}

#[test]
fn escape_resume_hang_up_and_a_call_that_ends_in_command_mode() {
    let mut b = Bench::new(Family::Sim7080);
    let job = dial(&mut b, "ATD*99***1#", "\r\nCONNECT 150000000\r\n");
    assert_eq!(escape(&mut b), OK);
    // In command mode the link's bytes do not reach the line.
    b.event(job, Event::Line(b"~dropped~".to_vec()));
    assert_eq!(b.at("AT+CSQ"), "\r\n+CSQ: 27,99\r\n\r\nOK\r\n");
    assert_eq!(b.at("ATO"), "\r\nCONNECT 150000000\r\n");
    b.event(job, Event::Line(b"~online~".to_vec()));
    assert_eq!(b.take(), "~online~");
    assert_eq!(escape(&mut b), OK);
    // The link ends while in command mode: NO CARRIER as a URC, nothing to resume.
    b.event(job, Event::Ended(End::Host));
    assert_eq!(b.take(), "\r\nNO CARRIER\r\n");
    assert_eq!(b.at("ATO"), ERROR);
    // ATH ends a call: its job is cancelled.
    let job = dial(&mut b, "ATD*99#", "\r\nCONNECT 150000000\r\n");
    assert_eq!(escape(&mut b), OK);
    assert_eq!(b.at("ATH"), OK);
    assert!(b.cancelled(job));
    assert_eq!(b.at("ATH"), OK);
}

#[test]
fn the_network_taking_the_bearer_closes_the_link_then_no_carrier() {
    let mut b = Bench::new(Family::Sim800);
    let job = dial(&mut b, "ATD*99#", "\r\nCONNECT\r\n");
    b.network(NetworkEvent::ReleaseBearers);
    assert!(matches!(fed(&mut b, job), Input::Close));
    b.event(job, Event::Line(b"~TermReq~".to_vec()));
    b.event(job, Event::Ended(End::Modem));
    assert_eq!(b.take(), "~TermReq~\r\nNO CARRIER\r\n");
    assert_eq!(b.at("AT"), OK);
}

#[test]
fn a_full_host_buffer_stops_the_line_until_the_job_takes_it() {
    let mut b = Bench::new(Family::Sim800);
    let job = dial(&mut b, "ATD*99#", "\r\nCONNECT\r\n");
    let piece = vec![0x7E; 4096];
    b.send(&piece);
    let mut sent = 1;
    while b.core().reads_host() {
        b.send(&piece);
        b.advance(Duration::ZERO);
        sent += 1;
        assert!(sent <= 8, "the line is still read with {sent} pieces held");
    }
    assert_eq!(b.fed_count(), 1, "one piece with the job");
    for _ in 0..8 {
        if b.fed_count() > 0 {
            fed(&mut b, job);
        }
        b.event(job, Event::Taken);
        b.advance(Duration::ZERO);
    }
    assert!(b.core().reads_host(), "the line is read again once the job took the bytes");
}
