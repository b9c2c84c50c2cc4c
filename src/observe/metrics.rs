//! Prometheus metrics: the modems' counters and states summed at scrape time from their
//! snapshots, beside the job durations the modems' tasks time as jobs end
//! ([`JobMetrics`](crate::telemetry::JobMetrics)).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::Modems;
use crate::telemetry::Observed;

/// The states a modem is counted in, in the order they are tested.
const STATES: [&str; 5] = ["off", "frozen", "searching", "registered", "connected"];

/// The state `vmodem_modems` counts a modem in.
pub fn state(o: &Observed) -> &'static str {
    let s = &o.status;
    match () {
        () if !s.powered => "off",
        () if s.frozen => "frozen",
        () if !s.attachment.registered => "searching",
        () if s.attachment.ip.is_none() => "registered",
        () => "connected",
    }
}

/// Sums the modems' snapshots on each scrape.
#[derive(Debug)]
struct Sums(Modems);

impl Collector for Sums {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut by_state = [0i64; STATES.len()];
        let (mut busy, mut hosts) = (0i64, 0i64);
        let mut totals = [0u64; 7];
        for entry in self.0.all() {
            let o = entry.handle.status();
            by_state[STATES.iter().position(|s| *s == state(&o)).unwrap_or(0)] += 1;
            busy += i64::from(!o.status.work.is_empty());
            hosts += i64::from(o.host);
            let c = &o.status.counters;
            for (total, n) in
                totals.iter_mut().zip([c.commands, c.urcs, c.faults, c.jobs, c.errors, o.bytes_in, o.bytes_out])
            {
                *total += n;
            }
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor("vmodem_modems", "Modems by state", None, gauge.metric_type())?;
        for (state, n) in STATES.iter().zip(by_state) {
            ConstGauge::new(n).encode(family.encode_family(&[("state", *state)])?)?;
        }
        for (name, help, n) in [
            ("vmodem_modems_busy", "Modems with a job running", busy),
            ("vmodem_hosts_connected", "Modems with a host on the line", hosts),
        ] {
            let gauge = ConstGauge::new(n);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let [commands, urcs, faults, jobs, errors, bytes_in, bytes_out] = totals;
        for (name, help, n) in [
            ("vmodem_commands", "AT commands run", commands),
            ("vmodem_urcs", "URCs raised", urcs),
            ("vmodem_faults", "Fault plan entries that struck", faults),
            ("vmodem_jobs", "Jobs started (transfers, sockets, look-ups, messages)", jobs),
            ("vmodem_errors", "Commands that ended in an error result", errors),
        ] {
            let counter = ConstCounter::new(n);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        let counter = ConstCounter::new(0u64);
        let mut family =
            encoder.encode_descriptor("vmodem_host_bytes", "Bytes on the hosts' lines", None, counter.metric_type())?;
        for (direction, n) in [("in", bytes_in), ("out", bytes_out)] {
            ConstCounter::new(n).encode(family.encode_family(&[("direction", direction)])?)?;
        }
        Ok(())
    }
}

/// The registry `/metrics` encodes: the sums over `modems` and their job durations.
pub fn registry(modems: &Modems) -> Registry {
    let mut registry = modems.metrics().registry();
    registry.register_collector(Box::new(Sums(modems.clone())));
    registry
}
