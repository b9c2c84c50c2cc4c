//! [`Session`]: a socket or device link that reports when the modem lets go of it, for the
//! transports that log their hosts and for those that wait for one session to end before they
//! start the next (`--connect`, `--serial`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use tracing::info;

use super::Link;

/// One host session: the stream, who is on the other end, and whom to tell when it ends.
pub struct Session {
    inner: Link,
    peer: String,
    ended: Option<oneshot::Sender<()>>,
}

impl Session {
    /// A session that only logs its end.
    pub fn new(inner: Link, peer: String) -> Session {
        Session { inner, peer, ended: None }
    }

    /// A session whose end (the modem dropping it) completes the returned receiver.
    pub fn watched(inner: Link, peer: String) -> (Session, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (Session { inner, peer, ended: Some(tx) }, rx)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        info!(peer = %self.peer, "host link closed");
        if let Some(ended) = self.ended.take() {
            ended.send(()).ok();
        }
    }
}

impl AsyncRead for Session {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Session {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
