//! Faults the net layer injects into the connections services open, so a test can reproduce
//! what a cellular link does to a transfer (a data connection that goes quiet mid-file, a
//! server that vanishes at byte 40000) without a server that misbehaves on purpose.
//!
//! Two kinds today, the stall and the reset; the fault plan of later work (refusals, DNS
//! failures, bearer loss) plugs in beside them.
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
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Sleep;

/// What a connection is for, as the services open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A service's control connection (FTP port 21, an HTTP request).
    Control,
    /// An FTP data connection, passive or active.
    Data,
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
        /// How long the stall lasts.
        seconds: f64,
    },
    /// Each matching connection breaks once `after` bytes have crossed it (both directions
    /// counted): the service's next read or write fails with a reset, and the peer sees one.
    Reset {
        /// The connections it applies to.
        on: Role,
        /// Bytes that cross before the break.
        after: u64,
    },
}

/// The effect of the faults on one connection.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// The stall of what the service reads.
    down: Option<Stall>,
    /// The stall of what the service sends.
    up: Option<Stall>,
    /// Bytes left before the connection breaks.
    reset: Option<u64>,
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
    /// The gate for a new connection with `role` under `faults` (the first fault of each kind
    /// and direction that covers the role applies).
    pub(crate) fn new(faults: &[Fault], role: Role) -> Self {
        let stall = |way: Direction| {
            faults.iter().find_map(|fault| match *fault {
                Fault::Stall { on, direction, after, seconds } if on.covers(role) && direction == way => Some(Stall {
                    left: after,
                    wait: Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX),
                    sleep: None,
                }),
                _ => None,
            })
        };
        let reset = faults.iter().find_map(|fault| match *fault {
            Fault::Reset { on, after } if on.covers(role) => Some(after),
            _ => None,
        });
        Gate { down: stall(Direction::Down), up: stall(Direction::Up), reset }
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
        assert_eq!(stall, vec![Fault::Stall { on: Role::Data, direction: Direction::Down, after: 50, seconds: 1.5 }]);
        let up = parse("f = [{ kind = \"stall\", on = \"control\", direction = \"up\", after = 0, seconds = 1 }]");
        assert_eq!(up, vec![Fault::Stall { on: Role::Control, direction: Direction::Up, after: 0, seconds: 1.0 }]);
        let reset = parse("f = [{ kind = \"reset\", on = \"any\", after = 7 }]");
        assert_eq!(reset, vec![Fault::Reset { on: Role::Any, after: 7 }]);
    }

    #[test]
    fn a_stall_only_gates_the_roles_it_names() {
        let faults = [Fault::Stall { on: Role::Data, direction: Direction::Up, after: 3, seconds: 1.0 }];
        assert!(Gate::new(&faults, Role::Control).up.is_none());
        let data = Gate::new(&faults, Role::Data);
        assert!(data.up.is_some() && data.down.is_none());
    }
}
