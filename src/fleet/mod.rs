//! Fleets: many modems in one process (`vmodem fleet`), each with its own line, identity
//! ([`identity`]) and file system, sharing the module configuration, the network and an SMS
//! centre, so that they can text one another. `[fleet]` mixes families and link profiles by
//! weight, drawn per modem from a seed, so that a run can be repeated exactly. A fleet may be one shard of a larger one
//! ([`Shard`]): the shards of one fleet serve disjoint indices, so identities and numbers never
//! collide across processes.

pub mod drive;
pub mod identity;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{FleetFault, FleetSection, ModuleConfig};
use crate::dialect;
use crate::family::Family;
use crate::modem::Modem;
use crate::net::LinkProfile;
use crate::net::Net;
use crate::observe::{JobMetrics, ModemEntry, Modems, Tap};
use crate::transport::line::{self, LineGuard, LineOptions};
use crate::transport::pacing::LineSpeed;

/// One of `count` slices of a fleet: `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This slice, from 0.
    pub index: u64,
    /// How many slices the fleet has.
    pub count: u64,
}

impl Shard {
    /// The whole fleet in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The modem indices of this slice of a fleet of `modems`: contiguous, the remainder going
    /// to the first slices.
    pub fn range(&self, modems: u64) -> Range<u64> {
        let (per, extra) = (modems / self.count, modems % self.count);
        let start = self.index * per + self.index.min(extra);
        let len = per + u64::from(self.index < extra);
        start..start + len
    }
}

impl Shard {
    /// Slice of `count` that the orchestrator gave this process: Kubernetes' `JOB_COMPLETION_INDEX`
    /// (an Indexed Job's pod), else the ordinal that ends a StatefulSet pod's `HOSTNAME`
    /// (`vmodem-fleet-3` is slice 3). `env` looks a variable up.
    pub fn from_env(count: u64, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let index = match env("JOB_COMPLETION_INDEX") {
            Some(index) => index,
            None => {
                let host =
                    env("HOSTNAME").ok_or("--shards needs JOB_COMPLETION_INDEX or a HOSTNAME ending -<ordinal>")?;
                host.rsplit_once('-').map(|(_, ordinal)| ordinal.to_string()).ok_or_else(|| {
                    format!("HOSTNAME {host:?} does not end -<ordinal>, and JOB_COMPLETION_INDEX is not set")
                })?
            }
        };
        format!("{index}/{count}").parse()
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `K/N`: slice K of N, K from 0 to N-1.
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: a shard is K/N"))?;
        let index: u64 = k.trim().parse().map_err(|_| format!("{k:?} is not a number"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("{n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: K is 0 to N-1, N at least 1"));
        }
        Ok(Shard { index, count })
    }
}

/// Tells the family draw from the profile draw of one modem.
const DIALECT_DRAW: u64 = 1;
/// See [`DIALECT_DRAW`].
const PROFILE_DRAW: u64 = 2;
/// See [`DIALECT_DRAW`].
const FAULT_DRAW: u64 = 3;

/// The module configuration of modem `index`: the fleet's, with the modem's own identity and a
/// file system of its own under the fleet's (`<root>/modem-<index>`, or a temporary folder).
pub fn module_of(base: &ModuleConfig, index: u64) -> Arc<ModuleConfig> {
    let mut module = base.clone();
    module.identity = identity::indexed(&base.identity, index);
    module.fs.root = base.fs.root.as_ref().map(|root| root.join(format!("modem-{index}")));
    Arc::new(module)
}

/// Where modem `index`'s line is, from the fleet's: TCP port `base + index`, or a Unix socket
/// or PTY named for the index in a folder.
#[derive(Debug, Clone)]
pub enum Lines {
    /// `--tcp ADDR`: modem i listens on ADDR's port + i.
    Tcp(std::net::SocketAddr),
    /// `--unix DIR`: `DIR/modem-<i>.sock`.
    Unix(PathBuf),
    /// `--pty DIR`: `DIR/ttyVM<i>`.
    Pty(PathBuf),
    /// `--connect TEMPLATE`: modem i dials the template with `{index}` replaced by i (`unix:
    /// DIR/host-{index}.sock`, `host-{index}.lab:7000`), or, for `HOST:PORT` without
    /// `{index}`, HOST at PORT + i: each modem is the serial line of one emulator or host.
    Connect(String),
}

impl Lines {
    /// Modem `index`'s line; an error if its TCP port would pass 65535.
    pub fn line(&self, index: u64) -> Result<crate::transport::line::Line, String> {
        use crate::transport::line::Line;
        Ok(match self {
            Lines::Tcp(addr) => {
                let port = u64::from(addr.port()) + index;
                let port = u16::try_from(port).map_err(|_| format!("modem {index} would need TCP port {port}"))?;
                Line::Tcp(std::net::SocketAddr::new(addr.ip(), port))
            }
            Lines::Unix(dir) => Line::Unix(dir.join(format!("modem-{index}.sock"))),
            Lines::Pty(dir) => Line::Pty(dir.join(format!("ttyVM{index}"))),
            Lines::Connect(template) => Line::Connect(connect_address(template, index)?.parse()?),
        })
    }
}

/// The address modem `index` dials for `--connect TEMPLATE` (see [`Lines::Connect`]).
fn connect_address(template: &str, index: u64) -> Result<String, String> {
    if template.contains("{index}") {
        return Ok(template.replace("{index}", &index.to_string()));
    }
    let (host, port) = template
        .rsplit_once(':')
        .filter(|_| !template.starts_with("unix:"))
        .ok_or_else(|| format!("{template:?}: a unix: template needs {{index}}, or give HOST:PORT"))?;
    let port: u64 = port.parse().map_err(|_| format!("{template:?}: {port:?} is not a port"))?;
    let port = u16::try_from(port + index).map_err(|_| format!("modem {index} would dial port {}", port + index))?;
    Ok(format!("{host}:{port}"))
}

/// The modems `[[fleet.faults]]` rule `rule` strikes in period `period`, with the moment in the
/// period (a fraction of it), from the seed: the same on every run.
pub fn struck(seed: u64, rule: u64, period: u64, rate: f64, indices: impl Iterator<Item = u64>) -> Vec<(f64, u64)> {
    let mut struck: Vec<(f64, u64)> = indices
        .filter_map(|index| {
            let salt = rule.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ period.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
            let mut rng =
                fastrand::Rng::with_seed(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt ^ FAULT_DRAW);
            (rng.f64() < rate).then(|| (rng.f64(), index))
        })
        .collect();
    struck.sort_by(|a, b| a.0.total_cmp(&b.0));
    struck
}

/// Strikes the share of `modems` that `fault` names in each of its periods, for ever.
async fn strike_share(modems: Modems, seed: u64, rule: u64, fault: FleetFault) {
    let period = fault.period.duration();
    let start = tokio::time::Instant::now();
    for n in 0u64.. {
        let begins = start + period * u32::try_from(n).unwrap_or(u32::MAX);
        for (at, index) in struck(seed, rule, n, fault.rate, modems.all().iter().map(|e| e.index)) {
            tokio::time::sleep_until(begins + period.mul_f64(at)).await;
            if let Some(entry) = modems.get(index) {
                tracing::info!(target: "vmodem::fleet", "modem {index}: [[fleet.faults]] {rule} strikes");
                entry.handle.fault(fault.fault.clone());
            }
        }
        tokio::time::sleep_until(begins + period).await;
    }
}

/// A running fleet: its modems' tasks (stopped when it is dropped) and their lines.
pub struct Fleet {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    modems: Modems,
    /// The lines' descriptions, by modem, for the banner.
    pub described: Vec<(u64, String)>,
    _lines: Vec<LineGuard>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Why a fleet did not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A modem's line could not be opened (a port in use, a folder missing).
    #[error("modem {index}: {message}")]
    Line {
        /// The modem.
        index: u64,
        /// What went wrong.
        message: String,
    },
    /// The script does not compile for a modem (a variable it lacks).
    #[error("modem {index}: the script: {message}")]
    Script {
        /// The modem.
        index: u64,
        /// What is wrong.
        message: String,
    },
    /// A `[fleet]` choice names no family or link profile.
    #[error("[fleet]: {0}")]
    Variety(String),
    /// A modem could not be built (its file system).
    #[error("modem {index}: {source}")]
    Build {
        /// The modem.
        index: u64,
        /// What went wrong.
        source: dialect::BuildError,
    },
}

impl Fleet {
    /// Starts modems `indices` of the fleet described by `base`, on `lines`, all on `net` (so
    /// they share the SMS centre and can text one another), each of the family and on the link
    /// profile `variety` draws for it.
    pub async fn start(
        base: &ModuleConfig,
        lines: &Lines,
        indices: Range<u64>,
        net: &Net,
        options: LineOptions,
        variety: &FleetSection,
    ) -> Result<Fleet, FleetError> {
        for choice in &variety.dialects {
            choice.name.parse::<Family>().map_err(|e| FleetError::Variety(e.to_string()))?;
        }
        for choice in &variety.profiles {
            choice.name.parse::<LinkProfile>().map_err(FleetError::Variety)?;
        }
        let (mut tasks, mut described, mut guards, mut entries) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let metrics = JobMetrics::default();
        for index in indices {
            let line = lines.line(index).map_err(|message| FleetError::Line { index, message })?;
            let mut module = module_of(base, index);
            if let Some(family) = variety.draw(&variety.dialects, index, DIALECT_DRAW) {
                let family: Family = family.parse().map_err(|e| FleetError::Variety(format!("{e}")))?;
                Arc::make_mut(&mut module).family = family;
            }
            // A link and faults of its own, so that the API can change one modem's.
            let modem_net = match variety.draw(&variety.profiles, index, PROFILE_DRAW) {
                Some(profile) => net.with_own_link(profile.parse().map_err(FleetError::Variety)?),
                None => net.with_own_link(net.profile()),
            };
            let (family, imei, number) = (module.family, module.identity.imei.clone(), module.identity.number.clone());
            let dialect = dialect::build_deferred(module).map_err(|source| FleetError::Build { index, source })?;
            let speed = LineSpeed::new();
            let open = line::open(&line, options, speed.clone())
                .await
                .map_err(|e| FleetError::Line { index, message: e.to_string() })?;
            described.push((index, open.described.clone()));
            let (links, guard) = open.into_parts();
            guards.push(guard);
            let tap = Arc::new(Tap::default());
            let modem = Modem::new(dialect, modem_net)
                .with_line_speed(speed)
                .with_metrics(metrics.clone())
                .with_tap(tap.clone());
            entries.push(ModemEntry { index, family, imei, number, handle: modem.handle(), tap });
            tasks.push(tokio::spawn(modem.run(links)));
        }
        let modems = Modems::new(entries, metrics);
        for (rule, fault) in variety.faults.iter().enumerate() {
            tasks.push(tokio::spawn(strike_share(modems.clone(), variety.seed, rule as u64, fault.clone())));
        }
        Ok(Fleet { tasks, modems, described, _lines: guards })
    }

    /// Its modems, for the API.
    pub fn modems(&self) -> &Modems {
        &self.modems
    }

    /// How many modems run.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether none do.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_fleet_into_disjoint_slices_that_cover_it() {
        let shards: Vec<Range<u64>> = (0..3).map(|k| Shard { index: k, count: 3 }.range(10)).collect();
        assert_eq!(shards, [0..4, 4..7, 7..10]);
        assert_eq!(Shard::WHOLE.range(5), 0..5);
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
        };
        assert_eq!(Shard::from_env(4, env(&[("JOB_COMPLETION_INDEX", "3")])), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(Shard::from_env(4, env(&[("HOSTNAME", "vmodem-fleet-2")])), Ok(Shard { index: 2, count: 4 }));
        assert!(Shard::from_env(4, env(&[("HOSTNAME", "vmodem-fleet-4")])).is_err());
        assert!(Shard::from_env(4, env(&[("HOSTNAME", "laptop")])).is_err());
        assert!(Shard::from_env(4, env(&[])).is_err());
    }

    #[test]
    fn draws_follow_the_weights_and_the_seed() {
        use crate::config::Weighted;
        let choices = [Weighted { name: "catm".into(), weight: 70 }, Weighted { name: "nbiot".into(), weight: 30 }];
        let variety = FleetSection { seed: 42, ..FleetSection::default() };
        let drawn: Vec<&str> = (0..10_000).map(|i| variety.draw(&choices, i, PROFILE_DRAW).unwrap()).collect();
        let catm = drawn.iter().filter(|d| **d == "catm").count();
        assert!((6_700..=7_300).contains(&catm), "{catm} of 10,000 drew catm");
        let again: Vec<&str> = (0..10_000).map(|i| variety.draw(&choices, i, PROFILE_DRAW).unwrap()).collect();
        assert_eq!(drawn, again, "the same seed, the same draws");
        let other = FleetSection { seed: 43, ..FleetSection::default() };
        assert_ne!(drawn, (0..10_000).map(|i| other.draw(&choices, i, PROFILE_DRAW).unwrap()).collect::<Vec<_>>());
        assert_eq!(variety.draw(&[], 1, PROFILE_DRAW), None);
        // Each modem's own link: changing one leaves the network's.
        let net = Net::default();
        let own = net.with_own_link("nbiot".parse().unwrap());
        assert_eq!(own.profile().to_string(), "nbiot");
        assert_eq!(net.profile().to_string(), "instant");
    }

    #[test]
    fn fault_rates_strike_their_share_the_same_way_every_run() {
        let first = struck(9, 0, 0, 0.1, 0..10_000);
        assert!((900..=1_100).contains(&first.len()), "{} of 10,000 struck", first.len());
        assert_eq!(first, struck(9, 0, 0, 0.1, 0..10_000), "the same seed, the same modems");
        assert!(first.windows(2).all(|w| w[0].0 <= w[1].0), "in the order they strike");
        assert!(first.iter().all(|(at, _)| (0.0..1.0).contains(at)));
        assert_ne!(first, struck(9, 0, 1, 0.1, 0..10_000), "another period, other modems");
        assert_ne!(first, struck(9, 1, 0, 0.1, 0..10_000), "another rule, other modems");
        assert!(struck(9, 0, 0, 0.0, 0..10_000).is_empty());
        assert_eq!(struck(9, 0, 0, 1.0, 0..100).len(), 100);
    }

    #[test]
    fn each_modem_has_its_line_and_its_folder() {
        let lines = Lines::Tcp("127.0.0.1:7000".parse().unwrap());
        assert!(matches!(lines.line(5), Ok(crate::transport::line::Line::Tcp(a)) if a.port() == 7005));
        assert!(Lines::Tcp("127.0.0.1:65535".parse().unwrap()).line(1).is_err());
        let dial = |template: &str, index| match Lines::Connect(template.into()).line(index) {
            Ok(crate::transport::line::Line::Connect(endpoint)) => Ok(endpoint.to_string()),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e),
        };
        assert_eq!(dial("unix:/run/host-{index}.sock", 12), Ok("unix:/run/host-12.sock".into()));
        assert_eq!(dial("bench-{index}.lab:7000", 3), Ok("bench-3.lab:7000".into()));
        assert_eq!(dial("127.0.0.1:7000", 3), Ok("127.0.0.1:7003".into()));
        assert!(dial("127.0.0.1:65535", 1).is_err());
        assert!(dial("unix:/run/host.sock", 1).is_err(), "one socket for every modem");
        assert!(dial("nowhere", 1).is_err());
        let mut base = ModuleConfig::default();
        base.fs.root = Some("/fleet".into());
        let module = module_of(&base, 3);
        assert_eq!(module.fs.root.as_deref(), Some(std::path::Path::new("/fleet/modem-3")));
        assert_eq!(module.identity.number, "+8613800000004");
    }
}
