//! The L610's sockets on the core, with a scripted socket service and virtual time: opening,
//! the two `AT+MIPSEND` forms, every receive format, the read mode's notices, the ends a
//! socket can come to (the host's close, the peer's, a reset, a failed open, the lost call),
//! the line waiting on a full send buffer, name look-ups and the TLS settings.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::core::testing::{Bench, addr, taken, tcp_pipes};
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::socket::SocketError;
use crate::service::socket::job::{Event, Input, Request as SocketRequest, Transport};
use crate::service::tls::Verification;
use crate::service::{self, JobId, Request};

const OK: &str = "\r\nOK\r\n";

/// An L610 with its call up and `AT+CMEE=1`.
fn called() -> Bench {
    let mut b = Bench::new(Family::L610);
    assert_eq!(b.at("AT+CMEE=1"), OK);
    assert_eq!(b.at("AT+MIPCALL=1,\"CMNET\""), "\r\nOK\r\n\r\n+MIPCALL: 10.94.36.44\r\n");
    b
}

/// Opens TCP socket `id` to `peer.test:7` and reports it open; its job and pipes.
fn tcp_socket(b: &mut Bench, id: u8) -> (JobId, PipeWriter, PipeReader) {
    assert_eq!(b.at(&format!("AT+MIPOPEN={id},,\"peer.test\",7,0")), OK);
    let (job, open) = b.started_socket(Owner::Socket);
    assert_eq!((open.host.as_str(), open.port), ("peer.test", 7));
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    assert_eq!(b.take(), format!("\r\n+MIPOPEN: {id},1\r\n"));
    let (down, up) = tcp_pipes(open);
    (job, down, up)
}

#[test]
fn rt_thread_sequence_open_send_read_close() {
    let mut b = called();
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",5"), OK);
    assert_eq!(b.at("AT+MIPOPEN?"), "\r\n+MIPOPEN: 1,2,3,4,5,6\r\n\r\nOK\r\n");
    let (job, down, up) = tcp_socket(&mut b, 1);
    assert_eq!(b.at("AT+MIPOPEN?"), "\r\n+MIPOPEN: 2,3,4,5,6\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPCLOSE?"), "\r\n+MIPCLOSE: 1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPSEND=1,5"), "\r\n> ");
    b.send(b"he\r\x03o");
    assert_eq!(b.take(), "\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n", "the bytes are raw, not echoed");
    assert_eq!(taken(&up), b"he\r\x03o");
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\n+MIPPUSH: 1,0\r\n", "pushed once they have gone into the socket");
    down.try_write(b"world").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+MIPREAD: 1,5\r\n");
    down.try_write(b"!!").unwrap();
    assert_eq!(b.at("AT+MIPREAD=1,3"), "\r\n+MIPDATA: 1,3\r\nwor\r\nOK\r\n\r\n+MIPREAD: 1,4\r\n");
    assert_eq!(b.at("AT+MIPREAD=1,100"), "\r\n+MIPDATA: 1,4\r\nld!!\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPREAD=1,100"), "\r\n+MIPDATA: 1,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPSTAT=1"), "\r\n+MIPSTAT: 1,0,5\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPCLOSE=1"), "\r\nOK\r\n\r\n+MIPCLOSE: 1,0\r\n");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+MIPCLOSE?"), "\r\n+MIPCLOSE: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPSTAT=1"), "\r\n+MIPSTAT: 1,1,0\r\n\r\nOK\r\n");
}

#[test]
fn wrong_arguments_and_states_have_their_codes() {
    let mut b = Bench::new(Family::L610);
    assert_eq!(b.at("AT+CMEE=1"), OK);
    assert_eq!(b.at("AT+MIPOPEN=1,,\"peer.test\",7,0"), "\r\n+CME ERROR: 2031\r\n", "no call");
    assert_eq!(b.at("AT+MIPDNS=\"peer.test\""), "\r\n+CME ERROR: 2031\r\n");
    assert_eq!(b.at("AT+MIPCALL=1"), "\r\nOK\r\n\r\n+MIPCALL: 10.94.36.44\r\n");
    for bad in [
        "AT+MIPOPEN=0,,\"peer.test\",7,0",
        "AT+MIPOPEN=7,,\"peer.test\",7,0",
        "AT+MIPOPEN=1,,peer.test,7,0",
        "AT+MIPOPEN=1,,\"\",7,0",
        "AT+MIPOPEN=1,,\"peer.test\",0,0",
        "AT+MIPOPEN=1,,\"peer.test\",7,3",
        "AT+MIPOPEN=1,70000,\"peer.test\",7,0",
        "AT+MIPSEND=1,0",
        "AT+MIPSEND=1,2049",
        "AT+MIPSEND=1,\"4\"",
        "AT+MIPREAD=1,0",
        "AT+MIPREAD=1,16385",
        "AT+MIPCONF=1,15",
        "AT+GTSET=\"IPRFMT\",3",
        "AT+GTSSLFILE=\"OTHERFILE\",10",
        "AT+GTSSLFILE=\"TRUSTFILE\",3",
    ] {
        assert_eq!(b.at(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
    for not_open in ["AT+MIPSEND=1,5", "AT+MIPSEND=1,\"00\"", "AT+MIPPUSH=1", "AT+MIPREAD=1,5", "AT+MIPCLOSE=1"] {
        assert_eq!(b.at(not_open), "\r\n+CME ERROR: 2004\r\n", "{not_open}");
    }
    assert_eq!(b.at("AT+MIPSEND=?"), "\r\n+CME ERROR: 4\r\n");
    tcp_socket(&mut b, 2);
    assert_eq!(b.at("AT+MIPOPEN=2,,\"peer.test\",7,1"), "\r\n+CME ERROR: 2017\r\n", "the id is in use");
}

#[test]
fn the_pushed_formats_put_the_data_in_urcs() {
    let mut b = called();
    let (job, down, _up) = tcp_socket(&mut b, 3);
    down.try_write(b"A\x00\xff").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+MIPRTCP: 3,3,4100FF\r\n", "hex at power-on");
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",2"), OK);
    down.try_write(b"a\r\nb").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+MIPRTCP: 3,4,a\r\nb\r\n");
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",1"), OK);
    down.try_write(b"bare").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "bare");
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",0"), OK);
    down.try_write(&[0x5a; 1500]).unwrap();
    b.event(job, Event::Data);
    let text = b.take();
    let frames: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(frames.len(), 2, "at most 1024 bytes to a URC");
    assert_eq!(frames[0], format!("+MIPRTCP: 3,1024,{}", "5A".repeat(1024)));
    assert_eq!(frames[1], format!("+MIPRTCP: 3,476,{}", "5A".repeat(476)));
}

#[test]
fn udp_datagrams_come_whole_with_their_sender() {
    let mut b = called();
    assert_eq!(b.at("AT+MIPOPEN=2,5000,\"peer.test\",9000,1"), OK);
    let (job, open) = b.started_socket(Owner::Socket);
    assert!(matches!(open.transport, Transport::Udp));
    b.event(job, Event::Opened { local: addr(40001), peer: SocketAddr::from(([10, 0, 0, 7], 9000)) });
    assert_eq!(b.take(), "\r\n+MIPOPEN: 2,1\r\n");
    b.event(job, Event::Datagram(vec![0x31; 1500]));
    let text = b.take();
    assert_eq!(text, format!("\r\n+MIPRUDP: 10.0.0.7,9000,2,1500,{}\r\n", "31".repeat(1500)));
    assert_eq!(b.at("AT+MIPSEND=2,4"), "\r\n> ");
    b.send(b"ping");
    assert_eq!(b.take(), "\r\n+MIPSEND: 2,0,2048\r\n\r\nOK\r\n");
    let (fed, input) = b.fed();
    assert!(fed == job && matches!(input, service::Input::Socket(Input::Datagram(ref d)) if d == b"ping"));
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\n+MIPPUSH: 2,0\r\n");
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",5"), OK);
    b.event(job, Event::Datagram(b"abc".to_vec()));
    b.event(job, Event::Datagram(b"defg".to_vec()));
    assert_eq!(b.take(), "\r\n+MIPREAD: 2,3\r\n", "told once until read");
    assert_eq!(b.at("AT+MIPREAD=2,2"), "\r\n+MIPDATA: 2,2\r\nab\r\nOK\r\n\r\n+MIPREAD: 2,4\r\n", "one datagram a read");
    assert_eq!(b.at("AT+MIPREAD=2,10"), "\r\n+MIPDATA: 2,4\r\ndefg\r\nOK\r\n");
}

#[test]
fn the_hex_form_stores_until_pushed() {
    let mut b = called();
    let (job, _down, up) = tcp_socket(&mut b, 1);
    assert_eq!(b.at("AT+MIPPUSH=1"), "\r\n+MIPPUSH: 1,2\r\n\r\nOK\r\n", "nothing to send");
    assert_eq!(b.at("AT+MIPSEND=1,\"4142\""), "\r\n+MIPSEND: 1,0,2046\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPSEND=1,\"43\""), "\r\n+MIPSEND: 1,0,2045\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPSEND?"), "\r\n+MIPSEND: 1,2045\r\n\r\nOK\r\n");
    assert!(taken(&up).is_empty(), "stored, not sent");
    assert_eq!(b.at("AT+MIPPUSH=1"), "\r\n+MIPPUSH: 1,0\r\n\r\nOK\r\n");
    assert_eq!(taken(&up), b"ABC");
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "", "the push answered already");
    let line = format!("AT+MIPSEND=1,\"{}\"", "00".repeat(500));
    for free in [1548, 1048, 548, 48] {
        assert_eq!(b.at(&line), format!("\r\n+MIPSEND: 1,0,{free}\r\n\r\nOK\r\n"));
    }
    assert_eq!(b.at(&line), "\r\n+MIPSEND: 1,1,48\r\n\r\nOK\r\n", "flowed off: nothing stored");
    assert_eq!(b.at("AT+MIPSEND=1,2"), "\r\n> ");
    b.send(b"yz");
    assert_eq!(b.take(), "\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n");
    let sent = taken(&up);
    assert_eq!((sent.len(), &sent[2000..]), (2002, &b"yz"[..]), "the stored bytes go first");
}

#[test]
fn a_full_send_buffer_holds_the_line_until_the_socket_takes_the_bytes() {
    let mut b = called();
    let (job, _down, up) = tcp_socket(&mut b, 1);
    for _ in 0..32 {
        assert_eq!(b.at("AT+MIPSEND=1,2048"), "\r\n> ");
        b.send(&[7; 2048]);
        assert_eq!(b.take(), "\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n");
    }
    assert!(b.core().reads_host(), "64 KiB fit");
    assert_eq!(b.at("AT+MIPSEND=1,2048"), "\r\n> ");
    b.send(&[8; 2048]);
    assert_eq!(b.take(), "\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n");
    assert!(!b.core().reads_host(), "held: the module drops CTS");
    assert_eq!(taken(&up).len(), 64 * 1024);
    b.event(job, Event::Sent);
    assert!(b.core().reads_host());
    assert_eq!(b.take(), "", "the held bytes are on their way; no push yet");
    assert_eq!(taken(&up), vec![8; 2048]);
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\n+MIPPUSH: 1,0\r\n");
}

#[test]
fn a_short_send_is_an_error_and_nothing_goes() {
    let mut b = called();
    let (_job, _down, up) = tcp_socket(&mut b, 1);
    assert_eq!(b.at("AT+MIPSEND=1,10"), "\r\n> ");
    b.send(b"abc");
    b.advance(Duration::from_secs(11));
    assert_eq!(b.take(), "\r\nERROR\r\n");
    assert!(taken(&up).is_empty());
}

#[test]
fn a_peer_close_is_told_once_the_host_has_read_everything() {
    let mut b = called();
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",5"), OK);
    let (job, down, _up) = tcp_socket(&mut b, 1);
    down.try_write(b"last words").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+MIPREAD: 1,10\r\n");
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "", "bytes still wait");
    assert_eq!(b.at("AT+MIPOPEN?"), "\r\n+MIPOPEN: 2,3,4,5,6\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPCLOSE?"), "\r\n+MIPCLOSE: 0\r\n\r\nOK\r\n", "not open any more");
    assert_eq!(b.at("AT+MIPSEND=1,1"), "\r\n+CME ERROR: 2004\r\n");
    assert_eq!(b.at("AT+MIPREAD=1,4"), "\r\n+MIPDATA: 1,4\r\nlast\r\nOK\r\n\r\n+MIPREAD: 1,6\r\n");
    assert_eq!(b.at("AT+MIPREAD=1,100"), "\r\n+MIPDATA: 1,6\r\n words\r\nOK\r\n\r\n+MIPCLOSE: 1,1\r\n");
    assert_eq!(b.at("AT+MIPOPEN?"), "\r\n+MIPOPEN: 1,2,3,4,5,6\r\n\r\nOK\r\n");
}

#[test]
fn a_reset_is_a_broken_socket_after_the_bytes_before_it() {
    let mut b = called();
    let (job, down, _up) = tcp_socket(&mut b, 4);
    assert_eq!(b.at("AT+GTSET=\"IPRFMT\",2"), OK);
    down.try_write(b"partial").unwrap();
    b.event(job, Event::Data);
    b.event(job, Event::Closed(Err(SocketError::Reset)));
    assert_eq!(b.take(), "\r\n+MIPRTCP: 4,7,partial\r\n\r\n+MIPSTAT: 4,1\r\n\r\n+MIPCLOSE: 4,1\r\n");
    assert_eq!(b.at("AT+MIPCLOSE=4"), "\r\n+CME ERROR: 2004\r\n", "already gone");
}

#[test]
fn a_socket_that_cannot_open_reports_mipstat_and_frees_its_id() {
    let mut b = called();
    assert_eq!(b.at("AT+MIPOPEN=1,,\"peer.test\",7,0"), OK);
    let (job, _) = b.started_socket(Owner::Socket);
    assert_eq!(b.at("AT+MIPOPEN=1,,\"peer.test\",7,0"), "\r\n+CME ERROR: 2017\r\n", "opening holds the id");
    b.event(job, Event::Closed(Err(SocketError::Refused(addr(7)))));
    assert_eq!(b.take(), "\r\n+MIPSTAT: 1,1\r\n");
    assert_eq!(b.at("AT+MIPOPEN?"), "\r\n+MIPOPEN: 1,2,3,4,5,6\r\n\r\nOK\r\n");
}

#[test]
fn losing_the_call_breaks_every_socket_first() {
    let mut b = called();
    let (one, _d1, _u1) = tcp_socket(&mut b, 1);
    let (three, _d3, _u3) = tcp_socket(&mut b, 3);
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(
        b.take(),
        "\r\n+MIPSTAT: 1,1\r\n\r\n+MIPCLOSE: 1,1\r\n\r\n+MIPSTAT: 3,1\r\n\r\n+MIPCLOSE: 3,1\r\n\r\n+MIPCALL: 0\r\n"
    );
    assert!(b.cancelled(one) && b.cancelled(three));
    assert_eq!(b.at("AT+MIPOPEN=1,,\"peer.test\",7,0"), "\r\n+CME ERROR: 2031\r\n");
    assert_eq!(b.at("AT+MIPCALL=0"), "\r\nOK\r\n\r\n+MIPCALL: 0\r\n", "nothing left to break");
}

#[test]
fn ack_reports_follow_the_sent_bytes_when_asked_for() {
    let mut b = called();
    assert_eq!(b.at("AT+MIPCONF=1,,,,,1"), OK);
    assert_eq!(
        b.at("AT+MIPCONF?"),
        "\r\n+MIPCONF: 1,12,10,600,75,1\r\n+MIPCONF: 2,12,10,600,75,0\r\n+MIPCONF: 3,12,10,600,75,0\r\n\
         +MIPCONF: 4,12,10,600,75,0\r\n+MIPCONF: 5,12,10,600,75,0\r\n+MIPCONF: 6,12,10,600,75,0\r\n\r\nOK\r\n"
    );
    assert_eq!(b.at("AT+MIPCONF=1,5,20,10"), "\r\n+CME ERROR: 50\r\n", "min_TO above max_TO");
    let (job, _down, up) = tcp_socket(&mut b, 1);
    assert_eq!(b.at("AT+MIPSEND=1,3"), "\r\n> ");
    b.send(b"abc");
    b.take();
    // The socket takes the bytes, then says so.
    assert_eq!(taken(&up), b"abc");
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\n+MIPSTAT: 1,0,3\r\n\r\n+MIPPUSH: 1,0\r\n");
}

#[test]
fn a_look_up_answers_with_the_address_or_fails() {
    let mut b = called();
    assert_eq!(b.at("AT+MIPDNS=\"peer.test\",2"), "");
    let (job, _, request) = b.started();
    assert!(matches!(request, Request::Socket(SocketRequest::Resolve { ref host }) if host == "peer.test"));
    let v6: IpAddr = "::1".parse().unwrap();
    b.event(job, Event::Resolved(Ok(vec![v6, IpAddr::from([10, 1, 2, 3])])));
    assert_eq!(b.take(), "\r\n+MIPDNS: \"peer.test\",::1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+MIPDNS=\"peer.test\""), "");
    let (job, _, _) = b.started();
    b.event(job, Event::Resolved(Ok(vec![v6, IpAddr::from([10, 1, 2, 3])])));
    assert_eq!(b.take(), "\r\n+MIPDNS: \"peer.test\",10.1.2.3\r\n\r\nOK\r\n", "an IPv4 address by default");
    assert_eq!(b.at("AT+MIPDNS=\"nowhere.test\",0"), "");
    let (job, _, _) = b.started();
    b.event(job, Event::Resolved(Err(SocketError::Dns("nowhere.test".into()))));
    assert_eq!(b.take(), "\r\n+CME ERROR: 2002\r\n");
    assert_eq!(b.at("AT+MIPDNS=\"slow.test\""), "");
    let (job, _, _) = b.started();
    b.advance(Duration::from_secs(10));
    assert_eq!(b.take(), "\r\n+CME ERROR: 2002\r\n", "no answer in time");
    assert!(b.cancelled(job));
}

#[test]
fn tls_sockets_use_the_loaded_files_and_report_failures() {
    let mut b = called();
    assert_eq!(b.at("AT+GTSSLVER?"), "\r\n+GTSSLVER: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+GTSSLMODE?"), "\r\n+GTSSLMODE: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+GTSSLVER=4"), OK);
    assert_eq!(b.at("AT+GTSSLMODE=1"), OK);
    assert_eq!(b.at("AT+GTSSLFILE=\"TRUSTFILE\",9"), "\r\n> ");
    b.send(b"PEM BYTES");
    assert_eq!(b.take(), OK);
    assert_eq!(
        b.at("AT+GTSSLFILE?"),
        "\r\n+GTSSLFILE: TRUSTFILE,1\r\n+GTSSLFILE: CAFILE,0\r\n+GTSSLFILE: KEYFILE,0\r\n\r\nOK\r\n"
    );
    assert_eq!(b.at("AT+MIPOPEN=5,,\"peer.test\",443,2"), OK);
    let (job, open) = b.started_socket(Owner::Socket);
    let Transport::Tcp { tls: Some(tls), .. } = open.transport else { panic!("no TLS") };
    assert_eq!((tls.ca.as_slice(), tls.verification), (&b"PEM BYTES"[..], Verification::Verify));
    let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    let failure = crate::service::tls::HandshakeFailure::Tls(refused);
    b.event(job, Event::Closed(Err(SocketError::TlsHandshake(failure))));
    assert_eq!(b.take(), "\r\n+MIPSTAT: 5,1\r\n");
    assert_eq!(b.at("AT+GTSSLERR?"), "\r\n+GTSSLERR: -11\r\n\r\nOK\r\n");
}

#[test]
fn the_socket_commands_wait_for_the_sim_pin_and_the_signal_reads_both_ways() {
    let module = crate::config::ModuleConfig {
        family: Family::L610,
        identity: crate::config::Identity { sim_pin: Some("1234".into()), ..Default::default() },
        ..Default::default()
    };
    let mut b = Bench::with(module);
    assert_eq!(b.at("AT+CMEE=1"), OK);
    assert_eq!(b.at("AT+MIPOPEN=1,,\"peer.test\",7,0"), "\r\n+CME ERROR: 11\r\n");
    assert_eq!(b.at("AT+MIPDNS=\"peer.test\""), "\r\n+CME ERROR: 11\r\n");
    assert_eq!(b.at("AT+CPIN=\"1234\""), OK);
    assert_eq!(b.at("AT+CSQ"), "\r\n+CSQ: 27,99\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CSQ?"), "\r\n+CSQ: 27,99\r\n\r\nOK\r\n", "RT-Thread's driver reads it so");
}
