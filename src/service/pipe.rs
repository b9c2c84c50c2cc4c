//! A bounded byte pipe between a service task and the modem. Downloads flow service → modem
//! (the service writes asynchronously and waits while the pipe is full, so the server socket
//! is not read: backpressure; the dialect reads synchronously when the host asks). Uploads
//! flow the other way. Memory stays at the capacity however slowly the other side reads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Bytes a pipe holds at most when not told otherwise.
pub const DEFAULT_CAPACITY: usize = 64 * 1024;

#[derive(Debug, Default)]
struct State {
    buf: VecDeque<u8>,
    /// The writer has finished (dropped or closed): no more bytes will come.
    closed: bool,
    /// The reader is gone: writes fail.
    abandoned: bool,
    /// A write found the pipe full: writes wait until it has drained to the resume mark.
    stalled: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    capacity: usize,
    /// Once full, the pipe takes bytes again when it holds at most this many.
    resume_at: usize,
    /// Wakes a writer waiting for room, or a reader waiting for bytes.
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the byte queue inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a read that left `st` should wake the writer: only a stalled writer waits, and
    /// only for the resume mark. Waking it on every read cost a task wake-up per
    /// `AT+FTPGET=2,1460` while the pipe was full.
    fn resumes(&self, st: &State) -> bool {
        st.stalled && st.buf.len() <= self.resume_at
    }
}

/// The sending end.
#[derive(Debug)]
pub struct PipeWriter {
    shared: Arc<Shared>,
}

/// The receiving end.
#[derive(Debug)]
pub struct PipeReader {
    shared: Arc<Shared>,
}

/// The other end of the pipe has gone away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the other end of the pipe is gone")]
pub struct Gone;

/// A pipe holding at most `capacity` bytes.
pub fn pipe(capacity: usize) -> (PipeWriter, PipeReader) {
    let capacity = capacity.max(1);
    pipe_with_resume(capacity, capacity - 1)
}

/// A pipe holding at most `capacity` bytes that, once full, takes bytes from
/// [`PipeWriter::write`] again only when it holds `resume_at` or fewer (the L610's FTPGET
/// buffer resumes its download when half of it is free).
pub fn pipe_with_resume(capacity: usize, resume_at: usize) -> (PipeWriter, PipeReader) {
    let capacity = capacity.max(1);
    let resume_at = resume_at.min(capacity - 1);
    let shared = Arc::new(Shared { state: Mutex::default(), capacity, resume_at, changed: Notify::new() });
    (PipeWriter { shared: shared.clone() }, PipeReader { shared })
}

/// What one [`PipeWriter::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Bytes that went in.
    pub n: usize,
    /// The pipe was empty just before they went in: a reader that found it empty may be
    /// waiting to be told.
    pub was_empty: bool,
}

impl PipeWriter {
    /// Waits for room, then writes as much of `data` as fits now (at least one byte unless
    /// `data` is empty).
    pub async fn write(&self, data: &[u8]) -> Result<Written, Gone> {
        loop {
            let notified = self.shared.changed.notified();
            {
                let mut st = self.shared.lock();
                if st.abandoned {
                    return Err(Gone);
                }
                if st.stalled && st.buf.len() <= self.shared.resume_at {
                    st.stalled = false;
                }
                let room = if st.stalled { 0 } else { self.shared.capacity - st.buf.len() };
                // A full pipe (also one that `try_write` filled) stalls: the reader wakes
                // this writer only once it has drained to the resume mark.
                st.stalled |= room == 0;
                let n = data.len().min(room);
                if n > 0 || data.is_empty() {
                    let was_empty = st.buf.is_empty();
                    st.buf.extend(&data[..n]);
                    st.stalled = st.buf.len() == self.shared.capacity;
                    drop(st);
                    if n > 0 {
                        self.shared.changed.notify_waiters();
                    }
                    return Ok(Written { n, was_empty });
                }
            }
            notified.await;
        }
    }

    /// Writes as much of `data` as fits now; returns how much.
    pub fn try_write(&self, data: &[u8]) -> Result<usize, Gone> {
        let mut st = self.shared.lock();
        if st.abandoned {
            return Err(Gone);
        }
        let n = data.len().min(self.shared.capacity - st.buf.len());
        st.buf.extend(&data[..n]);
        drop(st);
        if n > 0 {
            self.shared.changed.notify_waiters();
        }
        Ok(n)
    }

    /// Bytes written and not yet read.
    pub fn pending(&self) -> usize {
        self.shared.lock().buf.len()
    }

    /// Marks the end of the data; the reader sees end-of-stream once it has read the rest.
    pub fn close(self) {
        drop(self);
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_waiters();
    }
}

/// What a non-blocking read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Bytes taken (copied into the buffer, or handed over).
    pub n: usize,
    /// The writer has finished and every byte has been read.
    pub eof: bool,
}

impl PipeReader {
    /// Copies up to `buf.len()` bytes out without waiting.
    pub fn try_read(&self, buf: &mut [u8]) -> Read {
        let mut at = 0;
        self.take(buf.len(), |run| {
            buf[at..at + run.len()].copy_from_slice(run);
            at += run.len();
        })
    }

    /// Takes up to `max` bytes out without waiting, handing them to `f` in at most two slices
    /// (for a reader that transforms them anyway, such as an escaper: no copy into a buffer
    /// first). Slice by slice: a byte-by-byte drain took 8 % of the samples of an
    /// `AT+FTPETGET` from vsftpd.
    pub fn take(&self, max: usize, mut f: impl FnMut(&[u8])) -> Read {
        let mut st = self.shared.lock();
        let n = max.min(st.buf.len());
        let (front, back) = st.buf.as_slices();
        let k = n.min(front.len());
        f(&front[..k]);
        if n > k {
            f(&back[..n - k]);
        }
        st.buf.drain(..n);
        let eof = st.closed && st.buf.is_empty();
        let resume = self.shared.resumes(&st);
        drop(st);
        if n > 0 && resume {
            self.shared.changed.notify_waiters();
        }
        Read { n, eof }
    }

    /// Waits until bytes are available or the writer has finished, then reads like
    /// [`try_read`](Self::try_read). `n == 0` means end of stream.
    pub async fn read(&self, buf: &mut [u8]) -> usize {
        loop {
            let notified = self.shared.changed.notified();
            let r = self.try_read(buf);
            if r.n > 0 || r.eof || buf.is_empty() {
                return r.n;
            }
            notified.await;
        }
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.shared.lock().buf.len()
    }

    /// Whether the writer has finished and nothing is left to read.
    pub fn is_finished(&self) -> bool {
        let st = self.shared.lock();
        st.closed && st.buf.is_empty()
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.shared.lock().abandoned = true;
        self.shared.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Writes all of `data`; whether some of it went into an empty pipe.
    async fn write_all(w: &PipeWriter, mut data: &[u8]) -> Result<bool, Gone> {
        let mut into_empty = false;
        while !data.is_empty() {
            let written = w.write(data).await?;
            into_empty |= written.was_empty;
            data = &data[written.n..];
        }
        Ok(into_empty)
    }

    #[tokio::test]
    async fn once_full_the_writer_waits_for_the_resume_mark() {
        let (w, r) = pipe_with_resume(8, 4);
        assert_eq!(w.write(b"0123456789").await.unwrap().n, 8);
        let mut buf = [0u8; 3];
        assert_eq!(r.try_read(&mut buf).n, 3);
        // 5 held, above the mark: the writer still waits.
        assert!(tokio::time::timeout(Duration::from_millis(50), w.write(b"89")).await.is_err());
        assert_eq!(r.try_read(&mut buf[..1]).n, 1);
        // 4 held: it takes bytes again, up to the capacity.
        assert_eq!(w.write(b"89abcdef").await.unwrap().n, 4);
        assert_eq!(r.available(), 8);
    }

    #[tokio::test]
    async fn bytes_flow_in_order_and_the_writer_waits_for_room() {
        let (w, r) = pipe(4);
        let writer = tokio::spawn(async move {
            let first = write_all(&w, b"0123456789").await.unwrap();
            assert!(first);
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        for _ in 0..100 {
            let n = r.read(&mut buf).await;
            if n == 0 {
                break;
            }
            assert!(r.available() <= 4);
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got, b"0123456789");
        assert!(r.is_finished());
    }

    #[tokio::test]
    async fn a_write_says_when_its_bytes_went_into_an_empty_pipe() {
        let (w, r) = pipe(4);
        assert_eq!(w.write(b"ab").await, Ok(Written { n: 2, was_empty: true }));
        assert_eq!(w.write(b"cdef").await, Ok(Written { n: 2, was_empty: false }));
        // Full: the next write waits; the reader empties the pipe meanwhile, so the bytes that
        // go in then go into an empty pipe, and the write says so.
        let writer = tokio::spawn(async move { w.write(b"gh").await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut buf = [0u8; 4];
        assert_eq!(r.try_read(&mut buf).n, 4);
        let written = tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap();
        assert_eq!(written, Ok(Written { n: 2, was_empty: true }));
    }

    #[tokio::test]
    async fn try_read_reports_eof_only_after_the_last_byte() {
        let (w, r) = pipe(16);
        assert_eq!(w.try_write(b"abc").unwrap(), 3);
        w.close();
        let mut buf = [0u8; 2];
        assert_eq!(r.try_read(&mut buf), Read { n: 2, eof: false });
        assert_eq!(r.try_read(&mut buf), Read { n: 1, eof: true });
    }

    #[tokio::test]
    async fn writing_to_an_abandoned_pipe_fails_instead_of_waiting() {
        let (w, r) = pipe(2);
        let writer = tokio::spawn(async move { write_all(&w, b"more than two").await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(r);
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap(), Err(Gone));
    }

    #[test]
    fn try_write_is_bounded() {
        let (w, _r) = pipe(5);
        assert_eq!(w.try_write(b"1234567").unwrap(), 5);
        assert_eq!(w.try_write(b"x").unwrap(), 0);
    }
}
