//! `AT+FTPPUT="<file>",<len>,<eof>[,<type>]` (L610-FTP §1.2.20): an upload in raw chunks of 1
//! to 1024 bytes, everything before the command's `OK` (Sync Mode "Yes"). The first chunk opens
//! the data connection; then `+FTPPUT: 2,<len>` asks for the bytes (no escaping, no other
//! prompt); a chunk with `<eof>` 0 leaves the upload open for the next `AT+FTPPUT` of the same
//! file, one with `<eof>` 1 closes it, and `+FTPPUT: 1` (or `0`) comes once the server has the
//! file. A server that refuses the upload before the data connection: `+FTPPUT: 0`, no data.
//!
//! Choices where L610-FTP is silent (`docs/l610.md` D17):
//! - While an upload is open, `AT+FTPPUT` for another file, and every other FTP command but
//!   `AT+FTPOPEN?`, is CME 2008.
//! - Fewer bytes than `<len>` within the FTP data input time (`ftp.data_input`): `ERROR`, the
//!   chunk is discarded and the upload stays open (the same rule as the SIMCom `AT+FTPPUT=2`).

use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply, Response};

use super::super::{Fibocom, cmd};
use super::{BAD, NAME_MAX, Pending, WRONG_STATE};
use crate::dialect::args::Args;
use crate::dialect::stream::Inbound;
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::limits::{Seconds, later};
use crate::service::ftp::{DataMode, FtpError, StoreMode};
use crate::service::ftp::{SessionWork, TransferSettings};
use crate::service::pipe;

/// The largest chunk.
const CHUNK_MAX: u64 = 1024;

/// The upload `AT+FTPPUT` runs.
#[derive(Debug)]
pub(super) struct Put {
    file: String,
    inbound: Inbound,
    step: Step,
    /// The bytes of the chunk being received.
    chunk: Vec<u8>,
    /// How the upload ended, for the pending command.
    outcome: Option<bool>,
}

/// Where the upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The command waits for the data connection; then its chunk of `len` comes.
    Opening { len: usize, eof: bool },
    /// The host sends a chunk.
    Chunk { eof: bool },
    /// Between chunks: the data connection stays open.
    Open,
    /// The last chunk is in; the command waits for the server's word.
    Closing,
}

pub(in crate::dialect::fibocom) const COMMANDS: &[crate::dialect::Entry<Fibocom>] =
    &[cmd("+FTPPUT").test("+FTPPUT: (\"file name\"),(1-1024),(0-1),(0-1)").write(put)];

fn put(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(3..=4)?;
    let file = a.quoted(0, NAME_MAX)?.to_string();
    let len = a.uint(1, 1..=CHUNK_MAX)? as usize;
    let eof = a.uint(2, 0..=1)? == 1;
    let ascii = a.opt_uint(3, 0..=1)? == Some(0);
    if let Some(p) = s.ftp.put.as_mut() {
        if p.step != Step::Open || p.file != file {
            return Err(WRONG_STATE);
        }
        return Ok(ask_for_chunk(p, len, eof, s.config.ftp.data_input, ctx.rsp, ctx.io));
    }
    let (writer, source) = pipe::pipe(pipe::DEFAULT_CAPACITY);
    let mode = Some(if s.ftp.active_mode { DataMode::Active } else { DataMode::Passive });
    let settings = TransferSettings { ascii: Some(ascii), mode };
    let work = SessionWork::Upload { path: file.clone(), mode: StoreMode::Stor, offset: 0, source, settings };
    s.submit(ctx.io, Pending::Put, work)?;
    let step = Step::Opening { len, eof };
    s.ftp.put = Some(Put { file, inbound: Inbound::new(writer), step, chunk: Vec::new(), outcome: None });
    Ok(ctx.io.pending(Owner::Ftp))
}

/// `+FTPPUT: 2,<len>` and the chunk's data phase.
fn ask_for_chunk(
    p: &mut Put,
    len: usize,
    eof: bool,
    data_input: Seconds,
    rsp: &mut Response<'_>,
    io: &mut Io,
) -> Reply {
    rsp.line(format!("+FTPPUT: 2,{len}"));
    p.step = Step::Chunk { eof };
    p.chunk.clear();
    io.data_deadline(later(io.now, data_input.duration()));
    io.data(Owner::Ftp, DataPhase::Fixed(len))
}

impl Fibocom {
    /// Whether a chunk is being received.
    pub(in crate::dialect::fibocom) fn put_receiving(&self) -> bool {
        self.ftp.put.as_ref().is_some_and(|p| matches!(p.step, Step::Chunk { .. }))
    }

    /// Bytes of the chunk.
    pub(in crate::dialect::fibocom) fn put_data(&mut self, payload: &[u8]) {
        if let Some(p) = self.ftp.put.as_mut() {
            p.chunk.extend_from_slice(payload);
        }
    }

    /// The chunk is in (or the host stopped short): to the server, and `OK`, or the wait for
    /// the server's word after the last one.
    pub(in crate::dialect::fibocom) fn put_end(&mut self, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        let Some(p) = self.ftp.put.as_mut() else { return Reply::Error(Failure::Plain) };
        let Step::Chunk { eof } = p.step else { return Reply::Error(Failure::Plain) };
        if end == DataEnd::Incomplete {
            p.step = Step::Open;
            return Reply::Error(Failure::Plain);
        }
        p.inbound.push(&std::mem::take(&mut p.chunk));
        if !eof {
            p.step = Step::Open;
            return Reply::Ok;
        }
        p.inbound.close();
        p.step = Step::Closing;
        match p.outcome {
            // The upload already ended: its word is in.
            Some(ok) => {
                rsp.line(format!("+FTPPUT: {}", u8::from(ok)));
                self.put_result()
            }
            None => io.pending(Owner::Ftp),
        }
    }

    /// A service event for the upload.
    pub(super) fn put_opened(&mut self, io: &mut Io) {
        if self.ftp.put.as_ref().is_some_and(|p| matches!(p.step, Step::Opening { .. })) {
            io.resume();
        }
    }

    /// The service emptied the pipe.
    pub(super) fn put_drained(&mut self) {
        if let Some(p) = self.ftp.put.as_mut() {
            p.inbound.drained();
        }
    }

    /// The upload ended: the pending command gets its word; between chunks, the next
    /// `AT+FTPPUT` finds the upload gone.
    pub(super) fn put_ended(&mut self, result: Result<(), FtpError>, io: &mut Io) {
        if let Err(e) = &result {
            tracing::info!(target: "vmodem::ftp", "+FTPPUT failed: {e}");
        }
        let Some(p) = self.ftp.put.as_mut() else { return };
        p.outcome = Some(result.is_ok());
        match p.step {
            Step::Opening { .. } | Step::Closing => io.resume(),
            Step::Open => {
                self.ftp.put = None;
                self.ftp.finish_command();
            }
            // The result waits for the chunk's end.
            Step::Chunk { .. } => {}
        }
    }

    /// Finishes the pending `AT+FTPPUT`: the chunk's prompt once the data connection is up,
    /// or the upload's result.
    pub(in crate::dialect::fibocom) fn put_resume(&mut self, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        let data_input = self.config.ftp.data_input;
        let Some(p) = self.ftp.put.as_mut() else { return Reply::Error(Failure::Plain) };
        match (p.step, p.outcome) {
            (Step::Opening { len, eof }, None) => ask_for_chunk(p, len, eof, data_input, rsp, io),
            _ => {
                rsp.line(format!("+FTPPUT: {}", u8::from(p.outcome == Some(true))));
                self.put_result()
            }
        }
    }

    /// The upload is over; the command's `OK`.
    fn put_result(&mut self) -> Reply {
        self.ftp.put = None;
        self.ftp.finish_command();
        Reply::Ok
    }

    /// Whether host input must wait for the service.
    pub(in crate::dialect::fibocom) fn put_paused(&self) -> bool {
        self.ftp.put.as_ref().is_some_and(|p| p.inbound.paused())
    }
}
