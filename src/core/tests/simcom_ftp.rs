//! The SIMCom FTP session's state machine on the core, with a scripted service side and
//! virtual time: downloads and their timers, chunked, ET and buffer uploads, ET streams,
//! extended downloads, the refusals, and events that no state expects.

use std::time::Duration;

use crate::core::testing::{Bench, taken};
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::ftp::job::{Event, Request as FtpRequest};
use crate::service::ftp::{FtpError, FtpOp, SessionWork, Source, Value};
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::sink::Sink;
use crate::service::{JobId, Request};

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

/// A SIM7080 with its bearer up and the server and both files named.
fn ready() -> Bench {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CNACT=0,1"), "\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n");
    for line in [
        "AT+FTPCID=0",
        "AT+FTPSERV=\"ftp.example\"",
        "AT+FTPUN=\"u\"",
        "AT+FTPPW=\"p\"",
        "AT+FTPGETNAME=\"in.txt\"",
        "AT+FTPGETPATH=\"/d\"",
        "AT+FTPPUTNAME=\"out.txt\"",
        "AT+FTPPUTPATH=\"/up/\"",
    ] {
        assert_eq!(b.at(line), OK, "{line}");
    }
    b
}

/// The one-shot FTP work of the job just started.
fn once(b: &mut Bench) -> (JobId, SessionWork) {
    let (job, owner, request) = b.started();
    assert_eq!(owner, Owner::Ftp);
    let Request::Ftp(FtpRequest::Once { config, work }) = request else { panic!("not a one-shot FTP job") };
    assert_eq!((config.host.as_str(), config.user.as_str(), config.password.as_str()), ("ftp.example", "u", "p"));
    (job, work)
}

/// The job of a download into a pipe, and the pipe's writing end.
fn download(b: &mut Bench) -> (JobId, Source, PipeWriter) {
    match once(b) {
        (job, SessionWork::Download { source, sink: Sink::Pipe(pipe), .. }) => (job, source, pipe),
        other => panic!("not a download into a pipe: {other:?}"),
    }
}

/// The job of an upload, its path and the pipe it reads.
fn upload(b: &mut Bench) -> (JobId, String, PipeReader) {
    match once(b) {
        (job, SessionWork::Upload { path, source, .. }) => (job, path, source),
        other => panic!("not an upload: {other:?}"),
    }
}

#[test]
fn a_download_is_announced_read_in_pieces_and_ends_after_the_last_byte() {
    let mut b = ready();
    assert_eq!(b.at("AT+FTPGET=1"), OK);
    let (job, source, pipe) = download(&mut b);
    assert_eq!(source, Source::File { path: "/d/in.txt".into(), offset: 0 });
    assert_eq!(b.at("AT+FTPGET=2,10"), ERROR, "nothing to read before the first notice");
    assert_eq!(pipe.try_write(b"0123456789abcdef"), Ok(16));
    b.event(job, Event::Opened);
    assert_eq!(b.take(), "", "the data connection alone says nothing");
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+FTPGET: 1,1\r\n");
    b.event(job, Event::Data);
    assert_eq!(b.take(), "", "told once until the host finds the buffer empty");
    assert_eq!(b.at("AT+FTPGET=2,10"), "\r\n+FTPGET: 2,10\r\n0123456789\r\nOK\r\n");
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take(), "", "the end waits for the host to read the rest");
    assert_eq!(b.at("AT+FTPGET=2,10"), "\r\n+FTPGET: 2,6\r\nabcdef\r\nOK\r\n\r\n+FTPGET: 1,0\r\n");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+FTPSTATE"), "\r\n+FTPSTATE: 0\r\n\r\nOK\r\n");
}

#[test]
fn unread_data_is_announced_again_then_the_session_gives_up() {
    let mut b = ready();
    b.at("AT+FTPGET=1");
    let (job, _, pipe) = download(&mut b);
    pipe.try_write(b"abc").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+FTPGET: 1,1\r\n");
    b.advance(Duration::from_millis(9_999));
    assert_eq!(b.take(), "");
    b.advance(Duration::from_millis(1));
    assert_eq!(b.take(), "\r\n+FTPGET: 1,1\r\n", "every unread_notice");
    b.advance(Duration::from_secs(40));
    assert_eq!(b.take(), "\r\n+FTPGET: 1,1\r\n\r\n+FTPGET: 1,1\r\n\r\n+FTPGET: 1,1\r\n\r\n+FTPGET: 1,1\r\n");
    b.advance(Duration::from_secs(10));
    assert_eq!(b.take(), "\r\n+FTPGET: 1,64\r\n", "unread_timeout after the last read, no notice with it");
    assert!(b.cancelled(job));
}

#[test]
fn a_failed_download_reports_its_code_at_once_and_drops_what_is_unread() {
    let mut b = ready();
    b.at("AT+FTPLIST=1");
    let (job, source, pipe) = download(&mut b);
    assert_eq!(source, Source::Listing { path: "/d".into() });
    pipe.try_write(b"listing").unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take(), "\r\n+FTPLIST: 1,1\r\n");
    b.event(job, Event::Done(Err(FtpError::ControlClosed)));
    assert_eq!(b.take(), "\r\n+FTPLIST: 1,61\r\n", "a lost control connection is a net error");
    assert_eq!(b.at("AT+FTPLIST=2,100"), ERROR);
}

#[test]
fn a_chunked_upload_takes_each_chunk_after_the_last_has_gone() {
    let mut b = ready();
    assert_eq!(b.at("AT+FTPPUT=1"), OK);
    let (job, path, pipe) = upload(&mut b);
    assert_eq!(path, "/up/out.txt");
    assert_eq!(b.at("AT+FTPPUT=2,5"), ERROR, "no chunk before the data connection");
    b.event(job, Event::Opened);
    assert_eq!(b.take(), "\r\n+FTPPUT: 1,1,1360\r\n");
    assert_eq!(b.at("AT+FTPPUT=2,5"), "\r\n+FTPPUT: 2,5\r\n");
    b.send(b"hel");
    assert_eq!(b.take(), "");
    b.send(b"lo");
    assert_eq!(b.take(), OK);
    assert_eq!(taken(&pipe), b"hello");
    assert_eq!(b.at("AT+FTPPUT=2,5"), ERROR, "the next chunk waits for the last to go");
    b.event(job, Event::Drained);
    assert_eq!(b.take(), "\r\n+FTPPUT: 1,1,1360\r\n");
    assert_eq!(b.at("AT+FTPPUT=2,1461"), ERROR, "beyond the command's range");
    assert_eq!(b.at("AT+FTPPUT=2,1460"), "\r\n+FTPPUT: 2,1360\r\n", "a chunk is at most the family's");
    b.send(&[b'x'; 1360]);
    assert_eq!(b.take(), OK);
    b.event(job, Event::Drained);
    b.take();
    assert_eq!(b.at("AT+FTPPUT=2,0"), OK);
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPPUT: 1,0\r\n");
    assert_eq!(taken(&pipe).len(), 1360);
    assert!(pipe.is_finished(), "closing the upload ended the pipe");
}

#[test]
fn a_chunk_cut_short_is_discarded_and_may_be_sent_again() {
    let mut b = ready();
    b.at("AT+FTPPUT=1");
    let (job, _, pipe) = upload(&mut b);
    b.event(job, Event::Opened);
    b.take();
    assert_eq!(b.at("AT+FTPPUT=2,4"), "\r\n+FTPPUT: 2,4\r\n");
    b.send(b"ab");
    b.advance(Duration::from_secs(10));
    assert_eq!(b.take(), ERROR, "the data input time ran out");
    assert!(taken(&pipe).is_empty());
    assert_eq!(b.at("AT+FTPPUT=2,4"), "\r\n+FTPPUT: 2,4\r\n");
    b.send(b"abcd");
    assert_eq!(b.take(), OK);
    assert_eq!(taken(&pipe), b"abcd");
}

#[test]
fn an_et_download_streams_escaped_and_ends_with_etx_then_its_result() {
    let mut b = ready();
    assert_eq!(b.at("AT+FTPETGET=1"), OK);
    let (job, _, pipe) = download(&mut b);
    pipe.try_write(&[b'a', 0x03, 0x10, b'b']).unwrap();
    b.event(job, Event::Data);
    assert_eq!(b.take_bytes(), b"\r\n+FTPETGET: 1,1\r\na\x10\x03\x10\x10b");
    pipe.try_write(b"c").unwrap();
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take_bytes(), b"c\x03\r\n+FTPETGET: 1,0\r\n");
}

#[test]
fn an_et_stream_cut_by_a_failure_still_ends_with_etx_before_its_code() {
    let mut b = ready();
    b.at("AT+FTPETGET=1");
    let (job, _, pipe) = download(&mut b);
    pipe.try_write(b"abc").unwrap();
    b.event(job, Event::Data);
    b.take();
    b.event(job, Event::Done(Err(FtpError::ControlClosed)));
    assert_eq!(b.take_bytes(), b"\x03\r\n+FTPETGET: 1,61\r\n");
}

#[test]
fn an_et_upload_takes_the_escaped_stream_to_its_etx() {
    let mut b = ready();
    b.at("AT+FTPETPUT=1");
    let (job, _, pipe) = upload(&mut b);
    assert_eq!(b.at("AT+FTPETPUT=2"), ERROR, "not before the data connection");
    b.event(job, Event::Opened);
    assert_eq!(b.take(), "\r\n+FTPETPUT: 1,1\r\n");
    assert_eq!(b.at("AT+FTPETPUT=2"), "\r\n+FTPETPUT: 2,1\r\n");
    b.send(b"x\x10\x03y\x10\x10z");
    assert_eq!(b.take(), "");
    b.send(b"\x03");
    assert_eq!(b.take(), OK);
    assert_eq!(taken(&pipe), b"x\x03y\x10z");
    assert!(pipe.is_finished(), "the ETX closed the upload");
    b.event(job, Event::Drained);
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPETPUT: 1,0\r\n");
}

#[test]
fn the_extput_buffer_is_uploaded_whole_without_a_handshake() {
    let mut b = ready();
    assert_eq!(b.at("AT+FTPEXTPUT=1"), OK);
    assert_eq!(b.at("AT+FTPEXTPUT=2,0,6,5000"), "\r\n+FTPEXTPUT: 0,6\r\n");
    b.send(b"buffer");
    assert_eq!(b.take(), OK);
    assert!(!b.has_started(), "loading the buffer starts nothing");
    assert_eq!(b.at("AT+FTPPUT=1"), OK);
    let (job, _, pipe) = upload(&mut b);
    assert_eq!(taken(&pipe), b"buffer");
    assert!(pipe.is_finished());
    b.event(job, Event::Opened);
    b.event(job, Event::Drained);
    assert_eq!(b.take(), "", "a whole upload needs no word from the host");
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take(), "\r\n+FTPPUT: 1,0\r\n");
}

#[test]
fn an_extended_download_fills_the_ram_buffer_for_reading_anywhere() {
    let mut b = ready();
    assert_eq!(b.at("AT+FTPEXTGET=1"), OK);
    let (job, work) = once(&mut b);
    assert!(matches!(work, SessionWork::Download { sink: Sink::Memory { .. }, .. }), "{work:?}");
    b.event(job, Event::Opened);
    assert_eq!(b.at("AT+FTPEXTGET=3,0,4"), ERROR, "not while it downloads");
    b.event(job, Event::Done(Ok(Value::Bytes(b"0123456789".to_vec()))));
    assert_eq!(b.take(), "\r\n+FTPEXTGET: 1,0\r\n");
    assert_eq!(b.at("AT+FTPEXTGET=3,6,100"), "\r\n+FTPEXTGET: 3,4\r\n6789\r\nOK\r\n");
}

#[test]
fn one_session_at_a_time_and_only_over_an_open_bearer() {
    let mut b = ready();
    b.at("AT+FTPSIZE");
    let (job, work) = once(&mut b);
    assert!(matches!(work, SessionWork::Command(FtpOp::Size(ref p)) if p == "/d/in.txt"));
    assert_eq!(b.at("AT+FTPGET=1"), "\r\nOK\r\n\r\n+FTPGET: 1,66\r\n");
    b.event(job, Event::Done(Ok(Value::Size(42))));
    assert_eq!(b.take(), "\r\n+FTPSIZE: 1,0,42\r\n");
    assert_eq!(b.at("AT+CNACT=0,0"), "\r\nOK\r\n\r\n+APP PDP: 0,DEACTIVE\r\n");
    assert_eq!(b.at("AT+FTPGET=1"), "\r\nOK\r\n\r\n+FTPGET: 1,61\r\n");
    assert!(!b.has_started());
}

#[test]
fn a_bearer_lost_mid_session_ends_it_with_61() {
    let mut b = ready();
    b.at("AT+FTPGET=1");
    let (job, _, _pipe) = download(&mut b);
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+APP PDP: 0,DEACTIVE\r\n\r\n+FTPGET: 1,61\r\n");
    assert!(b.cancelled(job));
}

#[test]
fn events_of_a_quit_session_reach_nobody() {
    let mut b = ready();
    b.at("AT+FTPGET=1");
    let (job, _, pipe) = download(&mut b);
    assert_eq!(b.at("AT+FTPQUIT"), "\r\nOK\r\n\r\n+FTPGET: 1,80\r\n");
    assert!(b.cancelled(job));
    pipe.try_write(b"late").ok();
    b.event(job, Event::Data);
    b.event(job, Event::Done(Ok(Value::None)));
    assert_eq!(b.take(), "", "the cancelled job's events are dropped");
    assert_eq!(b.at("AT+FTPQUIT"), ERROR);
}

#[test]
fn an_event_no_state_expects_changes_nothing() {
    let mut b = ready();
    b.at("AT+FTPSIZE");
    let (job, _) = once(&mut b);
    b.event(job, Event::Drained);
    b.event(job, Event::LoggedIn);
    assert_eq!(b.take(), "");
    assert_eq!(b.at("AT+FTPSTATE"), "\r\n+FTPSTATE: 1\r\n\r\nOK\r\n");
    b.event(job, Event::Done(Ok(Value::Size(7))));
    assert_eq!(b.take(), "\r\n+FTPSIZE: 1,0,7\r\n");
}

#[test]
fn a_job_that_stopped_on_a_fault_of_its_own_ends_the_session_with_the_net_error() {
    let mut b = ready();
    b.at("AT+FTPGET=1");
    let (job, _, _pipe) = download(&mut b);
    b.event(job, crate::service::ftp::job::failed("a panic".into()));
    assert_eq!(b.take(), "\r\n+FTPGET: 1,61\r\n");
    assert_eq!(b.at("AT+FTPSTATE"), "\r\n+FTPSTATE: 0\r\n\r\nOK\r\n", "the session is not busy for ever");
}
