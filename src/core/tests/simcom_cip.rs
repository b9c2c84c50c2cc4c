//! The SIM800, SIM900 and SIM7000 sockets (`AT+CIPSTART` ... `AT+CIPSHUT`) on the core, with a
//! scripted socket service and virtual time: both connection modes, sending with its prompt,
//! quick send and waiting for room, pushed and pulled data, the failures and the peer's
//! close, the network's loss of the context, transparent mode with its escape, look-ups, and
//! what differs between the three families.

use std::net::IpAddr;
use std::time::Duration;

use crate::core::testing::{Bench, addr, incoming, taken, tcp_pipes};
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::socket::SocketError;
use crate::service::socket::job::{Event, Request as SocketRequest, Transport};
use crate::service::{Input, JobId, Request};

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";
const PROMPT: &str = "\r\n> ";

/// A modem of `family` whose context is up (`IP STATUS`), in multi-connection mode if `mux`.
fn ready(family: Family, mux: bool) -> Bench {
    let mut b = Bench::new(family);
    if mux {
        assert_eq!(b.at("AT+CIPMUX=1"), OK);
    }
    assert_eq!(b.at("AT+CSTT=\"CMNET\""), OK);
    assert_eq!(b.at("AT+CIICR"), OK);
    assert_eq!(b.at("AT+CIFSR"), "\r\n10.94.36.44\r\n");
    b
}

/// The TCP socket just opened: its job, where its received bytes go, where its sent ones
/// come out; the socket reports it is open.
fn tcp(b: &mut Bench) -> (JobId, PipeWriter, PipeReader) {
    let (job, open) = b.started_socket(Owner::Socket);
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    let (down, up) = tcp_pipes(open);
    (job, down, up)
}

#[test]
fn a_single_connection_opens_sends_receives_and_closes_through_its_states() {
    let mut b = ready(Family::Sim800, false);
    assert_eq!(b.at("AT+CIPSEND=5"), ERROR, "no connection");
    assert_eq!(b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7"), OK);
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: TCP CONNECTING\r\n");
    let (job, open) = b.started_socket(Owner::Socket);
    assert_eq!((open.host.as_str(), open.port), ("peer.example", 7));
    let Transport::Tcp { tls: None, down, up } = open.transport else { panic!("plain TCP") };
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    assert_eq!(b.take(), "\r\nCONNECT OK\r\n");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n");
    assert_eq!(b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7"), "\r\nERROR\r\n\r\nALREADY CONNECT\r\n");
    // A fixed-length send: the prompt, the bytes, SEND OK once they have gone.
    assert_eq!(b.at("AT+CIPSEND=5"), PROMPT);
    b.send(b"hello");
    assert_eq!(b.take(), "", "SEND OK waits for the bytes to go");
    assert_eq!(taken(&up), b"hello");
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\nSEND OK\r\n");
    assert_eq!(b.at("AT+CIPACK"), "\r\n+CIPACK: 5,5,0\r\n\r\nOK\r\n");
    // Received bytes are pushed bare, then behind +IPD with AT+CIPHEAD=1.
    down.try_write(b"abc").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "abc");
    assert_eq!(b.at("AT+CIPHEAD=1"), OK);
    assert_eq!(b.at("AT+CIPSHOWTP=1"), OK);
    down.try_write(b"xy").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+IPD,2,TCP:xy");
    // The peer closes.
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "\r\nCLOSED\r\n");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n");
    assert_eq!(b.at("AT+CIPCLOSE"), ERROR, "closed already");
    assert_eq!(b.at("AT+CIPSHUT"), "\r\nSHUT OK\r\n");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n");
}

#[test]
fn sending_up_to_ctrl_z_cancelling_with_esc_and_closing_with_close_ok() {
    let mut b = ready(Family::Sim800, false);
    b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7");
    let (job, _down, up) = tcp(&mut b);
    b.take();
    assert_eq!(b.at("AT+CIPSEND"), PROMPT);
    b.send(b"line 1\r\n\x1b");
    assert_eq!(b.take(), OK, "ESC cancels: nothing goes");
    assert!(taken(&up).is_empty());
    assert_eq!(b.at("AT+CIPSEND"), PROMPT);
    b.send(b"\x1a");
    assert_eq!(b.take(), ERROR, "nothing to send");
    assert_eq!(b.at("AT+CIPQSEND=1"), OK);
    assert_eq!(b.at("AT+CIPSEND"), PROMPT);
    b.send(b"GET /\r\n\x1a");
    assert_eq!(b.take(), "\r\nDATA ACCEPT:7\r\n", "quick send answers at once");
    assert_eq!(taken(&up), b"GET /\r\n");
    assert_eq!(b.at("AT+CIPCLOSE=1"), "\r\nCLOSE OK\r\n");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n");
    assert_eq!(b.at("AT+CIPSTART=\"UDP\",\"peer.example\",7"), OK, "a closed connection opens again");
}

#[test]
fn multi_connections_pull_their_data_as_tinygsm_reads_it() {
    let mut b = ready(Family::Sim800, true);
    assert_eq!(b.at("AT+CIPQSEND=1"), OK);
    assert_eq!(b.at("AT+CIPRXGET=1"), OK);
    assert_eq!(b.at("AT+CMEE=2"), OK);
    assert_eq!(b.at("AT+CIPCLOSE=0,1"), "\r\n+CME ERROR: operation not allowed\r\n");
    assert_eq!(b.at("AT+CIPSTART=6,\"TCP\",\"peer.example\",7"), ERROR, "ids 0-5 on the SIM800");
    assert_eq!(b.at("AT+CIPSTART=0,\"TCP\",\"peer.example\",7"), OK);
    let (job, down, up) = tcp(&mut b);
    assert_eq!(b.take(), "\r\n0, CONNECT OK\r\n");
    assert_eq!(b.at("AT+CIPRXGET=0"), ERROR, "the mode is set before connections open");
    assert_eq!(b.at("AT+CIPSEND=0,4"), PROMPT);
    b.send(b"ping");
    assert_eq!(b.take(), "\r\nDATA ACCEPT:0,4\r\n");
    assert_eq!(taken(&up), b"ping");
    down.try_write(b"pong").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+CIPRXGET: 1,0\r\n");
    assert_eq!(b.at("AT+CIPRXGET=4,0"), "\r\n+CIPRXGET: 4,0,4\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPRXGET=2,0,3"), "\r\n+CIPRXGET: 2,0,3,1\r\npon\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPRXGET=3,0,10"), "\r\n+CIPRXGET: 3,0,1,0\r\n67\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPRXGET=2,0,10"), "\r\n+CIPRXGET: 2,0,0,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPRXGET=2,1,10"), ERROR, "never opened");
    assert_eq!(b.at("AT+CIPRXGET=2,0,1461"), ERROR);
    assert_eq!(
        b.at("AT+CIPSTATUS=0"),
        "\r\n+CIPSTATUS: 0,0,\"TCP\",\"peer.example\",\"7\",\"CONNECTED\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        b.at("AT+CIPSTATUS"),
        "\r\nOK\r\n\r\nSTATE: IP PROCESSING\r\n\r\nC: 0,0,\"TCP\",\"peer.example\",\"7\",\"CONNECTED\"\r\n\
         C: 1,,\"\",\"\",\"\",\"INITIAL\"\r\nC: 2,,\"\",\"\",\"\",\"INITIAL\"\r\nC: 3,,\"\",\"\",\"\",\"INITIAL\"\r\n\
         C: 4,,\"\",\"\",\"\",\"INITIAL\"\r\nC: 5,,\"\",\"\",\"\",\"INITIAL\"\r\n"
    );
    // The peer closes with data unread: CLOSED at once, the data still readable.
    down.try_write(b"bye").unwrap();
    b.event(job, Event::Data);
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "\r\n+CIPRXGET: 1,0\r\n\r\n0, CLOSED\r\n");
    assert_eq!(b.at("AT+CIPRXGET=2,0,10"), "\r\n+CIPRXGET: 2,0,3,0\r\nbye\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSTATUS=0"), "\r\n+CIPSTATUS: 0,0,\"TCP\",\"peer.example\",\"7\",\"CLOSED\"\r\n\r\nOK\r\n");
}

#[test]
fn pushed_data_in_multi_connection_mode_comes_behind_receive_and_closed_follows_it() {
    let mut b = ready(Family::Sim800, true);
    b.at("AT+CIPSTART=2,\"UDP\",\"peer.example\",7");
    let (job, open) = b.started_socket(Owner::Socket);
    assert!(matches!(open.transport, Transport::Udp));
    b.event(job, Event::Opened { local: addr(40000), peer: addr(7) });
    assert_eq!(b.take(), "\r\n2, CONNECT OK\r\n");
    assert_eq!(b.at("AT+CIPSEND=2,3"), PROMPT);
    b.send(b"abc");
    assert_eq!(b.take(), "", "SEND OK once the datagram has gone");
    let (fed, Input::Socket(crate::service::socket::job::Input::Datagram(d))) = b.fed() else { panic!("no datagram") };
    assert_eq!((fed, d.as_slice()), (job, b"abc".as_slice()));
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\n2, SEND OK\r\n");
    b.event(job, Event::Datagram(b"abc".to_vec()));
    assert_eq!(b.take(), "\r\n+RECEIVE,2,3:\r\nabc");
    assert_eq!(b.at("AT+CIPSRIP=1"), OK);
    b.event(job, Event::Datagram(b"de".to_vec()));
    assert_eq!(b.take(), "\r\nRECV FROM:peer.example:7\r\n\r\n+RECEIVE,2,2:\r\nde");
    assert_eq!(b.at("AT+CIPCLOSE=2"), "\r\n2, CLOSE OK\r\n");
}

#[test]
fn failures_to_open_say_connect_fail_or_close_ok_and_leave_the_id_as_it_was() {
    let mut b = ready(Family::Sim800, false);
    b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7");
    let (job, _) = b.started_socket(Owner::Socket);
    b.event(job, Event::Closed(Err(SocketError::Refused(addr(7)))));
    assert_eq!(b.take(), "\r\nSTATE: IP STATUS\r\n\r\nCONNECT FAIL\r\n");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: IP STATUS\r\n");

    let mut b = ready(Family::Sim800, true);
    assert_eq!(b.at("AT+CIPSSL=1"), OK);
    b.at("AT+CIPSTART=1,\"TCP\",\"peer.example\",443");
    let (job, open) = b.started_socket(Owner::Socket);
    assert!(matches!(open.transport, Transport::Tcp { tls: Some(_), .. }), "TLS after AT+CIPSSL=1");
    b.event(job, Event::Closed(Err(SocketError::Dns("peer.example".into()))));
    assert_eq!(b.take(), "\r\n1, CONNECT FAIL\r\n");
    b.at("AT+CIPSTART=1,\"TCP\",\"peer.example\",443");
    let (job, _) = b.started_socket(Owner::Socket);
    let failure = crate::service::tls::HandshakeFailure::Io(std::io::Error::other("handshake"));
    b.event(job, Event::Closed(Err(SocketError::TlsHandshake(failure))));
    assert_eq!(b.take(), "\r\n1, CLOSE OK\r\n", "a failed handshake (TINYGSM)");
    assert_eq!(b.at("AT+CIPSTATUS=1"), "\r\n+CIPSTATUS: 1,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nOK\r\n");
}

#[test]
fn a_send_waits_for_room_and_one_that_never_goes_fails_after_645_seconds() {
    let mut b = ready(Family::Sim800, false);
    b.at("AT+CIPQSEND=1");
    b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7");
    let (job, _down, up) = tcp(&mut b);
    b.take();
    let chunk = vec![b'x'; 1460];
    let mut accepted = 0;
    while accepted + chunk.len() <= crate::dialect::sockets::SEND_BUFFER {
        assert_eq!(b.at("AT+CIPSEND=1460"), PROMPT);
        b.send(&chunk);
        assert_eq!(b.take(), "\r\nDATA ACCEPT:1460\r\n");
        accepted += chunk.len();
    }
    assert_eq!(b.at("AT+CIPSEND=1460"), PROMPT);
    b.send(&chunk);
    assert_eq!(b.take(), "", "no room: the command waits");
    assert_eq!(taken(&up).len(), accepted);
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\nDATA ACCEPT:1460\r\n");
    assert_eq!(taken(&up).len(), 1460);
    // A normal send whose bytes never go.
    b.at("AT+CIPQSEND=0");
    b.event(job, Event::Sent);
    assert_eq!(b.at("AT+CIPSEND=3"), PROMPT);
    b.send(b"abc");
    b.advance(Duration::from_secs(644));
    assert_eq!(b.take(), "");
    b.advance(Duration::from_secs(1));
    assert_eq!(b.take(), "\r\nSEND FAIL\r\n\r\nCLOSED\r\n");
    assert!(b.cancelled(job));
}

#[test]
fn the_network_taking_the_context_closes_every_connection_and_leaves_pdp_deact() {
    let mut b = ready(Family::Sim800, true);
    b.at("AT+CIPSTART=0,\"TCP\",\"peer.example\",7");
    let (job, _, _) = tcp(&mut b);
    b.at("AT+CIPSTART=3,\"TCP\",\"peer.example\",8");
    let (connecting, _) = b.started_socket(Owner::Socket);
    b.take();
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n0, CLOSED\r\n\r\n3, CLOSED\r\n\r\n+PDP: DEACT\r\n");
    assert!(b.cancelled(job) && b.cancelled(connecting));
    assert!(b.at("AT+CIPSTATUS").starts_with("\r\nOK\r\n\r\nSTATE: PDP DEACT\r\n\r\nC: 0,,\"\""));
    assert_eq!(b.at("AT+CIPSTART=0,\"TCP\",\"peer.example\",7"), ERROR);
    assert_eq!(b.at("AT+CIFSR"), ERROR);
    assert_eq!(b.at("AT+CIPSHUT"), "\r\nSHUT OK\r\n");
    assert!(b.at("AT+CIPSTATUS").starts_with("\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n"));

    // A send waiting for its SEND OK hears SEND FAIL first.
    let mut b = ready(Family::Sim800, false);
    b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7");
    let _pipes = tcp(&mut b);
    b.take();
    b.at("AT+CIPSEND=1");
    b.send(b"x");
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\nSEND FAIL\r\n\r\nCLOSED\r\n\r\n+PDP: DEACT\r\n");
}

#[test]
fn transparent_mode_carries_both_ways_escapes_with_plus_and_resumes_with_ato() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CIPMODE=1"), OK);
    assert_eq!(b.at("AT+CIPMUX=1"), ERROR, "one connection in transparent mode");
    assert_eq!(b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7"), OK, "from IP INITIAL the module brings the context up");
    let (job, down, up) = tcp(&mut b);
    assert_eq!(b.take(), "\r\nCONNECT\r\n");
    b.send(b"AT+CIPSHUT\r");
    b.advance(Duration::ZERO);
    assert_eq!(taken(&up), b"AT+CIPSHUT\r", "online, commands are data");
    down.try_write(b"from the peer").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "from the peer");
    b.advance(Duration::from_secs(1));
    b.send(b"+++");
    assert_eq!(b.take(), "");
    b.advance(Duration::from_secs(1));
    assert_eq!(b.take(), OK);
    assert!(taken(&up).is_empty(), "the escape is not data");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n");
    down.try_write(b"while away").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "", "held while in command mode");
    assert_eq!(b.at("ATO"), "\r\nCONNECT\r\n");
    b.advance(Duration::ZERO);
    assert_eq!(b.take(), "while away");
    down.try_write(b"last").unwrap();
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "last\r\nCLOSED\r\n");
    assert_eq!(b.at("ATO"), ERROR);
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n");
}

#[test]
fn a_name_is_looked_up_with_cdnsgip() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CDNSGIP=\"peer.example\""), ERROR, "no context");
    let mut b = ready(Family::Sim800, false);
    assert_eq!(b.at("AT+CDNSGIP=\"peer.example\""), OK);
    let (job, _, request) = b.started();
    assert!(matches!(request, Request::Socket(SocketRequest::Resolve { host }) if host == "peer.example"));
    assert_eq!(b.at("AT+CDNSGIP=\"other.example\""), ERROR, "one at a time");
    let ips = vec![IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]), IpAddr::from([10, 0, 0, 3])];
    b.event(job, Event::Resolved(Ok(ips)));
    assert_eq!(b.take(), "\r\n+CDNSGIP: 1,\"peer.example\",\"10.0.0.1\",\"10.0.0.2\"\r\n");
    b.at("AT+CDNSGIP=\"nowhere.invalid\"");
    let (job, _, _) = b.started();
    b.event(job, Event::Resolved(Err(SocketError::Dns("nowhere.invalid".into()))));
    assert_eq!(b.take(), "\r\n+CDNSGIP: 0,8\r\n");
}

#[test]
fn the_families_differ_in_spacing_ids_and_cipssl() {
    let mut b = ready(Family::Sim900, true);
    assert_eq!(b.at("AT+CIPQSEND=1"), OK);
    assert_eq!(b.at("AT+CIPRXGET=1"), OK);
    assert_eq!(b.at("AT+CIPSEND=?"), "\r\n+CIPSEND: (0-7),1460\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSTART=7,\"TCP\",\"peer.example\",7"), OK);
    let (job, down, _up) = tcp(&mut b);
    assert_eq!(b.take(), "\r\n7, CONNECT OK\r\n");
    assert_eq!(b.at("AT+CIPSEND=7,2"), PROMPT);
    b.send(b"hi");
    assert_eq!(b.take(), "\r\nDATA ACCEPT:7,2\r\n");
    down.try_write(b"yo").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+CIPRXGET:1,7\r\n");
    assert_eq!(b.at("AT+CIPRXGET=2,7,5"), "\r\n+CIPRXGET:2,7,2,0\r\nyo\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSSL=1"), ERROR, "no AT+CIPSSL on the SIM900");

    let mut b = ready(Family::Sim7000, true);
    b.at("AT+CIPQSEND=1");
    b.at("AT+CIPSTART=0,\"TCP\",\"peer.example\",7");
    let _pipes = tcp(&mut b);
    b.take();
    b.at("AT+CIPSEND=0,2");
    b.send(b"hi");
    assert_eq!(b.take(), "\r\nDATA ACCEPT: 0,2\r\n");
    assert_eq!(b.at("AT+CIPSSL?"), ERROR, "no AT+CIPSSL on the SIM7000");
}

#[test]
fn a_server_listens_takes_clients_on_free_ids_and_closes_leaving_them() {
    let mut b = ready(Family::Sim800, true);
    assert_eq!(b.at("AT+CIPSERVER=?"), "\r\n+CIPSERVER: (0-CLOSE SERVER, 1-OPEN SERVER),(1-65535)\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSERVER?"), "\r\n+CIPSERVER: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSERVER=0"), ERROR, "no server to close");
    assert_eq!(b.at("AT+CIPSERVER=1,0"), ERROR, "port 0");
    assert_eq!(b.at("AT+CIPSTART=0,\"TCP\",\"peer.example\",7"), OK);
    let (client0, ..) = tcp(&mut b);
    assert_eq!(b.take(), "\r\n0, CONNECT OK\r\n");

    assert_eq!(b.at("AT+CIPSERVER=1,8888"), OK);
    let (server, port) = b.started_listen(Owner::Socket);
    assert_eq!(port, 8888);
    assert_eq!(b.at("AT+CIPSERVER=1,8889"), ERROR, "one server");
    b.event(server, Event::Listening { local: addr(8888) });
    assert_eq!(b.take(), "\r\nSERVER OK\r\n");
    assert_eq!(b.at("AT+CIPSERVER?"), "\r\n+CIPSERVER: 1,8888,0,0\r\n\r\nOK\r\n");

    b.event(server, Event::Accepted(incoming(addr(8888), "10.1.2.3:5004".parse().unwrap())));
    assert_eq!(b.take(), "\r\n1, REMOTE IP: 10.1.2.3\r\n", "the lowest free id");
    let (job, down, up) = b.started_adopt(Owner::Socket);
    let status = b.at("AT+CIPSTATUS");
    assert!(
        status.starts_with(concat!(
            "\r\nOK\r\n\r\nSTATE: IP PROCESSING\r\n\r\nS: 0,0,\"8888\",\"LISTENING\"\r\n",
            "C: 0,0,\"TCP\",\"peer.example\",\"7\",\"CONNECTED\"\r\n",
            "C: 1,0,\"TCP\",\"10.1.2.3\",\"5004\",\"CONNECTED\"\r\n"
        )),
        "{status:?}"
    );
    // The client is a connection like any: bytes both ways.
    down.try_write(b"hi").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+RECEIVE,1,2:\r\nhi");
    assert_eq!(b.at("AT+CIPSEND=1,3"), PROMPT);
    b.send(b"yo!");
    assert_eq!(taken(&up), b"yo!");
    b.event(job, Event::Sent);
    assert_eq!(b.take(), "\r\n1, SEND OK\r\n");

    assert_eq!(b.at("AT+CIPSERVER=0"), "\r\nOK\r\n\r\nSERVER CLOSE\r\n");
    assert!(b.cancelled(server));
    assert!(!b.cancelled(job) && !b.cancelled(client0), "the connections stay");
    assert_eq!(b.at("AT+CIPSTATUS=1"), "\r\n+CIPSTATUS: 1,0,\"TCP\",\"10.1.2.3\",\"5004\",\"CONNECTED\"\r\n\r\nOK\r\n");
}

#[test]
fn a_single_connection_server_takes_one_client_and_lists_its_state() {
    let mut b = ready(Family::Sim7000, false);
    assert_eq!(b.at("AT+CIPSERVER=1,8888"), OK);
    let (server, _) = b.started_listen(Owner::Socket);
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: SERVER LISTENING\r\n");
    assert_eq!(b.at("AT+CIPSTART=\"TCP\",\"peer.example\",7"), ERROR, "not beside the server");
    b.event(server, Event::Listening { local: addr(8888) });
    assert_eq!(b.take(), "\r\nSERVER OK\r\n");
    b.event(server, Event::Accepted(incoming(addr(8888), addr(5004))));
    assert_eq!(b.take(), "\r\nREMOTE IP: 127.0.0.1\r\n");
    let (job, ..) = b.started_adopt(Owner::Socket);
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n");
    b.event(server, Event::Accepted(incoming(addr(8888), addr(5005))));
    assert_eq!(b.take(), "", "no id free: the client is refused");
    assert!(!b.has_started());
    b.event(job, Event::Closed(Ok(())));
    assert_eq!(b.take(), "\r\nCLOSED\r\n");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: SERVER LISTENING\r\n");
    // The server failing later says SERVER CLOSE; AT+CIPSHUT ends everything.
    b.event(server, Event::Closed(Err(SocketError::Reset)));
    assert_eq!(b.take(), "\r\nSERVER CLOSE\r\n");
    assert_eq!(b.at("AT+CIPSERVER?"), "\r\n+CIPSERVER: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSERVER=1,8888"), OK);
    let (server, _) = b.started_listen(Owner::Socket);
    assert_eq!(b.at("AT+CIPSHUT"), "\r\nSHUT OK\r\n");
    assert!(b.cancelled(server));
    assert_eq!(b.at("AT+CIPSERVER?"), "\r\n+CIPSERVER: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CIPSERVER=1,8888"), ERROR, "the context is down");
}

#[test]
fn a_server_that_cannot_listen_closes() {
    let mut b = ready(Family::Sim800, false);
    assert_eq!(b.at("AT+CIPSERVER=1,8888"), OK);
    let (server, _) = b.started_listen(Owner::Socket);
    b.event(server, Event::Closed(Err(SocketError::Io(std::io::ErrorKind::AddrInUse.into()))));
    assert_eq!(b.take(), "\r\nSERVER CLOSE\r\n");
    assert_eq!(b.at("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: IP STATUS\r\n");
}
