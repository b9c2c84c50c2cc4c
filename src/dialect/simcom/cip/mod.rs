//! The sockets of the TCP/IP application on the SIM800, SIM900 and SIM7000 (M800 ch. 8,
//! M7000 ch. 8, TCP800): TCP and UDP clients over the context `AT+CSTT`/`AT+CIICR` bring up
//! ([`super::gprs`]), on the socket slots of [`crate::dialect::sockets`].
//!
//! - One connection (`AT+CIPMUX=0`) or several numbered ones (`AT+CIPMUX=1`: 0-5 on the
//!   SIM800, 0-7 on the SIM900 and SIM7000), opened with `AT+CIPSTART` (`OK`, later
//!   `CONNECT OK` / `<n>, CONNECT OK`), closed with `AT+CIPCLOSE` (`CLOSE OK`) or all at once
//!   with `AT+CIPSHUT` (`SHUT OK`), listed by `AT+CIPSTATUS`.
//! - Sending ([`send`]): `AT+CIPSEND` prompts `> ` and takes the data up to Ctrl-Z (ESC
//!   cancels) or a given length; `SEND OK` once it has gone, or `DATA ACCEPT` at once with
//!   `AT+CIPQSEND=1`.
//! - Receiving ([`receive`]): pushed to the line as it comes (`+RECEIVE,<n>,<len>:`, `+IPD`,
//!   bare) or, with `AT+CIPRXGET=1`, announced (`+CIPRXGET: 1`) and read on request.
//! - Transparent mode ([`online`]): `AT+CIPMODE=1`, `CONNECT`, the line carries the
//!   connection's bytes until `+++`; `ATO` goes back.
//! - `AT+CDNSGIP` looks a name up; `AT+CIPSSL=1` (SIM800) makes the next connection TLS.
//! - A server ([`server`]): `AT+CIPSERVER=1,<port>`, whose clients take connection ids.
//!
//! The module's buffers: each connection keeps [`RECEIVE_BUFFER`] received bytes (its socket
//! is not read while they wait, so nothing is lost and memory stays bounded) and takes
//! [`SEND_MAX`] bytes per send. Choices where the documents are silent are
//! `docs/sim800.md` "Sockets" decisions.

mod online;

pub(super) use online::ato;
mod receive;
mod send;
mod server;

use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{Command, Failure, Reply};

use super::gprs::State as Context;
use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::sockets::{Happened, OpenSpec, Protocol, Sockets};
use crate::dialect::{Ctx, Io, Outcome, Owner, Service, expect};
use crate::service::JobId;
use crate::service::socket::SocketError;
use crate::service::socket::job::{Event, Request};
use crate::service::tls::{TlsSettings, Verification};

/// Bytes one connection keeps received and unread (`docs/sim800.md` D26).
pub const RECEIVE_BUFFER: usize = 8192;
/// The most bytes one `AT+CIPSEND` takes, as `AT+CIPSEND?` reports (`<size>`).
pub const SEND_MAX: usize = 1460;
/// How long a connection may take to open (M800 §8.2.2: 75 s).
const OPEN_TIMEOUT: Duration = Duration::from_secs(75);
/// The most connections any family has; a family's own count is its profile's.
const LINKS_MAX: usize = 8;

/// One connection as `AT+CIPSTATUS` shows it.
#[derive(Debug, Clone)]
struct Link {
    protocol: Protocol,
    /// The host and port as the host gave them.
    host: String,
    port: u16,
    state: LinkState,
    /// The peer closed while pushed data still waited: `CLOSED` follows the data.
    notice: bool,
    /// What the id held before this connection began (a failed open goes back to it).
    previous: Option<Box<Link>>,
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Connecting,
    Connected,
    Closed,
}

impl Link {
    fn proto(&self) -> &'static str {
        match self.protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// The connection's state in the `C:` lines and `+CIPSTATUS`.
    fn client_state(&self) -> &'static str {
        match self.state {
            LinkState::Connecting => "CONNECTING",
            LinkState::Connected => "CONNECTED",
            LinkState::Closed => "CLOSED",
        }
    }

    /// Whether it is opening or open.
    fn busy(&self) -> bool {
        self.state != LinkState::Closed
    }
}

/// The settings of the TCP/IP application.
#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    /// `AT+CIPMUX=1`: numbered connections.
    mux: bool,
    /// `AT+CIPQSEND=1`: `DATA ACCEPT` as soon as the data is taken.
    quick: bool,
    /// `AT+CIPRXGET=1`: received data is read on request.
    manual: bool,
    /// `AT+CIPHEAD=1`: `+IPD,<len>:` before pushed data.
    head: bool,
    /// `AT+CIPSRIP=1`: the sender before pushed data.
    show_remote: bool,
    /// `AT+CIPSHOWTP=1`: the protocol in `+IPD`.
    show_protocol: bool,
    /// `AT+CIPMODE=1`: transparent mode.
    transparent: bool,
    /// `AT+CIPSSL=1`: the next TCP connection runs TLS.
    ssl: bool,
    /// `AT+SSLOPT=0,1`: TLS ignores an invalid server certificate.
    ignore_certificate: bool,
}

/// The TCP/IP application's sockets.
#[derive(Debug)]
pub struct Cip {
    sockets: Sockets,
    links: Vec<Option<Link>>,
    settings: Settings,
    /// Multi-connection: a connection was started since `IP STATUS` (`IP PROCESSING`).
    processing: bool,
    /// The `AT+CIPSEND` in progress.
    sending: Option<send::Sending>,
    /// Transparent mode's connection.
    online: Option<online::Online>,
    /// The server `AT+CIPSERVER` opened.
    server: Option<server::Server>,
    /// The `AT+CDNSGIP` look-up in progress: its job and the name.
    lookup: Option<(JobId, String)>,
    /// When received data held back by the line's backlog is pushed again.
    retry: Option<Instant>,
    /// The latest time a call brought: a deadline at it asks for a tick at once.
    now: Option<Instant>,
}

impl Default for Cip {
    fn default() -> Self {
        Cip {
            sockets: Sockets::new(LINKS_MAX + 1),
            links: vec![None; LINKS_MAX],
            settings: Settings::default(),
            processing: false,
            sending: None,
            online: None,
            server: None,
            lookup: None,
            retry: None,
            now: None,
        }
    }
}

/// The sockets' service: their jobs' events, the data phases of `AT+CIPSEND` and of
/// transparent mode, the results that wait for the socket, the pushes and timers.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::Socket)
    .events(event)
    .data(data, data_end)
    .resume(resume)
    .timer(deadline, tick)
    .paused(|s| s.cip.online.as_ref().is_some_and(online::Online::full));

/// The socket commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CIPMUX").test("+CIPMUX: (0,1)").read(flag_read).write(cipmux_write),
    cmd("+CIPSTART").test_with(cipstart_test).write(cipstart),
    cmd("+CIPSEND").test_with(send::test).read(send::read).write(send::write).exec(send::exec),
    cmd("+CIPQSEND").test("+CIPQSEND: (0,1)").read(flag_read).write(flag_write),
    cmd("+CIPACK").test_ok().write(cipack).exec(cipack),
    cmd("+CIPCLOSE").test_ok().write(cipclose).exec(cipclose),
    cmd("+CIPSHUT").test_ok().exec(cipshut),
    cmd("+CIPSTATUS").test_ok().write(cipstatus_one).exec(cipstatus),
    cmd("+CDNSGIP").test_ok().write(cdnsgip),
    cmd("+CIPSERVER").test(server::TEST).read(server::read).write(server::write),
    cmd("+CIPRXGET").test_with(receive::test).read(flag_read).write(receive::write),
    cmd("+CIPHEAD").test("+CIPHEAD: (0,1)").read(flag_read).write(flag_write),
    cmd("+CIPSRIP").test("+CIPSRIP: (0,1)").read(flag_read).write(flag_write),
    cmd("+CIPSHOWTP").test("+CIPSHOWTP: (0,1)").read(flag_read).write(flag_write),
    cmd("+CIPMODE").test("+CIPMODE: (0-NORMAL MODE,1-TRANSPARENT MODE)").read(flag_read).write(online::cipmode),
    cmd("+CIPSSL").test("+CIPSSL: (0-1)").read(flag_read).write(flag_write),
    cmd("+SSLOPT").test_with(sslopt).read(sslopt).write(sslopt),
];

impl Settings {
    /// The on/off setting command `name` stores.
    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "+CIPMUX" => &mut self.mux,
            "+CIPQSEND" => &mut self.quick,
            "+CIPRXGET" => &mut self.manual,
            "+CIPHEAD" => &mut self.head,
            "+CIPSRIP" => &mut self.show_remote,
            "+CIPSHOWTP" => &mut self.show_protocol,
            "+CIPMODE" => &mut self.transparent,
            "+CIPSSL" => &mut self.ssl,
            _ => return None,
        })
    }
}

/// The read form of an on/off setting: `<name>: <0|1>`.
fn flag_read(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let on = *s.cip.settings.flag(&cmd.name).ok_or(Failure::Plain)?;
    ctx.rsp.line(format!("{}: {}", cmd.name, u8::from(on)));
    Ok(Reply::Ok)
}

/// The write form of an on/off setting: 0 or 1.
fn flag_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let on = a.uint(0, 0..=1)? == 1;
    *s.cip.settings.flag(&cmd.name).ok_or(Failure::Plain)? = on;
    Ok(Reply::Ok)
}

/// `AT+CIPMUX` changes only in `IP INITIAL` (M800 §8.2.1), and not to 1 in transparent mode.
fn cipmux_write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let on = Args::of(cmd, Failure::Plain).uint(0, 0..=1)? == 1;
    if s.gprs.state != Context::Initial || (on && s.cip.settings.transparent) {
        return Err(Failure::Plain);
    }
    flag_write(s, cmd, ctx)
}

/// `AT+SSLOPT` (SIM800, SIM900), every form: the HTTP application's command, whose option 0
/// (ignore an invalid server certificate) the sockets' TLS follows too (SSL800).
fn sslopt(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let http = crate::dialect::table::find(&[super::http::COMMANDS], &cmd.name).ok_or(Failure::Plain)?;
    let reply = http.run(s, cmd, ctx).ok_or(Failure::Plain)?;
    let a = Args::of(cmd, Failure::Plain);
    if reply == Reply::Ok && !a.is_empty() && a.uint(0, 0..=1)? == 0 {
        s.cip.settings.ignore_certificate = a.uint(1, 0..=1)? == 1;
    }
    Ok(reply)
}

/// The test form: the modes, addresses and ports (with the ids in multi-connection mode).
fn cipstart_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let ids = if s.cip.settings.mux { format!("({}),", s.id_range()) } else { String::new() };
    ctx.rsp.line(format!("+CIPSTART: {ids}(\"TCP\",\"UDP\"),(\"(0-255).(0-255).(0-255).(0-255)\"),(1-65535)"));
    ctx.rsp.line(format!("+CIPSTART: {ids}(\"TCP\",\"UDP\"),(\"DOMAIN NAME\"),(1-65535)"));
    Ok(Reply::Ok)
}

/// `AT+CIPSTART=[<n>,]<mode>,<address>,<port>`: `OK` at once, the result later.
fn cipstart(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let mux = s.cip.settings.mux;
    let first = usize::from(mux);
    a.count(first + 3..=first + 3)?;
    let n = if mux { a.uint(0, 0..=s.links() as u64 - 1)? as usize } else { 0 };
    let protocol = [Protocol::Tcp, Protocol::Udp][a.choice(first, &["TCP", "UDP"])?];
    let host = a.text(first + 1, 255)?.to_string();
    let port = a.uint(first + 2, 1..=65535)? as u16;
    if host.is_empty() {
        return Err(Failure::Plain);
    }
    if s.cip.links[n].as_ref().is_some_and(Link::busy) {
        ctx.io.urc(s.tagged(n, "ALREADY CONNECT"));
        return Err(Failure::Plain);
    }
    let context = s.gprs.state;
    let allowed = match (mux, context) {
        (true, state) => state == Context::Status,
        (false, Context::Status) => true,
        // The module brings the context up itself (M800 §8.2.2: up to 160 s from IP INITIAL).
        (false, Context::Initial) => s.packet_ready(),
        (false, _) => false,
    };
    if !allowed || (!mux && s.cip.server.is_some()) {
        return Err(Failure::Plain);
    }
    s.gprs.state = Context::Status;
    s.cip.processing |= mux;
    s.cip.sockets.forget(n);
    let tls = (protocol == Protocol::Tcp && s.cip.settings.ssl).then(|| s.cip_tls());
    let spec =
        OpenSpec { host: host.clone(), port, protocol, tls, receive_buffer: RECEIVE_BUFFER, timeout: OPEN_TIMEOUT };
    s.cip.sockets.open(n, spec, Owner::Socket, ctx.io);
    let previous = s.cip.links[n].take().map(Box::new);
    s.cip.links[n] = Some(Link { protocol, host, port, state: LinkState::Connecting, notice: false, previous });
    Ok(Reply::Ok)
}

/// `AT+CIPCLOSE[=<n>]` (single: `<n>` 0 slow, 1 quick) or `AT+CIPCLOSE=<id>[,<n>]`
/// (multi): `CLOSE OK` in place of `OK`; only a connection opening or open closes.
fn cipclose(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let n = if s.cip.settings.mux {
        a.count(1..=2)?;
        a.opt_uint(1, 0..=1)?;
        a.uint(0, 0..=s.links() as u64 - 1)? as usize
    } else {
        a.count(0..=1)?;
        a.opt_uint(0, 0..=1)?;
        0
    };
    if !s.cip.links[n].as_ref().is_some_and(Link::busy) {
        return Err(Failure::Cme(super::profile::cme::NOT_ALLOWED));
    }
    s.cip.sockets.close(n, ctx.io);
    s.cip_closed(n);
    Ok(Reply::Text(s.tagged(n, "CLOSE OK")))
}

/// `AT+CIPSHUT`: every connection closes, the context goes down, `IP INITIAL`; `SHUT OK`.
fn cipshut(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    s.cip.sockets.close_all(ctx.io);
    s.cip_reset(ctx.io);
    s.gprs.state = Context::Initial;
    Ok(Reply::Text("SHUT OK".into()))
}

/// `AT+CIPSTATUS`: `OK`, then `STATE: <state>`; in multi-connection mode a blank line and one
/// `C:` line per id follow (M800 §8.2.12).
fn cipstatus(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.io.urc(format!("STATE: {}", s.cip_state()));
    if s.cip.settings.mux {
        let clients = (0..s.links()).map(|n| format!("C: {}", s.link_status(n)));
        let lines: Vec<String> = s.server_status().into_iter().chain(clients).collect();
        ctx.io.urc(lines.join("\r\n"));
    }
    Ok(Reply::Ok)
}

/// `AT+CIPSTATUS=<n>` (multi only): `+CIPSTATUS: <n>,<bearer>,<mode>,<ip>,<port>,<state>`.
fn cipstatus_one(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    if !s.cip.settings.mux {
        return Err(Failure::Plain);
    }
    let n = a.uint(0, 0..=s.links() as u64 - 1)? as usize;
    ctx.rsp.line(s.profile.line("+CIPSTATUS", s.link_status(n)));
    Ok(Reply::Ok)
}

/// `AT+CIPACK` (single) or `AT+CIPACK=<n>` (multi): bytes sent, acknowledged (gone into the
/// network) and not yet, of an open connection.
fn cipack(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let n = if s.cip.settings.mux {
        a.count(1..=1)?;
        a.uint(0, 0..=s.links() as u64 - 1)? as usize
    } else {
        a.count(0..=0)?;
        0
    };
    let slot = s.cip.sockets.get(n).filter(|_| s.cip.links[n].as_ref().is_some_and(Link::busy));
    let slot = slot.ok_or(Failure::Plain)?;
    let line = s.profile.line("+CIPACK", format_args!("{},{},{}", slot.sent, slot.gone, slot.unsent()));
    ctx.rsp.line(line);
    Ok(Reply::Ok)
}

/// `AT+CDNSGIP=<name>`: `OK`, then `+CDNSGIP: 1,"<name>","<ip>"[,"<ip>"]` or
/// `+CDNSGIP: 0,<code>` (M800 §8.2.14). Needs the context up; one look-up at a time.
fn cdnsgip(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let name = a.text(0, 255)?;
    if name.is_empty() || !s.gprs.state.active() || s.cip.lookup.is_some() {
        return Err(Failure::Plain);
    }
    let job = ctx.io.start(Owner::Socket, Request::Resolve { host: name.to_string() });
    s.cip.lookup = Some((job, name.to_string()));
    Ok(Reply::Ok)
}

/// The `+CDNSGIP` error code for "DNS common error" (M800 §8.2.14).
const DNS_COMMON_ERROR: u8 = 8;

/// An event of a socket or look-up job.
fn event(s: &mut Simcom, job: JobId, event: crate::service::Event, io: &mut Io) {
    let Some(event) = expect::<Event>(job, event) else { return };
    s.cip.now = Some(io.now);
    if let (Event::Resolved(found), Some((lookup, _))) = (&event, &s.cip.lookup)
        && *lookup == job
    {
        let name = s.cip.lookup.take().map(|(_, name)| name).unwrap_or_default();
        io.urc(s.lookup_result(&name, found));
        return;
    }
    let Some((n, happened)) = s.cip.sockets.event(job, event) else { return };
    if n == server::SLOT {
        return s.server_happened(happened, io);
    }
    match happened {
        Happened::Opened => s.cip_opened(n, io),
        Happened::Failed(e) => s.cip_failed(n, &e, io),
        Happened::Arrived => s.cip_arrived(n, io),
        Happened::Dropped(len) => {
            tracing::debug!(target: "vmodem::socket", "connection {n}: a {len}-byte datagram found the buffer full")
        }
        Happened::Sent => s.cip_sent(n, io),
        Happened::Closed(end) => s.cip_peer_closed(n, end, io),
        Happened::Listening | Happened::Incoming(_) => {
            tracing::warn!(target: "vmodem::socket", "connection {n}: {happened:?}")
        }
    }
}

/// The bytes of a data phase: `AT+CIPSEND`'s payload or transparent mode's.
fn data(s: &mut Simcom, payload: &[u8]) {
    if let Some(sending) = &mut s.cip.sending {
        sending.take(payload);
    } else if let Some(online) = &mut s.cip.online {
        online.take(payload);
    }
}

/// The end of a data phase: `AT+CIPSEND`'s data is complete or cancelled, or the host
/// escaped from transparent mode.
fn data_end(s: &mut Simcom, end: vmodem_at::DataEnd, _: &mut vmodem_at::Response<'_>, io: &mut Io) -> Reply {
    s.cip.now = Some(io.now);
    if s.cip.sending.is_some() {
        return s.send_end(end, io);
    }
    s.escaped()
}

/// The result that waited: a send's, or the end of transparent mode when the peer closed.
fn resume(s: &mut Simcom, _: &mut vmodem_at::Response<'_>, io: &mut Io) -> Reply {
    s.cip.now = Some(io.now);
    match s.cip.sending.take() {
        Some(sending) => Simcom::send_result(sending),
        None => Reply::Text("CLOSED".into()),
    }
}

/// When the service next wants a tick: data to push or to carry, a send's time limit.
fn deadline(s: &Simcom) -> Option<Instant> {
    let soon = s.online_due().then_some(s.cip.now).flatten();
    [soon, s.cip.retry, s.cip.sending.as_ref().and_then(send::Sending::deadline)].into_iter().flatten().min()
}

/// The service's tick: carry transparent data, push what the line can take, give up on a
/// send that never went.
fn tick(s: &mut Simcom, io: &mut Io) {
    s.cip.now = Some(io.now);
    s.cip.retry = None;
    s.carry(io);
    s.push_all(io);
    s.send_timeout(io);
}

impl Simcom {
    /// How many connections the family has.
    fn links(&self) -> usize {
        self.profile.cip_links
    }

    /// `0-5` or `0-7`.
    fn id_range(&self) -> String {
        format!("0-{}", self.links() - 1)
    }

    /// A result of connection `n`: `<n>, <text>` in multi-connection mode, `<text>` alone
    /// otherwise.
    fn tagged(&self, n: usize, text: &str) -> String {
        if self.cip.settings.mux { format!("{n}, {text}") } else { text.to_string() }
    }

    /// The TLS a connection opened after `AT+CIPSSL=1` runs: the module's built-in CA store,
    /// or no checks after `AT+SSLOPT=0,1` (as HTTPS, `docs/sim800.md` D12).
    fn cip_tls(&self) -> TlsSettings {
        let verification =
            if self.cip.settings.ignore_certificate { Verification::IgnoreCertificate } else { Verification::Verify };
        TlsSettings { ca: self.trusted_ca.clone(), verification, ..TlsSettings::default() }
    }

    /// The state `AT+CIPSTATUS` and `CONNECT FAIL` print.
    fn cip_state(&self) -> &'static str {
        let context = self.gprs.state;
        if context != Context::Status {
            return context.text();
        }
        if self.cip.settings.mux {
            return if self.cip.processing { "IP PROCESSING" } else { context.text() };
        }
        let idle = self.cip.links[0].as_ref().is_none_or(|link| link.state == LinkState::Closed);
        if idle && self.cip.server.is_some() {
            return "SERVER LISTENING";
        }
        match &self.cip.links[0] {
            None => context.text(),
            Some(link) => match (link.state, link.protocol) {
                (LinkState::Connecting, Protocol::Tcp) => "TCP CONNECTING",
                (LinkState::Connecting, Protocol::Udp) => "UDP CONNECTING",
                (LinkState::Connected, _) => "CONNECT OK",
                (LinkState::Closed, Protocol::Tcp) => "TCP CLOSED",
                (LinkState::Closed, Protocol::Udp) => "UDP CLOSED",
            },
        }
    }

    /// `<n>,<bearer>,"<mode>","<ip>","<port>","<state>"`, as the `C:` lines and
    /// `+CIPSTATUS` show connection `n`; an id never used has empty fields and `INITIAL`.
    fn link_status(&self, n: usize) -> String {
        match &self.cip.links[n] {
            Some(link) => {
                format!("{n},0,\"{}\",\"{}\",\"{}\",\"{}\"", link.proto(), link.host, link.port, link.client_state())
            }
            None => format!("{n},,\"\",\"\",\"\",\"INITIAL\""),
        }
    }

    /// `+CDNSGIP: 1,"<name>","<ip>"[,"<ip>"]` (two addresses at most) or `+CDNSGIP: 0,8`.
    fn lookup_result(&self, name: &str, found: &Result<Vec<IpAddr>, SocketError>) -> String {
        match found {
            Ok(ips) if !ips.is_empty() => {
                let ips: Vec<String> = ips.iter().take(2).map(|ip| format!(",\"{ip}\"")).collect();
                self.profile.line("+CDNSGIP", format_args!("1,\"{name}\"{}", ips.concat()))
            }
            _ => self.profile.line("+CDNSGIP", format_args!("0,{DNS_COMMON_ERROR}")),
        }
    }

    /// Connection `n` opened: `CONNECT OK` (`<n>, CONNECT OK`), or `CONNECT` and the line
    /// goes online in transparent mode.
    fn cip_opened(&mut self, n: usize, io: &mut Io) {
        if let Some(link) = &mut self.cip.links[n] {
            link.state = LinkState::Connected;
            link.previous = None;
        }
        if self.cip.settings.transparent {
            self.go_online(io);
        } else {
            io.urc(self.tagged(n, "CONNECT OK"));
        }
    }

    /// Connection `n` did not open: the id is as it was before, and the host hears
    /// `CONNECT FAIL` (single: after `STATE: <state>`), or `CLOSE OK` when the TLS handshake
    /// failed (`docs/sim800.md` D28).
    fn cip_failed(&mut self, n: usize, e: &SocketError, io: &mut Io) {
        tracing::debug!(target: "vmodem::socket", "connection {n} did not open: {e}");
        self.cip.sockets.forget(n);
        self.cip.links[n] = self.cip.links[n].take().and_then(|link| link.previous.map(|p| *p));
        if matches!(e, SocketError::TlsHandshake(_) | SocketError::TlsConfig(_)) {
            io.urc(self.tagged(n, "CLOSE OK"));
        } else if self.cip.settings.mux {
            io.urc(self.tagged(n, "CONNECT FAIL"));
        } else {
            io.urc(format!("STATE: {}", self.cip_state()));
            io.urc("CONNECT FAIL");
        }
    }

    /// Connection `n` ended by the host's command: what it held is gone.
    fn cip_closed(&mut self, n: usize) {
        if let Some(link) = &mut self.cip.links[n] {
            link.state = LinkState::Closed;
            link.notice = false;
        }
        if n == 0 {
            self.cip.online = None;
        }
    }

    /// Connection `n` ended on the peer's side (closed, reset, failed): `CLOSED`
    /// (`<n>, CLOSED`) once the data pushed before it is out; a send waiting on it fails; in
    /// transparent mode the line leaves online data with `CLOSED`.
    fn cip_peer_closed(&mut self, n: usize, end: Result<(), SocketError>, io: &mut Io) {
        if let Err(e) = end {
            tracing::debug!(target: "vmodem::socket", "connection {n} broke: {e}");
        }
        if let Some(link) = &mut self.cip.links[n] {
            link.state = LinkState::Closed;
            link.notice = true;
        }
        self.send_link_closed(n, io);
        if self.cip.settings.transparent {
            self.online_closed(io);
            return;
        }
        self.push_all(io);
        self.closed_notices(io);
    }

    /// `CLOSED` for every connection the peer closed whose pushed data is out.
    fn closed_notices(&mut self, io: &mut Io) {
        for n in 0..self.links() {
            let pushed_out = !self.pushes() || self.cip.sockets.get(n).is_none_or(|slot| slot.waiting() == 0);
            if let Some(link) = self.cip.links[n].as_mut().filter(|l| l.notice && pushed_out) {
                link.notice = false;
                io.urc(self.tagged(n, "CLOSED"));
            }
        }
    }

    /// The context went away with the network: every connection ends (`CLOSED` for those
    /// opening or open), then `+PDP: DEACT` follows (`docs/sim800.md` D30).
    pub(super) fn cip_context_lost(&mut self, io: &mut Io) {
        let busy: Vec<usize> =
            (0..self.links()).filter(|n| self.cip.links[*n].as_ref().is_some_and(Link::busy)).collect();
        if self.cip.online.is_some() {
            self.online_closed(io);
        } else {
            for n in busy {
                io.urc(self.tagged(n, "CLOSED"));
            }
        }
        if let Some(n) = self.cip.sending.as_ref().map(|s| s.link) {
            self.send_link_closed(n, io);
        }
        self.cip.sockets.close_all(io);
        self.cip_reset(io);
    }

    /// Back to no connection at all (`AT+CIPSHUT`, the context gone). The settings stay, and
    /// so does a send whose failure the host has yet to hear.
    fn cip_reset(&mut self, io: &mut Io) {
        if let Some((job, _)) = self.cip.lookup.take() {
            io.cancel(job);
        }
        let (settings, sending) = (self.cip.settings, self.cip.sending.take());
        self.cip = Cip { settings, sending, ..Cip::default() };
    }

    /// Connection `n`'s send buffer has been emptied.
    fn cip_sent(&mut self, n: usize, io: &mut Io) {
        self.send_sent(n, io);
        self.carry(io);
    }
}
