//! The socket service (`service::socket`) on its own, against the in-process echo peer (TCP,
//! TLS with the test CA, UDP) and peers that refuse, close or reset: bytes both ways by
//! SHA-256, backpressure when nobody reads, every way a socket ends, name look-ups, and the
//! net layer's faults and redirects applied to sockets.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use vmodem::embedded::echo::EmbeddedEcho;
use vmodem::embedded::http::EmbeddedHttps;
use vmodem::net::{Fault, Net, NetConfig, Redirect, Role};
use vmodem::service::pipe::{self, PipeReader, PipeWriter};
use vmodem::service::socket::SocketError;
use vmodem::service::socket::job::{Event as SocketEvent, Input, Open, Request, Transport};
use vmodem::service::tls::{TlsSettings, Verification};
use vmodem::service::{self, Event, Report, job};

use crate::support::pki::Pki;
use crate::support::rig::{closed_port, pattern, sha256};

/// The longest wait for one event.
const EVENT_WAIT: Duration = Duration::from_secs(30);
/// How long a socket may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A socket job under test: where its events come from, where its input goes.
struct Socket {
    events: mpsc::Receiver<Report>,
    input: mpsc::Sender<service::Input>,
}

impl Socket {
    fn start(net: &Net, request: Request) -> Socket {
        let (input, inbox) = job::inbox();
        let (events_tx, events) = mpsc::channel(64);
        service::Request::from(request).spawn(net.clone(), 1, events_tx, inbox);
        Socket { events, input }
    }

    async fn event(&mut self) -> SocketEvent {
        match tokio::time::timeout(EVENT_WAIT, self.events.recv()).await {
            Ok(Some((1, Event::Socket(event)))) => event,
            Ok(other) => panic!("not a socket event: {other:?}"),
            Err(_) => panic!("no event within {EVENT_WAIT:?}"),
        }
    }

    async fn send(&self, input: Input) {
        self.input.send(input.into()).await.expect("the socket takes input");
    }
}

/// A TCP socket to `host:port` with a receive buffer of `capacity`; the pipes' host ends.
fn tcp(
    net: &Net,
    host: &str,
    port: u16,
    tls: Option<TlsSettings>,
    capacity: usize,
) -> (Socket, PipeReader, PipeWriter) {
    let (down, received) = pipe::pipe(capacity);
    let (to_send, up) = pipe::pipe(64 * 1024);
    let transport = Transport::Tcp { tls, down, up };
    let request = Request::Open(Open { host: host.into(), port, transport, timeout: OPEN_TIMEOUT });
    (Socket::start(net, request), received, to_send)
}

/// Sends `data` through `socket` and reads the same amount back from `received`, both at
/// once, answering the socket's events; returns what came back.
async fn round_trip(socket: &mut Socket, received: &PipeReader, to_send: &PipeWriter, data: &[u8]) -> Vec<u8> {
    let sending = async {
        let mut rest = data;
        while !rest.is_empty() {
            let written = to_send.write(rest).await.expect("the socket reads what is sent");
            rest = &rest[written.n..];
        }
    };
    let receiving = async {
        let mut back = Vec::with_capacity(data.len());
        let mut buf = vec![0u8; 16 * 1024];
        while back.len() < data.len() {
            let n = tokio::time::timeout(EVENT_WAIT, received.read(&mut buf)).await.expect("bytes come back");
            assert!(n > 0, "the receive pipe ended after {} bytes", back.len());
            back.extend_from_slice(&buf[..n]);
        }
        back
    };
    let events = async {
        loop {
            match socket.event().await {
                SocketEvent::Data | SocketEvent::Sent => {}
                other => return other,
            }
        }
    };
    tokio::select! {
        (_, back) = async { tokio::join!(sending, receiving) } => back,
        other = events => panic!("the socket ended early: {other:?}"),
    }
}

#[tokio::test]
async fn tcp_carries_4_mib_each_way_to_the_echo_peer_and_closes_when_told() {
    let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), None).await.unwrap();
    let net = Net::default();
    let (mut socket, received, to_send) = tcp(&net, "127.0.0.1", echo.tcp_addr().port(), None, 64 * 1024);
    let SocketEvent::Opened { peer, .. } = socket.event().await else { panic!("not opened") };
    assert_eq!(peer, echo.tcp_addr());
    let data = pattern(4 << 20, 7);
    let back = round_trip(&mut socket, &received, &to_send, &data).await;
    assert_eq!(sha256(&back), sha256(&data));
    socket.send(Input::Close).await;
    loop {
        match socket.event().await {
            SocketEvent::Closed(end) => break assert!(end.is_ok(), "{end:?}"),
            SocketEvent::Data | SocketEvent::Sent => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn tls_to_the_echo_peer_verifies_against_the_given_ca_and_refuses_others() {
    let pki = Pki::new("vmodem socket test CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = pki.server_for(&["echo.test"]);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let tls = EmbeddedHttps { cert, key };
    let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), Some(&tls)).await.unwrap();
    let net = Net::new(NetConfig::redirecting(vec![Redirect::new("echo.test", Some(443), echo.tcp_addr())]));
    let trusting = TlsSettings { ca: pki.ca_pem.clone().into_bytes(), ..TlsSettings::default() };
    let (mut socket, received, to_send) = tcp(&net, "echo.test", 443, Some(trusting), 64 * 1024);
    let opened = socket.event().await;
    assert!(matches!(opened, SocketEvent::Opened { .. }), "{opened:?}");
    let data = pattern(4 << 20, 8);
    let back = round_trip(&mut socket, &received, &to_send, &data).await;
    assert_eq!(sha256(&back), sha256(&data));

    let other = Pki::new("another CA");
    let untrusting = TlsSettings { ca: other.ca_pem.into_bytes(), ..TlsSettings::default() };
    let (mut untrusting, _r, _s) = tcp(&net, "echo.test", 443, Some(untrusting), 1024);
    match untrusting.event().await {
        SocketEvent::Closed(Err(SocketError::TlsHandshake(failure))) => assert!(failure.is_certificate(), "{failure}"),
        other => panic!("{other:?}"),
    }
    let (mut no_ca, _r, _s) = tcp(&net, "echo.test", 443, Some(TlsSettings::default()), 1024);
    assert!(matches!(no_ca.event().await, SocketEvent::Closed(Err(SocketError::TlsConfig(_)))), "no CA to verify with");
    let ignoring = TlsSettings { verification: Verification::IgnoreCertificate, ..TlsSettings::default() };
    let (mut ignoring, _r, _s) = tcp(&net, "echo.test", 443, Some(ignoring), 1024);
    assert!(matches!(ignoring.event().await, SocketEvent::Opened { .. }));
}

#[tokio::test]
async fn a_host_that_does_not_read_stops_the_socket_being_read() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = pattern(8 << 20, 9);
    let sent = data.clone();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(&sent).await.unwrap();
        conn.shutdown().await.unwrap();
    });
    let net = Net::default();
    let capacity = 4096;
    let (mut socket, received, _to_send) = tcp(&net, "127.0.0.1", port, None, capacity);
    assert!(matches!(socket.event().await, SocketEvent::Opened { .. }));
    assert!(matches!(socket.event().await, SocketEvent::Data));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received.available(), capacity, "the buffer is full and holds no more");
    assert!(!server.is_finished(), "the peer is held back: its 8 MiB do not fit the kernel's buffers");
    // The modem takes every event as it comes; so does this test from here on.
    let events = tokio::spawn(async move {
        loop {
            match socket.event().await {
                SocketEvent::Closed(end) => return end,
                SocketEvent::Data => {}
                other => panic!("{other:?}"),
            }
        }
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while got.len() < data.len() {
        let n = tokio::time::timeout(EVENT_WAIT, received.read(&mut buf)).await.expect("the rest comes");
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(sha256(&got), sha256(&data));
    let end = tokio::time::timeout(EVENT_WAIT, events).await.expect("the socket ends").unwrap();
    assert!(end.is_ok(), "the peer's close ends it well: {end:?}");
}

#[tokio::test]
async fn refused_unresolvable_reset_and_timed_out_sockets_say_why() {
    let (_socket, closed) = closed_port();
    let net = Net::default();
    let (mut refused, _r, _s) = tcp(&net, "127.0.0.1", closed.port(), None, 1024);
    assert!(matches!(refused.event().await, SocketEvent::Closed(Err(SocketError::Refused(_)))));
    let (mut unknown, _r, _s) = tcp(&net, "nowhere.invalid", 80, None, 1024);
    assert!(matches!(unknown.event().await, SocketEvent::Closed(Err(SocketError::Dns(_)))));

    let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), None).await.unwrap();
    let net = Net::default().with_faults(vec![Fault::Reset { on: Role::Socket, after: 100 }]);
    let (mut reset, received, to_send) = tcp(&net, "127.0.0.1", echo.tcp_addr().port(), None, 64 * 1024);
    assert!(matches!(reset.event().await, SocketEvent::Opened { .. }));
    to_send.write(&[0u8; 1000]).await.unwrap();
    loop {
        match reset.event().await {
            SocketEvent::Closed(end) => break assert!(matches!(end, Err(SocketError::Reset)), "{end:?}"),
            SocketEvent::Data | SocketEvent::Sent => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(received.available() <= 100, "nothing past the reset");

    let net = Net::default().with_faults(vec![Fault::Refuse { host: Some("127.0.0.1".into()), port: None }]);
    let (mut faulted, _r, _s) = tcp(&net, "127.0.0.1", echo.tcp_addr().port(), None, 1024);
    assert!(matches!(faulted.event().await, SocketEvent::Closed(Err(SocketError::Refused(_)))));
}

#[tokio::test]
async fn udp_keeps_datagrams_whole_both_ways() {
    let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), None).await.unwrap();
    let net = Net::new(NetConfig::redirecting(vec![Redirect::new("udp.test", Some(7), echo.udp_addr())]));
    let request =
        Request::Open(Open { host: "udp.test".into(), port: 7, transport: Transport::Udp, timeout: OPEN_TIMEOUT });
    let mut socket = Socket::start(&net, request);
    let SocketEvent::Opened { peer, .. } = socket.event().await else { panic!("not opened") };
    assert_eq!(peer, echo.udp_addr());
    for datagram in [b"ping".to_vec(), vec![0u8; 1472], pattern(8000, 3)] {
        socket.send(Input::Datagram(datagram.clone())).await;
        let mut got = None;
        while got.is_none() {
            match socket.event().await {
                SocketEvent::Sent => {}
                SocketEvent::Datagram(back) => got = Some(back),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got.unwrap(), datagram, "one datagram, whole");
    }
    socket.send(Input::Close).await;
    assert!(matches!(socket.event().await, SocketEvent::Closed(Ok(()))));
}

#[tokio::test]
async fn names_resolve_through_the_redirects() {
    let net =
        Net::new(NetConfig::redirecting(vec![Redirect::new("broker.test", None, "127.0.0.9:1883".parse().unwrap())]));
    let mut socket = Socket::start(&net, Request::Resolve { host: "broker.test".into() });
    match socket.event().await {
        SocketEvent::Resolved(Ok(ips)) => assert_eq!(ips, ["127.0.0.9".parse::<std::net::IpAddr>().unwrap()]),
        other => panic!("{other:?}"),
    }
    let mut socket = Socket::start(&net, Request::Resolve { host: "nowhere.invalid".into() });
    assert!(matches!(socket.event().await, SocketEvent::Resolved(Err(SocketError::Dns(_)))));
}

#[tokio::test]
async fn the_peer_closing_leaves_its_last_bytes_to_read() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 5];
        conn.read_exact(&mut hello).await.unwrap();
        conn.write_all(b"bye").await.unwrap();
    });
    let net = Net::default();
    let (mut socket, received, to_send) = tcp(&net, "127.0.0.1", port, None, 1024);
    assert!(matches!(socket.event().await, SocketEvent::Opened { .. }));
    to_send.write(b"hello").await.unwrap();
    loop {
        match socket.event().await {
            SocketEvent::Closed(end) => break assert!(end.is_ok(), "{end:?}"),
            SocketEvent::Data | SocketEvent::Sent => {}
            other => panic!("{other:?}"),
        }
    }
    let mut buf = [0u8; 16];
    assert_eq!(received.try_read(&mut buf).n, 3);
    assert_eq!(&buf[..3], b"bye");
    assert!(received.is_finished());
}
