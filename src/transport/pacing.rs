//! Baud pacing: a [`Link`] wrapper that moves bytes no faster than a serial line would, in both
//! directions, at the line's character rate (baud / bits per character; 115200 8N1 is 11520
//! bytes/s).
//!
//! # The wire model
//!
//! Each direction has a wire that is busy until `free_at`. A chunk of `n` bytes occupies it for
//! `n` character times, starting when it frees up. A chunk may go out while the wire is at most
//! [`AHEAD`] ahead of real time, so a short answer (`\r\nOK\r\n`) passes at once and no answer
//! arrives later than a UART would deliver its last byte: the pacer adds no latency beyond the
//! bytes' own wire time. A long stream goes out in pieces of about a millisecond of wire time,
//! one per timer tick, and averages exactly the line rate. A wire that falls idle starts afresh
//! (no credit is saved up), but a wake-up that comes late while bytes wait keeps the schedule,
//! up to [`CATCH_UP`] behind, so timer lateness does not lower the rate. The pacer holds no
//! bytes: it only limits how many it lets through, so its memory is constant.
//!
//! All time is tokio time, so tests on paused time measure exact rates.
//!
//! # Where the rate comes from
//!
//! * A fixed rate ([`Speed::Fixed`]): `--baud N` on TCP, Unix sockets, `--connect`, stdio and
//!   `--serial`.
//! * The host's termios on a PTY ([`Speed::Host`]): read when a session starts and re-read at
//!   most every [`RECHECK`] while bytes flow, so `stty -F /tmp/ttyV0 9600` during a session takes
//!   effect within that time. A speed of 0 (B0) leaves the line unpaced.
//! * `AT+IPR` / `AT+ICF`: the modem publishes the rate and frame the host asked for through a
//!   [`LineSpeed`] after it has written the command's `OK` (a module answers at the old rate,
//!   then switches). Whichever changed last wins: a host that sends `AT+IPR=9600` and then sets
//!   9600 on its own end (the real sequence) paces at 9600 from the `OK` on; a later `stty` to
//!   another speed wins over the `AT+IPR`. `AT+IPR=0` (auto-bauding) goes back to the line's own
//!   speed (the termios, or `--baud`). On a new PTY session the host's termios is the truth; on
//!   the other transports the last `AT+IPR` rate carries over to the next connection, as it does
//!   on a module.
//!
//! Without pacing (`--no-pacing`, or a socket line without `--baud`) `AT+IPR` is still kept and
//! answered, and moves nothing.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::Link;
use super::pty::{LineSettings, SettingsSource};

/// How far ahead of real time the wire may run: bytes within it go out at once.
pub const AHEAD: Duration = Duration::from_millis(2);
/// How far behind schedule a late wake-up may be and still be made up.
pub const CATCH_UP: Duration = Duration::from_millis(50);
/// How often a PTY's termios is re-read while bytes flow.
pub const RECHECK: Duration = Duration::from_millis(50);

/// The bits per character of an `AT+ICF` format (V.250 6.2.11): start bit, data bits, parity
/// bit, stop bits. Format 0 (auto-detect) and unknown formats count as 8N1.
pub fn icf_bits_per_char(format: u8) -> u32 {
    match format {
        1 | 2 => 11, // 8N2, 8 data + parity + 1 stop
        4 | 5 => 10, // 7N2, 7 data + parity + 1 stop
        6 => 9,      // 7N1
        _ => 10,     // 8N1, auto-detect
    }
}

/// The line speed the host asked the modem for (`AT+IPR`, `AT+ICF`), shared between the modem,
/// which records it, and the pacers of its links, which follow it.
#[derive(Debug, Clone)]
pub struct LineSpeed {
    tx: Arc<watch::Sender<Option<LineSettings>>>,
}

impl Default for LineSpeed {
    fn default() -> Self {
        LineSpeed { tx: Arc::new(watch::Sender::new(None)) }
    }
}

impl LineSpeed {
    /// A handle with no request yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the host's request; a baud of 0 is auto-bauding (follow the line's own speed).
    pub fn request(&self, settings: LineSettings) {
        self.tx.send_replace(Some(settings));
    }

    /// The last request, if any.
    pub fn requested(&self) -> Option<LineSettings> {
        *self.tx.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<Option<LineSettings>> {
        self.tx.subscribe()
    }
}

/// Where a paced line takes its speed from when no `AT+IPR` overrides it.
#[derive(Debug, Clone)]
pub enum Speed {
    /// A fixed rate and frame (`--baud`).
    Fixed(LineSettings),
    /// The host's termios on a PTY.
    Host(SettingsSource),
}

/// Makes paced links: one per session, all following the same [`LineSpeed`].
#[derive(Debug, Clone)]
pub struct Pacing {
    speed: Speed,
    requests: LineSpeed,
}

impl Pacing {
    /// Pacing at `speed`, overridden by what the host asks for through `requests`.
    pub fn new(speed: Speed, requests: LineSpeed) -> Self {
        Pacing { speed, requests }
    }

    /// Wraps one session's link.
    pub fn wrap(&self, inner: Link) -> Link {
        let rate = Rate::start(self.speed.clone(), &self.requests);
        Box::new(Paced { inner, rate, tx: Meter::new(), rx: Meter::new() })
    }
}

/// The current speed of one session, from its sources.
struct Rate {
    speed: Speed,
    requests: watch::Receiver<Option<LineSettings>>,
    /// The termios last read (PTY only), to notice when the host changes it.
    host_seen: Option<LineSettings>,
    checked_at: Instant,
    current: LineSettings,
}

impl Rate {
    fn start(speed: Speed, requests: &LineSpeed) -> Rate {
        let mut receiver = requests.subscribe();
        let requested = receiver.borrow_and_update().filter(|s| s.baud != 0);
        let (host_seen, current) = match &speed {
            // A new PTY session: what the host has set is the truth.
            Speed::Host(source) => {
                let seen = source.line_settings().ok();
                (seen, seen.unwrap_or(UNPACED))
            }
            Speed::Fixed(fixed) => (None, requested.unwrap_or(*fixed)),
        };
        Rate { speed, requests: receiver, host_seen, checked_at: Instant::now(), current }
    }

    /// The speed to pace at now; `None` when the line is unpaced (a speed of 0).
    fn now(&mut self, now: Instant) -> Option<LineSettings> {
        let requested = match self.requests.has_changed() {
            Ok(true) => *self.requests.borrow_and_update(),
            _ => None,
        };
        if let Some(requested) = requested {
            self.current = if requested.baud == 0 { self.own(now) } else { requested };
        }
        if let Speed::Host(source) = &self.speed
            && now >= self.checked_at + RECHECK
        {
            self.checked_at = now;
            let seen = source.line_settings().ok();
            if seen != self.host_seen {
                self.host_seen = seen;
                self.current = seen.unwrap_or(UNPACED);
            }
        }
        Some(self.current).filter(|s| s.baud != 0)
    }

    /// The line's own speed, without requests.
    fn own(&mut self, now: Instant) -> LineSettings {
        match &self.speed {
            Speed::Fixed(fixed) => *fixed,
            Speed::Host(source) => {
                self.checked_at = now;
                self.host_seen = source.line_settings().ok();
                self.host_seen.unwrap_or(UNPACED)
            }
        }
    }
}

/// A line with no known speed (B0, or a termios that cannot be read): not paced.
const UNPACED: LineSettings = LineSettings { baud: 0, bits_per_char: 10 };

/// The wire time of `n` characters.
fn wire_time(n: usize, speed: LineSettings) -> Duration {
    let nanos = n as u128 * u128::from(speed.bits_per_char) * 1_000_000_000 / u128::from(speed.baud.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// One direction's wire.
struct Meter {
    /// When the wire has finished with what has gone out.
    free_at: Instant,
    /// Set while bytes wait for the wire; a late wake-up then keeps the schedule.
    waiting: bool,
    sleep: Pin<Box<Sleep>>,
}

impl Meter {
    fn new() -> Meter {
        let now = Instant::now();
        Meter { free_at: now, waiting: false, sleep: Box::pin(tokio::time::sleep_until(now)) }
    }

    /// How many of `want` bytes may go out now (at least 1), or a wake-up for when one may.
    fn poll_allow(&mut self, cx: &mut Context<'_>, now: Instant, speed: LineSettings, want: usize) -> Poll<usize> {
        let floor = if self.waiting { now.checked_sub(CATCH_UP).unwrap_or(now) } else { now };
        self.free_at = self.free_at.max(floor);
        let char_time = wire_time(1, speed).max(Duration::from_nanos(1));
        let horizon = now + AHEAD;
        let fits = horizon.saturating_duration_since(self.free_at).as_nanos() / char_time.as_nanos();
        if fits == 0 {
            self.waiting = true;
            self.sleep.as_mut().reset(self.free_at + char_time - AHEAD);
            // A sleep that is already due wakes at once; the next poll then finds room.
            ready!(self.sleep.as_mut().poll(cx));
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(want.min(usize::try_from(fits).unwrap_or(usize::MAX)).max(1))
    }

    /// `n` bytes went out (or, for a read, came in).
    fn passed(&mut self, n: usize, speed: LineSettings) {
        self.free_at += wire_time(n, speed);
        self.waiting = false;
    }

    /// The wire had nothing to carry: it falls idle.
    fn idle(&mut self) {
        self.waiting = false;
    }
}

/// A link paced at its line's speed.
struct Paced {
    inner: Link,
    rate: Rate,
    tx: Meter,
    rx: Meter,
}

impl AsyncRead for Paced {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let now = Instant::now();
        let Some(speed) = this.rate.now(now) else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let allowed = ready!(this.rx.poll_allow(cx, now, speed, buf.remaining()));
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(allowed));
        match Pin::new(&mut this.inner).poll_read(cx, &mut part) {
            Poll::Ready(Ok(())) => {
                let n = part.filled().len();
                buf.advance(n);
                this.rx.passed(n, speed);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                this.rx.idle();
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Paced {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let now = Instant::now();
        let Some(speed) = this.rate.now(now) else {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        };
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let allowed = ready!(this.tx.poll_allow(cx, now, speed, data.len()));
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &data[..allowed]))?;
        this.tx.passed(n, speed);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    const B9600: LineSettings = LineSettings { baud: 9600, bits_per_char: 10 };
    const B115200: LineSettings = LineSettings { baud: 115_200, bits_per_char: 10 };

    /// A paced link over an in-memory pipe, and the pipe's other end.
    fn paced(speed: Speed, requests: &LineSpeed) -> (Link, DuplexStream) {
        let (near, far) = tokio::io::duplex(1 << 20);
        (Pacing::new(speed, requests.clone()).wrap(Box::new(near)), far)
    }

    /// Writes `n` bytes through the link and returns how long the far end took to get them all.
    async fn time_writes(link: &mut Link, far: &mut DuplexStream, n: usize) -> Duration {
        let start = Instant::now();
        let reader = async {
            let mut got = vec![0u8; n];
            far.read_exact(&mut got).await.unwrap();
            start.elapsed()
        };
        let data = vec![0x55u8; n];
        let (_, elapsed) = tokio::join!(async { link.write_all(&data).await.unwrap() }, reader);
        elapsed
    }

    /// `elapsed` is the wire time of `n` characters, less at most what may run ahead, plus at
    /// most one timer tick.
    fn assert_wire_time(elapsed: Duration, n: usize, speed: LineSettings) {
        let theory = wire_time(n, speed);
        assert!(
            elapsed + AHEAD + wire_time(1, speed) >= theory && elapsed <= theory + Duration::from_millis(1),
            "{n} bytes at {speed:?} took {elapsed:?}, theory {theory:?}"
        );
    }

    #[test]
    fn icf_formats_count_their_bits() {
        let bits: Vec<u32> = (0..=6).map(icf_bits_per_char).collect();
        assert_eq!(bits, [10, 11, 11, 10, 10, 10, 9]);
    }

    #[tokio::test(start_paused = true)]
    async fn writes_go_at_the_character_rate() {
        for (speed, n) in
            [(B9600, 1920), (B115200, 23_040), (LineSettings { baud: 921_600, bits_per_char: 10 }, 184_320)]
        {
            let (mut link, mut far) = paced(Speed::Fixed(speed), &LineSpeed::new());
            let elapsed = time_writes(&mut link, &mut far, n).await;
            assert_wire_time(elapsed, n, speed);
            // Two seconds of data each time: within 2 % is within 40 ms; this is within 3 ms.
            assert!(elapsed.abs_diff(Duration::from_secs(2)) < Duration::from_millis(3), "{elapsed:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reads_go_at_the_character_rate() {
        let (mut link, mut far) = paced(Speed::Fixed(B9600), &LineSpeed::new());
        // The host writes 960 bytes at once; the modem sees them over one second.
        far.write_all(&[b'A'; 960]).await.unwrap();
        let start = Instant::now();
        let mut got = vec![0u8; 960];
        link.read_exact(&mut got).await.unwrap();
        assert_wire_time(start.elapsed(), 960, B9600);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_answer_is_not_held_back() {
        let (mut link, mut far) = paced(Speed::Fixed(B115200), &LineSpeed::new());
        assert_eq!(time_writes(&mut link, &mut far, 6).await, Duration::ZERO);
        // At 9600 "\r\nOK\r\n" takes 6.25 ms on the wire; it is never later than that.
        let (mut link, mut far) = paced(Speed::Fixed(B9600), &LineSpeed::new());
        let elapsed = time_writes(&mut link, &mut far, 6).await;
        assert!(elapsed <= wire_time(6, B9600), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_line_saves_no_credit() {
        let (mut link, mut far) = paced(Speed::Fixed(B9600), &LineSpeed::new());
        time_writes(&mut link, &mut far, 96).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let elapsed = time_writes(&mut link, &mut far, 960).await;
        assert_wire_time(elapsed, 960, B9600);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_passes_at_most_what_fits_ahead() {
        // Bounded: one write call takes no more than the wire can carry within AHEAD.
        let (mut link, _far) = paced(Speed::Fixed(B115200), &LineSpeed::new());
        let n = link.write(&[0u8; 65_536]).await.unwrap();
        assert_eq!(n, 23, "2 ms at 11520 bytes/s");
    }

    #[tokio::test(start_paused = true)]
    async fn the_frame_sets_the_bits_per_character() {
        let e8n2 = LineSettings { baud: 9600, bits_per_char: 11 };
        let (mut link, mut far) = paced(Speed::Fixed(e8n2), &LineSpeed::new());
        let elapsed = time_writes(&mut link, &mut far, 873).await;
        assert_wire_time(elapsed, 873, e8n2);
        assert!(elapsed.abs_diff(Duration::from_secs(1)) < Duration::from_millis(3), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_changes_the_rate_and_autobaud_restores_it() {
        let requests = LineSpeed::new();
        let (mut link, mut far) = paced(Speed::Fixed(B115200), &requests);
        assert_wire_time(time_writes(&mut link, &mut far, 11_520).await, 11_520, B115200);
        requests.request(B9600);
        assert_wire_time(time_writes(&mut link, &mut far, 960).await, 960, B9600);
        // The next session (a reconnect) keeps the requested rate, as a module does.
        let (mut link, mut far) = paced(Speed::Fixed(B115200), &requests);
        assert_wire_time(time_writes(&mut link, &mut far, 960).await, 960, B9600);
        requests.request(LineSettings { baud: 0, bits_per_char: 10 });
        assert_wire_time(time_writes(&mut link, &mut far, 11_520).await, 11_520, B115200);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_keeps_the_schedule() {
        // A busy runtime polls the waiting pacer 10 ms late each time (its timer asked for about
        // 1 ms); each late poll carries what the wire would have carried meanwhile, so the bytes
        // still average the line rate.
        let (mut link, mut far) = paced(Speed::Fixed(B115200), &LineSpeed::new());
        let start = Instant::now();
        let data = vec![0u8; 23_040];
        let (mut sent, mut late) = (0, 0);
        while sent < data.len() {
            let poll = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut link).poll_write(cx, &data[sent..]))).await;
            match poll {
                Poll::Ready(n) => sent += n.unwrap(),
                Poll::Pending => {
                    late += 1;
                    tokio::time::advance(Duration::from_millis(10)).await;
                }
            }
        }
        let elapsed = start.elapsed();
        assert!(late > 150, "{late} late polls");
        assert!(elapsed.abs_diff(Duration::from_secs(2)) < Duration::from_millis(12), "{elapsed:?}");
        let mut got = vec![0u8; data.len()];
        far.read_exact(&mut got).await.unwrap();
    }
}
