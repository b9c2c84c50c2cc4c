//! The SIMCom HTTP application on the core, with a scripted service side: an action's request
//! and its report, the buffer both ways, the refusals, and a bearer lost under a request.

use crate::core::testing::Bench;
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::http::job::Event;
use crate::service::http::{HttpError, HttpMethod, HttpResponse};
use crate::service::tls::HandshakeFailure;
use crate::service::{JobId, Request};

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

/// A SIM800 with bearer 1 open and the HTTP application initialised.
fn ready() -> Bench {
    let mut b = Bench::new(Family::Sim800);
    for line in ["AT+SAPBR=3,1,\"APN\",\"CMNET\"", "AT+SAPBR=1,1", "AT+HTTPINIT"] {
        assert_eq!(b.at(line), OK, "{line}");
    }
    b
}

/// The HTTP job just started: its id, method, URL and body.
fn request(b: &mut Bench) -> (JobId, HttpMethod, String, Vec<u8>) {
    let (job, owner, request) = b.started();
    assert_eq!(owner, Owner::Http);
    let Request::Http(r) = request else { panic!("not an HTTP job") };
    (job, r.method, r.url, r.body)
}

fn response(status: u16, body: &[u8]) -> HttpResponse {
    let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    HttpResponse { status, head, body: body.to_vec(), length: body.len() as u64 }
}

#[test]
fn an_action_reports_the_response_and_the_buffer_holds_its_body() {
    let mut b = ready();
    assert_eq!(b.at("AT+HTTPACTION=0"), ERROR, "no URL yet");
    assert_eq!(b.at("AT+HTTPPARA=\"URL\",\"http://example.net/a\""), OK);
    assert_eq!(b.at("AT+HTTPACTION=0"), OK);
    let (job, method, url, _) = request(&mut b);
    assert_eq!((method, url.as_str()), (HttpMethod::Get, "http://example.net/a"));
    assert_eq!(b.at("AT+HTTPACTION=0"), "\r\nOK\r\n\r\n+HTTPACTION: 0,604,0\r\n", "one at a time");
    assert_eq!(b.at("AT+HTTPREAD"), ERROR, "not while it runs");
    b.event(job, Event::Done(Ok(response(200, b"hello world"))));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 0,200,11\r\n");
    assert_eq!(b.at("AT+HTTPREAD=6,100"), "\r\n+HTTPREAD: 5\r\nworld\r\nOK\r\n");
    assert_eq!(b.at("AT+HTTPHEAD"), "\r\n+HTTPHEAD: 36\r\nHTTP/1.1 200 X\r\nContent-Length: 11\r\n\r\nOK\r\n");
}

#[test]
fn a_post_sends_the_httpdata_body() {
    let mut b = ready();
    b.at("AT+HTTPPARA=\"URL\",\"example.net/post\"");
    assert_eq!(b.at("AT+HTTPDATA=5,10000"), "\r\nDOWNLOAD\r\n");
    b.send(b"a=1&b");
    assert_eq!(b.take(), OK);
    assert_eq!(b.at("AT+HTTPACTION=1"), OK);
    let (job, method, _, body) = request(&mut b);
    assert_eq!((method, body.as_slice()), (HttpMethod::Post, b"a=1&b".as_slice()));
    b.event(job, Event::Done(Ok(response(201, b""))));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 1,201,0\r\n");
}

#[test]
fn a_failed_action_reports_the_modules_code() {
    let mut b = ready();
    b.at("AT+HTTPPARA=\"URL\",\"example.net\"");
    b.at("AT+HTTPACTION=0");
    let (job, ..) = request(&mut b);
    b.event(job, Event::Done(Err(HttpError::Timeout)));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 0,601,0\r\n", "a timeout is a network error");
}

#[test]
fn a_bearer_that_goes_ends_the_action_with_601() {
    let mut b = ready();
    b.at("AT+HTTPPARA=\"URL\",\"example.net\"");
    b.at("AT+HTTPACTION=0");
    let (job, ..) = request(&mut b);
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+SAPBR 1: DEACT\r\n\r\n+HTTPACTION: 0,601,0\r\n");
    assert!(b.cancelled(job));
    assert_eq!(b.at("AT+HTTPACTION=0"), "\r\nOK\r\n\r\n+HTTPACTION: 0,601,0\r\n", "the bearer is down");
    assert!(!b.has_started());
}

/// What `AT+HTTPREAD` and `AT+HTTPHEAD` answer once an action has failed: an empty buffer and
/// no head (docs/sim800.md D22).
fn assert_nothing_to_read(b: &mut Bench, what: &str) {
    assert_eq!(b.at("AT+HTTPREAD"), "\r\n+HTTPREAD: 0\r\n\r\nOK\r\n", "{what}");
    assert_eq!(b.at("AT+HTTPREAD=0,100"), "\r\n+HTTPREAD: 0\r\n\r\nOK\r\n", "{what}");
    assert_eq!(b.at("AT+HTTPHEAD"), ERROR, "{what}");
}

/// A SIM800 whose buffer holds the body of an earlier GET, `old body`.
fn after_a_response() -> Bench {
    let mut b = ready();
    b.at("AT+HTTPPARA=\"URL\",\"example.net/old\"");
    b.at("AT+HTTPACTION=0");
    let (job, ..) = request(&mut b);
    b.event(job, Event::Done(Ok(response(200, b"old body"))));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 0,200,8\r\n");
    assert_eq!(b.at("AT+HTTPREAD"), "\r\n+HTTPREAD: 8\r\nold body\r\nOK\r\n");
    b
}

#[test]
fn a_failed_action_leaves_nothing_of_the_last_response_to_read() {
    let too_big = HttpResponse { status: 200, head: "HTTP/1.1 200 OK\r\n".into(), body: vec![0; 10], length: 400_000 };
    let outcomes = [
        (Err(HttpError::Malformed("x".into())), "600,0"),
        (Err(HttpError::Timeout), "601,0"),
        (Ok(too_big), "602,400000"),
        (Err(HttpError::Dns("example.net".into())), "603,0"),
        (Err(HttpError::TlsHandshake(HandshakeFailure::Io(std::io::Error::other("x")))), "605,0"),
        (Err(HttpError::TlsAlert(rustls::AlertDescription::HandshakeFailure)), "606,0"),
    ];
    for (outcome, report) in outcomes {
        let mut b = after_a_response();
        b.at("AT+HTTPACTION=0");
        let (job, ..) = request(&mut b);
        b.event(job, Event::Done(outcome));
        assert_eq!(b.take(), format!("\r\n+HTTPACTION: 0,{report}\r\n"));
        assert_nothing_to_read(&mut b, report);
    }
}

#[test]
fn an_action_refused_at_once_leaves_nothing_to_read_either() {
    // The bearer closed: 601 without a request.
    let mut b = after_a_response();
    assert_eq!(b.at("AT+SAPBR=0,1"), OK);
    assert_eq!(b.at("AT+HTTPACTION=0"), "\r\nOK\r\n\r\n+HTTPACTION: 0,601,0\r\n");
    assert!(!b.has_started());
    assert_nothing_to_read(&mut b, "bearer closed");

    // The bearer lost under the request.
    let mut b = after_a_response();
    b.at("AT+HTTPACTION=0");
    request(&mut b);
    b.network(NetworkEvent::ReleaseBearers);
    assert_eq!(b.take(), "\r\n+SAPBR 1: DEACT\r\n\r\n+HTTPACTION: 0,601,0\r\n");
    assert_nothing_to_read(&mut b, "bearer lost");

    // Busy (604): the running action's own end decides what the buffer holds.
    let mut b = after_a_response();
    b.at("AT+HTTPACTION=0");
    let (job, ..) = request(&mut b);
    assert_eq!(b.at("AT+HTTPACTION=0"), "\r\nOK\r\n\r\n+HTTPACTION: 0,604,0\r\n");
    b.event(job, Event::Done(Err(HttpError::Timeout)));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 0,601,0\r\n");
    assert_nothing_to_read(&mut b, "busy, then the running action failed");
}

#[test]
fn a_failed_post_leaves_nothing_of_its_body_and_the_next_response_is_read_whole() {
    let mut b = ready();
    b.at("AT+HTTPPARA=\"URL\",\"example.net/post\"");
    assert_eq!(b.at("AT+HTTPDATA=5,10000"), "\r\nDOWNLOAD\r\n");
    // The bytes come in pieces; the buffer grows with them.
    b.send(b"a=");
    b.send(b"1&b");
    assert_eq!(b.take(), OK);
    assert_eq!(b.at("AT+HTTPREAD"), "\r\n+HTTPREAD: 5\r\na=1&b\r\nOK\r\n");
    b.at("AT+HTTPACTION=1");
    let (job, _, _, body) = request(&mut b);
    assert_eq!(body, b"a=1&b");
    b.event(job, Event::Done(Err(HttpError::Broken("reset".into()))));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 1,601,0\r\n");
    assert_nothing_to_read(&mut b, "failed POST");
    b.at("AT+HTTPACTION=0");
    let (job, ..) = request(&mut b);
    b.event(job, Event::Done(Ok(response(200, b"new"))));
    assert_eq!(b.take(), "\r\n+HTTPACTION: 0,200,3\r\n");
    assert_eq!(b.at("AT+HTTPREAD"), "\r\n+HTTPREAD: 3\r\nnew\r\nOK\r\n");
}
