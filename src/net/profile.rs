//! Link profiles: how fast and how late the cellular link carries the bytes of every socket
//! the services open. A firmware test runs under "NB-IoT in a basement" or "Cat-M in town" by
//! naming a profile; `instant` (the default) adds nothing.
//!
//! The named profiles use the modules' published peak rates, as the datasheets give them, and
//! typical latencies of each radio technology:
//!
//! | name | down kbit/s | up kbit/s | latency ms (one way) | jitter ms | answer ms | URC ms | source of the rates |
//! | --- | --- | --- | --- | --- | --- | --- | --- |
//! | `instant` | unlimited | unlimited | 0 | 0 | 0 | 0 | |
//! | `gsm` | 9.6 | 9.6 | 300 | 50 | 30 | 60 | GSM circuit-switched data (CSD) |
//! | `gprs` | 85.6 | 42.8 | 250 | 100 | 30 | 60 | SIM800/SIM900 datasheets: GPRS multi-slot class 10/12, CS-4 |
//! | `edge` | 236.8 | 118.4 | 150 | 50 | 30 | 60 | EDGE multi-slot class 12 (4+2 slots, MCS-9) |
//! | `nbiot` | 136 | 150 | 600 | 300 | 20 | 40 | SIM7080 datasheet: Cat-NB2 |
//! | `catm` | 589 | 1119 | 75 | 25 | 20 | 40 | SIM7080 datasheet: Cat-M1 |
//! | `lte` | 10300 | 5200 | 25 | 10 | 10 | 20 | Fibocom L610 datasheet: LTE Cat 1 |
//!
//! The last two are the module's own time: how long it takes to answer a command (its echo
//! comes with the answer), and how much later than the event a URC goes out (beyond the
//! network's time, which the latency already gives: `+FTPGET: 1,1` waits for the login's round
//! trips, `+HTTPACTION` for the request's). No datasheet gives them; they are small, typical
//! figures of firmware that polls its UART and its radio, and `instant` keeps them at zero.
//!
//! Rates apply to the payload bytes of each connection (what a service reads and writes), not
//! to TCP/IP headers; each connection gets the whole rate, as a single transfer does on a real
//! module. Custom values go in the configuration file:
//!
//! ```toml
//! [net]
//! profile = "catm"            # a name, or a table:
//! # profile = { down_kbps = 100.0, up_kbps = 50.0, latency_ms = 400.0, jitter_ms = 100.0,
//! #             answer_ms = 20.0, urc_ms = 40.0 }
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::limits::Millis;

/// How the link carries bytes: rates each way, the one-way delay and its random spread. Read
/// from a configuration, each rate is 0 (unlimited) or from `MIN_KBPS` to `MAX_KBPS`, and
/// each time from 0 to a week ([`crate::limits`]); anything else is refused, naming the key.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "Figures")]
pub struct LinkProfile {
    /// Downlink rate (server to modem) in kbit/s (1000 bits); 0 is unlimited.
    #[serde(default)]
    pub down_kbps: f64,
    /// Uplink rate (modem to server) in kbit/s; 0 is unlimited.
    #[serde(default)]
    pub up_kbps: f64,
    /// One-way delay in milliseconds: a request and its answer take twice this, and so does
    /// setting up a connection or resolving a name.
    #[serde(default)]
    pub latency_ms: f64,
    /// Up to this many milliseconds more, drawn anew for each piece of data that arrives; data
    /// never overtakes earlier data.
    #[serde(default)]
    pub jitter_ms: f64,
    /// How long the module takes to answer a command, in milliseconds.
    #[serde(default)]
    pub answer_ms: f64,
    /// How much later than its event a URC goes out, in milliseconds.
    #[serde(default)]
    pub urc_ms: f64,
}

/// The slowest rate a profile may give, in kbit/s: 12.5 bytes a second, slower than any radio.
pub const MIN_KBPS: f64 = 0.1;
/// The fastest rate a profile may give, in kbit/s (100 Gbit/s): faster than loopback moves.
pub const MAX_KBPS: f64 = 1e8;

/// A profile's figures as the configuration writes them, before they are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Figures {
    #[serde(default)]
    down_kbps: f64,
    #[serde(default)]
    up_kbps: f64,
    #[serde(default)]
    latency_ms: f64,
    #[serde(default)]
    jitter_ms: f64,
    #[serde(default)]
    answer_ms: f64,
    #[serde(default)]
    urc_ms: f64,
}

impl TryFrom<Figures> for LinkProfile {
    type Error = String;

    fn try_from(f: Figures) -> Result<Self, String> {
        let rate = |key: &str, kbps: f64| {
            if kbps == 0.0 || (MIN_KBPS..=MAX_KBPS).contains(&kbps) {
                Ok(kbps)
            } else {
                Err(format!("{key}: {kbps} is not 0 (unlimited) or a rate from {MIN_KBPS} to {MAX_KBPS} kbit/s"))
            }
        };
        let time = |key: &str, ms: f64| Millis::try_from(ms).map(Millis::get).map_err(|e| format!("{key}: {e}"));
        Ok(LinkProfile {
            down_kbps: rate("down_kbps", f.down_kbps)?,
            up_kbps: rate("up_kbps", f.up_kbps)?,
            latency_ms: time("latency_ms", f.latency_ms)?,
            jitter_ms: time("jitter_ms", f.jitter_ms)?,
            answer_ms: time("answer_ms", f.answer_ms)?,
            urc_ms: time("urc_ms", f.urc_ms)?,
        })
    }
}

/// The named profiles, in the order `--help` lists them.
pub const PROFILES: &[(&str, LinkProfile)] = &[
    ("instant", LinkProfile::INSTANT),
    ("gsm", LinkProfile::new(9.6, 9.6, 300.0, 50.0).module(30.0, 60.0)),
    ("gprs", LinkProfile::new(85.6, 42.8, 250.0, 100.0).module(30.0, 60.0)),
    ("edge", LinkProfile::new(236.8, 118.4, 150.0, 50.0).module(30.0, 60.0)),
    ("nbiot", LinkProfile::new(136.0, 150.0, 600.0, 300.0).module(20.0, 40.0)),
    ("catm", LinkProfile::new(589.0, 1119.0, 75.0, 25.0).module(20.0, 40.0)),
    ("lte", LinkProfile::new(10_300.0, 5_200.0, 25.0, 10.0).module(10.0, 20.0)),
];

impl LinkProfile {
    /// No limits, no delay: bytes pass as the host's network carries them.
    pub const INSTANT: LinkProfile = LinkProfile::new(0.0, 0.0, 0.0, 0.0);

    /// A link from its four figures; the module answers at once.
    pub const fn new(down_kbps: f64, up_kbps: f64, latency_ms: f64, jitter_ms: f64) -> Self {
        LinkProfile { down_kbps, up_kbps, latency_ms, jitter_ms, answer_ms: 0.0, urc_ms: 0.0 }
    }

    /// The same link with the module's own times.
    pub const fn module(self, answer_ms: f64, urc_ms: f64) -> Self {
        LinkProfile { answer_ms, urc_ms, ..self }
    }

    /// Whether the link changes nothing (streams then take no detour).
    pub fn is_instant(&self) -> bool {
        self.down_rate().is_none() && self.up_rate().is_none() && self.round_trip().is_zero() && self.jitter().is_zero()
    }

    /// How long the module takes to answer a command.
    pub fn answer_delay(&self) -> Duration {
        millis(self.answer_ms)
    }

    /// How much later than its event a URC goes out.
    pub fn urc_delay(&self) -> Duration {
        millis(self.urc_ms)
    }

    /// Downlink bytes per second; `None` when unlimited.
    pub fn down_rate(&self) -> Option<f64> {
        bytes_per_second(self.down_kbps)
    }

    /// Uplink bytes per second; `None` when unlimited.
    pub fn up_rate(&self) -> Option<f64> {
        bytes_per_second(self.up_kbps)
    }

    /// Twice the one-way delay.
    pub fn round_trip(&self) -> Duration {
        millis(self.latency_ms * 2.0)
    }

    /// The largest extra delay.
    pub fn jitter(&self) -> Duration {
        millis(self.jitter_ms)
    }
}

impl Default for LinkProfile {
    fn default() -> Self {
        LinkProfile::INSTANT
    }
}

fn bytes_per_second(kbps: f64) -> Option<f64> {
    (kbps.is_finite() && kbps > 0.0).then_some(kbps * 1000.0 / 8.0)
}

fn millis(ms: f64) -> Duration {
    Millis::of(ms.max(0.0)).duration()
}

impl FromStr for LinkProfile {
    type Err = String;

    /// A profile by name (`catm`), as `--profile` takes it.
    fn from_str(name: &str) -> Result<Self, String> {
        PROFILES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<_> = PROFILES.iter().map(|(n, _)| *n).collect();
            format!("no link profile {name:?}; the profiles are {}", names.join(", "))
        })
    }
}

impl fmt::Display for LinkProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match PROFILES.iter().find(|(_, p)| p == self) {
            Some((name, _)) => f.write_str(name),
            None => write!(
                f,
                "{} kbit/s down, {} kbit/s up, {} ms latency, {} ms jitter, answers in {} ms, URCs {} ms late",
                self.down_kbps, self.up_kbps, self.latency_ms, self.jitter_ms, self.answer_ms, self.urc_ms
            ),
        }
    }
}

/// A profile as the configuration file gives it: a name or a table of figures.
#[derive(Debug, Clone)]
pub enum ProfileSetting {
    /// One of [`PROFILES`].
    Named(String),
    /// Custom figures.
    Custom(LinkProfile),
}

impl ProfileSetting {
    /// The profile it stands for.
    pub fn profile(&self) -> Result<LinkProfile, String> {
        match self {
            ProfileSetting::Named(name) => name.parse(),
            ProfileSetting::Custom(p) => Ok(*p),
        }
    }
}

impl<'de> Deserialize<'de> for ProfileSetting {
    /// A name, or a table of figures whose errors name the figure at fault.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::String(name) => Ok(ProfileSetting::Named(name)),
            table @ toml::Value::Table(_) => {
                table.try_into().map(ProfileSetting::Custom).map_err(|e: toml::de::Error| D::Error::custom(e.message()))
            }
            other => Err(D::Error::custom(format!("a profile is a name or a table of figures, not {other}"))),
        }
    }
}

impl Default for ProfileSetting {
    fn default() -> Self {
        ProfileSetting::Custom(LinkProfile::INSTANT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_by_name_and_by_figures() {
        let catm: LinkProfile = "CatM".parse().unwrap();
        assert_eq!((catm.down_rate(), catm.up_rate()), (Some(73_625.0), Some(139_875.0)));
        assert_eq!(catm.round_trip(), Duration::from_millis(150));
        assert_eq!(catm.to_string(), "catm");
        assert!("5g".parse::<LinkProfile>().unwrap_err().contains("instant, gsm, gprs, edge, nbiot, catm, lte"));
        assert!(LinkProfile::default().is_instant() && !catm.is_instant());
        let t: toml::Table = toml::from_str("a = \"nbiot\"\nb = { down_kbps = 8.0, latency_ms = 10 }").unwrap();
        let named: ProfileSetting = t["a"].clone().try_into().unwrap();
        assert_eq!(named.profile().unwrap().up_kbps, 150.0);
        let custom: ProfileSetting = t["b"].clone().try_into().unwrap();
        let custom = custom.profile().unwrap();
        assert_eq!(
            (custom.down_rate(), custom.up_rate(), custom.round_trip()),
            (Some(1000.0), None, Duration::from_millis(20))
        );
        assert_eq!(
            custom.to_string(),
            "8 kbit/s down, 0 kbit/s up, 10 ms latency, 0 ms jitter, answers in 0 ms, URCs 0 ms late"
        );
        assert_eq!((catm.answer_delay(), catm.urc_delay()), (Duration::from_millis(20), Duration::from_millis(40)));
    }

    #[test]
    fn figures_beyond_their_limits_are_refused_by_name() {
        let figures = |text: &str| {
            let t: toml::Table = toml::from_str(&format!("p = {{ {text} }}")).unwrap();
            t["p"].clone().try_into::<ProfileSetting>().map_err(|e| e.message().to_string())
        };
        assert!(figures("down_kbps = 8.0, answer_ms = 600000.0").is_ok());
        for (text, key) in [
            ("answer_ms = 1e300", "answer_ms"),
            ("urc_ms = inf", "urc_ms"),
            ("jitter_ms = -1.0", "jitter_ms"),
            ("latency_ms = nan", "latency_ms"),
            ("down_kbps = 1e-300", "down_kbps"),
            ("up_kbps = inf", "up_kbps"),
        ] {
            let err = figures(text).unwrap_err();
            assert!(err.starts_with(&format!("{key}: ")), "{text}: {err}");
        }
        assert!(figures("speed = 1").unwrap_err().contains("speed"));
    }
}
