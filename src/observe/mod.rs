//! Watching and steering the modems of a process from outside. Each modem's task publishes
//! what an observer may see of it into its [`Watch`] and line [`Tap`] ([`crate::telemetry`]);
//! the HTTP API ([`api`]) lists the modems of a process ([`Modems`]) from those snapshots,
//! steers them through their handles, serves the web console, and exports Prometheus metrics
//! summed over them at scrape time, so that an idle modem costs a snapshot and nothing per
//! scrape interval.

pub mod api;
mod console;
mod metrics;
mod tap;

use std::sync::Arc;

use crate::family::Family;
use crate::modem::ModemHandle;
pub use crate::telemetry::{DriveProgress, JobMetrics, Observed, Watch};
pub use tap::{MAX_TEXT, Tap};

/// One modem of a process, for the API: who it is and the handle that steers it.
#[derive(Debug, Clone)]
pub struct ModemEntry {
    /// Its index in the fleet (0 for `vmodem serve`).
    pub index: u64,
    /// Its family.
    pub family: Family,
    /// Its IMEI.
    pub imei: String,
    /// Its subscriber number.
    pub number: String,
    /// Steers it and reads its state.
    pub handle: ModemHandle,
    /// Its line, for consoles (the modem was given it with [`Modem::with_tap`]).
    ///
    /// [`Modem::with_tap`]: crate::modem::Modem::with_tap
    pub tap: Arc<Tap>,
}

/// The modems of a process, by index, and the metrics they share.
#[derive(Debug, Clone)]
pub struct Modems {
    /// Sorted by index.
    entries: Arc<Vec<ModemEntry>>,
    metrics: JobMetrics,
}

impl Modems {
    /// The modems `entries` (in any order), timing their jobs into `metrics`.
    pub fn new(mut entries: Vec<ModemEntry>, metrics: JobMetrics) -> Self {
        entries.sort_by_key(|e| e.index);
        Modems { entries: Arc::new(entries), metrics }
    }

    /// All of them, by index.
    pub fn all(&self) -> &[ModemEntry] {
        &self.entries
    }

    /// The modem with index `index`.
    pub fn get(&self, index: u64) -> Option<&ModemEntry> {
        self.entries.binary_search_by_key(&index, |e| e.index).ok().map(|i| &self.entries[i])
    }

    /// The job metrics the modems share.
    pub fn metrics(&self) -> &JobMetrics {
        &self.metrics
    }
}
