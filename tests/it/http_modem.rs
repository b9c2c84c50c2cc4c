//! HTTP through the modem, end to end: a host sends the SIM800 family's AT commands
//! (`AT+SAPBR`, `AT+HTTPINIT` ... `AT+HTTPTERM`) as the host libraries do, and the modem carries
//! them out against real servers: Debian's nginx over HTTP and HTTPS (with the test CA) and
//! tinyproxy as `scripts/test-servers.sh` starts them (ports, nginx's root and the CA come from
//! its servers.env; a missing file fails the test, it never skips), and the in-process
//! `vmodem::embedded::http` server.
//!
//! The host names a server as firmware does (`localhost`, the vendor notes' `112.74.93.163`, a
//! proxy at `10.0.0.172`); `vmodem::net::Redirect`s lead those to the loopback servers. Bodies
//! hold every byte value and are checked by SHA-256. Every wait is bounded: each AT exchange by
//! the host's wait, each test by [`TEST_LIMIT`].

use crate::support::{at_host, nginx, rig};

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use at_host::Final;
use nginx::Nginx;
use rig::{Rig, closed_port, launch, sha256, trace};
use tempfile::TempDir;
use vmodem::config::ModuleConfig;
use vmodem::embedded::http::{EmbeddedHttp, EmbeddedHttpConfig};
use vmodem::limits::Seconds;
use vmodem::net::{Direction, Fault, Net, NetConfig, Redirect, Role};

/// The longest one test may run.
const TEST_LIMIT: Duration = Duration::from_secs(180);
/// The vendor notes' server address, redirected to a loopback server.
const NOTES_SERVER: &str = "112.74.93.163";
/// The host name the tests give for nginx, redirected to it (see [`Setup::site`]).
const SITE: &str = "www.example.com";
/// The proxy the vendor notes name (`PROIP`, `PROPORT`), redirected to tinyproxy.
const NOTES_PROXY: &str = "10.0.0.172";
/// One mebibyte: the size of the big GET and POST.
const MIB: usize = 1 << 20;
/// The SIM800's HTTP buffer, the default of `[http] buffer`.
const SIM800_BUFFER: usize = 319_488;
/// A buffer raised for the 1 MiB transfers.
const BIG_BUFFER: usize = 2 << 20;
/// The files each server folder holds, by size: a small one, one beyond 64 KiB, and 1 MiB.
const SIZES: [usize; 3] = [1000, 65_536 + 17, MIB];
/// `AT+HTTPREAD=<start>,<size>` reads of this size (no divisor of the file sizes, no power
/// of two, so a misplaced chunk shows).
const READ_CHUNK: usize = 65_000;

// ---------------------------------------------------------------------------------------------
// Bodies

/// `n` bytes in which every 256-byte block holds every byte value, each block in an order of
/// its own (XOR with a key from its index and `seed`), so a chunk read from the wrong offset
/// changes the hash.
fn every_byte(n: usize, seed: u64) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let block = (i / 256) as u64 ^ seed;
            let key = (block.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8;
            (i as u8) ^ key
        })
        .collect()
}

/// The file of size `n` every server folder holds.
fn file_name(n: usize) -> String {
    format!("bytes-{n}.bin")
}

fn file(n: usize) -> Vec<u8> {
    every_byte(n, n as u64)
}

/// Writes the [`SIZES`] files into `dir`, world-readable (nginx's workers run as nobody).
fn write_files(dir: &Path) {
    for n in SIZES {
        let path = dir.join(file_name(n));
        std::fs::write(&path, file(n)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    }
}

// ---------------------------------------------------------------------------------------------
// The servers

/// nginx with this test's files.
fn nginx() -> Nginx {
    let nginx = Nginx::start("http-modem-");
    write_files(nginx.dir.path());
    nginx
}

impl Nginx {
    /// `/<folder>/<name>`: a file of this test's folder as nginx serves it.
    fn path(&self, name: &str) -> String {
        format!("/{}/{name}", self.folder())
    }

    /// Waits (up to 10 s) for an access-log line that holds every one of `parts`; nginx writes
    /// a request's line once it has sent the response, which may be a moment after the modem
    /// has it all.
    async fn logged(&self, parts: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(&self.access_log)
                .unwrap_or_else(|e| panic!("{}: {e}", self.access_log.display()));
            if let Some(line) = log.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.to_string();
            }
            assert!(tokio::time::Instant::now() < deadline, "no line with {parts:?} in {}", self.access_log.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The embedded server over a fresh folder holding the [`SIZES`] files.
struct Embedded {
    server: EmbeddedHttp,
    _dir: TempDir,
}

impl Embedded {
    async fn start() -> Embedded {
        trace();
        let dir = tempfile::tempdir().expect("a folder to serve");
        write_files(dir.path());
        let config = EmbeddedHttpConfig {
            root: dir.path().to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
        };
        let server = EmbeddedHttp::start(config).await.expect("the embedded HTTP server starts");
        Embedded { server, _dir: dir }
    }
}

// ---------------------------------------------------------------------------------------------
// The modem

/// How a test's modem is built.
struct Setup {
    family: &'static str,
    /// `[http] buffer`.
    buffer: usize,
    /// `[http] trusted_ca`.
    trusted_ca: Option<PathBuf>,
    redirects: Vec<Redirect>,
    faults: Vec<Fault>,
}

impl Setup {
    fn new(family: &'static str) -> Setup {
        Setup { family, buffer: SIM800_BUFFER, trusted_ca: None, redirects: Vec::new(), faults: Vec::new() }
    }

    fn buffer(self, buffer: usize) -> Setup {
        Setup { buffer, ..self }
    }

    fn trusting(self, ca: &Path) -> Setup {
        Setup { trusted_ca: Some(ca.to_path_buf()), ..self }
    }

    fn redirect(mut self, host: &str, port: Option<u16>, to: SocketAddr) -> Setup {
        self.redirects.push(Redirect::new(host, port, to));
        self
    }

    /// [`SITE`] leads to nginx: port 80 to its HTTP port, any other port to the same port on
    /// loopback (nginx's redirects name its own port, `http://www.example.com:8080/...`), so
    /// no request for the name ever leaves the machine.
    fn site(self, nginx: &Nginx) -> Setup {
        self.redirect(SITE, Some(80), nginx.http_addr()).redirect(SITE, None, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn fault(mut self, fault: Fault) -> Setup {
        self.faults.push(fault);
        self
    }

    /// Starts the modem and synchronises the host with it (echo off); no bearer yet.
    async fn start(self) -> Rig {
        let mut config = ModuleConfig::default();
        config.http.buffer = self.buffer;
        config.http.trusted_ca = self.trusted_ca;
        let net = Net::new(NetConfig::redirecting(self.redirects)).with_faults(self.faults);
        launch(self.family, config, net).await
    }

    /// Starts the modem and opens bearer 1 as the vendor notes do.
    async fn bearer(self) -> Rig {
        let mut rig = self.start().await;
        rig.bearer_up().await;
        rig
    }
}

/// `+HTTPACTION: <method>,<status>,<length>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Action {
    method: u8,
    status: u16,
    length: u64,
}

impl Rig {
    /// `+NAME: ` as this family prints it (the SIM900 leaves the space out).
    fn prefix(&self, name: &str) -> String {
        if self.family == "sim900" { format!("{name}:") } else { format!("{name}: ") }
    }

    /// The SAPBR bring-up of the vendor notes (AN900 §1.1).
    async fn bearer_up(&mut self) {
        self.ok("AT+SAPBR=3,1,\"Contype\",\"GPRS\"").await;
        self.ok("AT+SAPBR=3,1,\"APN\",\"CMNET\"").await;
        self.ok("AT+SAPBR=1,1").await;
    }

    /// `AT+HTTPINIT`, `CID` 1 and the URL.
    async fn init_http(&mut self, url: &str) {
        self.ok("AT+HTTPINIT").await;
        self.ok("AT+HTTPPARA=\"CID\",1").await;
        self.ok(&format!("AT+HTTPPARA=\"URL\",\"{url}\"")).await;
    }

    /// `AT+HTTPACTION=<method>`: `OK` with nothing before it (a URC that came first would be
    /// in the response), then the `+HTTPACTION` URC, parsed.
    async fn action(&mut self, method: u8) -> Action {
        let cmd = format!("AT+HTTPACTION={method}");
        let lines = self.ok(&cmd).await;
        assert!(lines.is_empty(), "{cmd} answered {lines:?} before OK");
        self.action_urc().await
    }

    /// The next `+HTTPACTION` URC, checked for this family's spelling and parsed.
    async fn action_urc(&mut self) -> Action {
        let urc = self.wait_urc("+HTTPACTION:").await;
        let fields = urc
            .strip_prefix(&self.prefix("+HTTPACTION"))
            .unwrap_or_else(|| panic!("{urc:?}: not as the {} prints it", self.family));
        let parts: Vec<&str> = fields.split(',').collect();
        let parse = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok()).unwrap_or_else(|| panic!("{urc:?}"));
        assert_eq!(parts.len(), 3, "{urc:?}");
        Action { method: parse(0) as u8, status: parse(1) as u16, length: parse(2) }
    }

    /// Reads `length` bytes of the buffer with `AT+HTTPREAD=<start>,<size>` reads of `chunk`,
    /// each answered `+HTTPREAD: <n>`, the bytes, `OK`.
    async fn read_chunks(&mut self, length: usize, chunk: usize) -> Vec<u8> {
        let header = self.prefix("+HTTPREAD");
        let mut out = Vec::with_capacity(length);
        while out.len() < length {
            let (start, size) = (out.len(), chunk.min(length - out.len()));
            let cmd = format!("AT+HTTPREAD={start},{size}");
            let n = self.read_block_after(&cmd, &header, &mut out).await.unwrap_or_else(|r| panic!("{cmd}: {r:?}"));
            assert_eq!(n, size, "{cmd}");
        }
        out
    }

    /// `AT+HTTPREAD`: the whole buffer.
    async fn read_all(&mut self) -> Vec<u8> {
        let header = self.prefix("+HTTPREAD");
        let mut out = Vec::new();
        self.read_block_after("AT+HTTPREAD", &header, &mut out).await.unwrap_or_else(|r| panic!("AT+HTTPREAD: {r:?}"));
        out
    }

    /// `AT+HTTPHEAD`: the last response's head, as text.
    async fn head(&mut self) -> String {
        let header = self.prefix("+HTTPHEAD");
        let mut out = Vec::new();
        self.read_block_after("AT+HTTPHEAD", &header, &mut out).await.unwrap_or_else(|r| panic!("AT+HTTPHEAD: {r:?}"));
        String::from_utf8(out).expect("a head in UTF-8")
    }

    /// A GET of `url` from `AT+HTTPINIT` to `AT+HTTPTERM`: its result and body.
    async fn get(&mut self, url: &str) -> (Action, Vec<u8>) {
        self.init_http(url).await;
        let action = self.action(0).await;
        let body = if action.status < 600 && action.length > 0 { self.read_all().await } else { Vec::new() };
        self.ok("AT+HTTPTERM").await;
        (action, body)
    }
}

/// A complete copy of file `n` came back with 200.
fn assert_file(action: Action, body: &[u8], n: usize, what: &str) {
    assert_eq!(action, Action { method: 0, status: 200, length: n as u64 }, "{what}");
    assert_eq!(body.len(), n, "{what}: bytes read");
    assert_eq!(sha256(body), sha256(&file(n)), "{what}: body by SHA-256");
}

/// The value of header `name` (any case) in a head as `AT+HTTPHEAD` prints it.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Runs a test within [`TEST_LIMIT`].
async fn bounded(test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test ran longer than {TEST_LIMIT:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. TinyGSM's bring-up, then Adafruit FONA's GET and POST of 1 MiB

/// TinyGSM's SIM800 bring-up (tests/transcripts/sim800/tinygsm_bringup.at: init(),
/// getModemInfo(), waitForNetwork(), getSignalQuality(), gprsConnect("CMNET"),
/// isGprsConnected()), checking each answer.
async fn tinygsm_bringup(m: &mut Rig) {
    m.ok("AT").await;
    m.ok("ATE0").await;
    m.ok("AT+CMEE=0").await;
    m.ok("AT+CLTS=1").await;
    m.ok("AT+CBATCHK=1").await;
    assert_eq!(m.ok("AT+CPIN?").await, ["+CPIN: READY"]);
    assert_eq!(m.ok("ATI").await, ["SIM800 R14.18"]);
    assert_eq!(m.ok("AT+CREG?").await, ["+CREG: 0,1"]);
    assert_eq!(m.ok("AT+CSQ").await, ["+CSQ: 27,99"]);
    assert!(m.command_until("AT+CIPSHUT", "SHUT OK").await.is_empty());
    m.ok("AT+CGATT=0").await;
    m.ok("AT+SAPBR=3,1,\"Contype\",\"GPRS\"").await;
    m.ok("AT+SAPBR=3,1,\"APN\",\"CMNET\"").await;
    m.ok("AT+CGDCONT=1,\"IP\",\"CMNET\"").await;
    m.ok("AT+CGACT=1,1").await;
    m.ok("AT+SAPBR=1,1").await;
    let sapbr = m.ok("AT+SAPBR=2,1").await;
    assert!(sapbr.len() == 1 && sapbr[0].starts_with("+SAPBR: 1,1,\"") && !sapbr[0].contains("0.0.0.0"), "{sapbr:?}");
    m.ok("AT+CGATT=1").await;
    m.ok("AT+CIPMUX=1").await;
    m.ok("AT+CIPQSEND=1").await;
    m.ok("AT+CIPRXGET=1").await;
    m.ok("AT+CSTT=\"CMNET\",\"\",\"\"").await;
    m.ok("AT+CIICR").await;
    let ip = m.ok("AT+CIFSR;E0").await;
    assert!(ip.len() == 1 && ip[0].parse::<std::net::Ipv4Addr>().is_ok(), "AT+CIFSR printed {ip:?}");
    m.ok("AT+CDNSCFG=\"8.8.8.8\",\"8.8.4.4\"").await;
    assert_eq!(m.ok("AT+CGATT?").await, ["+CGATT: 1"]);
    assert_eq!(m.ok("AT+CIFSR;E0").await, ip);
}

/// Adafruit FONA's HTTP GET (Adafruit_FONA::HTTP_GET_start: HTTP_initialize (AT+HTTPTERM
/// first, its ERROR ignored; AT+HTTPINIT; CID; UA "FONA"), the URL, AT+HTTPACTION=0 and the
/// wait for its URC), up to the URC.
async fn fona_get_start(m: &mut Rig, url: &str) -> Action {
    let term = m.command("AT+HTTPTERM").await;
    assert_eq!(term.result, Final::Error, "nothing to end yet: {term:?}");
    m.ok("AT+HTTPINIT").await;
    m.ok("AT+HTTPPARA=\"CID\",1").await;
    m.ok("AT+HTTPPARA=\"UA\",\"FONA\"").await;
    m.ok(&format!("AT+HTTPPARA=\"URL\",\"{url}\"")).await;
    m.action(0).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn tinygsm_bringup_then_fona_get_and_post_of_1_mib_by_hash() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800").buffer(BIG_BUFFER).site(&nginx).start().await;
        tinygsm_bringup(&mut m).await;

        // GET of 1 MiB, read in chunks, as FONA's HTTP_GET_start / readData / HTTP_GET_end.
        let path = nginx.path(&file_name(MIB));
        let got = fona_get_start(&mut m, &format!("{SITE}{path}")).await;
        assert_eq!(got, Action { method: 0, status: 200, length: MIB as u64 });
        let body = m.read_chunks(MIB, READ_CHUNK).await;
        assert_eq!(sha256(&body), sha256(&file(MIB)), "the 1 MiB GET by SHA-256");
        m.ok("AT+HTTPTERM").await;
        let log = nginx.logged(&[&format!("\"GET {path} HTTP/1.1\" 200 {MIB} "), "\"FONA\""]).await;
        assert!(log.ends_with("\"FONA\""), "the User-Agent FONA set: {log}");

        // POST of 1 MiB to nginx's echo, as FONA's HTTP_POST_start.
        let sent = every_byte(MIB, 0xF0AA);
        let term = m.command("AT+HTTPTERM").await;
        assert_eq!(term.result, Final::Error);
        m.ok("AT+HTTPINIT").await;
        m.ok("AT+HTTPPARA=\"CID\",1").await;
        m.ok("AT+HTTPPARA=\"UA\",\"FONA\"").await;
        // The query (which nginx's echo ignores) tells this run's request apart in the log.
        let echo = format!("/echo-post?from={}", nginx.path("").trim_matches('/'));
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{SITE}{echo}\"")).await;
        m.ok("AT+HTTPPARA=\"CONTENT\",\"application/octet-stream\"").await;
        m.send_data(&format!("AT+HTTPDATA={MIB},10000"), "DOWNLOAD", &sent)
            .await
            .unwrap_or_else(|r| panic!("AT+HTTPDATA: {r:?}"));
        let posted = m.action(1).await;
        assert_eq!(posted, Action { method: 1, status: 200, length: MIB as u64 });
        let echoed = m.read_all().await;
        assert_eq!(echoed.len(), MIB);
        assert_eq!(sha256(&echoed), sha256(&sent), "the 1 MiB POST echoed, by SHA-256");
        m.ok("AT+HTTPTERM").await;
        nginx.logged(&[&format!("\"POST {echo} HTTP/1.1\" 200 "), "\"FONA\""]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn the_default_buffer_refuses_1_mib_both_ways() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800").site(&nginx).bearer().await;
        let data = m.ok("AT+HTTPDATA=?").await;
        assert_eq!(data, [format!("+HTTPDATA: (1-{SIM800_BUFFER}),(1000-120000)")]);
        m.init_http(&format!("{SITE}{}", nginx.path(&file_name(MIB)))).await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 602, length: MIB as u64 }, "no memory");
        // Nothing of the response was kept.
        let mut none = Vec::new();
        let n = m.read_block_after("AT+HTTPREAD=0,100", "+HTTPREAD: ", &mut none).await.expect("a read");
        assert_eq!(n, 0);
        // A HEAD brings no body: the file's size is no matter for the buffer.
        assert_eq!(m.action(2).await, Action { method: 2, status: 200, length: 0 }, "HEAD of the 1 MiB file");
        assert_eq!(header(&m.head().await, "content-length"), Some("1048576"));
        m.error(&format!("AT+HTTPDATA={MIB},10000")).await;
        m.error(&format!("AT+HTTPDATA={},10000", SIM800_BUFFER + 1)).await;
        // The buffer's own size is fine, and the module goes on working.
        m.send_data(&format!("AT+HTTPDATA={SIM800_BUFFER},10000"), "DOWNLOAD", &every_byte(SIM800_BUFFER, 3))
            .await
            .expect("a body of the buffer's size");
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{SITE}{}\"", nginx.path(&file_name(65_553)))).await;
        let got = m.action(0).await;
        let body = m.read_chunks(65_553, READ_CHUNK).await;
        assert_file(got, &body, 65_553, "a GET that fits");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 2. HTTPS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn https_verifies_against_the_built_in_store() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800")
            .buffer(BIG_BUFFER)
            .trusting(&nginx.ca)
            .redirect(NOTES_SERVER, Some(443), nginx.https_addr())
            .bearer()
            .await;
        assert_eq!(m.ok("AT+HTTPSSL?").await, ["+HTTPSSL: 0"]);
        m.ok("AT+HTTPINIT").await;
        m.ok("AT+HTTPSSL=1").await;
        assert_eq!(m.ok("AT+HTTPSSL?").await, ["+HTTPSSL: 1"]);
        m.ok("AT+HTTPPARA=\"CID\",1").await;
        // By the name the certificate carries, on nginx's HTTPS port.
        let url = format!("localhost:{}{}", nginx.https, nginx.path(&file_name(MIB)));
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{url}\"")).await;
        let got = m.action(0).await;
        let body = m.read_chunks(MIB, READ_CHUNK).await;
        assert_file(got, &body, MIB, "HTTPS from localhost");
        // The notes' address on 443, which the certificate names too; `http://` is upgraded.
        let url = format!("http://{NOTES_SERVER}{}", nginx.path(&file_name(65_553)));
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{url}\"")).await;
        let got = m.action(0).await;
        let body = m.read_all().await;
        assert_file(got, &body, 65_553, "HTTPS from the notes' address");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn https_without_the_ca_is_605_unless_certificates_are_ignored() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800").redirect(NOTES_SERVER, Some(443), nginx.https_addr()).bearer().await;
        let url = format!("localhost:{}{}", nginx.https, nginx.path(&file_name(65_553)));
        m.init_http(&url).await;
        m.ok("AT+HTTPSSL=1").await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 605, length: 0 }, "no CA trusts nginx's certificate");
        assert_eq!(m.ok("AT+SSLOPT?").await, ["+SSLOPT: 0,0", "+SSLOPT: 1,0"]);
        m.ok("AT+SSLOPT=0,1").await;
        assert_eq!(m.ok("AT+SSLOPT?").await, ["+SSLOPT: 0,1", "+SSLOPT: 1,0"]);
        let got = m.action(0).await;
        let body = m.read_all().await;
        assert_file(got, &body, 65_553, "HTTPS with certificate checks off");
        // The notes' address, redirected, the same way.
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{NOTES_SERVER}{}\"", nginx.path(&file_name(1000)))).await;
        let got = m.action(0).await;
        let body = m.read_chunks(1000, 300).await;
        assert_file(got, &body, 1000, "HTTPS to the notes' address with checks off");
        // Checks back on: 605 again.
        m.ok("AT+SSLOPT=0,0").await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 605, length: 0 });
        // HTTPSSL=0 sends plain HTTP, even to the HTTPS port: nginx answers it with a 400,
        // which is a response like any other.
        m.ok("AT+HTTPSSL=0").await;
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{url}\"")).await;
        let plain = m.action(0).await;
        assert_eq!((plain.method, plain.status), (0, 400), "plain HTTP to the HTTPS port: {plain:?}");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 3. Proxy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn the_proxy_carries_http_and_https_when_the_direct_route_is_closed() {
    bounded(async {
        let nginx = nginx();
        let (_closed_socket, closed) = closed_port();
        let mut m = Setup::new("sim800")
            .trusting(&nginx.ca)
            .redirect(NOTES_PROXY, Some(80), SocketAddr::from(([127, 0, 0, 1], nginx.proxy)))
            // The modem's own route to nginx is closed: only tinyproxy reaches it.
            .redirect("localhost", Some(nginx.http), closed)
            .redirect("localhost", Some(nginx.https), closed)
            .bearer()
            .await;
        let url = format!("localhost:{}{}", nginx.http, nginx.path(&file_name(65_553)));
        m.init_http(&url).await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 601, length: 0 }, "the direct route is closed");
        m.ok(&format!("AT+HTTPPARA=\"PROIP\",\"{NOTES_PROXY}\"")).await;
        m.ok("AT+HTTPPARA=\"PROPORT\",80").await;
        let para = m.ok("AT+HTTPPARA?").await;
        assert!(
            para.contains(&format!("PROIP: {NOTES_PROXY}")) && para.contains(&"PROPORT: 80".to_string()),
            "{para:?}"
        );
        let got = m.action(0).await;
        let body = m.read_chunks(65_553, READ_CHUNK).await;
        assert_file(got, &body, 65_553, "HTTP through tinyproxy");
        // HTTPS through the proxy's CONNECT tunnel, verified against the built-in store.
        m.ok("AT+HTTPSSL=1").await;
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"localhost:{}{}\"", nginx.https, nginx.path(&file_name(1000)))).await;
        let got = m.action(0).await;
        let body = m.read_all().await;
        assert_file(got, &body, 1000, "HTTPS through tinyproxy");
        // A proxy that does not resolve is a DNS failure.
        m.ok("AT+HTTPPARA=\"PROIP\",\"proxy.invalid\"").await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 603, length: 0 });
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 4. Redirects

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn redir_0_reports_the_redirect_and_redir_1_follows_it() {
    bounded(async {
        let (nginx, embedded) = (nginx(), Embedded::start().await);
        let mut m =
            Setup::new("sim800").redirect(NOTES_SERVER, Some(80), embedded.server.addr()).site(&nginx).bearer().await;
        // nginx: /redirect is a 302 to /hello.txt.
        m.init_http(&format!("{SITE}/redirect")).await;
        let reported = m.action(0).await;
        assert_eq!((reported.method, reported.status), (0, 302), "REDIR 0 (the default)");
        let page = m.read_all().await;
        assert_eq!(page.len() as u64, reported.length, "the 302's own body");
        let head = m.head().await;
        assert!(head.starts_with("HTTP/1.1 302 "), "{head:?}");
        assert!(header(&head, "location").is_some_and(|l| l.ends_with("/hello.txt")), "{head:?}");
        m.ok("AT+HTTPPARA=\"REDIR\",1").await;
        let followed = m.action(0).await;
        assert_eq!(followed, Action { method: 0, status: 200, length: 17 });
        assert_eq!(m.read_all().await, b"hello from nginx\n");
        assert!(m.head().await.starts_with("HTTP/1.1 200 OK\r\n"), "the head is the final answer's");
        m.ok("AT+HTTPTERM").await;

        // The embedded server at the notes' address: /redirect/<path> is a 302 to /<path>.
        let url = format!("{NOTES_SERVER}/redirect/redirect/{}", file_name(65_553));
        m.init_http(&url).await;
        let reported = m.action(0).await;
        assert_eq!((reported.method, reported.status), (0, 302));
        assert_eq!(header(&m.head().await, "location"), Some(format!("/redirect/{}", file_name(65_553)).as_str()));
        m.ok("AT+HTTPPARA=\"REDIR\",1").await;
        let got = m.action(0).await;
        let body = m.read_chunks(65_553, READ_CHUNK).await;
        assert_file(got, &body, 65_553, "two hops followed");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 5. BREAK and BREAKEND

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn break_and_breakend_fetch_a_range() {
    bounded(async {
        let (nginx, embedded) = (nginx(), Embedded::start().await);
        let mut m =
            Setup::new("sim800").redirect(NOTES_SERVER, Some(80), embedded.server.addr()).site(&nginx).bearer().await;
        let data = file(65_553);
        for host in [SITE, NOTES_SERVER] {
            let path =
                if host == NOTES_SERVER { format!("/{}", file_name(65_553)) } else { nginx.path(&file_name(65_553)) };
            m.init_http(&format!("{host}{path}")).await;
            m.ok("AT+HTTPPARA=\"BREAK\",1000").await;
            m.ok("AT+HTTPPARA=\"BREAKEND\",1999").await;
            assert_eq!(m.action(0).await, Action { method: 0, status: 206, length: 1000 }, "{host}");
            assert_eq!(m.read_chunks(1000, 333).await, &data[1000..2000], "{host}: bytes 1000..=1999");
            let head = m.head().await;
            assert_eq!(header(&head, "content-range"), Some("bytes 1000-1999/65553"), "{host}: {head:?}");
            // BREAK alone: from there to the end (AN900 §2.6).
            m.ok("AT+HTTPPARA=\"BREAKEND\",0").await;
            m.ok("AT+HTTPPARA=\"BREAK\",2000").await;
            let tail = m.action(0).await;
            assert_eq!(tail, Action { method: 0, status: 206, length: 65_553 - 2000 }, "{host}");
            assert_eq!(sha256(&m.read_all().await), sha256(&data[2000..]), "{host}: the tail");
            m.ok("AT+HTTPTERM").await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 6. Errors and the head

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn without_a_bearer_the_action_is_601() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800").site(&nginx).start().await;
        assert_eq!(m.ok("AT+SAPBR=2,1").await, ["+SAPBR: 1,3,\"0.0.0.0\""]);
        m.init_http(&format!("{SITE}{}", nginx.path(&file_name(1000)))).await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 601, length: 0 }, "never opened");
        m.bearer_up().await;
        let got = m.action(0).await;
        let body = m.read_all().await;
        assert_file(got, &body, 1000, "with the bearer open");
        m.ok("AT+SAPBR=0,1").await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 601, length: 0 }, "closed again");
        // The other bearer profile: CID 2 was never opened.
        m.bearer_up().await;
        m.ok("AT+HTTPPARA=\"CID\",2").await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 601, length: 0 }, "CID 2");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolvable_names_are_603_and_refused_ports_601() {
    bounded(async {
        let (_closed_socket, closed) = closed_port();
        let mut m = Setup::new("sim800").bearer().await;
        m.init_http("x.invalid/file").await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 603, length: 0 });
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"http://127.0.0.1:{}/file\"", closed.port())).await;
        assert_eq!(m.action(0).await, Action { method: 0, status: 601, length: 0 });
        // A failed action leaves no head to print.
        m.error("AT+HTTPHEAD").await;
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn an_action_while_one_runs_is_604_and_the_first_completes() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800")
            .site(&nginx)
            .fault(Fault::Stall {
                on: Role::Control,
                direction: Direction::Down,
                after: 100,
                seconds: Seconds::of(2.0),
            })
            .bearer()
            .await;
        m.init_http(&format!("{SITE}{}", nginx.path(&file_name(65_553)))).await;
        assert!(m.ok("AT+HTTPACTION=0").await.is_empty());
        // The response stalls after 100 bytes for 2 s: meanwhile the stack is busy.
        let busy = m.ok("AT+HTTPACTION=2").await;
        assert!(busy.is_empty(), "{busy:?}");
        assert_eq!(m.action_urc().await, Action { method: 2, status: 604, length: 0 }, "stack busy");
        m.error("AT+HTTPREAD").await;
        m.error("AT+HTTPREAD=0,10").await;
        m.error("AT+HTTPHEAD").await;
        m.error("AT+HTTPDATA=10,1000").await;
        let status = m.ok("AT+HTTPSTATUS?").await;
        assert!(status.len() == 1 && status[0].starts_with("+HTTPSTATUS: GET,1,"), "running: {status:?}");
        // The first one completes, intact.
        let got = m.action_urc().await;
        let body = m.read_all().await;
        assert_file(got, &body, 65_553, "the action that was running");
        assert_eq!(m.ok("AT+HTTPSTATUS?").await, ["+HTTPSTATUS: GET,0,0,0"]);
        assert!(m.take_urcs().is_empty(), "no other URC");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_404_is_a_status_and_httphead_prints_the_head() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim800").site(&nginx).bearer().await;
        m.init_http(&format!("{SITE}{}", nginx.path("no-such-file"))).await;
        let missing = m.action(0).await;
        assert_eq!((missing.method, missing.status), (0, 404));
        assert!(missing.length > 0, "nginx's 404 page: {missing:?}");
        let page = m.read_all().await;
        assert_eq!(page.len() as u64, missing.length);
        assert!(String::from_utf8_lossy(&page).contains("404 Not Found"), "{page:?}");
        assert!(m.head().await.starts_with("HTTP/1.1 404 Not Found\r\n"));

        // A GET, then its head: +HTTPHEAD: <len>, the status line first, CRLF after each line.
        m.ok(&format!("AT+HTTPPARA=\"URL\",\"{SITE}{}\"", nginx.path(&file_name(1000)))).await;
        let got = m.action(0).await;
        assert_eq!(got, Action { method: 0, status: 200, length: 1000 });
        let mut head = Vec::new();
        let n = m.read_block_after("AT+HTTPHEAD", "+HTTPHEAD: ", &mut head).await.expect("the head");
        let head = String::from_utf8(head).expect("UTF-8");
        assert_eq!(n, head.len());
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
        assert!(head.ends_with("\r\n") && !head.ends_with("\r\n\r\n"), "{head:?}");
        assert_eq!(header(&head, "content-length"), Some("1000"), "{head:?}");
        assert!(header(&head, "server").is_some_and(|s| s.starts_with("nginx")), "{head:?}");
        // The body is still there after the head was read.
        assert_file(got, &m.read_all().await, 1000, "the body after AT+HTTPHEAD");
        // HEAD: length 0 in the URC, the head for AT+HTTPHEAD.
        let head_only = m.action(2).await;
        assert_eq!(head_only, Action { method: 2, status: 200, length: 0 });
        assert_eq!(header(&m.head().await, "content-length"), Some("1000"));
        m.ok("AT+HTTPTERM").await;
        m.error("AT+HTTPHEAD").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 7. SIM900 spelling

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim900_prints_its_urcs_and_reads_without_the_space() {
    bounded(async {
        let nginx = nginx();
        let mut m = Setup::new("sim900").site(&nginx).bearer().await;
        m.init_http(&format!("{SITE}{}", nginx.path(&file_name(65_553)))).await;
        assert!(m.ok("AT+HTTPACTION=0").await.is_empty());
        let urc = m.wait_urc("+HTTPACTION").await;
        assert_eq!(urc, "+HTTPACTION:0,200,65553", "the raw line");
        let mut body = Vec::new();
        let n = m.read_block_after("AT+HTTPREAD", "+HTTPREAD:", &mut body).await.expect("AT+HTTPREAD");
        assert_eq!(n, 65_553, "+HTTPREAD:<n> without a space");
        assert_eq!(sha256(&body), sha256(&file(65_553)));
        let mut part = Vec::new();
        let n = m.read_block_after("AT+HTTPREAD=65000,1000", "+HTTPREAD:", &mut part).await.expect("a part");
        assert_eq!((n, part.as_slice()), (553, &file(65_553)[65_000..]), "what the buffer holds of the range");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// 8. DELETE on the SIM7000, not on the SIM800

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim7000_sends_delete_and_sim800_refuses_method_3() {
    bounded(async {
        let (nginx, embedded) = (nginx(), Embedded::start().await);
        let mut m =
            Setup::new("sim7000").redirect(NOTES_SERVER, Some(80), embedded.server.addr()).site(&nginx).bearer().await;
        assert_eq!(m.ok("AT+HTTPACTION=?").await, ["+HTTPACTION: (0-3)"]);
        for url in [format!("{NOTES_SERVER}/{}", file_name(1000)), format!("{SITE}{}", nginx.path(&file_name(1000)))] {
            m.init_http(&url).await;
            let deleted = m.action(3).await;
            assert_eq!(deleted.method, 3, "{url}: {deleted:?}");
            assert!((200..600).contains(&deleted.status), "{url}: a status from the server: {deleted:?}");
            assert_eq!(m.ok("AT+HTTPSTATUS?").await, ["+HTTPSTATUS: DELETE,0,0,0"]);
            m.ok("AT+HTTPTERM").await;
        }
        nginx.logged(&[&format!("\"DELETE {} HTTP/1.1\"", nginx.path(&file_name(1000)))]).await;
        // The SIM7000 still GETs.
        let (got, body) = m.get(&format!("{NOTES_SERVER}/{}", file_name(1000))).await;
        assert_file(got, &body, 1000, "a SIM7000 GET");

        let mut m = Setup::new("sim800").site(&nginx).bearer().await;
        assert_eq!(m.ok("AT+HTTPACTION=?").await, ["+HTTPACTION: (0-2)"]);
        m.init_http(&format!("{SITE}{}", nginx.path(&file_name(1000)))).await;
        m.error("AT+HTTPACTION=3").await;
        assert!(m.next_urc(Duration::from_millis(500)).await.is_none(), "no action ran");
        m.ok("AT+HTTPTERM").await;
    })
    .await;
}
