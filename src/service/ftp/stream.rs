//! The byte stream under a control or data connection: plain TCP from [`crate::net`], or TLS
//! over it (implicit FTPS, `AUTH TLS`, `PROT P`), so the session code above it is the same for
//! both.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::config::FtpTls;
use super::error::{Channel, FtpError, Step, tls_failure};
use crate::net::NetStream;
use crate::service::tls::with_fresh_sessions;

/// A control or data connection.
#[derive(Debug)]
pub(crate) enum FtpStream {
    /// Clear text.
    Plain(NetStream),
    /// TLS over the net layer's connection.
    Tls {
        /// The connection.
        stream: Box<TlsStream<NetStream>>,
        /// The server closed the TCP connection without a TLS `close_notify`: reads then end
        /// as at a clean end, and whoever relies on the end must check it.
        unclean_eof: bool,
    },
}

impl FtpStream {
    /// This end's address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.net().local_addr()
    }

    /// The server's address.
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.net().peer_addr()
    }

    fn net(&self) -> &NetStream {
        match self {
            FtpStream::Plain(s) => s,
            FtpStream::Tls { stream, .. } => stream.get_ref().0,
        }
    }

    /// Whether the server ended a TLS connection without `close_notify` (a truncation would
    /// look the same).
    pub(crate) fn unclean_eof(&self) -> bool {
        matches!(self, FtpStream::Tls { unclean_eof: true, .. })
    }

    /// Ends a TLS download: sends `close_notify` (servers such as vsftpd wait for it before
    /// their final reply), within `wait`. A plain connection is simply dropped later.
    pub(crate) async fn close_notify(&mut self, wait: Duration) {
        if let FtpStream::Tls { stream, .. } = self {
            // Best effort: the transfer's outcome is the final reply's to tell.
            let _ = tokio::time::timeout(wait, stream.shutdown()).await;
        }
    }

    /// After a TLS upload's `close_notify`: reads what the server still sends (TLS 1.3 session
    /// tickets, its own `close_notify`) until it closes, within `wait`. Closing a socket with
    /// unread bytes makes the kernel reset the connection, and a reset can destroy the upload's
    /// last bytes before the server has read them (vsftpd then answers 426).
    pub(crate) async fn drain(&mut self, wait: Duration) {
        if let FtpStream::Tls { stream, .. } = self {
            let mut sink = [0u8; 1024];
            let drain = async {
                // Each pass reads at least one byte or ends.
                while let Ok(n) = stream.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(wait, drain).await;
        }
    }
}

/// The TLS side of one FTP session: one configuration (one session store) and one server name
/// for the control connection and every data connection.
#[derive(Debug, Clone)]
pub(crate) struct SessionTls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl SessionTls {
    /// TLS for a new session, with a session store of its own.
    pub(crate) fn new(tls: &FtpTls) -> Self {
        SessionTls { config: with_fresh_sessions(&tls.config), server_name: tls.server_name.clone() }
    }

    /// Runs the client handshake over `stream`, the `channel` connection, within `wait`;
    /// failures classified (a rejected certificate, an alert, a lost connection, a timeout).
    pub(crate) async fn handshake(
        &self,
        stream: NetStream,
        channel: Channel,
        wait: Duration,
    ) -> Result<FtpStream, FtpError> {
        let connector = TlsConnector::from(self.config.clone());
        match tokio::time::timeout(wait, connector.connect(self.server_name.clone(), stream)).await {
            Ok(Ok(stream)) => Ok(FtpStream::Tls { stream: Box::new(stream), unclean_eof: false }),
            Ok(Err(e)) => Err(tls_failure(channel, e)),
            Err(_) => Err(FtpError::Timeout(Step::Handshake)),
        }
    }
}

impl AsyncRead for FtpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            FtpStream::Tls { stream, unclean_eof } => match Pin::new(stream).poll_read(cx, buf) {
                // rustls reports a TCP end without close_notify as UnexpectedEof: an end
                // like any other here, remembered for whoever must tell a truncation.
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    *unclean_eof = true;
                    Poll::Ready(Ok(()))
                }
                other => other,
            },
        }
    }
}

impl AsyncWrite for FtpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            FtpStream::Tls { stream, .. } => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_flush(cx),
            FtpStream::Tls { stream, .. } => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            FtpStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            FtpStream::Tls { stream, .. } => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
