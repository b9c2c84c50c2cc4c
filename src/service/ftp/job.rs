//! FTP jobs: log in, do one thing, log out ([`Request::Once`]); or log in and hold the session
//! for the work the modem sends it, one piece at a time ([`Request::Hold`], the L610's
//! `AT+FTPOPEN` ... `AT+FTPCLOSE`). A job knows nothing of AT commands or of the family that
//! asked for it; it reports [`Event`]s.

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{DataMode, FtpConfig, FtpError, FtpSession, StoreMode, TraceLine};
use crate::net::Net;
use crate::service::pipe::PipeReader;
use crate::service::sink::{Sink, Taken};

/// What an FTP job does.
// One request per FTP command, moved once from the handler to the modem: boxing the large
// variant would save nothing worth an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Request {
    /// Log in, do `work`, log out; one [`Event::Done`] reports the outcome.
    Once {
        /// Server and login.
        config: FtpConfig,
        /// What to do once logged in.
        work: SessionWork,
    },
    /// Log in, then do each piece of [`Input::Work`] as it comes, until [`Input::Quit`] (or
    /// the modem closes the job's input): [`Event::LoggedIn`], an [`Event::Finished`] per
    /// piece, [`Event::Done`] at the end.
    Hold {
        /// Server and login.
        config: FtpConfig,
    },
}

/// What the modem sends a held session.
#[derive(Debug)]
pub enum Input {
    /// The next piece of work (the session takes one at a time).
    Work(SessionWork),
    /// Log out (QUIT) and end.
    Quit,
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
        /// The remote file (for STOU only its folder counts: the server names the file there).
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

/// Progress and the end of an FTP job.
#[derive(Debug)]
pub enum Event {
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
}

impl Event {
    /// Whether this is a job's last event.
    pub fn is_final(&self) -> bool {
        matches!(self, Event::Done(_))
    }
}

/// What a successful piece of work returns.
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

/// What a job that stopped on a fault of its own (a panic) reports in its place: the end of
/// its work, failed as a broken control connection would (the families' net error).
pub fn failed(why: String) -> Event {
    Event::Done(Err(FtpError::Io(std::io::Error::other(format!("the FTP job stopped: {why}")))))
}

/// The link an FTP job reports through.
pub type FtpJob = crate::service::Job<Event, Input>;

/// Bytes moved per socket read or pipe read.
const CHUNK: usize = 16 * 1024;
/// Bytes moved per socket read and file write when a download goes into the module file
/// system (`AT+FTPEXTGET=2`): a file write is a system call with a fixed cost of its own (page
/// cache, ext4's block bookkeeping), so 16 KiB pieces held a 1 GiB download from vsftpd to
/// 0.70 of curl's speed, and 256 KiB pieces let it pass curl (1.9 of it; 1 MiB gains nothing
/// more; BENCHMARKS.md, "FTP download"). Held only while such a download runs.
const FILE_CHUNK: usize = 256 * 1024;

/// Bytes moved per socket read when a download goes into a pipe the host drains (a stream
/// or the module's buffer): a pipe's worth (64 KiB), so that the modem's loop wakes once a
/// pipe-load rather than once every 16 KiB.
const PIPE_CHUNK: usize = 64 * 1024;

/// Runs `request` to its end, reporting through `job`. Stops early if the modem has gone.
pub async fn run(net: Net, request: Request, job: FtpJob) {
    match request {
        Request::Once { config, work } => once(net, config, work, job).await,
        Request::Hold { config } => hold(net, config, job).await,
    }
}

/// Logs in, does `work`, logs out: [`Event::Done`] with the outcome.
async fn once(net: Net, config: FtpConfig, work: SessionWork, job: FtpJob) {
    let result = async {
        let mut session = FtpSession::connect(&net, &config).await?;
        let value = run_in(&mut session, work, &job).await?;
        log_quit(session.quit().await);
        Ok(value)
    };
    job.report(Event::Done(result.await)).await;
}

/// Holds one logged-in session: [`Event::LoggedIn`], then each piece of work the input
/// brings, one at a time, each ending with [`Event::Finished`]; on [`Input::Quit`] (or when
/// the input closes), QUIT and [`Event::Done`]. A failed login is `Done` with its error.
async fn hold(net: Net, config: FtpConfig, mut job: FtpJob) {
    let mut session = match FtpSession::connect(&net, &config).await {
        Ok(session) => session,
        Err(e) => {
            job.report(Event::Done(Err(e))).await;
            return;
        }
    };
    if !job.report(Event::LoggedIn).await {
        return;
    }
    // From now on every control line is reported too. Trace events share the queue with the
    // others, so they arrive in order; one that finds the queue full is dropped (a
    // diagnostic, never worth stalling the session for).
    let offer = job.offering();
    session.set_trace(Some(Arc::new(move |line| offer(Event::Trace(line)))));
    while let Some(Input::Work(next)) = job.input().await {
        let result = run_in(&mut session, next, &job).await;
        if result.as_ref().is_err_and(FtpError::loses_control) {
            // The server or the network ended the session with this work: one event says both,
            // so the dialect never answers for the work while the session still seems open.
            job.report(Event::Done(result)).await;
            return;
        }
        if !job.report(Event::Finished(result)).await {
            return;
        }
    }
    log_quit(session.quit().await);
    job.report(Event::Done(Ok(Value::None))).await;
}

/// Runs one piece of work within a logged-in session.
pub(super) async fn run_in(session: &mut FtpSession, work: SessionWork, job: &FtpJob) -> Result<Value, FtpError> {
    match work {
        SessionWork::Download { source, sink, settings } => {
            apply(session, settings).await?;
            fetch_into(session, source, sink, job).await
        }
        SessionWork::Upload { path, mode, offset, source, settings } => {
            apply(session, settings).await?;
            send_from(session, &path, mode, offset, source, job).await
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

/// Downloads `source` into `sink` within a session: [`Event::Opened`] once the data
/// connection is up, [`Event::Data`] when bytes go into an empty pipe.
async fn fetch_into(session: &mut FtpSession, source: Source, mut sink: Sink, job: &FtpJob) -> Result<Value, FtpError> {
    let mut stream = match &source {
        Source::File { path, offset } => session.retrieve(path, *offset).await?,
        Source::Listing { path } => session.list(path).await?,
    };
    if !job.report(Event::Opened).await {
        return Ok(Value::None);
    }
    let size = match &sink {
        Sink::File { .. } => FILE_CHUNK,
        Sink::Pipe(_) => PIPE_CHUNK,
        _ => CHUNK,
    };
    let mut buf = vec![0u8; size];
    // A failure found while gathering: it ends the download once the bytes before it are in.
    let mut failed = None;
    loop {
        if let Some(e) = failed.take() {
            return Err(session.broken(e));
        }
        let mut n = stream.read(&mut buf).await.map_err(|e| session.broken(e))?;
        if n == 0 {
            break;
        }
        // A TLS stream hands over one record (16 KiB at most) a read: what else is ready
        // now joins it, so that a file is written in large pieces over FTPS too.
        while n < buf.len() {
            match stream.read(&mut buf[n..]).now_or_never() {
                Some(Ok(more @ 1..)) => n += more,
                Some(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                // Nothing ready, or the end (the next read finds it again).
                Some(Ok(0)) | None => break,
            }
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
                Taken::Announce => !job.report(Event::Data).await,
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
/// [`Event::Opened`] once the data connection is up, [`Event::Drained`] when the pipe has
/// been emptied.
async fn send_from(
    session: &mut FtpSession,
    path: &str,
    mode: StoreMode,
    offset: u64,
    source: PipeReader,
    job: &FtpJob,
) -> Result<Value, FtpError> {
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
    if !job.report(Event::Opened).await {
        return Ok(Value::None);
    }
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = source.read(&mut buf).await;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await.map_err(|e| session.broken(e))?;
        if source.available() == 0 && !job.report(Event::Drained).await {
            return Ok(Value::None);
        }
    }
    session.finish(stream).await?;
    Ok(Value::None)
}

/// Runs one command without a data connection within a session.
async fn operate(session: &mut FtpSession, op: FtpOp) -> Result<Value, FtpError> {
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
