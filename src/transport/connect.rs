//! Lines vmodem dials rather than waits for: an emulator's server socket (`--connect
//! HOST:PORT` or `--connect unix:PATH`; QEMU `-serial tcp::4321,server=on,wait=off`, Renode
//! `emulation CreateServerSocketTerminal`) and a serial device (`--serial DEV`: a USB-serial
//! adapter to a board, or the PTY an emulator such as Zephyr's native_sim made).
//!
//! Each connection (or each open of the device) is a [`Link`]; the modem keeps its state across
//! them, as with `--tcp`. When a session ends (the peer closed, the emulator restarted) or a
//! dial fails (refused, the device not there yet), vmodem dials again after a pause that starts
//! at [`FIRST_RETRY`] and doubles up to [`MAX_RETRY`]; a session that lasted [`MAX_RETRY`] or
//! more starts the pauses over. The first failed dial of a wait is a warning that names the
//! peer and says how often vmodem tries again (`cannot open the serial device /dev/ttyUSB0: No
//! such file or directory (os error 2); waiting for it, trying again at least every 2s`); the
//! ones after it are logged at debug level only. The loop runs until the returned [`Links`] is
//! dropped.
//!
//! Socket connections go through [`super::telnet::open`] unless told not to, since
//! emulators' server sockets often open with telnet negotiation.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::session::Session;
use super::{Link, Links, serial, telnet};

/// The first pause before dialling again.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest pause between dials.
pub const MAX_RETRY: Duration = Duration::from_secs(2);
/// How long one dial may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// A server socket to dial: `HOST:PORT` or `unix:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address, resolved at each dial.
    Tcp(String),
    /// A Unix stream socket.
    Unix(PathBuf),
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_prefix("unix:") {
            Some("") => Err("unix: needs a socket path".into()),
            Some(path) => Ok(Endpoint::Unix(path.into())),
            None if s.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()) => {
                Ok(Endpoint::Tcp(s.into()))
            }
            None => Err(format!("{s:?} is neither HOST:PORT nor unix:PATH")),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => f.write_str(addr),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Dials `endpoint` again and again, one link per connection; `telnet` answers an opening
/// negotiation (see [`super::telnet`]).
pub fn connect(endpoint: Endpoint, telnet: bool) -> Links {
    let name = endpoint.to_string();
    redial(format!("connect to {name}"), name, move || {
        let endpoint = endpoint.clone();
        async move {
            let link: Link = match &endpoint {
                Endpoint::Tcp(addr) => {
                    let stream = tokio::net::TcpStream::connect(addr.as_str()).await?;
                    stream.set_nodelay(true)?;
                    if telnet { telnet::open(stream).await? } else { Box::new(stream) }
                }
                Endpoint::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    if telnet { telnet::open(stream).await? } else { Box::new(stream) }
                }
            };
            Ok(link)
        }
    })
}

/// Opens the tty device at `path` raw at `baud`, 8N1, and again whenever it closes.
pub fn device(path: PathBuf, baud: u32) -> Links {
    let name = path.display().to_string();
    redial(format!("open the serial device {name}"), name, move || {
        let path = path.clone();
        async move { Ok(Box::new(serial::open(&path, baud)?) as Link) }
    })
}

/// The dial loop: one session at a time, pauses between them (see the module docs). `name` is
/// the peer in the logs; `act` what a dial does, for the warning that vmodem waits for the peer
/// (`open the serial device /dev/ttyUSB0`).
fn redial<F, Fut>(act: String, name: String, mut dial: F) -> Links
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<Link>> + Send,
{
    let (tx, links) = Links::channel();
    tokio::spawn(async move {
        let mut pause = FIRST_RETRY;
        let mut failures = 0u32;
        loop {
            let dialled = tokio::select! {
                dialled = tokio::time::timeout(DIAL_TIMEOUT, dial()) => dialled,
                _ = tx.closed() => return,
            };
            match dialled.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())) {
                Ok(link) => {
                    info!(peer = %name, "connected");
                    failures = 0;
                    let started = Instant::now();
                    let (session, ended) = Session::watched(link, name.clone());
                    if tx.send(Box::new(session)).await.is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = ended => {}
                        _ = tx.closed() => return,
                    }
                    if started.elapsed() >= MAX_RETRY {
                        pause = FIRST_RETRY;
                    }
                }
                Err(e) => {
                    // Say it once; an emulator that is not up yet, or a board not plugged in,
                    // would fill the log otherwise.
                    if failures == 0 {
                        warn!("cannot {act}: {e}; waiting for it, trying again at least every {MAX_RETRY:?}");
                    } else {
                        debug!(peer = %name, error = %e, "cannot connect");
                    }
                    failures = failures.saturating_add(1);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = tx.closed() => return,
            }
            pause = (pause * 2).min(MAX_RETRY);
        }
    });
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!("127.0.0.1:4321".parse(), Ok(Endpoint::Tcp("127.0.0.1:4321".into())));
        assert_eq!("localhost:4321".parse(), Ok(Endpoint::Tcp("localhost:4321".into())));
        assert_eq!("[::1]:4321".parse(), Ok(Endpoint::Tcp("[::1]:4321".into())));
        assert_eq!("unix:/run/qemu.sock".parse(), Ok(Endpoint::Unix("/run/qemu.sock".into())));
        for bad in ["4321", ":4321", "host:port", "host:70000", "unix:"] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
        assert_eq!(Endpoint::Unix("/s".into()).to_string(), "unix:/s");
    }
}
