//! What crosses an HTTP connection, as hyper cannot tell it: the response head as it arrived
//! on the wire, for `AT+HTTPHEAD` (hyper parses the head into a header map that keeps neither
//! the names' case nor the exact order of the lines, so the tap records the bytes hyper reads
//! until the blank line that ends the head); and the request body bytes that have gone out,
//! for `AT+HTTPSTATUS?` (hyper takes a body whole, long before the socket has sent it, so the
//! tap counts the bytes written after the blank line that ends the request head).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::service::sink::Progress;

/// The most head bytes recorded; a longer head is cut here.
const MAX_HEAD: usize = 64 * 1024;

/// A stream that records the first response head read through it (skipping `1xx` interim
/// heads) and counts the request body bytes written through it.
pub(super) struct Tap<S> {
    inner: S,
    record: Arc<Mutex<Record>>,
    upload: Upload,
}

/// The recorded head, readable once hyper has parsed the response.
#[derive(Debug, Clone)]
pub(super) struct Head(Arc<Mutex<Record>>);

#[derive(Debug, Default)]
struct Record {
    bytes: Vec<u8>,
    done: bool,
}

/// The request as it goes out: the head, then body bytes counted into `sent`.
#[derive(Debug, Default)]
struct Upload {
    /// The last bytes of the head so far (the blank line may straddle two writes).
    tail: Vec<u8>,
    /// Body bytes written, once the head has ended.
    body: Option<u64>,
    sent: Option<Progress>,
}

impl<S> Tap<S> {
    /// Taps `inner`; the [`Head`] reads what it records, `sent` counts the body bytes that go
    /// out.
    pub(super) fn new(inner: S, sent: Option<Progress>) -> (Tap<S>, Head) {
        let record = Arc::new(Mutex::new(Record::default()));
        let upload = Upload { sent, ..Upload::default() };
        (Tap { inner, record: record.clone(), upload }, Head(record))
    }
}

impl Head {
    /// The status line and header lines, each ending in CRLF, without the blank line that
    /// ends the head; bytes that are not UTF-8 replaced.
    pub(super) fn text(&self) -> String {
        let record = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&record.bytes);
        let mut out = String::with_capacity(text.len());
        for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).take_while(|l| !l.is_empty()) {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out
    }
}

impl Record {
    fn keep(&mut self, mut data: &[u8]) {
        while !self.done && !data.is_empty() {
            let before = self.bytes.len();
            // The blank line may straddle two reads.
            let from = before.saturating_sub(3);
            let take = data.len().min(MAX_HEAD - before);
            self.bytes.extend_from_slice(&data[..take]);
            match blank_line_end(&self.bytes[from..]) {
                Some(end) => {
                    let end = from + end;
                    self.bytes.truncate(end);
                    data = &data[end - before..];
                    match informational(&self.bytes) {
                        true => self.bytes.clear(),
                        false => self.done = true,
                    }
                }
                None => {
                    data = &data[take..];
                    self.done = self.bytes.len() >= MAX_HEAD;
                }
            }
        }
    }
}

impl Upload {
    /// Counts `data`, just written.
    fn wrote(&mut self, data: &[u8]) {
        let Some(sent) = &self.sent else { return };
        let body = match self.body {
            Some(before) => before + data.len() as u64,
            None => {
                self.tail.extend_from_slice(data);
                match blank_line_end(&self.tail) {
                    Some(end) => (self.tail.len() - end) as u64,
                    None => {
                        self.tail.drain(..self.tail.len().saturating_sub(3));
                        return;
                    }
                }
            }
        };
        self.tail = Vec::new();
        self.body = Some(body);
        sent.set(body);
    }
}

/// Where the first blank line (CRLF CRLF, or bare LFs) ends.
fn blank_line_end(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().find_map(|(i, &b)| match (b, bytes.get(i + 1), bytes.get(i + 2)) {
        (b'\n', Some(b'\n'), _) => Some(i + 2),
        (b'\n', Some(b'\r'), Some(b'\n')) => Some(i + 3),
        _ => None,
    })
}

/// Whether a head is a `1xx` interim response (`100 Continue`), which a final one follows.
fn informational(head: &[u8]) -> bool {
    let mut words = head.split(|&b| b == b' ');
    let status = words.nth(1).unwrap_or_default();
    head.starts_with(b"HTTP/") && status.len() == 3 && status[0] == b'1'
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let mut record = this.record.lock().unwrap_or_else(|e| e.into_inner());
        record.keep(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.upload.wrote(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(chunks: &[&[u8]]) -> String {
        let (tap, head) = Tap::new((), None);
        for chunk in chunks {
            tap.record.lock().unwrap().keep(chunk);
        }
        head.text()
    }

    #[test]
    fn the_head_ends_at_the_blank_line_even_across_reads() {
        let want = "HTTP/1.1 200 OK\r\nServer: nginx\r\nETag: \"x\"\r\n";
        let whole = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nETag: \"x\"\r\n\r\nbody\r\n\r\nmore";
        assert_eq!(recorded(&[whole]), want);
        for split in 1..whole.len() {
            assert_eq!(recorded(&[&whole[..split], &whole[split..]]), want, "split at {split}");
        }
        assert_eq!(recorded(&[b"HTTP/1.0 404 Not Found\nA: b\n\nbody"]), "HTTP/1.0 404 Not Found\r\nA: b\r\n");
    }

    #[test]
    fn interim_heads_are_skipped() {
        let text = recorded(&[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX: 1\r\n\r\n"]);
        assert_eq!(text, "HTTP/1.1 201 Created\r\nX: 1\r\n");
    }

    #[test]
    fn body_bytes_count_from_the_end_of_the_request_head_across_writes() {
        let request = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabcdef";
        let head = request.len() - 6;
        for split in 1..request.len() {
            let sent = Progress::default();
            let mut upload = Upload { sent: Some(sent.clone()), ..Upload::default() };
            upload.wrote(&request[..split]);
            assert_eq!(sent.get(), split.saturating_sub(head) as u64, "split at {split}");
            upload.wrote(&request[split..]);
            assert_eq!(sent.get(), 6, "split at {split}");
        }
    }

    #[test]
    fn a_huge_head_is_cut() {
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 2 * MAX_HEAD));
        assert_eq!(recorded(&[&long]).len(), MAX_HEAD + 2);
    }
}
