//! Running a compiled transcript over a byte stream: send, then match what arrives against the
//! expectation, part by part, and stop at the first difference with a readable report.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::content::escape;
use super::parse::{Count, Expect, PeerStep, Program, Step};
use crate::modem::ModemHandle;
use crate::sms::centre::Incoming;
use crate::sms::pdu::Timestamp;

/// How long each expectation may take unless the transcript says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence that counts as "the line is quiet" before the start and after the end.
const QUIET: Duration = Duration::from_millis(300);
/// The longest the start-up drain waits for the line to go quiet.
const SYNC_MAX: Duration = Duration::from_secs(10);
/// When the centre took a message `@sms` brings: M800 §20.7's example time, so transcripts
/// read fixed bytes.
const SMS_TIME: Timestamp =
    Timestamp { year: 2, month: 1, day: 30, hour: 20, minute: 40, second: 31, quarter_hours: 0 };
/// The longest number a `{$name}` capture takes.
const MAX_DIGITS: usize = 19;

/// A run that went as the transcript says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes sent.
    pub sent: u64,
    /// Bytes received and matched.
    pub received: u64,
}

/// Where a run first differed from its transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The transcript line of the expectation (0 after the last line).
    pub line: usize,
    /// What went wrong.
    pub reason: String,
    /// What was expected from the point of difference (escaped).
    pub expected: String,
    /// What arrived from the point of difference (escaped).
    pub received: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}\n  expected: {}\n  received: {}", self.line, self.reason, self.expected, self.received)
    }
}

impl std::error::Error for Mismatch {}

/// Runs `program` over `line`.
pub async fn run<L: AsyncRead + AsyncWrite + Unpin>(program: &Program, line: &mut L) -> Result<Outcome, Mismatch> {
    run_with(program, line, None).await
}

/// Like [`run`], with `network` to carry out the transcript's `@network` steps (an in-process
/// modem's [`ModemHandle`]); without one such a step fails the run.
pub async fn run_with<L: AsyncRead + AsyncWrite + Unpin>(
    program: &Program,
    line: &mut L,
    network: Option<&ModemHandle>,
) -> Result<Outcome, Mismatch> {
    let timed = run_timed(program, line, network).await;
    timed.result.map(|()| timed.outcome)
}

/// One step of a run: a command sent and what it brought, up to the next command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTime {
    /// What was sent: the command line, or `<N bytes>` for data.
    pub command: String,
    /// From sending it to the last byte expected of it.
    pub took: Duration,
    /// Whether what came was what the transcript says.
    pub passed: bool,
}

/// A run's result with what it moved and how long each step took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// As [`run_with`] says, without the counts.
    pub result: Result<(), Mismatch>,
    /// Bytes sent and matched, up to the end or the difference.
    pub outcome: Outcome,
    /// The steps, in order, up to and including the one that differed.
    pub steps: Vec<StepTime>,
}

/// Like [`run_with`], timing each step (a load generator's report).
pub async fn run_timed<L: AsyncRead + AsyncWrite + Unpin>(
    program: &Program,
    line: &mut L,
    network: Option<&ModemHandle>,
) -> Timed {
    let mut steps: Vec<StepTime> = Vec::new();
    // The step in progress: what it sent, when, and when its last expectation was met.
    let mut current: Option<(String, Instant, Instant)> = None;
    let mut r = Runner {
        line,
        buf: Vec::new(),
        vars: HashMap::new(),
        timeout: DEFAULT_TIMEOUT,
        outcome: Outcome { sent: 0, received: 0 },
    };
    let result = steps_of(program, &mut r, network, &mut |mark: Mark<'_>| {
        let now = Instant::now();
        if let (Mark::Matched, Some((_, _, met))) = (&mark, current.as_mut()) {
            *met = now;
            return;
        }
        if let Some((command, started, met)) = current.take() {
            let passed = !matches!(mark, Mark::End(false));
            let end = if passed { met } else { now };
            steps.push(StepTime { command, took: end - started, passed });
        }
        if let Mark::Sent(bytes) = mark {
            current = Some((step_name(bytes), now, now));
        }
    })
    .await;
    Timed { result, outcome: r.outcome, steps }
}

/// How a step is named in a report: its command line with its secrets masked, or its size if
/// it is data.
fn step_name(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\r', '\n']);
    let printable = text.len() <= 80 && text.chars().all(|c| !c.is_control());
    if printable { crate::dialect::secrets::redact_line(text) } else { format!("<{} bytes>", bytes.len()) }
}

/// What a run tells its observer as it goes.
enum Mark<'a> {
    /// These bytes were sent: a step starts.
    Sent(&'a [u8]),
    /// An expectation was met.
    Matched,
    /// The run ended: as the transcript says, or not.
    End(bool),
}

/// Runs the steps of `program` on `r`, telling `mark` as it goes.
async fn steps_of<L: AsyncRead + AsyncWrite + Unpin>(
    program: &Program,
    r: &mut Runner<'_, L>,
    network: Option<&ModemHandle>,
    mark: &mut impl FnMut(Mark<'_>),
) -> Result<(), Mismatch> {
    let result = steps_until_difference(program, r, network, mark).await;
    mark(Mark::End(result.is_ok()));
    result
}

async fn steps_until_difference<L: AsyncRead + AsyncWrite + Unpin>(
    program: &Program,
    r: &mut Runner<'_, L>,
    network: Option<&ModemHandle>,
    mark: &mut impl FnMut(Mark<'_>),
) -> Result<(), Mismatch> {
    let mut peer = None;
    if !program.starts_with_expect {
        r.drain_until_quiet().await;
    }
    for step in &program.steps {
        match step {
            Step::Send(bytes) => {
                mark(Mark::Sent(bytes));
                r.send(bytes).await?
            }
            Step::Expect { line, parts } => {
                r.expect(*line, parts).await?;
                mark(Mark::Matched);
            }
            Step::Sleep(d) => tokio::time::sleep(*d).await,
            Step::Timeout(d) => r.timeout = *d,
            Step::Network(event) => {
                if !network.is_some_and(|n| n.network(*event)) {
                    return Err(r.fail_text(0, format!("@network {event:?} needs an in-process modem"), String::new()));
                }
            }
            Step::Peer(step) => r.peer(&mut peer, step).await?,
            Step::Sms { from, text } => {
                let parts = crate::sms::message(from, text, None, SMS_TIME)
                    .map_err(|e| r.fail_text(0, e.to_string(), String::new()))?;
                if !parts.into_iter().all(|d| network.is_some_and(|n| n.sms(Incoming::Deliver(d)))) {
                    return Err(r.fail_text(0, "@sms needs an in-process modem".into(), String::new()));
                }
            }
        }
    }
    r.expect_quiet().await
}

struct Runner<'a, L> {
    line: &'a mut L,
    buf: Vec<u8>,
    vars: HashMap<String, usize>,
    timeout: Duration,
    outcome: Outcome,
}

impl<L: AsyncRead + AsyncWrite + Unpin> Runner<'_, L> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), Mismatch> {
        let io = async {
            self.line.write_all(bytes).await?;
            self.line.flush().await
        };
        io.await.map_err(|e| self.fail(0, format!("cannot send: {e}"), bytes))?;
        self.outcome.sent += bytes.len() as u64;
        Ok(())
    }

    /// What the remote peer does, on its connection `peer`.
    async fn peer(&self, peer: &mut Option<TcpStream>, step: &PeerStep) -> Result<(), Mismatch> {
        let fail = |line: usize, reason: String| self.fail_text(line, format!("@peer: {reason}"), String::new());
        match (step, peer.as_mut()) {
            (PeerStep::Connect(port), _) => {
                let connected = timeout(self.timeout, TcpStream::connect(("127.0.0.1", *port))).await;
                let stream = connected.map_err(|_| fail(0, format!("connecting to {port} timed out")))?;
                *peer = Some(stream.map_err(|e| fail(0, format!("cannot connect to {port}: {e}")))?);
            }
            (PeerStep::Send(bytes), Some(stream)) => {
                stream.write_all(bytes).await.map_err(|e| fail(0, format!("cannot send: {e}")))?;
            }
            (PeerStep::Expect { line, bytes }, Some(stream)) => {
                let mut got = vec![0u8; bytes.len()];
                match timeout(self.timeout, stream.read_exact(&mut got)).await {
                    Ok(Ok(_)) if got == *bytes => {}
                    Ok(Ok(_)) => {
                        let (expected, received) = (escape(bytes), escape(&got));
                        return Err(Mismatch { line: *line, reason: "@peer: bytes differ".into(), expected, received });
                    }
                    Ok(Err(e)) => return Err(fail(*line, format!("cannot receive: {e}"))),
                    Err(_) => return Err(fail(*line, "timed out".into())),
                }
            }
            (PeerStep::Close, Some(_)) => *peer = None,
            (_, None) => return Err(fail(0, "not connected (@peer connect first)".into())),
        }
        Ok(())
    }

    /// Reads more input into the buffer before `deadline`.
    async fn fill(&mut self, deadline: Instant) -> Result<(), String> {
        let mut chunk = [0u8; 16 * 1024];
        match timeout_at(deadline, self.line.read(&mut chunk)).await {
            Err(_) => Err("timed out".into()),
            Ok(Ok(0)) => Err("the line closed".into()),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("read error: {e}")),
        }
    }

    async fn expect(&mut self, line: usize, parts: &[Expect]) -> Result<(), Mismatch> {
        let deadline = Instant::now() + self.timeout;
        for (i, part) in parts.iter().enumerate() {
            let rest = || describe(&parts[i..]);
            match part {
                Expect::Bytes(want) => {
                    let mut matched = 0;
                    while matched < want.len() {
                        let n = self.buf.len().min(want.len() - matched);
                        if let Some(at) = (0..n).find(|&k| self.buf[k] != want[matched + k]) {
                            let mut expected = escape(&want[matched + at..]);
                            expected.truncate(200);
                            return Err(self.fail_at(line, "bytes differ".into(), expected, at));
                        }
                        self.consume(n);
                        matched += n;
                        if matched < want.len() {
                            self.fill(deadline).await.map_err(|e| self.fail(line, e, &want[matched..]))?;
                        }
                    }
                }
                Expect::Number(name) => {
                    let digits = loop {
                        let digits = self.buf.iter().take_while(|b| b.is_ascii_digit()).count();
                        if digits < self.buf.len() || digits > MAX_DIGITS {
                            break digits;
                        }
                        self.fill(deadline).await.map_err(|e| self.fail_text(line, e, rest()))?;
                    };
                    let number = std::str::from_utf8(&self.buf[..digits]).ok().and_then(|d| d.parse().ok());
                    let Some(number) = number.filter(|_| digits > 0 && digits <= MAX_DIGITS) else {
                        return Err(self.fail_text(line, "expected a number".into(), rest()));
                    };
                    self.vars.insert(name.clone(), number);
                    self.consume(digits);
                }
                Expect::Rest => {
                    // Up to the next literal part if it is on this line, else up to the CR.
                    let next = match parts.get(i + 1) {
                        Some(Expect::Bytes(b)) if !b.is_empty() => Some(b.as_slice()),
                        _ => None,
                    };
                    let end = loop {
                        let cr = self.buf.iter().position(|&b| b == b'\r');
                        let Some(next) = next else {
                            match cr {
                                Some(cr) => break cr,
                                None => self.fill(deadline).await.map_err(|e| self.fail_text(line, e, rest()))?,
                            }
                            continue;
                        };
                        let found = self.buf.windows(next.len()).position(|w| w == next);
                        match (found, cr) {
                            (Some(at), Some(cr)) if at > cr => {}
                            (Some(at), _) => break at,
                            _ => {}
                        }
                        // Give up once no start at or before the CR can still become a match.
                        let buf = &self.buf;
                        let possible = |cr: usize| {
                            (0..=cr).any(|p| {
                                let avail = (buf.len() - p).min(next.len());
                                buf[p..p + avail] == next[..avail]
                            })
                        };
                        if cr.is_some_and(|cr| !possible(cr)) {
                            return Err(self.fail_text(line, "the line ends before the text after {*}".into(), rest()));
                        }
                        self.fill(deadline).await.map_err(|e| self.fail_text(line, e, rest()))?;
                    };
                    self.consume(end);
                }
                Expect::Any(count) => {
                    let n = match count {
                        Count::Fixed(n) => *n,
                        Count::Var(name) => match self.vars.get(name) {
                            Some(n) => *n,
                            None => {
                                return Err(self.fail_text(line, format!("{{$${name}}} was never captured"), rest()));
                            }
                        },
                    };
                    let mut left = n;
                    while left > 0 {
                        if self.buf.is_empty() {
                            self.fill(deadline).await.map_err(|e| self.fail_text(line, e, rest()))?;
                        }
                        let take = left.min(self.buf.len());
                        self.consume(take);
                        left -= take;
                    }
                }
            }
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.outcome.received += n as u64;
    }

    /// Discards what the modem sent before the transcript begins (boot URCs).
    async fn drain_until_quiet(&mut self) {
        let start = Instant::now();
        let mut chunk = [0u8; 4096];
        while start.elapsed() < SYNC_MAX {
            match timeout(QUIET, self.line.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => continue,
                _ => return,
            }
        }
    }

    /// After the last line nothing more may arrive.
    async fn expect_quiet(&mut self) -> Result<(), Mismatch> {
        if self.buf.is_empty() {
            let _ = self.fill(Instant::now() + QUIET).await;
        }
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.fail_text(0, "unexpected bytes after the end of the transcript".into(), "(nothing)".into()))
        }
    }

    fn fail(&self, line: usize, reason: String, expected: &[u8]) -> Mismatch {
        let mut e = escape(expected);
        e.truncate(200);
        self.fail_at(line, reason, e, 0)
    }

    fn fail_text(&self, line: usize, reason: String, expected: String) -> Mismatch {
        self.fail_at(line, reason, expected, 0)
    }

    fn fail_at(&self, line: usize, reason: String, expected: String, at: usize) -> Mismatch {
        let mut received = escape(&self.buf[at.min(self.buf.len())..]);
        received.truncate(200);
        if received.is_empty() {
            received = "(nothing)".into();
        }
        Mismatch { line, reason, expected, received }
    }
}

/// A short readable form of the remaining expectation.
fn describe(parts: &[Expect]) -> String {
    let mut s = String::new();
    for p in parts {
        match p {
            Expect::Bytes(b) => s.push_str(&escape(b)),
            Expect::Number(n) => s.push_str(&format!("{{${n}}}")),
            Expect::Rest => s.push_str("{*}"),
            Expect::Any(Count::Fixed(n)) => s.push_str(&format!("{{any:{n}}}")),
            Expect::Any(Count::Var(n)) => s.push_str(&format!("{{any:${n}}}")),
        }
        if s.len() > 200 {
            s.truncate(200);
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Script;
    use std::collections::BTreeMap;

    async fn against(transcript: &str, modem_output: &'static [u8]) -> Result<Outcome, Mismatch> {
        let program = Script::parse(transcript).unwrap().compile(&BTreeMap::new()).unwrap();
        let (mut host, mut modem) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut sink = vec![0u8; 1024];
            let _ = modem.read(&mut sink).await;
            modem.write_all(modem_output).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        run(&program, &mut host).await
    }

    #[tokio::test]
    async fn matching_output_passes() {
        let t = "@echo off\n> AT+X\n< +X: 2,{$n}\n<< {any:$n}\n< OK\n";
        assert!(against(t, b"\r\n+X: 2,3\r\nabc\r\nOK\r\n").await.is_ok());
    }

    #[tokio::test]
    async fn a_wildcard_stops_at_the_text_after_it() {
        let t = "@echo off\n> AT\n<< a{*} 1024 x\\r\\n\n";
        assert!(against(t, b"a  b  c 1024 x\r\n").await.is_ok());
        let m = against(t, b"a  b  c 1025 x\r\n").await.unwrap_err();
        assert!(m.reason.contains("line ends"), "{m}");
    }

    #[tokio::test]
    async fn a_difference_is_reported_at_its_line() {
        let t = "@echo off\n> AT\n< OK\n";
        let m = against(t, b"\r\nERROR\r\n").await.unwrap_err();
        assert_eq!(m.line, 3);
        assert!(m.received.starts_with("ERROR"), "{m}");
    }

    #[tokio::test]
    async fn extra_output_after_the_end_fails() {
        let t = "@echo off\n> AT\n< OK\n";
        let m = against(t, b"\r\nOK\r\n\r\n+URC: 1\r\n").await.unwrap_err();
        assert!(m.reason.contains("after the end"), "{m}");
    }

    #[tokio::test]
    async fn missing_output_times_out() {
        let t = "@echo off\n@timeout 0.2\n> AT\n< OK\n";
        let m = against(t, b"\r\nO").await.unwrap_err();
        assert!(m.reason.contains("timed out"), "{m}");
    }
}
