//! Faults the net layer injects into the connections services open, so a test can reproduce
//! what a cellular link does to a transfer (a data connection that goes quiet mid-file) without
//! a server that misbehaves on purpose.
//!
//! Today there is one kind, the stall; the fault plan of later work (resets, refusals, DNS
//! failures, bearer loss) plugs in beside it.
//!
//! ```toml
//! [[net.faults]]
//! kind = "stall"
//! on = "data"      # "control", "data" or "any"
//! after = 50       # bytes delivered before the stall
//! seconds = 2.0    # how long nothing more arrives
//! ```

use std::future::Future;
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
}

/// The read-side effect of the faults on one connection.
#[derive(Debug, Default)]
pub(crate) struct ReadGate {
    stall: Option<Stall>,
}

#[derive(Debug)]
struct Stall {
    left: u64,
    wait: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl ReadGate {
    /// The gate for a new connection with `role` under `faults`.
    pub(crate) fn new(faults: &[Fault], role: Role) -> Self {
        let stall = faults.iter().find_map(|fault| match *fault {
            Fault::Stall { on, after, seconds } if on.covers(role) => Some(Stall {
                left: after,
                wait: Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX),
                sleep: None,
            }),
            Fault::Stall { .. } => None,
        });
        ReadGate { stall }
    }

    /// How many bytes the connection may deliver now; pending while it is stalled.
    pub(crate) fn poll_allowance(&mut self, cx: &mut Context<'_>) -> Poll<usize> {
        let Some(stall) = &mut self.stall else { return Poll::Ready(usize::MAX) };
        if stall.left > 0 {
            return Poll::Ready(usize::try_from(stall.left).unwrap_or(usize::MAX));
        }
        let wait = stall.wait;
        ready!(stall.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(wait))).as_mut().poll(cx));
        self.stall = None;
        Poll::Ready(usize::MAX)
    }

    /// Records that `n` bytes were delivered.
    pub(crate) fn delivered(&mut self, n: usize) {
        if let Some(stall) = &mut self.stall {
            stall.left = stall.left.saturating_sub(n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_config_parses() {
        let faults: Vec<Fault> =
            toml::from_str::<toml::Table>("f = [{ kind = \"stall\", on = \"data\", after = 50, seconds = 1.5 }]")
                .unwrap()["f"]
                .clone()
                .try_into()
                .unwrap();
        assert_eq!(faults, vec![Fault::Stall { on: Role::Data, after: 50, seconds: 1.5 }]);
    }

    #[test]
    fn a_stall_only_gates_the_roles_it_names() {
        let faults = [Fault::Stall { on: Role::Data, after: 3, seconds: 1.0 }];
        assert!(ReadGate::new(&faults, Role::Control).stall.is_none());
        assert!(ReadGate::new(&faults, Role::Data).stall.is_some());
    }
}
