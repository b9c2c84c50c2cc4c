//! The network as the modem's services see it. Every socket a service opens (FTP control and
//! data connections, HTTP) comes from a [`Net`], so link profiles and fault injection can plug
//! in here without the services knowing.
//!
//! It resolves names, applies redirects (send AN7080 §5.1's `112.74.93.163:21` to a local
//! server, as curl's `--connect-to` does), classifies connection failures, carries every
//! connection under the [`LinkProfile`] (rates, latency, jitter; changeable at run time) and
//! injects the configured [`Fault`]s.

mod fault;
mod profile;
mod redirect;
mod shape;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub use fault::{Direction, Fault, Role};
pub use profile::{LinkProfile, PROFILES, ProfileSetting};
pub use redirect::Redirect;

use crate::sms::centre::SmsCentre;
use fault::Gate;
use shape::Shaped;

/// Why a connection could not be made, classified once for every service.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The host name did not resolve.
    #[error("cannot resolve {0}")]
    Dns(String),
    /// The peer refused the connection.
    #[error("connection refused by {0}")]
    Refused(SocketAddr),
    /// No route to the peer.
    #[error("{0} is unreachable")]
    Unreachable(SocketAddr),
    /// The connection attempt timed out.
    #[error("connection to {0} timed out")]
    Timeout(SocketAddr),
    /// Any other socket error.
    #[error("network error: {0}")]
    Io(#[from] io::Error),
}

/// How the network behaves for one modem.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Destinations to send elsewhere, checked in order.
    pub redirects: Vec<Redirect>,
    /// The address the module's servers (`AT+CIPSERVER`, `AT+CASERVER`) listen on, at the
    /// port the host asks for: loopback unless configured otherwise.
    pub listen: IpAddr,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig { redirects: Vec::new(), listen: IpAddr::from([127, 0, 0, 1]) }
    }
}

impl NetConfig {
    /// Loopback servers, and connections sent by `redirects`.
    pub fn redirecting(redirects: Vec<Redirect>) -> Self {
        NetConfig { redirects, ..NetConfig::default() }
    }
}

/// The network a modem's services use. Cheap to clone; clones share the configuration and
/// the link profile.
#[derive(Debug, Clone, Default)]
pub struct Net {
    config: Arc<NetConfig>,
    faults: Arc<RwLock<Vec<Fault>>>,
    link: Arc<Link>,
    /// The cellular network's SMS centre (its own unless shared with other modems).
    sms: SmsCentre,
}

/// The link profile, shared with every connection, and the jitter seed of the next one.
#[derive(Debug)]
struct Link {
    profile: watch::Sender<LinkProfile>,
    connections: AtomicU64,
    /// Bytes received and sent over the link's connections.
    traffic: Arc<[AtomicU64; 2]>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            profile: watch::Sender::new(LinkProfile::INSTANT),
            connections: AtomicU64::new(0),
            traffic: Arc::default(),
        }
    }
}

impl Net {
    /// A network with the given behaviour.
    pub fn new(config: NetConfig) -> Self {
        Net { config: Arc::new(config), ..Net::default() }
    }

    /// The same network with `faults` injected into every connection opened from now on.
    pub fn with_faults(self, faults: Vec<Fault>) -> Self {
        Net { faults: Arc::new(RwLock::new(faults)), ..self }
    }

    /// Injects `fault` into the connections opened from now on, beside the others (a fault
    /// plan at run time).
    pub fn add_fault(&self, fault: Fault) {
        tracing::info!(target: "vmodem::net", "fault added: {fault:?}");
        self.faults.write().unwrap_or_else(|e| e.into_inner()).push(fault);
    }

    /// The same network with its short messages through `centre` (one shared by the modems of
    /// a process, so they can text one another).
    pub fn with_sms_centre(self, centre: SmsCentre) -> Self {
        Net { sms: centre, ..self }
    }

    /// The SMS centre the modem's messages go through.
    pub fn sms_centre(&self) -> &SmsCentre {
        &self.sms
    }

    /// Removes every fault: connections opened from now on are sound.
    pub fn clear_faults(&self) {
        self.faults.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether any fault answers `test`.
    fn any_fault(&self, test: impl Fn(&Fault) -> bool) -> bool {
        self.faults.read().unwrap_or_else(|e| e.into_inner()).iter().any(test)
    }

    /// The same network (its configuration and SMS centre shared) with a link of its own under
    /// `profile` and faults of its own (this one's, at first): one modem of a fleet, on another
    /// kind of cell than its neighbours, or struck by a fault they are spared.
    pub fn with_own_link(&self, profile: LinkProfile) -> Self {
        let link =
            Link { profile: watch::Sender::new(profile), connections: AtomicU64::new(0), traffic: Arc::default() };
        let faults = self.faults.read().unwrap_or_else(|e| e.into_inner()).clone();
        Net { link: Arc::new(link), faults: Arc::new(RwLock::new(faults)), ..self.clone() }
    }

    /// The same network under `profile`.
    pub fn with_profile(self, profile: LinkProfile) -> Self {
        self.set_profile(profile);
        self
    }

    /// Changes the link profile, for open connections too (a modem moving into a basement).
    pub fn set_profile(&self, profile: LinkProfile) {
        self.link.profile.send_replace(profile);
        tracing::info!(target: "vmodem::net", "link profile: {profile}");
    }

    /// Bytes received and sent over the link's TCP connections so far (a console's
    /// throughput chart).
    pub fn traffic(&self) -> (u64, u64) {
        let [down, up] = self.link.traffic.each_ref().map(|n| n.load(Ordering::Relaxed));
        (down, up)
    }

    /// The link profile in force.
    pub fn profile(&self) -> LinkProfile {
        *self.link.profile.borrow()
    }

    /// One round trip of the link: what setting up a connection or resolving a name costs.
    async fn round_trip(&self) {
        let rtt = self.profile().round_trip();
        if !rtt.is_zero() {
            tokio::time::sleep(rtt).await;
        }
    }

    /// Opens a service's control connection to `host:port`, applying redirects and resolving
    /// names.
    pub async fn connect(&self, host: &str, port: u16) -> Result<NetStream, NetError> {
        self.open(host, port, Role::Control).await
    }

    /// Opens a TCP socket the host asked for (`AT+CIPSTART`, `AT+CAOPEN`, `AT+MIPOPEN`) to
    /// `host:port`, applying redirects and resolving names; faults `on = "socket"` apply.
    pub async fn connect_socket(&self, host: &str, port: u16) -> Result<NetStream, NetError> {
        self.open(host, port, Role::Socket).await
    }

    /// A UDP socket the host asked for, connected to `host:port` after redirects: refusal
    /// and DNS faults apply when it opens; link profiles and connection faults do not apply to
    /// its datagrams (they shape byte streams).
    pub async fn udp(&self, host: &str, port: u16) -> Result<NetDatagram, NetError> {
        let addrs = self.resolve(host, port).await?;
        let addr = addrs.first().copied().ok_or_else(|| NetError::Dns(host.to_string()))?;
        if self.any_fault(|f| f.refuses(host, port, addr)) {
            tracing::debug!(target: "vmodem::net", "injected refusal of {host} ({addr})");
            return Err(NetError::Refused(addr));
        }
        let local = if addr.is_ipv4() { SocketAddr::from(([0, 0, 0, 0], 0)) } else { SocketAddr::from(([0u16; 8], 0)) };
        let socket = tokio::net::UdpSocket::bind(local).await?;
        socket.connect(addr).await.map_err(|e| classify(addr, e))?;
        Ok(NetDatagram { inner: socket })
    }

    /// Opens a data connection to an address (an FTP passive data port), applying redirects.
    pub async fn connect_addr(&self, addr: SocketAddr) -> Result<NetStream, NetError> {
        self.open(&addr.ip().to_string(), addr.port(), Role::Data).await
    }

    async fn open(&self, host: &str, port: u16, role: Role) -> Result<NetStream, NetError> {
        let addrs = self.resolve(host, port).await?;
        let mut last = None;
        for addr in addrs {
            if self.any_fault(|f| f.refuses(host, port, addr)) {
                tracing::debug!(target: "vmodem::net", "injected refusal of {host} ({addr})");
                self.round_trip().await;
                last = Some(NetError::Refused(addr));
                continue;
            }
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    // The handshake's SYN and SYN-ACK cross the link.
                    self.round_trip().await;
                    return Ok(self.stream(stream, role, host, addr));
                }
                Err(e) => last = Some(classify(addr, e)),
            }
        }
        Err(last.unwrap_or_else(|| NetError::Dns(host.to_string())))
    }

    /// Listens on an ephemeral port of `ip` for data connections (FTP active mode).
    pub async fn listen(&self, ip: IpAddr) -> Result<NetListener, NetError> {
        let inner = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        Ok(NetListener { inner, net: self.clone(), role: Role::Data })
    }

    /// Listens on `port` of the configured listening address for the clients of a server the
    /// host opened (`AT+CIPSERVER`, `AT+CASERVER`); faults `on = "socket"` apply to them.
    pub async fn listen_socket(&self, port: u16) -> Result<NetListener, NetError> {
        let inner = TcpListener::bind(SocketAddr::new(self.config.listen, port)).await?;
        Ok(NetListener { inner, net: self.clone(), role: Role::Socket })
    }

    fn stream(&self, inner: TcpStream, role: Role, host: &str, addr: SocketAddr) -> NetStream {
        let seed = self.link.connections.fetch_add(1, Ordering::Relaxed);
        let inner = Box::new(Shaped::new(inner, self.link.profile.subscribe(), seed));
        let gate = Gate::new(&self.faults.read().unwrap_or_else(|e| e.into_inner()), role, host, addr);
        NetStream { inner: Some(inner), gate, traffic: self.link.traffic.clone() }
    }

    /// The addresses `host:port` stands for, after redirects. A name (not an IP address)
    /// costs the module a round trip to its DNS server, redirected or not.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let literal = host.parse::<IpAddr>().ok();
        if literal.is_none() {
            self.round_trip().await;
            if self.any_fault(|f| f.fails_dns(host)) {
                tracing::debug!(target: "vmodem::net", "injected DNS failure of {host}");
                return Err(NetError::Dns(host.to_string()));
            }
        }
        if let Some(to) = self.config.redirects.iter().find_map(|r| r.apply(host, port)) {
            return Ok(vec![to]);
        }
        if let Some(ip) = literal {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        // RFC 6761: names under .invalid never resolve; answer at once, as resolvers should.
        if host.is_empty() || host.trim_end_matches('.').to_ascii_lowercase().ends_with(".invalid") {
            return Err(NetError::Dns(host.to_string()));
        }
        match tokio::net::lookup_host((host, port)).await {
            Ok(addrs) => {
                let addrs: Vec<_> = addrs.collect();
                if addrs.is_empty() { Err(NetError::Dns(host.to_string())) } else { Ok(addrs) }
            }
            Err(_) => Err(NetError::Dns(host.to_string())),
        }
    }
}

fn classify(addr: SocketAddr, e: io::Error) -> NetError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => NetError::Refused(addr),
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => NetError::Unreachable(addr),
        io::ErrorKind::TimedOut => NetError::Timeout(addr),
        _ => NetError::Io(e),
    }
}

/// A TCP connection opened through [`Net`].
#[derive(Debug)]
pub struct NetStream {
    /// `None` once an injected reset broke the connection.
    inner: Option<Box<Shaped<TcpStream>>>,
    gate: Gate,
    /// The link's byte counts, down and up.
    traffic: Arc<[AtomicU64; 2]>,
}

impl NetStream {
    /// This end's address (the control connection's local IP is what PORT advertises).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp()?.local_addr()
    }

    /// The peer's address (EPSV data connections go to the control connection's peer).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp()?.peer_addr()
    }

    fn tcp(&self) -> io::Result<&TcpStream> {
        self.inner.as_deref().map(Shaped::get_ref).ok_or_else(broken)
    }

    /// The socket, or the injected reset: the socket then closes with linger 0, so the peer
    /// sees a reset as well.
    fn open(&mut self, allowance: io::Result<usize>) -> io::Result<(&mut Shaped<TcpStream>, usize)> {
        match allowance {
            Ok(n) => Ok((self.inner.as_mut().ok_or_else(broken)?, n)),
            Err(e) => {
                if let Some(shaped) = self.inner.take() {
                    let tcp = shaped.get_ref();
                    // Best effort: without linger 0 the peer sees a clean close instead.
                    let _ = rustix::net::sockopt::set_socket_linger(tcp, Some(std::time::Duration::ZERO));
                    tracing::debug!(target: "vmodem::net", "injected reset of {:?}", tcp.peer_addr());
                }
                Err(e)
            }
        }
    }
}

/// The error of a connection an injected reset broke.
pub(crate) fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "connection reset (injected fault)")
}

impl AsyncRead for NetStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.gate.rejection(buf) {
            return Poll::Ready(Ok(()));
        }
        let allowance = ready!(this.gate.poll_read_allowance(cx));
        let (tcp, allowance) = this.open(allowance)?;
        let mut limited = ReadBuf::new(buf.initialize_unfilled_to(allowance.min(buf.remaining())));
        ready!(Pin::new(tcp).poll_read(cx, &mut limited))?;
        let n = limited.filled().len();
        buf.advance(n);
        this.gate.delivered(n);
        this.traffic[0].fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for NetStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.gate.sending(buf);
        let allowance = ready!(this.gate.poll_write_allowance(cx));
        let (tcp, allowance) = this.open(allowance)?;
        let n = ready!(Pin::new(tcp).poll_write(cx, &buf[..allowance.min(buf.len())]))?;
        this.gate.sent(n);
        this.traffic[1].fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(tcp) => Pin::new(tcp).poll_flush(cx),
            None => Poll::Ready(Err(broken())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(tcp) => Pin::new(tcp).poll_shutdown(cx),
            None => Poll::Ready(Err(broken())),
        }
    }
}

/// A UDP socket opened through [`Net`], connected to one peer.
#[derive(Debug)]
pub struct NetDatagram {
    inner: tokio::net::UdpSocket,
}

impl NetDatagram {
    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Sends one datagram.
    pub async fn send(&self, datagram: &[u8]) -> io::Result<usize> {
        self.inner.send(datagram).await
    }

    /// Waits for one datagram from the peer; returns its length (a longer one is cut to `buf`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf).await
    }
}

/// A listening socket opened through [`Net`].
#[derive(Debug)]
pub struct NetListener {
    inner: TcpListener,
    net: Net,
    /// What the connections it accepts are, for faults.
    role: Role,
}

impl NetListener {
    /// The address peers connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for one incoming connection.
    pub async fn accept(&self) -> Result<(NetStream, SocketAddr), NetError> {
        let (stream, peer) = self.inner.accept().await?;
        stream.set_nodelay(true)?;
        Ok((self.net.stream(stream, self.role, &peer.ip().to_string(), peer), peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refused_and_dns_failures_are_classified() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let net = Net::default();
        assert!(matches!(net.connect("127.0.0.1", port).await, Err(NetError::Refused(_))));
        assert!(matches!(net.connect("no-such-host.invalid", 21).await, Err(NetError::Dns(_))));
    }

    #[tokio::test]
    async fn redirects_apply_before_resolution() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let net = Net::new(NetConfig::redirecting(vec![format!("ftp.example.invalid:21={to}").parse().unwrap()]));
        let accept = tokio::spawn(async move { listener.accept().await.unwrap().1 });
        let stream = net.connect("ftp.example.invalid", 21).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), to);
        accept.await.unwrap();
    }

    #[tokio::test]
    async fn a_stalled_data_connection_delivers_its_first_bytes_then_waits() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.write_all(b"0123456789").await.unwrap();
        });
        let stall = Duration::from_millis(300);
        let net = Net::default().with_faults(vec![Fault::Stall {
            on: Role::Data,
            direction: Direction::Down,
            after: 4,
            seconds: crate::limits::Seconds::of(0.3),
        }]);
        let mut stream = net.connect_addr(to).await.unwrap();
        server.await.unwrap();
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"0123", "the stall cuts the first read at `after` bytes");
        let started = std::time::Instant::now();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"456789");
        assert!(started.elapsed() >= stall, "the rest came after {:?}", started.elapsed());
        // Control connections are untouched by a data stall.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { listener.accept().await.unwrap().0.write_all(b"220 hi").await });
        let mut control = net.connect("127.0.0.1", to.port()).await.unwrap();
        server.await.unwrap().unwrap();
        let mut all = Vec::new();
        control.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"220 hi");
    }

    #[tokio::test(start_paused = true)]
    async fn an_upward_stall_holds_what_the_service_sends() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            conn.read_to_end(&mut got).await.unwrap();
            got
        });
        let net = Net::default().with_faults(vec![Fault::Stall {
            on: Role::Data,
            direction: Direction::Up,
            after: 3,
            seconds: crate::limits::Seconds::of(5.0),
        }]);
        let mut stream = net.connect_addr(to).await.unwrap();
        assert_eq!(stream.write(b"abcdef").await.unwrap(), 3, "the first write stops at `after`");
        let started = tokio::time::Instant::now();
        stream.write_all(b"def").await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(5), "the rest waits out the stall");
        stream.shutdown().await.unwrap();
        assert_eq!(server.await.unwrap(), b"abcdef");
    }

    #[tokio::test]
    async fn a_reset_breaks_the_connection_after_its_bytes_both_ways() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.write_all(b"0123").await.unwrap();
            let mut got = Vec::new();
            let end = conn.read_to_end(&mut got).await;
            (got, end.map_err(|e| e.kind()))
        });
        let net = Net::default().with_faults(vec![Fault::Reset { on: Role::Data, after: 7 }]);
        let mut stream = net.connect_addr(to).await.unwrap();
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(stream.write(b"abcdef").await.unwrap(), 3, "4 bytes in, 3 out: the seventh is the last");
        let e = stream.write(b"def").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(stream.read(&mut buf).await.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        let (got, end) = server.await.unwrap();
        assert_eq!((got.as_slice(), end), (&b"abc"[..], Err(io::ErrorKind::ConnectionReset)), "the peer sees a reset");
    }
}
