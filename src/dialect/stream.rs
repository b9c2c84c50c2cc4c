//! Files streamed over the line in DLE/ETX framing (a payload 0x03 or 0x10 goes as 0x10 0x03
//! or 0x10 0x10; a bare 0x03 ends the file), both ways, as the SIMCom `AT+FTPETGET` /
//! `AT+FTPETPUT` and the L610's `AT+FTPRETR` / `AT+FTPLIST` / `AT+FTPSTOR` carry them.
//! Downloads go out as they come from the service, behind any response in progress, without
//! flooding the line; uploads go into the service's pipe, and what it has no room for waits
//! (and with it the line) until the service drains the pipe.

use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::dle;

use super::Io;
use crate::service::pipe::{PipeReader, PipeWriter};

/// Escaped stream bytes the line may hold behind a response before the stream waits.
const BACKLOG_MAX: usize = 64 * 1024;
/// The most one pump moves (one piece of stream, escaped straight out of the pipe), so that
/// the line is written out between pumps.
const PUMP_MAX: usize = 64 * 1024;
/// How soon a stream held back by the backlog tries again.
const RETRY: Duration = Duration::from_millis(10);

/// Escapes what `pipe` holds into the line, at most `PUMP_MAX` bytes at a time so that the
/// line is written out between pumps. Returns when to pump again if bytes are still waiting:
/// at once, or after `RETRY` while the line holds a backlog behind a response.
pub fn pump_escaped(pipe: &PipeReader, io: &mut Io) -> Option<Instant> {
    let held_back = io.backlog >= BACKLOG_MAX;
    if !held_back {
        let mut out = Vec::new();
        if pipe.take(PUMP_MAX, |run| dle::escape_into(run, &mut out)).n > 0 {
            io.raw(out);
        }
    }
    let wait = if held_back { RETRY } else { Duration::ZERO };
    (pipe.available() > 0).then(|| io.now + wait)
}

/// An upload stream from the host: the pipe to the service and the bytes it had no room for.
#[derive(Debug, Default)]
pub struct Inbound {
    /// `None` once the stream's end has gone into it (or from the start, when there is no
    /// stream).
    pub pipe: Option<PipeWriter>,
    /// Stream bytes the pipe had no room for; host input waits while there are any.
    pub overflow: Vec<u8>,
    /// The stream's ETX has come: the pipe closes once the overflow is in it.
    pub closing: bool,
}

impl Inbound {
    /// A stream into `pipe`.
    pub fn new(pipe: PipeWriter) -> Self {
        Inbound { pipe: Some(pipe), overflow: Vec::new(), closing: false }
    }

    /// Takes stream bytes from the host.
    pub fn push(&mut self, payload: &[u8]) {
        if !self.overflow.is_empty() {
            return self.overflow.extend_from_slice(payload);
        }
        let taken = self.pipe.as_ref().map_or(payload.len(), |p| p.try_write(payload).unwrap_or(payload.len()));
        if taken < payload.len() {
            tracing::trace!(target: "vmodem::ftp", "upload stream: the pipe is full, the line waits");
        }
        self.overflow.extend_from_slice(&payload[taken..]);
    }

    /// The service emptied the pipe: the held bytes go in, and the pipe closes once the
    /// stream's end has come and nothing is held.
    pub fn drained(&mut self) {
        if let Some(pipe) = &self.pipe {
            let taken = pipe.try_write(&self.overflow).unwrap_or(self.overflow.len());
            self.overflow.drain(..taken);
        }
        if self.closing && self.overflow.is_empty() {
            self.pipe = None;
        }
    }

    /// The host's ETX has come: the upload ends once the service has the rest.
    pub fn close(&mut self) {
        self.closing = true;
        self.drained();
    }

    /// Whether host input must wait for the service.
    pub fn paused(&self) -> bool {
        !self.overflow.is_empty()
    }
}
