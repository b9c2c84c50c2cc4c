//! The modem's serial line as a pseudo-terminal with a stable path.
//!
//! [`open`] creates a PTY master, sets the line raw at 115200 8N1, and puts a symlink at the
//! path the user chose (`/tmp/ttyV0 -> /dev/pts/N`, as socat's `link=` does). A host opens that
//! path like any serial port. vmodem keeps no slave fd open itself, so it sees the host go away.
//!
//! # Sessions
//!
//! Each time a host opens the slave, the transport yields a new [`Link`]. The link reads what the
//! host writes and writes to it. When the host closes its last fd on the slave, the master's
//! reads fail with `EIO` once the host's last bytes have been read. The link then reads EOF
//! (`Ok(0)`) and quietly drops further writes (`Ok(len)`), as a UART does when no one is
//! listening. The next session begins only once the link has reported that EOF (or the modem has
//! dropped it), so the modem is done with the old host before it hears the new one. A new open
//! raises no event on the master (the `EIO`/`EPOLLHUP` state just clears), so while no host has
//! the slave open the transport tries a non-blocking read, first after [`FIRST_POLL`], then at
//! pauses that double up to [`POLL_INTERVAL`]: `EIO` means the slave is still closed; `EAGAIN`
//! or data means a host has opened it. Any bytes that read returns become the first bytes of the
//! new link.
//!
//! A fresh master reports `EAGAIN`, not `EIO`, until a slave has been opened once. So [`open`]
//! opens the slave once and closes it again (`TIOCGPTPEER`) to start in the closed state.
//!
//! # A host that reopens at once
//!
//! The master marks the end of a host's bytes only with that `EIO`, and only while the slave
//! stays closed. A host may close and reopen it before the link reads again:
//!
//! * If the reactor never saw the hang-up, the link carries on with the new host, as a UART
//!   would: the two sessions are one, and nothing is lost.
//! * If it did (see *tokio readiness*), the link ends its session there, before it hands the
//!   modem another byte, and reads what is left on the master. `EIO` means that no host has the
//!   slave open: all of it is the old host's, and the modem reads it before the EOF.
//!   Otherwise a host has the slave open, and its bytes cannot be told from the old host's last
//!   ones: all of them become the first bytes of the next session. Bytes from a read during which
//!   the reactor saw the hang-up are treated the same way.
//!
//! So the new host's bytes never reach the old session, whose output is flushed when it ends
//! (below): its answers would be lost. The price is that the old host's last bytes go to the new
//! session when it wrote them just before it closed and the new host opened before vmodem read
//! them.
//!
//! # Writes while no host is connected (measured on Linux 6.18)
//!
//! Writing to the master while the slave is closed does *not* fail: the kernel queues the bytes
//! (about 20 KiB; after that `EAGAIN`). The next host that opens the slave reads them. This is
//! true before the first open too. `tcflush` on the master does not discard them, but
//! `tcflush(TCIFLUSH)` on a slave fd does. vmodem does not want a new host to see a reply meant
//! for the old one: a real UART's bytes are lost on the wire when nothing is attached. So when a
//! session ends, the transport briefly opens the slave, flushes its input queue and closes it
//! again. The old link has been discarding its writes since it saw the hang-up, so nothing it
//! writes reaches the kernel after the flush, and the new link does not exist yet, so nothing
//! meant for the new host is there to flush.
//!
//! # Termios
//!
//! The master's `tcgetattr`/`tcsetattr` act on the slave's termios, which the master and the
//! host share. The kernel keeps it across host sessions, as on a real serial port: `stty -F
//! /tmp/ttyV0 9600` followed by `cat /tmp/ttyV0` works. vmodem sets raw 115200 8N1 only once,
//! at creation. [`PtyHandle::line_settings`] reads what the host chose, so a later layer can pace
//! bytes at the host's baud rate. Speeds are kept exactly, arbitrary ones included (rustix uses
//! `TCGETS2`). The character frame is not: on every `tcsetattr`, Linux's PTY driver
//! (`pty_set_termios`) forces `CS8` and clears `PARENB`, and keeps only `CSTOPB` (and `PARODD`).
//! So a host's 7E2 reads back as 8N2 and its 8E1 as 8N1. A PTY therefore reports 10 or 11 bits a
//! character, and 8E1 or 7N1 pacing is off by one bit. A PTY has no modem-control lines:
//! `TIOCMGET`/`TIOCMBIS` fail with `ENOTTY`, so there is no DTR/RTS/DCD/RI to emulate.
//!
//! # tokio readiness
//!
//! tokio treats "read closed"/"write closed" readiness (`EPOLLHUP`) as final: once seen, it is
//! never cleared. A PTY master, though, leaves the hang-up state when a host reopens the slave.
//! So each link registers the master with its own `AsyncFd` and deregisters it when its session
//! ends. The next link gets a fresh registration. A link that sees the hang-up readiness ends
//! its session whatever a read would say (see above), so it never spins on a readiness that
//! stays set.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::pty::OpenptFlags;
use rustix::termios::{ControlModes, OptionalActions, QueueSelector, Termios};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use super::{Link, Links, failed};

/// How often the transport checks whether a host has opened the slave, once no host has for a
/// while. This is also how long a new host may wait before its first bytes are read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The first pause between those checks. A host often opens the line again at once (a test
/// harness, `stty` followed by `cat`), so the checks start quickly and their pause doubles up to
/// [`POLL_INTERVAL`].
pub const FIRST_POLL: Duration = Duration::from_millis(1);

/// The line speed the PTY starts with (8N1), until a host sets its own.
pub const DEFAULT_BAUD: u32 = 115_200;

/// Creates the modem's PTY and the symlink `path -> /dev/pts/N`, and starts the transport.
///
/// An existing symlink at `path` is replaced (it is probably left over from an earlier run). A
/// regular file, directory or anything else at `path` is refused with
/// [`io::ErrorKind::AlreadyExists`]. Each error names `path`. Keep the returned handle alive
/// while the PTY should be reachable: dropping it removes the symlink and stops yielding links.
pub async fn open(path: &Path) -> io::Result<(Links, PtyHandle)> {
    let (master, pts) = raw_pty().map_err(failed(format!("cannot create the PTY for {}", path.display())))?;
    place_symlink(path, &pts)?;
    let master = Arc::new(master);
    let (tx, links) = Links::channel();
    let task = tokio::spawn(run(Arc::clone(&master), tx, pts.clone()));
    info!(path = %path.display(), pts = %pts.display(), "PTY ready");
    Ok((links, PtyHandle { master, path: path.to_path_buf(), pts, task }))
}

/// A new PTY, raw at 115200 8N1 and in the "no host" state (see the module docs): its master
/// and the path of its slave.
fn raw_pty() -> io::Result<(OwnedFd, PathBuf)> {
    let (master, pts) = open_master()?;
    let mut termios = rustix::termios::tcgetattr(&master)?;
    termios.make_raw();
    termios.control_modes -= ControlModes::CSTOPB;
    termios.control_modes |= ControlModes::CREAD | ControlModes::CLOCAL;
    termios.set_speed(DEFAULT_BAUD)?;
    rustix::termios::tcsetattr(&master, OptionalActions::Now, &termios)?;
    reset_slave(&master, &pts)?;
    Ok((master, pts))
}

/// A new PTY: its master, non-blocking, and the path of its slave (`/dev/pts/N`).
///
/// Public so that benchmarks can build a bare PTY over the same medium as the transport.
pub fn open_master() -> io::Result<(OwnedFd, PathBuf)> {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let pts = PathBuf::from(std::ffi::OsStr::from_bytes(rustix::pty::ptsname(&master, Vec::new())?.as_bytes()));
    let flags = rustix::fs::fcntl_getfl(&master)?;
    rustix::fs::fcntl_setfl(&master, flags | OFlags::NONBLOCK)?;
    Ok((master, pts))
}

/// Owns the PTY's symlink and its transport task.
///
/// Dropping the handle removes the symlink, if it still points at this PTY, and stops the
/// transport. A link already handed out keeps working until its host closes.
#[derive(Debug)]
#[must_use = "dropping the handle removes the PTY's symlink"]
pub struct PtyHandle {
    master: Arc<OwnedFd>,
    path: PathBuf,
    pts: PathBuf,
    task: JoinHandle<()>,
}

impl PtyHandle {
    /// The symlink hosts open, as passed to [`open`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The slave device the symlink points at (`/dev/pts/N`).
    pub fn pts_path(&self) -> &Path {
        &self.pts
    }

    /// The speed and character frame the host has set on its end of the line.
    pub fn line_settings(&self) -> io::Result<LineSettings> {
        LineSettings::of(&self.master)
    }

    /// Sets the line's speed, as a host's `stty` would (the host may change it again).
    pub fn set_speed(&self, baud: u32) -> io::Result<()> {
        let mut termios = rustix::termios::tcgetattr(&*self.master)?;
        termios.set_speed(baud)?;
        rustix::termios::tcsetattr(&*self.master, OptionalActions::Now, &termios)?;
        Ok(())
    }

    /// A cloneable reader of [`LineSettings`] that can move into the task that paces bytes.
    pub fn settings_source(&self) -> SettingsSource {
        SettingsSource { master: Arc::clone(&self.master) }
    }
}

impl Drop for PtyHandle {
    fn drop(&mut self) {
        self.task.abort();
        // Leave the path alone if someone (another vmodem, say) has since claimed it.
        match std::fs::read_link(&self.path) {
            Ok(target) if target == self.pts => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    warn!(path = %self.path.display(), error = %e, "cannot remove the PTY symlink");
                }
            }
            _ => debug!(path = %self.path.display(), "PTY symlink no longer ours; left in place"),
        }
    }
}

/// Reads the host's line settings; a cloneable, `Send` part of [`PtyHandle`].
#[derive(Debug, Clone)]
pub struct SettingsSource {
    master: Arc<OwnedFd>,
}

impl SettingsSource {
    /// The speed and character frame the host has set on its end of the line.
    pub fn line_settings(&self) -> io::Result<LineSettings> {
        LineSettings::of(&self.master)
    }
}

/// The host's view of the line: its baud rate and the bits each character takes on the wire.
///
/// A PTY moves bytes at memory speed. These values let vmodem pace its output the way a UART
/// would. A PTY master learns nothing when the host changes termios, so re-read them from time to
/// time (every burst, or every ~100 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSettings {
    /// The output speed in bits per second; 0 means "hang up" (B0).
    pub baud: u32,
    /// 1 start bit + data bits + parity bit + stop bits: 10 for 8N1, 11 for 7E2 or 8E1. On a PTY
    /// only the stop bits are the host's own (see the module docs), so this is 10 or 11.
    pub bits_per_char: u32,
}

impl LineSettings {
    fn of(master: &OwnedFd) -> io::Result<LineSettings> {
        Ok(LineSettings::from_termios(&rustix::termios::tcgetattr(master)?))
    }

    /// Extracts the speed and frame from a termios.
    pub fn from_termios(termios: &Termios) -> LineSettings {
        let modes = termios.control_modes;
        let size = modes & ControlModes::CSIZE;
        let data_bits = if size == ControlModes::CS5 {
            5
        } else if size == ControlModes::CS6 {
            6
        } else if size == ControlModes::CS7 {
            7
        } else {
            8
        };
        let parity = u32::from(modes.contains(ControlModes::PARENB));
        let stop = if modes.contains(ControlModes::CSTOPB) { 2 } else { 1 };
        LineSettings { baud: termios.output_speed(), bits_per_char: 1 + data_bits + parity + stop }
    }

    /// How many characters per second the line carries (`baud / bits_per_char`, 0 for B0).
    pub fn chars_per_second(&self) -> u32 {
        self.baud / self.bits_per_char.max(1)
    }
}

/// Creates `path -> pts`, replacing a symlink but nothing else. Each error names `path`.
fn place_symlink(path: &Path, pts: &Path) -> io::Result<()> {
    let named = failed(format!("cannot create the PTY link {}", path.display()));
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            debug!(path = %path.display(), "replacing an existing symlink");
            std::fs::remove_file(path).map_err(&named)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a symlink; refusing to replace it with the PTY link", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(named(e)),
    }
    std::os::unix::fs::symlink(pts, path).map_err(&named)
}

/// Opens the slave, discards its input queue (bytes vmodem wrote that no host read) and closes it
/// again. With no other fd open on the slave, the master is left reporting `EIO` until a host
/// opens it.
fn reset_slave(master: &OwnedFd, pts: &Path) -> io::Result<()> {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let slave = match rustix::pty::ioctl_tiocgptpeer(master, flags) {
        Ok(fd) => fd,
        // Kernels before 4.13 lack TIOCGPTPEER; open the device by name instead.
        Err(_) => rustix::fs::open(
            pts,
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC | OFlags::NONBLOCK,
            rustix::fs::Mode::empty(),
        )?,
    };
    rustix::termios::tcflush(&slave, QueueSelector::IFlush)?;
    Ok(())
}

/// What a non-blocking read on the master says about the slave.
enum Probe {
    /// No host has the slave open.
    Closed,
    /// A host has it open. These are the bytes it has already sent.
    Open(Vec<u8>),
}

fn probe(master: &OwnedFd) -> io::Result<Probe> {
    let mut buf = [0u8; 4096];
    match rustix::io::read(master, &mut buf) {
        Ok(0) => Ok(Probe::Closed),
        Ok(n) => Ok(Probe::Open(buf[..n].to_vec())),
        Err(Errno::IO) | Err(Errno::INTR) => Ok(Probe::Closed),
        Err(Errno::AGAIN) => Ok(Probe::Open(Vec::new())),
        Err(e) => Err(e.into()),
    }
}

/// The transport task: wait for a host, yield a link, wait for its session to end, repeat.
async fn run(master: Arc<OwnedFd>, tx: mpsc::Sender<Link>, pts: PathBuf) {
    // What the last session's link read after its host had hung up and another had opened the
    // slave: the next session's first bytes.
    let mut carried = Vec::new();
    loop {
        let mut pause = FIRST_POLL;
        let first = loop {
            match probe(&master) {
                Ok(Probe::Open(read)) => {
                    carried.extend_from_slice(&read);
                    break std::mem::take(&mut carried);
                }
                // The host that sent them has closed the slave again; its bytes still make a session.
                Ok(Probe::Closed) if !carried.is_empty() => break std::mem::take(&mut carried),
                Ok(Probe::Closed) => {}
                Err(e) => {
                    error!(pts = %pts.display(), error = %e, "PTY master failed; transport stops");
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = tx.closed() => return,
            }
            pause = (pause * 2).min(POLL_INTERVAL);
        };
        // SAFETY: `register` requires the fd to stay open, and to be the same fd, for as long as
        // the AsyncFd owns it. The AsyncFd owns a clone of the Arc, so the OwnedFd cannot close
        // before the AsyncFd deregisters and drops that clone. No code in vmodem closes or
        // replaces a fd held by an OwnedFd. Only one AsyncFd for this master exists at a time:
        // a link drops its AsyncFd before it signals the end of its session (see PtyLink).
        let io = match unsafe { AsyncFd::register(Arc::clone(&master)) } {
            Ok(io) => io,
            Err(e) => {
                error!(pts = %pts.display(), error = %e, "cannot register the PTY master; transport stops");
                return;
            }
        };
        info!(pts = %pts.display(), "host opened the PTY");
        let (end_tx, end_rx) = oneshot::channel();
        let link =
            PtyLink { io: Some(io), queued: first, queued_pos: 0, write_closed: false, next: None, end: Some(end_tx) };
        if tx.send(Box::new(link)).await.is_err() {
            return;
        }
        let ended = tokio::select! {
            ended = end_rx => ended,
            _ = tx.closed() => return,
        };
        match ended {
            Ok(next) => {
                info!(pts = %pts.display(), "host closed the PTY");
                if let Err(e) = reset_slave(&master, &pts) {
                    warn!(pts = %pts.display(), error = %e, "cannot flush output the host never read");
                }
                carried = next;
            }
            // The modem let go of the link with the host still there; hand it a new one.
            Err(_) => debug!(pts = %pts.display(), "PTY link dropped"),
        }
    }
}

/// The most a link reads from the master, once its host has hung up, while it looks for the end
/// of what that host sent; bytes beyond it count as the next host's. A host that closes the
/// slave seldom leaves this much unread, and the bound keeps a host that writes without pause
/// from holding the link.
const TAIL_LIMIT: usize = 64 * 1024;

/// One host session on the PTY.
struct PtyLink {
    /// The master, registered with tokio; `None` once the host has hung up.
    io: Option<AsyncFd<Arc<OwnedFd>>>,
    /// Bytes delivered before the master is read again: the first bytes of the session, which
    /// the transport read while it looked for the open, and the last ones, read after the host
    /// hung up.
    queued: Vec<u8>,
    queued_pos: usize,
    /// Set when a write found the host gone; later writes are discarded.
    write_closed: bool,
    /// Set when the host has hung up: the bytes the next host sent, for the transport.
    next: Option<Vec<u8>>,
    /// Tells the transport that the session is over, once `io` is gone and the modem has read
    /// the end (or dropped the link).
    end: Option<oneshot::Sender<Vec<u8>>>,
}

impl PtyLink {
    /// Ends the session: the host has closed the slave since this link began. `suspect` holds
    /// bytes read after the hang-up may have happened.
    ///
    /// Reads what is left on the master. A read that fails with `EIO` means that no host has the
    /// slave open, so all of it is the old host's: the modem reads it before the end. `EAGAIN` or
    /// data beyond [`TAIL_LIMIT`] means a host has opened the slave again: the master cannot
    /// tell the old host's last bytes from the new host's first ones, so none of them is
    /// delivered here, and they become the first bytes of the next session.
    fn hang_up(&mut self, mut suspect: Vec<u8>) {
        // Deregister before the transport hears of the end, as it registers the master again.
        // Writes are discarded from now on.
        let Some(io) = self.io.take() else { return };
        let master = io.into_inner();
        let mut chunk = [0u8; 4096];
        let next = loop {
            if suspect.len() >= TAIL_LIMIT {
                break suspect;
            }
            match rustix::io::read(&*master, &mut chunk) {
                Ok(0) | Err(Errno::IO) => {
                    self.queued.extend_from_slice(&suspect);
                    break Vec::new();
                }
                Ok(n) => suspect.extend_from_slice(&chunk[..n]),
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break suspect,
                Err(e) => {
                    warn!(error = %e, "PTY master read failed at the end of a session");
                    self.queued.extend_from_slice(&suspect);
                    break Vec::new();
                }
            }
        };
        self.next = Some(next);
    }

    /// Tells the transport that the session is over, once the host has hung up.
    fn report_end(&mut self) {
        if let Some(next) = self.next.take()
            && let Some(end) = self.end.take()
        {
            end.send(next).ok();
        }
    }
}

impl Drop for PtyLink {
    fn drop(&mut self) {
        // Deregister before the transport hears of the end (or of the drop).
        self.io = None;
        self.report_end();
    }
}

impl AsyncRead for PtyLink {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.queued_pos < this.queued.len() {
                let n = buf.remaining().min(this.queued.len() - this.queued_pos);
                buf.put_slice(&this.queued[this.queued_pos..this.queued_pos + n]);
                this.queued_pos += n;
                if this.queued_pos == this.queued.len() {
                    this.queued = Vec::new();
                    this.queued_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let Some(io) = &this.io else {
                // The end of the session: only now may the next one begin.
                this.report_end();
                return Poll::Ready(Ok(()));
            };
            let mut guard = ready!(io.poll_read_ready(cx))?;
            // tokio never clears a hang-up once seen, even when a host has opened the slave again.
            if guard.ready().is_read_closed() {
                drop(guard);
                this.hang_up(Vec::new());
                continue;
            }
            let unfilled = buf.initialize_unfilled();
            let result = guard.try_io(|fd| rustix::io::read(fd.get_ref(), &mut *unfilled).map_err(io::Error::from));
            drop(guard);
            match result {
                Ok(Ok(0)) => this.hang_up(Vec::new()),
                Ok(Ok(n)) => {
                    // A hang-up that the reactor saw while this read ran may have come before
                    // these bytes: they may be the next host's.
                    if matches!(io.poll_read_ready(cx), Poll::Ready(Ok(ref now)) if now.ready().is_read_closed()) {
                        let suspect = buf.initialize_unfilled()[..n].to_vec();
                        this.hang_up(suspect);
                        continue;
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => match Errno::from_io_error(&e) {
                    Some(Errno::IO) => this.hang_up(Vec::new()),
                    Some(Errno::INTR) => {}
                    _ => return Poll::Ready(Err(e)),
                },
                Err(_would_block) => {}
            }
        }
    }
}

impl AsyncWrite for PtyLink {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            if this.write_closed || data.is_empty() {
                return Poll::Ready(Ok(data.len()));
            }
            let Some(io) = &this.io else {
                return Poll::Ready(Ok(data.len()));
            };
            let mut guard = ready!(io.poll_write_ready(cx))?;
            let hung_up = guard.ready().is_write_closed();
            let result = guard.try_io(|fd| rustix::io::write(fd.get_ref(), data).map_err(io::Error::from));
            drop(guard);
            match result {
                Ok(Ok(n)) => return Poll::Ready(Ok(n)),
                Ok(Err(e)) => match Errno::from_io_error(&e) {
                    Some(Errno::IO) => {
                        this.write_closed = true;
                        return Poll::Ready(Ok(data.len()));
                    }
                    Some(Errno::INTR) => continue,
                    _ => return Poll::Ready(Err(e)),
                },
                // The queue is full and the host has hung up (perhaps to reopen). Nobody will read
                // these bytes. Stop writing; the read side ends the session once it has delivered
                // what the host sent.
                Err(_would_block) if hung_up => {
                    this.write_closed = true;
                    return Poll::Ready(Ok(data.len()));
                }
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // write(2) on the master hands the bytes to the kernel; there is nothing to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A serial line cannot be half-closed.
        Poll::Ready(Ok(()))
    }
}
