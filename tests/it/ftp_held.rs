//! The held FTP session (`service::ftp::job::Request::Hold`, what the L610's `AT+FTPOPEN` ...
//! `AT+FTPCLOSE` runs on): one login, then directory walks, uploads (at an offset too),
//! downloads, listings and one-shot commands in any order, one at a time, then QUIT; against
//! the embedded libunftp server, vsftpd and proftpd, with what reached the server checked on
//! its disk; the control lines after the login are reported as trace events.

use crate::support::rig;

use std::time::Duration;

use rig::*;
use tokio::sync::mpsc;
use vmodem::net::Net;
use vmodem::service::ftp::job::{Event as JobEvent, Input, Request};
use vmodem::service::ftp::{
    DataMode, FtpConfig, FtpError, FtpOp, SessionWork, Source, Step, StoreMode, TransferSettings, Value,
};
use vmodem::service::sink::{Progress, Sink};
use vmodem::service::{self, Event, Report, job, pipe};

/// The longest wait for one event.
const EVENT_WAIT: Duration = Duration::from_secs(30);

/// A held session under test: where work goes, where events come from.
struct Held {
    work: mpsc::Sender<service::Input>,
    events: mpsc::Receiver<Report>,
    /// The control lines the session reported, in order.
    trace: Vec<String>,
}

impl Held {
    fn start(server: &Server, password: &str) -> Held {
        let config = FtpConfig::new(server.addr.ip().to_string(), server.addr.port(), &server.user, password);
        let (work, inbox) = job::inbox();
        let (events_tx, events) = mpsc::channel(64);
        service::Request::from(Request::Hold { config }).spawn(Net::default(), 7, events_tx, inbox);
        Held { work, events, trace: Vec::new() }
    }

    /// The next event that is not a trace line (those are kept in `trace`).
    async fn event(&mut self) -> JobEvent {
        loop {
            match tokio::time::timeout(EVENT_WAIT, self.events.recv()).await {
                Ok(Some((7, Event::Ftp(JobEvent::Trace(line))))) => self.trace.push(line.text),
                Ok(Some((7, Event::Ftp(event)))) => return event,
                Ok(Some(other)) => panic!("not the session's: {other:?}"),
                Ok(None) => panic!("the session's task ended without a word"),
                Err(_) => panic!("no event within {EVENT_WAIT:?}"),
            }
        }
    }

    /// Sends `work` and returns how it finished, skipping the transfer's progress events.
    async fn run(&mut self, work: SessionWork) -> Result<Value, FtpError> {
        self.work.send(Input::Work(work).into()).await.expect("the session takes work");
        loop {
            match self.event().await {
                JobEvent::Opened | JobEvent::Data | JobEvent::Drained => {}
                JobEvent::Finished(result) => return result,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    async fn command(&mut self, op: FtpOp) -> Result<Value, FtpError> {
        self.run(SessionWork::Command(op)).await
    }

    async fn upload(&mut self, path: &str, offset: u64, data: &[u8], ascii: bool) -> Result<Value, FtpError> {
        let (writer, source) = pipe::pipe(data.len().max(1));
        assert_eq!(writer.try_write(data), Ok(data.len()));
        drop(writer);
        let settings = TransferSettings { ascii: Some(ascii), mode: None };
        self.run(SessionWork::Upload { path: path.into(), mode: StoreMode::Stor, offset, source, settings }).await
    }

    async fn download(&mut self, source: Source, mode: DataMode) -> Vec<u8> {
        let settings = TransferSettings { ascii: Some(false), mode: Some(mode) };
        let sink = Sink::memory(1 << 20, Progress::default());
        match self.run(SessionWork::Download { source, sink, settings }).await {
            Ok(Value::Bytes(bytes)) => bytes,
            other => panic!("download: {other:?}"),
        }
    }

    /// Asks the session to quit: QUIT, and the job ends well.
    async fn close(&mut self) {
        self.work.send(Input::Quit.into()).await.expect("the session takes input");
        match self.event().await {
            JobEvent::Done(Ok(Value::None)) => {}
            other => panic!("close: {other:?}"),
        }
    }
}

/// One login for a whole walk: CWD, PWD, MKD, CDUP, uploads (one at an offset past the end of
/// a new file), downloads passive and active, a listing, SYST, STAT, NOOP, rename, delete,
/// RMD, then QUIT.
async fn walk(server: Server) {
    let mut s = Held::start(&server, &server.password);
    assert!(matches!(s.event().await, JobEvent::LoggedIn));
    let remote = server.remote.clone();
    assert_eq!(s.command(FtpOp::ChangeDir(remote.clone())).await.unwrap(), Value::None);
    assert_eq!(s.command(FtpOp::WorkingDir).await.unwrap(), Value::Text(remote.clone()));
    s.command(FtpOp::MakeDir("sub".into())).await.unwrap();
    s.command(FtpOp::ChangeDir("sub".into())).await.unwrap();
    assert_eq!(s.command(FtpOp::WorkingDir).await.unwrap(), Value::Text(format!("{remote}/sub")));
    s.command(FtpOp::Up).await.unwrap();
    assert_eq!(s.command(FtpOp::WorkingDir).await.unwrap(), Value::Text(remote.clone()));

    let data = every_byte(300);
    s.upload("all.bin", 0, &data, false).await.unwrap();
    assert_eq!(sha256(&server.read("all.bin")), sha256(&data));
    // REST 10 + STOR of a new file: vsftpd and libunftp pad it with NULs; proftpd refuses a
    // restart past the end of the file, and that is one failed operation.
    match (server.kind, s.upload("padded.bin", 10, b"tail", false).await) {
        (Kind::Proftpd, Err(FtpError::Rejected { step: Step::Stor, reply })) => assert_eq!(reply.code, 554),
        (Kind::Libunftp | Kind::Vsftpd, Ok(_)) => {
            assert_eq!(server.read("padded.bin"), [&[0u8; 10][..], b"tail"].concat(), "a new file written at 10");
        }
        (kind, other) => panic!("{kind:?}: REST 10 + STOR of a new file: {other:?}"),
    }

    let got = s.download(Source::File { path: "all.bin".into(), offset: 0 }, DataMode::Passive).await;
    assert_eq!(sha256(&got), sha256(&data));
    let got = s.download(Source::File { path: "all.bin".into(), offset: 1000 }, DataMode::Active).await;
    assert_eq!(got, data[1000..], "from an offset, over an active data connection");
    let listing = s.download(Source::Listing { path: String::new() }, DataMode::Passive).await;
    let listing = String::from_utf8_lossy(&listing);
    assert!(listing.contains("all.bin"), "{listing}");

    match s.command(FtpOp::System).await.unwrap() {
        Value::Text(text) => assert!(!text.is_empty()),
        other => panic!("SYST: {other:?}"),
    }
    match s.command(FtpOp::Status(String::new())).await.unwrap() {
        Value::Lines(lines) => assert!(!lines.is_empty()),
        other => panic!("STAT: {other:?}"),
    }
    s.command(FtpOp::Noop).await.unwrap();
    s.command(FtpOp::Rename { from: "all.bin".into(), to: "renamed.bin".into() }).await.unwrap();
    assert_eq!(sha256(&server.read("renamed.bin")), sha256(&data));
    s.command(FtpOp::Delete("renamed.bin".into())).await.unwrap();
    assert!(!server.path("renamed.bin").exists());
    s.command(FtpOp::RemoveDir("sub".into())).await.unwrap();
    assert!(!server.path("sub").exists());

    // A refusal is one operation's failure; the session goes on.
    assert!(s.command(FtpOp::ChangeDir("no-such-dir".into())).await.is_err());
    assert_eq!(s.command(FtpOp::WorkingDir).await.unwrap(), Value::Text(remote.clone()));
    s.close().await;
    // Every control line after the login was reported, in order, QUIT last; the login itself
    // (and so the password) never was.
    assert_eq!(s.trace.first().map(String::as_str), Some(format!("CWD {remote}").as_str()));
    assert!(s.trace.iter().any(|l| l.starts_with("221")), "{:?}", s.trace);
    assert!(!s.trace.iter().any(|l| l.starts_with("USER") || l.starts_with("PASS")), "{:?}", s.trace);
}

/// A refused login ends the job with the password error, and no work is taken.
async fn wrong_password(server: Server) {
    let mut s = Held::start(&server, "not-the-password");
    match s.event().await {
        JobEvent::Done(Err(FtpError::Rejected { step: Step::Pass, .. })) => {}
        other => panic!("{other:?}"),
    }
}

scenarios!(walk, wrong_password);
