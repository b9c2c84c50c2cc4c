//! Network time by NTP, every SIMCom family (M800 ch. 9 and the SIM800 NTP application note,
//! M7000 ch. 12, M7080 "NTP"): `AT+CNTPCID` names the bearer (a `AT+SAPBR` profile, or an
//! `AT+CNACT` context), `AT+CNTP=<server>[,<tz>[,<cid>[,<mode>]]]` the server and the zone
//! (quarter hours, -47..48), and `AT+CNTP` asks: `OK`, then `+CNTP: 1` once the clock has the
//! server's time in that zone, or `+CNTP: <code>` (61 network, 62 DNS, 63 connection,
//! 64 service response, 65 timeout). The SIM7000 and SIM7070/7080/7090 add the UTC time,
//! `+CNTP: 1,"yyyy/MM/dd,hh:mm:ss"` (`docs/sim800.md` D42).

use vmodem_at::{Command, Failure, Reply};

use super::profile::Bearer;
use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner, Service, expect};
use crate::service::ntp::job::{Event, NtpError, Request};
use crate::service::{self, JobId};

/// The NTP port.
const PORT: u16 = 123;
/// The longest server name.
const SERVER_MAX: usize = 64;

/// The NTP settings and the request in progress.
#[derive(Debug, Default)]
pub(super) struct Ntp {
    /// `AT+CNTPCID`: the bearer's id.
    cid: u8,
    /// `AT+CNTP=<server>`.
    server: String,
    /// `<time zone>`, quarter hours.
    zone: i8,
    /// `<mode>` (SIM70x0): 0 set the clock, 1 show the time, 2 both.
    mode: u8,
    /// The request in progress.
    job: Option<JobId>,
}

/// The NTP service: the time job's answer.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::Ntp).events(event);

/// The NTP commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CNTPCID").test_with(cntpcid_test).read(cntpcid_read).write(cntpcid_write),
    cmd("+CNTP").test_with(cntp_test).read(cntp_read).write(cntp_write).exec(cntp),
];

impl Simcom {
    /// Whether the family reports the time with the result and takes `<cid>` and `<mode>`.
    fn ntp_extended(&self) -> bool {
        self.profile.bearer == Bearer::AppContexts || self.profile.ca.is_some()
    }
}

fn cntpcid_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let range = if s.profile.bearer == Bearer::AppContexts { "0-3" } else { "1-3" };
    ctx.rsp.line(format!("+CNTPCID: ({range})"));
    Ok(Reply::Ok)
}

fn cntpcid_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+CNTPCID: {}", s.ntp.cid));
    Ok(Reply::Ok)
}

/// `AT+CNTPCID=<cid>`: 0-3 (TinyGSM sends 0 to the SIM7080 and 1 to the others).
fn cntpcid_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    s.ntp.cid = a.uint(0, 0..=3)? as u8;
    Ok(Reply::Ok)
}

fn cntp_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let more = if s.ntp_extended() { ",(0-3),(0-2)" } else { "" };
    ctx.rsp.line(format!("+CNTP: {SERVER_MAX},(-47-48){more}"));
    Ok(Reply::Ok)
}

/// `+CNTP: "<server>",<tz>` (the SIM70x0 also `,<cid>,<mode>`).
fn cntp_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let n = &s.ntp;
    let more = if s.ntp_extended() { format!(",{},{}", n.cid, n.mode) } else { String::new() };
    ctx.rsp.line(format!("+CNTP: \"{}\",{}{more}", n.server, n.zone));
    Ok(Reply::Ok)
}

/// `AT+CNTP=<server>[,<tz>[,<cid>[,<mode>]]]` (`<cid>` and `<mode>` on the SIM70x0 only).
fn cntp_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=if s.ntp_extended() { 4 } else { 2 })?;
    let server = a.text(0, SERVER_MAX)?;
    if server.is_empty() {
        return Err(Failure::Plain);
    }
    let zone = match a.has(1) {
        true => a.text(1, 4)?.parse::<i8>().ok().filter(|z| (-47..=48).contains(z)).ok_or(Failure::Plain)?,
        false => 0,
    };
    if let Some(cid) = a.opt_uint(2, 0..=3)? {
        s.ntp.cid = cid as u8;
    }
    s.ntp.mode = a.opt_uint(3, 0..=2)?.unwrap_or(0) as u8;
    s.ntp.server = server.to_string();
    s.ntp.zone = zone;
    Ok(Reply::Ok)
}

/// `AT+CNTP`: `OK`, then the result; without the bearer up, `+CNTP: 61` at once. One request
/// at a time (another meanwhile is `ERROR`).
fn cntp(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.ntp.job.is_some() || s.ntp.server.is_empty() {
        return Err(Failure::Plain);
    }
    if !s.bearer_up(s.ntp.cid) {
        ctx.io.urc("+CNTP: 61");
        return Ok(Reply::Ok);
    }
    let request = Request::Sync { host: s.ntp.server.clone(), port: PORT };
    s.ntp.job = Some(ctx.io.start(Owner::Ntp, request));
    Ok(Reply::Ok)
}

/// The server's answer: the clock takes it (`<mode>` 0 or 2; always on the SIM800), and the
/// result says so.
fn event(s: &mut Simcom, job: JobId, event: service::Event, io: &mut Io) {
    let Some(Event::Synced(synced)) = expect::<Event>(job, event) else { return };
    if s.ntp.job.take() != Some(job) {
        return;
    }
    let urc = match synced {
        Ok(utc) => {
            let extended = s.ntp_extended();
            if !extended || s.ntp.mode != 1 {
                s.clock.sync(io.now, utc, s.ntp.zone);
            }
            match extended {
                true => format!("+CNTP: 1,\"{}\"", crate::dialect::clock::ntp_time(utc)),
                false => "+CNTP: 1".to_string(),
            }
        }
        Err(e) => {
            tracing::info!(target: "vmodem::ntp", "AT+CNTP: {e}");
            let code = match e {
                NtpError::Network => 61,
                NtpError::Dns => 62,
                NtpError::Connect => 63,
                NtpError::Response => 64,
                NtpError::Timeout => 65,
            };
            format!("+CNTP: {code}")
        }
    };
    io.urc(urc);
}
