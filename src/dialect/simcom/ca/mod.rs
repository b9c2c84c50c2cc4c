//! The sockets of the application network on the SIM7070/SIM7080/SIM7090 and the SIM7000
//! (M7080 §12.2, M7000 §18.2; AN7080-TCP): `AT+CACID`, `AT+CAOPEN`, `AT+CASEND`, `AT+CARECV`,
//! `AT+CACLOSE`, `AT+CASTATE`, `AT+CAACK`, `AT+CACFG`, `AT+CASSLCFG` and the name look-up
//! `AT+CDNSGIP` (M7080 §19.2.3), over the `AT+CNACT` contexts and the socket slots of
//! [`crate::dialect::sockets`]. `docs/sim7080.md` "Sockets" has the bytes and the decisions
//! (D26–D43) the comments here cite.
//!
//! A connection id `<cid>` (0-12) is free, opening, open, or closed: closed by the peer, by
//! a failure, or by the loss of its bearer, announced with `+CASTATE: <cid>,0` and still
//! listed by `AT+CASTATE?` (with what it received still readable, unless the bearer went)
//! until the host's `AT+CACLOSE`. `AT+CAOPEN` answers `+CAOPEN: <cid>,<result>` and `OK`
//! once the socket is open or has failed (the command waits), or, with
//! `AT+CACFG="ASYNCOPEN",1`, `OK` at once and the `+CAOPEN` line as a URC later.
//! Received bytes wait in the socket's receive buffer (`AT+CACFG="RCVBUF"`, 64 KiB at
//! power-on, D29): `+CADATAIND: <cid>` says when bytes arrive in an empty one, and while it
//! is full the socket is not read.
//!
//! `AT+CASERVER` ([`server`]) makes a connection id a server whose clients take ids of their
//! own (`+CANEW`).

mod data;
mod dns;
mod options;
mod server;

use vmodem_at::{Command, Failure, Reply, Response};

use super::profile::{CaOpen, CaProfile, cme};
use super::ssl::Unusable;
use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::sockets::{Happened, OpenSpec, Protocol, Sockets};
use crate::dialect::{Ctx, Io, Outcome, Owner, Service, expect};
use crate::service::socket::SocketError;
use crate::service::socket::job::Event;
use crate::service::tls::HandshakeFailure;
use crate::service::{self, JobId};

/// Connection ids: `<cid>` 0-12.
const CIDS: usize = 13;
/// The longest `<server>` of `AT+CAOPEN`.
const SERVER_MAX: usize = 64;
/// A command in the wrong state (D8).
const WRONG_STATE: Failure = Failure::Cme(cme::NOT_ALLOWED);

/// `<result>` of `+CAOPEN: <cid>,<result>` (M7080 §12.2.3).
mod result {
    /// Success.
    pub const OK: u8 = 0;
    /// Not support the function (`"NONIP"`, `<recv_mode>` 1, DTLS, TLS 1.0/1.1; D30).
    pub const NOT_SUPPORTED: u8 = 7;
    /// Can't resolve the host.
    pub const DNS: u8 = 20;
    /// Network not active: the `AT+CNACT` context is not active, or went while opening.
    pub const NETWORK: u8 = 21;
    /// Can't bind the port (a server's port in use, D43).
    pub const LISTEN: u8 = 12;
    /// Remote refuse.
    pub const REFUSED: u8 = 23;
    /// Certificate's time expired (or not yet valid).
    pub const EXPIRED: u8 = 24;
    /// Certificate's common name does not match.
    pub const NAME: u8 = 25;
    /// Connect failed: anything else (D30).
    pub const FAILED: u8 = 27;
}

/// The application network's sockets.
#[derive(Debug)]
pub struct Ca {
    sockets: Sockets,
    conns: [Option<Conn>; CIDS],
    /// The `AT+CAOPEN` or `AT+CASERVER` waiting for its socket: the cid, the result line's
    /// name, and the result once known.
    open: Option<(usize, &'static str, Option<u8>)>,
    /// The bytes of the `AT+CASEND` in progress.
    send: Option<data::Sending>,
    /// The `AT+CDNSGIP` in progress.
    lookup: Option<dns::Lookup>,
    /// `AT+CACID`, `AT+CASSLCFG` and `AT+CACFG`.
    options: options::Options,
}

impl Default for Ca {
    fn default() -> Self {
        Ca {
            sockets: Sockets::new(CIDS),
            conns: [None; CIDS],
            open: None,
            send: None,
            lookup: None,
            options: options::Options::default(),
        }
    }
}

/// A connection id in use.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// The `AT+CNACT` context it runs over.
    pdp: u8,
    state: State,
    /// Opened by `AT+CASERVER`: a server, not a connection.
    server: bool,
}

impl Conn {
    /// The command that opened it, as its result line names it.
    fn verb(&self) -> &'static str {
        if self.server { "+CASERVER" } else { "+CAOPEN" }
    }
}

/// Where a connection is, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Opening; with `sync`, `AT+CAOPEN` waits for it, else `+CAOPEN` follows as a URC.
    Opening { sync: bool },
    /// Connected (`+CASTATE: <cid>,1`).
    Open,
    /// A server listening (`+CASTATE: <cid>,2`).
    Listening,
    /// Closed by the peer, a failure or the bearer (`+CASTATE: <cid>,0`), until
    /// `AT+CACLOSE`.
    Closed,
}

/// The sockets' service: their jobs' events, `AT+CASEND`'s data, `AT+CAOPEN`'s result, the
/// `AT+CDNSGIP` timeout, the loss of a bearer.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::AppSocket)
    .events(Simcom::ca_event)
    .data(|s, payload| s.ca.take_data(payload), Simcom::casend_end)
    .resume(Simcom::caopen_result)
    .timer(|s| s.ca.lookup_deadline(), Simcom::cdnsgip_tick)
    .bearer_lost(Simcom::ca_bearer_lost);

/// The socket commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CACID").test("+CACID: (0-12)").read(options::cacid_read).write(options::cacid_write),
    cmd("+CASSLCFG").test_with(options::casslcfg_test).read(options::casslcfg_read).write(options::casslcfg_write),
    cmd("+CAOPEN").test_with(caopen_test).read(caopen_read).write(caopen),
    cmd("+CASEND").test("+CASEND: (0-12),(1-1460),(100-10000)").write(data::casend),
    cmd("+CARECV").test("+CARECV: (0-12),(1-1460)").read(data::carecv_read).write(data::carecv),
    cmd("+CACLOSE").test("+CACLOSE: (0-12)").write(caclose),
    cmd("+CASERVER").test_with(server::test).write(server::caserver),
    cmd("+CASTATE").test_ok().read(castate_read),
    cmd("+CAACK").test("+CAACK: (0-12)").write(data::caack),
    cmd("+CACFG").test_with(options::cacfg_test).read(options::cacfg_read).write(options::cacfg_write),
    cmd("+CDNSGIP").test("+CDNSGIP: 65,(0-10),(0-60000)").write(dns::cdnsgip),
];

impl Ca {
    /// Connection `cid` of a command's argument `i` (0-12), in use or not.
    fn cid(a: &Args<'_>, i: usize) -> Result<usize, Failure> {
        Ok(a.uint(i, 0..=CIDS as u64 - 1)? as usize)
    }

    /// The connection `cid`, or the wrong-state failure if it is not in use.
    fn conn(&self, cid: usize) -> Result<Conn, Failure> {
        self.conns.get(cid).copied().flatten().ok_or(WRONG_STATE)
    }

    /// Reports the end of `cid`'s opening: to the waiting `AT+CAOPEN` (`AT+CASERVER`), or as
    /// a URC.
    fn opened(&mut self, cid: usize, code: u8, sync: bool, io: &mut Io) {
        let verb = self.conns[cid].map_or("+CAOPEN", |c| c.verb());
        if code != result::OK {
            self.conns[cid] = None;
        }
        if sync {
            self.open = Some((cid, verb, Some(code)));
            io.resume();
        } else {
            io.urc(format!("{verb}: {cid},{code}"));
        }
    }

    /// `cid` is opening as `conn`: the command waits for its result, or answers `OK` at once
    /// (`AT+CACFG="ASYNCOPEN",1`).
    fn opening(&mut self, cid: usize, conn: Conn, io: &mut Io) -> Outcome {
        self.conns[cid] = Some(conn);
        if matches!(conn.state, State::Opening { sync: true }) {
            self.open = Some((cid, conn.verb(), None));
            return Ok(io.pending(Owner::AppSocket));
        }
        Ok(Reply::Ok)
    }

    /// What an event of `cid`'s socket means for the host.
    fn happened(&mut self, cid: usize, happened: Happened, io: &mut Io) {
        let Some(conn) = self.conns[cid] else { return };
        match (happened, conn.state) {
            (Happened::Opened, State::Opening { sync }) => {
                self.conns[cid] = Some(Conn { state: State::Open, ..conn });
                self.opened(cid, result::OK, sync, io);
            }
            (Happened::Listening, State::Opening { sync }) => {
                self.conns[cid] = Some(Conn { state: State::Listening, ..conn });
                self.opened(cid, result::OK, sync, io);
            }
            (Happened::Incoming(incoming), State::Listening) => self.accept(cid, conn.pdp, incoming, io),
            (Happened::Failed(e), State::Opening { sync }) => {
                tracing::info!(target: "vmodem::socket", "AT+CAOPEN {cid}: {e}");
                self.sockets.forget(cid);
                let code = if conn.server { result::LISTEN } else { open_code(&e) };
                self.opened(cid, code, sync, io);
            }
            (Happened::Arrived, State::Open) => io.urc(format!("+CADATAIND: {cid}")),
            (Happened::Dropped(n), _) => {
                tracing::info!(target: "vmodem::socket", "cid {cid}: a datagram of {n} bytes did not fit the buffer")
            }
            (Happened::Sent, _) => {}
            (Happened::Closed(end), State::Open | State::Listening) => {
                match end {
                    Ok(()) => tracing::debug!(target: "vmodem::socket", "cid {cid}: closed by the peer"),
                    Err(e) => tracing::info!(target: "vmodem::socket", "cid {cid}: {e}"),
                }
                self.conns[cid] = Some(Conn { state: State::Closed, ..conn });
                io.urc(format!("+CASTATE: {cid},0"));
            }
            (happened, state) => {
                tracing::warn!(target: "vmodem::socket", "cid {cid}: {happened:?} while {state:?}")
            }
        }
    }
}

/// The `<result>` of a socket that could not open (D30).
fn open_code(e: &SocketError) -> u8 {
    use rustls::CertificateError as C;
    match e {
        SocketError::Dns(_) => result::DNS,
        SocketError::Refused(_) => result::REFUSED,
        SocketError::TlsHandshake(HandshakeFailure::Tls(rustls::Error::InvalidCertificate(c))) => match c {
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => result::EXPIRED,
            C::NotValidForName | C::NotValidForNameContext { .. } => result::NAME,
            _ => result::FAILED,
        },
        _ => result::FAILED,
    }
}

/// What `AT+CAOPEN` asks for.
struct Target {
    cid: usize,
    pdp: u8,
    /// 0 TCP, 1 UDP, 2 NONIP.
    kind: usize,
    host: String,
    port: u16,
    /// `<recv_mode>` 1: data pushed in `+CAURC` URCs.
    push: bool,
}

const CONN_TYPES: &[&str] = &["TCP", "UDP", "NONIP"];

/// `AT+CAOPEN=<cid>,<pdp_index>,<conn_type>,<server>,<port>[,<recv_mode>]` (M7080 §12.2.3).
fn contexts_form(a: &Args<'_>) -> Result<Target, Failure> {
    a.count(5..=6)?;
    Ok(Target {
        cid: Ca::cid(a, 0)?,
        pdp: a.uint(1, 0..=4)? as u8,
        kind: a.choice(2, CONN_TYPES)?,
        host: server(a, 3)?,
        port: a.uint(4, 1..=65535)? as u16,
        push: a.opt_uint(5, 0..=1)? == Some(1),
    })
}

/// `AT+CAOPEN=<cid>[,<conn_type>],<server>,<port>` (M7000 §18.2), or the SIM7080's form.
fn single_context_form(a: &Args<'_>) -> Result<Target, Failure> {
    let (kind, at) = match a.len() {
        3 => (0, 1),
        4 => (a.choice(1, &CONN_TYPES[..2])?, 2),
        _ => return contexts_form(a),
    };
    Ok(Target {
        cid: Ca::cid(a, 0)?,
        pdp: 0,
        kind,
        host: server(a, at)?,
        port: a.uint(at + 1, 1..=65535)? as u16,
        push: false,
    })
}

/// The `<server>` argument: a host name or address, not empty.
fn server(a: &Args<'_>, i: usize) -> Result<String, Failure> {
    Some(a.text(i, SERVER_MAX)?).filter(|h| !h.is_empty()).map(str::to_string).ok_or(Failure::Plain)
}

impl Simcom {
    /// The family's socket differences; every family with these commands has them.
    fn ca_profile(&self) -> Result<&'static CaProfile, Failure> {
        self.profile.ca.as_ref().ok_or(Failure::Plain)
    }

    fn ca_event(&mut self, job: JobId, event: service::Event, io: &mut Io) {
        let Some(event) = expect::<Event>(job, event) else { return };
        if let Event::Resolved(found) = event {
            return self.cdnsgip_answer(job, found, io);
        }
        if let Some((cid, happened)) = self.ca.sockets.event(job, event) {
            self.ca.happened(cid, happened, io);
        }
    }

    /// `+CAOPEN: <cid>,<result>` (`+CASERVER: ...`) and `OK` for the waiting command.
    fn caopen_result(&mut self, rsp: &mut Response<'_>, _: &mut Io) -> Reply {
        match self.ca.open.take() {
            Some((cid, verb, Some(code))) => {
                rsp.line(format!("{verb}: {cid},{code}"));
                Reply::Ok
            }
            other => {
                tracing::warn!(target: "vmodem::socket", "AT+CAOPEN resumed without a result: {other:?}");
                Reply::Error(Failure::Plain)
            }
        }
    }

    /// The `AT+CNACT` context `pdp` went: its sockets close (`+CASTATE: <cid>,0`) and drop what
    /// they held, one still opening fails with 21; a name look-up fails with 3 if no context
    /// is left (D33).
    fn ca_bearer_lost(&mut self, pdp: u8, io: &mut Io) {
        for cid in 0..CIDS {
            let Some(conn) = self.ca.conns[cid].filter(|c| c.pdp == pdp) else { continue };
            self.ca.sockets.close(cid, io);
            match conn.state {
                State::Opening { sync } => self.ca.opened(cid, result::NETWORK, sync, io),
                State::Open | State::Listening => {
                    self.ca.conns[cid] = Some(Conn { state: State::Closed, ..conn });
                    io.urc(format!("+CASTATE: {cid},0"));
                }
                State::Closed => {}
            }
        }
        if !self.bearers.apps.iter().any(|c| c.active) {
            self.cdnsgip_fail(dns::NETWORK_ERROR, io);
        }
    }
}

fn caopen_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.ca_profile()?.open_test);
    Ok(Reply::Ok)
}

/// `AT+CAOPEN?`: `+CAOPEN: <cid>,<pdp_index>,"<conn_type>","<server>",<port>,<recv_mode>`
/// for each connection that is open (D32).
fn caopen_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for (cid, slot) in s.ca.sockets.used() {
        let Some(conn) = s.ca.conns[cid].filter(|c| c.state == State::Open) else { continue };
        let kind = if slot.protocol == Protocol::Udp { "UDP" } else { "TCP" };
        let (host, port) = &slot.remote;
        ctx.rsp.line(format!("+CAOPEN: {cid},{},\"{kind}\",\"{host}\",{port},0", conn.pdp));
    }
    Ok(Reply::Ok)
}

/// `AT+CAOPEN`: opens connection `<cid>` (D30, D31).
fn caopen(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let profile = s.ca_profile()?;
    let a = Args::of(cmd, Failure::Plain);
    let t = match profile.open {
        CaOpen::Contexts => contexts_form(&a)?,
        CaOpen::SingleContext => single_context_form(&a)?,
    };
    if s.ca.conns[t.cid].is_some() {
        return Err(WRONG_STATE);
    }
    let sync = !s.ca.options.async_open();
    let protocol = if t.kind == 1 { Protocol::Udp } else { Protocol::Tcp };
    let ssl = s.ca.options.ssl(t.cid);
    let tls = if t.kind == 2 || t.push || (ssl.is_some() && protocol == Protocol::Udp) {
        Err(result::NOT_SUPPORTED)
    } else if !s.bearers.app_active(t.pdp) {
        Err(result::NETWORK)
    } else {
        ssl.map(|ssl| s.tls_settings(ssl.ctx, &ssl.ca, &ssl.cert)).transpose().map_err(|e| {
            tracing::info!(target: "vmodem::socket", "AT+CAOPEN {}: {e}", t.cid);
            if matches!(e, Unusable::Version(_)) { result::NOT_SUPPORTED } else { result::FAILED }
        })
    };
    let tls = match tls {
        Ok(tls) => tls,
        Err(code) => return Ok(refused(ctx, "+CAOPEN", t.cid, code, sync)),
    };
    let spec = OpenSpec {
        host: t.host,
        port: t.port,
        protocol,
        tls,
        receive_buffer: s.ca.options.receive_buffer(),
        timeout: s.ca.options.open_timeout(t.cid),
    };
    s.ca.sockets.open(t.cid, spec, Owner::AppSocket, ctx.io);
    s.ca.opening(t.cid, Conn { pdp: t.pdp, state: State::Opening { sync }, server: false }, ctx.io)
}

/// A socket refused before it opens: `<verb>: <cid>,<code>` and `OK`, or `OK` and the line as
/// a URC (`AT+CACFG="ASYNCOPEN",1`).
fn refused(ctx: &mut Ctx<'_, '_>, verb: &str, cid: usize, code: u8, sync: bool) -> Reply {
    let line = format!("{verb}: {cid},{code}");
    if sync {
        ctx.rsp.line(line)
    } else {
        ctx.io.urc(line)
    }
    Reply::Ok
}

/// `AT+CACLOSE=<cid>`: closes the connection at once (what it held is gone) and frees the
/// id; `ERROR` (CME 3) for an id not in use.
fn caclose(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let cid = Ca::cid(&a, 0)?;
    s.ca.conn(cid)?;
    s.ca.sockets.close(cid, ctx.io);
    s.ca.conns[cid] = None;
    Ok(Reply::Ok)
}

/// `AT+CASTATE?`: `+CASTATE: <cid>,<state>` for each id in use and not opening, 1 connected,
/// 2 listening, 0 closed (D32).
fn castate_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for (cid, conn) in s.ca.conns.iter().enumerate() {
        match conn.map(|c| c.state) {
            Some(State::Open) => ctx.rsp.line(format!("+CASTATE: {cid},1")),
            Some(State::Listening) => ctx.rsp.line(format!("+CASTATE: {cid},2")),
            Some(State::Closed) => ctx.rsp.line(format!("+CASTATE: {cid},0")),
            _ => {}
        }
    }
    Ok(Reply::Ok)
}
