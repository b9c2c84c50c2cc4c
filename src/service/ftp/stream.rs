//! The byte stream under a control or data connection. Plain TCP from [`crate::net`] today;
//! a TLS variant (AUTH TLS, implicit FTPS, PROT P) becomes one more arm here, so the session
//! code above it does not change.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::NetStream;

/// A control or data connection.
#[derive(Debug)]
pub(crate) enum FtpStream {
    /// Clear text.
    Plain(NetStream),
}

impl FtpStream {
    /// This end's address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            FtpStream::Plain(s) => s.local_addr(),
        }
    }

    /// The server's address.
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            FtpStream::Plain(s) => s.peer_addr(),
        }
    }
}

impl AsyncRead for FtpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for FtpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
