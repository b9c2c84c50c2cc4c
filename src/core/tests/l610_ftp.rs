//! The L610's held FTP session on the core, with a scripted service side and virtual time:
//! the login, work fed to the session one piece at a time, data mode both ways, the buffered
//! download and its timer, the chunked `AT+FTPPUT`, the close, and a session the network ends.

use std::time::Duration;

use crate::core::testing::{Bench, taken};
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::ftp::job::{Event, Input, Request as FtpRequest};
use crate::service::ftp::{FtpError, FtpOp, SessionWork, Source, TraceLine, Value};
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::sink::Sink;
use crate::service::{self, JobId, Request};

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

/// An L610 with its call up and a session logged in; the session's job.
fn logged_in() -> (Bench, JobId) {
    let mut b = Bench::new(Family::L610);
    assert_eq!(b.at("AT+FTPOPEN=\"h\",\"u\",\"p\""), ERROR, "no session without the call");
    assert_eq!(b.at("AT+MIPCALL=1,\"CMNET\""), "\r\nOK\r\n\r\n+MIPCALL: 10.94.36.44\r\n");
    assert_eq!(b.at("AT+FTPOPEN=\"ftp.example\",\"u\",\"p\""), OK);
    let (job, owner, request) = b.started();
    assert_eq!(owner, Owner::Ftp);
    let Request::Ftp(FtpRequest::Hold { config }) = request else { panic!("not a held session") };
    assert_eq!((config.host.as_str(), config.port, config.user.as_str()), ("ftp.example", 21, "u"));
    assert_eq!(b.at("AT+FTPOPEN?"), "\r\n+FTPOPEN: 0\r\n\r\nOK\r\n", "not open until logged in");
    b.event(job, Event::LoggedIn);
    assert_eq!(b.take(), "\r\n+FTPOPEN: 1\r\n");
    (b, job)
}

/// The work the session was fed last.
fn work(b: &mut Bench, session: JobId) -> SessionWork {
    match b.fed() {
        (job, service::Input::Ftp(Input::Work(work))) if job == session => work,
        other => panic!("not work for the session: {other:?}"),
    }
}

fn download_pipe(work: SessionWork) -> (Source, PipeWriter) {
    match work {
        SessionWork::Download { source, sink: Sink::Pipe(pipe), .. } => (source, pipe),
        other => panic!("not a download into a pipe: {other:?}"),
    }
}

fn upload_pipe(work: SessionWork) -> (String, u64, PipeReader) {
    match work {
        SessionWork::Upload { path, offset, source, .. } => (path, offset, source),
        other => panic!("not an upload: {other:?}"),
    }
}

#[test]
fn commands_run_one_at_a_time_in_the_held_session() {
    let (mut b, job) = logged_in();
    assert_eq!(b.at("AT+FTPCWD=\"/pub\""), OK);
    assert!(matches!(work(&mut b, job), SessionWork::Command(FtpOp::ChangeDir(ref d)) if d == "/pub"));
    assert_eq!(b.at("AT+FTPPWD"), ERROR, "one command at a time");
    b.event(job, Event::Finished(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPCWD: 1\r\n");
    assert_eq!(b.at("AT+FTPPWD"), OK);
    assert!(matches!(work(&mut b, job), SessionWork::Command(FtpOp::WorkingDir)));
    b.event(job, Event::Finished(Ok(Value::Text("/pub".into()))));
    assert_eq!(b.take(), "\r\n+FTPPWD: 2,\"/pub\"\r\n\r\n+FTPPWD: 1\r\n");
    assert_eq!(b.at("AT+FTPMKD=\"x\""), OK);
    work(&mut b, job);
    b.event(job, Event::Finished(Err(FtpError::ControlClosed)));
    assert_eq!(b.take(), "\r\n+FTPMKD: 0\r\n", "a failed command; the session goes on");
    assert_eq!(b.at("AT+FTPOPEN?"), "\r\n+FTPOPEN: 1\r\n\r\nOK\r\n");
}

#[test]
fn the_control_lines_show_only_when_asked_for() {
    let (mut b, job) = logged_in();
    let line =
        |text: &str| Event::Trace(TraceLine { direction: crate::service::ftp::Direction::Received, text: text.into() });
    b.event(job, line("200 quiet"));
    assert_eq!(b.take(), "");
    assert_eq!(b.at("AT+FTPINFO=1"), OK);
    b.event(job, line("257 \"/\""));
    assert_eq!(b.take(), "\r\n+FTPINFO: 257 \"/\"\r\n");
}

#[test]
fn a_retrieval_goes_through_data_mode_and_ends_with_etx_then_its_result() {
    let (mut b, job) = logged_in();
    assert_eq!(b.at("AT+FTPREST=5"), OK);
    assert_eq!(b.at("AT+FTPRETR=\"f.bin\""), OK);
    let (source, pipe) = download_pipe(work(&mut b, job));
    assert_eq!(source, Source::File { path: "f.bin".into(), offset: 5 });
    assert_eq!(b.at("AT+FTPREST?"), "\r\n+FTPREST: 0\r\n\r\nOK\r\n", "the transfer spent the REST value");
    b.event(job, Event::Opened);
    assert_eq!(b.take(), "\r\n+FTPRETR: 2\r\n");
    pipe.try_write(&[0x03, 0x11, 0x10]).unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take_bytes(), b"\x10\x03\x11\x10\x10");
    b.event(job, Event::Finished(Ok(Value::None)));
    assert_eq!(b.take_bytes(), b"\x03\r\n+FTPRETR: 1\r\n");
}

#[test]
fn a_store_streams_the_host_bytes_in_data_mode() {
    let (mut b, job) = logged_in();
    assert_eq!(b.at("AT+FTPSTOR=\"up.bin\",1,7"), OK);
    let (path, offset, pipe) = upload_pipe(work(&mut b, job));
    assert_eq!((path.as_str(), offset), ("up.bin", 7));
    b.event(job, Event::Opened);
    assert_eq!(b.take(), "\r\n+FTPSTOR: 2\r\n");
    b.send(b"AT\r\x10\x03");
    assert_eq!(b.take(), "", "in data mode a command line is file bytes");
    b.send(b"\x03");
    assert_eq!(b.take(), "", "data mode ends without a result code");
    assert_eq!(taken(&pipe), b"AT\r\x03");
    b.event(job, Event::Drained);
    assert!(pipe.is_finished());
    b.event(job, Event::Finished(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPSTOR: 1\r\n");
    assert_eq!(b.at("AT"), OK, "command mode again");
}

#[test]
fn a_buffered_download_is_read_with_ftprecv_and_dropped_when_left_unread() {
    let (mut b, job) = logged_in();
    assert_eq!(b.at("AT+FTPGET=\"f.txt\""), OK);
    let (_, pipe) = download_pipe(work(&mut b, job));
    assert_eq!(b.at("AT+FTPCWD=\"/\""), "\r\nERROR\r\n", "download mode answers few commands");
    pipe.try_write(b"hello world").unwrap();
    b.event(job, Event::Opened);
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+FTPGET: 2\r\n");
    b.event(job, Event::Finished(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPGET: 1\r\n");
    assert_eq!(b.at("AT+FTPRECV=5"), "\r\n+FTPRECV: 5\r\nhello\r\nOK\r\n");
    b.advance(Duration::from_secs(119));
    assert_eq!(b.take(), "");
    b.advance(Duration::from_secs(1));
    assert_eq!(b.take(), "\r\n+FTPCLOSE: 1\r\n", "two minutes unread: the session goes");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+FTPOPEN?"), "\r\n+FTPOPEN: 0\r\n\r\nOK\r\n");
}

#[test]
fn a_chunked_put_waits_for_the_data_connection_then_asks_for_each_chunk() {
    let (mut b, job) = logged_in();
    assert_eq!(b.at("AT+FTPPUT=\"p.txt\",4,0"), "", "the command waits for the data connection");
    let (path, _, pipe) = upload_pipe(work(&mut b, job));
    assert_eq!(path, "p.txt");
    b.event(job, Event::Opened);
    assert_eq!(b.take(), "\r\n+FTPPUT: 2,4\r\n");
    b.send(b"abcd");
    assert_eq!(b.take(), OK);
    assert_eq!(b.at("AT+FTPPUT=\"p.txt\",2,1"), "\r\n+FTPPUT: 2,2\r\n");
    b.send(b"ef");
    assert_eq!(b.take(), "", "the last chunk waits for the server's word");
    assert_eq!(taken(&pipe), b"abcdef");
    b.event(job, Event::Drained);
    b.event(job, Event::Finished(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPPUT: 1\r\n\r\nOK\r\n");
}

#[test]
fn closing_sends_the_session_away_and_its_end_confirms() {
    let (mut b, job) = logged_in();
    assert_eq!(b.at("AT+FTPCLOSE"), OK);
    assert!(matches!(b.fed(), (j, service::Input::Ftp(Input::Quit)) if j == job));
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPCLOSE: 1\r\n");
    assert_eq!(b.at("AT+FTPCLOSE"), ERROR);
}

#[test]
fn a_session_the_network_ends_answers_the_command_in_flight_with_0() {
    let (mut b, job) = logged_in();
    b.at("AT+FTPNOOP");
    work(&mut b, job);
    b.event(job, Event::Done(Err(FtpError::ControlClosed)));
    assert_eq!(b.take(), "\r\n+FTPNOOP: 0\r\n");
    assert_eq!(b.at("AT+FTPOPEN?"), "\r\n+FTPOPEN: 0\r\n\r\nOK\r\n");
    let (mut b, job) = logged_in();
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+MIPCALL: 0\r\n");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+FTPOPEN?"), "\r\n+FTPOPEN: 0\r\n\r\nOK\r\n");
}

#[test]
fn a_refused_login_is_ftpopen_0() {
    let mut b = Bench::new(Family::L610);
    b.at("AT+MIPCALL=1");
    b.at("AT+FTPOPEN=\"h\",\"u\",\"wrong\"");
    let (job, _, _) = b.started();
    b.event(job, Event::Done(Err(FtpError::ControlClosed)));
    assert_eq!(b.take(), "\r\n+FTPOPEN: 0\r\n");
    assert_eq!(b.at("AT+FTPCWD=\"/\""), ERROR);
}
