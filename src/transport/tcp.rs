//! The modem's serial line over TCP: vmodem listens, and each accepted connection is a host
//! plugging in. Useful behind `socat pty,raw,echo=0,link=/tmp/ttyV0 tcp:HOST:PORT`, for an
//! emulator's TCP serial backend (QEMU `-serial tcp:...`, Renode), or for `nc`.
//!
//! A new connection becomes the next [`Link`], and the modem drops the previous link when it
//! sees the new one, as a module does when another host takes over its UART. Each link is the
//! `TcpStream` with `TCP_NODELAY` set, so single echoed characters and short result codes go out
//! at once. Unlike a PTY link, a TCP link reports the peer's disconnect on write too
//! (`BrokenPipe`/`ConnectionReset`), as a socket does.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{Link, Links};

/// How long the accept loop pauses after a failed `accept` (for example `EMFILE`), so that a
/// persistent error does not make it spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Binds `addr` and yields one link per accepted connection.
///
/// Returns the bound address, which tells you the port when `addr` asked for port 0. The accept
/// loop runs until the returned [`Links`] is dropped.
pub async fn listen(addr: SocketAddr) -> io::Result<(Links, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (tx, links) = Links::channel();
    info!(%local, "listening for hosts");
    tokio::spawn(accept_loop(listener, tx, local));
    Ok((links, local))
}

async fn accept_loop(listener: TcpListener, tx: mpsc::Sender<Link>, local: SocketAddr) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tx.closed() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    warn!(%peer, error = %e, "cannot set TCP_NODELAY");
                }
                info!(%peer, %local, "host connected");
                if tx.send(Box::new(TcpLink { stream, peer })).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                warn!(%local, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
    debug!(%local, "no one takes links any more; listener closed");
}

/// A connection from one host; logs when the modem lets go of it.
struct TcpLink {
    stream: TcpStream,
    peer: SocketAddr,
}

impl Drop for TcpLink {
    fn drop(&mut self) {
        info!(peer = %self.peer, "host link closed");
    }
}

impl AsyncRead for TcpLink {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpLink {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
