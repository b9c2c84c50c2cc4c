//! The SIMCom HTTP application on the core, with a scripted service side: an action's request
//! and its report, the buffer both ways, the refusals, and a bearer lost under a request.

use crate::core::testing::Bench;
use crate::dialect::Owner;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::http::job::Event;
use crate::service::http::{HttpError, HttpMethod, HttpResponse};
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
