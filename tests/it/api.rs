//! The HTTP API and `/metrics` (`vmodem::observe::api`), over HTTP, on a fleet whose hosts talk
//! to their modems at the same time: the list shows what the hosts did; a fault, a network
//! event and a link profile made through the API reach the hosts as their families report
//! them; bad requests get a 4xx answer and change nothing; a token, when set, is required.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use vmodem::config::{FleetSection, ModuleConfig};
use vmodem::fleet::{Fleet, Lines};
use vmodem::net::Net;
use vmodem::observe::api::{self, ApiError};
use vmodem::transport::line::LineOptions;

use crate::support::rig::{at_ok, read_until, trace};

const WAIT: Duration = Duration::from_secs(10);

/// One HTTP/1.1 request; the status and the body.
async fn request(api: SocketAddr, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(api).await.expect("the API");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer)).await.expect("an answer in time").unwrap();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A request whose answer is JSON with the status `want`.
async fn json(api: SocketAddr, method: &str, path: &str, body: Option<&str>, want: u16) -> Value {
    let (status, text) = request(api, method, path, body, None).await;
    assert_eq!(status, want, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text:?}"))
}

/// A host on modem `index`'s socket in `dir`, echo off.
async fn host(dir: &Path, index: u64) -> UnixStream {
    let mut line = UnixStream::connect(dir.join(format!("modem-{index}.sock"))).await.expect("the modem's socket");
    at_ok(&mut line, "ATE0", WAIT).await;
    line
}

/// A fleet of `count` modems of `family` on Unix sockets in `dir`, with its API on loopback.
pub(crate) async fn fleet(dir: &Path, family: &str, count: u64) -> (Fleet, api::Server) {
    let base = ModuleConfig { family: family.parse().unwrap(), ..ModuleConfig::default() };
    let options = LineOptions { pacing: false, ..LineOptions::default() };
    let lines = Lines::Unix(dir.into());
    let fleet =
        Fleet::start(&base, &lines, 0..count, &Net::default(), options, &FleetSection::default()).await.unwrap();
    let server = api::serve("127.0.0.1:0".parse().unwrap(), None, fleet.modems().clone()).await.unwrap();
    (fleet, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_what_the_hosts_did_and_its_faults_and_events_reach_them() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, server) = fleet(dir.path(), "sim7080", 4).await;
    let api = server.addr;
    let _zero = host(dir.path(), 0).await;
    let mut one = host(dir.path(), 1).await;
    at_ok(&mut one, "AT+CREG=1", WAIT).await;
    at_ok(&mut one, "AT+CNACT=0,1", WAIT).await;
    read_until(&mut one, "+APP PDP: 0,ACTIVE\r\n", WAIT).await;

    let page = json(api, "GET", "/api/modems?state=connected", None, 200).await;
    assert_eq!(page["total"], 1, "{page}");
    let modem = &page["modems"][0];
    assert_eq!(modem["index"], 1);
    assert_eq!(modem["family"], "sim7080");
    assert_eq!(modem["imei"].as_str().map(str::len), Some(15));
    let ip = ModuleConfig::default().network.ip.to_string();
    assert_eq!(modem["ip"].as_str(), Some(ip.as_str()), "context 0 has the network's address: {modem}");
    assert_eq!(modem["registered"], true);
    assert_eq!(modem["host"], true);
    assert_eq!(modem["counters"]["commands"], 3, "ATE0, AT+CREG=1, AT+CNACT=0,1: {modem}");
    let all = json(api, "GET", "/api/modems?offset=2&limit=1", None, 200).await;
    assert_eq!((all["total"].as_u64(), all["modems"][0]["index"].as_u64()), (Some(4), Some(2)), "{all}");
    assert_eq!(all["modems"][0]["state"], "off", "no host has connected to modem 2: {all}");
    let connected = json(api, "GET", "/api/modems?state=registered", None, 200).await;
    assert_eq!(connected["modems"][0]["index"], 0, "{connected}");

    // A fault plan entry through the API: the network releases the bearer at once.
    let reached = json(api, "POST", "/api/modems/1/faults", Some(r#"{"kind": "drop_bearer", "at": 0}"#), 200).await;
    assert_eq!(reached["modems"], 1);
    assert_eq!(read_until(&mut one, "\r\n", WAIT).await, "\r\n");
    assert_eq!(read_until(&mut one, "\r\n", WAIT).await, "+APP PDP: 0,DEACTIVE\r\n");
    let modem = json(api, "GET", "/api/modems/1", None, 200).await;
    assert_eq!(
        (modem["state"].as_str(), modem["counters"]["faults"].as_u64()),
        (Some("registered"), Some(1)),
        "{modem}"
    );

    // A cell's worth of modems loses the network at once.
    let reached = json(api, "POST", "/api/network?from=0&to=2", Some(r#"{"event": "deregister"}"#), 200).await;
    assert_eq!(reached["modems"], 3);
    assert_eq!(read_until(&mut one, "+CREG: 2\r\n", WAIT).await, "\r\n+CREG: 2\r\n");
    let searching = json(api, "GET", "/api/modems?state=searching", None, 200).await;
    assert_eq!(searching["total"], 2, "modems 0 and 1 (modem 2 is off): {searching}");
    let metrics = request(api, "GET", "/metrics", None, None).await;
    assert_eq!(metrics.0, 200);
    for line in ["vmodem_modems{state=\"searching\"} 2", "vmodem_modems{state=\"off\"} 2", "vmodem_faults_total 1"] {
        assert!(metrics.1.lines().any(|l| l == line), "no {line:?} in\n{}", metrics.1);
    }
    assert!(metrics.1.contains("vmodem_host_bytes_total{direction=\"in\"} "), "{}", metrics.1);
    json(api, "POST", "/api/network?from=1&to=1", Some(r#"{"event": "register"}"#), 200).await;
    assert_eq!(read_until(&mut one, "+CREG: 1\r\n", WAIT).await, "\r\n+CREG: 1\r\n");

    // The signal the network gives, as AT+CSQ reports it.
    json(api, "POST", "/api/modems/1/network", Some(r#"{"event": "signal", "rssi": 12}"#), 200).await;
    assert!(at_ok(&mut one, "AT+CSQ", WAIT).await.starts_with("\r\n+CSQ: 12,"));
    assert_eq!(json(api, "GET", "/api/modems/1", None, 200).await["rssi"], 12);
    // A command that fails is counted.
    one.write_all(b"AT+NOSUCH\r").await.unwrap();
    assert_eq!(read_until(&mut one, "ERROR\r\n", WAIT).await, "\r\nERROR\r\n");
    assert_eq!(json(api, "GET", "/api/modems/1", None, 200).await["counters"]["errors"], 1);
    let metrics = request(api, "GET", "/metrics", None, None).await.1;
    assert!(metrics.lines().any(|l| l == "vmodem_errors_total 1"), "{metrics}");

    // A short message injected through the API.
    json(api, "POST", "/api/modems/1/sms", Some(r#"{"from": "+8613900000000", "text": "Hi"}"#), 200).await;
    assert_eq!(read_until(&mut one, "+CMTI: \"SM\",1\r\n", WAIT).await, "\r\n+CMTI: \"SM\",1\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_set_through_the_api_reaches_the_host_of_that_modem_alone() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, server) = fleet(dir.path(), "sim800", 2).await;
    let api = server.addr;
    let (mut zero, mut one) = (host(dir.path(), 0).await, host(dir.path(), 1).await);
    let body = r#"{"profile": {"answer_ms": 400}}"#;
    let modem = json(api, "PUT", "/api/modems/1/profile", Some(body), 200).await;
    assert!(modem["profile"].as_str().is_some_and(|p| p.contains("answers in 400 ms")), "{modem}");
    // The module takes 400 ms to answer now: a lower bound no machine can beat.
    let started = Instant::now();
    assert_eq!(at_ok(&mut one, "AT", WAIT).await, "\r\nOK\r\n");
    assert!(started.elapsed() >= Duration::from_millis(400), "answered in {:?}", started.elapsed());
    let zero_profile = json(api, "GET", "/api/modems/0", None, 200).await;
    assert_eq!(zero_profile["profile"], "instant", "modem 0 keeps its link");
    at_ok(&mut zero, "AT", WAIT).await;
    let reached = json(api, "PUT", "/api/profile", Some(r#"{"profile": "nbiot"}"#), 200).await;
    assert_eq!(reached["modems"], 2);
    let page = json(api, "GET", "/api/modems", None, 200).await;
    let profiles: Vec<&str> = page["modems"].as_array().unwrap().iter().filter_map(|m| m["profile"].as_str()).collect();
    assert_eq!(profiles, ["nbiot", "nbiot"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_4xx_answer_and_change_nothing() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, server) = fleet(dir.path(), "l610", 2).await;
    let api = server.addr;
    for (method, path, body, status, says) in [
        ("GET", "/api/modems/7", None, 404, "no modem 7"),
        ("GET", "/api/modems/x", None, 400, "not a modem index"),
        ("GET", "/api/modems?limit=0", None, 400, "limit 0"),
        ("GET", "/api/modems?limit=1001", None, 400, "limit 1001"),
        ("GET", "/api/modems?state=melted", None, 400, "state \"melted\""),
        ("GET", "/api/modems?colour=red", None, 400, "unknown field"),
        ("PUT", "/api/modems/1/profile", Some(r#"{"profile": "5g"}"#), 400, "no link profile"),
        ("PUT", "/api/modems/1/profile", Some(r#"{"profile": {"down_kbps": -1}}"#), 400, "down_kbps"),
        ("PUT", "/api/modems/1/profile", Some("{"), 400, ""),
        ("PUT", "/api/profile?from=5&to=1", Some(r#"{"profile": "lte"}"#), 400, "from 5 is after to 1"),
        ("PUT", "/api/profile?from=5&to=9", Some(r#"{"profile": "lte"}"#), 404, "no modem from 5 to 9"),
        ("POST", "/api/modems/1/faults", Some(r#"{"kind": "melt"}"#), 400, "melt"),
        ("POST", "/api/faults", Some(r#"{"kind": "freeze", "seconds": 1e300}"#), 400, "seconds"),
        ("POST", "/api/modems/1/network", Some(r#"{"event": "flood"}"#), 400, "flood"),
        ("POST", "/api/modems/1/network", Some(r#"{"event": "signal"}"#), 400, "needs its rssi"),
        ("POST", "/api/modems/1/network", Some(r#"{"event": "signal", "rssi": 40}"#), 400, "0 to 31"),
        ("POST", "/api/modems/1/network", Some(r#"{"event": "release", "rssi": 4}"#), 400, "only a signal"),
        ("POST", "/api/modems/1/sms", Some(r#"{"from": "", "text": "x"}"#), 400, "empty address"),
        ("GET", "/api/nothing", None, 404, "no such resource"),
    ] {
        let (got, text) = request(api, method, path, body, None).await;
        assert_eq!(got, status, "{method} {path}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text:?}"));
        let error = error["error"].as_str().unwrap_or_else(|| panic!("{method} {path}: no error in {text}"));
        assert!(error.contains(says), "{method} {path}: {error:?} does not say {says:?}");
    }
    let page = json(api, "GET", "/api/modems", None, 200).await;
    for modem in page["modems"].as_array().unwrap() {
        assert_eq!((modem["profile"].as_str(), modem["counters"]["faults"].as_u64()), (Some("instant"), Some(0)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_once_set_is_required_and_other_addresses_need_one() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let (fleet, _open) = fleet(dir.path(), "sim7000", 1).await;
    let loopback = "127.0.0.1:0".parse().unwrap();
    let guarded = api::serve(loopback, Some("s3cret".into()), fleet.modems().clone()).await.unwrap();
    assert_eq!(request(guarded.addr, "GET", "/api/modems", None, None).await.0, 401);
    assert_eq!(request(guarded.addr, "GET", "/metrics", None, Some("wrong!")).await.0, 401);
    assert_eq!(request(guarded.addr, "GET", "/api/modems", None, Some("s3cret")).await.0, 200);
    // The console's live stream and page take the token in the URL (EventSource sets no header).
    assert_eq!(request(guarded.addr, "GET", "/api/modems/0/stream", None, None).await.0, 401);
    assert_eq!(request(guarded.addr, "GET", "/?token=wrong", None, None).await.0, 401);
    let mut stream = TcpStream::connect(guarded.addr).await.unwrap();
    stream.write_all(b"GET /api/modems/0/stream?token=s3cret HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let head = read_until(&mut stream, "event: transcript", WAIT).await;
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("text/event-stream"), "{head}");
    let everywhere = api::serve("0.0.0.0:0".parse().unwrap(), None, fleet.modems().clone()).await;
    assert!(matches!(everywhere, Err(ApiError::NeedsToken(_))), "{everywhere:?}");
    // The metrics alone are open: they carry no secret and steer nothing.
    let metrics = api::serve_metrics(loopback, fleet.modems().clone()).await.unwrap();
    let (status, text) = request(metrics.addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    assert!(text.contains("vmodem_modems{state=\"off\"} 1"), "{text}");
    assert_eq!(request(metrics.addr, "GET", "/api/modems", None, None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_s_progress_is_served_as_metrics() {
    let progress = vmodem::observe::DriveProgress::default();
    let metrics = vmodem::observe::JobMetrics::default();
    let mut registry = metrics.registry();
    progress.register(&mut registry);
    let server = api::serve_registry("127.0.0.1:0".parse().unwrap(), registry).await.unwrap();
    for passed in [true, false] {
        progress.started();
        progress.ended(passed);
    }
    progress.started();
    metrics.job_ended(vmodem::dialect::Owner::Ftp, 0.5);
    assert_eq!(progress.running_and_failed(), (1, 1));
    let (status, text) = request(server.addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    for line in [
        "vmodem_drive_modems_total{state=\"started\"} 3",
        "vmodem_drive_modems_total{state=\"ended\"} 2",
        "vmodem_drive_modems_total{state=\"failed\"} 1",
        "vmodem_job_duration_seconds_count{service=\"ftp\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}

/// A frozen modem takes no requests; they wait in a bounded queue, and one more is refused
/// rather than kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_modem_s_requests_wait_in_a_bounded_queue() {
    use vmodem::modem::{CONTROL_QUEUE, Modem};
    use vmodem::network::NetworkEvent;
    use vmodem::plan::PlanEntry;
    let dialect = vmodem::dialect::build(Default::default()).unwrap();
    let modem = Modem::new(dialect, Net::default());
    let handle = modem.handle();
    let (mut host, line) = tokio::io::duplex(4096);
    let _task = tokio::spawn(modem.run(vmodem::transport::Links::single(Box::new(line))));
    at_ok(&mut host, "ATE0", WAIT).await;
    assert!(handle.fault(PlanEntry::parse("kind = \"freeze\", seconds = 3").unwrap()));
    let deadline = Instant::now() + WAIT;
    while !handle.status().status.frozen {
        assert!(Instant::now() < deadline, "the modem never froze");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let taken = (0..CONTROL_QUEUE + 100).filter(|_| handle.network(NetworkEvent::Signal(5))).count();
    assert_eq!(taken, CONTROL_QUEUE);
    // Thawed, it carries out what waited and takes requests again.
    let deadline = Instant::now() + WAIT;
    while handle.status().status.frozen {
        assert!(Instant::now() < deadline, "the modem never thawed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(at_ok(&mut host, "AT+CSQ", WAIT).await.contains("+CSQ: 5,"));
    assert!(handle.network(NetworkEvent::Signal(6)));
}
