//! The control connection: sends commands, reads replies, each under a timeout, and reports
//! every line to tracing and the trace hook (passwords masked).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::command::Command;
use super::config::{Direction, TraceHook, TraceLine};
use super::error::{Channel, FtpError, Step, rustls_error};
use super::reply::{Reply, ReplyParser};
use super::stream::{FtpStream, SessionTls};

/// Preliminary (1xx) replies accepted before the one that matters; more means a broken server.
const MAX_PRELIMINARY: usize = 8;

/// The longest wait for QUIT's answer, or for the late reply of an abandoned transfer.
pub(crate) const SHORT_WAIT: Duration = Duration::from_secs(5);

/// One control connection.
pub(crate) struct Control {
    stream: FtpStream,
    parser: ReplyParser,
    trace: Option<TraceHook>,
    reply_timeout: Duration,
    /// A transfer was abandoned: its final reply may still arrive and must not be taken as
    /// the answer to the next command.
    stale: bool,
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control").field("stream", &self.stream).field("stale", &self.stale).finish_non_exhaustive()
    }
}

impl Control {
    /// A control connection over `stream`, whose greeting has not been read yet.
    pub(crate) fn new(stream: FtpStream, trace: Option<TraceHook>, reply_timeout: Duration) -> Self {
        Control { stream, parser: ReplyParser::new(), trace, reply_timeout, stale: false }
    }

    /// Runs the TLS handshake on this connection after `234` to `AUTH TLS` (explicit FTPS),
    /// within `wait`.
    ///
    /// Bytes the server sent after its last reply and before the handshake are refused: they
    /// would be taken as protected replies without being protected (STARTTLS injection).
    pub(crate) async fn secure(self, tls: &SessionTls, wait: Duration) -> Result<Control, FtpError> {
        if !self.parser.is_empty() {
            return Err(FtpError::Malformed("bytes after the reply to AUTH TLS, before the TLS handshake".into()));
        }
        let Control { stream, parser, trace, reply_timeout, stale } = self;
        let FtpStream::Plain(net) = stream else {
            return Err(FtpError::Malformed("AUTH TLS accepted on a connection already protected".into()));
        };
        let stream = tls.handshake(net, Channel::Control, wait).await?;
        Ok(Control { stream, parser, trace, reply_timeout, stale })
    }

    /// Reports every line to `hook` from now on (or stops, with `None`).
    pub(crate) fn set_trace(&mut self, hook: Option<TraceHook>) {
        self.trace = hook;
    }

    /// Ends a TLS control connection with `close_notify` (after QUIT), within `wait`.
    pub(crate) async fn close_notify(&mut self, wait: Duration) {
        self.stream.close_notify(wait).await;
    }

    /// This end's address (what PORT/EPRT announce).
    pub(crate) fn local_addr(&self) -> Result<SocketAddr, FtpError> {
        self.stream.local_addr().map_err(FtpError::Io)
    }

    /// The server's address (where passive data connections go).
    pub(crate) fn peer_addr(&self) -> Result<SocketAddr, FtpError> {
        self.stream.peer_addr().map_err(FtpError::Io)
    }

    /// Notes that a reply is outstanding (a transfer's final reply) and must be skipped
    /// before the next command unless [`Control::clear_stale`] claims it.
    pub(crate) fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// The outstanding reply is about to be read as the answer it is.
    pub(crate) fn clear_stale(&mut self) {
        self.stale = false;
    }

    /// Validates and sends one command; its reply is left unread.
    pub(crate) async fn send(&mut self, step: Step, cmd: &Command<'_>) -> Result<(), FtpError> {
        self.send_within(step, cmd, self.reply_timeout).await
    }

    /// Sends one command, waiting at most `wait` for the socket to take it.
    pub(crate) async fn send_within(&mut self, step: Step, cmd: &Command<'_>, wait: Duration) -> Result<(), FtpError> {
        self.drain_stale().await;
        let text = cmd.trace_text();
        tracing::debug!(target: "vmodem::ftp", "-> {text}");
        self.emit(Direction::Sent, text);
        let bytes = cmd.encode();
        let write = async {
            self.stream.write_all(&bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(wait, write).await {
            Ok(result) => result.map_err(io_error),
            Err(_) => Err(FtpError::Timeout(step)),
        }
    }

    /// Sends a command and returns its final (non-1xx) reply, whatever its code.
    pub(crate) async fn command(&mut self, step: Step, verb: &str, arg: &[u8]) -> Result<Reply, FtpError> {
        let cmd = Command::new(verb, arg)?;
        self.send(step, &cmd).await?;
        self.final_reply(step).await
    }

    /// The next reply that is not preliminary.
    pub(crate) async fn final_reply(&mut self, step: Step) -> Result<Reply, FtpError> {
        let mut reply = self.reply(step).await?;
        for _ in 0..MAX_PRELIMINARY {
            if !reply.is_preliminary() {
                break;
            }
            reply = self.reply(step).await?;
        }
        match reply.is_preliminary() {
            true => Err(FtpError::Rejected { step, reply }),
            false => Ok(reply),
        }
    }

    /// The next reply, within the reply timeout.
    pub(crate) async fn reply(&mut self, step: Step) -> Result<Reply, FtpError> {
        self.reply_within(step, self.reply_timeout).await
    }

    /// The next reply, within `wait`. After a timeout the reply may still come, so it is
    /// then treated as stale.
    pub(crate) async fn reply_within(&mut self, step: Step, wait: Duration) -> Result<Reply, FtpError> {
        match tokio::time::timeout(wait, self.read_reply(step)).await {
            Ok(result) => result,
            Err(_) => {
                self.stale = true;
                Err(FtpError::Timeout(step))
            }
        }
    }

    /// Reads until a reply is complete. Cancellation-safe: bytes already read stay in the
    /// parser. Bounded by the parser's size limit.
    async fn read_reply(&mut self, step: Step) -> Result<Reply, FtpError> {
        let mut buf = [0u8; 4096];
        loop {
            match self.parser.next_reply() {
                Ok(Some(reply)) => {
                    self.trace_reply(&reply);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(FtpError::Malformed(format!("{step}: {e}"))),
            }
            let n = match self.stream.read(&mut buf).await {
                Ok(0) => return Err(FtpError::ControlClosed),
                Ok(n) => n,
                Err(e) => return Err(io_error(e)),
            };
            self.parser.push(&buf[..n]);
        }
    }

    /// After an abandoned transfer: consumes the late final reply if it comes within a short
    /// wait, and any reply already buffered. Errors are left for the next read to meet.
    async fn drain_stale(&mut self) {
        if !std::mem::take(&mut self.stale) {
            return;
        }
        let wait = self.reply_timeout.min(SHORT_WAIT);
        if self.reply_within(Step::Other, wait).await.is_ok() {
            for reply in self.parser.discard_complete() {
                self.trace_reply(&reply);
            }
        }
        // A reply later than this is not waited for again.
        self.stale = false;
    }

    fn trace_reply(&self, reply: &Reply) {
        for line in &reply.lines {
            tracing::debug!(target: "vmodem::ftp", "<- {line}");
            self.emit(Direction::Received, line.clone());
        }
    }

    fn emit(&self, direction: Direction, text: String) {
        if let Some(hook) = &self.trace {
            hook(TraceLine { direction, text });
        }
    }
}

/// A reset or broken control connection is a lost connection, a TLS alert is an alert; other
/// errors stay IO errors.
fn io_error(e: io::Error) -> FtpError {
    if let Some(rustls::Error::AlertReceived(alert)) = rustls_error(&e) {
        return FtpError::TlsAlert { channel: Channel::Control, alert: *alert };
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            FtpError::ControlClosed
        }
        _ => FtpError::Io(e),
    }
}
