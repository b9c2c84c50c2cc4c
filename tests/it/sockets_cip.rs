//! The SIM800, SIM900 and SIM7000 sockets (`AT+CIPSTART` ...) end to end, driven as TinyGSM
//! drives them (vshymanskyy/TinyGSM, `src/TinyGsmClientSIM800.h`, `TinyGsmClientSIM7000.h`,
//! `TinyGsmTCP.tpp`, `TinyGsmModem.tpp`): a host that writes `AT<cmd>\r\n` and waits, byte by
//! byte, for the end of the stream to match what it expects (`OK\r\n`, `CONNECT OK\r\n`, `>`,
//! `\r\nDATA ACCEPT:`), taking `+CIPRXGET: 1,<n>` and `<n>, CLOSED` as URCs on the way. Per
//! family: restart and init, gprsConnect, a client's connect, write, reads through
//! `AT+CIPRXGET`, stop and gprsDisconnect against the in-process echo peer; 4 MiB each way
//! through one socket and four sockets at once, checked by SHA-256. On the SIM800 a TLS socket
//! (`AT+CIPSSL=1`) to the echo peer over TLS, its CA the module's trust store; against nginx
//! (scripts/test-servers.sh) a raw HTTP/1.1 request over TCP, and over TLS on its 8443.
//!
//! The host reads `+CIPRXGET:` answers by their mode, so a `+CIPRXGET: 1,<n>` URC that lands just
//! before one is taken for what it is (TinyGSM pull request 803 fixes that race in TinyGSM).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::embedded::echo::EmbeddedEcho;
use vmodem::embedded::http::EmbeddedHttps;
use vmodem::modem::Modem;
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem::transport::{Link, Links};

use crate::support::nginx::Nginx;
use crate::support::pki::Pki;
use crate::support::rig::{free_port, pattern, remote_client, sha256, trace};

/// The longest one test may run.
const TEST_LIMIT: Duration = Duration::from_secs(300);
/// The longest one wait for the modem may last (TinyGSM waits 75 s for a connection).
const WAIT: Duration = Duration::from_secs(75);
/// The most one `AT+CIPSEND` and one `AT+CIPRXGET=2` carry.
const CHUNK: usize = 1460;
/// The host name the clients connect to, sent to the test's peer.
const PEER: &str = "echo.example";
/// Its port.
const PEER_PORT: u16 = 7;

/// A TinyGSM-like host on a modem's line.
struct Tiny {
    io: DuplexStream,
    /// Bytes read from the line and not consumed.
    input: Vec<u8>,
    family: &'static str,
    /// `+CIPRXGET: 1,<n>` came for socket n.
    got_data: [bool; 8],
    /// `<n>, CLOSED` came for socket n.
    closed: [bool; 8],
    /// What the modem last said socket n holds (`sock_available`).
    waiting: [usize; 8],
    modem: tokio::task::JoinHandle<()>,
}

impl Drop for Tiny {
    fn drop(&mut self) {
        self.modem.abort();
    }
}

impl Tiny {
    /// A fresh `family` modem with `config` on `net`, and this host on its line.
    fn start(family: &'static str, mut config: ModuleConfig, net: Net) -> Tiny {
        trace();
        config.family = family.parse().expect("a family");
        let dialect = dialect::build(std::sync::Arc::new(config)).expect("the family's dialect");
        let (io, line) = tokio::io::duplex(1 << 16);
        let line: Link = Box::new(line);
        let task = tokio::spawn(Modem::new(dialect, net).run(Links::single(line)));
        Tiny { io, input: Vec::new(), family, got_data: [false; 8], closed: [false; 8], waiting: [0; 8], modem: task }
    }

    /// `sendAT`: `AT<cmd>` and CR LF.
    async fn send_at(&mut self, cmd: &str) {
        self.io.write_all(format!("AT{cmd}\r\n").as_bytes()).await.expect("the modem's line");
    }

    /// The next byte from the line, by `deadline`.
    async fn byte(&mut self, deadline: Instant, waiting_for: &str) -> u8 {
        match self.try_byte(deadline).await {
            Some(b) => b,
            None => panic!("{} sent nothing more while the host waited for {waiting_for:?}", self.family),
        }
    }

    /// The next byte from the line, or `None` at `deadline`.
    async fn try_byte(&mut self, deadline: Instant) -> Option<u8> {
        if self.input.is_empty() {
            let mut buf = vec![0u8; 64 * 1024];
            let n = match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                Ok(_) => panic!("the modem's line closed"),
                Err(_) => return None,
            };
            self.input.extend_from_slice(&buf[..n]);
        }
        Some(self.input.remove(0))
    }

    /// `waitResponse`: reads until what came ends with one of `patterns` (1-based index),
    /// taking the socket URCs on the way.
    async fn wait_response(&mut self, patterns: &[&str]) -> usize {
        let deadline = Instant::now() + WAIT;
        let what = patterns.join(" | ");
        let mut data = String::new();
        loop {
            let Some(b) = self.try_byte(deadline).await else {
                let tail: String = data.chars().rev().take(200).collect::<Vec<_>>().into_iter().rev().collect();
                panic!(
                    "{} sent nothing more while the host waited for {what:?}; the last it sent: {tail:?}",
                    self.family
                );
            };
            data.push(char::from(b));
            if let Some(i) = patterns.iter().position(|p| data.ends_with(p)) {
                return i + 1;
            }
            if data.ends_with("\r\n+CIPRXGET:") {
                self.cip_rxget_urc(deadline).await;
                data.clear();
            } else if data.ends_with("CLOSED\r\n") {
                let line = data.trim_end_matches("CLOSED\r\n");
                let line = line.rsplit("\r\n").next().unwrap_or("");
                let mux = line.split(',').next().and_then(|n| n.trim().parse::<usize>().ok()).unwrap_or(0);
                self.closed[mux] = true;
                data.clear();
            }
        }
    }

    /// The rest of a `+CIPRXGET: 1,<n>` URC whose start has been read.
    async fn cip_rxget_urc(&mut self, deadline: Instant) {
        let mode = self.int_before(b',', deadline).await;
        assert_eq!(mode, 1, "+CIPRXGET: {mode} where a URC was expected");
        let mux = self.int_before(b'\n', deadline).await;
        self.got_data[mux] = true;
    }

    /// `waitResponse()` for `OK`; panics on anything else.
    async fn ok(&mut self, cmd: &str) {
        self.send_at(cmd).await;
        assert_eq!(self.wait_response(&["OK\r\n", "ERROR\r\n"]).await, 1, "AT{cmd}");
    }

    /// `streamGetIntBefore`: the number before `end`.
    async fn int_before(&mut self, end: u8, deadline: Instant) -> usize {
        let mut text = String::new();
        loop {
            let b = self.byte(deadline, "a number").await;
            if b == end {
                return text.trim().parse().unwrap_or_else(|_| panic!("not a number: {text:?}"));
            }
            text.push(char::from(b));
        }
    }

    /// `streamSkipUntil`.
    async fn skip_until(&mut self, end: u8, deadline: Instant) {
        while self.byte(deadline, "a separator").await != end {}
    }

    /// `restart()`: `AT&W`, `AT+CFUN=0`, `AT+CFUN=1,1`; the family's last boot URC (where
    /// TinyGSM waits 3 s); then `init()`.
    async fn restart(&mut self) {
        self.ok("").await;
        self.ok("&W").await;
        self.ok("+CFUN=0").await;
        self.ok("+CFUN=1,1").await;
        let last = if self.family == "sim900" { "Call Ready\r\n" } else { "SMS Ready\r\n" };
        self.wait_response(&[last]).await;
        self.init().await;
    }

    /// `init()`: echo off, CMEE 0, network time, battery checks, the SIM.
    async fn init(&mut self) {
        self.ok("").await;
        self.ok("E0").await;
        self.ok("+CMEE=0").await;
        self.ok("+CLTS=1").await;
        self.ok("+CBATCHK=1").await;
        self.send_at("+CPIN?").await;
        assert_eq!(self.wait_response(&["READY", "ERROR\r\n"]).await, 1);
        self.wait_response(&["OK\r\n"]).await;
    }

    /// `gprsConnect(apn)`, as the family's client has it (`gprsDisconnect()` first).
    async fn gprs_connect(&mut self, apn: &str) {
        self.gprs_disconnect().await;
        self.ok("+SAPBR=3,1,\"Contype\",\"GPRS\"").await;
        self.ok(&format!("+SAPBR=3,1,\"APN\",\"{apn}\"")).await;
        self.ok(&format!("+CGDCONT=1,\"IP\",\"{apn}\"")).await;
        if self.family == "sim7000" {
            self.ok("+CGATT=1").await;
        }
        self.ok("+CGACT=1,1").await;
        self.ok("+SAPBR=1,1").await;
        self.ok("+SAPBR=2,1").await;
        if self.family != "sim7000" {
            self.ok("+CGATT=1").await;
        }
        self.ok("+CIPMUX=1").await;
        self.ok("+CIPQSEND=1").await;
        self.ok("+CIPRXGET=1").await;
        self.ok(&format!("+CSTT=\"{apn}\",\"\",\"\"")).await;
        self.ok("+CIICR").await;
        self.ok("+CIFSR;E0").await;
        if self.family != "sim7000" {
            self.ok("+CDNSCFG=\"8.8.8.8\",\"8.8.4.4\"").await;
        }
    }

    /// `gprsDisconnect()`: `AT+CIPSHUT` (its `SHUT OK` ends in `OK`), `AT+CGATT=0`.
    async fn gprs_disconnect(&mut self) {
        self.ok("+CIPSHUT").await;
        self.ok("+CGATT=0").await;
    }

    /// A client's `connect()`: `stop()` first, `AT+CIPSSL` on the SIM800, then
    /// `AT+CIPSTART`; whether `CONNECT OK` came.
    async fn connect(&mut self, mux: usize, host: &str, port: u16, ssl: bool) -> bool {
        self.stop(mux).await;
        if self.family == "sim800" {
            self.send_at(&format!("+CIPSSL={}", u8::from(ssl))).await;
            self.wait_response(&["OK\r\n", "ERROR\r\n"]).await;
        }
        self.closed[mux] = false;
        self.send_at(&format!("+CIPSTART={mux},\"TCP\",\"{host}\",{port}")).await;
        let patterns = ["CONNECT OK\r\n", "CONNECT FAIL\r\n", "ALREADY CONNECT\r\n", "ERROR\r\n", "CLOSE OK\r\n"];
        self.wait_response(&patterns).await == 1
    }

    /// A client's `stop()`: what the modem last said it holds is read and dropped, then
    /// `AT+CIPCLOSE=<mux>,1` (`AT+CIPCLOSE=<mux>` on the SIM7000), its answer ignored.
    async fn stop(&mut self, mux: usize) {
        while self.waiting[mux] > 0 {
            self.read(mux, CHUNK).await;
        }
        let close = if self.family == "sim7000" { format!("+CIPCLOSE={mux}") } else { format!("+CIPCLOSE={mux},1") };
        self.send_at(&close).await;
        self.wait_response(&["OK\r\n", "ERROR\r\n"]).await;
    }

    /// `modemSend`: `AT+CIPSEND=<mux>,<len>`, `>`, the bytes, `DATA ACCEPT:<mux>,<len>`;
    /// returns the length the modem accepted.
    async fn write(&mut self, mux: usize, data: &[u8]) -> usize {
        self.send_at(&format!("+CIPSEND={mux},{}", data.len())).await;
        assert_eq!(self.wait_response(&[">"]).await, 1);
        self.io.write_all(data).await.expect("the modem's line");
        assert_eq!(self.wait_response(&["\r\nDATA ACCEPT:", "SEND FAIL"]).await, 1, "a send on {mux}");
        let deadline = Instant::now() + WAIT;
        self.skip_until(b',', deadline).await;
        self.int_before(b'\n', deadline).await
    }

    /// `modemGetAvailable`: `AT+CIPRXGET=4,<mux>`; with nothing waiting, `AT+CIPSTATUS=<mux>`
    /// tells whether the socket is still connected.
    async fn available(&mut self, mux: usize) -> usize {
        self.send_at(&format!("+CIPRXGET=4,{mux}")).await;
        let deadline = Instant::now() + WAIT;
        self.answer_of_mode(4, deadline).await;
        self.skip_until(b',', deadline).await;
        let waiting = self.int_before(b'\n', deadline).await;
        self.wait_response(&["OK\r\n"]).await;
        self.waiting[mux] = waiting;
        waiting
    }

    /// `modemGetConnected`: `AT+CIPSTATUS=<mux>` reads `"CONNECTED"`.
    async fn connected(&mut self, mux: usize) -> bool {
        self.send_at(&format!("+CIPSTATUS={mux}")).await;
        self.wait_response(&["+CIPSTATUS"]).await;
        let states = [",\"CONNECTED\"", ",\"CLOSED\"", ",\"CLOSING\"", ",\"REMOTE CLOSING\"", ",\"INITIAL\""];
        let state = self.wait_response(&states).await;
        self.wait_response(&["OK\r\n"]).await;
        state == 1
    }

    /// `modemRead`: `AT+CIPRXGET=2,<mux>,<size>`; the bytes that follow
    /// `+CIPRXGET: 2,<mux>,<read>,<left>`.
    async fn read(&mut self, mux: usize, size: usize) -> Vec<u8> {
        self.send_at(&format!("+CIPRXGET=2,{mux},{size}")).await;
        let deadline = Instant::now() + WAIT;
        self.answer_of_mode(2, deadline).await;
        self.skip_until(b',', deadline).await;
        let read = self.int_before(b',', deadline).await;
        self.waiting[mux] = self.int_before(b'\n', deadline).await;
        let mut data = Vec::with_capacity(read);
        for _ in 0..read {
            data.push(self.byte(deadline, "the bytes read").await);
        }
        self.wait_response(&["OK\r\n"]).await;
        data
    }

    /// Waits for the `+CIPRXGET: <mode>,` that answers a read, taking URCs of mode 1 before it.
    async fn answer_of_mode(&mut self, mode: usize, deadline: Instant) {
        loop {
            self.wait_response(&["+CIPRXGET:"]).await;
            let got = self.int_before(b',', deadline).await;
            if got == mode {
                return;
            }
            assert_eq!(got, 1, "+CIPRXGET: {got} answered mode {mode}");
            let mux = self.int_before(b'\n', deadline).await;
            self.got_data[mux] = true;
        }
    }

    /// Reads from socket `mux` until at least `len` bytes have come (a read takes what is
    /// there, so it may bring more), each read as TinyGSM's `read()`
    /// (the available count, then reads of up to [`CHUNK`]).
    async fn read_exact(&mut self, mux: usize, len: usize) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            assert!(Instant::now() < deadline, "{len} bytes on {mux} did not come: {} did", out.len());
            let available = self.available(mux).await;
            if available == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            out.extend(self.read(mux, available.min(CHUNK)).await);
        }
        out
    }

    /// Sends `data` through socket `mux` and reads the echo of every chunk as it comes, as a
    /// client that writes and reads in turn; returns what came back.
    async fn round_trip(&mut self, mux: usize, data: &[u8]) -> Vec<u8> {
        let mut back = Vec::with_capacity(data.len());
        for chunk in data.chunks(CHUNK) {
            assert_eq!(self.write(mux, chunk).await, chunk.len());
            let available = self.available(mux).await;
            if available > 0 {
                back.extend(self.read(mux, available.min(CHUNK)).await);
            }
        }
        let rest = self.read_exact(mux, data.len() - back.len()).await;
        back.extend(rest);
        back
    }
}

/// A modem whose `echo.example:7` leads to `echo`, and `more` redirects besides.
fn net_to(echo: SocketAddr, more: Vec<Redirect>) -> Net {
    let mut redirects = vec![Redirect::new(PEER, Some(PEER_PORT), echo)];
    redirects.extend(more);
    Net::new(NetConfig::redirecting(redirects))
}

/// Runs a test within [`TEST_LIMIT`].
async fn bounded(test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test ran longer than {TEST_LIMIT:?}");
    }
}

/// TinyGSM's life of a client, then 4 MiB each way through one socket, then four sockets at
/// once, against the echo peer.
async fn tinygsm_against_the_echo_peer(family: &'static str) {
    bounded(async {
        let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), None).await.unwrap();
        let mut host = Tiny::start(family, ModuleConfig::default(), net_to(echo.tcp_addr(), Vec::new()));
        host.restart().await;
        host.gprs_connect("CMNET").await;

        // A client: connect, write, read what comes back, stop.
        assert!(host.connect(0, PEER, PEER_PORT, false).await, "{family}: connect");
        assert!(host.connected(0).await);
        assert_eq!(host.write(0, b"hello from TinyGSM").await, 18);
        assert_eq!(host.read_exact(0, 18).await, b"hello from TinyGSM");
        assert!(host.got_data[0], "{family}: +CIPRXGET: 1,0 announced the data");
        host.stop(0).await;
        assert!(!host.connected(0).await, "{family}: stopped");

        // 4 MiB each way through one socket.
        let data = pattern(4 << 20, 0x5150);
        assert!(host.connect(1, PEER, PEER_PORT, false).await);
        let back = host.round_trip(1, &data).await;
        assert_eq!(sha256(&back), sha256(&data), "{family}: 4 MiB echoed, by SHA-256");
        host.stop(1).await;

        // Four sockets at once, their bytes interleaved.
        let sent: Vec<Vec<u8>> = (0..4).map(|mux| pattern(64 * 1024, mux as u64)).collect();
        for mux in 0..4 {
            assert!(host.connect(mux, PEER, PEER_PORT, false).await, "{family}: socket {mux}");
        }
        let mut back = vec![Vec::new(); 4];
        for (i, chunks) in sent
            .iter()
            .map(|d| d.chunks(CHUNK).collect::<Vec<_>>())
            .enumerate()
            .flat_map(|(mux, c)| c.into_iter().enumerate().map(move |(i, chunk)| (i, (mux, chunk))))
        {
            let (mux, chunk) = chunks;
            assert_eq!(host.write(mux, chunk).await, chunk.len());
            if i % 4 == 3 {
                let available = host.available(mux).await;
                if available > 0 {
                    back[mux].extend(host.read(mux, available.min(CHUNK)).await);
                }
            }
        }
        for mux in 0..4 {
            let rest = host.read_exact(mux, sent[mux].len() - back[mux].len()).await;
            back[mux].extend(rest);
            assert_eq!(sha256(&back[mux]), sha256(&sent[mux]), "{family}: socket {mux} by SHA-256");
            host.stop(mux).await;
        }
        host.gprs_disconnect().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim800_tinygsm_client_4_mib_and_four_sockets_against_the_echo_peer() {
    tinygsm_against_the_echo_peer("sim800").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim900_tinygsm_client_4_mib_and_four_sockets_against_the_echo_peer() {
    tinygsm_against_the_echo_peer("sim900").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7000_tinygsm_client_4_mib_and_four_sockets_against_the_echo_peer() {
    tinygsm_against_the_echo_peer("sim7000").await;
}

/// A module configuration whose built-in trust store is the CA in `ca`.
fn trusting(ca: PathBuf) -> ModuleConfig {
    let mut config = ModuleConfig::default();
    config.http.trusted_ca = Some(ca);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim800_tls_socket_through_cipssl_to_the_echo_peer_over_tls() {
    bounded(async {
        let pki = Pki::new("vmodem socket test CA");
        let dir = tempfile::tempdir().unwrap();
        let (cert_pem, key_pem) = pki.server_for(&[PEER]);
        let (cert, key, ca) = (dir.path().join("cert.pem"), dir.path().join("key.pem"), dir.path().join("ca.pem"));
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        std::fs::write(&ca, &pki.ca_pem).unwrap();
        let tls = EmbeddedHttps { cert, key };
        let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), Some(&tls)).await.unwrap();
        let mut host = Tiny::start("sim800", trusting(ca), net_to(echo.tcp_addr(), Vec::new()));
        host.init().await;
        host.gprs_connect("CMNET").await;
        assert!(host.connect(0, PEER, PEER_PORT, true).await, "a TLS client (GsmClientSecureSim800)");
        let data = pattern(4 << 20, 0x7115);
        let back = host.round_trip(0, &data).await;
        assert_eq!(sha256(&back), sha256(&data), "4 MiB each way through TLS, by SHA-256");
        host.stop(0).await;
        // A plain client to the TLS peer connects; its bytes get a TLS alert and the peer goes.
        assert!(host.connect(1, PEER, PEER_PORT, false).await);
        host.write(1, b"plain text").await;
        let deadline = Instant::now() + WAIT;
        while !host.closed[1] {
            assert!(Instant::now() < deadline, "the TLS peer did not hang up on plain text");
            host.wait_response(&["CLOSED\r\n"]).await;
            host.closed[1] = true;
        }
        assert!(!host.connected(1).await);
    })
    .await;
}

/// Reads socket `mux` until the peer has closed it and nothing is left.
async fn read_to_close(host: &mut Tiny, mux: usize) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "the peer did not close after {} bytes", out.len());
        match host.available(mux).await {
            0 if !host.connected(mux).await => return out,
            0 => tokio::time::sleep(Duration::from_millis(2)).await,
            n => out.extend(host.read(mux, n.min(CHUNK)).await),
        }
    }
}

/// A raw HTTP/1.1 GET of `path` through socket 0 (`ssl`: TLS), the answer's status line and
/// body.
async fn raw_get(host: &mut Tiny, port: u16, ssl: bool, path: &str) -> (String, Vec<u8>) {
    assert!(host.connect(0, "localhost", port, ssl).await, "connect to nginx");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: TinyGSM\r\nConnection: close\r\n\r\n");
    assert_eq!(host.write(0, request.as_bytes()).await, request.len());
    let answer = read_to_close(host, 0).await;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("the end of the head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, answer[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn raw_http_1_1_to_nginx_over_tcp_and_over_tls_on_the_sim800() {
    bounded(async {
        let nginx = Nginx::start("sockets-cip-");
        let body = pattern(100 * 1024, 0x4177);
        nginx.write("socket.bin", &body);
        let path = format!("/{}/socket.bin", nginx.folder());
        let redirects = vec![
            Redirect::new("localhost", Some(80), nginx.http_addr()),
            Redirect::new("localhost", Some(443), nginx.https_addr()),
        ];
        let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), None).await.unwrap();
        let mut host = Tiny::start("sim800", trusting(nginx.ca.clone()), net_to(echo.tcp_addr(), redirects));
        host.init().await;
        host.gprs_connect("CMNET").await;
        let (status, got) = raw_get(&mut host, 80, false, &path).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(sha256(&got), sha256(&body), "100 KiB over TCP, by SHA-256");
        let (status, got) = raw_get(&mut host, 443, true, &path).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(sha256(&got), sha256(&body), "100 KiB over TLS (AT+CIPSSL=1), by SHA-256");
    })
    .await;
}

/// A server the host opens (`AT+CIPSERVER=1,<port>`) on loopback: a real client connects,
/// takes connection id 0 (`0, REMOTE IP: 127.0.0.1`), and the host echoes 1 MiB back to it
/// through `AT+CIPRXGET` and `AT+CIPSEND`, checked by SHA-256.
async fn a_server_echoes_a_remote_client(family: &'static str) {
    bounded(async {
        let mut host = Tiny::start(family, ModuleConfig::default(), Net::default());
        host.init().await;
        host.gprs_connect("CMNET").await;
        let port = free_port();
        host.ok(&format!("+CIPSERVER=1,{port}")).await;
        host.wait_response(&["SERVER OK\r\n"]).await;
        let data = pattern(1 << 20, 0x5e7e);
        let client = remote_client(port, data.clone());
        host.wait_response(&["0, REMOTE IP: 127.0.0.1\r\n"]).await;
        let mut echoed = 0;
        while echoed < data.len() {
            // A read may bring more than it waited for (what had come by then): back in sends of
            // at most a chunk.
            let got = host.read_exact(0, CHUNK.min(data.len() - echoed)).await;
            for piece in got.chunks(CHUNK) {
                assert_eq!(host.write(0, piece).await, piece.len());
            }
            echoed += got.len();
        }
        let (back, client) = client.await.expect("the client");
        assert_eq!(sha256(&back), sha256(&data), "{family}: 1 MiB through the server's client, by SHA-256");
        host.send_at("+CIPSERVER=0").await;
        host.wait_response(&["OK\r\n\r\nSERVER CLOSE\r\n"]).await;
        assert!(host.connected(0).await, "{family}: the client stays when the server closes");
        drop(client);
        host.wait_response(&["0, CLOSED\r\n"]).await;
        assert!(!host.connected(0).await, "{family}: the client hung up");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim800_server_echoes_a_remote_client() {
    a_server_echoes_a_remote_client("sim800").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7000_server_echoes_a_remote_client() {
    a_server_echoes_a_remote_client("sim7000").await;
}
