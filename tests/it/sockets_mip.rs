//! The Fibocom L610's sockets end to end: RT-Thread's L610 driver (RTT-L610,
//! `class/l610/at_device_l610.c` and `at_socket_l610.c`) replayed against a real modem on an
//! in-process line, with the in-process echo peer (TCP, TLS with the test CA, UDP) on the far
//! side. The host here works as RT-Thread's `at_client` does: it sends one command at a time,
//! reads lines that end at CR LF (or at the end sign `>` while `AT+MIPSEND` waits for its
//! prompt), counts them as the driver asks (4 lines for `AT+MIPOPEN=`, 2 for the prompt), takes
//! the lines of the driver's URC table (`+MIPPUSH: `, `+MIPCLOSE: `, `+MIPREAD: `,
//! `+MIPDATA: `) wherever they come, and reads the raw bytes after `+MIPDATA: <id>,<len>`.
//! Where RT-Thread's URC handler sends `AT+MIPREAD` from its parser thread, this host sends it
//! once the command in flight has ended, which is when RT-Thread's client lock lets it go.
//!
//! What is checked: 4 MiB each way through one socket by SHA-256, six sockets at once (TCP,
//! UDP, TLS), the pushed receive formats other L610 hosts use (`IPRFMT` 2 raw, 0 hex), and TLS
//! certificates checked as `AT+GTSSLMODE` says. Every wait is bounded.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::embedded::echo::EmbeddedEcho;
use vmodem::embedded::http::EmbeddedHttps;
use vmodem::family::Family;
use vmodem::modem::Modem;
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem::transport::{Link, Links};

use crate::support::pki::Pki;
use crate::support::rig::{pattern, sha256};

/// The longest any one wait lasts.
const WAIT: Duration = Duration::from_secs(30);
/// The most RT-Thread's driver sends with one `AT+MIPSEND` (`L610_MODULE_SEND_MAX_SIZE`).
const SEND_MAX: usize = 2048;
/// How a pushed data frame starts.
const FRAME: &[u8] = b"+MIPRTCP: ";
/// The URC table of RT-Thread's L610 socket driver.
const URCS: [&str; 4] = ["+MIPPUSH: ", "+MIPCLOSE: ", "+MIPREAD: ", "+MIPDATA: "];

/// A modem and its peers for one test.
struct Setup {
    host: Rtt,
    echo: EmbeddedEcho,
    _tls_echo: EmbeddedEcho,
    ca_pem: String,
    _modem: AbortOnDrop,
}

/// Stops the modem's task when the test ends, however it ends.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An L610 whose network sends `echo.test` (any port) to the echo peer and `tls.test:443` to
/// the TLS echo peer, whose certificate the test CA signed for `tls.test`.
async fn setup() -> Setup {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let echo = EmbeddedEcho::start(loopback, None).await.expect("the echo peer");
    let pki = Pki::new("vmodem L610 socket test CA");
    let dir = tempfile::tempdir().expect("a folder for the certificate");
    let (cert_pem, key_pem) = pki.server_for(&["tls.test"]);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, cert_pem).expect("the certificate");
    std::fs::write(&key, key_pem).expect("the key");
    let tls_echo = EmbeddedEcho::start(loopback, Some(&EmbeddedHttps { cert, key })).await.expect("the TLS peer");
    let redirects = vec![
        Redirect::new("echo.test", None, echo.tcp_addr()),
        Redirect::new("tls.test", Some(443), tls_echo.tcp_addr()),
    ];
    let module = ModuleConfig { family: Family::L610, ..ModuleConfig::default() };
    let dialect = dialect::build(std::sync::Arc::new(module)).expect("the L610 dialect");
    let (host, line) = tokio::io::duplex(1 << 16);
    let line: Link = Box::new(line);
    let modem = Modem::new(dialect, Net::new(NetConfig::redirecting(redirects)));
    let task = tokio::spawn(modem.run(Links::single(line)));
    Setup { host: Rtt::new(host), echo, _tls_echo: tls_echo, ca_pem: pki.ca_pem.clone(), _modem: AbortOnDrop(task) }
}

/// RT-Thread's `at_client` with the L610 socket driver's URC table: see the module docs.
struct Rtt {
    io: DuplexStream,
    buf: Vec<u8>,
    /// What each socket id received (`+MIPDATA`), by id.
    received: [Vec<u8>; 7],
    /// `+MIPPUSH: <id>,<result>` not yet waited for.
    pushes: VecDeque<(u8, u8)>,
    /// `+MIPCLOSE: <id>,<state>` not yet waited for.
    closes: VecDeque<(u8, u8)>,
    /// `+MIPREAD: <id>,<len>` notices the driver has yet to act on.
    to_read: VecDeque<(u8, usize)>,
    /// In a pushed receive format (`IPRFMT` 0 or 2): whether its data is hex.
    pushed: Option<bool>,
    /// The last command's response ended at its line count, before its final result: that
    /// result comes with no response pending, and RT-Thread's parser drops it.
    stale: bool,
}

impl Rtt {
    fn new(io: DuplexStream) -> Rtt {
        Rtt {
            io,
            buf: Vec::new(),
            received: Default::default(),
            pushes: VecDeque::new(),
            closes: VecDeque::new(),
            to_read: VecDeque::new(),
            pushed: None,
            stale: false,
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.expect("the modem takes bytes");
    }

    /// Reads more from the line; panics at `deadline` with `what` was awaited.
    async fn fill(&mut self, deadline: Instant, what: &str) {
        let mut chunk = [0u8; 16 * 1024];
        match timeout_at(deadline, self.io.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
            Ok(_) => panic!("{what}: the modem closed the line"),
            Err(_) => panic!("{what}: nothing within {WAIT:?}; unread: {:?}", String::from_utf8_lossy(&self.buf)),
        }
    }

    /// The next line: up to CR LF (without it), or up to and with `end_sign`; `+MIPRTCP`
    /// frames met on the way are taken ([`Rtt::next`]).
    async fn line(&mut self, end_sign: Option<u8>, deadline: Instant, what: &str) -> String {
        loop {
            if let Some(line) = self.next(end_sign, deadline, what).await {
                return line;
            }
        }
    }

    /// The next line, or `None` after a `+MIPRTCP` frame of a pushed format, whose data goes
    /// into what its socket received.
    async fn next(&mut self, end_sign: Option<u8>, deadline: Instant, what: &str) -> Option<String> {
        loop {
            if let Some(hex) = self.pushed
                && self.buf.starts_with(FRAME)
            {
                self.frame(hex, deadline).await;
                return None;
            }
            let end = self.buf.iter().enumerate().find_map(|(i, &b)| {
                let crlf = b == b'\n' && i > 0 && self.buf[i - 1] == b'\r';
                (crlf || Some(b) == end_sign).then_some(i)
            });
            if let Some(i) = end {
                let keep = if self.buf[i] == b'\n' { i - 1 } else { i + 1 };
                let line = String::from_utf8_lossy(&self.buf[..keep]).into_owned();
                self.buf.drain(..=i);
                return Some(line);
            }
            self.fill(deadline, what).await;
        }
    }

    /// A `+MIPRTCP: <id>,<len>,<data>` frame at the start of the buffer, read as the OneOS and
    /// fibocom-cellular-rs drivers read it: the length, then exactly that many bytes (or hex
    /// pairs), then CR LF.
    async fn frame(&mut self, hex: bool, deadline: Instant) {
        let comma = |buf: &[u8]| buf.iter().skip(FRAME.len()).filter(|&&b| b == b',').count() >= 2;
        while !comma(&self.buf) {
            self.fill(deadline, "a +MIPRTCP head").await;
        }
        let head_end = FRAME.len()
            + self.buf[FRAME.len()..].iter().enumerate().filter(|(_, b)| **b == b',').nth(1).map(|(i, _)| i).unwrap();
        let head = String::from_utf8_lossy(&self.buf[FRAME.len()..head_end]).into_owned();
        let (id, len) = two_numbers(&head);
        self.buf.drain(..=head_end);
        let body = self.raw(if hex { 2 * len } else { len } + 2, deadline, "+MIPRTCP data").await;
        assert!(body.ends_with(b"\r\n"), "a +MIPRTCP frame ends with CR LF");
        let body = &body[..body.len() - 2];
        let data: Vec<u8> = match hex {
            true => body.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect(),
            false => body.to_vec(),
        };
        self.received[id].extend_from_slice(&data);
    }

    /// `n` raw bytes.
    async fn raw(&mut self, n: usize, deadline: Instant, what: &str) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill(deadline, what).await;
        }
        self.buf.drain(..n).collect()
    }

    /// Handles `line` if it is in the URC table (reading the bytes after `+MIPDATA`).
    async fn urc(&mut self, line: &str, deadline: Instant) -> bool {
        let Some(prefix) = URCS.iter().find(|p| line.starts_with(**p)) else { return false };
        let (a, b) = two_numbers(&line[prefix.len()..]);
        match *prefix {
            "+MIPPUSH: " => self.pushes.push_back((a as u8, b as u8)),
            "+MIPCLOSE: " => self.closes.push_back((a as u8, b as u8)),
            "+MIPREAD: " => self.to_read.push_back((a as u8, b)),
            _ => {
                let data = self.raw(b, deadline, line).await;
                self.received[a].extend_from_slice(&data);
            }
        }
        true
    }

    /// `at_obj_exec_cmd`: sends `cmd`, collects its lines (empty ones too) until `OK`, an
    /// error, `line_num` lines, or (with `end_sign`) a line ending in it.
    async fn exec(&mut self, cmd: &str, line_num: usize, end_sign: Option<u8>) -> Result<Vec<String>, Vec<String>> {
        let deadline = Instant::now() + WAIT;
        while std::mem::take(&mut self.stale) {
            let line = self.line(None, deadline, "a dropped final result").await;
            self.stale = !self.urc(&line, deadline).await && line != "OK" && !line.contains("ERROR");
        }
        self.write(format!("{cmd}\r").as_bytes()).await;
        let mut lines = Vec::new();
        loop {
            let line = self.line(end_sign, deadline, cmd).await;
            if self.urc(&line, deadline).await {
                continue;
            }
            let ended = end_sign.is_some_and(|e| line.ends_with(char::from(e)));
            let error = line.contains("ERROR");
            lines.push(line);
            if error {
                return Err(lines);
            }
            let finished = lines.iter().any(|l| l == "OK");
            if (line_num == 0 && (finished || ended)) || lines.len() == line_num {
                self.stale = !finished && end_sign.is_none();
                return Ok(lines);
            }
        }
    }

    /// `at_resp_parse_line_args_by_kw`: the first line that contains `key`.
    fn find<'a>(lines: &'a [String], key: &str) -> Option<&'a str> {
        lines.iter().find(|l| l.contains(key)).map(String::as_str)
    }

    /// Reads the line with no command in flight, as RT-Thread's parser does, until `done`
    /// holds: URCs are handled, anything else is dropped.
    async fn idle_until(&mut self, what: &str, done: impl Fn(&Rtt) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            if let Some(line) = self.next(None, deadline, what).await {
                self.urc(&line, deadline).await;
            }
        }
    }

    /// The `AT+MIPREAD` the `+MIPREAD` notices ask for (RT-Thread's `urc_recv_cmd`).
    async fn serve_reads(&mut self) {
        while let Some((id, len)) = self.to_read.pop_front() {
            let cmd = format!("AT+MIPREAD={id},{len}");
            self.exec(&cmd, 0, None).await.unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
        }
    }

    /// The driver's start-up (`l610_init`): echo off, the SIM, registration, the signal, the
    /// receive format, and the call brought up for the operator it finds. The driver asks
    /// `AT+CSQ?`, which a real L610 answers; vmodem's L610 has only `AT+CSQ` so far, so that
    /// is sent instead.
    async fn init(&mut self) {
        let deadline = Instant::now() + WAIT;
        self.write(b"ATE0\r").await;
        while self.line(None, deadline, "ATE0").await != "OK" {}
        let ati = self.exec("ATI", 0, None).await.expect("ATI");
        assert_eq!(ati, ["", "Fibocom Wireless Inc.", "L610", "16000.1000.00.96.64.04", "", "OK"]);
        let cpin = self.exec("AT+CPIN?", 2, None).await.expect("AT+CPIN?");
        assert!(Rtt::find(&cpin, "READY").is_some(), "{cpin:?}");
        for reg in ["AT+CREG?", "AT+CGREG?"] {
            let lines = self.exec(reg, 0, None).await.expect(reg);
            assert!(lines.iter().any(|l| l.ends_with(": 0,1") || l.ends_with(": 0,5")), "{lines:?}");
        }
        let csq = self.exec("AT+CSQ", 0, None).await.expect("AT+CSQ");
        assert!(Rtt::find(&csq, "+CSQ:").is_some_and(|l| !l.ends_with("99,99")), "{csq:?}");
        self.exec("AT+GTSET=\"IPRFMT\",5", 2, None).await.expect("IPRFMT");
        let call = self.exec("AT+MIPCALL?", 0, None).await.expect("AT+MIPCALL?");
        assert_eq!(Rtt::find(&call, "+MIPCALL:"), Some("+MIPCALL: 0"));
        let cops = self.exec("AT+COPS?", 0, None).await.expect("AT+COPS?");
        let operator = Rtt::find(&cops, "+COPS:").and_then(|l| l.split('"').nth(1)).expect("an operator");
        let apn = match operator {
            "CHINA MOBILE" => "CMNET",
            "CHN-UNICOM" => "3GNET",
            _ => "CTNET",
        };
        self.exec(&format!("AT+MIPCALL=1,\"{apn}\""), 0, None).await.expect("AT+MIPCALL=1");
        // The call's URC comes with no response pending: RT-Thread's parser drops it, and
        // the driver asks with AT+MIPCALL? until the call is up.
        let deadline = Instant::now() + WAIT;
        while !self.line(None, deadline, "+MIPCALL: <ip>").await.starts_with("+MIPCALL: ") {}
        let call = self.exec("AT+MIPCALL?", 0, None).await.expect("AT+MIPCALL?");
        assert_eq!(Rtt::find(&call, "+MIPCALL:"), Some("+MIPCALL: 1,10.94.36.44"));
    }

    /// `l610_domain_resolve`: `AT+MIPDNS="<name>",2`, the address after the first comma.
    async fn resolve(&mut self, name: &str) -> String {
        let lines = self.exec(&format!("AT+MIPDNS=\"{name}\",2"), 0, None).await.expect("AT+MIPDNS");
        let line = Rtt::find(&lines, "+MIPDNS: ").expect("a +MIPDNS line");
        line.split(',').nth(1).expect("an address").to_string()
    }

    /// `l610_socket_connect`: the first free id from `AT+MIPOPEN?`, then
    /// `AT+MIPOPEN=<id>,,"<host>",<port>,<protocol>` and its four lines, the last
    /// `+MIPOPEN: <id>,1`. Returns the id.
    async fn connect(&mut self, host: &str, port: u16, protocol: u8) -> u8 {
        let free = self.exec("AT+MIPOPEN?", 0, None).await.expect("AT+MIPOPEN?");
        let line = Rtt::find(&free, "+MIPOPEN: ").expect("a +MIPOPEN line");
        let id: u8 = line["+MIPOPEN: ".len()..].split(',').next().and_then(|n| n.parse().ok()).expect("an id");
        let cmd = format!("AT+MIPOPEN={id},,\"{host}\",{port},{protocol}");
        let lines = self.exec(&cmd, 4, None).await.unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
        assert_eq!(lines, ["", "OK", "", &format!("+MIPOPEN: {id},1")], "{cmd}");
        id
    }

    /// `l610_socket_send`: 2048 bytes at most per `AT+MIPSEND`, each after its prompt, each
    /// waiting for `+MIPPUSH: <id>,0`; the reads asked for meanwhile are served in between.
    async fn send(&mut self, id: u8, data: &[u8]) {
        for chunk in data.chunks(SEND_MAX) {
            let cmd = format!("AT+MIPSEND={id},{}", chunk.len());
            // Two lines end the wait: the prompt's, or a URC's framing before it, as on
            // RT-Thread, whose parser counts empty lines; the module takes the bytes either way.
            self.exec(&cmd, 2, Some(b'>')).await.unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
            self.write(chunk).await;
            self.idle_until(&format!("+MIPPUSH: {id},"), |h| h.pushes.iter().any(|p| p.0 == id)).await;
            let at = self.pushes.iter().position(|p| p.0 == id).expect("the push");
            assert_eq!(self.pushes.remove(at), Some((id, 0)), "{cmd}");
            self.serve_reads().await;
        }
    }

    /// Serves reads until socket `id` has received `len` bytes in all.
    async fn receive(&mut self, id: u8, len: usize) {
        let deadline = Instant::now() + WAIT;
        while self.received[usize::from(id)].len() < len {
            self.serve_reads().await;
            if self.received[usize::from(id)].len() < len
                && self.to_read.is_empty()
                && let Some(line) = self.next(None, deadline, "more data").await
            {
                self.urc(&line, deadline).await;
            }
        }
    }

    /// `l610_socket_close`: `AT+MIPCLOSE=<id>`, then `+MIPCLOSE: <id>,0`.
    async fn close(&mut self, id: u8) {
        self.exec(&format!("AT+MIPCLOSE={id}"), 0, None).await.expect("AT+MIPCLOSE");
        self.idle_until("+MIPCLOSE", |h| h.closes.iter().any(|c| c.0 == id)).await;
        let at = self.closes.iter().position(|c| c.0 == id).expect("the close");
        assert_eq!(self.closes.remove(at), Some((id, 0)));
    }

    /// Loads the trusted CA with `AT+GTSSLFILE="TRUSTFILE",<len>` (as L610 hosts do) and
    /// turns certificate checks on.
    async fn trust(&mut self, pem: &[u8]) {
        self.exec("AT+GTSSLMODE=1", 0, None).await.expect("AT+GTSSLMODE");
        let cmd = format!("AT+GTSSLFILE=\"TRUSTFILE\",{}", pem.len());
        assert_eq!(self.exec(&cmd, 2, Some(b'>')).await.expect("the prompt"), ["", ">"]);
        self.write(pem).await;
        let deadline = Instant::now() + WAIT;
        while self.line(None, deadline, &cmd).await.trim() != "OK" {}
    }
}

/// The two numbers of `<a>,<b>`.
fn two_numbers(text: &str) -> (usize, usize) {
    let mut parts = text.split(',').map(|p| p.trim().parse::<usize>().expect("a number"));
    (parts.next().expect("a first number"), parts.next().expect("a second number"))
}

#[tokio::test]
async fn rt_thread_moves_4_mib_each_way_through_a_tcp_and_a_tls_socket() {
    let mut setup = setup().await;
    let port = setup.echo.tcp_addr().port();
    let host = &mut setup.host;
    host.init().await;
    let ip = host.resolve("echo.test").await;
    assert_eq!(ip, "127.0.0.1", "the redirect's address");
    let id = host.connect(&ip, port, 0).await;
    assert_eq!(id, 1);
    let data = pattern(4 << 20, 610);
    host.send(id, &data).await;
    host.receive(id, data.len()).await;
    assert_eq!(sha256(&host.received[1]), sha256(&data));
    host.close(id).await;
    let free = host.exec("AT+MIPOPEN?", 0, None).await.expect("AT+MIPOPEN?");
    assert_eq!(Rtt::find(&free, "+MIPOPEN:"), Some("+MIPOPEN: 1,2,3,4,5,6"));
    host.received[usize::from(id)].clear();
    host.trust(setup.ca_pem.as_bytes()).await;
    let id = host.connect("tls.test", 443, 2).await;
    let data = pattern(4 << 20, 611);
    host.send(id, &data).await;
    host.receive(id, data.len()).await;
    assert_eq!(sha256(&host.received[usize::from(id)]), sha256(&data), "4 MiB through TLS");
    host.close(id).await;
}

#[tokio::test]
async fn rt_thread_runs_six_sockets_at_once() {
    let mut setup = setup().await;
    let port = setup.echo.tcp_addr().port();
    let host = &mut setup.host;
    host.init().await;
    host.trust(setup.ca_pem.as_bytes()).await;
    let mut ids = Vec::new();
    for protocol in [0, 0, 0, 0, 1] {
        ids.push(host.connect("echo.test", port, protocol).await);
    }
    ids.push(host.connect("tls.test", 443, 2).await);
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    let free = host.exec("AT+MIPOPEN?", 0, None).await.expect("AT+MIPOPEN?");
    assert_eq!(Rtt::find(&free, "+MIPOPEN:"), Some("+MIPOPEN: 0"), "none free");
    // Each socket's own bytes, sent in turns: 128 KiB by TCP and TLS, 64 datagrams by UDP.
    let sent: Vec<Vec<u8>> = ids.iter().map(|&id| pattern(128 << 10, u64::from(id))).collect();
    for round in 0..64 {
        for (&id, data) in ids.iter().zip(&sent) {
            host.send(id, &data[round * SEND_MAX..(round + 1) * SEND_MAX]).await;
        }
    }
    for (&id, data) in ids.iter().zip(&sent) {
        host.receive(id, data.len()).await;
        assert_eq!(sha256(&host.received[usize::from(id)]), sha256(data), "socket {id}");
    }
    for &id in &ids {
        host.close(id).await;
    }
}

#[tokio::test]
async fn the_pushed_formats_carry_the_bytes_raw_and_in_hex() {
    let mut setup = setup().await;
    let port = setup.echo.tcp_addr().port();
    let host = &mut setup.host;
    host.init().await;
    for (format, seed) in [(2, 2u64), (0, 0)] {
        host.exec(&format!("AT+GTSET=\"IPRFMT\",{format}"), 0, None).await.expect("IPRFMT");
        host.pushed = Some(format == 0);
        let id = host.connect("echo.test", port, 0).await;
        let data = pattern(256 << 10, seed);
        host.send(id, &data).await;
        host.receive(id, data.len()).await;
        let back = std::mem::take(&mut host.received[usize::from(id)]);
        assert_eq!(sha256(&back), sha256(&data), "IPRFMT {format}");
        host.close(id).await;
    }
}

#[tokio::test]
async fn tls_sockets_check_the_certificate_as_told() {
    let mut setup = setup().await;
    let host = &mut setup.host;
    host.init().await;
    // Checks on, no CA loaded: the session cannot be made.
    host.exec("AT+GTSSLMODE=1", 0, None).await.expect("AT+GTSSLMODE");
    let cmd = "AT+MIPOPEN=1,,\"tls.test\",443,2";
    let lines = host.exec(cmd, 4, None).await.expect(cmd);
    assert_eq!(lines, ["", "OK", "", "+MIPSTAT: 1,1"]);
    let err = host.exec("AT+GTSSLERR?", 0, None).await.expect("AT+GTSSLERR?");
    assert_eq!(Rtt::find(&err, "+GTSSLERR:"), Some("+GTSSLERR: -12"));
    // Another CA: the server's certificate is refused.
    let other = Pki::new("some other CA");
    host.trust(other.ca_pem.as_bytes()).await;
    let lines = host.exec(cmd, 4, None).await.expect(cmd);
    assert_eq!(lines, ["", "OK", "", "+MIPSTAT: 1,1"]);
    let err = host.exec("AT+GTSSLERR?", 0, None).await.expect("AT+GTSSLERR?");
    assert_eq!(Rtt::find(&err, "+GTSSLERR:"), Some("+GTSSLERR: -11"));
    // The test CA too: the handshake succeeds, and bytes go both ways.
    host.trust(setup.ca_pem.as_bytes()).await;
    let id = host.connect("tls.test", 443, 2).await;
    let err = host.exec("AT+GTSSLERR?", 0, None).await.expect("AT+GTSSLERR?");
    assert_eq!(Rtt::find(&err, "+GTSSLERR:"), Some("+GTSSLERR: 0"));
    let data = pattern(64 << 10, 443);
    host.send(id, &data).await;
    host.receive(id, data.len()).await;
    assert_eq!(sha256(&host.received[usize::from(id)]), sha256(&data));
    host.close(id).await;
}
