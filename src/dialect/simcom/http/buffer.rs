//! The module's HTTP buffer: `AT+HTTPDATA` loads a request body into it (`DOWNLOAD`, the
//! bytes, `OK`), `AT+HTTPREAD` reads it (`+HTTPREAD: <len>`, the bytes, `OK`), and
//! `AT+HTTPHEAD` prints the last response's head.
//!
//! An `AT+HTTPDATA` whose bytes do not all come before its time runs out is `ERROR`, and the
//! buffer keeps what it held. The bytes are gathered as they come, never into room reserved
//! for the size the host declares. After a failed `AT+HTTPACTION` the buffer is empty
//! (`+HTTPREAD: 0`) and there is no head to print (`ERROR`), `docs/sim800.md` D22.

use std::time::Duration;

use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply};

use super::super::Simcom;
use super::on;
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome, Owner};

pub(super) fn data_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.profile.line("+HTTPDATA", format_args!("(1-{}),(1000-120000)", s.config.http.buffer)));
    Ok(Reply::Ok)
}

/// `AT+HTTPDATA=<size>,<time>`.
pub(super) fn data(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let size = a.uint(0, 1..=s.config.http.buffer as u64)? as usize;
    let time = a.uint(1, 1000..=120_000)?;
    if s.http.running.is_some() {
        return Err(Failure::Plain);
    }
    ctx.rsp.line("DOWNLOAD");
    s.http.loading = Some(Vec::new());
    ctx.io.data_deadline(ctx.io.now + Duration::from_millis(time));
    Ok(ctx.io.data(Owner::Http, DataPhase::Fixed(size)))
}

impl super::Http {
    /// Takes bytes of the `AT+HTTPDATA` data phase.
    pub(super) fn data(&mut self, payload: &[u8]) {
        if let Some(load) = &mut self.loading {
            load.extend_from_slice(payload);
        }
    }

    /// Ends the `AT+HTTPDATA` data phase: the bytes become the buffer, or `ERROR`.
    pub(super) fn data_end(&mut self, end: DataEnd) -> Reply {
        let Some(load) = self.loading.take() else { return Reply::Error(Failure::Plain) };
        match end {
            DataEnd::Complete => {
                self.buffer = load;
                Reply::Ok
            }
            DataEnd::Incomplete => Reply::Error(Failure::Plain),
        }
    }
}

/// `AT+HTTPREAD`: the whole buffer.
pub(super) fn read_all(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    read(s, 0, usize::MAX, ctx)
}

/// `AT+HTTPREAD=<start>,<size>`: what the buffer holds of that range.
pub(super) fn read_part(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let max = s.config.http.buffer as u64;
    let start = a.uint(0, 0..=max)? as usize;
    let size = a.uint(1, 1..=max)? as usize;
    read(s, start, size, ctx)
}

fn read(s: &mut Simcom, start: usize, size: usize, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    if s.http.running.is_some() {
        return Err(Failure::Plain);
    }
    let buffer = &s.http.buffer;
    let from = start.min(buffer.len());
    let bytes = &buffer[from..from + size.min(buffer.len() - from)];
    ctx.rsp.line(s.profile.line("+HTTPREAD", bytes.len()));
    ctx.rsp.raw(bytes);
    Ok(Reply::Ok)
}

/// `AT+HTTPHEAD`: the last response's head; `ERROR` before any, and after a failed action.
pub(super) fn head(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    let head = s.http.head.as_deref().filter(|_| s.http.running.is_none()).ok_or(Failure::Plain)?;
    ctx.rsp.line(s.profile.line("+HTTPHEAD", head.len()));
    ctx.rsp.raw(head.as_bytes());
    Ok(Reply::Ok)
}
