//! What a modem's task tells observers as it runs, below the modem itself: its state after
//! every step ([`Watch`] of [`Observed`]), its line's bytes to whoever listens ([`LineTap`]),
//! its jobs' durations ([`JobMetrics`]), and a drive's progress ([`DriveProgress`]).
//! [`crate::observe`] reads them.

mod metrics;

use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use metrics::{DriveProgress, JobMetrics};

use crate::core::Status;

/// One modem as an observer sees it: the core's status and what the driver counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes `observed` (the modem's task, after every step).
    pub(crate) fn publish(&self, observed: Observed) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = observed;
    }
}

/// Hears the bytes on a modem's line as they pass (the console's transcript); called by the
/// modem's task, so it must be quick.
pub trait LineTap: Send + Sync + std::fmt::Debug {
    /// Bytes the host sent.
    fn host(&self, bytes: &[u8]);
    /// Bytes the modem sent.
    fn modem(&self, bytes: &[u8]);
    /// A note about the line (a host came or went).
    fn note(&self, what: &str);
}
