//! The relay driven by a host-side smoltcp stack (the host's own TCP/IP, without PPP) whose
//! device exchanges packets with it, against real servers on loopback.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use futures_util::FutureExt;
use sha2::{Digest, Sha256};
use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, TYPE};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::tcp::{self, RecvError, State};
use smoltcp::socket::{icmp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    HardwareAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::tcp::{MAX_FLOWS, SOCKET_BUFFER};
use super::{OUTBOUND_QUEUE, Relay, RelayConfig, dns, reply};
use crate::net::{Net, NetConfig};

/// The host's address on the link.
const HOST: Ipv4Addr = Ipv4Addr::new(10, 64, 64, 64);
/// Its gateway (any address: the link is point to point).
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 64, 64, 1);
/// The DNS addresses IPCP gave the host: on loopback, so that a packet the relay failed to
/// intercept could only reach this machine.
const DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 153), Ipv4Addr::new(127, 0, 0, 154)];
/// How long any one wait of a test may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// A device over two queues: what the host's stack sends, what the relay sent it.
#[derive(Default)]
struct Queues {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        self.0.push_back(packet);
        result
    }
}

impl phy::Device for Queues {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((Rx(packet), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }
}

/// The host: its stack, and the relay its packets go to.
struct Host {
    iface: Interface,
    sockets: SocketSet<'static>,
    device: Queues,
    relay: Relay,
    epoch: std::time::Instant,
    /// Whether the host takes the relay's packets (a stalled link does not).
    reading: bool,
    next_port: u16,
}

impl Host {
    fn new(net: Net) -> Host {
        let mut device = Queues::default();
        let mut iface = Interface::new(Config::new(HardwareAddress::Ip), &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(HOST.into(), 24)).unwrap());
        iface.routes_mut().add_default_ipv4_route(GATEWAY).unwrap();
        let relay = Relay::spawn(net, RelayConfig { host: HOST, dns: DNS, mtu: 1500 });
        Host {
            iface,
            sockets: SocketSet::new(Vec::new()),
            device,
            relay,
            epoch: std::time::Instant::now(),
            reading: true,
            next_port: 40000,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.epoch.elapsed().as_micros() as i64)
    }

    /// One exchange: the host's stack runs, its packets go to the relay, the relay's come
    /// back (waiting a little for the first).
    async fn step(&mut self) {
        let now = self.now();
        self.iface.poll(now, &mut self.device, &mut self.sockets);
        while let Some(packet) = self.device.tx.pop_front() {
            assert!(self.relay.send(packet).await, "the relay ended");
        }
        if !self.reading {
            tokio::time::sleep(Duration::from_millis(5)).await;
            return;
        }
        if let Ok(packet) = tokio::time::timeout(Duration::from_millis(5), self.relay.recv()).await {
            self.device.rx.push_back(packet.expect("the relay ended"));
            while let Some(Some(packet)) = self.relay.recv().now_or_never() {
                self.device.rx.push_back(packet);
            }
        }
    }

    /// Steps until `done` gives a value, for at most [`PATIENCE`].
    async fn until<T>(&mut self, what: &str, mut done: impl FnMut(&mut Host) -> Option<T>) -> T {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(value) = done(self) {
                return value;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            self.step().await;
        }
    }

    /// A TCP connection of the host's to `to`, being opened.
    fn connect(&mut self, to: SocketAddrV4) -> SocketHandle {
        let buffer = || tcp::SocketBuffer::new(vec![0; 64 * 1024]);
        let mut socket = tcp::Socket::new(buffer(), buffer());
        self.next_port += 1;
        socket.connect(self.iface.context(), (IpAddress::from(*to.ip()), to.port()), self.next_port).unwrap();
        self.sockets.add(socket)
    }

    fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    /// A UDP socket of the host's on `port`.
    fn udp(&mut self, port: u16) -> SocketHandle {
        let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0; 16 * 1024]);
        let mut socket = udp::Socket::new(buffer(), buffer());
        socket.bind(port).unwrap();
        self.sockets.add(socket)
    }

    /// Sends `datagram` from the UDP socket `handle` to `to`, and waits for one back.
    async fn exchange(&mut self, handle: SocketHandle, to: SocketAddrV4, datagram: &[u8]) -> (Vec<u8>, SocketAddrV4) {
        let endpoint = (IpAddress::from(*to.ip()), to.port());
        self.sockets.get_mut::<udp::Socket>(handle).send_slice(datagram, endpoint).unwrap();
        self.until("a datagram", |host| {
            let (data, meta) = host.sockets.get_mut::<udp::Socket>(handle).recv().ok()?;
            let IpAddress::Ipv4(ip) = meta.endpoint.addr;
            Some((data.to_vec(), SocketAddrV4::new(ip, meta.endpoint.port)))
        })
        .await
    }
}

fn net() -> Net {
    Net::new(NetConfig::default())
}

/// `len` bytes that do not repeat with any short period.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// Reads what the socket has into `hasher`; whether the peer's FIN came after it.
fn drain(socket: &mut tcp::Socket<'_>, hasher: &mut Sha256, received: &mut usize) -> bool {
    while socket.can_recv() {
        socket
            .recv(|buf| {
                hasher.update(&*buf);
                *received += buf.len();
                (buf.len(), ())
            })
            .unwrap();
    }
    matches!(socket.recv(|_| (0, ())), Err(RecvError::Finished))
}

/// A port of loopback nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn four_mebibytes_each_way_byte_for_byte_and_a_clean_close() {
    const LEN: usize = 4 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let down = pattern(LEN, 1);
    let up = pattern(LEN, 2);
    let down_sent = down.clone();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let read = async {
            let mut got = Vec::new();
            reader.read_to_end(&mut got).await.unwrap();
            Sha256::digest(&got)
        };
        let write = async {
            writer.write_all(&down_sent).await.unwrap();
            writer.shutdown().await.unwrap();
        };
        tokio::join!(read, write).0
    });

    let mut host = Host::new(net());
    let handle = host.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let (mut sent, mut received, mut hasher, mut closed) = (0, 0, Sha256::new(), false);
    host.until("both transfers", |host| {
        let socket = host.tcp(handle);
        if socket.can_send() && sent < LEN {
            sent += socket.send_slice(&up[sent..]).unwrap();
        }
        if sent == LEN && !closed {
            socket.close();
            closed = true;
        }
        (drain(socket, &mut hasher, &mut received) && closed).then_some(())
    })
    .await;
    assert_eq!(received, LEN);
    assert_eq!(hasher.finalize(), Sha256::digest(&down), "what the server sent, byte for byte");
    assert_eq!(server.await.unwrap(), Sha256::digest(&up), "what the host sent, byte for byte");
    // Both FINs acknowledged, no RST: the host's socket ends its TIME-WAIT or closes cleanly.
    host.until("the close", |host| matches!(host.tcp(handle).state(), State::TimeWait | State::Closed).then_some(()))
        .await;
    assert_eq!(host.relay.stats().dropped, 0);
}

#[tokio::test]
async fn a_refused_connection_is_reset() {
    let mut host = Host::new(net());
    let handle = host.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, closed_port()));
    host.until("the RST", |host| (host.tcp(handle).state() == State::Closed).then_some(())).await;
    assert_eq!(host.relay.stats().tcp_flows, 0);
}

#[tokio::test]
async fn a_reset_by_the_peer_aborts_the_host_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (reset, mut told) = tokio::sync::oneshot::channel::<()>();
    // Sends until told, then resets the connection (linger 0): what it had not sent is lost.
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let chunk = pattern(16 * 1024, 3);
        let mut written = 0;
        loop {
            tokio::select! {
                _ = &mut told => break,
                wrote = stream.write(&chunk) => written += wrote.unwrap(),
            }
        }
        rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO)).unwrap();
        written
    });
    let mut host = Host::new(net());
    let handle = host.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let (mut received, mut hasher, mut reset) = (0, Sha256::new(), Some(reset));
    let fin = host
        .until("the RST", |host| {
            let socket = host.tcp(handle);
            let fin = drain(socket, &mut hasher, &mut received);
            if received >= 256 * 1024
                && let Some(reset) = reset.take()
            {
                reset.send(()).unwrap();
            }
            (fin || socket.state() == State::Closed).then_some(fin)
        })
        .await;
    let written = server.await.unwrap();
    assert!(!fin, "a reset, not a FIN");
    assert_eq!(host.tcp(handle).recv(|_| (0, ())), Err(RecvError::InvalidState));
    assert!(received < written, "cut mid-transfer: {received} of {written} bytes");
}

/// A DNS query for `name` of type `qtype`.
fn query(id: u16, name: &str, qtype: TYPE) -> Vec<u8> {
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    let question = Question::new(Name::new(name).unwrap(), QTYPE::TYPE(qtype), QCLASS::CLASS(CLASS::IN), false);
    packet.questions.push(question);
    packet.build_bytes_vec().unwrap()
}

#[tokio::test]
async fn dns_queries_are_answered_through_net() {
    let mut host = Host::new(net());
    let socket = host.udp(5353);
    let server = SocketAddrV4::new(DNS[0], 53);

    let (answer, from) = host.exchange(socket, server, &query(7, "localhost", TYPE::A)).await;
    assert_eq!(from, server);
    let answer = Packet::parse(&answer).unwrap();
    assert_eq!((answer.id(), answer.rcode()), (7, RCODE::NoError));
    assert!(answer.has_flags(PacketFlag::RESPONSE | PacketFlag::RECURSION_DESIRED));
    let addresses: Vec<_> = answer
        .answers
        .iter()
        .map(|record| match &record.rdata {
            RData::A(a) => (Ipv4Addr::from(a.address), record.ttl),
            other => panic!("not an A record: {other:?}"),
        })
        .collect();
    assert_eq!(addresses, [(Ipv4Addr::LOCALHOST, dns::TTL)]);

    let (answer, _) = host.exchange(socket, SocketAddrV4::new(DNS[1], 53), &query(8, "localhost", TYPE::AAAA)).await;
    let answer = Packet::parse(&answer).unwrap();
    assert_eq!((answer.id(), answer.rcode(), answer.answers.len()), (8, RCODE::NoError, 0), "AAAA: no records");

    let (answer, _) = host.exchange(socket, server, &query(9, "nothing.invalid", TYPE::A)).await;
    let answer = Packet::parse(&answer).unwrap();
    assert_eq!((answer.id(), answer.rcode(), answer.answers.len()), (9, RCODE::NameError, 0));

    // Not even a header: no answer. A header and nonsense: FORMERR.
    host.sockets.get_mut::<udp::Socket>(socket).send_slice(b"\x01\x02\x03", (IpAddress::from(DNS[0]), 53)).unwrap();
    let mut nonsense = pattern(40, 4);
    nonsense[..4].copy_from_slice(&[0xAB, 0xCD, 0x01, 0x00]);
    nonsense[4..6].copy_from_slice(&[0xFF, 0xFF]);
    let (answer, _) = host.exchange(socket, server, &nonsense).await;
    let answer = Packet::parse(&answer).unwrap();
    assert_eq!((answer.id(), answer.rcode()), (0xABCD, RCODE::FormatError));
    assert_eq!(host.relay.stats().dropped, 1, "the headerless message");

    // The server still answers.
    let (answer, _) = host.exchange(socket, server, &query(10, "localhost", TYPE::A)).await;
    assert_eq!(Packet::parse(&answer).unwrap().id(), 10);
}

#[tokio::test]
async fn udp_datagrams_are_relayed_both_ways() {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = echo.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut buf = [0; 2048];
        for _ in 0..2 {
            let (n, from) = echo.recv_from(&mut buf).await.unwrap();
            echo.send_to(&buf[..n], from).await.unwrap();
        }
    });
    let mut host = Host::new(net());
    let socket = host.udp(6000);
    let to = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    assert_eq!(host.exchange(socket, to, b"ping").await, (b"ping".to_vec(), to));
    let large = pattern(1400, 5);
    assert_eq!(host.exchange(socket, to, &large).await, (large, to));
    assert_eq!(host.relay.stats().udp_flows, 1, "one flow for both");
    server.await.unwrap();
}

#[tokio::test]
async fn pings_are_answered_by_the_address_pinged() {
    let mut host = Host::new(net());
    let buffer = || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 4096]);
    let mut socket = icmp::Socket::new(buffer(), buffer());
    socket.bind(icmp::Endpoint::Ident(0x1234)).unwrap();
    let handle = host.sockets.add(socket);
    let request = Icmpv4Repr::EchoRequest { ident: 0x1234, seq_no: 1, data: b"are you there" };
    let to = IpAddress::from(Ipv4Addr::LOCALHOST);
    let buf = host.sockets.get_mut::<icmp::Socket>(handle).send(request.buffer_len(), to).unwrap();
    request.emit(&mut Icmpv4Packet::new_unchecked(buf), &ChecksumCapabilities::default());
    let (reply, from) = host
        .until("the echo reply", |host| {
            let (reply, from) = host.sockets.get_mut::<icmp::Socket>(handle).recv().ok()?;
            Some((reply.to_vec(), from))
        })
        .await;
    assert_eq!(from, to);
    let packet = Icmpv4Packet::new_checked(&reply).unwrap();
    let reply = Icmpv4Repr::parse(&packet, &ChecksumCapabilities::default()).unwrap();
    assert_eq!(reply, Icmpv4Repr::EchoReply { ident: 0x1234, seq_no: 1, data: b"are you there" });
}

#[tokio::test]
async fn a_stalled_host_holds_the_relay_to_its_bounds() {
    const LEN: usize = 4 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = pattern(LEN, 6);
    let sent = data.clone();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(&sent).await.unwrap();
    });
    let mut host = Host::new(net());
    let handle = host.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let (mut received, mut hasher) = (0, Sha256::new());
    host.until("the first bytes", |host| {
        drain(host.tcp(handle), &mut hasher, &mut received);
        (received >= 256 * 1024).then_some(())
    })
    .await;

    // Its link stops taking packets: the outbound queue fills, then the socket's buffer.
    let bound = OUTBOUND_QUEUE * 1500 + 2 * SOCKET_BUFFER;
    let mut most = 0;
    host.reading = false;
    for _ in 0..100 {
        host.step().await;
        most = most.max(host.relay.stats().queued);
    }
    assert!(most > SOCKET_BUFFER, "the queue filled: {most} bytes");
    assert!(most <= bound, "the relay held {most} bytes");
    // It takes packets again, but its socket (its application) stops reading: its window
    // closes.
    host.reading = true;
    for _ in 0..100 {
        host.step().await;
        most = most.max(host.relay.stats().queued);
    }
    assert!(most <= bound, "the relay held {most} bytes");
    assert_eq!(host.tcp(handle).recv_queue(), 64 * 1024, "the host's window closed");

    // Everything arrives once it reads again.
    host.reading = true;
    host.until("the rest", |host| {
        let socket = host.tcp(handle);
        (drain(socket, &mut hasher, &mut received) || received == LEN).then_some(())
    })
    .await;
    assert_eq!(received, LEN);
    assert_eq!(hasher.finalize(), Sha256::digest(&data));
    server.await.unwrap();
}

/// A host with one TCP connection through the relay to a loopback server, established: the
/// host, its socket, the server's end.
async fn established() -> (Host, SocketHandle, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut host = Host::new(net());
    let handle = host.connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let (stream, _) = tokio::select! {
        accepted = listener.accept() => accepted.unwrap(),
        () = async { loop { host.step().await } } => unreachable!(),
    };
    host.until("the connection", |host| (host.tcp(handle).state() == State::Established).then_some(())).await;
    (host, handle, stream)
}

#[tokio::test]
async fn dropping_the_relay_closes_its_connections() {
    let (host, _, mut stream) = established().await;
    drop(host);
    let mut buf = [0; 16];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await.expect("the connection stays open");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn a_reset_by_the_host_closes_the_net_connection() {
    let (mut host, handle, mut stream) = established().await;
    host.tcp(handle).abort();
    let mut buf = [0; 16];
    let read = tokio::select! {
        read = stream.read(&mut buf) => read,
        () = async { loop { host.step().await } } => unreachable!(),
    };
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    host.until("the flow's end", |host| (host.relay.stats().tcp_flows == 0).then_some(())).await;
}

#[tokio::test]
async fn the_tcp_flows_are_bounded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = SocketAddrV4::new(Ipv4Addr::LOCALHOST, listener.local_addr().unwrap().port());
    // Accepts them all (beyond the kernel's backlog, connections would wait).
    let server = tokio::spawn(async move {
        let mut streams = Vec::new();
        loop {
            streams.push(listener.accept().await.unwrap().0);
        }
    });
    let mut host = Host::new(net());
    let handles: Vec<_> = (0..=MAX_FLOWS).map(|_| host.connect(to)).collect();
    let (established, refused) = host
        .until("every answer", |host| {
            let states: Vec<_> = handles.iter().map(|&handle| host.tcp(handle).state()).collect();
            let established = states.iter().filter(|&&state| state == State::Established).count();
            let refused = states.iter().filter(|&&state| state == State::Closed).count();
            (established + refused == handles.len()).then_some((established, refused))
        })
        .await;
    assert_eq!((established, refused), (MAX_FLOWS, 1));
    assert_eq!(host.relay.stats().tcp_flows, MAX_FLOWS);
    server.abort();
}

/// Valid packets of the host's, to mutate.
fn templates(closed: u16) -> Vec<Vec<u8>> {
    let host = SocketAddrV4::new(HOST, 40000);
    let mut syn = reply::udp(host, SocketAddrV4::new(Ipv4Addr::LOCALHOST, closed), b"");
    // A UDP packet made into a SYN: same addresses, a TCP header instead.
    {
        let mut ip = Ipv4Packet::new_unchecked(&mut syn);
        ip.set_next_header(IpProtocol::Tcp);
    }
    syn.resize(40, 0);
    {
        let mut ip = Ipv4Packet::new_unchecked(&mut syn);
        ip.set_total_len(40);
        let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
        tcp.set_src_port(40000);
        tcp.set_dst_port(closed);
        tcp.set_header_len(20);
        tcp.set_syn(true);
        tcp.set_window_len(1000);
    }
    let dns = reply::udp(host, SocketAddrV4::new(DNS[0], 53), &query(1, "localhost", TYPE::A));
    let ping = {
        let request = Icmpv4Repr::EchoRequest { ident: 1, seq_no: 1, data: b"0123456789" };
        let mut packet = reply::udp(host, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1), &[0; 10]);
        let mut ip = Ipv4Packet::new_unchecked(&mut packet);
        ip.set_next_header(IpProtocol::Icmp);
        request.emit(&mut Icmpv4Packet::new_unchecked(ip.payload_mut()), &ChecksumCapabilities::default());
        packet
    };
    vec![syn, dns, ping]
}

/// Sends a mutated packet only to loopback: its destination (and TCP and UDP ports) reset to
/// ones of this test's, its checksums recomputed when `fix` says so.
fn confine(packet: &mut [u8], closed: u16, fix: bool) {
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut *packet) else { return };
    ip.set_src_addr(HOST);
    let (src, dst) = (
        IpAddress::from(HOST),
        match ip.next_header() {
            IpProtocol::Udp => IpAddress::from(DNS[0]),
            _ => IpAddress::from(Ipv4Addr::LOCALHOST),
        },
    );
    let IpAddress::Ipv4(to) = dst;
    ip.set_dst_addr(to);
    match ip.next_header() {
        IpProtocol::Tcp => {
            if let Ok(mut tcp) = TcpPacket::new_checked(ip.payload_mut()) {
                tcp.set_dst_port(closed);
                if fix {
                    tcp.fill_checksum(&src, &dst);
                }
            }
        }
        IpProtocol::Udp => {
            if let Ok(mut udp) = UdpPacket::new_checked(ip.payload_mut()) {
                udp.set_dst_port(53);
                if fix {
                    udp.fill_checksum(&src, &dst);
                }
            }
        }
        IpProtocol::Icmp if fix => {
            if let Ok(mut icmp) = Icmpv4Packet::new_checked(ip.payload_mut()) {
                icmp.fill_checksum();
            }
        }
        _ => {}
    }
    if fix {
        ip.fill_checksum();
    }
}

#[tokio::test]
async fn no_packet_breaks_the_relay() {
    let closed = closed_port();
    let templates = templates(closed);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut host = Host::new(net());
    for round in 0..3000 {
        let packet = if round % 10 == 0 {
            let mut packet: Vec<u8> = (0..rng.usize(..80)).map(|_| rng.u8(..)).collect();
            confine(&mut packet, closed, false);
            packet
        } else {
            let mut packet = templates[rng.usize(..templates.len())].clone();
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(..packet.len());
                packet[at] = rng.u8(..);
            }
            if rng.bool() {
                packet.truncate(rng.usize(..=packet.len()));
            }
            confine(&mut packet, closed, rng.bool());
            packet
        };
        assert!(host.relay.send(packet).await, "the relay ended at round {round}");
        while let Some(Some(_)) = host.relay.recv().now_or_never() {}
    }
    assert!(host.relay.stats().dropped > 0);
    // It still answers.
    let socket = host.udp(7000);
    let (answer, _) = host.exchange(socket, SocketAddrV4::new(DNS[0], 53), &query(11, "localhost", TYPE::A)).await;
    assert_eq!(Packet::parse(&answer).unwrap().id(), 11);
}
