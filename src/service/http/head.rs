//! The response head as it arrived on the wire, for `AT+HTTPHEAD`. hyper parses the head
//! into a header map that keeps neither the names' case nor the exact order of the lines, so
//! this tap records the bytes hyper reads until the blank line that ends the head.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most head bytes recorded; a longer head is cut here.
const MAX_HEAD: usize = 64 * 1024;

/// A stream that records the first response head read through it (skipping `1xx` interim
/// heads); writes pass through untouched.
pub(super) struct HeadTap<S> {
    inner: S,
    record: Arc<Mutex<Record>>,
}

/// The recorded head, readable once hyper has parsed the response.
#[derive(Debug, Clone)]
pub(super) struct Head(Arc<Mutex<Record>>);

#[derive(Debug, Default)]
struct Record {
    bytes: Vec<u8>,
    done: bool,
}

impl<S> HeadTap<S> {
    /// Taps `inner`; the [`Head`] reads what it records.
    pub(super) fn new(inner: S) -> (HeadTap<S>, Head) {
        let record = Arc::new(Mutex::new(Record::default()));
        (HeadTap { inner, record: record.clone() }, Head(record))
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

impl<S: AsyncRead + Unpin> AsyncRead for HeadTap<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let mut record = this.record.lock().unwrap_or_else(|e| e.into_inner());
        record.keep(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadTap<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
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
        let (tap, head) = HeadTap::new(());
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
    fn a_huge_head_is_cut() {
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 2 * MAX_HEAD));
        assert_eq!(recorded(&[&long]).len(), MAX_HEAD + 2);
    }
}
