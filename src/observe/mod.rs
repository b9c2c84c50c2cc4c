//! Watching modems from outside: each modem's task publishes what an observer may see of it
//! ([`Observed`]) into a [`Watch`] after every step, and times its jobs into the process's
//! [`JobMetrics`]. The HTTP API ([`api`]) lists the modems of a process ([`Modems`]) from those
//! snapshots, steers them through their handles, and exports Prometheus metrics summed over
//! them at scrape time, so that an idle modem costs a snapshot and nothing per scrape interval.

pub mod api;
mod console;
mod metrics;
mod tap;

use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use metrics::{DriveProgress, JobMetrics};
pub use tap::{MAX_TEXT, Tap};

use crate::core::Status;
use crate::family::Family;
use crate::modem::ModemHandle;

/// One modem as an observer sees it: the core's status and what the driver counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// The core's view: power, registration, bearer, work, counters.
    #[serde(flatten)]
    pub status: Status,
    /// A host is connected to the line.
    pub host: bool,
    /// Bytes read from the host.
    pub bytes_in: u64,
    /// Bytes written to the host.
    pub bytes_out: u64,
}

/// Where a modem publishes its [`Observed`] state; cloned into its handle.
#[derive(Debug, Clone, Default)]
pub struct Watch(Arc<Mutex<Observed>>);

impl Watch {
    /// The state last published.
    pub fn get(&self) -> Observed {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Publishes `observed` (the modem's task, after every step).
    pub(crate) fn publish(&self, observed: Observed) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = observed;
    }
}

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
