//! A transfer in progress: the data connection as an `AsyncRead` ([`Download`]: files and
//! listings) or `AsyncWrite` ([`Upload`]), ended by [`FtpSession::finish`], which closes it
//! properly and reads the final reply.
//!
//! Nothing is buffered beyond one small chunk: a download moves only as fast as its caller
//! reads, so a slow reader slows the server through TCP flow control and memory stays flat.
//! A data connection on which nothing moves for the idle timeout fails with `TimedOut`.
//! Errors met while reading or writing are remembered, and `finish` reports them classified.
//!
//! On FTPS, `finish` ends the data connection's TLS with `close_notify`. A server that closes
//! a download's connection without its own `close_notify` is tolerated only when its final
//! reply is a success and the byte count is the one it announced: a truncated download is
//! never reported complete.
//!
//! Finish (or drop) a transfer before the session's next command. Dropping one abandons it:
//! the data connection closes and the session skips the late final reply before its next
//! command (or the session is dropped too, closing everything at once).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ascii::{CrlfToLf, LfToCrlf};
use super::control::SHORT_WAIT;
use super::error::{Channel, FtpError, Step, TransferFault, rustls_error};
use super::idle::Idle;
use super::reply::Reply;
use super::session::FtpSession;
use super::stream::FtpStream;

/// Bytes converted at a time in ASCII mode (the only buffering a transfer does).
const ASCII_CHUNK: usize = 8 * 1024;

/// How a transfer ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The 1xx reply to the transfer command (for STOU it names the file).
    pub preliminary: Reply,
    /// The final 2xx reply.
    pub reply: Reply,
    /// Bytes handed to the caller (downloads) or taken from it (uploads), before any
    /// ASCII conversion on the wire.
    pub bytes: u64,
}

/// A transfer to end with [`FtpSession::finish`]: a [`Download`] or an [`Upload`].
#[derive(Debug)]
pub enum Transfer {
    /// A file or listing being read.
    Download(Download),
    /// A file being written.
    Upload(Upload),
}

impl From<Download> for Transfer {
    fn from(d: Download) -> Self {
        Transfer::Download(d)
    }
}

impl From<Upload> for Transfer {
    fn from(u: Upload) -> Self {
        Transfer::Upload(u)
    }
}

impl FtpSession {
    /// Ends a transfer: shuts an upload down (the server sees a clean end of file), closes
    /// the data connection and reads the final reply. Called before the end of a download,
    /// it abandons the rest (servers then answer 426 or 226).
    pub async fn finish(&mut self, transfer: impl Into<Transfer>) -> Result<Completed, FtpError> {
        let wait = self.timeouts.idle.min(SHORT_WAIT);
        let (step, preliminary, bytes, fault, short) = match transfer.into() {
            Transfer::Download(mut d) => {
                d.data.get_mut().close_notify(wait).await;
                // Without the server's close_notify, only the announced size (when there is
                // one) tells a complete download from a truncated one.
                let short = d.data.get_ref().unclean_eof() && d.expected.is_some_and(|n| n != d.bytes);
                (d.step, d.preliminary, d.bytes, d.fault, short)
            }
            Transfer::Upload(mut u) => {
                if u.fault.is_none() {
                    // An error here is recorded in `u.fault` by `poll_shutdown`.
                    let _ = poll_fn(|cx| Pin::new(&mut u).poll_shutdown(cx)).await;
                }
                if u.fault.is_none() {
                    u.data.get_mut().drain(wait).await;
                }
                (u.step, u.preliminary, u.bytes, u.fault, false)
            }
        };
        self.open = None;
        if let Some(fault) = fault {
            // The final reply may still come; the next command skips it.
            return Err(transfer_error(step, fault));
        }
        self.control.clear_stale();
        let reply = self.control.final_reply(step).await?;
        if reply.is_completion() && short {
            let e = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "TLS data connection closed without close_notify short of the announced size",
            );
            Err(FtpError::TransferBroken { step, fault: TransferFault::Data(e) })
        } else if reply.is_completion() {
            Ok(Completed { preliminary, reply, bytes })
        } else if bytes == 0 && reply.code >= 500 {
            // A refusal reported after the 1xx (libunftp answers a missing file with 150
            // and then 550, where other servers answer 550 at once).
            Err(FtpError::Rejected { step, reply })
        } else {
            Err(FtpError::TransferBroken { step, fault: TransferFault::Reply(reply) })
        }
    }

    /// Classifies an error met while reading or writing the current transfer's stream (a
    /// stall becomes [`TransferFault::Stalled`], a TLS alert [`FtpError::TlsAlert`]).
    pub fn broken(&self, e: io::Error) -> FtpError {
        transfer_error(self.open.unwrap_or(Step::Other), io_to_fault(&e))
    }
}

/// A broken transfer, or the TLS alert that broke it.
fn transfer_error(step: Step, fault: TransferFault) -> FtpError {
    if let TransferFault::Data(e) = &fault
        && let Some(rustls::Error::AlertReceived(alert)) = rustls_error(e)
    {
        return FtpError::TlsAlert { channel: Channel::Data, alert: *alert };
    }
    FtpError::TransferBroken { step, fault }
}

/// A download or listing in progress: read it to the end, then [`FtpSession::finish`] it.
#[derive(Debug)]
pub struct Download {
    step: Step,
    preliminary: Reply,
    /// The size the 1xx announced, for a whole binary file (checked after a TLS end
    /// without `close_notify`).
    expected: Option<u64>,
    data: Idle<FtpStream>,
    ascii: Option<AsciiIn>,
    bytes: u64,
    fault: Option<TransferFault>,
}

impl Download {
    /// A download over `data`, converting CRLF to LF when `ascii`. `whole` says the bytes
    /// are the whole file as stored (binary, from offset 0), so the size a 1xx announces must
    /// match.
    pub(super) fn new(
        step: Step,
        data: FtpStream,
        preliminary: Reply,
        idle: Duration,
        ascii: bool,
        whole: bool,
    ) -> Self {
        Download {
            step,
            expected: whole.then(|| announced_size(&preliminary)).flatten(),
            preliminary,
            data: Idle::new(data, idle),
            ascii: ascii.then(AsciiIn::default),
            bytes: 0,
            fault: None,
        }
    }

    /// The 1xx reply to the transfer command.
    pub fn preliminary(&self) -> &Reply {
        &self.preliminary
    }
}

impl AsyncRead for Download {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(fault) = &this.fault {
            return Poll::Ready(Err(fault_to_io(fault)));
        }
        let before = buf.filled().len();
        let result = match &mut this.ascii {
            Some(ascii) => ascii.poll_read(&mut this.data, cx, buf),
            None => Pin::new(&mut this.data).poll_read(cx, buf),
        };
        match ready!(result) {
            Ok(()) => {
                this.bytes += (buf.filled().len() - before) as u64;
                Poll::Ready(Ok(()))
            }
            Err(e) => {
                this.fault = Some(io_to_fault(&e));
                Poll::Ready(Err(e))
            }
        }
    }
}

/// Download-side ASCII conversion: raw bytes wait in a small scratch buffer until converted.
#[derive(Debug)]
struct AsciiIn {
    codec: CrlfToLf,
    scratch: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
}

impl Default for AsciiIn {
    fn default() -> Self {
        AsciiIn { codec: CrlfToLf::default(), scratch: vec![0; ASCII_CHUNK].into(), start: 0, end: 0, eof: false }
    }
}

impl AsciiIn {
    fn poll_read(
        &mut self,
        data: &mut Idle<FtpStream>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Each pass returns or refills the scratch buffer from the socket. A refill always
        // yields output on the next pass (only a lone trailing CR is held back), so this
        // runs at most three times.
        loop {
            if self.start < self.end {
                let (used, made) = self.codec.convert(&self.scratch[self.start..self.end], buf.initialize_unfilled());
                self.start += used;
                buf.advance(made);
                if made > 0 {
                    return Poll::Ready(Ok(()));
                }
            }
            if self.eof {
                if let Some(cr) = self.codec.finish() {
                    buf.put_slice(&[cr]);
                }
                return Poll::Ready(Ok(()));
            }
            let mut raw = ReadBuf::new(&mut self.scratch);
            ready!(Pin::new(&mut *data).poll_read(cx, &mut raw))?;
            self.end = raw.filled().len();
            self.start = 0;
            self.eof = self.end == 0;
        }
    }
}

/// An upload in progress: write the data, then [`FtpSession::finish`] it.
#[derive(Debug)]
pub struct Upload {
    step: Step,
    preliminary: Reply,
    data: Idle<FtpStream>,
    ascii: Option<LfToCrlf>,
    /// Converted bytes (ASCII mode) not yet written, from `pending_at` on.
    pending: Vec<u8>,
    pending_at: usize,
    bytes: u64,
    fault: Option<TransferFault>,
}

impl Upload {
    /// An upload over `data`, converting bare LF to CRLF when `ascii`.
    pub(super) fn new(step: Step, data: FtpStream, preliminary: Reply, idle: Duration, ascii: bool) -> Self {
        Upload {
            step,
            preliminary,
            data: Idle::new(data, idle),
            ascii: ascii.then(LfToCrlf::default),
            pending: Vec::new(),
            pending_at: 0,
            bytes: 0,
            fault: None,
        }
    }

    /// The 1xx reply to the transfer command (for STOU: [`Reply::stou_file_name`]).
    pub fn preliminary(&self) -> &Reply {
        &self.preliminary
    }

    /// Writes out converted bytes still pending.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Each pass writes at least one byte or returns.
        while self.pending_at < self.pending.len() {
            let n = ready!(Pin::new(&mut self.data).poll_write(cx, &self.pending[self.pending_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_at += n;
        }
        self.pending.clear();
        self.pending_at = 0;
        Poll::Ready(Ok(()))
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        let Some(ascii) = &mut self.ascii else {
            let n = ready!(Pin::new(&mut self.data).poll_write(cx, buf))?;
            self.bytes += n as u64;
            return Poll::Ready(Ok(n));
        };
        let take = buf.len().min(ASCII_CHUNK);
        ascii.convert(&buf[..take], &mut self.pending);
        self.bytes += take as u64;
        // The bytes are taken; start sending them now. If the socket is full, the next call
        // (or flush) waits for it.
        if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(take))
    }

    /// Passes a poll result through, remembering the first error for `finish`.
    fn record<T>(&mut self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(e)) = &result
            && self.fault.is_none()
        {
            self.fault = Some(io_to_fault(e));
        }
        result
    }

    fn check(&self) -> io::Result<()> {
        self.fault.as_ref().map_or(Ok(()), |f| Err(fault_to_io(f)))
    }
}

impl AsyncWrite for Upload {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        let result = this.poll_write_inner(cx, buf);
        this.record(result)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        let result = match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.data).poll_flush(cx),
            other => other,
        };
        this.record(result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        let result = match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.data).poll_shutdown(cx),
            other => other,
        };
        this.record(result)
    }
}

/// The size in a 1xx such as vsftpd's and proftpd's `150 Opening BINARY mode data connection
/// for f (1234 bytes)`.
fn announced_size(reply: &Reply) -> Option<u64> {
    let text = reply.text();
    let end = text.rfind(" bytes)")?;
    let start = text[..end].rfind('(')? + 1;
    text[start..end].trim().parse().ok()
}

fn io_to_fault(e: &io::Error) -> TransferFault {
    match e.kind() {
        io::ErrorKind::TimedOut => TransferFault::Stalled,
        _ => TransferFault::Data(copy_io(e)),
    }
}

fn fault_to_io(fault: &TransferFault) -> io::Error {
    match fault {
        TransferFault::Stalled => io::Error::new(io::ErrorKind::TimedOut, "the data connection stalled"),
        TransferFault::Data(e) => copy_io(e),
        TransferFault::Reply(r) => io::Error::other(r.to_string()),
    }
}

/// A copy of an IO error that keeps a rustls error inside it (so an alert stays an alert).
fn copy_io(e: &io::Error) -> io::Error {
    match rustls_error(e) {
        Some(tls) => io::Error::new(e.kind(), tls.clone()),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_sizes() {
        let reply = |text: &str| Reply { code: 150, lines: vec![text.to_string()] };
        let vsftpd = reply("150 Opening BINARY mode data connection for hello.txt (18 bytes).");
        assert_eq!(announced_size(&vsftpd), Some(18));
        let proftpd = reply("150 Opening BINARY mode data connection for a (b).bin (1048576 bytes)");
        assert_eq!(announced_size(&proftpd), Some(1_048_576));
        assert_eq!(announced_size(&reply("150 Sending data")), None);
        assert_eq!(announced_size(&reply("150 Here (many bytes)")), None);
    }
}
