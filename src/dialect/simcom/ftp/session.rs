//! FTP sessions (M7080 §15.2.14–§15.2.28; AN7080 §5): every operation answers `OK`
//! once its syntax and state are right, then reports through a URC `+FTPxxx: 1,<code>`.
//!
//! Downloads (`AT+FTPGET`, `AT+FTPLIST`):
//! - `+FTPGET: 1,1` when downloaded data waits and the host has not been told since it last
//!   found the buffer empty; repeated every `unread_notice` while the host does not read.
//! - `AT+FTPGET=2,<n>` returns what is buffered now (possibly `+FTPGET: 2,0`).
//! - `+FTPGET: 1,0` only once the server confirmed the transfer (226) and the host has read the
//!   last byte, because hosts stop reading at `1,0`. An empty file goes straight to `1,0`.
//! - No read for `unread_timeout` while data waits: `+FTPGET: 1,64`, session closed.
//! - A failed transfer reports its code at once and drops unread data: it is never `1,0`.
//!
//! Uploads (`AT+FTPPUT`): `+FTPPUT: 1,1,<max>` when the data connection is open and after each
//! chunk has gone to the server; `AT+FTPPUT=2,<n>` takes exactly `min(n, max)` bytes (the
//! test form allows up to 1460, the runtime maximum is the family's, 1360 on SIM7080);
//! `AT+FTPPUT=2,0` closes and `+FTPPUT: 1,0` follows the server's 226. If the host sends fewer
//! bytes than confirmed before the input timer runs out, the chunk is discarded, the answer is
//! `ERROR`, and the session stays ready for the chunk to be sent again.
//!
//! One session at a time: starting another answers `OK` then `+<CMD>: 1,66`. Missing
//! parameters are `66`; an inactive FTPCID bearer is `61` (net error). Reading or writing in
//! the wrong state is `ERROR` (`+CME ERROR: 3` with AT+CMEE set), as is `AT+FTPQUIT` idle.

use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply, dle};

use super::super::profile::cme;
use super::super::{Simcom, cmd};
use super::Ftp;
use super::codes::code;
use super::params::{DataType, PutOpt};
use crate::config::FtpTimers;
use crate::dialect::args::Args;
use crate::dialect::stream::Inbound;
use crate::dialect::{Ctx, Io, Outcome, Owner, expect};
use crate::limits::later;
use crate::service::ftp::job::{Event, Request};
use crate::service::ftp::{DataMode, FtpConfig, FtpOp, SessionWork, Source, StoreMode, TransferSettings, Value};
use crate::service::pipe::{self, PipeReader, PipeWriter};
use crate::service::sink::Sink;
use crate::service::{self as services, JobId};

/// The largest `<reqlength>` of `AT+FTPGET=2` / `AT+FTPLIST=2`, and of `AT+FTPPUT=2`.
const MAX_CHUNK: u64 = 1460;

/// Which operation a session runs; names its URC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `AT+FTPGET=1`.
    Get,
    /// `AT+FTPLIST=1`.
    List,
    /// `AT+FTPPUT=1`.
    Put,
    /// `AT+FTPDELE`.
    Dele,
    /// `AT+FTPSIZE`.
    Size,
    /// `AT+FTPMKD`.
    Mkd,
    /// `AT+FTPRMD`.
    Rmd,
    /// `AT+FTPRENAME`.
    Rename,
    /// `AT+FTPMDTM`.
    Mdtm,
    /// `AT+FTPEXTGET=1`: a download into the RAM buffer.
    ExtGet,
    /// `AT+FTPEXTGET=2`: a download into the module file system.
    ExtGetFile,
    /// `AT+FTPETPUT`: an upload streamed with DLE/ETX escaping.
    EtPut,
    /// `AT+FTPETGET`: a download streamed to the host with DLE/ETX escaping.
    EtGet,
    /// `AT+FTPGETTOFS` (SIM800): a download into the module file system.
    GetToFs,
    /// `AT+FTPPUTFRMFS` (SIM800): an upload of a file of the module file system.
    PutFromFs,
}

impl Kind {
    /// The command and URC name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Get => "+FTPGET",
            Kind::List => "+FTPLIST",
            Kind::Put => "+FTPPUT",
            Kind::Dele => "+FTPDELE",
            Kind::Size => "+FTPSIZE",
            Kind::Mkd => "+FTPMKD",
            Kind::Rmd => "+FTPRMD",
            Kind::Rename => "+FTPRENAME",
            Kind::Mdtm => "+FTPMDTM",
            Kind::ExtGet => "+FTPEXTGET",
            Kind::ExtGetFile => "+FTPEXTGETFILE",
            Kind::EtPut => "+FTPETPUT",
            Kind::EtGet => "+FTPETGET",
            Kind::GetToFs => "+FTPGETTOFS",
            Kind::PutFromFs => "+FTPPUTFRMFS",
        }
    }
}

/// The running session.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) kind: Kind,
    pub(super) job: JobId,
    /// The bearer it runs over.
    pub(super) cid: u8,
    /// An FTPS session (`AT+FTPSSL` 1 or 2): a refused PORT is 94.
    pub(super) ftps: bool,
    pub(super) transfer: Transfer,
}

/// What a session moves, and where it is: each variant holds exactly its own state.
#[derive(Debug)]
pub(super) enum Transfer {
    /// `AT+FTPGET`, `AT+FTPLIST`: the host reads what has arrived with `=2,<n>`.
    Download(Download),
    /// `AT+FTPETGET`: the file streams to the host as it comes, escaped.
    Stream(Stream),
    /// `AT+FTPPUT`: the host sends the file in chunks with `=2,<n>`.
    Chunks(ChunkStep),
    /// `AT+FTPETPUT`: the host streams the file, escaped.
    EtUpload(EtUpload),
    /// An upload whose bytes are all in the service's pipe from the start (the
    /// `AT+FTPEXTPUT` buffer, a file of the file system): no handshake with the host.
    Whole,
    /// A download into the RAM buffer or the file system (`AT+FTPEXTGET`, `AT+FTPGETTOFS`):
    /// the result comes at its end.
    Fill,
    /// A command without a data connection.
    Command,
}

/// A download the host reads in pieces.
#[derive(Debug)]
pub(super) struct Download {
    pipe: PipeReader,
    notice: Notice,
    /// The server confirmed the whole transfer.
    done: bool,
    last_read: Instant,
    last_notice: Instant,
}

/// What the host has been told of a download's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    /// Nothing yet: reads are refused until the first `+FTPGET: 1,1`.
    Unannounced,
    /// `+FTPGET: 1,1` went out, and the host has not found the buffer empty since.
    Told,
    /// The host found the buffer empty since it was last told: new data is announced again.
    Emptied,
}

/// A download streamed to the host (`AT+FTPETGET`).
#[derive(Debug)]
pub(super) struct Stream {
    pub(super) pipe: PipeReader,
    /// `+FTPETGET: 1,1` has gone out: the host is in the stream and waits for its ETX.
    pub(super) announced: bool,
    /// The server confirmed the whole transfer.
    pub(super) done: bool,
    /// When a stream held back by the line's backlog tries again.
    pub(super) retry: Option<Instant>,
}

/// Where a chunked upload (`AT+FTPPUT`) is. The pipe to the service travels with the steps
/// that have one.
#[derive(Debug)]
pub(super) enum ChunkStep {
    /// The data connection is not open yet.
    Opening(PipeWriter),
    /// `+FTPPUT: 1,1,<max>` is out: the host may send a chunk.
    Ready(PipeWriter),
    /// A chunk's data phase: its bytes so far.
    Receiving(PipeWriter, Vec<u8>),
    /// A chunk is on its way to the server; the next `1,1,<max>` comes once it has gone.
    Sending(PipeWriter),
    /// The host closed the upload (`AT+FTPPUT=2,0`): `1,0` follows the server's 226.
    Closed,
}

/// An upload the host streams (`AT+FTPETPUT`).
#[derive(Debug)]
pub(super) struct EtUpload {
    pub(super) inbound: Inbound,
    pub(super) step: EtStep,
}

/// Where an `AT+FTPETPUT` stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EtStep {
    /// The data connection is not open yet.
    Opening,
    /// `+FTPETPUT: 1,1` is out: the host may start the stream with `AT+FTPETPUT=2`.
    Ready,
    /// The host streams the file.
    Streaming,
    /// The stream's ETX came: the upload ends once the server has the rest.
    Closed,
}

pub(in crate::dialect::simcom) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+FTPGET").test("+FTPGET: (1,2),(1-1460)").write(|s, cmd, c| download_command(s, cmd, c, Kind::Get)),
    cmd("+FTPLIST").test("+FTPLIST: (1,2),(1-1460)").write(|s, cmd, c| download_command(s, cmd, c, Kind::List)),
    cmd("+FTPPUT").test("+FTPPUT: (1,2),1460,(1-1460)").write(put_command),
    cmd("+FTPDELE").test_ok().exec(|s, _, c| start(s, Kind::Dele, c)).write(|s, cmd, c| lenient(s, cmd, c, Kind::Dele)),
    cmd("+FTPSIZE").test_ok().exec(|s, _, c| start(s, Kind::Size, c)).write(|s, cmd, c| lenient(s, cmd, c, Kind::Size)),
    cmd("+FTPMKD").test_ok().exec(|s, _, c| start(s, Kind::Mkd, c)),
    cmd("+FTPRMD").test_ok().exec(|s, _, c| start(s, Kind::Rmd, c)),
    cmd("+FTPRENAME").test_ok().exec(|s, _, c| start(s, Kind::Rename, c)),
    cmd("+FTPMDTM").test_ok().exec(|s, _, c| start(s, Kind::Mdtm, c)),
    cmd("+FTPQUIT").test_ok().exec(quit),
    cmd("+FTPSTATE").test("+FTPSTATE: (0,1)").exec(|s, _, c| {
        c.rsp.line(format!("+FTPSTATE: {}", u8::from(s.ftp.session.is_some())));
        Ok(Reply::Ok)
    }),
];

/// The failure for a command in the wrong session state.
pub(super) const WRONG_STATE: Failure = Failure::Cme(cme::NOT_ALLOWED);

/// `AT+FTPDELE=1` and `AT+FTPSIZE=1`: the application notes write them so (the manuals define
/// only the execute form); real hosts copy the notes, so `=1` is accepted as the execute form.
fn lenient(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>, kind: Kind) -> Outcome {
    Args::of(cmd, Failure::Plain).uint(0, 1..=1)?;
    start(s, kind, ctx)
}

/// `AT+FTPGET=1`, `AT+FTPGET=2,<n>` and the same for `AT+FTPLIST`.
fn download_command(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>, kind: Kind) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    match a.uint(0, 1..=2)? {
        1 => {
            a.count(1..=1)?;
            start(s, kind, ctx)
        }
        _ => {
            a.count(2..=2)?;
            let n = a.uint(1, 1..=MAX_CHUNK)? as usize;
            read(s, kind, n, ctx)
        }
    }
}

/// `AT+FTPPUT=1`, `AT+FTPPUT=2,<n>`.
fn put_command(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    match a.uint(0, 1..=2)? {
        1 => {
            a.count(1..=1)?;
            start(s, Kind::Put, ctx)
        }
        _ => {
            a.count(2..=2)?;
            let n = a.uint(1, 0..=MAX_CHUNK)? as usize;
            write(s, n, ctx)
        }
    }
}

/// Starts a session of `kind`, or reports why it cannot run.
pub(super) fn start(s: &mut Simcom, kind: Kind, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if refuse(s, kind, ctx.io) {
        return Ok(Reply::Ok);
    }
    let Some(config) = job_config(s, kind, ctx.io) else { return Ok(Reply::Ok) };
    let p = &s.ftp.params;
    let get = join(&p.get_path, &p.get_name);
    let put = join(&p.put_path, &p.put_name);
    let settings = TransferSettings::default();
    let (work, transfer) = match kind {
        Kind::Get | Kind::List | Kind::EtGet => {
            // Once full, the download resumes when half the buffer is free, so that the
            // host's reads (1460 bytes at a time) do not each wake the download.
            let (sink, pipe) = pipe::pipe_with_resume(pipe::DEFAULT_CAPACITY, pipe::DEFAULT_CAPACITY / 2);
            let source = match kind {
                Kind::List => Source::Listing { path: p.get_path.clone() },
                _ => Source::File { path: get, offset: p.rest },
            };
            let now = ctx.io.now;
            let transfer = match kind {
                Kind::EtGet => Transfer::Stream(Stream { pipe, announced: false, done: false, retry: None }),
                _ => Transfer::Download(Download {
                    pipe,
                    notice: Notice::Unannounced,
                    done: false,
                    last_read: now,
                    last_notice: now,
                }),
            };
            (SessionWork::Download { source, sink: Sink::Pipe(sink), settings }, transfer)
        }
        Kind::Put | Kind::EtPut => {
            let mode = match p.put_opt {
                PutOpt::Stor => StoreMode::Stor,
                PutOpt::Appe => StoreMode::Appe,
                PutOpt::Stou => StoreMode::Stou,
            };
            let (source, transfer) = match s.ftp.ext.put_buffer().filter(|_| kind == Kind::Put) {
                Some(buf) => (whole(buf), Transfer::Whole),
                None => {
                    let (writer, source) = pipe::pipe(pipe::DEFAULT_CAPACITY);
                    let transfer = match kind {
                        Kind::EtPut => {
                            Transfer::EtUpload(EtUpload { inbound: Inbound::new(writer), step: EtStep::Opening })
                        }
                        _ => Transfer::Chunks(ChunkStep::Opening(writer)),
                    };
                    (source, transfer)
                }
            };
            (SessionWork::Upload { path: put, mode, offset: 0, source, settings }, transfer)
        }
        _ => {
            let op = match kind {
                Kind::Dele => FtpOp::Delete(get),
                Kind::Size => FtpOp::Size(get),
                Kind::Mdtm => FtpOp::Mdtm(get),
                Kind::Mkd => FtpOp::MakeDir(p.get_path.clone()),
                Kind::Rmd => FtpOp::RemoveDir(p.get_path.clone()),
                _ => FtpOp::Rename { from: get, to: put },
            };
            (SessionWork::Command(op), Transfer::Command)
        }
    };
    launch(s, kind, config, work, transfer, ctx.io);
    Ok(Reply::Ok)
}

/// A pipe holding all of `bytes`, closed: the source of an upload known in full.
pub(super) fn whole(bytes: &[u8]) -> PipeReader {
    let (writer, source) = pipe::pipe(bytes.len().max(1));
    // Fits: the pipe is as large as the bytes. Dropping the writer ends the data.
    let _ = writer.try_write(bytes);
    source
}

/// Whether a session of `kind` cannot start now; if so its URC (`66`: a session runs or a
/// parameter is missing; `61`: the bearer is down) is queued.
pub(super) fn refuse(s: &mut Simcom, kind: Kind, io: &mut Io) -> bool {
    let p = &s.ftp.params;
    let missing = p.server.is_empty()
        || match kind {
            Kind::Get | Kind::Dele | Kind::Size | Kind::Mdtm | Kind::ExtGet | Kind::ExtGetFile | Kind::EtGet => {
                p.get_name.is_empty()
            }
            Kind::GetToFs => p.get_name.is_empty(),
            Kind::Put | Kind::EtPut | Kind::PutFromFs => p.put_name.is_empty(),
            Kind::Rename => p.get_name.is_empty() || p.put_name.is_empty(),
            Kind::Mkd | Kind::Rmd => p.get_path.is_empty(),
            Kind::List => false,
        };
    let code = if s.ftp.session.is_some() || missing {
        66
    } else if !s.bearer_up(p.cid) {
        61
    } else {
        return false;
    };
    io.urc(s.result(kind, code, None));
    true
}

/// Asks for the job of a session and makes it the running one.
pub(super) fn launch(
    s: &mut Simcom,
    kind: Kind,
    config: FtpConfig,
    work: SessionWork,
    transfer: Transfer,
    io: &mut Io,
) {
    let cid = s.ftp.params.cid;
    let job = io.start(Owner::Ftp, Request::Once { config, work });
    let ftps = s.ssl.ftps();
    s.ftp.session = Some(Session { kind, job, cid, ftps, transfer });
}

/// `AT+FTPGET=2,<n>`: up to `n` buffered bytes.
fn read(s: &mut Simcom, kind: Kind, n: usize, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let profile = s.profile;
    let Some(Session { transfer: Transfer::Download(d), .. }) = s.ftp.session.as_mut().filter(|x| x.kind == kind)
    else {
        return Err(WRONG_STATE);
    };
    if d.notice == Notice::Unannounced {
        return Err(WRONG_STATE);
    }
    // The pipe has one reader: what it holds now can all be taken below.
    let got = n.min(d.pipe.available());
    ctx.rsp.line(profile.line(kind.name(), format_args!("2,{got}")));
    d.pipe.take(got, |run| ctx.rsp.raw(run));
    d.last_read = ctx.io.now;
    if d.pipe.available() == 0 {
        d.notice = Notice::Emptied;
        if d.done {
            s.end(0, Value::None, ctx.io);
        }
    }
    Ok(Reply::Ok)
}

/// `AT+FTPPUT=2,<n>`: a chunk of `n` bytes, or `0` to finish.
fn write(s: &mut Simcom, n: usize, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let profile = s.profile;
    let data_input = s.config.ftp.data_input;
    let Some(Session { transfer: Transfer::Chunks(step), .. }) = s.ftp.session.as_mut() else {
        return Err(WRONG_STATE);
    };
    match std::mem::replace(step, ChunkStep::Closed) {
        // Closing drops the pipe: the service sends what it holds, then ends the upload.
        ChunkStep::Ready(_) | ChunkStep::Sending(_) if n == 0 => Ok(Reply::Ok),
        ChunkStep::Ready(pipe) => {
            let confirmed = n.min(profile.ftp.put_chunk);
            ctx.rsp.line(profile.line("+FTPPUT", format_args!("2,{confirmed}")));
            *step = ChunkStep::Receiving(pipe, Vec::with_capacity(confirmed));
            ctx.io.data_deadline(later(ctx.io.now, data_input.duration()));
            Ok(ctx.io.data(Owner::Ftp, DataPhase::Fixed(confirmed)))
        }
        other => {
            *step = other;
            Err(WRONG_STATE)
        }
    }
}

/// `AT+FTPQUIT`: ends the running session with the family's manual-quit code.
fn quit(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.ftp.session.is_none() {
        return Err(WRONG_STATE);
    }
    s.end(s.profile.ftp.quit_code, Value::None, ctx.io);
    Ok(Reply::Ok)
}

/// The parameters of a session's job, TLS included; `None` (with the session's `90` URC
/// queued) when the `AT+FTPSSL` settings cannot make a TLS session.
pub(super) fn job_config(s: &mut Simcom, kind: Kind, io: &mut Io) -> Option<FtpConfig> {
    let mut config = ftp_config(&s.ftp.params, &s.config.ftp);
    match s.ftp_tls(&config.host) {
        Ok(tls) => config.tls = tls,
        Err(()) => {
            s.ftp.ext.failed(kind, 90);
            io.urc(s.result(kind, 90, None));
            return None;
        }
    }
    Some(config)
}

/// The parameters of a job, without TLS.
fn ftp_config(p: &super::Params, timers: &FtpTimers) -> FtpConfig {
    FtpConfig {
        host: p.server.clone(),
        port: p.port,
        // An empty FTPUN logs in anonymously, as FTP clients do.
        user: if p.user.is_empty() { "anonymous".into() } else { p.user.clone() },
        password: p.password.clone(),
        mode: if p.mode == 1 { DataMode::Passive } else { DataMode::Active },
        ascii: p.data_type == DataType::Ascii,
        timeouts: timers.timeouts(),
        trace: None,
        tls: None,
    }
}

/// `path` and `name` as one remote path (`/` + `simftp.txt` is `/simftp.txt`).
pub(super) fn join(path: &str, name: &str) -> String {
    match (path, name) {
        ("", _) => name.to_string(),
        (_, "") => path.to_string(),
        (p, n) if p.ends_with('/') => format!("{p}{n}"),
        (p, n) => format!("{p}/{n}"),
    }
}

impl Ftp {
    /// Whether host input waits for an `AT+FTPETPUT` stream to drain.
    pub(super) fn input_paused(&self) -> bool {
        matches!(&self.session, Some(Session { transfer: Transfer::EtUpload(u), .. }) if u.inbound.paused())
    }

    /// The kind of the running session, if one runs.
    pub(super) fn running(&self) -> Option<Kind> {
        self.session.as_ref().map(|s| s.kind)
    }

    /// Takes payload bytes of an `AT+FTPPUT=2,<n>` chunk or an `AT+FTPETPUT` stream.
    pub(super) fn data(&mut self, payload: &[u8]) {
        match self.session.as_mut().map(|s| &mut s.transfer) {
            Some(Transfer::Chunks(ChunkStep::Receiving(_, chunk))) => chunk.extend_from_slice(payload),
            Some(Transfer::EtUpload(u)) => u.inbound.push(payload),
            // The session ended while the host was still sending: the bytes have nowhere to go.
            _ => {}
        }
    }

    /// Ends an `AT+FTPPUT=2,<n>` data phase (the chunk goes to the server, or is discarded
    /// and the host may send it again) or an `AT+FTPETPUT` stream.
    pub(super) fn data_end(&mut self, end: DataEnd) -> Reply {
        let Some(session) = self.session.as_mut() else { return Reply::Error(Failure::Plain) };
        match &mut session.transfer {
            Transfer::EtUpload(u) => u.stream_end(end),
            Transfer::Chunks(step) => match std::mem::replace(step, ChunkStep::Closed) {
                ChunkStep::Receiving(pipe, chunk)
                    if end == DataEnd::Complete && pipe.try_write(&chunk) == Ok(chunk.len()) =>
                {
                    *step = ChunkStep::Sending(pipe);
                    Reply::Ok
                }
                ChunkStep::Receiving(pipe, _) => {
                    *step = ChunkStep::Ready(pipe);
                    Reply::Error(Failure::Plain)
                }
                other => {
                    *step = other;
                    Reply::Error(Failure::Plain)
                }
            },
            _ => Reply::Error(Failure::Plain),
        }
    }
}

impl Simcom {
    /// `+<CMD>: 1,<code>` (`+FTPSIZE: 1,<code>,<size>`, `+FTPMDTM: 1,0,<time>`); the SIM800's
    /// file-system transfers give `0,<length>` or the bare code.
    fn result(&self, kind: Kind, code: u8, value: Option<&Value>) -> String {
        let args = match (kind, value) {
            (Kind::GetToFs, _) if code == 0 => format!("0,{}", self.ftp.ext.fs_progress.get()),
            (Kind::PutFromFs, _) if code == 0 => format!("0,{}", self.ftp.ext.fs_put_size),
            (Kind::GetToFs | Kind::PutFromFs, _) => code.to_string(),
            (_, Some(Value::Size(n))) => format!("1,{code},{n}"),
            (_, Some(Value::Timestamp(t))) => format!("1,{code},{t}"),
            (Kind::Size, _) => format!("1,{code},0"),
            _ => format!("1,{code}"),
        };
        self.profile.line(kind.name(), args)
    }

    /// Ends the session with `code`; cancels its job if it still runs.
    pub(super) fn end(&mut self, code: u8, value: Value, io: &mut Io) {
        if let Some(session) = self.ftp.session.take() {
            io.cancel(session.job);
            if code != 0 {
                self.ftp.ext.failed(session.kind, code);
            }
            match &session.transfer {
                // A stream the host reads ends with its ETX before the result.
                Transfer::Stream(Stream { announced: true, .. }) => io.raw([dle::ETX]),
                // One the host is sending is still read to its ETX (see `transparent`), unless
                // the host goes quiet; the result waits behind its `ERROR`.
                Transfer::EtUpload(EtUpload { step: EtStep::Streaming, .. }) => {
                    io.data_idle(self.config.ftp.data_input.duration());
                }
                _ => {}
            }
            io.urc(self.result(session.kind, code, Some(&value).filter(|v| **v != Value::None)));
        }
    }

    /// An event of the session's job.
    pub(super) fn ftp_event(&mut self, job: JobId, event: services::Event, io: &mut Io) {
        let Some(event) = expect::<Event>(job, event) else { return };
        let profile = self.profile;
        let Some(session) = self.ftp.session.as_mut().filter(|s| s.job == job) else {
            tracing::warn!(target: "vmodem::ftp", "job {job} is not the running session's: {event:?}");
            return;
        };
        let (kind, ftps) = (session.kind, session.ftps);
        match (event, &mut session.transfer) {
            (Event::Done(Err(err)), _) => {
                let code = code(&err, kind, ftps);
                tracing::info!(target: "vmodem::ftp", "{} failed with {code}: {err}", kind.name());
                self.end(code, Value::None, io);
            }
            (Event::Data, Transfer::Download(d)) => {
                if d.notice != Notice::Told {
                    if d.notice == Notice::Unannounced {
                        d.last_read = io.now;
                    }
                    d.notice = Notice::Told;
                    d.last_notice = io.now;
                    io.urc(profile.line(kind.name(), "1,1"));
                }
            }
            (Event::Done(Ok(_)), Transfer::Download(d)) => {
                d.done = true;
                if d.pipe.available() == 0 {
                    self.end(0, Value::None, io);
                }
            }
            (Event::Data, Transfer::Stream(_)) => self.pump(io),
            (Event::Done(Ok(_)), Transfer::Stream(st)) => {
                st.done = true;
                self.pump(io);
            }
            (Event::Opened, Transfer::Chunks(step)) => {
                if let ChunkStep::Opening(pipe) = std::mem::replace(step, ChunkStep::Closed) {
                    *step = ChunkStep::Ready(pipe);
                    io.urc(profile.line("+FTPPUT", format_args!("1,1,{}", profile.ftp.put_chunk)));
                }
            }
            (Event::Drained, Transfer::Chunks(step)) => match std::mem::replace(step, ChunkStep::Closed) {
                ChunkStep::Sending(pipe) => {
                    *step = ChunkStep::Ready(pipe);
                    io.urc(profile.line("+FTPPUT", format_args!("1,1,{}", profile.ftp.put_chunk)));
                }
                // The last chunk went out after the host closed the upload.
                ChunkStep::Closed => {}
                other => {
                    tracing::warn!(target: "vmodem::ftp", "+FTPPUT: the pipe drained while {other:?}");
                    *step = other;
                }
            },
            (Event::Opened, Transfer::EtUpload(u)) if u.step == EtStep::Opening => {
                u.step = EtStep::Ready;
                io.urc(profile.line(kind.name(), "1,1"));
            }
            (Event::Drained, Transfer::EtUpload(u)) => u.inbound.drained(),
            (Event::Done(Ok(value)), Transfer::Fill) => {
                self.ftp.ext.succeeded(value);
                self.end(0, Value::None, io);
            }
            (
                Event::Done(Ok(value)),
                Transfer::Chunks(_) | Transfer::EtUpload(_) | Transfer::Whole | Transfer::Command,
            ) => {
                self.end(0, value, io);
            }
            // The data connection of a download is up (the first bytes announce it), and a
            // whole upload needs no word from the host.
            (Event::Opened, Transfer::Download(_) | Transfer::Stream(_) | Transfer::Fill | Transfer::Whole)
            | (Event::Drained, Transfer::Whole) => {}
            (event, transfer) => {
                tracing::warn!(target: "vmodem::ftp", "{}: unexpected {event:?} in {transfer:?}", kind.name());
            }
        }
    }

    /// The bearer `cid` went down: a session over it fails with 61 (net error).
    pub(super) fn ftp_bearer_lost(&mut self, cid: u8, io: &mut Io) {
        if self.ftp.session.as_ref().is_some_and(|s| s.cid == cid) {
            self.end(61, Value::None, io);
        }
    }

    /// When the unread-data timers of a download next need attention, or a held-back stream
    /// tries again.
    pub(super) fn ftp_deadline(&self) -> Option<Instant> {
        match &self.ftp.session.as_ref()?.transfer {
            Transfer::Stream(st) => st.retry,
            Transfer::Download(d) if d.notice != Notice::Unannounced && d.pipe.available() > 0 => {
                let timers = &self.config.ftp;
                let notice = later(d.last_read.max(d.last_notice), timers.unread_notice.duration());
                let timeout = later(d.last_read, timers.unread_timeout.duration());
                Some(notice.min(timeout))
            }
            _ => None,
        }
    }

    /// Repeats `+FTPGET: 1,1` for unread data, or gives up with `+FTPGET: 1,64`; pumps a
    /// held-back stream.
    pub(super) fn ftp_tick(&mut self, io: &mut Io) {
        let profile = self.profile;
        let (notice, timeout) = (self.config.ftp.unread_notice, self.config.ftp.unread_timeout);
        let Some(session) = self.ftp.session.as_mut() else { return };
        let kind = session.kind;
        match &mut session.transfer {
            Transfer::Stream(_) => self.pump(io),
            Transfer::Download(d) if d.notice != Notice::Unannounced && d.pipe.available() > 0 => {
                if io.now >= later(d.last_read, timeout.duration()) {
                    self.end(64, Value::None, io);
                } else if io.now >= later(d.last_read.max(d.last_notice), notice.duration()) {
                    d.last_notice = io.now;
                    io.urc(profile.line(kind.name(), "1,1"));
                }
            }
            _ => {}
        }
    }
}

impl EtUpload {
    /// The host's ETX ended the stream (`OK`; the upload ends once the server has the rest),
    /// or the stream was cut short (`ERROR`).
    fn stream_end(&mut self, end: DataEnd) -> Reply {
        if end != DataEnd::Complete {
            return Reply::Error(Failure::Plain);
        }
        self.inbound.close();
        self.step = EtStep::Closed;
        Reply::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn paths_join_like_the_application_notes() {
        assert_eq!(join("/", "simftp.txt"), "/simftp.txt");
        assert_eq!(join("/dir", "a"), "/dir/a");
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("/dir/", ""), "/dir/");
    }
}
