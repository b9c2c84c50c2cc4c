//! Faults the net layer injects into the connections services open, so a test can reproduce
//! what a cellular link does to a transfer (a data connection that goes quiet mid-file, a
//! server that vanishes at byte 40000) without a server that misbehaves on purpose.
//!
//! Kinds: a stall, a reset after N bytes, a refused connection, a name that does not resolve
//! and a TLS handshake the server rejects. The modem-level faults of a fault plan (bearer
//! loss, a freeze, a reboot) are in [`crate::plan`].
//!
//! ```toml
//! [[net.faults]]
//! kind = "stall"
//! on = "data"         # "control", "data" or "any"
//! direction = "down"  # "down" (what the service reads, the default) or "up" (what it sends)
//! after = 50          # bytes that pass that way before the stall
//! seconds = 2.0       # how long nothing more passes
//!
//! [[net.faults]]
//! kind = "reset"
//! on = "data"
//! after = 40000    # bytes that cross the connection, either way, before it breaks
//!
//! [[net.faults]]
//! kind = "refuse"
//! host = "112.74.93.163"   # as the host named it, or where it resolved; no host: every one
//! port = 21                # optional
//!
//! [[net.faults]]
//! kind = "dns"
//! name = "ftp.example.com"
//!
//! [[net.faults]]
//! kind = "tls"
//! host = "ftp.example.com" # the server answers the ClientHello with a fatal alert
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use serde::Deserialize;

use crate::limits::Seconds;
use tokio::io::ReadBuf;
use tokio::time::Sleep;

/// What a connection is for, as the services open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A service's control connection (FTP port 21, an HTTP request).
    Control,
    /// An FTP data connection, passive or active.
    Data,
    /// A socket the host opened with the family's socket commands (`AT+CIPSTART`,
    /// `AT+CAOPEN`, `AT+MIPOPEN`).
    Socket,
    /// Every connection.
    Any,
}

impl Role {
    fn covers(self, role: Role) -> bool {
        self == Role::Any || self == role
    }
}

/// Which way a stall holds bytes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the peer to the service (a download, a server's replies).
    #[default]
    Down,
    /// From the service to the peer (an upload, a POST body).
    Up,
}

/// A stall's `seconds`, refused with the key's name (the fault's tag hides the key from the
/// error otherwise).
fn stall_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
    Seconds::deserialize(d).map_err(|e| serde::de::Error::custom(format!("seconds: {e}")))
}

/// One fault, as the configuration names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fault {
    /// Each matching connection passes `after` bytes in `direction`, then nothing that way for
    /// `seconds`, then the rest.
    Stall {
        /// The connections it applies to.
        on: Role,
        /// The way the bytes are held back.
        #[serde(default)]
        direction: Direction,
        /// Bytes that pass before the stall.
        after: u64,
        /// How long the stall lasts, in seconds (at most a week).
        #[serde(deserialize_with = "stall_seconds")]
        seconds: Seconds,
    },
    /// Each matching connection breaks once `after` bytes have crossed it (both directions
    /// counted): the service's next read or write fails with a reset, and the peer sees one.
    Reset {
        /// The connections it applies to.
        on: Role,
        /// Bytes that cross before the break.
        after: u64,
    },
    /// Connections to `host` (every host if none), on `port` if given, are refused.
    Refuse {
        /// The host as the service names it, or an address it resolves to.
        #[serde(default)]
        host: Option<String>,
        /// Only this port.
        #[serde(default)]
        port: Option<u16>,
    },
    /// `name` does not resolve (every name if none; IP addresses need no resolving).
    Dns {
        /// The name.
        #[serde(default)]
        name: Option<String>,
    },
    /// The TLS handshake with `host` (every host if none) fails: the server answers the
    /// ClientHello with a fatal `handshake_failure` alert, as one that shares no cipher with
    /// the module does.
    Tls {
        /// The host as the service names it, or an address it resolves to.
        #[serde(default)]
        host: Option<String>,
    },
}

impl Fault {
    /// Whether a connection to `host:port` (also known as `addr`, after redirects) is refused.
    pub(crate) fn refuses(&self, host: &str, port: u16, addr: SocketAddr) -> bool {
        match self {
            Fault::Refuse { host: h, port: p } => {
                names(h.as_deref(), host, Some(addr)) && p.is_none_or(|p| p == port || p == addr.port())
            }
            _ => false,
        }
    }

    /// Whether `name` fails to resolve.
    pub(crate) fn fails_dns(&self, name: &str) -> bool {
        matches!(self, Fault::Dns { name: n } if names(n.as_deref(), name, None))
    }

    /// Whether the TLS handshake with `host` (also known as `addr`) fails.
    fn fails_tls(&self, host: &str, addr: SocketAddr) -> bool {
        matches!(self, Fault::Tls { host: h } if names(h.as_deref(), host, Some(addr)))
    }
}

/// Whether a fault's `pattern` (none: any) names `host` or `addr`.
fn names(pattern: Option<&str>, host: &str, addr: Option<SocketAddr>) -> bool {
    let Some(pattern) = pattern else { return true };
    let pattern = pattern.trim_start_matches('[').trim_end_matches(']');
    pattern.eq_ignore_ascii_case(host) || addr.is_some_and(|a| pattern.parse() == Ok(a.ip()))
}

/// What a server that rejects the handshake sends: a TLS 1.2 record of one fatal
/// `handshake_failure` (40) alert.
const HANDSHAKE_FAILURE: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

/// The effect of the faults on one connection.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// The stall of what the service reads.
    down: Option<Stall>,
    /// The stall of what the service sends.
    up: Option<Stall>,
    /// Bytes left before the connection breaks.
    reset: Option<u64>,
    /// The handshake is to fail.
    tls: Option<Tls>,
}

/// A TLS handshake to be rejected: waiting for the ClientHello, then the alert going out.
#[derive(Debug)]
enum Tls {
    Waiting,
    /// The bytes of the alert delivered so far.
    Alerting(usize),
}

#[derive(Debug)]
struct Stall {
    left: u64,
    wait: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Stall {
    /// How many bytes may pass now: pending while stalled, `None` once the stall is over.
    fn poll_allowance(&mut self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        if self.left > 0 {
            return Poll::Ready(Some(usize::try_from(self.left).unwrap_or(usize::MAX)));
        }
        let wait = self.wait;
        ready!(self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(wait))).as_mut().poll(cx));
        Poll::Ready(None)
    }
}

/// The allowance of one direction's stall, which is dropped once it is over.
fn poll_stall(stall: &mut Option<Stall>, cx: &mut Context<'_>) -> Poll<usize> {
    let Some(active) = stall else { return Poll::Ready(usize::MAX) };
    match ready!(active.poll_allowance(cx)) {
        Some(n) => Poll::Ready(n),
        None => {
            *stall = None;
            Poll::Ready(usize::MAX)
        }
    }
}

/// Counts `n` bytes against a stall that has not begun.
fn pass(stall: &mut Option<Stall>, n: usize) {
    if let Some(stall) = stall {
        stall.left = stall.left.saturating_sub(n as u64);
    }
}

impl Gate {
    /// The gate for a new connection to `host` at `addr` with `role` under `faults` (the first
    /// fault of each kind and direction that covers the role applies).
    pub(crate) fn new(faults: &[Fault], role: Role, host: &str, addr: SocketAddr) -> Self {
        let stall = |way: Direction| {
            faults.iter().find_map(|fault| match *fault {
                Fault::Stall { on, direction, after, seconds } if on.covers(role) && direction == way => {
                    Some(Stall { left: after, wait: seconds.duration(), sleep: None })
                }
                _ => None,
            })
        };
        let reset = faults.iter().find_map(|fault| match *fault {
            Fault::Reset { on, after } if on.covers(role) => Some(after),
            _ => None,
        });
        let tls = faults.iter().any(|f| f.fails_tls(host, addr)).then_some(Tls::Waiting);
        Gate { down: stall(Direction::Down), up: stall(Direction::Up), reset, tls }
    }

    /// Sees bytes the service is about to send: a TLS ClientHello (a handshake record,
    /// `16 03 xx`, where the application protocols send text) starts the rejection.
    pub(crate) fn sending(&mut self, data: &[u8]) {
        if matches!(self.tls, Some(Tls::Waiting)) && data.starts_with(&[0x16, 0x03]) {
            tracing::debug!(target: "vmodem::net", "injected TLS handshake failure");
            self.tls = Some(Tls::Alerting(0));
        }
    }

    /// Once the handshake is being rejected: what the service reads instead of the server's
    /// answer, the alert and then the end of the stream.
    pub(crate) fn rejection(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let Some(Tls::Alerting(sent)) = &mut self.tls else { return false };
        let n = (HANDSHAKE_FAILURE.len() - *sent).min(buf.remaining());
        buf.put_slice(&HANDSHAKE_FAILURE[*sent..*sent + n]);
        *sent += n;
        true
    }

    /// How many bytes the connection may deliver now; pending while it is stalled, an error
    /// once it is to break.
    pub(crate) fn poll_read_allowance(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let reset = self.reset_allowance()?;
        Poll::Ready(Ok(reset.min(ready!(poll_stall(&mut self.down, cx)))))
    }

    /// How many bytes the connection may send now; pending while it is stalled, an error once
    /// it is to break.
    pub(crate) fn poll_write_allowance(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let reset = self.reset_allowance()?;
        Poll::Ready(Ok(reset.min(ready!(poll_stall(&mut self.up, cx)))))
    }

    /// The bytes left before the break; an error once it is due.
    fn reset_allowance(&self) -> io::Result<usize> {
        match self.reset {
            Some(0) => Err(super::broken()),
            Some(left) => Ok(usize::try_from(left).unwrap_or(usize::MAX)),
            None => Ok(usize::MAX),
        }
    }

    /// Records that `n` bytes were delivered to the service.
    pub(crate) fn delivered(&mut self, n: usize) {
        pass(&mut self.down, n);
        self.crossed(n);
    }

    /// Records that `n` bytes went out.
    pub(crate) fn sent(&mut self, n: usize) {
        pass(&mut self.up, n);
        self.crossed(n);
    }

    fn crossed(&mut self, n: usize) {
        if let Some(left) = &mut self.reset {
            *left = left.saturating_sub(n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Fault> {
        toml::from_str::<toml::Table>(text).unwrap()["f"].clone().try_into().unwrap()
    }

    #[test]
    fn fault_configs_parse() {
        let stall = parse("f = [{ kind = \"stall\", on = \"data\", after = 50, seconds = 1.5 }]");
        assert_eq!(
            stall,
            vec![Fault::Stall { on: Role::Data, direction: Direction::Down, after: 50, seconds: Seconds::of(1.5) }]
        );
        let up = parse("f = [{ kind = \"stall\", on = \"control\", direction = \"up\", after = 0, seconds = 1 }]");
        assert_eq!(
            up,
            vec![Fault::Stall { on: Role::Control, direction: Direction::Up, after: 0, seconds: Seconds::of(1.0) }]
        );
        let reset = parse("f = [{ kind = \"reset\", on = \"any\", after = 7 }]");
        assert_eq!(reset, vec![Fault::Reset { on: Role::Any, after: 7 }]);
    }

    #[test]
    fn hosts_match_by_name_or_address() {
        let addr: SocketAddr = "[::1]:990".parse().unwrap();
        let refuse = |host: Option<&str>, port| Fault::Refuse { host: host.map(Into::into), port };
        assert!(refuse(None, None).refuses("anything", 990, addr));
        assert!(refuse(Some("FTP.example.com"), Some(990)).refuses("ftp.example.com", 990, addr));
        assert!(refuse(Some("ftp.example.com"), Some(21)).refuses("ftp.example.com", 21, addr), "the port asked for");
        assert!(refuse(Some("[::1]"), None).refuses("ftp.example.com", 21, addr), "by the address it resolved to");
        assert!(!refuse(Some("ftp.example.com"), Some(22)).refuses("ftp.example.com", 21, addr), "another port");
        assert!(!refuse(Some("other"), None).refuses("ftp.example.com", 21, addr));
        assert!(
            Fault::Dns { name: Some("a.b".into()) }.fails_dns("A.B")
                && !Fault::Dns { name: Some("a.b".into()) }.fails_dns("c")
        );
        assert!(!Fault::Tls { host: None }.refuses("x", 21, addr), "each kind answers for itself");
        let parsed =
            parse("f = [{ kind = \"refuse\", host = \"h\" }, { kind = \"tls\" }, { kind = \"dns\", name = \"n\" }]");
        assert_eq!(parsed[0], refuse(Some("h"), None));
        assert_eq!(parsed[1], Fault::Tls { host: None });
    }

    #[test]
    fn a_stall_only_gates_the_roles_it_names() {
        let faults = [Fault::Stall { on: Role::Data, direction: Direction::Up, after: 3, seconds: Seconds::of(1.0) }];
        let addr = SocketAddr::from(([127, 0, 0, 1], 21));
        assert!(Gate::new(&faults, Role::Control, "h", addr).up.is_none());
        let data = Gate::new(&faults, Role::Data, "h", addr);
        assert!(data.up.is_some() && data.down.is_none());
    }
}
