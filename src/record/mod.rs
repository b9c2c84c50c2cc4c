//! Recording a session as a transcript (`vmodem serve --record FILE`): every byte the host sent
//! and the modem answered, on any transport, written as it passes in the format of
//! [`crate::script`], so that `vmodem chat FILE` replays it as a test against any modem.
//!
//! What a recording looks like, and why:
//! - `> AT...` for a command line the host ended with CR; its echo is left to the replay, which
//!   expects it while echo is on (`@echo on|off` is written where the echo did not follow the
//!   model, for example after a command that turned it off without the transcript knowing).
//! - `>> ...` for anything else the host sent, exactly: data phases, lines ended with CR LF,
//!   several lines sent before the modem answered. Their echo, if any, is a `<<` line.
//! - `< TEXT` for each line the modem framed as V.250 does (the replay adds the CR LFs), `<<`
//!   for the bytes around them (data, DLE/ETX streams, prompts), 76 characters a line.
//! - `# +S.SSSs` before each host line (time since the recording began) and before output that
//!   came after a pause of a second or more; `@sleep` where the host paused 0.2 s or more
//!   before sending (shorter pauses are the host's own latency and are not replayed), and a
//!   longer `@timeout` before output the replay would otherwise give up waiting for.
//! - What the modem said before the host's first byte (the boot URCs) is a comment: a replay
//!   starts by discarding what a modem says before its first line.
//! - Values that differ from run to run are placeholders: the clock (`+CCLK: "{*}"`), IPv4
//!   addresses (with their port) the modem chose rather than repeated from the host (its bearer
//!   address, DNS answers, a socket's address), and the bytes of an FTP listing
//!   (`+FTPLIST: 2,{$list}`, then `{any:$list}`) and of HTTP response headers
//!   (`+HTTPHEAD: {$head}`), which carry dates. Everything else must match byte for byte.
//! - Secrets (the arguments [`crate::dialect::secrets`] lists: FTP and APN passwords, PINs,
//!   `Authorization` headers) are written as variables (`{ftp_pass}`, `{apn_pass}`,
//!   `{sim_pin}`, `{http_auth}`; a second value of the same kind is `{ftp_pass_2}`) wherever
//!   the value appears after the command that set it, in both directions; a comment names each
//!   one, and the replay supplies it (`vmodem chat FILE --var ftp_pass=...`). The recording
//!   never holds the value, unless `--record-secrets` asks for it.
//!
//! A recording says nothing about the servers: replay it against a modem whose FTP and HTTP
//! servers hold the same files (the demo's are the same on every run).

mod text;
mod writer;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::family::Family;
use crate::transport::{Link, Links};
pub use writer::{Options, Writer};

/// A recording in progress: links wrapped by it ([`Recorder::links`], [`Recorder::wrap`])
/// write what passes through them into its file. Clones share the file.
#[derive(Debug, Clone)]
pub struct Recorder {
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug)]
struct Shared {
    writer: Writer,
    /// The file, until a write to it fails.
    file: Option<std::fs::File>,
    path: PathBuf,
}

impl Shared {
    /// Appends what the writer wrote since the last time, and flushes it to the file.
    fn save(&mut self) {
        let text = self.writer.take();
        let Some(file) = &mut self.file else { return };
        if text.is_empty() {
            return;
        }
        if let Err(e) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
            tracing::warn!(target: "vmodem::record", "{}: {e}; the recording stops here", self.path.display());
            self.file = None;
        }
    }
}

impl Recorder {
    /// Starts a recording of a `family` modem into `path` (replacing the file).
    pub fn create(path: &Path, family: Family, options: Options) -> std::io::Result<Recorder> {
        let file = std::fs::File::create(path)?;
        let mut shared =
            Shared { writer: Writer::new(family, options, Instant::now()), file: Some(file), path: path.into() };
        shared.save();
        Ok(Recorder { shared: Arc::new(Mutex::new(shared)) })
    }

    /// The links of a transport, each recorded.
    pub fn links(&self, mut links: Links) -> Links {
        let (tx, recorded) = Links::channel();
        let recorder = self.clone();
        tokio::spawn(async move {
            while let Some(link) = links.next().await {
                if tx.send(recorder.wrap(link)).await.is_err() {
                    break;
                }
            }
        });
        recorded
    }

    /// `link` as the modem sees it, recording what it reads and writes.
    pub fn wrap(&self, link: Link) -> Link {
        self.with(|w, now| w.note("a host connected", now));
        Box::new(Recorded { link, recorder: self.clone() })
    }

    /// Writes everything held back (a line still waiting for its echo, output without its line
    /// end): call it before the process ends.
    pub fn finish(&self) {
        self.with(|w, _| w.finish());
    }

    /// The variables the recording put in place of secrets, with their values (which the
    /// file never holds): what a replay in the same process passes as variables.
    pub fn secrets(&self) -> Vec<(String, String)> {
        self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).writer.secrets()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Writer, Instant) -> R) -> R {
        // A panic elsewhere while the lock was held leaves a usable writer: keep recording.
        let mut shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = f(&mut shared.writer, Instant::now());
        shared.save();
        r
    }
}

/// A link whose traffic is recorded: reads are the host's bytes, writes the modem's.
struct Recorded {
    link: Link,
    recorder: Recorder,
}

impl AsyncRead for Recorded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.link).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll
            && buf.filled().len() > before
        {
            self.recorder.with(|w, now| w.host(&buf.filled()[before..], now));
        }
        poll
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let Recorded { link, recorder } = self.get_mut();
        // The write happens under the recorder's lock: once the host has the bytes, they are
        // in the recording too (a `finish` right after the host read them waits for it).
        recorder.with(|w, now| {
            let poll = Pin::new(link).poll_write(cx, buf);
            if let Poll::Ready(Ok(n)) = poll {
                w.modem(&buf[..n], now);
            }
            poll
        })
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.link).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.link).poll_shutdown(cx)
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        self.recorder.with(|w, now| w.note("the host left", now));
    }
}
