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
//! on = "data"      # "control", "data" or "any"
//! after = 50       # bytes delivered before the stall
//! seconds = 2.0    # how long nothing more arrives
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

/// One fault, as the configuration names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fault {
    /// Each matching connection delivers `after` bytes to the service, then nothing for `seconds`,
    /// then the rest.
    Stall {
        /// The connections it applies to.
        on: Role,
        /// Bytes delivered before the stall.
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
    stall: Option<Stall>,
    /// Bytes left before the connection breaks.
    reset: Option<u64>,
}

#[derive(Debug)]
struct Stall {
    left: u64,
    wait: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Gate {
    /// The gate for a new connection with `role` under `faults` (the first fault of each kind
    /// that covers the role applies).
    pub(crate) fn new(faults: &[Fault], role: Role) -> Self {
        let stall = faults.iter().find_map(|fault| match *fault {
            Fault::Stall { on, after, seconds } if on.covers(role) => Some(Stall {
                left: after,
                wait: Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX),
                sleep: None,
            }),
            _ => None,
        });
        let reset = faults.iter().find_map(|fault| match *fault {
            Fault::Reset { on, after } if on.covers(role) => Some(after),
            _ => None,
        });
        Gate { stall, reset }
    }

    /// How many bytes the connection may deliver now; pending while it is stalled, an error
    /// once it is to break.
    pub(crate) fn poll_read_allowance(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let reset = self.write_allowance()?;
        let Some(stall) = &mut self.stall else { return Poll::Ready(Ok(reset)) };
        if stall.left > 0 {
            return Poll::Ready(Ok(reset.min(usize::try_from(stall.left).unwrap_or(usize::MAX))));
        }
        let wait = stall.wait;
        ready!(stall.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(wait))).as_mut().poll(cx));
        self.stall = None;
        Poll::Ready(Ok(reset))
    }

    /// How many bytes the connection may send now; an error once it is to break.
    pub(crate) fn write_allowance(&self) -> io::Result<usize> {
        match self.reset {
            Some(0) => Err(super::broken()),
            Some(left) => Ok(usize::try_from(left).unwrap_or(usize::MAX)),
            None => Ok(usize::MAX),
        }
    }

    /// Records that `n` bytes were delivered to the service.
    pub(crate) fn delivered(&mut self, n: usize) {
        if let Some(stall) = &mut self.stall {
            stall.left = stall.left.saturating_sub(n as u64);
        }
        self.sent(n);
    }

    /// Records that `n` bytes went out.
    pub(crate) fn sent(&mut self, n: usize) {
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
        assert_eq!(stall, vec![Fault::Stall { on: Role::Data, after: 50, seconds: 1.5 }]);
        let reset = parse("f = [{ kind = \"reset\", on = \"any\", after = 7 }]");
        assert_eq!(reset, vec![Fault::Reset { on: Role::Any, after: 7 }]);
    }

    #[test]
    fn a_stall_only_gates_the_roles_it_names() {
        let faults = [Fault::Stall { on: Role::Data, after: 3, seconds: 1.0 }];
        assert!(Gate::new(&faults, Role::Control).stall.is_none());
        assert!(Gate::new(&faults, Role::Data).stall.is_some());
    }
}
