//! Sockets the host opens with its family's socket commands (`AT+CIPSTART`, `AT+CAOPEN`,
//! `AT+MIPOPEN`): TCP (plain or TLS) and UDP clients, and name look-ups, every socket through
//! [`crate::net`] so that redirects, link profiles and connection faults apply to them as to
//! FTP. Dialect-neutral: a dialect opens one as a job ([`job::Request::Open`]) and reads and
//! writes its bytes through bounded pipes; the module's receive buffer is the receive pipe's
//! capacity, so a host that does not read stops the socket being read (backpressure), and
//! nothing is dropped or grows without bound.
//!
//! UDP keeps datagrams whole: each one the peer sends is an [`job::Event::Datagram`] (the job
//! waits while the modem's queue is full, and the kernel drops what a socket that is not read
//! cannot hold, as a network does), and each one the host sends is an [`job::Input::Datagram`].

pub mod job;

use std::io;
use std::net::SocketAddr;

use crate::net::NetError;
use crate::service::tls::{HandshakeFailure, TlsConfigError};

/// Why a socket could not open, or why it ended other than by the peer's close.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The host name did not resolve.
    #[error("cannot resolve {0}")]
    Dns(String),
    /// The peer refused the connection.
    #[error("connection refused by {0}")]
    Refused(SocketAddr),
    /// No route to the peer.
    #[error("{0} is unreachable")]
    Unreachable(SocketAddr),
    /// The connection did not open in time.
    #[error("the connection did not open in time")]
    Timeout,
    /// The TLS settings cannot make a TLS session (a CA list that does not parse ...).
    #[error("TLS settings: {0}")]
    TlsConfig(#[from] TlsConfigError),
    /// The TLS handshake failed (a certificate refused, an alert, a protocol mismatch).
    #[error("TLS handshake failed: {0}")]
    TlsHandshake(HandshakeFailure),
    /// The peer reset the connection.
    #[error("the connection was reset")]
    Reset,
    /// Any other socket error.
    #[error("socket error: {0}")]
    Io(io::Error),
}

impl From<NetError> for SocketError {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Dns(host) => SocketError::Dns(host),
            NetError::Refused(addr) => SocketError::Refused(addr),
            NetError::Unreachable(addr) => SocketError::Unreachable(addr),
            NetError::Timeout(_) => SocketError::Timeout,
            NetError::Io(e) => SocketError::from(e),
        }
    }
}

impl From<io::Error> for SocketError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
                SocketError::Reset
            }
            _ => SocketError::Io(e),
        }
    }
}
