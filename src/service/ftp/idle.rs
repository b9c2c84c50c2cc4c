//! A stream wrapper that fails with `TimedOut` when the peer makes no progress for too long.
//! The clock runs only while the caller is waiting on the peer: a caller that reads slowly
//! (backpressure) is not mistaken for a stalled server.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `inner`, with an idle limit on every read and write.
#[derive(Debug)]
pub(crate) struct Idle<S> {
    inner: S,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    /// The last poll returned `Pending`: the timer is measuring this wait.
    waiting: bool,
}

impl<S> Idle<S> {
    /// Wraps `inner`; a wait longer than `limit` fails.
    pub(crate) fn new(inner: S, limit: Duration) -> Self {
        Idle { inner, limit, timer: Box::pin(tokio::time::sleep(limit)), waiting: false }
    }

    /// The wrapped stream.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, for use outside the idle limit.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Passes a poll result through, starting the clock at the first `Pending` of a wait and
    /// failing once it runs out.
    fn watch<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.waiting = false;
            return result;
        }
        if !self.waiting {
            self.waiting = true;
            self.timer.as_mut().reset(Instant::now() + self.limit);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.waiting = false;
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("no data moved for {:?}", self.limit))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.watch(cx, result)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, result)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_silent_peer_times_out_but_a_slow_reader_does_not() {
        let limit = Duration::from_millis(200);
        let (near, mut far) = tokio::io::duplex(64);
        let mut idle = Idle::new(near, limit);
        far.write_all(b"ab").await.unwrap();
        // The reader dawdles longer than the limit; the data was there, so no timeout.
        tokio::time::sleep(limit * 2).await;
        let mut buf = [0; 8];
        assert_eq!(idle.read(&mut buf).await.unwrap(), 2);
        let start = Instant::now();
        let err = idle.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() >= limit && start.elapsed() < limit * 5, "{:?}", start.elapsed());
    }
}
