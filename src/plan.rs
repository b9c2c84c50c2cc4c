//! The fault plan: what goes wrong, and when, so a test can reproduce a field failure. One
//! list in the configuration file (`[[faults]]`), the same entries one at a time with
//! `vmodem serve --fault '...'`, and at run time through the control socket
//! ([`crate::control`]).
//!
//! Connection faults ([`Fault`]: `stall`, `reset`, `refuse`, `dns`, `tls`) go to the net layer
//! and apply to the connections opened from then on. Modem faults strike the modem itself, at
//! a time or after a command:
//!
//! ```toml
//! [[faults]]
//! kind = "reset"            # a connection fault (see net::Fault)
//! on = "data"
//! after = 40000
//!
//! [[faults]]
//! kind = "drop_bearer"      # the network releases the bearers (+APP PDP: 0,DEACTIVE ...)
//! when = "AT+FTPGET=1"      # once the host sends a command that starts so (any case) ...
//! delay = 1.5               # ... and this many seconds after it
//!
//! [[faults]]
//! kind = "lose_registration"
//! at = 30.0                 # seconds after power-on (after the command, at run time)
//! seconds = 20.0            # then the cell is back; without it, it stays away
//!
//! [[faults]]
//! kind = "freeze"           # the modem hears and says nothing ...
//! seconds = 5.0             # ... for this long
//!
//! [[faults]]
//! kind = "reboot"           # a power cycle: jobs stop, the boot URCs follow
//! when = "AT+HTTPACTION=0"
//!
//! [[faults]]
//! kind = "urc"              # URCs that start with `matching` ...
//! matching = "+FTPGET: 1,1"
//! delay = 2.0               # ... come this much later, or with drop = true never
//! count = 1                 # only the first so many (default: all)
//! ```
//!
//! A modem fault with neither `at` nor `when` strikes at once (at power-on from the
//! configuration). While frozen, the modem reads and discards what the host sends, as a hung
//! module's UART loses it, and handles no events; they wait until it thaws. An answer it had
//! worked out before the freeze (a freeze right after a command) still goes out.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::limits::{Seconds, later};
use crate::net::Fault;
use crate::network::NetworkEvent;

/// One entry of a fault plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanEntry {
    /// A fault of the connections the services open.
    Net(Fault),
    /// A fault of the modem.
    Modem(Strike),
    /// A rule for URCs.
    Urc(UrcRule),
}

/// The kinds of [`Fault`], which go to the net layer.
const NET_KINDS: [&str; 5] = ["stall", "reset", "refuse", "dns", "tls"];

impl<'de> Deserialize<'de> for PlanEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let table = toml::Table::deserialize(d)?;
        let kind =
            table.get("kind").and_then(toml::Value::as_str).ok_or_else(|| D::Error::custom("a fault needs a kind"))?;
        let kind = kind.to_string();
        let value = toml::Value::Table(table);
        // An error names the key at fault (`seconds: 1e300 seconds is not a span ...`).
        fn read<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T, String> {
            serde_path_to_error::deserialize(value).map_err(|e| match e.path().to_string().as_str() {
                "." => e.into_inner().message().to_string(),
                path => format!("{path}: {}", e.into_inner().message()),
            })
        }
        let entry = match kind.as_str() {
            k if NET_KINDS.contains(&k) => read(value).map(PlanEntry::Net),
            "urc" => read(value).map(PlanEntry::Urc),
            _ => read(value).map(PlanEntry::Modem),
        }
        .map_err(D::Error::custom)?;
        if let PlanEntry::Modem(strike) = &entry {
            strike.validate().map_err(D::Error::custom)?;
        }
        Ok(entry)
    }
}

impl PlanEntry {
    /// One entry as `--fault` and the control socket take it: the fields of an inline TOML
    /// table, with or without its braces (`kind = "freeze", seconds = 5`).
    pub fn parse(text: &str) -> Result<PlanEntry, String> {
        let text = text.trim();
        let inner = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
        let doc: toml::Table = toml::from_str(&format!("f = {{ {inner} }}")).map_err(|e| e.message().to_string())?;
        doc["f"].clone().try_into().map_err(|e: toml::de::Error| e.message().to_string())
    }
}

/// A modem fault and when it strikes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strike {
    /// What happens.
    pub kind: StrikeKind,
    /// How long it lasts (`freeze`: required; `lose_registration`: until the cell is back).
    #[serde(default)]
    pub seconds: Option<Seconds>,
    /// Seconds after power-on (or after it was given, at run time).
    #[serde(default)]
    pub at: Option<Seconds>,
    /// After the host sends a command that starts with this (`AT+FTPGET=1`; any case).
    #[serde(default)]
    pub when: Option<String>,
    /// Seconds after `when`'s command.
    #[serde(default)]
    pub delay: Seconds,
}

/// The modem faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrikeKind {
    /// The network releases the bearers.
    DropBearer,
    /// The cell goes out of reach.
    LoseRegistration,
    /// The modem hears and says nothing.
    Freeze,
    /// A power cycle.
    Reboot,
}

/// What to do with some URCs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrcRule {
    /// Always `urc`.
    pub kind: String,
    /// URCs that start with this.
    pub matching: String,
    /// Seconds later than the modem raises them.
    #[serde(default)]
    pub delay: Option<Seconds>,
    /// Never sent.
    #[serde(default)]
    pub drop: bool,
    /// Only the first so many.
    #[serde(default)]
    pub count: Option<u32>,
}

/// What the modem does when a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The emulated network acts (bearers released, registration lost or back).
    Network(NetworkEvent),
    /// Hear and say nothing for so long.
    Freeze(Duration),
    /// A power cycle.
    Reboot,
}

impl Strike {
    /// The actions, each after its delay from the moment the fault strikes.
    fn actions(&self) -> Result<Vec<(Duration, Action)>, String> {
        let after = |s: Option<Seconds>| s.map(Seconds::duration);
        Ok(match self.kind {
            StrikeKind::DropBearer => vec![(Duration::ZERO, Action::Network(NetworkEvent::ReleaseBearers))],
            StrikeKind::LoseRegistration => {
                let mut v = vec![(Duration::ZERO, Action::Network(NetworkEvent::LoseRegistration))];
                v.extend(after(self.seconds).map(|d| (d, Action::Network(NetworkEvent::Register))));
                v
            }
            StrikeKind::Freeze => {
                let d = after(self.seconds).ok_or("a freeze needs seconds")?;
                vec![(Duration::ZERO, Action::Freeze(d))]
            }
            StrikeKind::Reboot => vec![(Duration::ZERO, Action::Reboot)],
        })
    }

    /// Checks the entry when it is read.
    fn validate(&self) -> Result<(), String> {
        if self.at.is_some() && self.when.is_some() {
            return Err("a fault strikes at a time or after a command, not both".into());
        }
        self.actions().map(drop)
    }
}

/// The modem's side of the plan: faults waiting for their time or their command, URC rules,
/// URCs held back. IO-free: the modem passes the time in.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    timed: Vec<(Instant, Action)>,
    armed: Vec<Strike>,
    rules: Vec<UrcRule>,
    held: VecDeque<(Instant, Vec<u8>)>,
}

impl Plan {
    /// Adds a modem fault or URC rule at `now` (power-on, or the moment it was given).
    pub(crate) fn add(&mut self, entry: PlanEntry, now: Instant) {
        match entry {
            PlanEntry::Net(_) => {}
            PlanEntry::Urc(rule) => self.rules.push(rule),
            PlanEntry::Modem(strike) if strike.when.is_some() => self.armed.push(strike),
            PlanEntry::Modem(strike) => {
                let at = later(now, strike.at.map(Seconds::duration).unwrap_or_default());
                self.schedule(&strike, at);
            }
        }
    }

    fn schedule(&mut self, strike: &Strike, at: Instant) {
        // Validated when parsed; an invalid entry does nothing.
        for (delay, action) in strike.actions().unwrap_or_default() {
            self.timed.push((later(at, delay), action));
        }
    }

    /// Whether some fault waits for a command.
    pub(crate) fn watches_commands(&self) -> bool {
        !self.armed.is_empty()
    }

    /// The host sent `line` (`AT+FTPGET=1`): faults waiting for it are scheduled, once.
    pub(crate) fn command(&mut self, line: &str, now: Instant) {
        let (fire, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.armed).into_iter().partition(|s| {
            let when = s.when.as_deref().unwrap_or_default();
            line.len() >= when.len() && line.as_bytes()[..when.len()].eq_ignore_ascii_case(when.as_bytes())
        });
        self.armed = keep;
        for strike in fire {
            self.schedule(&strike, later(now, strike.delay.duration()));
        }
    }

    /// The actions due by `now`, in time order.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Action> {
        self.timed.sort_by_key(|(at, _)| *at);
        let n = self.timed.iter().take_while(|(at, _)| *at <= now).count();
        self.timed.drain(..n).map(|(_, a)| a).collect()
    }

    /// A URC the modem raised at `now`, due `late` after it (the link profile's URC time):
    /// itself to send now, or nothing if a rule drops it or it is held.
    pub(crate) fn urc(&mut self, urc: Vec<u8>, now: Instant, late: Duration) -> Option<Vec<u8>> {
        let mut rule = self.rules.iter_mut().find(|r| urc.starts_with(r.matching.as_bytes()) && r.count != Some(0));
        if let Some(count) = rule.as_mut().and_then(|r| r.count.as_mut()) {
            *count -= 1;
        }
        let late = match rule {
            Some(UrcRule { drop: true, .. }) => return None,
            Some(UrcRule { delay: Some(delay), .. }) => late.saturating_add(delay.duration()),
            _ => late,
        };
        if late.is_zero() && self.held.is_empty() {
            return Some(urc);
        }
        self.hold(urc, later(now, late));
        None
    }

    /// Holds `urc` until `at` (a link profile's URC time), behind those held before it.
    pub(crate) fn hold(&mut self, urc: Vec<u8>, at: Instant) {
        let at = self.held.back().map_or(at, |(last, _)| at.max(*last));
        self.held.push_back((at, urc));
    }

    /// Held URCs whose time has come, in the order they were raised.
    pub(crate) fn released(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let n = self.held.iter().take_while(|(at, _)| *at <= now).count();
        self.held.drain(..n).map(|(_, u)| u).collect()
    }

    /// When the plan next has something to do.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let timed = self.timed.iter().map(|(at, _)| *at).min();
        [timed, self.held.front().map(|(at, _)| *at)].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Role;

    #[test]
    fn entries_parse_by_kind_with_clear_errors() {
        let reset = PlanEntry::parse("kind = \"reset\", on = \"data\", after = 40000").unwrap();
        assert_eq!(reset, PlanEntry::Net(Fault::Reset { on: Role::Data, after: 40000 }));
        let freeze = PlanEntry::parse("{ kind = \"freeze\", seconds = 5, when = \"AT+FTPGET=1\" }").unwrap();
        assert!(
            matches!(freeze, PlanEntry::Modem(Strike { kind: StrikeKind::Freeze, seconds: Some(s), .. }) if s.get() == 5.0)
        );
        let urc = PlanEntry::parse("kind = \"urc\", matching = \"+FTPGET: 1,1\", drop = true").unwrap();
        assert!(matches!(urc, PlanEntry::Urc(UrcRule { drop: true, .. })));
        assert!(PlanEntry::parse("kind = \"melt\"").unwrap_err().contains("melt"));
        assert!(PlanEntry::parse("kind = \"reboot\", sconds = 1").unwrap_err().contains("sconds"));
        assert!(PlanEntry::parse("seconds = 1").unwrap_err().contains("kind"));
        assert!(PlanEntry::parse("kind = \"freeze\"").unwrap_err().contains("seconds"));
        assert!(PlanEntry::parse("kind = \"reboot\", at = 1, when = \"AT\"").unwrap_err().contains("not both"));
        for (text, key) in [
            ("kind = \"freeze\", seconds = 1e300", "seconds: "),
            ("kind = \"reboot\", at = inf", "at: "),
            ("kind = \"drop_bearer\", when = \"AT\", delay = -1", "delay: "),
            ("kind = \"urc\", matching = \"+X\", delay = nan", "delay: "),
            ("kind = \"stall\", on = \"data\", after = 1, seconds = 1e9", "seconds: "),
        ] {
            let err = PlanEntry::parse(text).unwrap_err();
            assert!(err.starts_with(key) && err.contains("a week"), "{text}: {err}");
        }
    }

    #[test]
    fn faults_strike_at_their_time_or_after_their_command_once() {
        let start = Instant::now();
        let mut plan = Plan::default();
        let entry = |t: &str| PlanEntry::parse(t).unwrap();
        plan.add(entry("kind = \"lose_registration\", at = 2, seconds = 3"), start);
        plan.add(entry("kind = \"reboot\", when = \"at+ftpget=1\", delay = 1"), start);
        assert_eq!(plan.deadline(), Some(start + Duration::from_secs(2)));
        plan.command("AT+FTPGET=2,100", start);
        assert!(plan.due(start + Duration::from_secs(60)).len() == 2, "the reboot waits for its command");
        plan.command("AT+FTPGET=1", start + Duration::from_secs(10));
        plan.command("AT+FTPGET=1", start + Duration::from_secs(10));
        assert_eq!(plan.due(start + Duration::from_secs(11)), vec![Action::Reboot], "once");
        assert_eq!(plan.deadline(), None);
    }

    #[test]
    fn urc_rules_drop_or_hold_in_order_and_count() {
        let now = Instant::now();
        let mut plan = Plan::default();
        plan.add(PlanEntry::parse("kind = \"urc\", matching = \"+A\", drop = true, count = 1").unwrap(), now);
        plan.add(PlanEntry::parse("kind = \"urc\", matching = \"+B\", delay = 2").unwrap(), now);
        assert_eq!(plan.urc(b"+A: 1".to_vec(), now, Duration::ZERO), None, "dropped");
        assert_eq!(plan.urc(b"+A: 2".to_vec(), now, Duration::ZERO), Some(b"+A: 2".to_vec()), "the count is spent");
        assert_eq!(plan.urc(b"+B: 1".to_vec(), now, Duration::ZERO), None);
        assert_eq!(plan.urc(b"+B: 2".to_vec(), now + Duration::from_secs(1), Duration::ZERO), None);
        assert_eq!(plan.urc(b"+C".to_vec(), now, Duration::ZERO), None, "behind the held ones, in order");
        assert!(plan.released(now + Duration::from_millis(1999)).is_empty());
        assert_eq!(plan.released(now + Duration::from_secs(2)), vec![b"+B: 1".to_vec()]);
        assert_eq!(plan.deadline(), Some(now + Duration::from_secs(3)));
        assert_eq!(plan.released(now + Duration::from_secs(3)), vec![b"+B: 2".to_vec(), b"+C".to_vec()]);
        let late = Duration::from_millis(40);
        assert_eq!(plan.urc(b"+D".to_vec(), now, late), None, "a profile's URC time holds every URC");
        assert_eq!(plan.released(now + late), vec![b"+D".to_vec()]);
    }
}
