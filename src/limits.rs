//! The limits of what a configuration file, a flag or the control socket may set, in one
//! place. Every span of time is a number of seconds ([`Seconds`]) or milliseconds
//! ([`Millis`]): finite, not negative, and at most [`MAX_SPAN`]. A value beyond is refused
//! where it is parsed, with a message that gives the limit (from a file, the TOML error adds
//! the key and the line). Deadlines are computed with [`later`], which cannot overflow.
//!
//! Why a week: no timer of a module runs longer (the longest vendor timeout is minutes), and a
//! test that wants "never" has the fault plan's stall and freeze; a week still fits any
//! `Instant` arithmetic with room to spare.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

/// The longest span of time any setting may give: a week.
pub const MAX_SPAN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The largest module buffer a configuration may ask for (`[http] buffer`): 64 MiB, two
/// hundred times the SIM800's 319488 bytes, and still an allocation any test machine makes.
pub const MAX_BUFFER: usize = 64 << 20;

/// `now + d`, or a week after `now` if that cannot be represented: a deadline never panics.
pub fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(MAX_SPAN)).unwrap_or(now)
}

/// Why a span was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} {unit} is not a span of time from 0 to {max} {unit} (a week)", shown(*value))]
pub struct SpanError {
    value: f64,
    unit: &'static str,
    max: f64,
}

/// A number as a person would write it: `1e300`, not three hundred digits.
fn shown(value: f64) -> String {
    if value != 0.0 && !(1e-3..1e9).contains(&value.abs()) { format!("{value:e}") } else { value.to_string() }
}

/// Checks `value` as a span of `unit`s, `per_second` of them to a second.
fn checked(value: f64, unit: &'static str, per_second: f64) -> Result<f64, SpanError> {
    let max = MAX_SPAN.as_secs_f64() * per_second;
    if value.is_finite() && (0.0..=max).contains(&value) { Ok(value) } else { Err(SpanError { value, unit, max }) }
}

/// The shortest period of a timer that repeats (`ftp.unread_notice`): a hundredth of a
/// second. Zero would repeat at the same instant for ever.
pub const MIN_PERIOD: Seconds = Seconds(0.01);

/// A period from [`MIN_PERIOD`] to a week, read as a number of seconds, for
/// `#[serde(deserialize_with = "crate::limits::period")]`.
pub fn period<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
    let span = Seconds::deserialize(d)?;
    if span < MIN_PERIOD {
        return Err(serde::de::Error::custom(format!(
            "{} seconds is not a period from {} to {} seconds",
            shown(span.0),
            MIN_PERIOD.0,
            MAX_SPAN.as_secs()
        )));
    }
    Ok(span)
}

/// A span of time given in seconds (`unread_timeout = 60.0`), checked when read.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Seconds(f64);

impl Seconds {
    /// A span the code itself gives (a default); it must be within the limits.
    pub const fn of(seconds: f64) -> Self {
        Seconds(seconds)
    }

    /// The span as a duration (at most [`MAX_SPAN`]).
    pub fn duration(self) -> Duration {
        Duration::try_from_secs_f64(self.0).unwrap_or(MAX_SPAN).min(MAX_SPAN)
    }

    /// The number of seconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Seconds {
    type Error = SpanError;

    fn try_from(value: f64) -> Result<Self, SpanError> {
        checked(value, "seconds", 1.0).map(Seconds)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Seconds::try_from(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

/// A span of time given in milliseconds (`latency_ms = 75.0`), checked when read.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Millis(f64);

impl Millis {
    /// A span the code itself gives (a named profile's figure); it must be within the limits.
    pub const fn of(millis: f64) -> Self {
        Millis(millis)
    }

    /// The span as a duration (at most [`MAX_SPAN`]).
    pub fn duration(self) -> Duration {
        Duration::try_from_secs_f64(self.0 / 1000.0).unwrap_or(MAX_SPAN).min(MAX_SPAN)
    }

    /// The number of milliseconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Millis {
    type Error = SpanError;

    fn try_from(value: f64) -> Result<Self, SpanError> {
        checked(value, "ms", 1000.0).map(Millis)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Millis::try_from(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_finite_not_negative_and_at_most_a_week() {
        assert_eq!(Seconds::try_from(60.0).unwrap().duration(), Duration::from_secs(60));
        assert_eq!(Seconds::try_from(604_800.0).unwrap().duration(), MAX_SPAN);
        assert_eq!(Millis::try_from(1500.0).unwrap().duration(), Duration::from_millis(1500));
        for bad in [f64::INFINITY, f64::NAN, -1.0, 1e300, 604_800.5] {
            assert!(Seconds::try_from(bad).is_err(), "{bad}");
        }
        assert!(Millis::try_from(604_800_001.0).is_err());
        assert_eq!(
            Seconds::try_from(1e300).unwrap_err().to_string(),
            "1e300 seconds is not a span of time from 0 to 604800 seconds (a week)"
        );
    }

    #[test]
    fn a_deadline_never_overflows() {
        let now = Instant::now();
        assert_eq!(later(now, Duration::from_secs(1)), now + Duration::from_secs(1));
        assert_eq!(later(now, Duration::MAX), now + MAX_SPAN);
    }
}
