//! Downloads streamed to the host in DLE/ETX framing (a payload 0x03 or 0x10 goes as 0x10 0x03
//! or 0x10 0x10; a bare 0x03 ends the file), as the SIMCom `AT+FTPETGET` and the L610's
//! `AT+FTPRETR` / `AT+FTPLIST` send them: the bytes go out as they come from the service,
//! behind any response in progress, without flooding the line.

use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::dle;

use super::Io;
use crate::service::pipe::PipeReader;

/// Escaped stream bytes the line may hold behind a response before the stream waits.
const BACKLOG_MAX: usize = 64 * 1024;
/// The most one pump moves before the line is written out.
const PUMP_MAX: usize = 64 * 1024;
/// Bytes taken from the download pipe per piece of stream.
const PIECE: usize = 16 * 1024;
/// How soon a stream held back by the backlog tries again.
const RETRY: Duration = Duration::from_millis(10);

/// Escapes what `pipe` holds into the line, at most [`PUMP_MAX`] bytes at a time so that the
/// line is written out between pumps. Returns when to pump again if bytes are still waiting:
/// at once, or after [`RETRY`] while the line holds a backlog behind a response.
pub fn pump_escaped(pipe: &PipeReader, io: &mut Io) -> Option<Instant> {
    let held_back = io.backlog >= BACKLOG_MAX;
    let mut buf = vec![0u8; PIECE];
    let mut moved = 0;
    while !held_back && moved < PUMP_MAX {
        let n = pipe.try_read(&mut buf).n;
        if n == 0 {
            break;
        }
        moved += n;
        let mut out = Vec::with_capacity(n + n / 8);
        dle::escape_into(&buf[..n], &mut out);
        io.raw(out);
    }
    let wait = if held_back { RETRY } else { Duration::ZERO };
    (pipe.available() > 0).then(|| io.now + wait)
}
