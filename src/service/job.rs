//! Service jobs: the unit of work a dialect asks for (download a file into a pipe, upload from
//! one, run one FTP command, make one HTTP request) and the events it hears back. The modem runs each job as its own
//! task; a job knows nothing of AT commands or of the family that asked for it.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::ftp::{FtpConfig, FtpError, FtpSession, StoreMode};
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
    /// The job ended.
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
}

/// Bytes moved per socket read or pipe read.
const CHUNK: usize = 16 * 1024;

/// Runs `work` to its end, reporting through `events`. Stops early if the modem has gone.
pub async fn run_ftp(net: Net, job: JobId, work: FtpWork, events: mpsc::Sender<Event>) {
    let report = |kind| {
        let events = events.clone();
        async move { events.send(Event { job, kind }).await.is_ok() }
    };
    let result = match work {
        FtpWork::Download { config, source, sink } => download(&net, &config, source, sink, &report).await,
        FtpWork::Upload { config, path, mode, source } => upload(&net, &config, &path, mode, source, &report).await,
        FtpWork::Command { config, op } => command(&net, &config, op).await,
    };
    report(JobEvent::Done(result)).await;
}

/// Runs one HTTP request and reports its outcome through `events`.
pub async fn run_http(net: Net, job: JobId, request: HttpRequest, events: mpsc::Sender<Event>) {
    let kind = JobEvent::HttpDone(fetch(&net, request).await);
    // The modem may have gone meanwhile; nobody is left to tell.
    let _ = events.send(Event { job, kind }).await;
}

async fn download<F, Fut>(
    net: &Net,
    config: &FtpConfig,
    source: Source,
    mut sink: Sink,
    report: &F,
) -> Result<Value, FtpError>
where
    F: Fn(JobEvent) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut session = FtpSession::connect(net, config).await?;
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
    let value = sink.finish().map_err(FtpError::Sink)?;
    log_quit(session.quit().await);
    Ok(value)
}

async fn upload<F, Fut>(
    net: &Net,
    config: &FtpConfig,
    path: &str,
    mode: StoreMode,
    source: PipeReader,
    report: &F,
) -> Result<Value, FtpError>
where
    F: Fn(JobEvent) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut session = FtpSession::connect(net, config).await?;
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
        _ => session.store(path, mode).await?,
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
    log_quit(session.quit().await);
    Ok(Value::None)
}

async fn command(net: &Net, config: &FtpConfig, op: FtpOp) -> Result<Value, FtpError> {
    let mut session = FtpSession::connect(net, config).await?;
    let value = match op {
        FtpOp::Size(path) => Value::Size(session.size(&path).await?),
        FtpOp::Mdtm(path) => Value::Timestamp(session.mdtm(&path).await?),
        FtpOp::Delete(path) => session.dele(&path).await.map(|_| Value::None)?,
        FtpOp::MakeDir(path) => session.mkd(&path).await.map(|_| Value::None)?,
        FtpOp::RemoveDir(path) => session.rmd(&path).await.map(|_| Value::None)?,
        FtpOp::Rename { from, to } => session.rename(&from, &to).await.map(|_| Value::None)?,
    };
    log_quit(session.quit().await);
    Ok(value)
}

/// The work is done by the time QUIT goes out; a failing QUIT only merits a log line.
fn log_quit(result: Result<(), FtpError>) {
    if let Err(e) = result {
        tracing::debug!(target: "vmodem::ftp", "QUIT after the work was done: {e}");
    }
}
