//! The link profile applied to one connection: what the service reads is held back by the
//! round trip (plus jitter) and then let through at the downlink rate; what it writes goes out
//! at the uplink rate.
//!
//! The model, and why it is enough: a request goes up and its answer comes down, so the answer
//! reaches the service one round trip after the request left it. The uplink half of that delay
//! is taken on the read side too, with the downlink half, which keeps writes simple (no bytes
//! held inside vmodem after a write returns, nothing to flush on drop) and gives every
//! exchange the right timing. Data is stamped when the service first looks for it, so a
//! download whose data connection is read only after the `150` reply starts one round trip
//! later than on a real link; small next to a transfer, and on the slow side.
//!
//! Rates are token buckets that fill continuously and hold at most [`BURST`] of rate, so a
//! transfer of any length runs at the profile's rate, and an idle link sends at most that much
//! at once. Memory is bounded: at most [`MAX_HELD`] bytes wait in the delay line; beyond that
//! the socket is not read, and TCP slows the server down.
//!
//! Every poll checks whether the profile has changed, so a change at run time applies to open
//! connections.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::profile::LinkProfile;

/// The most a rate lets through at once after an idle spell, in seconds of rate.
const BURST: f64 = 0.05;
/// How much rate a blocked side waits for before it tries again, in seconds of rate.
const QUANTUM: f64 = 0.01;
/// The most bytes held in the delay line.
const MAX_HELD: usize = 256 * 1024;
/// The most read from the socket at once.
const READ_CHUNK: usize = 16 * 1024;

/// A stream under a link profile.
#[derive(Debug)]
pub(crate) struct Shaped<S> {
    inner: S,
    link: watch::Receiver<LinkProfile>,
    /// The profile last read from `link` (a poll checks only whether it changed).
    profile: LinkProfile,
    down: Downlink,
    up: Pace,
    rng: fastrand::Rng,
}

/// Data that has arrived and waits for its time.
#[derive(Debug)]
struct Piece {
    due: Instant,
    data: Vec<u8>,
    read: usize,
}

#[derive(Debug)]
struct Downlink {
    held: VecDeque<Piece>,
    /// Bytes in `held` not yet delivered.
    bytes: usize,
    /// When the last piece is due: later pieces are never due earlier.
    last_due: Instant,
    /// The end of the stream (EOF, or an error delivered once), after everything held.
    end: Option<(Instant, Option<io::Error>)>,
    pace: Pace,
}

/// A rate: a token bucket and the timer a blocked side waits on.
#[derive(Debug)]
struct Pace {
    tokens: f64,
    at: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Pace {
    fn new(now: Instant) -> Self {
        Pace { tokens: 0.0, at: now, sleep: Box::pin(tokio::time::sleep_until(now)) }
    }

    /// Bytes that may pass now (at most `want`, and at least one), or pending until
    /// a quantum is there.
    fn poll_allow(&mut self, cx: &mut Context<'_>, rate: Option<f64>, want: usize) -> Poll<usize> {
        let Some(rate) = rate else { return Poll::Ready(want) };
        loop {
            let now = Instant::now();
            self.tokens = (self.tokens + rate * (now - self.at).as_secs_f64()).min((rate * BURST).max(1.0));
            self.at = now;
            if self.tokens >= 1.0 {
                return Poll::Ready(want.min(self.tokens as usize).max(1));
            }
            let quantum = (rate * QUANTUM).clamp(1.0, want as f64);
            let wait = Duration::from_secs_f64((quantum - self.tokens) / rate);
            ready!(wait_until(&mut self.sleep, cx, now + wait));
        }
    }

    fn took(&mut self, n: usize) {
        self.tokens -= n as f64;
    }
}

/// Arms `sleep` for `at` and polls it: `Ready` once it is past.
fn wait_until(sleep: &mut Pin<Box<Sleep>>, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
    if at <= Instant::now() {
        return Poll::Ready(());
    }
    if sleep.deadline() != at {
        sleep.as_mut().reset(at);
    }
    sleep.as_mut().poll(cx)
}

impl<S> Shaped<S> {
    /// `inner` under the profile `link` carries; `seed` draws its jitter.
    pub(crate) fn new(inner: S, link: watch::Receiver<LinkProfile>, seed: u64) -> Self {
        let now = Instant::now();
        let down = Downlink { held: VecDeque::new(), bytes: 0, last_due: now, end: None, pace: Pace::new(now) };
        let profile = *link.borrow();
        Shaped { inner, link, profile, down, up: Pace::new(now), rng: fastrand::Rng::with_seed(seed) }
    }

    /// The profile in force, read anew only when it has changed.
    fn profile(&mut self) -> LinkProfile {
        if self.link.has_changed().unwrap_or(false) {
            self.profile = *self.link.borrow_and_update();
        }
        self.profile
    }

    /// The stream underneath.
    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }

    /// When data seen now is due.
    fn due(&mut self, profile: &LinkProfile) -> Instant {
        let jitter = profile.jitter().mul_f64(self.rng.f64());
        let due = (Instant::now() + profile.round_trip() + jitter).max(self.down.last_due);
        self.down.last_due = due;
        due
    }
}

impl<S: AsyncRead + Unpin> Shaped<S> {
    /// Takes into the delay line what the socket has, while there is room.
    fn take_in(&mut self, cx: &mut Context<'_>, profile: &LinkProfile) {
        while self.down.end.is_none() && self.down.bytes < MAX_HELD {
            let mut data = vec![0u8; READ_CHUNK];
            let mut buf = ReadBuf::new(&mut data);
            let end = match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Pending => return,
                Poll::Ready(Ok(())) if buf.filled().is_empty() => None,
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    data.truncate(n);
                    let due = self.due(profile);
                    self.down.held.push_back(Piece { due, data, read: 0 });
                    self.down.bytes += n;
                    continue;
                }
                Poll::Ready(Err(e)) => Some(e),
            };
            let due = self.due(profile);
            self.down.end = Some((due, end));
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Shaped<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let profile = this.profile();
        if profile.is_instant() && this.down.held.is_empty() && this.down.end.is_none() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        this.take_in(cx, &profile);
        let down = &mut this.down;
        if let Some(piece) = down.held.front_mut() {
            ready!(wait_until(&mut down.pace.sleep, cx, piece.due));
            let want = (piece.data.len() - piece.read).min(buf.remaining());
            let n = ready!(down.pace.poll_allow(cx, profile.down_rate(), want));
            buf.put_slice(&piece.data[piece.read..piece.read + n]);
            piece.read += n;
            down.pace.took(n);
            down.bytes -= n;
            if piece.read == piece.data.len() {
                down.held.pop_front();
            }
            return Poll::Ready(Ok(()));
        }
        match &mut down.end {
            Some((due, end)) => {
                ready!(wait_until(&mut down.pace.sleep, cx, *due));
                Poll::Ready(end.take().map_or(Ok(()), Err))
            }
            // `take_in` saw the socket pending, so the waker is registered with it.
            None => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Shaped<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let rate = this.profile().up_rate();
        if buf.is_empty() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        let allowed = ready!(this.up.poll_allow(cx, rate, buf.len()));
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..allowed]))?;
        if rate.is_some() {
            this.up.took(n);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn shaped(
        profile: LinkProfile,
    ) -> (Shaped<tokio::io::DuplexStream>, tokio::io::DuplexStream, watch::Sender<LinkProfile>) {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (tx, rx) = watch::channel(profile);
        (Shaped::new(ours, rx, 7), theirs, tx)
    }

    /// Bytes the reader gets in `window` while the peer sends as fast as it can.
    async fn read_for(stream: &mut Shaped<tokio::io::DuplexStream>, window: Duration) -> usize {
        let end = Instant::now() + window;
        let mut buf = vec![0u8; 8192];
        let mut got = 0;
        while let Ok(n) = tokio::time::timeout_at(end, stream.read(&mut buf)).await {
            got += n.unwrap();
        }
        got
    }

    #[tokio::test(start_paused = true)]
    async fn every_profile_delivers_its_downlink_rate_within_a_percent_over_ten_seconds() {
        for (name, profile) in super::super::profile::PROFILES.iter().skip(1) {
            let (mut stream, mut server, _tx) = shaped(*profile);
            let sender = tokio::spawn(async move {
                let chunk = vec![0x5au8; 4096];
                while server.write_all(&chunk).await.is_ok() {}
            });
            // The first byte comes a round trip (plus jitter) after the start; measure after it.
            let mut first = [0u8; 1];
            stream.read_exact(&mut first).await.unwrap();
            let got = read_for(&mut stream, Duration::from_secs(10)).await as f64;
            let want = profile.down_rate().unwrap() * 10.0;
            assert!((got / want - 1.0).abs() < 0.01, "{name}: {got} bytes in 10 s, want {want}");
            sender.abort();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_profile_sends_at_its_uplink_rate_within_a_percent_over_ten_seconds() {
        for (name, profile) in super::super::profile::PROFILES.iter().skip(1) {
            let (mut stream, mut server, _tx) = shaped(*profile);
            let reader = tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = 0usize;
                while let Ok(n @ 1..) = server.read(&mut buf).await {
                    got += n;
                }
                got
            });
            let end = Instant::now() + Duration::from_secs(10);
            let chunk = vec![0xa5u8; 4096];
            while tokio::time::timeout_at(end, stream.write_all(&chunk)).await.is_ok() {}
            drop(stream);
            let got = reader.await.unwrap() as f64;
            let want = profile.up_rate().unwrap() * 10.0;
            // A write cut off by the deadline may have sent part of its chunk.
            assert!((got / want - 1.0).abs() < 0.01, "{name}: {got} bytes in 10 s, want {want}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_comes_a_round_trip_later_and_in_order_under_jitter() {
        let profile = LinkProfile::new(0.0, 0.0, 100.0, 50.0);
        let (mut stream, mut server, _tx) = shaped(profile);
        let start = Instant::now();
        stream.write_all(b"USER a\r\n").await.unwrap();
        let mut got = [0u8; 8];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO, "writes are not held");
        let server = tokio::spawn(async move {
            for i in 0..20u8 {
                server.write_all(&[i]).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            server
        });
        let mut answer = [0u8; 20];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer.to_vec(), (0..20).collect::<Vec<_>>(), "jitter never reorders");
        let took = start.elapsed();
        // The last byte left at 95 ms: 200 ms of round trip, up to 50 ms of jitter.
        assert!(took >= Duration::from_millis(295) && took <= Duration::from_millis(345), "{took:?}");
        drop(server.await.unwrap());
        let mut rest = Vec::new();
        assert_eq!(stream.read_to_end(&mut rest).await.unwrap(), 0, "the end comes after the data");
    }

    #[tokio::test(start_paused = true)]
    async fn a_profile_change_applies_to_an_open_connection() {
        let (mut stream, mut server, tx) = shaped(LinkProfile::new(80.0, 0.0, 0.0, 0.0));
        tokio::spawn(async move {
            let chunk = vec![1u8; 4096];
            while server.write_all(&chunk).await.is_ok() {}
        });
        let slow = read_for(&mut stream, Duration::from_secs(1)).await;
        tx.send(LinkProfile::new(800.0, 0.0, 0.0, 0.0)).unwrap();
        let fast = read_for(&mut stream, Duration::from_secs(1)).await;
        assert!((9_800..=10_200).contains(&slow) && (98_000..=102_000).contains(&fast), "{slow} then {fast}");
    }
}
