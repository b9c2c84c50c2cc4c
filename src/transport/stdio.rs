//! The modem's serial line over the process's own stdin and stdout: a person can type AT commands
//! in the terminal that started vmodem, or a script can pipe a session through it.
//!
//! If stdin is a terminal, [`link`] puts it in raw mode, as a serial line would be: no echo (the
//! modem echoes, per ATE), no line editing, Enter sends `\r`, and output is not post-processed.
//! Two exceptions keep the terminal usable:
//!
//! * `ISIG` stays on, so Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT) still stop vmodem. Those two bytes
//!   (0x03, 0x1C) therefore cannot be sent as data. The binary should catch Ctrl-C and return
//!   normally, so that [`StdioGuard`] runs and restores the terminal; a process killed by the
//!   default SIGINT action leaves the terminal raw (`stty sane` repairs it).
//! * The suspend character is disabled, so Ctrl-Z sends 0x1A to the modem instead of stopping
//!   vmodem. AT commands use Ctrl-Z to end a text (`AT+CMGS`, some data phases).
//!
//! Output goes through an unbuffered duplicate of fd 1, not through `tokio::io::stdout()`. That
//! one writes through std's line-buffered `Stdout`, which would hold back output that does not end
//! in `\n`, such as an echoed character or a `> ` prompt, until the next newline or flush.
//!
//! Input comes from `tokio::io::stdin()`, which reads on a blocking thread that cannot be
//! cancelled. A pending read can delay the runtime's shutdown until the next byte arrives, so shut
//! the runtime down with a timeout (`Runtime::shutdown_timeout`) or exit the process.

use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, Stdin};
use tracing::{debug, warn};

use super::Link;

/// Opens a link over stdin/stdout, and puts stdin in raw mode if it is a terminal.
///
/// Keep the guard until the link is no longer needed: dropping it restores the terminal.
pub fn link() -> io::Result<(Link, StdioGuard)> {
    let stdin = io::stdin();
    let saved = if rustix::termios::isatty(&stdin) {
        let saved = rustix::termios::tcgetattr(&stdin)?;
        rustix::termios::tcsetattr(&stdin, OptionalActions::Now, &raw_but_interruptible(&saved))?;
        debug!("stdin is a terminal; raw mode on");
        Some(saved)
    } else {
        None
    };
    // From here on, an error must not leave the terminal raw: the guard restores it on return.
    let guard = StdioGuard { saved };
    let out = io::stdout().as_fd().try_clone_to_owned()?;
    let link = StdioLink { stdin: tokio::io::stdin(), stdout: tokio::fs::File::from_std(std::fs::File::from(out)) };
    Ok((Box::new(link), guard))
}

/// Raw mode, except that Ctrl-C and Ctrl-\ still raise signals and Ctrl-Z is data.
fn raw_but_interruptible(original: &Termios) -> Termios {
    let mut raw = original.clone();
    raw.make_raw();
    raw.local_modes |= LocalModes::ISIG;
    // 0 is _POSIX_VDISABLE on Linux.
    raw.special_codes[SpecialCodeIndex::VSUSP] = 0;
    raw
}

/// Restores stdin's terminal settings when dropped, if [`link`] changed them.
#[derive(Debug)]
#[must_use = "dropping the guard restores the terminal at once"]
pub struct StdioGuard {
    saved: Option<Termios>,
}

impl StdioGuard {
    /// Whether stdin is a terminal that [`link`] put in raw mode.
    pub fn is_raw(&self) -> bool {
        self.saved.is_some()
    }
}

impl Drop for StdioGuard {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved
            && let Err(e) = rustix::termios::tcsetattr(io::stdin(), OptionalActions::Now, saved)
        {
            warn!(error = %e, "cannot restore the terminal settings of stdin");
        }
    }
}

/// stdin for reading, an unbuffered stdout for writing.
struct StdioLink {
    stdin: Stdin,
    stdout: tokio::fs::File,
}

impl AsyncRead for StdioLink {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_read(cx, buf)
    }
}

impl AsyncWrite for StdioLink {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdout).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_shutdown(cx)
    }
}
