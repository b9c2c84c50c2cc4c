//! A small async AT host for integration tests: it talks to a modem over any byte stream the
//! way firmware does (one command at a time, waiting for the final result), sorts what comes
//! back into responses and URCs, and runs the SIMCom FTP data phases (`AT+FTPGET=2,<n>` reads,
//! `AT+FTPPUT=2,<n>` writes; [`AtHost::send_data`] and [`AtHost::read_block_after`] also serve
//! `AT+HTTPDATA` and `AT+HTTPREAD`). Every wait is bounded: a host that waits longer than
//! [`AtHost::wait`] panics with what it was waiting for and what arrived, so a test never hangs.
//!
//! Lines are split on LF with trailing CRs dropped and empty lines skipped, which reads both
//! the ATV1 framing (`<CR><LF>text<CR><LF>`) and an echoed command (`AT...<CR>`). A line
//! counts as a URC if [`is_urc`] says so (or the rule set with [`AtHost::urc_rule`], such as
//! [`is_fibocom_urc`] for the L610); URCs are queued in arrival order and taken with
//! [`AtHost::next_urc`], [`AtHost::wait_urc`], [`AtHost::session_end`] or [`AtHost::outcome`].
//!
//! The Fibocom L610's FTP has its own shapes, served here too: results as URCs
//! `+FTPxxx: 2,<text>` ... `+FTPxxx: 1` ([`AtHost::outcome`]), downloads in DLE/ETX data mode
//! after `+FTPxxx: 2` ([`AtHost::data_mode_download`]), uploads in data mode
//! ([`AtHost::data_mode_upload`]), and raw chunks answered with more lines after the data
//! ([`AtHost::send_data_answer`]).
//!
//! Shared by several test files, each of which uses a part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use vmodem_at::dle::{DLE, ETX, Unescaper, escape_into};

/// How long one wait may last unless [`AtHost::wait`] is changed.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Bytes read from the line at once.
const READ_CHUNK: usize = 64 * 1024;

/// A final result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    /// `OK`.
    Ok,
    /// `ERROR`.
    Error,
    /// `+CME ERROR: <n|text>`, with what follows the colon.
    Cme(String),
}

/// What a command answered: its information lines and final result (URCs excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Information lines, without framing.
    pub lines: Vec<String>,
    /// The final result code.
    pub result: Final,
}

impl Response {
    /// Whether the final result was `OK`.
    pub fn is_ok(&self) -> bool {
        self.result == Final::Ok
    }
}

/// How an FTP session ended: `+<CMD>: 1,<code>[,<value>...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    /// The status code (0 success, 61..94 failures).
    pub code: u32,
    /// Fields after the code (`+FTPSIZE: 1,0,1024` → `["1024"]`).
    pub values: Vec<String>,
}

/// What [`AtHost::download`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The code of the URC that ended the session (0: complete).
    pub code: u32,
    /// Payload bytes read.
    pub bytes: u64,
    /// Read commands sent.
    pub reads: u64,
}

/// Whether `line` is an unsolicited result code rather than part of a response: an FTP
/// session URC (`+FTPGET: 1,1`, `+FTPPUT: 1,1,1360`, `+FTPSIZE: 1,0,1024`: a `+FTP` name
/// followed by `: 1,`), the end of an HTTP action (`+HTTPACTION: 0,200,1000`, and the
/// SIM900's `+HTTPACTION:0,200,1000`), a bearer URC (`+APP PDP: ...`) or a power-on URC
/// (`RDY`, `+CFUN: ...`, `+CPIN: ...`, `SMS Ready`).
pub fn is_urc(line: &str) -> bool {
    let session = line.starts_with("+FTP") && line.split_once(": ").is_some_and(|(_, rest)| rest.starts_with("1,"));
    session
        || line.starts_with("+HTTPACTION:")
        || line.starts_with("+APP PDP:")
        || line == "RDY"
        || line.starts_with("+CFUN:")
        || line.starts_with("+CPIN:")
        || line == "SMS Ready"
}

/// Whether `line` is an unsolicited result code of the Fibocom L610: the bearer's
/// `+MIPCALL: <ip|0>`, an FTP result `+FTPxxx: <0|1|2>[,<text>]` (`+FTPCWD: 1`,
/// `+FTPPWD: 2,"/dir"`, `+FTPGET: 2`, `+FTPSTAT: 2,<line>`), or a `+FTPINFO:` trace. The read
/// forms' answers look alike (`+FTPOPEN: 1` after `AT+FTPOPEN?`); [`AtHost::command`] takes a
/// line named like its command as its answer.
pub fn is_fibocom_urc(line: &str) -> bool {
    let ftp_result = line.starts_with("+FTP")
        && line.split_once(": ").is_some_and(|(_, rest)| {
            let mut chars = rest.chars();
            matches!(chars.next(), Some('0'..='2')) && matches!(chars.next(), None | Some(','))
        });
    ftp_result || line.starts_with("+MIPCALL: ") || line.starts_with("+FTPINFO: ")
}

/// How an L610 command ended: `+<NAME>: 1` (or `0`), after its `+<NAME>: 2[,<text>]` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 1 success, 0 failure.
    pub code: u8,
    /// The text of each `+<NAME>: 2,<text>` line before it (empty for a bare `+<NAME>: 2`).
    pub text: Vec<String>,
}

/// How an L610 transfer in data mode went ([`AtHost::data_mode_download`],
/// [`AtHost::data_mode_upload`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streamed {
    /// Whether `+<NAME>: 2` came and the line went into data mode (the stream then ran to its
    /// ETX).
    pub announced: bool,
    /// Payload bytes (unescaped) received, or sent.
    pub bytes: u64,
    /// The result after the stream: 1 success, 0 failure.
    pub code: u8,
}

/// An AT host on one byte stream (the host end of a `tokio::io::duplex`, a PTY, a socket).
pub struct AtHost<S> {
    io: S,
    buf: Vec<u8>,
    /// Bytes of `buf` before this have been consumed.
    start: usize,
    urcs: VecDeque<String>,
    /// The longest any single wait lasts.
    pub wait: Duration,
    /// Whether `+NAME:value` lines are read as `+NAME: value`.
    spaced: bool,
    /// Which lines are URCs ([`is_urc`] unless [`urc_rule`](Self::urc_rule) changed it).
    urc: fn(&str) -> bool,
}

impl<S> fmt::Debug for AtHost<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtHost").field("pending", &self.pending()).field("urcs", &self.urcs).finish()
    }
}

impl<S> AtHost<S> {
    /// What has arrived and not been consumed, for failure messages.
    pub fn pending(&self) -> String {
        String::from_utf8_lossy(&self.buf[self.start..]).escape_debug().to_string()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AtHost<S> {
    /// A host on `io`; call [`init`](Self::init) before the first command.
    pub fn new(io: S) -> Self {
        AtHost {
            io,
            buf: Vec::with_capacity(2 * READ_CHUNK),
            start: 0,
            urcs: VecDeque::new(),
            wait: DEFAULT_WAIT,
            spaced: false,
            urc: is_urc,
        }
    }

    /// Tells URCs from response lines with `rule` from now on, for a family whose URCs
    /// [`is_urc`] does not know (the L610: [`is_fibocom_urc`]).
    pub fn urc_rule(&mut self, rule: fn(&str) -> bool) {
        self.urc = rule;
    }

    /// Reads `+NAME:value` lines as `+NAME: value` from now on, as a host library for the
    /// SIM900 (which leaves the space out of its application URCs) does: the scenarios then
    /// read the same for every family. The exact bytes are the transcripts' business.
    pub fn add_colon_space(&mut self) {
        self.spaced = true;
    }

    /// Synchronises with a freshly started modem: skips its power-on URCs, turns echo off
    /// (`ATE0`) and checks that `AT` answers `OK`.
    pub async fn init(&mut self) {
        self.send("ATE0").await;
        let deadline = Instant::now() + self.wait;
        // The power-on URCs and the echo of ATE0 come first; all are skipped.
        while !matches!(self.line(deadline, "OK to ATE0").await.as_str(), "OK") {}
        self.urcs.clear();
        self.ok("AT").await;
    }

    /// Sends one command line (`AT...`; the CR is added).
    pub async fn send(&mut self, cmd: &str) {
        let mut line = Vec::with_capacity(cmd.len() + 1);
        line.extend_from_slice(cmd.as_bytes());
        line.push(b'\r');
        self.write(&line, cmd).await;
    }

    /// Sends `cmd` and reads its response up to the final result, queueing URCs met on the way.
    /// A line named like the command itself (`+FTPEXTGET: 1,300` after `AT+FTPEXTGET?`) is
    /// taken as its answer even if it looks like a URC: call this when no session URC of that
    /// name can be on its way.
    pub async fn command(&mut self, cmd: &str) -> Response {
        self.send(cmd).await;
        let deadline = Instant::now() + self.wait;
        let own = OwnLine::of(cmd);
        let mut lines = Vec::new();
        loop {
            let line = self.line(deadline, cmd).await;
            if let Some(result) = final_result(&line) {
                return Response { lines, result };
            }
            if (self.urc)(&line) && !own.is(&line) {
                self.urcs.push_back(line);
            } else {
                lines.push(line);
            }
        }
    }

    /// Sends `cmd` and reads its answer up to the line `last`, for a command whose final
    /// answer is no result code (`SHUT OK` of `AT+CIPSHUT`); returns the lines before it and
    /// queues URCs met on the way. Panics if a result code comes first.
    pub async fn command_until(&mut self, cmd: &str, last: &str) -> Vec<String> {
        self.send(cmd).await;
        let deadline = Instant::now() + self.wait;
        let mut lines = Vec::new();
        loop {
            let line = self.line(deadline, cmd).await;
            if line == last {
                return lines;
            }
            assert!(final_result(&line).is_none(), "{cmd}: {line:?} came instead of {last:?} (after {lines:?})");
            if (self.urc)(&line) {
                self.urcs.push_back(line);
            } else {
                lines.push(line);
            }
        }
    }

    /// Sends `cmd`, panics unless it answers `OK`, and returns its information lines.
    pub async fn ok(&mut self, cmd: &str) -> Vec<String> {
        let rsp = self.command(cmd).await;
        assert!(rsp.is_ok(), "{cmd} answered {rsp:?}");
        rsp.lines
    }

    /// Sends `cmd` and panics unless it answers `ERROR` (or `+CME ERROR`).
    pub async fn error(&mut self, cmd: &str) {
        let rsp = self.command(cmd).await;
        assert!(!rsp.is_ok(), "{cmd} should have failed but answered {rsp:?}");
    }

    /// The oldest URC, waiting up to `within` for one; `None` if none came.
    pub async fn next_urc(&mut self, within: Duration) -> Option<String> {
        if let Some(urc) = self.urcs.pop_front() {
            return Some(urc);
        }
        let line = self.try_line(Instant::now() + within).await?;
        assert!((self.urc)(&line), "a line that is neither a URC nor part of a response arrived: {line:?}");
        Some(line)
    }

    /// Waits (up to [`wait`](Self::wait)) for a URC starting with `prefix` and returns it;
    /// URCs before it that do not match are dropped.
    pub async fn wait_urc(&mut self, prefix: &str) -> String {
        self.wait_urc_until(prefix, |_| true, Instant::now() + self.wait).await
    }

    /// Waits for the end of the running `name` session (`name` is `+FTPGET`, `+FTPPUT`,
    /// `+FTPSIZE`...): the first `<name>: 1,<code>` URC whose code is not 1 (1 only says data
    /// is ready, and is skipped), within [`wait`](Self::wait).
    pub async fn session_end(&mut self, name: &str) -> SessionEnd {
        let prefix = format!("{name}: 1,");
        let at = prefix.len() - 2;
        let is_end = |urc: &str| parse_end(&urc[at..]).code != 1;
        let urc = self.wait_urc_until(&prefix, is_end, Instant::now() + self.wait).await;
        parse_end(&urc[at..])
    }

    /// The first URC starting with `prefix` that `also` accepts, by `deadline`; others are
    /// dropped.
    async fn wait_urc_until(&mut self, prefix: &str, also: impl Fn(&str) -> bool, deadline: Instant) -> String {
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_urc(left).await {
                Some(urc) if urc.starts_with(prefix) && also(&urc) => return urc,
                Some(urc) => skipped.push(urc),
                None => panic!(
                    "no URC {prefix:?} in time ({:?} wait); other URCs: {skipped:?}; unread: {:?}",
                    self.wait,
                    self.pending()
                ),
            }
        }
    }

    /// URCs received and not yet taken, oldest first; the queue is emptied.
    pub fn take_urcs(&mut self) -> Vec<String> {
        self.urcs.drain(..).collect()
    }

    /// Sends a read command such as `AT+FTPGET=2,1460` and appends its payload to `out`. The
    /// answer must be `+<NAME>: 2,<k>`, CR LF, exactly `k` bytes, CR LF, `OK`. Returns `k`, or
    /// the response if the command failed (the session has ended or was never ready).
    pub async fn read_block(&mut self, cmd: &str, out: &mut Vec<u8>) -> Result<usize, Response> {
        let name = cmd.strip_prefix("AT").and_then(|c| c.split_once('=')).map(|(n, _)| n).unwrap_or(cmd);
        self.read_block_after(cmd, &format!("{name}: 2,"), out).await
    }

    /// Like [`read_block`](Self::read_block), for a command whose payload follows a line
    /// `<header><k>` (`+FTPEXTGET: 3,` for `AT+FTPEXTGET=3,...`, `+CFSRFILE: `).
    pub async fn read_block_after(&mut self, cmd: &str, header: &str, out: &mut Vec<u8>) -> Result<usize, Response> {
        self.send(cmd).await;
        let deadline = Instant::now() + self.wait;
        let k = loop {
            let line = self.line(deadline, cmd).await;
            if let Some(k) = line.strip_prefix(header) {
                break k.parse::<usize>().unwrap_or_else(|_| panic!("{cmd}: bad length in {line:?}"));
            }
            if let Some(result) = final_result(&line) {
                return Err(Response { lines: Vec::new(), result });
            }
            assert!((self.urc)(&line), "{cmd}: unexpected line {line:?} before {header:?}");
            self.urcs.push_back(line);
        };
        while self.buf.len() - self.start < k {
            self.fill(deadline, cmd).await;
        }
        out.extend_from_slice(&self.buf[self.start..self.start + k]);
        self.start += k;
        // The payload is followed by CR LF and the final result.
        while self.buf.len() - self.start < 2 {
            self.fill(deadline, cmd).await;
        }
        let framing = &self.buf[self.start..self.start + 2];
        assert_eq!(framing, b"\r\n", "{cmd}: the {k} payload bytes are not followed by CR LF");
        let line = self.line(deadline, cmd).await;
        assert_eq!(line, "OK", "{cmd}: the payload is not followed by OK");
        Ok(k)
    }

    /// Reads a download session to its end. Call it after `AT+FTPGET=1` (or `AT+FTPLIST=1`)
    /// answered `OK`: it waits for `+<name>: 1,1`, reads with `AT<name>=2,<chunk>` while data
    /// comes (after a read that returns nothing it waits for the next `1,1`), hands every
    /// payload to `sink`, and returns when `+<name>: 1,<code>` (code not 1) ends the session.
    pub async fn download(&mut self, name: &str, chunk: usize, mut sink: impl FnMut(&[u8])) -> Downloaded {
        let cmd = format!("AT{name}=2,{chunk}");
        let prefix = format!("{name}: 1,");
        let mut got = Downloaded { code: 0, bytes: 0, reads: 0 };
        let mut block = Vec::with_capacity(chunk);
        let mut ready = false;
        // Bounded: every pass reads data or waits for a URC, and no data for `wait` fails.
        let mut progress = Instant::now();
        loop {
            assert!(progress.elapsed() < self.wait, "{cmd}: no data for {:?} after {got:?}", self.wait);
            // Take this session's URCs that have arrived: notices allow reads, others end it.
            while let Some(at) = self.urcs.iter().position(|u| u.starts_with(&prefix)) {
                let urc = self.urcs.remove(at).unwrap_or_default();
                match parse_end(&urc[prefix.len() - 2..]).code {
                    1 => ready = true,
                    code => return Downloaded { code, ..got },
                }
            }
            if !ready {
                let urc = self.wait_urc(&prefix).await;
                self.urcs.push_front(urc);
                continue;
            }
            block.clear();
            got.reads += 1;
            match self.read_block(&cmd, &mut block).await {
                Ok(0) => ready = false,
                Ok(n) => {
                    sink(&block);
                    got.bytes += n as u64;
                    progress = Instant::now();
                }
                Err(_) => {
                    // A read fails once the session has ended; its URC came before the ERROR
                    // (`1,0` may follow the read that took the last byte before this host has
                    // seen it, so a read after it is normal).
                    let end = self.session_end(name).await;
                    return Downloaded { code: end.code, ..got };
                }
            }
        }
    }

    /// Sends one upload chunk: `AT+FTPPUT=2,<len>`, then as many bytes of `data` as the modem
    /// confirms with `+FTPPUT: 2,<n>`, then checks `OK`. Returns `n`, or the response if the
    /// command failed before its data phase.
    pub async fn put_block(&mut self, data: &[u8]) -> Result<usize, Response> {
        let cmd = format!("AT+FTPPUT=2,{}", data.len());
        self.send(&cmd).await;
        let deadline = Instant::now() + self.wait;
        let n = loop {
            let line = self.line(deadline, &cmd).await;
            if let Some(n) = line.strip_prefix("+FTPPUT: 2,") {
                break n.parse::<usize>().unwrap_or_else(|_| panic!("{cmd}: bad length in {line:?}"));
            }
            if let Some(result) = final_result(&line) {
                return Err(Response { lines: Vec::new(), result });
            }
            assert!((self.urc)(&line), "{cmd}: unexpected line {line:?} before +FTPPUT: 2,");
            self.urcs.push_back(line);
        };
        assert!((1..=data.len()).contains(&n), "{cmd}: the modem asked for {n} bytes");
        self.write(&data[..n], &cmd).await;
        let line = self.line(deadline, &cmd).await;
        assert_eq!(line, "OK", "{cmd}: the data phase did not end with OK");
        Ok(n)
    }

    /// Sends `cmd`, waits for its `prompt` line (`DOWNLOAD`, `+FTPEXTPUT: 0,1024`), sends
    /// `data` and checks the `OK` that ends the data phase. Returns the response if the
    /// command failed before its data phase, or the `ERROR` that ended it.
    pub async fn send_data(&mut self, cmd: &str, prompt: &str, data: &[u8]) -> Result<(), Response> {
        let rsp = self.send_data_answer(cmd, prompt, data).await?;
        match rsp.result {
            Final::Ok => {
                assert!(rsp.lines.is_empty(), "{cmd}: the data phase did not end with OK: {:?}", rsp.lines);
                Ok(())
            }
            _ => Err(rsp),
        }
    }

    /// Like [`send_data`](Self::send_data), for a command that may answer more lines after its
    /// data before the final result (the L610's last `AT+FTPPUT` chunk: `+FTPPUT: 2,<len>`, the
    /// bytes, `+FTPPUT: 1`, `OK`): returns those lines and the final result. A line named like
    /// the command counts as its answer even if it looks like a URC; other URCs are queued.
    /// Returns `Err` with the lines and result if the command ended before its data phase.
    pub async fn send_data_answer(&mut self, cmd: &str, prompt: &str, data: &[u8]) -> Result<Response, Response> {
        self.send(cmd).await;
        let deadline = Instant::now() + self.wait;
        let own = OwnLine::of(cmd);
        let mut lines = Vec::new();
        loop {
            let line = self.line(deadline, cmd).await;
            if line == prompt {
                break;
            }
            if let Some(result) = final_result(&line) {
                return Err(Response { lines, result });
            }
            if own.is(&line) {
                lines.push(line);
                continue;
            }
            assert!((self.urc)(&line), "{cmd}: unexpected line {line:?} before {prompt:?}");
            self.urcs.push_back(line);
        }
        assert!(lines.is_empty(), "{cmd}: {lines:?} came before {prompt:?}");
        self.write(data, cmd).await;
        loop {
            let line = self.line(deadline, cmd).await;
            if let Some(result) = final_result(&line) {
                return Ok(Response { lines, result });
            }
            if (self.urc)(&line) && !own.is(&line) {
                self.urcs.push_back(line);
            } else {
                lines.push(line);
            }
        }
    }

    /// Waits for the end of an L610 command `name` (`+FTPCWD`, `+FTPPWD`, `+FTPOPEN`...): its
    /// `<name>: 2[,<text>]` lines, then `<name>: 1` or `<name>: 0`, within
    /// [`wait`](Self::wait). URCs of other names are dropped.
    pub async fn outcome(&mut self, name: &str) -> Outcome {
        let prefix = format!("{name}: ");
        let deadline = Instant::now() + self.wait;
        let mut text = Vec::new();
        loop {
            let urc = self.wait_urc_until(&prefix, |_| true, deadline).await;
            match &urc[prefix.len()..] {
                "0" => return Outcome { code: 0, text },
                "1" => return Outcome { code: 1, text },
                "2" => text.push(String::new()),
                rest => match rest.strip_prefix("2,") {
                    Some(t) => text.push(t.to_string()),
                    None => panic!("{name}: not a result: {urc:?}"),
                },
            }
        }
    }

    /// Reads an L610 download in data mode (call it after `AT+FTPRETR` or `AT+FTPLIST`
    /// answered `OK`): waits for `<name>: 2`, hands the bytes up to the bare ETX to `sink`
    /// unescaped (every DLE must be followed by DLE or ETX: the module escapes exactly those),
    /// then takes the result `<name>: <1|0>`. A result without `<name>: 2` first (the data
    /// connection never opened) returns with `announced` false.
    pub async fn data_mode_download(&mut self, name: &str, mut sink: impl FnMut(&[u8])) -> Streamed {
        let what = format!("the {name} data mode stream");
        let prefix = format!("{name}: ");
        assert!(
            !self.urcs.iter().any(|u| u.starts_with(&prefix)),
            "{name}: a URC of the transfer was queued before its stream: {:?}",
            self.urcs
        );
        let deadline = Instant::now() + self.wait;
        loop {
            let line = self.line(deadline, &what).await;
            match line.strip_prefix(&prefix) {
                Some("2") => break,
                Some(code @ ("0" | "1")) => {
                    return Streamed { announced: false, bytes: 0, code: code.parse().unwrap() };
                }
                Some(_) => panic!("{what}: unexpected {line:?}"),
                None => {
                    assert!((self.urc)(&line), "{what}: unexpected line {line:?}");
                    self.urcs.push_back(line);
                }
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0u64;
        let mut after_dle = false;
        loop {
            out.clear();
            let mut ended = false;
            let mut used = 0;
            for &b in &self.buf[self.start..] {
                used += 1;
                if after_dle {
                    assert!(b == DLE || b == ETX, "{what}: DLE followed by {b:#04x} after {bytes} bytes");
                    after_dle = false;
                    out.push(b);
                } else if b == DLE {
                    after_dle = true;
                } else if b == ETX {
                    ended = true;
                    break;
                } else {
                    out.push(b);
                }
            }
            self.start += used;
            bytes += out.len() as u64;
            sink(&out);
            if ended {
                break;
            }
            // Bounded: each fill must bring bytes within `wait`, or this panics.
            self.fill(Instant::now() + self.wait, &what).await;
        }
        let end = self.outcome(name).await;
        assert!(end.text.is_empty(), "{what}: {:?} after the ETX", end.text);
        Streamed { announced: true, bytes, code: end.code }
    }

    /// Uploads `data` in L610 data mode (call it after `AT+FTPSTOR` answered `OK`): waits for
    /// `<name>: 2`, sends the bytes DLE-escaped and the ETX, and returns the result that
    /// follows. A result without `<name>: 2` first returns at once with `announced` false.
    pub async fn data_mode_upload(&mut self, name: &str, data: &[u8]) -> Streamed {
        let first = self.outcome_or_ready(name).await;
        if first != "2" {
            return Streamed { announced: false, bytes: 0, code: first.parse().unwrap() };
        }
        let mut stream = Vec::with_capacity(data.len() + data.len() / 8 + 1);
        escape_into(data, &mut stream);
        stream.push(ETX);
        self.write(&stream, name).await;
        let end = self.outcome(name).await;
        Streamed { announced: true, bytes: data.len() as u64, code: end.code }
    }

    /// The value of the next `<name>: <0|1|2>` URC.
    async fn outcome_or_ready(&mut self, name: &str) -> String {
        let prefix = format!("{name}: ");
        let is_result = |u: &str| matches!(&u[prefix.len()..], "0" | "1" | "2");
        let urc = self.wait_urc_until(&prefix, is_result, Instant::now() + self.wait).await;
        urc[prefix.len()..].to_string()
    }

    /// Runs an upload session to its end. Call it after `AT+FTPPUT=1` answered `OK`: each
    /// chunk (at most the `<maxlength>` of `+FTPPUT: 1,1,<maxlength>`) goes after the modem
    /// asked for it, then `AT+FTPPUT=2,0` closes the file. Returns how the session ended
    /// (`code` 0: the server has the file), or earlier if the session fails.
    pub async fn upload(&mut self, data: &[u8]) -> SessionEnd {
        let mut rest = data;
        loop {
            let urc = self.wait_urc("+FTPPUT: 1,").await;
            let ready = parse_end(&urc["+FTPPUT: ".len()..]);
            if ready.code != 1 {
                return ready;
            }
            if rest.is_empty() {
                break;
            }
            let max: usize = ready.values.first().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{urc:?}"));
            let n = self.put_block(&rest[..rest.len().min(max)]).await.unwrap_or_else(|r| panic!("chunk: {r:?}"));
            rest = &rest[n..];
        }
        self.ok("AT+FTPPUT=2,0").await;
        self.session_end("+FTPPUT").await
    }

    /// Reads an `AT+FTPETGET` stream (call it after `AT+FTPETGET=1` answered `OK`): waits for
    /// `+FTPETGET: 1,1`, hands the unescaped bytes up to the bare ETX to `sink`, and returns
    /// how the session ended (`+FTPETGET: 1,<code>`) and the bytes received.
    pub async fn et_get(&mut self, mut sink: impl FnMut(&[u8])) -> (SessionEnd, u64) {
        let what = "the AT+FTPETGET stream";
        let deadline = Instant::now() + self.wait;
        loop {
            let line = self.line(deadline, what).await;
            match line.strip_prefix("+FTPETGET: ") {
                Some("1,1") => break,
                Some(rest) if rest.starts_with("1,") => return (parse_end(rest), 0),
                _ => self.urcs.push_back(line),
            }
        }
        let mut unescaper = Unescaper::default();
        let mut out = Vec::new();
        let mut bytes = 0u64;
        loop {
            out.clear();
            let r = unescaper.push(&self.buf[self.start..], &mut out);
            self.start += r.consumed;
            bytes += out.len() as u64;
            sink(&out);
            if r.ended {
                break;
            }
            // Bounded: each fill must bring bytes within `wait`, or this panics.
            self.fill(Instant::now() + self.wait, what).await;
        }
        (self.session_end("+FTPETGET").await, bytes)
    }

    /// Uploads `data` as an `AT+FTPETPUT` stream (call it after `AT+FTPETPUT=1` answered
    /// `OK`): waits for `+FTPETPUT: 1,1`, sends `AT+FTPETPUT=2`, then the escaped bytes and
    /// the ETX after `+FTPETPUT: 2,1`, and returns the result that ended the stream (`OK`
    /// or `ERROR`; none if the session failed first) and how the session ended.
    pub async fn et_put(&mut self, data: &[u8]) -> (Option<Final>, SessionEnd) {
        let ready = self.session_end_or_ready("+FTPETPUT").await;
        if ready.code != 1 {
            return (None, ready);
        }
        let mut stream = Vec::with_capacity(data.len() + data.len() / 8 + 1);
        escape_into(data, &mut stream);
        stream.push(ETX);
        let stream_end = match self.send_data("AT+FTPETPUT=2", "+FTPETPUT: 2,1", &stream).await {
            Ok(()) => Final::Ok,
            Err(response) => response.result,
        };
        (Some(stream_end), self.session_end("+FTPETPUT").await)
    }

    /// The next `<name>: 1,<code>` URC, `1,1` (ready) included.
    async fn session_end_or_ready(&mut self, name: &str) -> SessionEnd {
        let prefix = format!("{name}: 1,");
        let urc = self.wait_urc_until(&prefix, |_| true, Instant::now() + self.wait).await;
        parse_end(&urc[prefix.len() - 2..])
    }

    async fn write(&mut self, bytes: &[u8], what: &str) {
        let io = async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        };
        match tokio::time::timeout(self.wait, io).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{what}: cannot write to the modem: {e}"),
            Err(_) => panic!("{what}: the modem took no input for {:?}", self.wait),
        }
    }

    /// The next non-empty line; panics at `deadline`.
    async fn line(&mut self, deadline: Instant, what: &str) -> String {
        match self.try_line(deadline).await {
            Some(line) => line,
            None => panic!("{what}: nothing more before the deadline; unread: {:?}", self.pending()),
        }
    }

    /// The next non-empty line, or `None` at `deadline`.
    async fn try_line(&mut self, deadline: Instant) -> Option<String> {
        loop {
            while self.start < self.buf.len() && matches!(self.buf[self.start], b'\r' | b'\n') {
                self.start += 1;
            }
            if let Some(i) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let raw = &self.buf[self.start..self.start + i];
                let end = raw.iter().rposition(|&b| b != b'\r').map_or(0, |p| p + 1);
                let mut line = String::from_utf8_lossy(&raw[..end]).into_owned();
                self.start += i + 1;
                if self.spaced
                    && line.starts_with('+')
                    && let Some(colon) = line.find(':')
                    && !line[colon + 1..].starts_with(' ')
                    && colon + 1 < line.len()
                {
                    line.insert(colon + 1, ' ');
                }
                return Some(line);
            }
            if !self.try_fill(deadline).await {
                return None;
            }
        }
    }

    async fn fill(&mut self, deadline: Instant, what: &str) {
        if !self.try_fill(deadline).await {
            panic!("{what}: timed out; unread: {:?}", self.pending());
        }
    }

    /// Reads more bytes; `false` at the deadline. Panics if the line closes.
    async fn try_fill(&mut self, deadline: Instant) -> bool {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start >= READ_CHUNK {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        // Into spare capacity, so nothing is zeroed per read (a 64 MiB download does tens of
        // thousands of reads).
        self.buf.reserve(READ_CHUNK);
        match timeout_at(deadline, self.io.read_buf(&mut self.buf)).await {
            Err(_) => false,
            Ok(Ok(0)) => panic!("the modem closed the line; unread: {:?}", self.pending()),
            Ok(Ok(_)) => true,
            Ok(Err(e)) => panic!("cannot read from the modem: {e}"),
        }
    }
}

fn final_result(line: &str) -> Option<Final> {
    match line {
        "OK" => Some(Final::Ok),
        "ERROR" => Some(Final::Error),
        _ => line.strip_prefix("+CME ERROR: ").map(|e| Final::Cme(e.to_string())),
    }
}

/// Parses `1,<code>[,<value>...]`.
fn parse_end(fields: &str) -> SessionEnd {
    let mut parts = fields.split(',');
    assert_eq!(parts.next(), Some("1"), "not a session URC: {fields:?}");
    let code = parts.next().and_then(|c| c.trim().parse().ok()).unwrap_or_else(|| panic!("no code in {fields:?}"));
    SessionEnd { code, values: parts.map(|v| v.trim().to_string()).collect() }
}

/// The prefix of a command's own information lines (`+FTPEXTGET: ` for `AT+FTPEXTGET?`), which
/// count as its answer even where they look like URCs.
struct OwnLine(Option<String>);

impl OwnLine {
    fn of(cmd: &str) -> OwnLine {
        let name = cmd.get(2..).unwrap_or("").split(['=', '?']).next().unwrap_or("");
        OwnLine(name.starts_with('+').then(|| format!("{name}: ")))
    }

    fn is(&self, line: &str) -> bool {
        self.0.as_ref().is_some_and(|own| line.starts_with(own.as_str()))
    }
}
