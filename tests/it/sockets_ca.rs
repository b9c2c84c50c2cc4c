//! The SIM7080's and the SIM7000's application network sockets (`AT+CAOPEN` ...) driven the
//! way TinyGSM drives them: [`Tiny`] replays the command sequences and the byte matching of
//! TinyGSM's `TinyGsmClientSIM7080.h` and `TinyGsmClientSIM7000SSL.h` (restart, init,
//! gprsConnect, a client's connect, write, read and stop, its URC handling), against the
//! in-process echo peer (TCP, UDP, and TLS with a CA made for the test) and against nginx.
//! Bytes are checked by SHA-256: 4 MiB each way through one socket, plain and TLS, and
//! several sockets at once.

use std::net::SocketAddr;
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

/// How much one test may take at most (the 4 MiB runs included).
const TEST_LIMIT: Duration = Duration::from_secs(300);
/// The most one step may wait for a byte that must come.
const STEP: Duration = Duration::from_secs(30);
/// TinyGSM's receive FIFO (`TINY_GSM_RX_BUFFER`), as firmware that reads sockets sets it:
/// each `AT+CARECV` asks for at most this much.
const RX_BUFFER: usize = 1024;
/// What a TinyGSM client writes at once.
const WRITE: usize = 1024;
/// The echo peer's name for the modem (a redirect leads there).
const ECHO_HOST: &str = "echo.test";
/// Its port as the host names it.
const ECHO_PORT: u16 = 7;
/// The CA file in the module's `/customer/` folder.
const CA_FILE: &str = "ca.pem";

/// Which TinyGSM driver [`Tiny`] replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `TinyGsmClientSIM7080.h`.
    Sim7080,
    /// `TinyGsmClientSIM7000SSL.h`.
    Sim7000Ssl,
}

/// What TinyGSM knows of one socket (`GsmClient`'s fields).
#[derive(Debug, Default, Clone)]
struct Sock {
    available: usize,
    connected: bool,
    got_data: bool,
    /// The client's receive FIFO.
    rx: Vec<u8>,
    prev_check: Option<Instant>,
}

/// A TinyGSM modem object on the host end of the line.
struct Tiny {
    io: DuplexStream,
    /// Bytes read from the line and not yet consumed.
    pending: std::collections::VecDeque<u8>,
    driver: Driver,
    socks: Vec<Sock>,
    /// Unexpected resets seen (`SMS Ready` outside a restart).
    resets: usize,
}

impl Tiny {
    fn new(io: DuplexStream, driver: Driver) -> Tiny {
        let muxes = if driver == Driver::Sim7080 { 12 } else { 2 };
        Tiny { io, pending: Default::default(), driver, socks: vec![Sock::default(); muxes], resets: 0 }
    }

    /// `sendAT(...)`: `AT`, the command, CR LF.
    async fn send_at(&mut self, cmd: &str) {
        let line = format!("AT{cmd}\r\n");
        self.io.write_all(line.as_bytes()).await.expect("the modem takes the line");
    }

    /// One byte from the line, or `None` once `deadline` passed with nothing read; what was
    /// read already is given up to [`STEP`] after it, so no loop over a line that never goes
    /// quiet runs for ever.
    async fn byte(&mut self, deadline: Instant) -> Option<u8> {
        if !self.pending.is_empty() {
            return if Instant::now() < deadline + STEP { self.pending.pop_front() } else { None };
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                self.pending.extend(&buf[..n]);
                self.pending.pop_front()
            }
            Ok(_) => panic!("the modem hung up"),
            Err(_) => None,
        }
    }

    /// The next byte without taking it.
    async fn peek(&mut self, deadline: Instant) -> Option<u8> {
        let b = self.byte(deadline).await?;
        self.pending.push_front(b);
        Some(b)
    }

    /// `waitResponse(timeout, r1, ...)`: reads until what came ends with one of `wanted`
    /// (1-based index) or the time is up (0), handling URCs on the way as `handleURCs` does.
    async fn wait(&mut self, timeout: Duration, wanted: &[&str]) -> (usize, Vec<u8>) {
        let deadline = Instant::now() + timeout;
        let mut data = Vec::new();
        while let Some(b) = self.byte(deadline).await {
            // TinyGSM reads into an int8_t and skips what is not positive.
            if b == 0 || b > 127 {
                continue;
            }
            data.push(b);
            if let Some(i) = wanted.iter().position(|w| data.ends_with(w.as_bytes())) {
                return (i + 1, data);
            }
            if self.urc(&data).await {
                data.clear();
            }
        }
        (0, data)
    }

    /// `waitResponse()` for `OK` or `ERROR`: 1, 2, or 0 after `timeout`.
    async fn result(&mut self, timeout: Duration) -> usize {
        self.wait(timeout, &["OK\r\n", "ERROR\r\n"]).await.0
    }

    /// `handleURCs(data)` of both drivers.
    async fn urc(&mut self, data: &[u8]) -> bool {
        if data.ends_with(b"+CARECV:") {
            let mux = self.int_before(b',').await;
            let len = self.int_before(b'\n').await;
            if let Some(s) = self.sock(mux) {
                s.got_data = true;
                if (0..=1024).contains(&len) {
                    s.available = len as usize;
                }
            }
            true
        } else if data.ends_with(b"+CADATAIND:") {
            let mux = self.int_before(b'\n').await;
            if let Some(s) = self.sock(mux) {
                s.got_data = true;
            }
            true
        } else if data.ends_with(b"+CASTATE:") {
            let mux = self.int_before(b',').await;
            let state = self.int_before(b'\n').await;
            if let Some(s) = self.sock(mux).filter(|_| state != 1) {
                s.connected = false;
            }
            true
        } else if data.ends_with(b"\r\nSMS Ready\r\n") {
            self.resets += 1;
            true
        } else {
            false
        }
    }

    fn sock(&mut self, mux: i64) -> Option<&mut Sock> {
        usize::try_from(mux).ok().and_then(|m| self.socks.get_mut(m))
    }

    /// `streamGetIntBefore(c)`: up to 7 bytes until `c` (taken), as a number; -9999 if none.
    async fn int_before(&mut self, c: u8) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut text = Vec::new();
        while let Some(b) = self.byte(deadline).await {
            if b == c {
                break;
            }
            text.push(b);
            if text.len() >= 7 {
                return -9999;
            }
        }
        let text = String::from_utf8_lossy(&text);
        text.trim().parse().unwrap_or(if text.is_empty() { -9999 } else { 0 })
    }

    /// `streamSkipUntil(c)`.
    async fn skip_until(&mut self, c: u8) -> bool {
        let deadline = Instant::now() + Duration::from_secs(1);
        while let Some(b) = self.byte(deadline).await {
            if b == c {
                return true;
            }
        }
        false
    }

    /// Arduino's `Stream::parseInt()`: skips to the first digit or minus, reads the digits.
    async fn parse_int(&mut self) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(1);
        while let Some(b) = self.peek(deadline).await {
            if b.is_ascii_digit() || b == b'-' {
                break;
            }
            self.byte(deadline).await;
        }
        let (mut value, mut negative) = (0i64, false);
        while let Some(b) = self.peek(deadline).await {
            match b {
                b'-' if value == 0 => negative = true,
                b'0'..=b'9' => value = value * 10 + i64::from(b - b'0'),
                _ => break,
            }
            self.byte(deadline).await;
        }
        if negative { -value } else { value }
    }

    /// The `AT` loop both drivers start with: `AT` until `OK`, turning echo off when the
    /// echo comes back (`E0`), with TinyGSM's 100 ms pause between tries; within 10 s.
    async fn at_ok(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            self.send_at("").await;
            match self.wait(Duration::from_millis(200), &["OK\r\n", "ERROR\r\n", "AT"]).await.0 {
                1 => return true,
                3 => {
                    self.result(Duration::from_millis(200)).await;
                    self.send_at("E0").await;
                    self.result(Duration::from_secs(2)).await;
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// `init()`.
    async fn init(&mut self) -> bool {
        match self.driver {
            Driver::Sim7080 => {
                if !self.at_ok().await {
                    return false;
                }
            }
            Driver::Sim7000Ssl => {
                // testAT(): AT until OK, then E0 must answer OK.
                let start = Instant::now();
                loop {
                    self.send_at("").await;
                    if self.result(Duration::from_millis(200)).await == 1 {
                        break;
                    }
                    if start.elapsed() > Duration::from_secs(10) {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                self.send_at("E0").await;
                if self.result(Duration::from_secs(1)).await != 1 {
                    return false;
                }
            }
        }
        self.send_at("+CMEE=0").await;
        self.result(Duration::from_secs(1)).await;
        let name = format!("{} {}", self.info("+CGMI").await, self.info("+CGMM").await);
        assert!(name.starts_with("SIMCOM_Ltd SIMCOM_SIM70"), "getModemName(): {name}");
        self.send_at("+CLTS=1").await;
        if self.result(Duration::from_secs(10)).await != 1 {
            return false;
        }
        self.send_at("+CBATCHK=1").await;
        if self.result(Duration::from_secs(1)).await != 1 {
            return false;
        }
        self.send_at("+CPIN?").await;
        if self.wait(Duration::from_secs(1), &["+CPIN:", "ERROR\r\n"]).await.0 != 1 {
            return false;
        }
        let status =
            self.wait(Duration::from_secs(1), &["READY", "SIM PIN", "SIM PUK", "NOT INSERTED", "NOT READY"]).await.0;
        self.result(Duration::from_secs(1)).await;
        status == 1
    }

    /// A command's one information line, as `getModemManufacturer()` cleans it.
    async fn info(&mut self, cmd: &str) -> String {
        self.send_at(cmd).await;
        let (i, data) = self.wait(Duration::from_secs(1), &["OK\r\n", "ERROR\r\n"]).await;
        assert_eq!(i, 1, "AT{cmd}: {}", String::from_utf8_lossy(&data));
        String::from_utf8_lossy(&data).replace("\r\nOK\r\n", "").replace("\r\n", " ").trim().to_string()
    }

    /// `restart()`: the SIM7080's `AT+CREBOOT`, the SIM7000's `AT+CFUN=0` and
    /// `AT+CFUN=1,1`; then `SMS Ready` and `init()`.
    async fn restart(&mut self) -> bool {
        let mut ok = true;
        match self.driver {
            Driver::Sim7080 => {
                if !self.at_ok().await {
                    return false;
                }
                self.send_at("+CREBOOT").await;
                ok &= self.result(Duration::from_secs(1)).await == 1;
            }
            Driver::Sim7000Ssl => {
                self.send_at("E0").await;
                self.result(Duration::from_secs(1)).await;
                for cfun in ["+CFUN=0", "+CFUN=1,1"] {
                    self.send_at(cfun).await;
                    ok &= self.result(Duration::from_secs(10)).await == 1;
                }
            }
        }
        ok &= self.wait(Duration::from_secs(30), &["SMS Ready", "ERROR\r\n"]).await.0 == 1;
        ok && self.init().await
    }

    /// `gprsConnect(apn)`.
    async fn gprs_connect(&mut self, apn: &str) -> bool {
        // gprsDisconnect(): its failure on an idle module is ignored.
        self.send_at(if self.driver == Driver::Sim7080 { "+CNACT=0,0" } else { "+CNACT=0" }).await;
        if self.result(Duration::from_secs(60)).await == 1 {
            self.send_at("+CGATT=0").await;
            self.result(Duration::from_secs(60)).await;
        }
        self.send_at(&format!("+CGDCONT=1,\"IP\",\"{apn}\"")).await;
        self.result(Duration::from_secs(1)).await;
        self.send_at("+CGATT=1").await;
        if self.result(Duration::from_secs(60)).await != 1 {
            return false;
        }
        let (activate, active, inactive) = match self.driver {
            Driver::Sim7080 => {
                self.send_at("+CGNAPN").await;
                self.result(Duration::from_secs(1)).await;
                self.send_at(&format!("+CNCFG=0,1,\"{apn}\"")).await;
                ("+CNACT=0,1".to_string(), "\r\n+APP PDP: 0,ACTIVE", "\r\n+APP PDP: 0,DEACTIVE")
            }
            Driver::Sim7000Ssl => {
                self.send_at(&format!("+CNCFG=1,\"{apn}\"")).await;
                (format!("+CNACT=1,\"{apn}\""), "\r\n+APP PDP: ACTIVE", "\r\n+APP PDP: DEACTIVE")
            }
        };
        self.result(Duration::from_secs(1)).await;
        for _ in 0..5 {
            self.send_at(&activate).await;
            let res = self.wait(Duration::from_secs(60), &[active, inactive]).await.0;
            // The OK came before the URC: this waits out its second, as TinyGSM does.
            self.result(Duration::from_secs(1)).await;
            if res != 0 {
                return res == 1;
            }
        }
        false
    }

    /// A client's `stop()`: reads out what the modem holds, then `AT+CACLOSE`.
    async fn stop(&mut self, mux: usize) {
        let start = Instant::now();
        while self.socks[mux].available > 0 && start.elapsed() < Duration::from_secs(15) {
            self.socks[mux].rx.clear();
            let n = self.socks[mux].available.min(RX_BUFFER);
            self.modem_read(n, mux).await;
        }
        self.socks[mux].rx.clear();
        self.send_at(&format!("+CACLOSE={mux}")).await;
        self.socks[mux].connected = false;
        self.result(Duration::from_secs(3)).await;
    }

    /// A client's `connect(host, port)`: `stop()`, then `modemConnect()`; with `cert`, the
    /// secure client's certificate (`setCertificate()`).
    async fn connect(&mut self, mux: usize, host: &str, port: u16, ssl: bool, cert: Option<&str>) -> bool {
        self.stop(mux).await;
        self.socks[mux] = Sock::default();
        let timeout = Duration::from_secs(75);
        self.send_at(&format!("+CACID={mux}")).await;
        if self.result(timeout).await != 1 {
            return false;
        }
        if ssl {
            self.send_at("+CSSLCFG=\"sslversion\",0,3").await;
            if self.result(Duration::from_secs(5)).await != 1 {
                return false;
            }
        }
        let key = if self.driver == Driver::Sim7080 { "SSL" } else { "ssl" };
        self.send_at(&format!("+CASSLCFG={mux},{key},{}", u8::from(ssl))).await;
        self.result(Duration::from_secs(1)).await;
        if ssl {
            self.send_at("+CSSLCFG=\"ctxindex\",0").await;
            if self.wait(Duration::from_secs(5), &["+CSSLCFG:", "ERROR\r\n"]).await.0 != 1 {
                return false;
            }
            self.skip_until(b'\n').await;
            self.result(Duration::from_secs(1)).await;
            if let Some(cert) = cert {
                self.send_at(&format!("+CASSLCFG={mux},CACERT,\"{cert}\"")).await;
                if self.result(Duration::from_secs(5)).await != 1 {
                    return false;
                }
            }
            if self.driver == Driver::Sim7000Ssl {
                self.send_at(&format!("+CASSLCFG={mux},protocol,0")).await;
                self.result(Duration::from_secs(1)).await;
            }
            self.send_at(&format!("+CSSLCFG=\"sni\",0,\"{host}\"")).await;
            self.result(Duration::from_secs(1)).await;
        }
        match self.driver {
            Driver::Sim7080 => self.send_at(&format!("+CAOPEN={mux},0,\"TCP\",\"{host}\",{port}")).await,
            Driver::Sim7000Ssl => self.send_at(&format!("+CAOPEN={mux},\"{host}\",{port}")).await,
        }
        if self.wait(timeout, &["\r\n+CAOPEN:", "ERROR\r\n"]).await.0 != 1 {
            return false;
        }
        self.skip_until(b',').await;
        let res = self.int_before(b'\n').await;
        self.result(Duration::from_secs(1)).await;
        self.socks[mux].connected = res == 0;
        res == 0
    }

    /// `modemSend()`: the prompt, the bytes, then `OK` (SIM7080) or `+CASEND: <cid>,0,<len>`
    /// (SIM7000).
    async fn modem_send(&mut self, data: &[u8], mux: usize) -> usize {
        self.send_at(&format!("+CASEND={mux},{}", data.len())).await;
        if self.wait(Duration::from_secs(1), &[">", "ERROR\r\n"]).await.0 != 1 {
            return 0;
        }
        self.io.write_all(data).await.expect("the modem takes the bytes");
        match self.driver {
            Driver::Sim7080 => {
                if self.result(Duration::from_secs(1)).await != 1 {
                    return 0;
                }
                data.len()
            }
            Driver::Sim7000Ssl => {
                if self.wait(Duration::from_secs(1), &["\r\n+CASEND:", "ERROR\r\n"]).await.0 != 1 {
                    return 0;
                }
                self.skip_until(b',').await;
                if self.int_before(b',').await != 0 {
                    return 0;
                }
                usize::try_from(self.int_before(b'\n').await).unwrap_or(0)
            }
        }
    }

    /// `modemRead(size)`: `AT+CARECV=<mux>,<size>`, `+CARECV: <len>,` and the bytes into the
    /// FIFO, then `modemGetAvailable()`.
    async fn modem_read(&mut self, size: usize, mux: usize) -> usize {
        self.send_at(&format!("+CARECV={mux},{size}")).await;
        if self.wait(Duration::from_secs(1), &["+CARECV:", "ERROR\r\n"]).await.0 != 1 {
            return 0;
        }
        let len = self.parse_int().await;
        self.skip_until(b',').await;
        if len <= 0 {
            self.result(Duration::from_secs(1)).await;
            self.socks[mux].available = self.modem_get_available(mux).await;
            return 0;
        }
        let deadline = Instant::now() + STEP;
        for _ in 0..len {
            let b = self.byte(deadline).await.expect("the announced bytes come");
            self.socks[mux].rx.push(b);
        }
        self.result(Duration::from_secs(1)).await;
        self.socks[mux].available = self.modem_get_available(mux).await;
        len as usize
    }

    /// `modemGetAvailable()`: `AT+CARECV?` (the SIM7000 asks `AT+CASTATE?` first), then
    /// `modemGetConnected()`.
    async fn modem_get_available(&mut self, mux: usize) -> usize {
        if self.driver == Driver::Sim7000Ssl && !self.modem_get_connected(mux).await {
            return 0;
        }
        self.list("+CARECV", |s, v| s.available = v, |s| s.available = 0).await;
        self.modem_get_connected(mux).await;
        self.socks[mux].available
    }

    /// `modemGetConnected()`: `AT+CASTATE?`.
    async fn modem_get_connected(&mut self, mux: usize) -> bool {
        self.list("+CASTATE", |s, v| s.connected = v == 1, |s| s.connected = false).await;
        self.socks[mux].connected
    }

    /// The loop both read forms go through: one `<name>: <mux>,<value>` line per socket
    /// listed, those not listed reset, until `OK`.
    async fn list(&mut self, name: &str, set: fn(&mut Sock, usize), reset: fn(&mut Sock)) {
        self.send_at(&format!("{name}?")).await;
        let prefix = format!("{name}:");
        let count = self.socks.len();
        let mut mux_no = 0;
        while mux_no < count {
            match self.wait(Duration::from_secs(3), &[&prefix, "OK\r\n", "ERROR\r\n"]).await.0 {
                1 => {
                    let ret = self.int_before(b',').await;
                    let value = self.int_before(b'\n').await;
                    let ret = usize::try_from(ret).expect("a socket number");
                    if let Some(s) = self.socks.get_mut(ret) {
                        set(s, usize::try_from(value).unwrap_or(0));
                    }
                    for s in self.socks.iter_mut().take(ret).skip(mux_no) {
                        reset(s);
                    }
                    mux_no = mux_no.max(ret);
                }
                2 => {
                    for s in self.socks.iter_mut().skip(mux_no) {
                        reset(s);
                    }
                    return;
                }
                _ => return,
            }
            if mux_no == count - 1 {
                self.result(Duration::from_secs(1)).await;
            }
            mux_no += 1;
        }
    }

    /// `maintain()`: asks for the sockets' data if a URC said some came, then handles the
    /// URCs the line holds. (TinyGSM reads on for 15 ms after them; this stops once the line
    /// is quiet.)
    async fn maintain(&mut self) {
        let mut check = false;
        for s in &mut self.socks {
            check |= std::mem::take(&mut s.got_data);
        }
        if check {
            self.modem_get_available(0).await;
        }
        self.urcs(Duration::ZERO).await;
    }

    /// Handles the URCs that come within `first`, and those right behind them; a line cut
    /// short gets 15 ms to end.
    async fn urcs(&mut self, first: Duration) {
        let mut data = Vec::new();
        let mut deadline = Instant::now() + first;
        while let Some(b) = self.byte(deadline).await {
            if b != 0 && b <= 127 {
                data.push(b);
            }
            if self.urc(&data).await {
                data.clear();
            }
            let rest = if data.is_empty() { Duration::ZERO } else { Duration::from_millis(15) };
            deadline = Instant::now() + rest;
        }
    }

    /// What a host loop does between calls: waits up to 15 ms for a URC.
    async fn idle(&mut self) {
        self.urcs(Duration::from_millis(15)).await;
    }

    /// A client's `available()`.
    async fn available(&mut self, mux: usize) -> usize {
        if self.socks[mux].rx.is_empty() {
            self.poll_check(mux);
            self.maintain().await;
        }
        self.socks[mux].rx.len() + self.socks[mux].available
    }

    /// The clients' 500 ms check for data no URC announced.
    fn poll_check(&mut self, mux: usize) {
        let s = &mut self.socks[mux];
        if s.prev_check.is_none_or(|t| t.elapsed() > Duration::from_millis(500)) {
            s.got_data = true;
            s.prev_check = Some(Instant::now());
        }
    }

    /// A client's `read(buf, size)`.
    async fn read(&mut self, mux: usize, size: usize) -> Vec<u8> {
        self.maintain().await;
        let mut out = Vec::new();
        while out.len() < size {
            let rx = &mut self.socks[mux].rx;
            if !rx.is_empty() {
                let n = rx.len().min(size - out.len());
                out.extend(rx.drain(..n));
                continue;
            }
            self.poll_check(mux);
            self.maintain().await;
            let available = self.socks[mux].available;
            if available == 0 || self.modem_read(available.min(RX_BUFFER), mux).await == 0 {
                break;
            }
        }
        out
    }

    /// A client's `write(buf)`.
    async fn write(&mut self, mux: usize, data: &[u8]) -> usize {
        self.maintain().await;
        self.modem_send(data, mux).await
    }

    /// Writes `data` through socket `mux` in `WRITE` pieces while reading back what the echo
    /// peer returns, at most `window` bytes ahead; returns what came back.
    async fn echo(&mut self, mux: usize, data: &[u8], window: usize) -> Vec<u8> {
        let mut back = Vec::with_capacity(data.len());
        let mut sent = 0;
        let mut progress = Instant::now();
        while back.len() < data.len() {
            assert!(progress.elapsed() < STEP, "socket {mux}: stuck after {sent} sent, {} back", back.len());
            if sent < data.len() && sent - back.len() < window {
                let piece = &data[sent..data.len().min(sent + WRITE)];
                let n = self.write(mux, piece).await;
                assert_eq!(n, piece.len(), "socket {mux}: a write of {} bytes after {sent}", piece.len());
                sent += n;
                progress = Instant::now();
                continue;
            }
            if self.available(mux).await == 0 {
                self.idle().await;
                continue;
            }
            let got = self.read(mux, RX_BUFFER).await;
            if !got.is_empty() {
                progress = Instant::now();
            }
            back.extend(got);
        }
        back
    }

    /// Writes a file into the module's `/customer/` folder (`AT+CFSWFILE`) and converts it as a
    /// CA list (`AT+CSSLCFG="convert",2,...`), as the application notes do.
    async fn install_ca(&mut self, name: &str, pem: &[u8]) {
        for (cmd, wanted) in
            [("+CFSINIT", "OK\r\n"), (&format!("+CFSWFILE=3,\"{name}\",0,{},10000", pem.len()), "DOWNLOAD\r\n")]
        {
            self.send_at(cmd).await;
            assert_eq!(self.wait(STEP, &[wanted, "ERROR\r\n"]).await.0, 1, "AT{cmd}");
        }
        self.io.write_all(pem).await.expect("the modem takes the file");
        assert_eq!(self.result(STEP).await, 1, "the file is written");
        for cmd in ["+CFSTERM", &format!("+CSSLCFG=\"convert\",2,\"{name}\"")] {
            self.send_at(cmd).await;
            assert_eq!(self.result(STEP).await, 1, "AT{cmd}");
        }
    }
}

/// A running modem: its task, stopped when the test is done, and its file system's folder.
struct Running {
    task: tokio::task::JoinHandle<()>,
    _fs: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A modem of `family` whose network sends `redirects` where they say, on since before the
/// host looked (its boot URCs are read and dropped); the host end of its line.
async fn modem(family: &str, redirects: Vec<Redirect>) -> (DuplexStream, Running) {
    trace();
    let mut config = ModuleConfig { family: family.parse().expect("a family"), ..ModuleConfig::default() };
    let fs = tempfile::tempdir().expect("a folder for the module file system");
    config.fs.root = Some(fs.path().to_path_buf());
    let dialect = dialect::build(std::sync::Arc::new(config)).expect("the dialect");
    let (mut host, line) = tokio::io::duplex(1 << 16);
    let line: Link = Box::new(line);
    let net = Net::new(NetConfig::redirecting(redirects));
    let running = Running { task: tokio::spawn(Modem::new(dialect, net).run(Links::single(line))), _fs: fs };
    let mut boot = Vec::new();
    let deadline = Instant::now() + STEP;
    while !boot.ends_with(b"SMS Ready\r\n") {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout_at(deadline, host.read(&mut buf)).await;
        let n = read.expect("the boot URCs in time").expect("the line");
        boot.extend_from_slice(&buf[..n]);
    }
    (host, running)
}

/// The echo peer, with TLS (a certificate for [`ECHO_HOST`] from `pki`) if given; the
/// redirect that leads the modem there.
async fn echo_peer(pki: Option<&Pki>) -> (EmbeddedEcho, Redirect, Option<tempfile::TempDir>) {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let (tls, dir) = match pki {
        Some(pki) => {
            let dir = tempfile::tempdir().expect("a folder for the certificate");
            let (cert_pem, key_pem) = pki.server_for(&[ECHO_HOST]);
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert, cert_pem).expect("the certificate");
            std::fs::write(&key, key_pem).expect("the key");
            (Some(EmbeddedHttps { cert, key }), Some(dir))
        }
        None => (None, None),
    };
    let echo = EmbeddedEcho::start(loopback, tls.as_ref()).await.expect("the echo peer");
    let redirect = Redirect::new(ECHO_HOST, Some(ECHO_PORT), echo.tcp_addr());
    (echo, redirect, dir)
}

/// Runs `test` within [`TEST_LIMIT`].
async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, test).await.expect("the test ran too long");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tinygsm_sim7080_restart_and_init_complete() {
    bounded(async {
        let (io, _modem) = modem("sim7080", Vec::new()).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        let started = Instant::now();
        assert!(tiny.restart().await, "restart()");
        // A liveness bound only: the cost is measured by the benchmarks.
        assert!(started.elapsed() < Duration::from_secs(20), "restart() took {:?}", started.elapsed());
        assert_eq!(tiny.resets, 0, "no SMS Ready outside the restart");
        assert!(tiny.init().await, "init() again");
        assert!(tiny.gprs_connect("iot.apn").await, "gprsConnect()");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tinygsm_sim7080_moves_4_mib_each_way_through_a_socket() {
    bounded(async {
        let (_echo, redirect, _) = echo_peer(None).await;
        let (io, _modem) = modem("sim7080", vec![redirect]).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        assert!(tiny.init().await && tiny.gprs_connect("iot.apn").await);
        assert!(tiny.connect(0, ECHO_HOST, ECHO_PORT, false, None).await, "connect()");
        let data = pattern(4 << 20, 80);
        let back = tiny.echo(0, &data, 16 * 1024).await;
        assert_eq!(sha256(&back), sha256(&data));
        tiny.stop(0).await;
        assert!(!tiny.modem_get_connected(0).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tinygsm_sim7080_moves_4_mib_each_way_through_a_tls_socket() {
    bounded(async {
        let pki = Pki::new("vmodem CA socket test CA");
        let (_echo, redirect, _files) = echo_peer(Some(&pki)).await;
        let (io, _modem) = modem("sim7080", vec![redirect]).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        assert!(tiny.restart().await && tiny.gprs_connect("iot.apn").await);
        tiny.install_ca(CA_FILE, pki.ca_pem.as_bytes()).await;
        assert!(tiny.connect(1, ECHO_HOST, ECHO_PORT, true, Some(CA_FILE)).await, "connect() with TLS");
        let data = pattern(4 << 20, 81);
        let back = tiny.echo(1, &data, 16 * 1024).await;
        assert_eq!(sha256(&back), sha256(&data));
        tiny.stop(1).await;
        // Another CA: the certificate is refused, and the open says why it failed.
        tiny.install_ca("other.pem", Pki::new("vmodem other CA").ca_pem.as_bytes()).await;
        assert!(!tiny.connect(1, ECHO_HOST, ECHO_PORT, true, Some("other.pem")).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tinygsm_sim7000ssl_talks_tls_and_tcp_to_the_echo_peer() {
    bounded(async {
        let pki = Pki::new("vmodem SIM7000 socket test CA");
        let (_tls_echo, tls_redirect, _files) = echo_peer(Some(&pki)).await;
        let (_echo, redirect, _) = echo_peer(None).await;
        let plain = Redirect::new("plain.test", Some(ECHO_PORT), redirect_target(&redirect));
        let (io, _modem) = modem("sim7000", vec![tls_redirect, plain]).await;
        let mut tiny = Tiny::new(io, Driver::Sim7000Ssl);
        assert!(tiny.restart().await, "restart()");
        assert!(tiny.gprs_connect("iot.apn").await, "gprsConnect()");
        tiny.install_ca(CA_FILE, pki.ca_pem.as_bytes()).await;
        assert!(tiny.connect(0, ECHO_HOST, ECHO_PORT, true, Some(CA_FILE)).await, "connect() with TLS");
        assert!(tiny.connect(1, "plain.test", ECHO_PORT, false, None).await, "connect()");
        let (a, b) = (pattern(256 * 1024, 70), pattern(256 * 1024, 71));
        assert_eq!(sha256(&tiny.echo(0, &a, 8 * 1024).await), sha256(&a));
        assert_eq!(sha256(&tiny.echo(1, &b, 8 * 1024).await), sha256(&b));
        tiny.stop(0).await;
        tiny.stop(1).await;
        assert_eq!(tiny.resets, 0);
    })
    .await;
}

/// Where `redirect` sends the echo peer's port.
fn redirect_target(redirect: &Redirect) -> SocketAddr {
    redirect.apply(ECHO_HOST, ECHO_PORT).expect("the redirect names the echo peer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sockets_at_once_each_get_their_own_bytes_back() {
    bounded(async {
        let (_echo, redirect, _) = echo_peer(None).await;
        let (io, _modem) = modem("sim7080", vec![redirect]).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        assert!(tiny.init().await && tiny.gprs_connect("iot.apn").await);
        let muxes = [0usize, 3, 7, 11];
        for mux in muxes {
            assert!(tiny.connect(mux, ECHO_HOST, ECHO_PORT, false, None).await, "connect({mux})");
        }
        let data: Vec<Vec<u8>> = muxes.iter().map(|&m| pattern(64 * 1024, m as u64)).collect();
        // Everything is sent before anything is read back: each socket's bytes wait in its own
        // receive buffer.
        for (mux, data) in muxes.iter().zip(&data) {
            for piece in data.chunks(WRITE) {
                assert_eq!(tiny.write(*mux, piece).await, piece.len());
            }
        }
        for (mux, data) in muxes.iter().zip(&data) {
            let mut back = Vec::new();
            let deadline = Instant::now() + STEP;
            while back.len() < data.len() {
                assert!(Instant::now() < deadline, "socket {mux}: {} of {} back", back.len(), data.len());
                match tiny.available(*mux).await {
                    0 => tiny.idle().await,
                    _ => back.extend(tiny.read(*mux, RX_BUFFER).await),
                }
            }
            assert_eq!(sha256(&back), sha256(data), "socket {mux}");
        }
        for mux in muxes {
            tiny.stop(mux).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_udp_socket_sends_and_receives_whole_datagrams() {
    bounded(async {
        let (echo, _, _) = echo_peer(None).await;
        let udp = Redirect::new(ECHO_HOST, Some(ECHO_PORT), echo.udp_addr());
        let (io, _modem) = modem("sim7080", vec![udp]).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        assert!(tiny.init().await && tiny.gprs_connect("iot.apn").await);
        tiny.send_at(&format!("+CAOPEN=2,0,\"UDP\",\"{ECHO_HOST}\",{ECHO_PORT}")).await;
        let (i, data) = tiny.wait(STEP, &["OK\r\n", "ERROR\r\n"]).await;
        assert_eq!((i, String::from_utf8_lossy(&data).trim()), (1, "+CAOPEN: 2,0\r\n\r\nOK"));
        for len in [1, 100, 1460] {
            let datagram = pattern(len, len as u64);
            assert_eq!(tiny.modem_send(&datagram, 2).await, len);
            let deadline = Instant::now() + STEP;
            while tiny.socks[2].available == 0 {
                assert!(Instant::now() < deadline, "no +CADATAIND: 2 for the answer");
                tiny.idle().await;
                tiny.maintain().await;
            }
            assert_eq!(tiny.socks[2].available, len);
            assert_eq!(tiny.modem_read(1460, 2).await, len, "one datagram, whole");
            assert_eq!(std::mem::take(&mut tiny.socks[2].rx), datagram);
        }
        tiny.stop(2).await;
    })
    .await;
}

/// A raw HTTP/1.1 GET of `path` through socket 0, answered with the whole response once the
/// server closed it (`+CASTATE: 0,0`).
async fn http_get(tiny: &mut Tiny, host: &str, path: &str) -> Vec<u8> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    assert_eq!(tiny.write(0, request.as_bytes()).await, request.len());
    let mut response = Vec::new();
    let deadline = Instant::now() + STEP;
    while tiny.socks[0].connected || !tiny.socks[0].rx.is_empty() || tiny.socks[0].available > 0 {
        assert!(Instant::now() < deadline, "no end of the response after {} bytes", response.len());
        match tiny.available(0).await {
            0 => tiny.idle().await,
            _ => response.extend(tiny.read(0, RX_BUFFER).await),
        }
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_raw_http_request_to_nginx_over_tcp_and_over_tls() {
    bounded(async {
        let nginx = Nginx::start("sockets-ca-");
        let body = pattern(300 * 1024, 9);
        nginx.write("page.bin", &body);
        let dir = nginx.dir.path().file_name().and_then(|n| n.to_str()).expect("a folder name").to_string();
        let path = format!("/{dir}/page.bin");
        let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let redirects = vec![
            Redirect::new("localhost", Some(80), loopback(nginx.http)),
            Redirect::new("localhost", Some(443), loopback(nginx.https)),
        ];
        let (io, _modem) = modem("sim7080", redirects).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        assert!(tiny.init().await && tiny.gprs_connect("iot.apn").await);
        let ca = std::fs::read(&nginx.ca).expect("the test CA");
        tiny.install_ca(CA_FILE, &ca).await;
        for (port, ssl) in [(80, false), (443, true)] {
            assert!(tiny.connect(0, "localhost", port, ssl, ssl.then_some(CA_FILE)).await, "connect to {port}");
            let response = http_get(&mut tiny, "localhost", &path).await;
            let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
            let head = String::from_utf8_lossy(&response[..head_end]);
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert_eq!(sha256(&response[head_end..]), sha256(&body), "port {port}");
            tiny.stop(0).await;
        }
    })
    .await;
}

/// `AT+CASERVER` on loopback: a real client connects, takes id 1 (`+CANEW: 0,1,127.0.0.1,...`)
/// and the host echoes 1 MiB back to it through `AT+CARECV` and `AT+CASEND`, checked by
/// SHA-256; closing the server leaves the client connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoes_a_remote_client() {
    bounded(async {
        let (io, _modem) = modem("sim7080", Vec::new()).await;
        let mut tiny = Tiny::new(io, Driver::Sim7080);
        assert!(tiny.init().await && tiny.gprs_connect("iot.apn").await);
        let port = free_port();
        tiny.send_at(&format!("+CASERVER=0,0,\"TCP\",{port}")).await;
        let (i, said) = tiny.wait(STEP, &["OK\r\n", "ERROR\r\n"]).await;
        assert_eq!((i, String::from_utf8_lossy(&said).trim()), (1, "+CASERVER: 0,0\r\n\r\nOK"));
        let data = pattern(1 << 20, 0xca5e);
        let client = remote_client(port, data.clone());
        assert_eq!(tiny.wait(STEP, &["+CANEW: 0,1,127.0.0.1,"]).await.0, 1);
        assert!(tiny.skip_until(b'\n').await);
        tiny.socks[1].connected = true;
        let mut echoed = 0;
        let mut progress = Instant::now();
        while echoed < data.len() {
            assert!(progress.elapsed() < STEP, "stuck after {echoed} bytes echoed");
            if tiny.available(1).await == 0 {
                tiny.idle().await;
                continue;
            }
            let got = tiny.read(1, RX_BUFFER).await;
            assert_eq!(tiny.write(1, &got).await, got.len());
            echoed += got.len();
            progress = Instant::now();
        }
        let (back, client) = client.await.expect("the client");
        assert_eq!(sha256(&back), sha256(&data), "1 MiB through the server's client, by SHA-256");
        tiny.send_at("+CAOPEN?").await;
        let (_, said) = tiny.wait(STEP, &["OK\r\n"]).await;
        let listed = format!("+CAOPEN: 1,0,\"TCP\",\"127.0.0.1\",{},0\r\n\r\nOK", client.local_addr().unwrap().port());
        assert_eq!(String::from_utf8_lossy(&said).trim(), listed, "the client, as a connection");
        tiny.send_at("+CACLOSE=0").await;
        assert_eq!(tiny.result(STEP).await, 1);
        assert!(tiny.modem_get_connected(1).await, "the client stays when the server closes");
        drop(client);
        let deadline = Instant::now() + STEP;
        while tiny.socks[1].connected {
            assert!(Instant::now() < deadline, "no +CASTATE: 1,0 after the client hung up");
            tiny.idle().await;
        }
        tiny.stop(1).await;
    })
    .await;
}
