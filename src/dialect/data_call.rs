//! The packet data call: the host dials the network (`ATD*99#`, `AT+CGDATA`) and runs its own
//! IP stack over PPP on the line, as pppd, Zephyr's `modem_cellular` and ESP-IDF's esp-modem
//! do. Every family answers these alike, but for its `CONNECT` text and the way its PPP side
//! negotiates (a [`CallProfile`] row); a family supplies its state through [`DataCall`] and
//! puts [`commands`] in its tables and [`service`] in its services.
//!
//! - `ATD*99[*[<called_address>][*[<L2P>][*[<cid>]]]]#` (TS 27.007 §10.2.1.1, the GPRS
//!   service code 99) and `AT+CGDATA="PPP"[,<cid>]` (§10.1.12) answer `CONNECT` and the line
//!   carries PPP (SIM800 Series AT Command Manual V1.09 §20.8; SIM7080 Series AT Command
//!   Manual V1.05 §2.2.2). No `OK` follows `CONNECT` (V.250 §6.3.1). `ATD*99##`, which
//!   esp-modem sends a SIM7070, is taken as `ATD*99#`. Other dial strings (voice, data
//!   calls) are not emulated: `ERROR`.
//! - A call needs registration: without it, `NO CARRIER` (V.250 §6.3.1's result for a call
//!   that could not be made). A context that is not defined (`AT+CGDCONT`), or of a type PPP
//!   cannot carry here (IPv6, non-IP), is a bad value.
//! - `+++` with a second of silence before and after (V.250 §6.3.7 S12; SIM800 manual
//!   §2.2.12) returns to command mode with `OK`, the call staying up; `ATO` goes back with
//!   `CONNECT` (§2.2.13). `ATH` ends the call: `OK`.
//! - The host's LCP Terminate-Request, or the modem's own after the bearer or registration
//!   is lost, ends the call: `NO CARRIER` as the phase's result while online, as a URC in
//!   command mode (V.250 §5.7.1).
//!
//! The call's PPP side (the link's control protocols and the relay of the host's IP traffic)
//! runs as a job ([`crate::service::ppp::job`]). The host's bytes wait in a buffer of [`HOLD_MAX`]
//! bytes and go to the job one piece at a time, each acknowledged before the next (the line
//! stops being read while the buffer is full, as a module drops CTS); the job's bytes go to
//! the line as they come while online, and are dropped in command mode (the host's TCP sends
//! them again once back online).

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply, Response};

use super::cellular::Cellular;
use super::{Ctx, Entry, Io, Outcome, Owner, Service, expect};
use crate::ppp::link::{Flavour, LinkConfig};
use crate::ppp::relay::RelayConfig;
use crate::service::JobId;
use crate::service::ppp::job::{End, Event, Input, Request};

/// The silence before and after `+++` (SIM800 manual §2.2.12: one second).
const GUARD: Duration = Duration::from_secs(1);
/// Host bytes held for the call before the line stops being read.
pub const HOLD_MAX: usize = 16 * 1024;
/// The most host bytes handed to the call's job at once.
const FEED_MAX: usize = 4 * 1024;
/// Online data: everything up to the escape.
const ONLINE: DataPhase = DataPhase::Online { escape: b'+' };
/// The MRU the modem's PPP takes, and the IP MTU it gives the host (Zephyr's PPP is built for
/// 1500).
const MRU: u16 = 1500;

/// How a family answers and negotiates a data call.
#[derive(Debug, Clone, Copy)]
pub struct CallProfile {
    /// What follows a successful dial and `ATO`.
    pub connect: &'static str,
    /// How its PPP side negotiates.
    pub flavour: Flavour,
}

/// SIM800 and SIM900: a bare `CONNECT` (SIM800 manual §20.8; a captured SIM800L exchange reads
/// 11 bytes, `\r\nCONNECT\r\n`, before the first LCP frame).
pub const GSM: CallProfile = CallProfile { connect: "CONNECT", flavour: Flavour::Sim800 };
/// SIM7080, SIM7070, SIM7090: `CONNECT` with the wireless connection speed (SIM7080 manual
/// §2.2.2 and §2.2.9 with the default `AT&E0`, §2.2.23).
pub const LTE: CallProfile = CallProfile { connect: "CONNECT 150000000", flavour: Flavour::Sim7080 };
/// SIM7000: as the SIM7080 (its manual shows no data call; the firmware is of the same line).
pub const SIM7000: CallProfile = LTE;
/// Fibocom L610: a bare `CONNECT` and the PAP-first negotiation (its manual shows no data
/// call; chosen as the 2G module's, the simpler of the two).
pub const L610: CallProfile = GSM;

/// Where the call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// No call.
    #[default]
    Idle,
    /// The line carries PPP.
    Online,
    /// The host escaped with `+++`: commands, the call staying up.
    Command,
}

/// The data call's state.
#[derive(Debug, Default)]
pub struct Call {
    state: State,
    /// Its PPP job.
    job: Option<JobId>,
    /// Host bytes not yet with the job.
    held: Vec<u8>,
    /// A piece is with the job and not yet acknowledged.
    feeding: bool,
    /// The time of the last call into the service, when host bytes wait to be fed.
    now: Option<Instant>,
    /// Bytes of the link dropped because the line was in command mode.
    dropped: u64,
    /// Calls made since power-on.
    calls: u64,
}

impl Call {
    /// Whether a call is up (online or escaped).
    pub fn active(&self) -> bool {
        self.state != State::Idle
    }

    fn end(&mut self) {
        *self = Call { dropped: self.dropped, calls: self.calls, ..Call::default() };
    }
}

/// What a family gives the data call commands.
pub trait DataCall: Cellular {
    /// Its call.
    fn call(&mut self) -> &mut Call;
    /// Its call, to look at.
    fn call_ref(&self) -> &Call;
    /// How it answers and negotiates.
    fn call_profile(&self) -> CallProfile;
    /// `ATO` when no data call waits: the family's other online mode (SIMCom's transparent
    /// socket), or a bad value.
    fn other_online(&mut self, _cmd: &Command, _ctx: &mut Ctx<'_, '_>) -> Outcome {
        Err(Failure::Plain)
    }
}

/// The commands, for a family's tables.
pub const fn commands<S: DataCall>() -> [Entry<S>; 4] {
    [
        Entry::new("D").write(dial::<S>),
        Entry::new("+CGDATA").test("+CGDATA: (\"PPP\")").write(cgdata::<S>),
        Entry::new("O").exec(ato::<S>),
        Entry::new("H").exec(hang_up::<S>).write(hang_up::<S>),
    ]
}

/// The call's service row: its job's events, the line's bytes, its result, its timer.
pub const fn service<S: DataCall>() -> Service<S> {
    Service::new(Owner::Ppp)
        .events(event::<S>)
        .data(data::<S>, data_end::<S>)
        .resume(resume::<S>)
        .timer(deadline::<S>, tick::<S>)
        .paused(|s| s.call_ref().held.len() >= HOLD_MAX)
}

/// The context a packet data dial string names: `*99[*[addr][*[L2P][*[cid]]]]#`; `Ok(None)`
/// for the default context. `Err` for a dial string that is no packet data call.
fn packet_dial(dial: &str) -> Result<Option<u8>, ()> {
    let rest = dial.trim().strip_prefix("*99").ok_or(())?;
    // `*99##` (esp-modem's SIM7070 variant) ends with one `#` too many.
    let rest = rest.strip_suffix('#').ok_or(())?.trim_end_matches('#');
    let mut fields = rest.split('*');
    if fields.next() != Some("") {
        return Err(());
    }
    let fields: Vec<&str> = fields.collect();
    if fields.len() > 3 {
        return Err(());
    }
    if let Some(l2p) = fields.get(1).filter(|l| !l.is_empty())
        && !matches!(l2p.to_ascii_uppercase().as_str(), "PPP" | "1")
    {
        return Err(());
    }
    match fields.get(2).filter(|c| !c.is_empty()) {
        Some(cid) => cid.parse::<u8>().map(Some).map_err(|_| ()),
        None => Ok(None),
    }
}

/// `ATD<dial string>`: a packet data call.
fn dial<S: DataCall>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let dial = cmd.args().first().map(|a| String::from_utf8_lossy(a.bytes()).into_owned()).unwrap_or_default();
    let cid = packet_dial(&dial).map_err(|()| s.bad())?;
    connect(s, cid.unwrap_or(1), ctx)
}

/// `AT+CGDATA="PPP"[,<cid>]`: only PPP (SIM800 manual §7.2.6).
fn cgdata<S: DataCall>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = super::args::Args::of(cmd, s.bad());
    a.count(1..=2)?;
    if !a.text(0, 8)?.eq_ignore_ascii_case("PPP") {
        return Err(s.bad());
    }
    let cid = a.opt_uint(1, 1..=24)?.unwrap_or(1) as u8;
    connect(s, cid, ctx)
}

/// Makes the call on context `cid`: `CONNECT`, and the line carries PPP.
fn connect<S: DataCall>(s: &mut S, cid: u8, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.call_ref().active() {
        return Err(s.bad());
    }
    let bad = s.bad();
    let context = s.contexts().iter().find(|c| c.cid == cid).cloned().ok_or(bad)?;
    if !matches!(context.pdp_type.as_str(), "IP" | "IPV4V6") {
        return Err(bad);
    }
    if !s.registered() {
        return Ok(Reply::Text("NO CARRIER".into()));
    }
    let network = s.network();
    let host = Ipv4Addr::from(u32::from(network.ip).wrapping_add(u32::from(cid) - 1));
    let dns = network.dns;
    let flavour = s.call_profile().flavour;
    // The magic number and CHAP challenges are drawn from the modem's IMEI and the call's
    // number, so a run repeats exactly (and a transcript can hold the modem's first frame).
    let imei = s.config().identity.imei.parse::<u64>().unwrap_or(0);
    let seed = imei ^ (u64::from(cid) << 56) ^ (s.call_ref().calls << 48);
    let link = LinkConfig { flavour, credentials: None, host, dns, mru: MRU, seed };
    let relay = RelayConfig { host, dns, mtu: usize::from(MRU) };
    let job = ctx.io.start(Owner::Ppp, Request { link, relay });
    tracing::info!(target: "vmodem::ppp", "data call on context {cid}: host {host}");
    let (dropped, calls) = (s.call_ref().dropped, s.call_ref().calls + 1);
    *s.call() = Call { state: State::Online, job: Some(job), now: Some(ctx.io.now), dropped, calls, ..Call::default() };
    online(s, ctx)
}

/// `CONNECT`, then online data.
fn online<S: DataCall>(s: &mut S, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.call_profile().connect);
    ctx.io.data_idle(GUARD);
    Ok(ctx.io.data(Owner::Ppp, ONLINE))
}

/// `ATO`: back to the call the host escaped from; the family's other online mode otherwise.
fn ato<S: DataCall>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.call_ref().state != State::Command {
        return s.other_online(cmd, ctx);
    }
    s.call().state = State::Online;
    online(s, ctx)
}

/// `ATH[0]`: ends the call (its PPP stops, its connections close); `OK` with or without one.
fn hang_up<S: DataCall>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if super::args::Args::of(cmd, s.bad()).opt_uint(0, 0..=0)?.is_some() || cmd.args().len() > 1 {
        return Err(s.bad());
    }
    if let Some(job) = s.call().job.take() {
        tracing::info!(target: "vmodem::ppp", "data call hung up");
        ctx.io.cancel(job);
    }
    s.call().end();
    Ok(Reply::Ok)
}

/// The call's job reported: bytes for the line, a piece taken, or the call's end.
fn event<S: DataCall>(s: &mut S, job: JobId, event: crate::service::Event, io: &mut Io) {
    let Some(event) = expect::<Event>(job, event) else { return };
    let call = s.call();
    if call.job != Some(job) {
        return;
    }
    call.now = Some(io.now);
    match event {
        Event::Line(bytes) if call.state == State::Online => io.raw(bytes),
        Event::Line(bytes) => call.dropped += bytes.len() as u64,
        Event::Taken => call.feeding = false,
        Event::Ended(end) => {
            match &end {
                End::Failed(why) => tracing::warn!(target: "vmodem::ppp", "data call failed: {why}"),
                other => tracing::info!(target: "vmodem::ppp", "data call ended: {other:?}"),
            }
            match call.state {
                State::Online => io.resume(),
                _ => io.urc("NO CARRIER"),
            }
            call.end();
        }
    }
}

/// The host's bytes while online.
fn data<S: DataCall>(s: &mut S, payload: &[u8]) {
    s.call().held.extend_from_slice(payload);
}

/// The host escaped with `+++`: command mode, the call stays; `OK`. The line gone under the
/// call (its CMUX channel closed): the call ends, as a module hangs up when DTR drops with
/// `AT&D2` (V.250 §6.2.9).
fn data_end<S: DataCall>(s: &mut S, end: DataEnd, _: &mut Response<'_>, io: &mut Io) -> Reply {
    let call = s.call();
    call.now = Some(io.now);
    match end {
        DataEnd::Complete => {
            if call.state == State::Online {
                call.state = State::Command;
            }
        }
        DataEnd::Incomplete => {
            tracing::info!(target: "vmodem::ppp", "the data call's line went: hung up");
            if let Some(job) = call.job.take() {
                io.cancel(job);
            }
            call.end();
        }
    }
    Reply::Ok
}

/// The call ended while online: `NO CARRIER` ends the phase.
fn resume<S: DataCall>(_: &mut S, _: &mut Response<'_>, _: &mut Io) -> Reply {
    Reply::Text("NO CARRIER".into())
}

/// Now, when host bytes wait and the job can take a piece.
fn deadline<S: DataCall>(s: &S) -> Option<Instant> {
    let call = s.call_ref();
    let due = call.job.is_some() && !call.feeding && !call.held.is_empty();
    due.then_some(call.now).flatten()
}

/// Hands the job the next piece of the host's bytes.
fn tick<S: DataCall>(s: &mut S, io: &mut Io) {
    let call = s.call();
    call.now = Some(io.now);
    let Some(job) = call.job.filter(|_| !call.feeding && !call.held.is_empty()) else { return };
    let n = call.held.len().min(FEED_MAX);
    let piece: Vec<u8> = call.held.drain(..n).collect();
    call.feeding = true;
    io.feed(job, Input::Line(piece));
}

/// The network took the call's bearer (a release, a lost registration, `AT+CFUN=0`): its PPP
/// ends the link with a Terminate-Request, and the call ends with `NO CARRIER`.
pub fn lost<S: DataCall>(s: &mut S, io: &mut Io) {
    if let Some(job) = s.call_ref().job {
        tracing::info!(target: "vmodem::ppp", "the data call's bearer went");
        io.feed(job, Input::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::packet_dial;

    #[test]
    fn the_dial_strings_hosts_send() {
        assert_eq!(packet_dial("*99#"), Ok(None));
        assert_eq!(packet_dial("*99***1#"), Ok(Some(1)));
        assert_eq!(packet_dial("*99##"), Ok(None));
        assert_eq!(packet_dial("*99**PPP*2#"), Ok(Some(2)));
        assert_eq!(packet_dial("*99*123*1*3#"), Ok(Some(3)));
        for bad in ["", "123;", "*98#", "*99", "*99***x#", "*99**IP*1#", "*99*1*2*3*4#", "#*99#"] {
            assert_eq!(packet_dial(bad), Err(()), "{bad:?}");
        }
    }
}
