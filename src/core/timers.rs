//! The modem's timers, in one table keyed by what each is for. The core sets and clears them
//! as its state changes and asks the table for the earliest; nothing else keeps a deadline.

use tokio::time::Instant;

use crate::dialect::Owner;

/// One of the modem's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// The module's answer is held back until then (a link profile's answer time).
    Answer,
    /// A freeze of the fault plan ends.
    Thaw,
    /// The data phase in progress on an interpreter (the plain line's or a channel's) ends
    /// incomplete (the host stopped sending).
    DataInput(super::channels::ChannelId),
    /// The fault plan strikes, or releases a held URC.
    Plan,
    /// A service of the dialect wants to be woken (an unread-data notice, a stream retry).
    Service(Owner),
}

/// The armed timers: a handful at most, kept in a small list (looked up by a scan, which
/// costs less than any map at this size and allocates nothing once warm).
#[derive(Debug, Default)]
pub struct Timers {
    at: Vec<(Timer, Instant)>,
}

impl Timers {
    /// Arms `timer` for `at`, or disarms it with `None`.
    pub fn set(&mut self, timer: Timer, at: Option<Instant>) {
        let i = self.at.iter().position(|(t, _)| *t == timer);
        match (i, at) {
            (Some(i), Some(at)) => self.at[i].1 = at,
            (None, Some(at)) => self.at.push((timer, at)),
            (Some(i), None) => {
                self.at.swap_remove(i);
            }
            (None, None) => {}
        }
    }

    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.at.iter().find(|(t, _)| *t == timer).map(|(_, at)| *at)
    }

    /// Whether `timer` is armed for `now` or earlier.
    pub fn due(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The earliest armed timer among those `keep` accepts.
    pub fn earliest(&self, keep: impl Fn(Timer) -> bool) -> Option<Instant> {
        self.at.iter().filter(|(t, _)| keep(*t)).map(|(_, at)| *at).min()
    }

    /// Disarms every timer of a service, before the dialect names them again.
    pub fn clear_services(&mut self) {
        self.at.retain(|(t, _)| !matches!(t, Timer::Service(_)));
    }

    /// The services whose timers are due by `now`, in the order of their owners.
    pub fn due_services(&self, now: Instant) -> Vec<Owner> {
        let mut due: Vec<Owner> = self
            .at
            .iter()
            .filter_map(|(t, at)| match t {
                Timer::Service(owner) if *at <= now => Some(*owner),
                _ => None,
            })
            .collect();
        due.sort_unstable();
        due
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_earliest_armed_timer_wins() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut timers = Timers::default();
        assert_eq!(timers.earliest(|_| true), None);
        timers.set(Timer::Plan, Some(t0 + 3 * s));
        timers.set(Timer::Service(Owner::Ftp), Some(t0 + 2 * s));
        timers.set(Timer::Answer, Some(t0 + 5 * s));
        assert_eq!(timers.earliest(|_| true), Some(t0 + 2 * s));
        assert_eq!(timers.earliest(|t| matches!(t, Timer::Answer | Timer::Thaw)), Some(t0 + 5 * s));
        assert_eq!(timers.due_services(t0 + 2 * s), vec![Owner::Ftp]);
        timers.clear_services();
        assert_eq!(timers.due_services(t0 + 2 * s), vec![]);
        timers.set(Timer::Plan, None);
        assert_eq!(timers.earliest(|_| true), Some(t0 + 5 * s));
        assert!(timers.due(Timer::Answer, t0 + 5 * s) && !timers.due(Timer::Answer, t0 + 4 * s));
    }
}
