//! Service jobs: the unit of work a dialect asks for (download a file into a pipe, upload from
//! one, run one FTP command, make one HTTP request) and the events it hears back. The modem runs each job as its own
//! task; a job knows nothing of AT commands or of the family that asked for it.

use std::future::Future;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::ftp::{DataMode, FtpConfig, FtpError, FtpSession, StoreMode, TraceLine};
use super::http::{HttpError, HttpRequest, HttpResponse, fetch};
use super::pipe::PipeReader;
use super::sink::{Sink, Taken};
use crate::net::Net;

/// Identifies a job for its events and for cancelling it.
pub type JobId = u64;

/// What a dialect asks the modem for.
// One request per FTP command, moved once from the handler to the modem: boxing the large
// variant would save nothing worth an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Request {
    /// Start an FTP job.
    Ftp {
        /// The id its events will carry.
        job: JobId,
        /// What to do.
        work: FtpWork,
    },
    /// Hold an FTP session: log in, then do the work that arrives on `work` (see
    /// [`run_held`]).
    FtpHeld {
        /// The id its events will carry.
        job: JobId,
        /// Server and login.
        config: FtpConfig,
        /// Where the dialect sends the work; closing it logs out.
        work: mpsc::Receiver<SessionWork>,
    },
    /// Make an HTTP request; one [`JobEvent::HttpDone`] reports the outcome.
    Http {
        /// The id its event will carry.
        job: JobId,
        /// What to send.
        request: HttpRequest,
    },
    /// Stop a job; no further events arrive for it.
    Cancel(JobId),
}

/// An FTP job: log in, do one thing, log out.
#[derive(Debug)]
pub enum FtpWork {
    /// Download a file (from an offset) or a listing into `sink`.
    Download {
        /// Server and login.
        config: FtpConfig,
        /// What to download.
        source: Source,
        /// Where the bytes go.
        sink: Sink,
    },
    /// Upload what arrives in `source` until its writer closes.
    Upload {
        /// Server and login.
        config: FtpConfig,
        /// The remote file (for STOU only its folder counts: the server names the file there).
        path: String,
        /// STOR, APPE or STOU.
        mode: StoreMode,
        /// The bytes to send.
        source: PipeReader,
    },
    /// One command without a data connection.
    Command {
        /// Server and login.
        config: FtpConfig,
        /// The command.
        op: FtpOp,
    },
}

impl FtpWork {
    /// The login and what to do once logged in.
    fn split(self) -> (FtpConfig, SessionWork) {
        match self {
            FtpWork::Download { config, source, sink } => {
                (config, SessionWork::Download { source, sink, settings: TransferSettings::default() })
            }
            FtpWork::Upload { config, path, mode, source } => {
                (config, SessionWork::Upload { path, mode, offset: 0, source, settings: TransferSettings::default() })
            }
            FtpWork::Command { config, op } => (config, SessionWork::Command(op)),
        }
    }
}

/// One piece of work within a logged-in session.
#[derive(Debug)]
pub enum SessionWork {
    /// Download a file (from an offset) or a listing into `sink`.
    Download {
        /// What to download.
        source: Source,
        /// Where the bytes go.
        sink: Sink,
        /// The type and data-connection mode to switch to first, if any.
        settings: TransferSettings,
    },
    /// Upload what arrives in `source` until its writer closes.
    Upload {
        /// The remote file.
        path: String,
        /// STOR, APPE or STOU.
        mode: StoreMode,
        /// Where in the remote file the bytes go (REST before the store when > 0).
        offset: u64,
        /// The bytes to send.
        source: PipeReader,
        /// The type and data-connection mode to switch to first, if any.
        settings: TransferSettings,
    },
    /// One command without a data connection.
    Command(FtpOp),
}

/// What a transfer within a held session changes first (the L610 names the type per transfer
/// and may switch between passive and active mid-session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferSettings {
    /// `Some(true)` for ASCII (`TYPE A`), `Some(false)` for binary (`TYPE I`).
    pub ascii: Option<bool>,
    /// Passive or active data connections.
    pub mode: Option<DataMode>,
}

/// What a download fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, from a byte offset (REST).
    File {
        /// Remote path.
        path: String,
        /// Where to start.
        offset: u64,
    },
    /// The LIST output for a directory or file.
    Listing {
        /// Remote path.
        path: String,
    },
}

/// One-shot FTP commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpOp {
    /// SIZE: the file's size.
    Size(String),
    /// MDTM: the file's modification time.
    Mdtm(String),
    /// DELE.
    Delete(String),
    /// MKD.
    MakeDir(String),
    /// RMD.
    RemoveDir(String),
    /// RNFR + RNTO.
    Rename {
        /// Current path.
        from: String,
        /// New path.
        to: String,
    },
    /// CWD.
    ChangeDir(String),
    /// CDUP.
    Up,
    /// PWD: the working directory.
    WorkingDir,
    /// SYST: the system type.
    System,
    /// STAT (of a path, or of the session if empty): the reply's lines.
    Status(String),
    /// NOOP.
    Noop,
}

/// What a job reports.
#[derive(Debug)]
pub struct Event {
    /// The job it is about.
    pub job: JobId,
    /// What happened.
    pub kind: JobEvent,
}

/// Progress and the end of a job.
#[derive(Debug)]
pub enum JobEvent {
    /// The transfer is under way: logged in, data connection open, 125/150 received.
    Opened,
    /// Bytes went into a download pipe that was empty.
    Data,
    /// An upload pipe has been emptied into the data connection.
    Drained,
    /// A held session logged in and waits for work.
    LoggedIn,
    /// A line of a held session's control conversation once logged in (passwords masked; the
    /// L610's `AT+FTPINFO` shows them).
    Trace(TraceLine),
    /// One piece of work of a held session ended; the session goes on.
    Finished(Result<Value, FtpError>),
    /// The job ended (a held session: with the failure of the work in flight, when that
    /// failure lost the control connection).
    Done(Result<Value, FtpError>),
    /// An HTTP job ended: the response (whatever its status), or why none came.
    HttpDone(Result<HttpResponse, HttpError>),
}

impl JobEvent {
    /// Whether this is a job's last event.
    pub fn is_final(&self) -> bool {
        matches!(self, JobEvent::Done(_) | JobEvent::HttpDone(_))
    }
}

/// What a successful job returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Nothing beyond success.
    None,
    /// A size in bytes.
    Size(u64),
    /// A `YYYYMMDDHHMMSS` timestamp.
    Timestamp(String),
    /// A whole download held in RAM.
    Bytes(Vec<u8>),
    /// A line of text (`PWD`'s directory, `SYST`'s system type).
    Text(String),
    /// The lines of a multi-line reply (`STAT`).
    Lines(Vec<String>),
}

/// Bytes moved per socket read or pipe read.
const CHUNK: usize = 16 * 1024;

/// Runs `work` to its end, reporting through `events`. Stops early if the modem has gone.
pub async fn run_ftp(net: Net, job: JobId, work: FtpWork, events: mpsc::Sender<Event>) {
    let report = reporter(job, &events);
    let (config, work) = work.split();
    let result = async {
        let mut session = FtpSession::connect(&net, &config).await?;
        let value = run_in(&mut session, work, &report).await?;
        log_quit(session.quit().await);
        Ok(value)
    };
    report(JobEvent::Done(result.await)).await;
}

/// Runs one HTTP request and reports its outcome through `events`.
pub async fn run_http(net: Net, job: JobId, request: HttpRequest, events: mpsc::Sender<Event>) {
    let kind = JobEvent::HttpDone(fetch(&net, request).await);
    // The modem may have gone meanwhile; nobody is left to tell.
    let _ = events.send(Event { job, kind }).await;
}

/// Reports an event of `job`; `false` once the modem has gone.
pub(super) fn reporter(job: JobId, events: &mpsc::Sender<Event>) -> impl Fn(JobEvent) -> Reporting + use<> {
    let events = events.clone();
    move |kind| {
        let events = events.clone();
        Box::pin(async move { events.send(Event { job, kind }).await.is_ok() })
    }
}

/// What reporting an event returns: whether anyone still listens.
pub(super) type Reporting = std::pin::Pin<Box<dyn Future<Output = bool> + Send>>;

/// Runs one piece of work within a logged-in session.
pub(super) async fn run_in<F>(session: &mut FtpSession, work: SessionWork, report: &F) -> Result<Value, FtpError>
where
    F: Fn(JobEvent) -> Reporting,
{
    match work {
        SessionWork::Download { source, sink, settings } => {
            apply(session, settings).await?;
            fetch_into(session, source, sink, report).await
        }
        SessionWork::Upload { path, mode, offset, source, settings } => {
            apply(session, settings).await?;
            send_from(session, &path, mode, offset, source, report).await
        }
        SessionWork::Command(op) => operate(session, op).await,
    }
}

async fn apply(session: &mut FtpSession, settings: TransferSettings) -> Result<(), FtpError> {
    if let Some(mode) = settings.mode {
        session.set_mode(mode);
    }
    match settings.ascii {
        Some(ascii) => session.set_ascii(ascii).await,
        None => Ok(()),
    }
}

/// Holds one logged-in session: [`JobEvent::LoggedIn`], then each piece of work `work`
/// brings, one at a time, each ending with [`JobEvent::Finished`]; when the dialect closes
/// the channel, QUIT and [`JobEvent::Done`]. A failed login is `Done` with its error. (The
/// L610's `AT+FTPOPEN` ... `AT+FTPCLOSE`.)
pub async fn run_held(
    net: Net,
    job: JobId,
    config: FtpConfig,
    mut work: mpsc::Receiver<SessionWork>,
    events: mpsc::Sender<Event>,
) {
    let report = reporter(job, &events);
    let mut session = match FtpSession::connect(&net, &config).await {
        Ok(session) => session,
        Err(e) => {
            report(JobEvent::Done(Err(e))).await;
            return;
        }
    };
    if !report(JobEvent::LoggedIn).await {
        return;
    }
    // From now on every control line is reported too. Trace events share the channel with
    // the others, so they arrive in order; one that finds the channel full is dropped (a
    // diagnostic, never worth stalling the session for).
    let tracer = events.clone();
    session.set_trace(Some(Arc::new(move |line| {
        let _ = tracer.try_send(Event { job, kind: JobEvent::Trace(line) });
    })));
    while let Some(next) = work.recv().await {
        let result = run_in(&mut session, next, &report).await;
        if result.as_ref().is_err_and(FtpError::loses_control) {
            // The server or the network ended the session with this work: one event says both,
            // so the dialect never answers for the work while the session still seems open.
            report(JobEvent::Done(result)).await;
            return;
        }
        if !report(JobEvent::Finished(result)).await {
            return;
        }
    }
    log_quit(session.quit().await);
    report(JobEvent::Done(Ok(Value::None))).await;
}

/// Downloads `source` into `sink` within a session: [`JobEvent::Opened`] once the data
/// connection is up, [`JobEvent::Data`] when bytes go into an empty pipe.
pub(super) async fn fetch_into<F>(
    session: &mut FtpSession,
    source: Source,
    mut sink: Sink,
    report: &F,
) -> Result<Value, FtpError>
where
    F: Fn(JobEvent) -> Reporting,
{
    let mut stream = match &source {
        Source::File { path, offset } => session.retrieve(path, *offset).await?,
        Source::Listing { path } => session.list(path).await?,
    };
    if !report(JobEvent::Opened).await {
        return Ok(Value::None);
    }
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| session.broken(e))?;
        if n == 0 {
            break;
        }
        // Batch by batch: the host may find the pipe empty while this waits for room, and
        // must hear of the bytes that then go into the empty pipe at once, not after the
        // rest of the chunk (it reads only when told, so it would never make that room).
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (taken, what) = sink.take(rest).await.map_err(FtpError::Sink)?;
            rest = &rest[taken..];
            let gone = match what {
                Taken::Stored => false,
                Taken::Announce => !report(JobEvent::Data).await,
                Taken::Gone => true,
            };
            if gone {
                return Ok(Value::None);
            }
        }
    }
    session.finish(stream).await?;
    sink.finish().map_err(FtpError::Sink)
}

/// Uploads what arrives in `source` to `path` from byte `offset`, within a session:
/// [`JobEvent::Opened`] once the data connection is up, [`JobEvent::Drained`] when the pipe
/// has been emptied.
pub(super) async fn send_from<F>(
    session: &mut FtpSession,
    path: &str,
    mode: StoreMode,
    offset: u64,
    source: PipeReader,
    report: &F,
) -> Result<Value, FtpError>
where
    F: Fn(JobEvent) -> Reporting,
{
    let mut stream = match mode {
        // RFC 959's STOU takes no argument (libunftp refuses one; proftpd ignores it): the
        // server makes a name up in the working directory, so go to the file's folder first.
        StoreMode::Stou => {
            let folder = match path.rfind('/') {
                Some(0) => "/",
                Some(i) => &path[..i],
                None => "",
            };
            if !folder.is_empty() {
                session.cwd(folder).await?;
            }
            session.store("", mode).await?
        }
        _ => session.store_at(path, mode, offset).await?,
    };
    if !report(JobEvent::Opened).await {
        return Ok(Value::None);
    }
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = source.read(&mut buf).await;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await.map_err(|e| session.broken(e))?;
        if source.available() == 0 && !report(JobEvent::Drained).await {
            return Ok(Value::None);
        }
    }
    session.finish(stream).await?;
    Ok(Value::None)
}

/// Runs one command without a data connection within a session.
pub(super) async fn operate(session: &mut FtpSession, op: FtpOp) -> Result<Value, FtpError> {
    Ok(match op {
        FtpOp::Size(path) => Value::Size(session.size(&path).await?),
        FtpOp::Mdtm(path) => Value::Timestamp(session.mdtm(&path).await?),
        FtpOp::Delete(path) => session.dele(&path).await.map(|_| Value::None)?,
        FtpOp::MakeDir(path) => session.mkd(&path).await.map(|_| Value::None)?,
        FtpOp::RemoveDir(path) => session.rmd(&path).await.map(|_| Value::None)?,
        FtpOp::Rename { from, to } => session.rename(&from, &to).await.map(|_| Value::None)?,
        FtpOp::ChangeDir(path) => session.cwd(&path).await.map(|_| Value::None)?,
        FtpOp::Up => session.cdup().await.map(|_| Value::None)?,
        FtpOp::WorkingDir => Value::Text(session.pwd().await?),
        FtpOp::System => Value::Text(session.syst().await?),
        FtpOp::Status(path) => Value::Lines(session.stat(&path).await?),
        FtpOp::Noop => session.noop().await.map(|_| Value::None)?,
    })
}

/// The work is done by the time QUIT goes out; a failing QUIT only merits a log line.
fn log_quit(result: Result<(), FtpError>) {
    if let Err(e) = result {
        tracing::debug!(target: "vmodem::ftp", "QUIT after the work was done: {e}");
    }
}
