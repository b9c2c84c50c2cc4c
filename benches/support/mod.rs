//! What the benchmarks share: a modem on the TCP transport, the host's end of its line (a plain
//! blocking socket, as a driver's), a loopback responder to set beside it, the test data, the
//! median and the check that curl runs.
//!
//! Each benchmark uses a part of it.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::modem::Modem;
use vmodem::net::Net;
use vmodem::transport;

/// The longest the host waits for any byte from the modem.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The end of every successful response (echo off).
pub const OK: &[u8] = b"\r\nOK\r\n";
/// The longest line the host accepts from the modem.
const MAX_LINE: usize = 256;
/// Bytes the host reads from its socket at most at once.
const READ_CHUNK: usize = 64 * 1024;

/// Starts a modem of `config` on `net` behind the TCP transport on loopback, on `runtime`;
/// returns the address the host connects to.
pub fn start_modem(runtime: &Runtime, config: ModuleConfig, net: Net) -> anyhow::Result<SocketAddr> {
    let modem = Modem::new(dialect::build(Arc::new(config))?, net);
    let (links, addr) = runtime.block_on(transport::tcp::listen(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    runtime.spawn(modem.run(links));
    Ok(addr)
}

/// A loopback TCP task for one connection that writes `reply(read)` back for every read: the
/// bare medium a benchmark sets vmodem beside.
pub async fn loopback_responder(mut reply: impl FnMut(&[u8], &mut Vec<u8>) + Send + 'static) -> io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else { return };
        if stream.set_nodelay(true).is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            out.clear();
            reply(&buf[..n], &mut out);
            if stream.write_all(&out).await.is_err() {
                return;
            }
        }
    });
    Ok(addr)
}

/// `len` bytes of xorshift64 output: incompressible enough, and fast to make.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The file size in MiB: `VMODEM_BENCH_MIB` (for a quick check), else `default`.
pub fn file_mib(default: usize) -> anyhow::Result<usize> {
    match std::env::var("VMODEM_BENCH_MIB") {
        Ok(v) => v.parse().with_context(|| format!("VMODEM_BENCH_MIB={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Fails with advice unless `curl --version` runs, for the benchmarks that compare vmodem with
/// curl.
pub fn require_curl() -> anyhow::Result<()> {
    let curl = std::process::Command::new("curl").arg("--version").output();
    ensure!(
        curl.as_ref().is_ok_and(|o| o.status.success()),
        "this benchmark compares vmodem with curl, and `curl --version` does not run ({}); install curl \
         (apt-get install curl)",
        curl.err().map(|e| e.to_string()).unwrap_or_else(|| "it failed".into())
    );
    Ok(())
}

/// The median of `v` (the upper one of an even count).
pub fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[v.len() / 2]
}

/// MiB/s of `bytes` in `d`.
pub fn rate(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / f64::from(1 << 20) / d.as_secs_f64()
}

/// Durations in seconds, comma-separated, for a table's "runs" column.
pub fn runs(v: &[Duration]) -> String {
    v.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
}

/// The host's end of the modem's TCP line, with a buffer of what it has read.
pub struct Host {
    stream: TcpStream,
    buf: Vec<u8>,
    /// `buf[start..end]` is read but not yet used.
    start: usize,
    end: usize,
    /// Whether a line ends what [`Host::wait_for`] waits for in failure (beside `ERROR`).
    failure: fn(&str) -> bool,
}

impl Host {
    /// Connects to a modem (or a responder) on `addr`, `TCP_NODELAY`, reads bounded by
    /// [`READ_TIMEOUT`].
    pub fn connect(addr: SocketAddr) -> anyhow::Result<Host> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Host { stream, buf: vec![0; 2 * READ_CHUNK], start: 0, end: 0, failure: |_| false })
    }

    /// The same host, with lines that `failure` picks ending a wait in failure.
    pub fn failing_on(self, failure: fn(&str) -> bool) -> Host {
        Host { failure, ..self }
    }

    /// Reads more bytes from the socket into the buffer.
    pub fn fill(&mut self) -> anyhow::Result<()> {
        if self.buf.len() - self.end < READ_CHUNK {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = self.stream.read(&mut self.buf[self.end..]).context("reading from the modem")?;
        ensure!(n > 0, "the modem closed the line");
        self.end += n;
        Ok(())
    }

    /// What has been read and not yet used.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks the first `n` pending bytes used.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// The next non-empty line (without its `\r\n`).
    pub fn line(&mut self) -> anyhow::Result<String> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(at) = pending.windows(2).position(|w| w == b"\r\n") {
                self.start += at + 2;
                if at > 0 {
                    return Ok(String::from_utf8_lossy(&pending[..at]).into_owned());
                }
                continue;
            }
            ensure!(pending.len() < MAX_LINE, "no line end in {:?}", String::from_utf8_lossy(pending));
            self.fill()?;
        }
    }

    /// Reads the next non-empty line and fails unless it is `expected`.
    pub fn expect_line(&mut self, expected: &str) -> anyhow::Result<()> {
        let line = self.line()?;
        ensure!(line == expected, "{line:?} where {expected:?} belongs");
        Ok(())
    }

    /// Whether the next non-empty line starts with `prefix`; reads ahead as far as needed and
    /// uses only the empty lines before it.
    pub fn next_starts_with(&mut self, prefix: &[u8]) -> anyhow::Result<bool> {
        loop {
            let pending = self.pending();
            if pending.starts_with(b"\r\n") {
                self.start += 2;
                continue;
            }
            if pending == b"\r" {
                self.fill()?;
                continue;
            }
            let n = pending.len().min(prefix.len());
            if pending[..n] != prefix[..n] {
                return Ok(false);
            }
            if n == prefix.len() {
                return Ok(true);
            }
            self.fill()?;
        }
    }

    /// The text up to the first of `stops` and that stop, both used (within a line's length).
    pub fn until_any(&mut self, stops: &[u8]) -> anyhow::Result<(String, u8)> {
        loop {
            let pending = self.pending();
            if let Some(at) = pending.iter().position(|b| stops.contains(b)) {
                let (text, stop) = (String::from_utf8_lossy(&pending[..at]).into_owned(), pending[at]);
                self.start += at + 1;
                return Ok((text, stop));
            }
            ensure!(pending.len() < MAX_LINE, "none of {stops:?} in {:?}", String::from_utf8_lossy(pending));
            self.fill()?;
        }
    }

    /// Moves `n` bytes from the line into `out`.
    pub fn take(&mut self, mut n: usize, out: &mut Vec<u8>) -> anyhow::Result<()> {
        while n > 0 {
            if self.start == self.end {
                self.fill()?;
            }
            let k = n.min(self.end - self.start);
            out.extend_from_slice(&self.buf[self.start..self.start + k]);
            self.start += k;
            n -= k;
        }
        Ok(())
    }

    /// Reads `expected.len()` bytes and fails unless they are `expected`.
    pub fn expect_bytes(&mut self, expected: &[u8]) -> anyhow::Result<()> {
        let mut got = Vec::with_capacity(expected.len());
        self.take(expected.len(), &mut got)?;
        ensure!(
            got == expected,
            "{:?} where {:?} belongs",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
        Ok(())
    }

    /// Writes `bytes` to the line.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes).context("writing to the modem")
    }

    /// Sends a command and reads lines up to its `OK` (URCs on the way are skipped).
    pub fn command(&mut self, cmd: &str) -> anyhow::Result<()> {
        self.send(format!("{cmd}\r").as_bytes())?;
        self.wait_for("OK").with_context(|| cmd.to_string())
    }

    /// Reads lines until `expected`. An error result, or a line the host was set to fail on,
    /// on the way fails; other lines (URCs) are skipped.
    pub fn wait_for(&mut self, expected: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + READ_TIMEOUT;
        while Instant::now() < deadline {
            match self.line()? {
                line if line == expected => return Ok(()),
                line if line == "ERROR" || line.starts_with("+CME ERROR") => bail!("{line}"),
                line if (self.failure)(&line) => bail!("{line}"),
                _ => {}
            }
        }
        bail!("no {expected:?} within {READ_TIMEOUT:?}")
    }
}
