//! What the data call tests share: a modem of a family on an in-process line with its handle,
//! AT on a line (the plain one or a CMUX channel), and an HTTP download through the host's
//! stack, hashed as it comes.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::time::{Instant, timeout_at};
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::modem::{Modem, ModemHandle};
use vmodem::net::{Net, NetConfig};
use vmodem::transport::{Link, Links};

use super::ppp_host::PppHost;
use super::rig::trace;

/// The longest one step may take.
pub const STEP: Duration = Duration::from_secs(30);

/// The modem's task, stopped with the test.
pub struct Running(tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A modem of a family on an in-process line: the host's end of the line, the modem's handle,
/// its task.
pub struct ModemLine {
    /// The host's end.
    pub line: DuplexStream,
    /// Network events, faults, messages.
    pub handle: ModemHandle,
    /// The modem, running.
    pub modem: Running,
}

impl ModemLine {
    /// A fresh `family` modem, echo off, context 1 on the APN `internet`.
    pub async fn start(family: &str) -> ModemLine {
        trace();
        let fs = tempfile::tempdir().expect("a folder");
        let mut config = ModuleConfig { family: family.parse().expect("a family"), ..ModuleConfig::default() };
        config.fs.root = Some(fs.path().to_path_buf());
        let dialect = dialect::build(Arc::new(config)).expect("the family's dialect");
        let modem = Modem::new(dialect, Net::new(NetConfig::default()));
        let handle = modem.handle();
        let (line, modem_side) = tokio::io::duplex(1 << 16);
        let modem_side: Link = Box::new(modem_side);
        let modem = Running(tokio::spawn(async move {
            let _fs = fs;
            modem.run(Links::single(modem_side)).await;
        }));
        let mut at = ModemLine { line, handle, modem };
        at.line.write_all(b"ATE0\r").await.expect("the line");
        read_until(&mut at.line, "OK").await;
        at.command("AT+CGDCONT=1,\"IP\",\"internet\"", "\r\nOK\r\n").await;
        at
    }

    /// Sends `cmd` and expects exactly `answer`.
    pub async fn command(&mut self, cmd: &str, answer: &str) {
        chat(&mut self.line, cmd, answer).await;
    }
}

/// Reads `line` until what came ends with `end` (with a CR LF after it unless `end` has one),
/// within [`STEP`].
pub async fn read_until(line: &mut (impl AsyncRead + Unpin), end: &str) -> String {
    let end = if end.ends_with("\r\n") { end.to_string() } else { format!("{end}\r\n") };
    let deadline = Instant::now() + STEP;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(end.as_bytes()) {
        match timeout_at(deadline, line.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!("waiting for {end:?}: {other:?}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `cmd` on `line` and expects exactly `answer` (echo off).
pub async fn chat(line: &mut (impl AsyncRead + AsyncWrite + Unpin), cmd: &str, answer: &str) {
    line.write_all(format!("{cmd}\r").as_bytes()).await.expect("the line");
    let got = read_until(line, answer.rsplit("\r\n").nth(1).unwrap_or(answer)).await;
    assert_eq!(got, answer, "{cmd}");
}

/// `addr` as IPv4 (the host's stack is IPv4 only).
pub fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => panic!("{addr} is not IPv4"),
    }
}

/// What an HTTP download brought.
pub struct Got {
    /// The response's head, CR LF CR LF included.
    pub head: Vec<u8>,
    /// Body bytes.
    pub body: u64,
    sha: Sha256,
    in_body: bool,
}

impl Got {
    /// The body's SHA-256, in hex.
    pub fn sha256(&self) -> String {
        super::rig::hex(&self.sha.clone().finalize())
    }

    /// Takes bytes of the response; how many were body.
    fn take(&mut self, bytes: &[u8]) -> usize {
        if self.in_body {
            self.sha.update(bytes);
            self.body += bytes.len() as u64;
            return bytes.len();
        }
        self.head.extend_from_slice(bytes);
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else { return 0 };
        let body = self.head.split_off(end + 4);
        self.sha.update(&body);
        self.body += body.len() as u64;
        self.in_body = true;
        body.len()
    }
}

/// `GET <path>` over HTTP/1.0 from `web` through the host's stack, within `within`; `at(body)`
/// is called with the body's length so far as it grows. The exchange's result, and what came.
pub async fn download<S: AsyncRead + AsyncWrite + Unpin>(
    host: &mut PppHost<S>,
    web: SocketAddrV4,
    path: &str,
    within: Duration,
    mut at: impl FnMut(u64),
) -> (Result<u64, String>, Got) {
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut got = Got { head: Vec::new(), body: 0, sha: Sha256::new(), in_body: false };
    let sink = |bytes: &[u8]| {
        if got.take(bytes) > 0 {
            at(got.body);
        }
    };
    let result = host.tcp_exchange(web, request.as_bytes(), sink, within).await;
    (result, got)
}
