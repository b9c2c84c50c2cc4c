//! Socket jobs: open a TCP (optionally TLS) or UDP client socket and carry its bytes both ways
//! until either end closes ([`Request::Open`]), or look a name up ([`Request::Resolve`]), or
//! listen for clients ([`Request::Listen`]: each one an [`Event::Accepted`] whose connection
//! a job of its own carries, [`Request::Adopt`]).
//!
//! A TCP socket's received bytes go into the `down` pipe, [`Event::Data`] telling the modem
//! when they go into an empty one; the host's bytes come from the `up` pipe, [`Event::Sent`]
//! telling when it has been emptied into the socket. When the host closes `up` (drops its
//! writer) the socket's sending side shuts down once the rest is sent; [`Input::Close`] closes
//! it at once. The job ends with one [`Event::Closed`]: `Ok` when the peer closed and
//! everything received went into `down` (the dialect reads the rest from there), `Err` when
//! the socket could not open or failed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::SocketError;
use crate::net::{Net, NetDatagram, NetListener};
use crate::service::job::{Inbox, Reporter};
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::tls::{HandshakeFailure, TlsSettings, rustls_error};

/// The largest UDP datagram a socket receives (an IPv4 datagram's payload at most).
pub const MAX_DATAGRAM: usize = 65_507;

/// Bytes moved per socket read or pipe read.
const CHUNK: usize = 16 * 1024;

/// What a socket job does.
#[derive(Debug)]
pub enum Request {
    /// Open a client socket and carry its bytes until either end closes.
    Open(Open),
    /// Look `host` up; one [`Event::Resolved`] answers.
    Resolve {
        /// The name (an IP address resolves to itself).
        host: String,
    },
    /// Listen on `port` (TCP) until the host closes the server: [`Event::Listening`], then an
    /// [`Event::Accepted`] per client (the next waits until the modem has taken it).
    Listen {
        /// The port the host asked for, on the network's listening address.
        port: u16,
    },
    /// Carry the bytes of a client a server accepted, as an open TCP socket's.
    Adopt {
        /// The client's connection.
        incoming: Incoming,
        /// Where received bytes go: the module's receive buffer (its capacity).
        down: PipeWriter,
        /// What the host sends.
        up: PipeReader,
    },
}

/// A client socket to open.
#[derive(Debug)]
pub struct Open {
    /// The peer's host name or address.
    pub host: String,
    /// The peer's port.
    pub port: u16,
    /// TCP (with or without TLS) or UDP.
    pub transport: Transport,
    /// How long the connection may take to open (TLS handshake included).
    pub timeout: Duration,
}

/// How a socket carries bytes.
#[derive(Debug)]
pub enum Transport {
    /// A TCP byte stream.
    Tcp {
        /// TLS over it, or none.
        tls: Option<TlsSettings>,
        /// Where received bytes go: the module's receive buffer (its capacity).
        down: PipeWriter,
        /// What the host sends.
        up: PipeReader,
    },
    /// UDP datagrams ([`Event::Datagram`], [`Input::Datagram`]).
    Udp,
}

/// What the modem sends a socket job.
#[derive(Debug)]
pub enum Input {
    /// One UDP datagram to send; [`Event::Sent`] follows.
    Datagram(Vec<u8>),
    /// Close the socket now (the host's close); [`Event::Closed`] follows.
    Close,
}

/// Progress and the end of a socket job.
#[derive(Debug)]
pub enum Event {
    /// The socket is open (TCP connected and any TLS handshake done).
    Opened {
        /// This end's address.
        local: SocketAddr,
        /// The peer's address (after redirects).
        peer: SocketAddr,
    },
    /// Received bytes went into an empty receive pipe.
    Data,
    /// A UDP datagram came from the peer.
    Datagram(Vec<u8>),
    /// The send pipe has been emptied into the socket, or a datagram has gone.
    Sent,
    /// The socket is done: `Ok` when the peer closed (or the host did), else why it failed.
    Closed(Result<(), SocketError>),
    /// The answer to [`Request::Resolve`].
    Resolved(Result<Vec<IpAddr>, SocketError>),
    /// The server listens ([`Request::Listen`]).
    Listening {
        /// The address clients connect to.
        local: SocketAddr,
    },
    /// A client connected to the server: the modem gives it a connection id and an
    /// [`Request::Adopt`] job, or drops it (the connection closes).
    Accepted(Incoming),
}

/// A client's connection, accepted by a server and not yet carried by a job.
pub struct Incoming {
    connection: Connection,
}

impl Incoming {
    /// A connection over `stream` between `local` and the client at `peer`.
    pub fn new(
        stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        Incoming { connection: Connection { stream: Box::new(stream), local, peer } }
    }

    /// This end's address.
    pub fn local(&self) -> SocketAddr {
        self.connection.local
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.connection.peer
    }
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Incoming({} from {})", self.local(), self.peer())
    }
}

impl Event {
    /// Whether this is a job's last event.
    pub fn is_final(&self) -> bool {
        matches!(self, Event::Closed(_) | Event::Resolved(_))
    }
}

/// What a job that stopped on a fault of its own (a panic) reports in its place: the socket
/// failed.
pub fn failed(why: String) -> Event {
    Event::Closed(Err(SocketError::Io(std::io::Error::other(format!("the socket job stopped: {why}")))))
}

/// The link a socket job reports through.
pub type SocketJob = crate::service::Job<Event, Input>;

/// Runs `request` to its end, reporting through `job`.
pub async fn run(net: Net, request: Request, job: SocketJob) {
    let (reporter, mut inbox) = job.split();
    let end = match request {
        Request::Resolve { host } => {
            let found = net.resolve(&host, 0).await.map(|addrs| addrs.iter().map(SocketAddr::ip).collect());
            reporter.report(Event::Resolved(found.map_err(SocketError::from))).await;
            return;
        }
        Request::Open(Open { host, port, transport: Transport::Tcp { tls, down, up }, timeout }) => {
            let opened = tokio::time::timeout(timeout, connect(&net, &host, port, tls)).await;
            match opened.unwrap_or(Err(SocketError::Timeout)) {
                Ok(connection) => {
                    let Connection { local, peer, .. } = connection;
                    if !reporter.report(Event::Opened { local, peer }).await {
                        return;
                    }
                    carry(connection, down, up, &reporter, &mut inbox).await
                }
                Err(e) => Err(e),
            }
        }
        Request::Adopt { incoming, down, up } => carry(incoming.connection, down, up, &reporter, &mut inbox).await,
        Request::Listen { port } => match net.listen_socket(port).await {
            Ok(listener) => serve(listener, &reporter, &mut inbox).await,
            Err(e) => Err(e.into()),
        },
        Request::Open(Open { host, port, transport: Transport::Udp, timeout }) => {
            let opened = tokio::time::timeout(timeout, net.udp(&host, port)).await;
            match opened.map_err(|_| SocketError::Timeout).and_then(|r| r.map_err(SocketError::from)) {
                Ok(socket) => datagrams(socket, &reporter, &mut inbox).await,
                Err(e) => Err(e),
            }
        }
    };
    reporter.report(Event::Closed(end)).await;
}

/// The bytes of an open connection, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open TCP connection and its two ends' addresses.
struct Connection {
    stream: Box<dyn Stream>,
    local: SocketAddr,
    peer: SocketAddr,
}

/// Connects to `host:port` through `net`, then makes the TLS handshake if there is `tls`
/// (settings that cannot make a TLS session fail before any traffic).
async fn connect(net: &Net, host: &str, port: u16, tls: Option<TlsSettings>) -> Result<Connection, SocketError> {
    let tls = match &tls {
        Some(settings) => Some((settings.client_config()?, settings.server_name(host)?)),
        None => None,
    };
    let tcp = net.connect_socket(host, port).await?;
    let (local, peer) = (tcp.local_addr()?, tcp.peer_addr()?);
    let stream: Box<dyn Stream> = match tls {
        None => Box::new(tcp),
        Some((config, name)) => {
            let tls = TlsConnector::from(config).connect(name, tcp).await.map_err(handshake)?;
            Box::new(tls)
        }
    };
    Ok(Connection { stream, local, peer })
}

/// A failed handshake as rustls tells it, or the connection lost during it.
fn handshake(e: std::io::Error) -> SocketError {
    match rustls_error(&e) {
        Some(err) => SocketError::TlsHandshake(HandshakeFailure::Tls(err.clone())),
        None => SocketError::TlsHandshake(HandshakeFailure::Io(e)),
    }
}

/// Carries a TCP connection's bytes both ways until the peer closes, the host closes, or it
/// fails.
async fn carry(
    connection: Connection,
    down: PipeWriter,
    up: PipeReader,
    reporter: &Reporter<Event>,
    inbox: &mut Inbox<Input>,
) -> Result<(), SocketError> {
    let (mut rd, mut wr) = tokio::io::split(connection.stream);
    let receive = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = rd.read(&mut buf).await?;
            if n == 0 {
                return Ok::<(), SocketError>(());
            }
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                // The host has let go of the socket: nobody reads any more.
                let Ok(written) = down.write(rest).await else { return Ok(()) };
                rest = &rest[written.n..];
                if written.was_empty && !reporter.report(Event::Data).await {
                    return Ok(());
                }
            }
        }
    };
    let send = async {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = up.read(&mut buf).await;
            if n == 0 {
                // The host is done sending: the peer sees the end, the socket still receives.
                wr.shutdown().await?;
                return std::future::pending::<Result<(), SocketError>>().await;
            }
            wr.write_all(&buf[..n]).await?;
            wr.flush().await?;
            if up.available() == 0 && !reporter.report(Event::Sent).await {
                return Ok(());
            }
        }
    };
    let close = async {
        loop {
            match inbox.next().await {
                Some(Input::Close) | None => return,
                Some(Input::Datagram(_)) => tracing::warn!(target: "vmodem::socket", "a datagram for a TCP socket"),
            }
        }
    };
    tokio::select! {
        end = receive => end,
        end = send => end,
        () = close => Ok(()),
    }
}

/// Hands each client `listener` accepts to the modem until the host closes the server or it
/// fails.
async fn serve(listener: NetListener, reporter: &Reporter<Event>, inbox: &mut Inbox<Input>) -> Result<(), SocketError> {
    if !reporter.report(Event::Listening { local: listener.local_addr()? }).await {
        return Ok(());
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = accepted?;
                let local = stream.local_addr()?;
                if !reporter.report(Event::Accepted(Incoming::new(stream, local, peer))).await {
                    return Ok(());
                }
            }
            input = inbox.next() => match input {
                Some(Input::Close) | None => return Ok(()),
                Some(Input::Datagram(_)) => tracing::warn!(target: "vmodem::socket", "a datagram for a server"),
            },
        }
    }
}

/// Carries a UDP socket's datagrams both ways until the host closes it or it fails.
async fn datagrams(
    socket: NetDatagram,
    reporter: &Reporter<Event>,
    inbox: &mut Inbox<Input>,
) -> Result<(), SocketError> {
    let (local, peer) = (socket.local_addr()?, socket.peer_addr()?);
    if !reporter.report(Event::Opened { local, peer }).await {
        return Ok(());
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            received = socket.recv(&mut buf) => match received {
                Ok(n) => {
                    if !reporter.report(Event::Datagram(buf[..n].to_vec())).await {
                        return Ok(());
                    }
                }
                // An ICMP "port unreachable" for an earlier datagram: UDP goes on regardless.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    tracing::debug!(target: "vmodem::socket", "UDP peer {peer} unreachable");
                }
                Err(e) => return Err(e.into()),
            },
            input = inbox.next() => match input {
                Some(Input::Datagram(datagram)) => {
                    if let Err(e) = socket.send(&datagram).await
                        && e.kind() != std::io::ErrorKind::ConnectionRefused
                    {
                        return Err(e.into());
                    }
                    if !reporter.report(Event::Sent).await {
                        return Ok(());
                    }
                }
                Some(Input::Close) | None => return Ok(()),
            },
        }
    }
}
