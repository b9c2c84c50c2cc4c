//! The HTTP service end to end, without AT commands: vmodem's client
//! (`vmodem::service::http::fetch`) against the in-process axum server, Debian's nginx (HTTP,
//! and HTTPS with the test CA) and tinyproxy as `scripts/test-servers.sh` starts them (ports,
//! the nginx root and the CA come from its servers.env; a missing file fails the test, it never
//! skips), and scripted raw servers for what no real server does on demand (the request bytes
//! as sent, a body cut short, garbage instead of HTTP, a fatal TLS alert).
//!
//! Bodies hold every byte value and are checked by SHA-256. Every wait is bounded: each
//! request by its own timeout, each raw server by [`RAW_LIMIT`].

use crate::support::{nginx, pki, rig};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use nginx::Nginx;
use pki::Pki;
use rig::{closed_port, sha256, trace};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, ServerConfig};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use vmodem::embedded::http::{EmbeddedHttp, EmbeddedHttpConfig, EmbeddedHttps};
use vmodem::net::{Direction, Fault, Net, NetConfig, Redirect, Role};
use vmodem::service::http::{HttpError, HttpMethod, HttpProgress, HttpRequest, HttpResponse, MAX_REDIRECTS, fetch};
use vmodem::service::tls::{HandshakeFailure, TlsConfigError, TlsSettings, Verification};

/// How long one request may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(60);
/// How long a raw server waits for anything.
const RAW_LIMIT: Duration = Duration::from_secs(30);
/// The body sizes fetched: empty, around the 256-byte period, and up to 1 MiB.
const SIZES: [usize; 7] = [0, 1, 255, 256, 4097, 65536 + 17, 1 << 20];
/// The SIM800's HTTP buffer.
const SIM800_BUFFER: usize = 319_488;
/// The vendor notes' server address, which tests redirect to local servers.
const SAMPLE_SERVER: &str = "112.74.93.163";

// ---------------------------------------------------------------------------------------------
// Requests and bodies

/// A GET of `url` as a SIMCom module sends it, keeping bodies up to 16 MiB.
fn request(url: impl Into<String>) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: url.into(),
        user_agent: "SIMCom_MODULE".into(),
        content_type: None,
        user_data: String::new(),
        body: Vec::new(),
        proxy: None,
        follow_redirects: false,
        range: None,
        timeout: REQUEST_LIMIT,
        tls: None,
        body_limit: 16 << 20,
        progress: None,
    }
}

/// `n` bytes in which every 256-byte block holds every byte value, each block in another order.
fn all_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8) ^ ((i >> 8) as u8).wrapping_mul(31)).collect()
}

async fn ok(net: &Net, req: HttpRequest) -> HttpResponse {
    let url = req.url.clone();
    fetch(net, req).await.unwrap_or_else(|e| panic!("{url}: {e} ({e:?})"))
}

async fn failure(net: &Net, req: HttpRequest) -> HttpError {
    let url = req.url.clone();
    match fetch(net, req).await {
        Ok(r) => panic!("{url}: expected a failure, got {} with {} bytes", r.status, r.length),
        Err(e) => e,
    }
}

/// A response that is a complete copy of `want`, checked by hash.
fn assert_body(r: &HttpResponse, want: &[u8], what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.head);
    assert_eq!(r.length, want.len() as u64, "{what}: length");
    assert_eq!(sha256(&r.body), sha256(want), "{what}: body by SHA-256");
}

/// The value of header `name` (any case) in a head as the service reports it.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A head as `AT+HTTPHEAD` prints it: status line first, CRLF after every line, no blank line.
fn assert_head_shape(head: &str, status_line: &str) {
    assert!(head.starts_with(&format!("{status_line}\r\n")), "{head:?}");
    assert!(head.ends_with("\r\n") && !head.ends_with("\r\n\r\n"), "{head:?}");
    assert!(!head.replace("\r\n", "").contains(['\r', '\n']), "bare CR or LF in {head:?}");
}

// ---------------------------------------------------------------------------------------------
// The servers

/// The embedded server over a fresh folder holding `bytes-<n>.bin` for every size in [`SIZES`].
struct Embedded {
    server: EmbeddedHttp,
    dir: TempDir,
    /// The certificate files of an HTTPS server, kept while it runs.
    _certs: Option<TempDir>,
}

impl Embedded {
    async fn start(https: Option<&Pki>) -> Embedded {
        trace();
        let dir = tempfile::tempdir().expect("a folder to serve");
        for n in SIZES {
            std::fs::write(dir.path().join(format!("bytes-{n}.bin")), all_bytes(n)).expect("write a file");
        }
        let (certs, tls) = match https {
            Some(pki) => {
                let (certs, files) = pki.embedded_ftps(None);
                (Some(certs), Some(EmbeddedHttps { cert: files.cert, key: files.key }))
            }
            None => (None, None),
        };
        let config =
            EmbeddedHttpConfig { root: dir.path().to_path_buf(), bind: SocketAddr::from(([127, 0, 0, 1], 0)), tls };
        let server = EmbeddedHttp::start(config).await.expect("the embedded HTTP server starts");
        Embedded { server, dir, _certs: certs }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.server.addr().port())
    }
}

/// nginx with this test's files of every byte value.
fn nginx() -> Nginx {
    let nginx = Nginx::start("http-service-");
    for n in SIZES {
        nginx.write(&format!("bytes-{n}.bin"), &all_bytes(n));
    }
    nginx
}

impl Nginx {
    /// The URL of `path` in this test's folder (`http://127.0.0.1:<port>/<folder>/<path>`).
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{}/{path}", self.http, self.folder())
    }

    /// The same over HTTPS, by the name the certificate carries.
    fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}/{}/{path}", self.https, self.folder())
    }

    /// TLS settings that verify against the test CA.
    fn tls(&self) -> Option<TlsSettings> {
        let ca = std::fs::read(&self.ca).expect("the test CA of scripts/test-servers.sh");
        Some(TlsSettings { ca, ..TlsSettings::default() })
    }
}

// ---------------------------------------------------------------------------------------------
// Raw servers

/// Accepts one connection on a fresh port, reads one request (head and `Content-Length`
/// body), answers `reply` and closes; the handle yields the request's bytes.
async fn raw_server(reply: Vec<u8>) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = raw_serve(listener, vec![reply]);
    (addr, tokio::spawn(async move { task.await.expect("the raw server").remove(0) }))
}

/// Like [`raw_server`] on `listener`, for one connection after another, one for each of
/// `replies` in turn; the handle yields the requests' bytes.
fn raw_serve(listener: TcpListener, replies: Vec<Vec<u8>>) -> JoinHandle<Vec<Vec<u8>>> {
    tokio::spawn(async move {
        tokio::time::timeout(RAW_LIMIT, async move {
            let mut requests = Vec::new();
            for reply in replies {
                let (mut conn, _) = listener.accept().await.expect("accept");
                requests.push(read_request(&mut conn).await);
                // The client may have given up already; what it sent is the point.
                let _ = conn.write_all(&reply).await;
                let _ = conn.shutdown().await;
            }
            requests
        })
        .await
        .expect("the raw server's client came and went in time")
    })
}

/// One request's bytes: the head, then as many body bytes as its `Content-Length` says.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(conn: &mut S) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut buf).await.expect("read the request");
        assert!(n > 0, "the request ended early: {:?}", String::from_utf8_lossy(&request));
        request.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let body: usize = header(&head, "content-length").map_or(0, |v| v.parse().expect("a length"));
    while request.len() < head_end + body {
        let n = conn.read(&mut buf).await.expect("read the body");
        assert!(n > 0, "the body ended early");
        request.extend_from_slice(&buf[..n]);
    }
    request
}

// ---------------------------------------------------------------------------------------------
// GET, HEAD, POST

#[tokio::test]
async fn embedded_get_of_every_byte_value_by_hash() {
    let server = Embedded::start(None).await;
    let net = Net::default();
    for n in SIZES {
        let r = ok(&net, request(server.url(&format!("bytes-{n}.bin")))).await;
        assert_body(&r, &all_bytes(n), &format!("{n} bytes"));
        assert_head_shape(&r.head, "HTTP/1.1 200 OK");
        assert_eq!(header(&r.head, "content-length"), Some(n.to_string().as_str()), "{}", r.head);
    }
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn nginx_get_of_every_byte_value_by_hash_over_http_and_https() {
    let nginx = nginx();
    let net = Net::default();
    for n in SIZES {
        let name = format!("bytes-{n}.bin");
        let plain = ok(&net, request(nginx.url(&name))).await;
        assert_body(&plain, &all_bytes(n), &format!("http, {n} bytes"));
        let tls = ok(&net, HttpRequest { tls: nginx.tls(), ..request(nginx.https_url(&name)) }).await;
        assert_body(&tls, &all_bytes(n), &format!("https, {n} bytes"));
        for head in [&plain.head, &tls.head] {
            assert_head_shape(head, "HTTP/1.1 200 OK");
            // The head as nginx sent it: names in its own case (a parsed header map would
            // have them in lower case), `ETag` included.
            assert!(head.contains(&format!("\r\nContent-Length: {n}\r\n")), "{head}");
            assert!(head.contains("\r\nETag: \""), "{head}");
            assert!(head.contains("\r\nServer: nginx"), "{head}");
        }
    }
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn head_reports_the_announced_length_without_a_body() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let net = Net::default();
    let n = 1 << 20;
    let name = format!("bytes-{n}.bin");
    for url in [server.url(&name), nginx.url(&name)] {
        let r = ok(&net, HttpRequest { method: HttpMethod::Head, ..request(url.as_str()) }).await;
        assert_eq!((r.status, r.length, r.body.len()), (200, n as u64, 0), "{url}");
        assert_eq!(header(&r.head, "content-length"), Some("1048576"), "{url}: {}", r.head);
    }
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn post_of_1_mib_is_echoed_back() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let net = Net::default();
    let body = all_bytes(1 << 20);
    let echo = |url: String, tls: Option<TlsSettings>| HttpRequest {
        method: HttpMethod::Post,
        content_type: Some("application/octet-stream".into()),
        body: body.clone(),
        tls,
        ..request(url)
    };
    let nginx_https = format!("https://localhost:{}/echo-post", nginx.https);
    for (url, tls) in [
        (server.url("echo"), None),
        (format!("http://127.0.0.1:{}/echo-post", nginx.http), None),
        (nginx_https, nginx.tls()),
    ] {
        let r = ok(&net, echo(url.clone(), tls)).await;
        assert_body(&r, &body, &url);
    }
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn ranges_answer_206_with_the_exact_bytes() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let net = Net::default();
    let n = 1 << 20;
    let data = all_bytes(n);
    let name = format!("bytes-{n}.bin");
    for url in [server.url(&name), nginx.url(&name)] {
        let r = ok(&net, HttpRequest { range: Some((1000, Some(1999))), ..request(url.as_str()) }).await;
        assert_eq!((r.status, r.length), (206, 1000), "{url}: {}", r.head);
        assert_eq!(sha256(&r.body), sha256(&data[1000..2000]), "{url}");
        assert_eq!(header(&r.head, "content-range"), Some("bytes 1000-1999/1048576"), "{url}");
        let tail = ok(&net, HttpRequest { range: Some((n as u64 - 576, None)), ..request(url.as_str()) }).await;
        assert_eq!((tail.status, tail.body.as_slice()), (206, &data[n - 576..]), "{url}: open-ended range");
    }
}

// ---------------------------------------------------------------------------------------------
// Redirects and statuses

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn redirects_are_followed_when_asked_and_reported_otherwise() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let net = Net::default();
    let file = all_bytes(256);
    let url = server.url("redirect/bytes-256.bin");
    let not_followed = ok(&net, request(url.as_str())).await;
    assert_eq!(not_followed.status, 302, "{}", not_followed.head);
    assert_eq!(header(&not_followed.head, "location"), Some("/bytes-256.bin"));
    let followed = ok(&net, HttpRequest { follow_redirects: true, ..request(url.as_str()) }).await;
    assert_body(&followed, &file, "followed");

    let nginx_redirect = format!("http://127.0.0.1:{}/redirect", nginx.http);
    let not_followed = ok(&net, request(nginx_redirect.as_str())).await;
    assert_eq!(not_followed.status, 302);
    assert!(header(&not_followed.head, "location").is_some_and(|l| l.ends_with("/hello.txt")), "{}", not_followed.head);
    let followed = ok(&net, HttpRequest { follow_redirects: true, ..request(nginx_redirect) }).await;
    assert_eq!((followed.status, followed.body.as_slice()), (200, &b"hello from nginx\n"[..]));
    // Over HTTPS, where the Location names the same https server.
    let tls_redirect = format!("https://localhost:{}/redirect", nginx.https);
    let followed = ok(&net, HttpRequest { follow_redirects: true, tls: nginx.tls(), ..request(tls_redirect) }).await;
    assert_eq!((followed.status, followed.body.as_slice()), (200, &b"hello from nginx\n"[..]));
}

#[tokio::test]
async fn credentials_go_only_to_the_origin_of_the_url() {
    let redirect = |location: String| {
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes()
    };
    let done = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
    // The origin sends the client to itself, then to a server on another port, which sends it
    // back: curl's rule drops the credentials on the other server only.
    let (origin, other) =
        (TcpListener::bind("127.0.0.1:0").await.unwrap(), TcpListener::bind("127.0.0.1:0").await.unwrap());
    let (origin_addr, other_addr) = (origin.local_addr().unwrap(), other.local_addr().unwrap());
    let origin_server =
        raw_serve(origin, vec![redirect("/here".into()), redirect(format!("http://{other_addr}/there")), done]);
    let other_server = raw_serve(other, vec![redirect(format!("http://{origin_addr}/back"))]);
    let user =
        "Authorization: Basic czNjcmV0\r\nProxy-Authorization: Basic cHJveHk=\r\nCookie: id=s3cret\r\nX-Device: 42";
    let req = HttpRequest {
        follow_redirects: true,
        user_data: user.into(),
        ..request(format!("http://{origin_addr}/start"))
    };
    assert_eq!(ok(&Net::default(), req).await.body, b"ok");
    let text = |request: &Vec<u8>| String::from_utf8(request.clone()).expect("ASCII");
    let credentials = ["Authorization: Basic czNjcmV0", "Proxy-Authorization: Basic cHJveHk=", "Cookie: id=s3cret"];
    for sent in origin_server.await.expect("the origin").iter().map(text) {
        for line in credentials.iter().chain(&["X-Device: 42"]) {
            assert!(sent.contains(&format!("\r\n{line}\r\n")), "{line:?} in {sent}");
        }
    }
    for sent in other_server.await.expect("the other server").iter().map(text) {
        assert!(sent.starts_with("GET /there HTTP/1.1\r\n") && sent.contains("\r\nX-Device: 42\r\n"), "{sent}");
        let lower = sent.to_ascii_lowercase();
        assert!(!lower.contains("authorization") && !lower.contains("cookie") && !sent.contains("s3cret"), "{sent}");
    }
}

#[tokio::test]
async fn redirect_hops_are_bounded() {
    let server = Embedded::start(None).await;
    let net = Net::default();
    let chain = |hops: usize| server.url(&format!("{}bytes-1.bin", "redirect/".repeat(hops)));
    let last_allowed = ok(&net, HttpRequest { follow_redirects: true, ..request(chain(MAX_REDIRECTS)) }).await;
    assert_body(&last_allowed, &all_bytes(1), "the last hop allowed");
    let one_more = ok(&net, HttpRequest { follow_redirects: true, ..request(chain(MAX_REDIRECTS + 1)) }).await;
    assert_eq!(one_more.status, 302, "the answer after the last hop is reported as it is");
    assert_eq!(header(&one_more.head, "location"), Some("/bytes-1.bin"));
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_missing_file_is_a_404_response_not_an_error() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let net = Net::default();
    for url in [server.url("no-such-file"), nginx.url("no-such-file")] {
        let r = ok(&net, request(url.as_str())).await;
        assert_eq!(r.status, 404, "{url}");
        assert!(r.head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{}", r.head);
        assert_eq!(r.length, r.body.len() as u64);
    }
}

// ---------------------------------------------------------------------------------------------
// Failures and their codes

#[tokio::test]
async fn connection_failures_have_the_modules_codes() {
    let net = Net::default();
    let (_socket, closed) = closed_port();
    let refused = failure(&net, request(format!("http://127.0.0.1:{}/x", closed.port()))).await;
    assert!(matches!(refused, HttpError::Connect(vmodem::net::NetError::Refused(_))), "{refused:?}");
    assert_eq!(refused.module_code(), 601);
    let dns = failure(&net, request("http://x.invalid/file")).await;
    assert!(matches!(dns, HttpError::Dns(_)), "{dns:?}");
    assert_eq!(dns.module_code(), 603);
    let proxy_dns = failure(&net, HttpRequest { proxy: Some(("proxy.invalid".into(), 3128)), ..request("h/x") }).await;
    assert_eq!(proxy_dns.module_code(), 603, "{proxy_dns:?}");
    for bad in ["ftp://127.0.0.1/x", "http://127.0.0.1:99999/", "http:///x"] {
        let e = failure(&net, request(bad)).await;
        assert!(matches!(e, HttpError::InvalidRequest(_)), "{bad}: {e:?}");
        assert_eq!(e.module_code(), 601);
    }
}

#[tokio::test]
async fn garbage_instead_of_http_is_600() {
    let (addr, server) = raw_server(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec()).await;
    let e = failure(&Net::default(), request(format!("http://{addr}/"))).await;
    assert!(matches!(e, HttpError::Malformed(_)), "{e:?}");
    assert_eq!(e.module_code(), 600);
    server.await.expect("the raw server");
}

#[tokio::test]
async fn a_server_that_goes_quiet_times_out() {
    let server = Embedded::start(None).await;
    let net = Net::default().with_faults(vec![Fault::Stall {
        on: Role::Control,
        direction: Direction::Down,
        after: 100,
        seconds: vmodem::limits::Seconds::of(30.0),
    }]);
    let req = HttpRequest { timeout: Duration::from_millis(500), ..request(server.url("bytes-65553.bin")) };
    let started = std::time::Instant::now();
    let e = failure(&net, req).await;
    assert!(matches!(e, HttpError::Timeout), "{e:?}");
    assert_eq!(e.module_code(), 601);
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout ended it, not the stall");
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_reset_mid_body_is_an_error_never_a_short_body() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let net = Net::default().with_faults(vec![Fault::Reset { on: Role::Control, after: 300_000 }]);
    let name = "bytes-1048576.bin";
    let progress = HttpProgress::default();
    for req in [
        request(server.url(name)),
        request(nginx.url(name)),
        HttpRequest { tls: nginx.tls(), ..request(nginx.https_url(name)) },
    ] {
        let url = req.url.clone();
        let e = failure(&net, HttpRequest { progress: Some(progress.clone()), ..req }).await;
        assert!(matches!(e, HttpError::Broken(_)), "{url}: {e:?}");
        assert_eq!(e.module_code(), 601);
        assert!(progress.received.get() > 0 && progress.received.get() < 300_000, "{url}: it broke mid-body");
    }
}

#[tokio::test]
async fn a_body_shorter_than_announced_is_an_error() {
    // Content-Length 100, 50 bytes, a clean close.
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    reply.extend(all_bytes(50));
    let (addr, server) = raw_server(reply).await;
    let e = failure(&Net::default(), request(format!("http://{addr}/"))).await;
    assert!(matches!(e, HttpError::Broken(_)), "{e:?}");
    server.await.expect("the raw server");

    // No Content-Length: the body runs to the close, which a reset pre-empts.
    let mut reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    reply.extend(all_bytes(200_000));
    let (addr, server) = raw_server(reply).await;
    let net = Net::default().with_faults(vec![Fault::Reset { on: Role::Control, after: 100_000 }]);
    let e = failure(&net, request(format!("http://{addr}/"))).await;
    assert!(matches!(e, HttpError::Broken(_)), "{e:?}");
    server.await.expect("the raw server");

    // The same without the fault is a whole body.
    let mut reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    reply.extend(all_bytes(200_000));
    let (addr, server) = raw_server(reply).await;
    assert_body(&ok(&Net::default(), request(format!("http://{addr}/"))).await, &all_bytes(200_000), "close-delimited");
    server.await.expect("the raw server");
}

// ---------------------------------------------------------------------------------------------
// TLS

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn tls_verifies_against_the_given_ca_unless_told_not_to() {
    let nginx = nginx();
    let net = Net::default();
    let url = nginx.https_url("bytes-4097.bin");
    let want = all_bytes(4097);
    assert_body(&ok(&net, HttpRequest { tls: nginx.tls(), ..request(url.as_str()) }).await, &want, "test CA");

    let wrong = Pki::new("a CA nginx's certificate does not come from");
    let wrong_ca = || Some(TlsSettings { ca: wrong.ca_pem.clone().into_bytes(), ..TlsSettings::default() });
    let e = failure(&net, HttpRequest { tls: wrong_ca(), ..request(url.as_str()) }).await;
    assert!(matches!(&e, HttpError::TlsHandshake(f @ HandshakeFailure::Tls(_)) if f.is_certificate()), "{e:?}");
    assert_eq!(e.module_code(), 605);

    let ignore = Some(TlsSettings { verification: Verification::IgnoreCertificate, ..wrong_ca().unwrap() });
    assert_body(&ok(&net, HttpRequest { tls: ignore, ..request(url.as_str()) }).await, &want, "verification off");

    let none = failure(&net, request(url.as_str())).await;
    assert!(matches!(none, HttpError::TlsConfig(TlsConfigError::NoCa)), "no settings verify against nothing: {none:?}");
    assert_eq!(none.module_code(), 605);

    // The embedded server over HTTPS, with a CA of this test.
    let pki = Pki::new("embedded HTTPS CA");
    let server = Embedded::start(Some(&pki)).await;
    let url = format!("https://localhost:{}/bytes-65553.bin", server.server.addr().port());
    let tls = Some(TlsSettings { ca: pki.ca_pem.clone().into_bytes(), ..TlsSettings::default() });
    assert_body(&ok(&net, HttpRequest { tls, ..request(url) }).await, &all_bytes(65553), "embedded HTTPS");
}

#[tokio::test]
async fn a_fatal_alert_from_the_server_is_606() {
    // A server that speaks TLS 1.3 only meets a client that offers TLS 1.2 only (vmodem's
    // default): it answers the ClientHello with a protocol_version alert.
    let pki = Pki::new("TLS 1.3 only CA");
    let (cert, key) = pki.server();
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("a certificate")],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("a key"),
        )
        .expect("a server configuration");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let (tcp, _) = tokio::time::timeout(RAW_LIMIT, listener.accept()).await.expect("a client").expect("accept");
        let refused = tokio_rustls::TlsAcceptor::from(Arc::new(config)).accept(tcp).await;
        assert!(refused.is_err(), "the handshake must fail on the server too");
    });
    let tls = Some(TlsSettings { ca: pki.ca_pem.clone().into_bytes(), ..TlsSettings::default() });
    let e =
        failure(&Net::default(), HttpRequest { tls, ..request(format!("https://localhost:{}/", addr.port())) }).await;
    assert!(matches!(e, HttpError::TlsAlert(AlertDescription::ProtocolVersion)), "{e:?}");
    assert_eq!(e.module_code(), 606);
    server.await.expect("the TLS server");
}

// ---------------------------------------------------------------------------------------------
// Proxies and the net layer

/// A network on which a direct connection to `localhost:<port>` is refused, so a request that
/// arrives there went through the proxy.
fn without_direct_route(ports: &[u16]) -> (Net, tokio::net::TcpSocket) {
    let (socket, closed) = closed_port();
    let redirects = ports.iter().map(|&p| Redirect::new("localhost", Some(p), closed)).collect();
    (Net::new(NetConfig::redirecting(redirects)), socket)
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn proxies_carry_http_and_tunnel_https() {
    let nginx = nginx();
    let (net, _closed) = without_direct_route(&[nginx.http, nginx.https]);
    let want = all_bytes(65553);
    let direct = failure(&net, request(format!("http://localhost:{}/x", nginx.http))).await;
    assert!(matches!(direct, HttpError::Connect(_)), "the direct route is closed: {direct:?}");
    let proxy = Some(("127.0.0.1".to_string(), nginx.proxy));
    let plain = format!("http://localhost:{}/{}/bytes-65553.bin", nginx.http, nginx.folder());
    let r = ok(&net, HttpRequest { proxy: proxy.clone(), ..request(plain) }).await;
    assert_body(&r, &want, "HTTP through tinyproxy");
    let tls = HttpRequest { proxy: proxy.clone(), tls: nginx.tls(), ..request(nginx.https_url("bytes-65553.bin")) };
    assert_body(&ok(&net, tls).await, &want, "HTTPS through tinyproxy's CONNECT");
    let ranged = HttpRequest {
        proxy: proxy.clone(),
        tls: nginx.tls(),
        range: Some((10, Some(19))),
        ..request(nginx.https_url("bytes-65553.bin"))
    };
    let r = ok(&net, ranged).await;
    assert_eq!((r.status, r.body.as_slice()), (206, &want[10..20]));
    // tinyproxy tunnels to nginx's HTTPS port only: another port is refused.
    let refused = HttpRequest { proxy, tls: nginx.tls(), ..request(format!("https://localhost:{}/", nginx.http)) };
    let e = failure(&net, refused).await;
    assert!(matches!(e, HttpError::Tunnel(403)), "{e:?}");
    assert_eq!(e.module_code(), 601);
}

#[tokio::test]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_net_redirect_takes_an_ip_literal_url_to_the_test_server() {
    let (server, nginx) = (Embedded::start(None).await, nginx());
    let https = SocketAddr::from(([127, 0, 0, 1], nginx.https));
    let net = Net::new(NetConfig::redirecting(vec![
        Redirect::new(SAMPLE_SERVER, Some(80), server.server.addr()),
        Redirect::new(SAMPLE_SERVER, Some(443), https),
    ]));
    let r = ok(&net, request(format!("{SAMPLE_SERVER}/bytes-4097.bin"))).await;
    assert_body(&r, &all_bytes(4097), "the notes' address, port 80");
    // HTTPS to the address itself: nginx's certificate names it, so verification holds.
    let tls = HttpRequest {
        tls: nginx.tls(),
        ..request(format!("https://{SAMPLE_SERVER}/{}/bytes-256.bin", nginx.folder()))
    };
    assert_body(&ok(&net, tls).await, &all_bytes(256), "the notes' address, port 443");
}

// ---------------------------------------------------------------------------------------------
// What goes on the wire, and what comes back

#[tokio::test]
async fn the_request_on_the_wire() {
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
    let (addr, server) = raw_server(reply.clone()).await;
    let get = HttpRequest {
        range: Some((2000, None)),
        user_data: "Authorization: Bearer abc\r\nX-Device: 42".into(),
        ..request(format!("{addr}/a b/c?d=1#frag"))
    };
    assert_eq!(ok(&Net::default(), get).await.body, b"ok");
    let sent = String::from_utf8(server.await.expect("the raw server")).expect("ASCII");
    assert!(sent.starts_with("GET /a%20b/c?d=1 HTTP/1.1\r\n"), "{sent}");
    for line in [
        format!("Host: {addr}"),
        "User-Agent: SIMCom_MODULE".into(),
        "Range: bytes=2000-".into(),
        "Authorization: Bearer abc".into(),
        "X-Device: 42".into(),
    ] {
        assert!(sent.contains(&format!("\r\n{line}\r\n")), "{line:?} in {sent}");
    }

    let (addr, server) = raw_server(reply.clone()).await;
    let post = HttpRequest {
        method: HttpMethod::Post,
        content_type: Some("text/plain".into()),
        body: b"temp=21.5".to_vec(),
        user_data: "User-Agent: my-firmware/1.0".into(),
        ..request(format!("http://{addr}/log"))
    };
    ok(&Net::default(), post).await;
    let sent = String::from_utf8(server.await.expect("the raw server")).expect("ASCII");
    assert!(sent.starts_with("POST /log HTTP/1.1\r\n") && sent.ends_with("\r\n\r\ntemp=21.5"), "{sent}");
    assert!(sent.contains("\r\nContent-Type: text/plain\r\n") && sent.contains("\r\nContent-Length: 9\r\n"), "{sent}");
    assert!(sent.contains("\r\nUser-Agent: my-firmware/1.0\r\n") && !sent.contains("SIMCom_MODULE"), "{sent}");

    // Through a proxy: the absolute form, and the target's name is the proxy's to resolve.
    let (proxy, server) = raw_server(reply).await;
    let proxied = HttpRequest {
        method: HttpMethod::Delete,
        proxy: Some((proxy.ip().to_string(), proxy.port())),
        ..request("origin.invalid:8080/item/7")
    };
    ok(&Net::default(), proxied).await;
    let sent = String::from_utf8(server.await.expect("the raw server")).expect("ASCII");
    assert!(sent.starts_with("DELETE http://origin.invalid:8080/item/7 HTTP/1.1\r\n"), "{sent}");
    assert!(sent.contains("\r\nHost: origin.invalid:8080\r\n"), "{sent}");
}

#[tokio::test]
async fn a_body_beyond_the_buffer_is_cut_and_still_counted() {
    let server = Embedded::start(None).await;
    let progress = HttpProgress::default();
    let req = HttpRequest {
        body_limit: SIM800_BUFFER,
        progress: Some(progress.clone()),
        ..request(server.url("bytes-1048576.bin"))
    };
    let r = ok(&Net::default(), req).await;
    let data = all_bytes(1 << 20);
    assert_eq!((r.status, r.length), (200, 1 << 20));
    assert_eq!(sha256(&r.body), sha256(&data[..SIM800_BUFFER]), "the first {SIM800_BUFFER} bytes are kept");
    assert_eq!((progress.received.get(), progress.total.get()), (1 << 20, 1 << 20));
}

#[tokio::test]
async fn the_embedded_server_stores_puts() {
    let server = Embedded::start(None).await;
    let addr = server.server.addr();
    let data = all_bytes(70_000);
    let mut put = format!(
        "PUT /up/load/new.bin HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        data.len()
    )
    .into_bytes();
    put.extend_from_slice(&data);
    let answer = |request: Vec<u8>| async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        conn.write_all(&request).await.expect("send");
        let mut reply = Vec::new();
        tokio::time::timeout(RAW_LIMIT, conn.read_to_end(&mut reply)).await.expect("in time").expect("read");
        String::from_utf8_lossy(&reply).into_owned()
    };
    assert!(answer(put.clone()).await.starts_with("HTTP/1.1 201 "), "a new file");
    assert!(answer(put).await.starts_with("HTTP/1.1 204 "), "a replaced file");
    assert_eq!(sha256(&std::fs::read(server.dir.path().join("up/load/new.bin")).expect("stored")), sha256(&data));
    let escape =
        format!("PUT /../escape.bin HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
    assert!(!answer(escape.into_bytes()).await.starts_with("HTTP/1.1 2"), "no way out of the folder");
    assert!(!server.dir.path().parent().map(|p| p.join("escape.bin")).is_some_and(|p| p.exists()));
    // What was stored is served back.
    let r = ok(&Net::default(), request(server.url("up/load/new.bin"))).await;
    assert_body(&r, &data, "the stored file");
}
