//! Metrics a modem's task and a drive feed as they go: job durations by service, and a drive's
//! progress. The API's `/metrics` adds the sums over the modems' snapshots.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::dialect::Owner;

/// The label of a job's duration: the service it belonged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JobLabels {
    service: &'static str,
}

/// How long jobs lasted, by service, shared by the modems of a process.
#[derive(Debug, Clone)]
pub struct JobMetrics {
    durations: Family<JobLabels, Histogram>,
}

impl Default for JobMetrics {
    fn default() -> Self {
        // 10 ms to about 5 minutes, doubling.
        JobMetrics { durations: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 2.0, 16))) }
    }
}

impl JobMetrics {
    /// A job of `owner` ended after `seconds`.
    pub fn job_ended(&self, owner: Owner, seconds: f64) {
        self.durations.get_or_create(&JobLabels { service: owner.name() }).observe(seconds);
    }
}

impl JobMetrics {
    /// A registry with the job durations alone, for a process to add its own metrics to.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        registry.register("vmodem_job_duration_seconds", "How long jobs lasted, by service", self.durations.clone());
        registry
    }
}

/// How far a `vmodem drive` run has come: modems started, ended, and ended in failure.
#[derive(Debug, Clone, Default)]
pub struct DriveProgress {
    counts: std::sync::Arc<[std::sync::atomic::AtomicU64; 3]>,
}

impl DriveProgress {
    /// A modem started its run.
    pub fn started(&self) {
        self.counts[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A modem's run ended, `passed` or not.
    pub fn ended(&self, passed: bool) {
        self.counts[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.counts[2].fetch_add(u64::from(!passed), std::sync::atomic::Ordering::Relaxed);
    }

    /// Modems running, and those that ended in failure.
    pub fn running_and_failed(&self) -> (u64, u64) {
        let [started, ended, failed] = self.counts.each_ref().map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        (started - ended, failed)
    }

    /// Adds its counts to `registry`, as `vmodem_drive_modems{state}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(self.clone()));
    }
}

impl Collector for DriveProgress {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let [started, ended, failed] = self.counts.each_ref().map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        let counter = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "vmodem_drive_modems",
            "Modems of a drive: started, ended, and ended in failure",
            None,
            counter.metric_type(),
        )?;
        for (state, n) in [("started", started), ("ended", ended), ("failed", failed)] {
            ConstCounter::new(n).encode(family.encode_family(&[("state", state)])?)?;
        }
        Ok(())
    }
}
