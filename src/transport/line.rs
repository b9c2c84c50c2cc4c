//! The modem's line as `vmodem serve` chooses it (flags or the `[line]` section): which
//! transport, and how it is paced.
//!
//! Pacing by default: on a PTY, at the speed the host sets on its end (`--baud N` sets the speed
//! the PTY starts with); on `--serial`, at `--baud` (default 115200), which is also the speed the
//! device is opened at (a real UART paces the same way, so this costs nothing there, and it
//! makes a PTY standing in for a device behave like one); on sockets and stdio, only with
//! `--baud N`. `--no-pacing` turns it off everywhere (fast test runs). See
//! [`pacing`](super::pacing) for `AT+IPR`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::connect::{self, Endpoint};
use super::pacing::{LineSpeed, Pacing, Speed};
use super::pty::{self, LineSettings};
use super::{Links, failed, tcp};
use super::{stdio, unix};

/// Where the host's line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A PTY linked at this path.
    Pty(PathBuf),
    /// Listen on this TCP address.
    Tcp(SocketAddr),
    /// Listen on a Unix socket at this path.
    Unix(PathBuf),
    /// Dial an emulator's server socket.
    Connect(Endpoint),
    /// A tty device (USB-serial adapter, an emulator's PTY).
    Serial(PathBuf),
    /// Standard input and output.
    Stdio,
}

/// How the line runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOptions {
    /// `--baud`: the line's speed (see the module docs); `None` for the transport's default.
    pub baud: Option<u32>,
    /// Whether bytes are paced at all.
    pub pacing: bool,
    /// Whether `--connect` answers a telnet opening.
    pub telnet: bool,
}

impl Default for LineOptions {
    fn default() -> Self {
        LineOptions { baud: None, pacing: true, telnet: true }
    }
}

/// An open line: its links, a description for the user, and what must live as long as it.
pub struct OpenLine {
    /// The links, paced as the options say.
    pub links: Links,
    /// What the banner says: `/tmp/ttyV0 (-> /dev/pts/3)`, `tcp 127.0.0.1:7080`, ...
    pub described: String,
    /// The transport's handle or guard (PTY symlink, socket file, terminal mode), dropped last.
    _keep: Option<Box<dyn Send>>,
}

/// What keeps an opened line's transport (its PTY link, socket file, terminal mode) while it is
/// held; dropping it lets them go.
pub struct LineGuard {
    _keep: Option<Box<dyn Send>>,
}

impl OpenLine {
    /// The links, and the guard to hold while they are used.
    pub fn into_parts(self) -> (Links, LineGuard) {
        (self.links, LineGuard { _keep: self._keep })
    }
}

fn keep(handle: impl Send + 'static) -> Option<Box<dyn Send>> {
    Some(Box::new(handle))
}

/// Opens `line`; the pacer of each link follows the `AT+IPR` requests published in `requests`.
/// Each error names the path or address it concerns (or stdio).
pub async fn open(line: &Line, options: LineOptions, requests: LineSpeed) -> io::Result<OpenLine> {
    let fixed = |baud: u32| Speed::Fixed(LineSettings { baud, bits_per_char: 10 });
    let (links, described, keep, speed) = match line {
        Line::Pty(path) => {
            let (links, handle) = pty::open(path).await?;
            if let Some(baud) = options.baud {
                handle.set_speed(baud).map_err(failed(format!("cannot set {baud} baud on {}", path.display())))?;
            }
            let described = format!("{} (-> {})", handle.path().display(), handle.pts_path().display());
            let speed = Speed::Host(handle.settings_source());
            (links, described, keep(handle), Some(speed))
        }
        Line::Tcp(addr) => {
            let (links, bound) = tcp::listen(*addr).await?;
            (links, format!("tcp {bound}"), None, options.baud.map(fixed))
        }
        Line::Unix(path) => {
            let (links, handle) = unix::listen(path)?;
            (links, format!("unix {}", path.display()), keep(handle), options.baud.map(fixed))
        }
        Line::Connect(endpoint) => {
            let links = connect::connect(endpoint.clone(), options.telnet);
            (links, format!("connect {endpoint}"), None, options.baud.map(fixed))
        }
        Line::Serial(path) => {
            let baud = options.baud.unwrap_or(pty::DEFAULT_BAUD);
            let links = connect::device(path.clone(), baud);
            (links, format!("{} at {baud} baud", path.display()), None, Some(fixed(baud)))
        }
        Line::Stdio => {
            let (link, guard) = stdio::link().map_err(failed("cannot use stdin and stdout as the line".into()))?;
            (Links::single(link), "stdio".to_string(), keep(guard), options.baud.map(fixed))
        }
    };
    let links = match speed.filter(|_| options.pacing) {
        Some(speed) => {
            let pacing = Pacing::new(speed, requests);
            links.map(move |link| pacing.wrap(link))
        }
        None => links,
    };
    Ok(OpenLine { links, described, _keep: keep })
}
