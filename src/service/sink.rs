//! Where a download's bytes go: a pipe the host reads from (`AT+FTPGET=2`), the module's RAM
//! buffer (`AT+FTPEXTGET=1`), or a file in the module file system (`AT+FTPEXTGET=2`). The
//! last two count what has arrived in a [`Progress`] the dialect reads for its status commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::fs::{FsError, StagedFile};
use super::ftp::Value;
use super::pipe::PipeWriter;

/// Bytes a download has delivered so far, shared with the dialect that started it.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    /// Bytes delivered so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Records that `n` bytes have been delivered (the services' side of the counter).
    pub(crate) fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }
}

/// A download's destination.
#[derive(Debug)]
pub enum Sink {
    /// A bounded pipe the host drains; closed when the download is complete.
    Pipe(PipeWriter),
    /// A RAM buffer of at most `limit` bytes, returned whole as [`Value::Bytes`]; a longer
    /// file fails the download. Made by [`Sink::memory`].
    Memory {
        /// What has arrived.
        buf: Vec<u8>,
        /// The most it holds.
        limit: usize,
        /// Bytes so far.
        progress: Progress,
    },
    /// A file that appears in the module file system only once the download is complete
    /// ([`Value::Size`]); a failed download leaves nothing.
    File {
        /// The staged file.
        file: StagedFile,
        /// Bytes so far.
        progress: Progress,
    },
}

/// What a sink did with bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Stored; carry on.
    Stored,
    /// Stored into an empty pipe: the host should hear that data waits.
    Announce,
    /// The pipe's reader has gone: stop quietly.
    Gone,
}

impl Sink {
    /// An empty RAM buffer of at most `limit` bytes.
    pub fn memory(limit: usize, progress: Progress) -> Sink {
        Sink::Memory { buf: Vec::new(), limit, progress }
    }

    /// Takes some of `data` (all of it, except into a full pipe) and says how much.
    ///
    /// A pipe takes what fits and waits for room otherwise (backpressure); the announcement
    /// comes per write into an empty pipe, so a host that reads only when told never waits
    /// on bytes it was not told about. A file write is a plain blocking write into the page
    /// cache, short enough for the runtime.
    pub async fn take(&mut self, data: &[u8]) -> Result<(usize, Taken), FsError> {
        match self {
            Sink::Pipe(w) => match w.write(data).await {
                Ok(w) => Ok((w.n, if w.was_empty { Taken::Announce } else { Taken::Stored })),
                Err(_) => Ok((data.len(), Taken::Gone)),
            },
            Sink::Memory { buf, limit, progress } => {
                if buf.len() + data.len() > *limit {
                    return Err(FsError::Full);
                }
                buf.extend_from_slice(data);
                progress.set(buf.len() as u64);
                Ok((data.len(), Taken::Stored))
            }
            Sink::File { file, progress } => {
                file.write(data)?;
                progress.set(file.written());
                Ok((data.len(), Taken::Stored))
            }
        }
    }

    /// The download is complete: close the pipe, hand over the buffer, or put the file in place.
    pub fn finish(self) -> Result<Value, FsError> {
        match self {
            Sink::Pipe(w) => {
                w.close();
                Ok(Value::None)
            }
            Sink::Memory { buf, .. } => Ok(Value::Bytes(buf)),
            Sink::File { file, .. } => file.commit().map(Value::Size),
        }
    }
}
