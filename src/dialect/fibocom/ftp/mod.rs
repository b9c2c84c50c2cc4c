//! The L610's FTP (L610-FTP §1.2): `AT+FTPOPEN` logs in once and holds the session (the FTP
//! service's held-session job); every later command runs in it, one at a time, and
//! `AT+FTPCLOSE` logs out. Commands answer `OK` when accepted and their outcome later as the
//! URC `+FTPxxx: <1|0>` (1 success, 0 failure), with `+FTPxxx: 2,<text>` lines first when the
//! server had text to give.
//!
//! Choices where L610-FTP is silent (`docs/l610.md` "Decisions" has them with their sources):
//! - A command without a session, or while another one runs, is CME 2008 ("TCPIP service not
//!   in correct state"); `AT+FTPOPEN` without `AT+MIPCALL` is CME 2031 ("TCPIP mipcall not
//!   active"); both plain `ERROR` with `AT+CMEE=0`.
//! - A login the server refuses, or a server that cannot be reached, is `OK` then
//!   `+FTPOPEN: 0`. A session the network ends (the bearer goes down, the control connection
//!   breaks or the server closes it) answers the command in flight with `0` and is gone;
//!   `AT+FTPOPEN?` then reads 0.
//! - `<sftpmode>` 1 (SFTP) is not offered: CME 4.

mod buffer;
mod commands;
mod data;
mod put;
mod upload;

use vmodem_at::{Command, DataEnd, Failure, Reply, Response};

use super::{Fibocom, cmd, cme};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner, Service, expect};
use crate::service::ftp::job::{Event, Input, Request};
use crate::service::ftp::{DataMode, FtpConfig, FtpError, SessionWork, Value};
use crate::service::{self as services, JobId};

pub(super) use buffer::{COMMANDS as BUFFER, answered_in_download_mode};
pub(super) use commands::COMMANDS;
pub(super) use data::COMMANDS as DATA;
pub(super) use put::COMMANDS as PUT;
pub(super) use upload::COMMANDS as UPLOAD;

/// The largest `AT+FTPREST` value, 0xFFFFFFE.
const REST_MAX: u64 = 0xFFF_FFFE;

/// The longest host name `AT+FTPOPEN` takes, and user, password and account.
const HOST_MAX: usize = 1024;
const NAME_MAX: usize = 255;

/// The FTP state of one L610.
#[derive(Debug, Default)]
pub struct Ftp {
    session: Option<Session>,
    /// `AT+FTPMODE`: 0 passive (the default), 1 active.
    active_mode: bool,
    /// `AT+FTPREST`: where the next FTPRETR or FTPGET starts.
    rest: u64,
    /// `AT+FTPINFO=1`: the session's control lines as `+FTPINFO:` URCs.
    info: bool,
    /// The download streaming to the host in data mode.
    outbound: Option<data::Outbound>,
    /// The upload the host streams in data mode.
    inbound: Option<crate::dialect::stream::Inbound>,
    /// The `AT+FTPGET` buffer.
    fetch: Option<buffer::Fetch>,
    /// The upload `AT+FTPPUT` runs.
    put: Option<put::Put>,
}

/// The FTP application's service: the held session's job, the data phases of `AT+FTPPUT`
/// and `AT+FTPSTOR`, the pending `AT+FTPPUT`, the stream and buffer timers.
pub(super) const SERVICE: Service<Fibocom> = Service::new(Owner::Ftp)
    .events(Fibocom::ftp_event)
    .data(Fibocom::ftp_data, Fibocom::ftp_data_end)
    .resume(Fibocom::put_resume)
    .timer(Fibocom::ftp_deadline, Fibocom::ftp_tick)
    .paused(|s| s.upload_paused() || s.put_paused())
    .bearer_lost(|s, _, io| s.ftp_bearer_lost(io));

/// The held session: its job, and where it is.
#[derive(Debug)]
struct Session {
    job: JobId,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Logging in: `+FTPOPEN: <1|0>` is due.
    Opening,
    /// Logged in, nothing running.
    Ready,
    /// A command runs; its URC is due.
    Busy(Pending),
    /// `AT+FTPCLOSE`: `+FTPCLOSE: 1` is due.
    Closing,
}

/// What a running command reports when it ends: `+<name>: 2,<text>` lines first where the
/// server had text to give, then `+<name>: 1`; or `+<name>: 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// Just the result (CWD, MKD, RMD, CDUP, DEL, REN, NOOP).
    Plain(&'static str),
    /// `+FTPPWD: 2,"<dir>"`.
    Pwd,
    /// `+FTPSYST: 2,<system type>`.
    Syst,
    /// `+FTPSTAT: 2,<line>` for each line of the server's status reply, its code taken off.
    Stat,
    /// `AT+FTPRETR`: `+FTPRETR: 2`, the data, ETX, the result.
    Retr,
    /// `AT+FTPLIST`: the same for the listing.
    List,
    /// `AT+FTPSTOR`: `+FTPSTOR: 2`, the host's stream, the result.
    Stor,
    /// `AT+FTPGET`: download mode, `+FTPGET: 2` once data is in, then the result.
    Get,
    /// `AT+FTPPUT`: chunks until the last, then the result.
    Put,
}

impl Pending {
    fn name(self) -> &'static str {
        match self {
            Pending::Plain(name) => name,
            Pending::Pwd => "+FTPPWD",
            Pending::Syst => "+FTPSYST",
            Pending::Stat => "+FTPSTAT",
            Pending::Retr => "+FTPRETR",
            Pending::List => "+FTPLIST",
            Pending::Stor => "+FTPSTOR",
            Pending::Get => "+FTPGET",
            Pending::Put => "+FTPPUT",
        }
    }

    /// The `2,<text>` lines a successful `value` gives.
    fn lines(self, value: Value) -> Vec<String> {
        match (self, value) {
            (Pending::Pwd, Value::Text(dir)) => vec![format!("\"{dir}\"")],
            (Pending::Syst, Value::Text(text)) => vec![text],
            (Pending::Stat, Value::Lines(lines)) => status_text(lines),
            _ => Vec::new(),
        }
    }
}

/// The text of a status reply, every line of it: the first and the last without their code
/// (`211-`, `211 `), the lines between as the server sent them (RFC 959 lets the last line
/// carry text too; libunftp puts its last figure there, vsftpd an "End of status").
fn status_text(lines: Vec<String>) -> Vec<String> {
    let last = lines.len().saturating_sub(1);
    let strip = |line: &String| line.get(4..).unwrap_or_default().to_string();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| if i == 0 || i == last { strip(line) } else { line.trim_start().to_string() })
        .collect()
}

pub(super) const SESSION: &[crate::dialect::Entry<Fibocom>] = &[
    cmd("+FTPOPEN")
        .test("+FTPOPEN: (\"destination_ip/url\"),(\"username\"),(\"password\"),(\"account\"),(0-65535),(0-65535),(0-65535),(0-1)")
        .read(open_read)
        .write(open),
    cmd("+FTPCLOSE").exec(close),
    cmd("+FTPINFO").test("+FTPINFO: (0-1)").read(info_read).write(info_write),
    cmd("+FTPMODE").test("+FTPMODE: (0-1)").read(mode_read).write(mode_write),
    cmd("+FTPREST").test("+FTPREST: (0-268435454)").read(rest_read).write(rest_write),
];

/// The failure of a bad parameter.
const BAD: Failure = Failure::Cme(cme::BAD_PARAMETERS);
/// The failure of a command in the wrong state.
const WRONG_STATE: Failure = Failure::Cme(cme::WRONG_STATE);

/// `AT+FTPOPEN="<host>","<user>","<password>"[,"<account>",<src_ctrl>,<dst_ctrl>,<src_data>[,<sftp>]]`.
fn open(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(3..=8)?;
    let host = a.quoted(0, HOST_MAX)?;
    let user = a.quoted(1, NAME_MAX)?;
    let password = a.quoted(2, NAME_MAX)?;
    if a.has(3) {
        a.quoted(3, NAME_MAX)?;
    }
    a.opt_uint(4, 0..=65535)?;
    let port = a.opt_uint(5, 0..=65535)?.unwrap_or(21) as u16;
    a.opt_uint(6, 0..=65535)?;
    if a.opt_uint(7, 0..=1)? == Some(1) {
        return Err(Failure::Cme(cme::NOT_SUPPORTED));
    }
    if !s.call.active() {
        return Err(Failure::Cme(cme::NO_BEARER));
    }
    if s.ftp.session.is_some() {
        return Err(WRONG_STATE);
    }
    let mode = if s.ftp.active_mode { DataMode::Active } else { DataMode::Passive };
    let config = FtpConfig { mode, timeouts: s.config.ftp.timeouts(), ..FtpConfig::new(host, port, user, password) };
    let job = ctx.io.start(Owner::Ftp, Request::Hold { config });
    s.ftp.session = Some(Session { job, phase: Phase::Opening });
    Ok(Reply::Ok)
}

fn open_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let open = s.ftp.session.as_ref().is_some_and(|x| matches!(x.phase, Phase::Ready | Phase::Busy(_)));
    ctx.rsp.line(format!("+FTPOPEN: {}", u8::from(open)));
    Ok(Reply::Ok)
}

/// `AT+FTPCLOSE`: with a session and nothing running, or in `AT+FTPGET`'s download mode (the
/// download stops, no `+FTPGET` follows). The buffer and `AT+FTPREST` are cleared either way.
fn close(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let session = s.ftp.session.as_mut().ok_or(WRONG_STATE)?;
    match session.phase {
        Phase::Ready => {
            ctx.io.feed(session.job, Input::Quit);
            session.phase = Phase::Closing;
        }
        Phase::Busy(Pending::Get) => {
            ctx.io.cancel(session.job);
            s.ftp.end_session();
            ctx.io.urc("+FTPCLOSE: 1");
        }
        _ => return Err(WRONG_STATE),
    }
    s.ftp.fetch = None;
    s.ftp.rest = 0;
    Ok(Reply::Ok)
}

fn info_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+FTPINFO: {}", u8::from(s.ftp.info)));
    Ok(Reply::Ok)
}

/// `AT+FTPINFO=<0|1>`: only in a session ("it only works after AT+FTPOPEN"); the session's end
/// turns it off.
fn info_write(s: &mut Fibocom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    let on = a.uint(0, 0..=1)? == 1;
    if s.ftp.session.is_none() {
        return Err(WRONG_STATE);
    }
    s.ftp.info = on;
    Ok(Reply::Ok)
}

fn mode_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+FTPMODE: {}", u8::from(s.ftp.active_mode)));
    Ok(Reply::Ok)
}

fn mode_write(s: &mut Fibocom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    s.ftp.active_mode = a.uint(0, 0..=1)? == 1;
    Ok(Reply::Ok)
}

fn rest_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+FTPREST: {}", s.ftp.rest));
    Ok(Reply::Ok)
}

/// `AT+FTPREST=<start>`, 0 to 0xFFFFFFE as L610-FTP §1.2.17 prints the range (it may mean
/// 0xFFFFFFFE; the printed value is the contract here, `docs/l610.md` D10).
fn rest_write(s: &mut Fibocom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    s.ftp.rest = a.uint(0, 0..=REST_MAX)?;
    Ok(Reply::Ok)
}

impl Ftp {
    /// The session is gone; `AT+FTPINFO` turns off with it.
    fn end_session(&mut self) -> Option<Session> {
        self.info = false;
        self.session.take()
    }

    /// The command in flight is over: the session takes the next one.
    fn finish_command(&mut self) {
        if let Some(session) = self.session.as_mut().filter(|x| matches!(x.phase, Phase::Busy(_))) {
            session.phase = Phase::Ready;
        }
    }
}

impl Fibocom {
    /// Hands `work` to the session and notes what its end reports.
    fn submit(&mut self, io: &mut Io, pending: Pending, work: SessionWork) -> Outcome {
        let session = self.ftp.session.as_mut().filter(|x| x.phase == Phase::Ready).ok_or(WRONG_STATE)?;
        io.feed(session.job, Input::Work(work));
        session.phase = Phase::Busy(pending);
        Ok(Reply::Ok)
    }

    /// Takes bytes of a data phase: an `AT+FTPPUT` chunk, or `AT+FTPSTOR`'s stream.
    fn ftp_data(&mut self, payload: &[u8]) {
        if self.put_receiving() {
            self.put_data(payload);
        } else {
            self.upload_data(payload);
        }
    }

    /// An `AT+FTPPUT` chunk ends, or `AT+FTPSTOR`'s data mode (whose end prints nothing: the
    /// line layer opened it without a command, so the reply does not matter).
    fn ftp_data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        if self.put_receiving() {
            return self.put_end(end, rsp, io);
        }
        self.upload_end(end, io);
        Reply::Ok
    }

    /// An event of the session's job.
    fn ftp_event(&mut self, job: JobId, event: services::Event, io: &mut Io) {
        let Some(event) = expect::<Event>(job, event) else { return };
        let Some(session) = self.ftp.session.as_mut().filter(|x| x.job == job) else {
            tracing::warn!(target: "vmodem::ftp", "job {job} is not the session's: {event:?}");
            return;
        };
        match (event, session.phase) {
            (Event::Trace(line), _) if self.ftp.info => io.urc(format!("+FTPINFO: {}", line.text)),
            // Control lines the host did not ask to see (`AT+FTPINFO=0`), and the data
            // connection of a buffered download (its first bytes announce it).
            (Event::Trace(_), _) | (Event::Opened, Phase::Busy(Pending::Get)) => {}
            (Event::LoggedIn, Phase::Opening) => {
                session.phase = Phase::Ready;
                io.urc("+FTPOPEN: 1");
            }
            (Event::Opened, Phase::Busy(p @ (Pending::Retr | Pending::List))) => self.announce(p, io),
            (Event::Data, Phase::Busy(p @ (Pending::Retr | Pending::List))) => self.pump(p, io),
            (Event::Finished(result), Phase::Busy(p @ (Pending::Retr | Pending::List))) => {
                self.transfer_ended(p, result.map(|_| ()), io);
            }
            (Event::Opened, Phase::Busy(Pending::Stor)) => self.upload_ready(io),
            (Event::Drained, Phase::Busy(Pending::Stor)) => self.upload_drained(),
            (Event::Finished(result), Phase::Busy(Pending::Stor)) => self.upload_ended(result.map(|_| ()), io),
            (Event::Data, Phase::Busy(Pending::Get)) => self.fetch_data(io),
            (Event::Opened, Phase::Busy(Pending::Put)) => self.put_opened(io),
            (Event::Drained, Phase::Busy(Pending::Put)) => self.put_drained(),
            (Event::Finished(result), Phase::Busy(Pending::Put)) => self.put_ended(result.map(|_| ()), io),
            (Event::Finished(result), Phase::Busy(Pending::Get)) => {
                if let Err(e) = &result {
                    tracing::info!(target: "vmodem::ftp", "+FTPGET failed: {e}");
                }
                self.fetch_ended(result.is_ok(), io);
            }
            (Event::Finished(result), Phase::Busy(pending)) => {
                session.phase = Phase::Ready;
                report(pending, result, io);
            }
            (Event::Done(result), phase) => {
                self.ftp.end_session();
                match phase {
                    Phase::Opening => {
                        if let Err(e) = result {
                            tracing::info!(target: "vmodem::ftp", "+FTPOPEN failed: {e}");
                        }
                        io.urc("+FTPOPEN: 0");
                    }
                    Phase::Closing => io.urc("+FTPCLOSE: 1"),
                    Phase::Busy(pending) => self.fail(pending, io),
                    Phase::Ready => {}
                }
            }
            (event, phase) => tracing::warn!(target: "vmodem::ftp", "unexpected {event:?} in {phase:?}"),
        }
    }

    /// The command in flight fails because the session is gone.
    fn fail(&mut self, pending: Pending, io: &mut Io) {
        match pending {
            Pending::Retr | Pending::List => self.transfer_ended(pending, Err(FtpError::ControlClosed), io),
            Pending::Stor => self.upload_ended(Err(FtpError::ControlClosed), io),
            Pending::Get => self.fetch_ended(false, io),
            Pending::Put => self.put_ended(Err(FtpError::ControlClosed), io),
            _ => report(pending, Err(FtpError::ControlClosed), io),
        }
    }

    /// When a held-back download stream tries again, or an unread buffer gives up.
    fn ftp_deadline(&self) -> Option<tokio::time::Instant> {
        [self.stream_deadline(), self.fetch_deadline()].into_iter().flatten().min()
    }

    /// A held-back download stream tries again; an unread buffer gives up.
    fn ftp_tick(&mut self, io: &mut Io) {
        if let Some(Phase::Busy(p @ (Pending::Retr | Pending::List))) = self.ftp.session.as_ref().map(|x| x.phase) {
            self.pump(p, io);
        }
        self.fetch_tick(io);
    }

    /// Whether `AT+FTPGET`'s download mode refuses `cmd`.
    pub(super) fn ftp_refuses(&self, cmd: &Command) -> bool {
        self.ftp.session.as_ref().is_some_and(|x| x.phase == Phase::Busy(Pending::Get))
            && !answered_in_download_mode(cmd)
    }

    /// The bearer went down: the session is gone; a command in flight reports 0.
    pub(super) fn ftp_bearer_lost(&mut self, io: &mut Io) {
        if let Some(session) = self.ftp.end_session() {
            io.cancel(session.job);
            if let Phase::Busy(pending) = session.phase {
                self.fail(pending, io);
            }
        }
    }
}

/// The URCs that end a command: its text lines, then 1; or 0.
fn report(pending: Pending, result: Result<Value, FtpError>, io: &mut Io) {
    let name = pending.name();
    match result {
        Ok(value) => {
            for line in pending.lines(value) {
                io.urc(format!("{name}: 2,{line}"));
            }
            io.urc(format!("{name}: 1"));
        }
        Err(e) => {
            tracing::info!(target: "vmodem::ftp", "{name} failed: {e}");
            io.urc(format!("{name}: 0"));
        }
    }
}
