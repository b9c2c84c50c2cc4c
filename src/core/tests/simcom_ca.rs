//! The SIM7080's and the SIM7000's application network sockets (`AT+CAOPEN` ...) on the core,
//! with a scripted socket service and virtual time: opening (waiting and ASYNCOPEN), every
//! open failure's result, bytes both ways, the receive buffer, the peer's close, the bearer's
//! loss, name look-ups, TLS settings, the option commands and `AT+CREBOOT`.

use std::net::IpAddr;
use std::time::Duration;

use crate::core::testing::{Bench, addr, incoming, taken, tcp_pipes};
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::socket::SocketError;
use crate::service::socket::job::{Event, Request as SocketRequest, Transport};
use crate::service::tls::{HandshakeFailure, TlsVersions, Verification};
use crate::service::{JobId, Request};

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

/// A SIM7080 with application context 0 active.
fn ready() -> Bench {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CNACT=0,1"), "\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n");
    b
}

/// Opens cid `cid` to peer.test:7 and returns its job and pipes.
fn open(b: &mut Bench, cid: u8) -> (JobId, PipeWriter, PipeReader) {
    assert_eq!(b.at(&format!("AT+CAOPEN={cid},0,\"TCP\",\"peer.test\",7")), "", "the command waits");
    let (job, open) = b.started_socket(Owner::AppSocket);
    assert_eq!((open.host.as_str(), open.port, open.timeout), ("peer.test", 7, Duration::from_secs(75)));
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    assert_eq!(b.take(), format!("\r\n+CAOPEN: {cid},0\r\n\r\nOK\r\n"));
    let (down, up) = tcp_pipes(open);
    (job, down, up)
}

#[test]
fn a_socket_opens_carries_bytes_both_ways_and_closes() {
    let mut b = ready();
    assert_eq!(b.at("AT+CACID=0"), OK);
    assert_eq!(b.at("AT+CASSLCFG=0,SSL,0"), OK);
    let (job, down, up) = open(&mut b, 0);
    assert_eq!(b.at("AT+CASTATE?"), "\r\n+CASTATE: 0,1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CAOPEN?"), "\r\n+CAOPEN: 0,0,\"TCP\",\"peer.test\",7,0\r\n\r\nOK\r\n");

    assert_eq!(b.at("AT+CASEND=0,5"), "\r\n> ");
    b.send(b"hel");
    assert_eq!(b.take(), "", "the bytes are not all in");
    b.send(b"lo");
    assert_eq!(b.take(), OK);
    assert_eq!(taken(&up), b"hello");
    assert_eq!(b.at("AT+CAACK=0"), "\r\n+CAACK: 5,5\r\n\r\nOK\r\n", "not yet gone into the socket");
    b.event(job, Event::Sent);
    assert_eq!(b.at("AT+CAACK=0"), "\r\n+CAACK: 5,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASEND=0"), "\r\n+CASEND: 65536\r\n\r\nOK\r\n");

    assert_eq!(down.try_write(b"world"), Ok(5));
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+CADATAIND: 0\r\n");
    assert_eq!(b.at("AT+CARECV?"), "\r\n+CARECV: 0,5\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV=0,3"), "\r\n+CARECV: 3,wor\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV=0,1460"), "\r\n+CARECV: 2,ld\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV=0,1460"), "\r\n+CARECV: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV?"), OK);

    assert_eq!(b.at("AT+CACLOSE=0"), OK);
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+CASTATE?"), OK);
    assert_eq!(b.at("AT+CACLOSE=0"), ERROR, "not in use");
    assert_eq!(b.at("AT+CARECV=0,10"), ERROR);
}

#[test]
fn the_peer_closing_is_told_and_what_came_before_stays_readable() {
    let mut b = ready();
    let (job, down, _up) = open(&mut b, 3);
    down.try_write(b"bye").unwrap();
    b.event(job, Event::Data);
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "\r\n+CADATAIND: 3\r\n\r\n+CASTATE: 3,0\r\n");
    assert_eq!(b.at("AT+CASTATE?"), "\r\n+CASTATE: 3,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASEND=3,1"), ERROR, "nothing goes out any more");
    assert_eq!(b.at("AT+CMEE=1"), OK);
    assert_eq!(b.at("AT+CASEND=3,1"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(b.at("AT+CARECV=3,100"), "\r\n+CARECV: 3,bye\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CAOPEN=3,0,\"TCP\",\"peer.test\",7"), "\r\n+CME ERROR: 3\r\n", "closed, not free");
    assert_eq!(b.at("AT+CACLOSE=3"), OK);
    assert!(!b.has_started());
}

#[test]
fn a_reset_after_the_open_is_a_close_too() {
    let mut b = ready();
    let (job, _, _) = open(&mut b, 0);
    b.event(job, Event::Closed(Err(SocketError::Reset)));
    assert_eq!(b.take(), "\r\n+CASTATE: 0,0\r\n");
}

#[test]
fn every_failure_to_open_has_its_result() {
    let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
    let name = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
    let issuer = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    let cases = [
        (SocketError::Dns("peer.test".into()), 20),
        (SocketError::Refused(addr(7)), 23),
        (SocketError::TlsHandshake(HandshakeFailure::Tls(expired)), 24),
        (SocketError::TlsHandshake(HandshakeFailure::Tls(name)), 25),
        (SocketError::TlsHandshake(HandshakeFailure::Tls(issuer)), 27),
        (SocketError::Timeout, 27),
        (SocketError::Unreachable(addr(7)), 27),
    ];
    let mut b = ready();
    for (e, code) in cases {
        assert_eq!(b.at("AT+CAOPEN=1,0,\"TCP\",\"peer.test\",7"), "");
        let (job, _) = b.started_socket(Owner::AppSocket);
        b.event(job, Event::Closed(Err(e)));
        assert_eq!(b.take(), format!("\r\n+CAOPEN: 1,{code}\r\n\r\nOK\r\n"));
        assert_eq!(b.at("AT+CASTATE?"), OK, "the id is free again");
    }
}

#[test]
fn what_cannot_open_is_answered_at_once() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CAOPEN=0,0,\"TCP\",\"peer.test\",7"), "\r\n+CAOPEN: 0,21\r\n\r\nOK\r\n", "no context");
    assert_eq!(b.at("AT+CNACT=1,1"), "\r\nOK\r\n\r\n+APP PDP: 1,ACTIVE\r\n");
    assert_eq!(b.at("AT+CAOPEN=0,0,\"TCP\",\"peer.test\",7"), "\r\n+CAOPEN: 0,21\r\n\r\nOK\r\n", "context 0");
    assert_eq!(b.at("AT+CAOPEN=0,4,\"TCP\",\"peer.test\",7"), "\r\n+CAOPEN: 0,21\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CAOPEN=0,1,\"NONIP\",\"peer.test\",7"), "\r\n+CAOPEN: 0,7\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CAOPEN=0,1,\"TCP\",\"peer.test\",7,1"), "\r\n+CAOPEN: 0,7\r\n\r\nOK\r\n", "push mode");
    assert!(!b.has_started());
    for bad in [
        "AT+CAOPEN=13,1,\"TCP\",\"peer.test\",7",
        "AT+CAOPEN=0,5,\"TCP\",\"peer.test\",7",
        "AT+CAOPEN=0,1,\"SCTP\",\"peer.test\",7",
        "AT+CAOPEN=0,1,\"TCP\",\"\",7",
        "AT+CAOPEN=0,1,\"TCP\",\"peer.test\",0",
        "AT+CAOPEN=0,1,\"TCP\",\"peer.test\",65536",
        "AT+CAOPEN=0,1,\"TCP\",\"peer.test\",7,2",
        "AT+CAOPEN=0,\"peer.test\",7",
    ] {
        assert_eq!(b.at(bad), ERROR, "{bad}");
    }
    assert_eq!(
        b.at("AT+CAOPEN=?"),
        "\r\n+CAOPEN: (0-12),(0-4),(\"TCP\",\"UDP\",\"NONIP\"),64,(1-65535),(0,1)\r\n\r\nOK\r\n"
    );
    assert_eq!(b.at("AT+CAOPEN=2,1,\"udp\",\"peer.test\",53"), "");
    let (_, open) = b.started_socket(Owner::AppSocket);
    assert!(matches!(open.transport, Transport::Udp));
}

#[test]
fn asyncopen_answers_ok_first_and_the_result_later() {
    let mut b = ready();
    assert_eq!(b.at("AT+CACFG=\"ASYNCOPEN\",1"), OK);
    assert_eq!(b.at("AT+CAOPEN=0,0,\"TCP\",\"peer.test\",7"), OK);
    let (job, _) = b.started_socket(Owner::AppSocket);
    assert_eq!(b.at("AT+CASTATE?"), OK, "an opening socket is not listed");
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    assert_eq!(b.take(), "\r\n+CAOPEN: 0,0\r\n");
    assert_eq!(b.at("AT+CAOPEN=1,1,\"TCP\",\"peer.test\",7"), "\r\nOK\r\n\r\n+CAOPEN: 1,21\r\n");
    assert_eq!(b.at("AT+CAOPEN=1,0,\"TCP\",\"peer.test\",7"), OK);
    let (job, _) = b.started_socket(Owner::AppSocket);
    assert_eq!(b.at("AT+CACLOSE=1"), OK, "closed while it opens");
    assert!(b.cancelled(job));
}

#[test]
fn the_bearer_going_closes_its_sockets_and_drops_what_they_held() {
    let mut b = ready();
    assert_eq!(b.at("AT+CNACT=1,1"), "\r\nOK\r\n\r\n+APP PDP: 1,ACTIVE\r\n");
    let (first, down, _) = open(&mut b, 0);
    down.try_write(b"unread").unwrap();
    b.event(first, Event::Data);
    b.take();
    assert_eq!(b.at("AT+CAOPEN=5,1,\"TCP\",\"peer.test\",7"), "");
    let (other, _) = b.started_socket(Owner::AppSocket);
    b.event(other, Event::Opened { local: addr(40001), peer: addr(7) });
    b.take();
    assert_eq!(b.at("AT+CACFG=\"ASYNCOPEN\",1"), OK);
    assert_eq!(b.at("AT+CAOPEN=7,0,\"TCP\",\"peer.test\",7"), OK);
    let (third, _) = b.started_socket(Owner::AppSocket);
    assert_eq!(
        b.at("AT+CNACT=0,0"),
        "\r\nOK\r\n\r\n+APP PDP: 0,DEACTIVE\r\n\r\n+CASTATE: 0,0\r\n\r\n+CAOPEN: 7,21\r\n"
    );
    assert!(b.cancelled(first) && b.cancelled(third) && !b.cancelled(other));
    assert_eq!(b.at("AT+CASTATE?"), "\r\n+CASTATE: 0,0\r\n+CASTATE: 5,1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV=0,100"), "\r\n+CARECV: 0\r\n\r\nOK\r\n", "dropped with the bearer");
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+APP PDP: 1,DEACTIVE\r\n\r\n+CASTATE: 5,0\r\n");
    assert!(b.cancelled(other));
    assert_eq!(b.at("AT+CACLOSE=0"), OK);
    assert_eq!(b.at("AT+CACLOSE=5"), OK);
}

#[test]
fn a_waiting_caopen_fails_with_21_when_the_bearer_goes() {
    let mut b = ready();
    assert_eq!(b.at("AT+CAOPEN=0,0,\"TCP\",\"peer.test\",7"), "");
    let (job, _) = b.started_socket(Owner::AppSocket);
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+CAOPEN: 0,21\r\n\r\nOK\r\n\r\n+APP PDP: 0,DEACTIVE\r\n");
    assert!(b.cancelled(job));
}

#[test]
fn casend_takes_exactly_its_bytes_in_time_or_drops_them() {
    let mut b = ready();
    let (_, _, up) = open(&mut b, 0);
    assert_eq!(b.at("AT+CASEND=0,4,200"), "\r\n> ");
    b.send(b"ab");
    b.advance(Duration::from_millis(199));
    assert_eq!(b.take(), "");
    b.advance(Duration::from_millis(1));
    assert_eq!(b.take(), ERROR);
    assert!(taken(&up).is_empty(), "nothing of a short send goes out");
    assert_eq!(b.at("AT+CASEND=0,4"), "\r\n> ");
    b.advance(Duration::from_millis(4_999));
    b.send(b"abcd");
    assert_eq!(b.take(), OK, "5000 ms by default");
    assert_eq!(taken(&up), b"abcd");
    for bad in ["AT+CASEND=0,0", "AT+CASEND=0,1461", "AT+CASEND=0,1,99", "AT+CASEND=0,1,10001", "AT+CASEND=13,1"] {
        assert_eq!(b.at(bad), ERROR, "{bad}");
    }
    assert_eq!(b.at("AT+CASEND=1,1"), ERROR, "not open");
    assert_eq!(b.at("AT+CASEND=?"), "\r\n+CASEND: (0-12),(1-1460),(100-10000)\r\n\r\nOK\r\n");
}

#[test]
fn a_full_send_buffer_refuses_more() {
    let mut b = ready();
    let (job, _, up) = open(&mut b, 0);
    let chunk = vec![b'x'; 1460];
    for _ in 0..44 {
        assert_eq!(b.at("AT+CASEND=0,1460"), "\r\n> ");
        b.send(&chunk);
        assert_eq!(b.take(), OK);
    }
    assert_eq!(b.at("AT+CASEND=0"), "\r\n+CASEND: 1296\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASEND=0,1297"), ERROR);
    assert_eq!(taken(&up).len(), 44 * 1460);
    b.event(job, Event::Sent);
    assert_eq!(b.at("AT+CASEND=0"), "\r\n+CASEND: 65536\r\n\r\nOK\r\n");
}

#[test]
fn the_receive_buffer_is_rcvbuf_and_a_full_one_is_not_read() {
    let mut b = ready();
    assert_eq!(b.at("AT+CACFG=\"RCVBUF\",16"), OK);
    let (job, down, _) = open(&mut b, 0);
    assert_eq!(down.try_write(&[b'y'; 40]), Ok(16), "the socket waits for the host");
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+CADATAIND: 0\r\n");
    assert_eq!(b.at("AT+CARECV?"), "\r\n+CARECV: 0,16\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV=0,1460"), format!("\r\n+CARECV: 16,{}\r\n\r\nOK\r\n", "y".repeat(16)));
    assert_eq!(down.try_write(&[b'y'; 24]), Ok(16));
}

#[test]
fn the_sim7000_opens_without_a_context_index_and_reports_each_send() {
    let mut b = Bench::new(Family::Sim7000);
    assert_eq!(b.at("AT+CAOPEN=0,\"peer.test\",7"), "\r\n+CAOPEN: 0,21\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNACT=1,\"CMNET\""), "\r\nOK\r\n\r\n+APP PDP: ACTIVE\r\n");
    assert_eq!(b.at("AT+CAOPEN=?"), "\r\n+CAOPEN: (0-12),(\"TCP\",\"UDP\"),64,(1-65535)\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CAOPEN=0,\"peer.test\",7"), "");
    let (job, open) = b.started_socket(Owner::AppSocket);
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    assert_eq!(b.take(), "\r\n+CAOPEN: 0,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASEND=0,5"), "\r\n> ");
    b.send(b"hello");
    assert_eq!(b.take(), "\r\nOK\r\n\r\n+CASEND: 0,0,5\r\n");
    assert_eq!(taken(&tcp_pipes(open).1), b"hello");
    assert_eq!(b.at("AT+CAOPEN=1,\"UDP\",\"peer.test\",53"), "");
    let (job, open) = b.started_socket(Owner::AppSocket);
    assert!(matches!(open.transport, Transport::Udp));
    b.event(job, Event::Closed(Err(SocketError::Refused(addr(53)))));
    assert_eq!(b.take(), "\r\n+CAOPEN: 1,23\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CAOPEN=2,0,\"TCP\",\"peer.test\",7"), "", "the SIM7080's form, context 0");
    let (job, _) = b.started_socket(Owner::AppSocket);
    b.event(job, Event::Closed(Err(SocketError::Refused(addr(7)))));
    assert_eq!(b.take(), "\r\n+CAOPEN: 2,23\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNACT=0"), "\r\nOK\r\n\r\n+APP PDP: DEACTIVE\r\n\r\n+CASTATE: 0,0\r\n");
    assert_eq!(
        b.at("AT+CASSLCFG=?"),
        concat!(
            "\r\n+CASSLCFG: (0-12),\"SSL\",(0,1)\r\n+CASSLCFG: (0-12),\"CRINDEX\",(0-5)\r\n",
            "+CASSLCFG: (0-12),\"CACERT\",(1-50)\r\n+CASSLCFG: (0-12),\"CERT\",(1-50)\r\n",
            "+CASSLCFG: (0-12),\"PSKTABLE\",(1-50)\r\n+CASSLCFG: (0-12),\"PROTOCOL\",(0,1)\r\n\r\nOK\r\n",
        )
    );
    assert_eq!(b.at("AT+CASSLCFG=0,protocol,0"), OK);
    assert_eq!(b.at("AT+CSSLCFG=\"sslversion\",0,3"), OK);
    assert_eq!(b.at("AT+CREBOOT"), ERROR, "the SIM7080 family's");
}

#[test]
fn a_tls_socket_takes_its_ssl_context() {
    let mut b = ready();
    assert_eq!(b.at("AT+CSSLCFG=\"sni\",2,\"peer.test\""), OK);
    assert_eq!(b.at("AT+CSSLCFG=\"sslversion\",2,0"), OK);
    assert_eq!(b.at("AT+CASSLCFG=0,\"SSL\",1"), OK);
    assert_eq!(b.at("AT+CASSLCFG=0,crindex,2"), OK);
    assert_eq!(b.at("AT+CAOPEN=0,0,\"TCP\",\"10.0.0.1\",443"), "");
    let (job, open) = b.started_socket(Owner::AppSocket);
    b.event(job, Event::Closed(Err(SocketError::Timeout)));
    assert_eq!(b.take(), "\r\n+CAOPEN: 0,27\r\n\r\nOK\r\n");
    let Transport::Tcp { tls: Some(tls), .. } = open.transport else { panic!("no TLS") };
    assert_eq!((tls.sni.as_deref(), tls.versions), (Some("peer.test"), TlsVersions::Any));
    assert_eq!(tls.verification, Verification::IgnoreCertificate, "no CA list: not checked");

    assert_eq!(b.at("AT+CASSLCFG=1,SSL,1"), OK);
    assert_eq!(b.at("AT+CASSLCFG=1,CACERT,\"missing.pem\""), OK);
    assert_eq!(b.at("AT+CAOPEN=1,0,\"TCP\",\"peer.test\",443"), "\r\n+CAOPEN: 1,27\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASSLCFG=1,CRINDEX,3"), OK);
    assert_eq!(b.at("AT+CSSLCFG=\"SSLVERSION\",3,1"), OK);
    assert_eq!(b.at("AT+CAOPEN=1,0,\"TCP\",\"peer.test\",443"), "\r\n+CAOPEN: 1,7\r\n\r\nOK\r\n", "TLS 1.0");
    assert_eq!(b.at("AT+CAOPEN=2,0,\"UDP\",\"peer.test\",443"), "", "no SSL on cid 2");
    let (job, _) = b.started_socket(Owner::AppSocket);
    b.event(job, Event::Opened { local: addr(40000), peer: addr(443) });
    assert_eq!(b.take(), "\r\n+CAOPEN: 2,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASSLCFG=3,SSL,1"), OK);
    assert_eq!(b.at("AT+CAOPEN=3,0,\"UDP\",\"peer.test\",443"), "\r\n+CAOPEN: 3,7\r\n\r\nOK\r\n", "no DTLS");
    assert_eq!(
        b.at("AT+CASSLCFG?"),
        "\r\n+CASSLCFG: 0,1,2,,,\r\n+CASSLCFG: 1,1,3,\"missing.pem\",,\r\n+CASSLCFG: 3,1,0,,,\r\n\r\nOK\r\n"
    );
}

#[test]
fn the_settings_commands_read_back_what_they_took() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CACID?"), OK);
    assert_eq!(b.at("AT+CACID=12"), OK);
    assert_eq!(b.at("AT+CACID=13"), ERROR);
    assert_eq!(b.at("AT+CACID?"), "\r\n+CACID: 12\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CACID=?"), "\r\n+CACID: (0-12)\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASSLCFG?"), "\r\n+CASSLCFG: 12,0,0,,,\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASSLCFG=12,PSKTABLE,\"psk.txt\""), OK);
    assert_eq!(b.at("AT+CASSLCFG=12,CERT,\"client.crt\""), OK);
    assert_eq!(b.at("AT+CASSLCFG?"), "\r\n+CASSLCFG: 12,0,0,,\"client.crt\",\"psk.txt\"\r\n\r\nOK\r\n");
    for bad in
        ["AT+CASSLCFG=0,SSL,2", "AT+CASSLCFG=0,CRINDEX,6", "AT+CASSLCFG=0,CACERT,\"\"", "AT+CASSLCFG=0,PROTOCOL,0"]
    {
        assert_eq!(b.at(bad), ERROR, "{bad}");
    }
    assert_eq!(b.at("AT+CACFG=\"KEEPALIVE\",1,60"), OK);
    assert_eq!(b.at("AT+CACFG=\"TIMEOUT\",3,2000"), OK);
    assert_eq!(b.at("AT+CACFG=\"transpktsize\",1460"), OK);
    let read = b.at("AT+CACFG?");
    assert!(read.contains("+CACFG: \"KEEPALIVE\",1,60,75,9\r\n"), "{read}");
    assert!(read.contains("+CACFG: \"TRANSPKTSIZE\",1460\r\n"), "{read}");
    assert!(read.ends_with("+CACFG: \"TIMEOUT\",3,2000\r\n\r\nOK\r\n"), "{read}");
    for bad in ["AT+CACFG=\"MSS\",100", "AT+CACFG=\"NOSUCH\",1", "AT+CACFG=\"TIMEOUT\",3", "AT+CACFG=\"SACK\""] {
        assert_eq!(b.at(bad), ERROR, "{bad}");
    }
    let test = b.at("AT+CACFG=?");
    assert!(test.starts_with("\r\n+CACFG: \"TRANSWAITTM\",(0-10)\r\n"), "{test}");
    assert!(test.contains("+CACFG: \"ASYNCOPEN\",(0,1)\r\n+CACFG: \"TIMEOUT\",(0-12),(1-75000)\r\n"), "{test}");
    assert_eq!(b.at("AT+CNACT=0,1"), "\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n");
    assert_eq!(b.at("AT+CAOPEN=3,0,\"TCP\",\"peer.test\",7"), "");
    assert_eq!(b.started_socket(Owner::AppSocket).1.timeout, Duration::from_millis(2000), "TIMEOUT is the open's");
}

#[test]
fn cdnsgip_looks_a_name_up_within_its_timeout() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CDNSGIP=\"peer.test\",1,1000"), "\r\nOK\r\n\r\n+CDNSGIP: 0,3\r\n", "no context");
    assert_eq!(b.at("AT+CNACT=0,1"), "\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n");
    assert_eq!(b.at("AT+CDNSGIP=\"peer.test\",1,1000"), OK);
    let (job, owner, request) = b.started();
    assert_eq!(owner, Owner::AppSocket);
    assert!(matches!(request, Request::Socket(SocketRequest::Resolve { host }) if host == "peer.test"));
    assert_eq!(b.at("AT+CDNSGIP=\"other.test\""), ERROR, "one at a time");
    let found: Vec<IpAddr> = vec!["::1".parse().unwrap(), "10.1.2.3".parse().unwrap(), "10.1.2.4".parse().unwrap()];
    b.event(job, Event::Resolved(Ok(found)));
    assert_eq!(b.take(), "\r\n+CDNSGIP: 1,\"peer.test\",\"10.1.2.3\",\"::1\"\r\n");

    assert_eq!(b.at("AT+CDNSGIP=\"nowhere.invalid\""), OK);
    let (job, _, _) = b.started();
    b.event(job, Event::Resolved(Err(SocketError::Dns("nowhere.invalid".into()))));
    assert_eq!(b.take(), "\r\n+CDNSGIP: 0,8\r\n");

    assert_eq!(b.at("AT+CDNSGIP=\"slow.test\",0,500"), OK);
    let (job, _, _) = b.started();
    b.advance(Duration::from_millis(499));
    assert_eq!(b.take(), "");
    b.advance(Duration::from_millis(1));
    assert_eq!(b.take(), "\r\n+CDNSGIP: 0,5\r\n");
    assert!(b.cancelled(job));

    assert_eq!(b.at("AT+CDNSGIP=\"peer.test\""), OK);
    let (job, _, _) = b.started();
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+APP PDP: 0,DEACTIVE\r\n\r\n+CDNSGIP: 0,3\r\n");
    assert!(b.cancelled(job));
    for bad in ["AT+CDNSGIP=\"\"", "AT+CDNSGIP=\"a\",11,0", "AT+CDNSGIP=\"a\",0,60001"] {
        assert_eq!(b.at(bad), ERROR, "{bad}");
    }
    assert_eq!(b.at("AT+CDNSGIP=?"), "\r\n+CDNSGIP: 65,(0-10),(0-60000)\r\n\r\nOK\r\n");
}

#[test]
fn creboot_restarts_the_module_and_its_sockets_go() {
    let mut b = ready();
    let (job, _, _) = open(&mut b, 0);
    assert_eq!(b.at("AT+CREBOOT=?"), OK);
    assert_eq!(b.at("AT+CREBOOT"), "\r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+CASTATE?"), "AT+CASTATE?\r\r\nOK\r\n", "echo is on again");
    assert!(b.at("AT+CNACT?").contains("\r\n+CNACT: 0,0,\"0.0.0.0\"\r\n"), "the bearer is down");
}

#[test]
fn the_socket_is_told_nothing_when_the_host_closes_it() {
    let mut b = ready();
    let (job, _, _) = open(&mut b, 0);
    assert_eq!(b.at("AT+CACLOSE=0"), OK);
    assert!(b.cancelled(job));
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "", "a cancelled job's last word goes nowhere");
}

#[test]
fn a_server_listens_and_its_clients_take_the_free_ids() {
    let mut b = ready();
    assert_eq!(
        b.at("AT+CASERVER=?"),
        "\r\n+CASERVER: (0-12),(0-4),(\"TCP\",\"TCP6\",\"UDP\",\"UDP6\"),(1-65535),(0,1)\r\n\r\nOK\r\n"
    );
    let (_client0, ..) = open(&mut b, 0);
    assert_eq!(b.at("AT+CASERVER=1,0,\"TCP\",6000"), "", "the command waits");
    let (server, port) = b.started_listen(Owner::AppSocket);
    assert_eq!(port, 6000);
    b.event(server, Event::Listening { local: addr(6000) });
    assert_eq!(b.take(), "\r\n+CASERVER: 1,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASTATE?"), "\r\n+CASTATE: 0,1\r\n+CASTATE: 1,2\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CARECV=1,10"), ERROR, "a server receives nothing itself");

    b.event(server, Event::Accepted(incoming(addr(6000), "117.131.85.139:5004".parse().unwrap())));
    assert_eq!(b.take(), "\r\n+CANEW: 1,2,117.131.85.139,5004\r\n");
    let (job, down, up) = b.started_adopt(Owner::AppSocket);
    down.try_write(b"ping").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+CADATAIND: 2\r\n");
    assert_eq!(b.at("AT+CARECV=2,100"), "\r\n+CARECV: 4,ping\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CASEND=2,4"), "\r\n> ");
    b.send(b"pong");
    assert_eq!(b.take(), OK);
    assert_eq!(taken(&up), b"pong");

    assert_eq!(b.at("AT+CACLOSE=1"), OK, "the server stops");
    assert!(b.cancelled(server) && !b.cancelled(job), "its client stays");
    assert_eq!(b.at("AT+CASTATE?"), "\r\n+CASTATE: 0,1\r\n+CASTATE: 2,1\r\n\r\nOK\r\n");
}

#[test]
fn a_server_that_cannot_be_or_has_no_room_says_so() {
    let mut b = ready();
    assert_eq!(b.at("AT+CASERVER=0,0,\"UDP\",6000"), "\r\n+CASERVER: 0,7\r\n\r\nOK\r\n", "TCP only");
    assert_eq!(b.at("AT+CASERVER=0,0,\"TCP\",6000,1"), "\r\n+CASERVER: 0,7\r\n\r\nOK\r\n", "no push mode");
    assert_eq!(b.at("AT+CASERVER=0,1,\"TCP\",6000"), "\r\n+CASERVER: 0,21\r\n\r\nOK\r\n", "context 1 is down");
    assert_eq!(b.at("AT+CASERVER=0,0,\"TCP\",0"), ERROR);
    assert!(!b.has_started());
    b.at("AT+CASERVER=0,0,\"TCP\",6000");
    let (server, _) = b.started_listen(Owner::AppSocket);
    b.event(server, Event::Closed(Err(SocketError::Io(std::io::ErrorKind::AddrInUse.into()))));
    assert_eq!(b.take(), "\r\n+CASERVER: 0,12\r\n\r\nOK\r\n", "the port is taken");
    assert_eq!(b.at("AT+CASTATE?"), OK);

    assert_eq!(b.at("AT+CACFG=\"ASYNCOPEN\",1"), OK);
    assert_eq!(b.at("AT+CASERVER=0,0,\"TCP\",6000"), OK);
    let (server, _) = b.started_listen(Owner::AppSocket);
    b.event(server, Event::Listening { local: addr(6000) });
    assert_eq!(b.take(), "\r\n+CASERVER: 0,0\r\n");
    for cid in 1..13 {
        b.event(server, Event::Accepted(incoming(addr(6000), addr(5000 + cid))));
        assert_eq!(b.take(), format!("\r\n+CANEW: 0,{cid},127.0.0.1,{}\r\n", 5000 + cid));
        b.started_adopt(Owner::AppSocket);
    }
    b.event(server, Event::Accepted(incoming(addr(6000), addr(6999))));
    assert_eq!(b.take(), "\r\n+CAURC: \"incoming full\"\r\n");
    assert!(!b.has_started());
    b.network(NetworkEvent::ReleaseBearers);
    let lost: String = (0..13).map(|cid| format!("\r\n+CASTATE: {cid},0\r\n")).collect();
    assert_eq!(
        b.take(),
        format!("\r\n+APP PDP: 0,DEACTIVE\r\n{lost}"),
        "the server and its clients close with the bearer"
    );
    assert!(b.cancelled(server));
}

#[test]
fn the_sim7000_has_no_caserver() {
    let mut b = Bench::new(Family::Sim7000);
    assert_eq!(b.at("AT+CASERVER=?"), ERROR);
    assert_eq!(b.at("AT+CASERVER=0,0,\"TCP\",6000"), ERROR);
}
