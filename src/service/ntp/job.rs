//! The job of one time request ([`Request::Sync`]): the server's time, or why there is none; one
//! [`Event::Synced`] answers.

use std::net::SocketAddr;
use std::time::Duration;

use sntpc::{NtpContext, NtpUdpSocket, StdTimestampGen};

use crate::net::{Net, NetDatagram, NetError};

/// How long the server may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What a time job does.
#[derive(Debug)]
pub enum Request {
    /// Ask `host:port` for the time.
    Sync {
        /// The server's name or address.
        host: String,
        /// Its port (123).
        port: u16,
    },
}

/// Why there is no time (the classes `AT+CNTP` reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NtpError {
    /// The socket failed.
    #[error("network error")]
    Network,
    /// The name did not resolve.
    #[error("DNS resolution error")]
    Dns,
    /// The socket could not be opened to the server.
    #[error("connection error")]
    Connect,
    /// The server's answer was not a valid SNTP answer.
    #[error("the server's answer was not valid")]
    Response,
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
}

/// How a time job ended.
#[derive(Debug)]
pub enum Event {
    /// The server's time (Unix seconds, UTC), or why there is none.
    Synced(Result<i64, NtpError>),
}

impl Event {
    /// Whether this is a job's last event (every time event is).
    pub fn is_final(&self) -> bool {
        true
    }
}

/// No input: a time job is one request.
#[derive(Debug)]
pub enum Input {}

/// What a job that stopped on a fault of its own reports in its place.
pub fn failed(why: String) -> Event {
    tracing::warn!(target: "vmodem::ntp", "the time job stopped: {why}");
    Event::Synced(Err(NtpError::Network))
}

/// The link a time job reports through.
pub type NtpJob = crate::service::Job<Event, Input>;

/// Runs `request` to its end, reporting through `job`.
pub async fn run(net: Net, request: Request, job: NtpJob) {
    let (reporter, _) = job.split();
    let Request::Sync { host, port } = request;
    let synced = match tokio::time::timeout(TIMEOUT, sync(&net, &host, port)).await {
        Ok(synced) => synced,
        Err(_) => Err(NtpError::Timeout),
    };
    reporter.report(Event::Synced(synced)).await;
}

/// One exchange with `host:port`.
async fn sync(net: &Net, host: &str, port: u16) -> Result<i64, NtpError> {
    let socket = net.udp(host, port).await.map_err(|e| match e {
        NetError::Dns(_) => NtpError::Dns,
        _ => NtpError::Connect,
    })?;
    let peer = socket.peer_addr().map_err(|_| NtpError::Network)?;
    let socket = Connected(socket);
    let result = sntpc::get_time(peer, &socket, NtpContext::new(StdTimestampGen::default())).await;
    let time = result.map_err(|e| match e {
        sntpc::Error::Network => NtpError::Network,
        _ => NtpError::Response,
    })?;
    // sntpc gives Unix seconds.
    i64::try_from(time.sec()).map_err(|_| NtpError::Response)
}

/// A connected UDP socket as sntpc sends and receives: to and from its one peer.
struct Connected(NetDatagram);

impl NtpUdpSocket for Connected {
    async fn send_to(&self, buf: &[u8], _: SocketAddr) -> sntpc::Result<usize> {
        self.0.send(buf).await.map_err(|_| sntpc::Error::Network)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> sntpc::Result<(usize, SocketAddr)> {
        let n = self.0.recv(buf).await.map_err(|_| sntpc::Error::Network)?;
        Ok((n, self.0.peer_addr().map_err(|_| sntpc::Error::Network)?))
    }
}
