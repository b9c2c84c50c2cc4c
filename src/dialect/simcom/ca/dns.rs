//! `AT+CDNSGIP=<url>[,<recount>,<timeout>]` (M7080 §19.2.3): `OK`, then
//! `+CDNSGIP: 1,"<url>","<ip>"[,"<ipv6>"]` or `+CDNSGIP: 0,<err>`.

use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{Command, Failure, Reply};

use super::super::Simcom;
use super::{Ca, WRONG_STATE};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::service::JobId;
use crate::service::socket::SocketError;
use crate::service::socket::job::Request;

/// The longest `<url>` (the test form's 65).
const URL_MAX: usize = 65;
/// DNS_NETWORK_ERROR: no `AT+CNACT` context is active.
pub(super) const NETWORK_ERROR: u8 = 3;
/// DNS_TIMEOUT: no answer within `<timeout>`.
const TIMEOUT: u8 = 5;
/// DNS_ERROR_UNKNOWN: the name did not resolve.
const UNKNOWN: u8 = 8;

/// A look-up in progress.
#[derive(Debug)]
pub(super) struct Lookup {
    job: JobId,
    url: String,
    deadline: Instant,
}

impl Ca {
    /// When the look-up in progress gives up.
    pub(super) fn lookup_deadline(&self) -> Option<Instant> {
        self.lookup.as_ref().map(|l| l.deadline)
    }
}

/// `AT+CDNSGIP`: with an active `AT+CNACT` context, `OK` and a look-up whose answer comes as
/// a URC; without one, `OK` and `+CDNSGIP: 0,3`. One at a time: another meanwhile is CME 3.
/// `<recount>` is taken and not used (the resolver retries); `<timeout>` is in ms, and
/// 0 or none means 60000 (D40).
pub(super) fn cdnsgip(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=3)?;
    let url = Some(a.text(0, URL_MAX)?).filter(|u| !u.is_empty()).ok_or(Failure::Plain)?.to_string();
    a.opt_uint(1, 0..=10)?;
    let ms = a.opt_uint(2, 0..=60_000)?.filter(|&ms| ms > 0).unwrap_or(60_000);
    if s.ca.lookup.is_some() {
        return Err(WRONG_STATE);
    }
    if !s.bearers.apps.iter().any(|c| c.active) {
        ctx.io.urc(format!("+CDNSGIP: 0,{NETWORK_ERROR}"));
        return Ok(Reply::Ok);
    }
    let job = ctx.io.start(Owner::AppSocket, Request::Resolve { host: url.clone() });
    s.ca.lookup = Some(Lookup { job, url, deadline: ctx.io.now + Duration::from_millis(ms) });
    Ok(Reply::Ok)
}

/// `+CDNSGIP: 1,"<url>","<ip>"`: the first IPv4 address, then the first IPv6 one if there
/// is one as well (D40).
fn answer(url: &str, found: &[IpAddr]) -> String {
    let v4 = found.iter().find(|ip| ip.is_ipv4());
    let v6 = found.iter().find(|ip| ip.is_ipv6());
    let ips: Vec<String> = [v4, v6].into_iter().flatten().map(|ip| format!("\"{ip}\"")).collect();
    format!("+CDNSGIP: 1,\"{url}\",{}", ips.join(","))
}

impl Simcom {
    /// The look-up `job` answered.
    pub(super) fn cdnsgip_answer(&mut self, job: JobId, found: Result<Vec<IpAddr>, SocketError>, io: &mut Io) {
        let Some(lookup) = self.ca.lookup.take_if(|l| l.job == job) else {
            tracing::warn!(target: "vmodem::socket", "job {job}: a look-up nobody waits for");
            return;
        };
        match found {
            Ok(found) if !found.is_empty() => io.urc(answer(&lookup.url, &found)),
            Ok(_) => io.urc(format!("+CDNSGIP: 0,{UNKNOWN}")),
            Err(e) => {
                tracing::info!(target: "vmodem::socket", "AT+CDNSGIP: {e}");
                io.urc(format!("+CDNSGIP: 0,{UNKNOWN}"));
            }
        }
    }

    /// The look-up's time is up: `+CDNSGIP: 0,5`.
    pub(super) fn cdnsgip_tick(&mut self, io: &mut Io) {
        if self.ca.lookup.as_ref().is_some_and(|l| io.now >= l.deadline) {
            self.cdnsgip_fail(TIMEOUT, io);
        }
    }

    /// Ends the look-up in progress, if any, with `+CDNSGIP: 0,<err>`.
    pub(super) fn cdnsgip_fail(&mut self, err: u8, io: &mut Io) {
        if let Some(lookup) = self.ca.lookup.take() {
            io.cancel(lookup.job);
            io.urc(format!("+CDNSGIP: 0,{err}"));
        }
    }
}
