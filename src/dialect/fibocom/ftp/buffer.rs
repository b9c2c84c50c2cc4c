//! The L610's buffered download (L610-FTP §1.2.18–§1.2.19): `AT+FTPGET="<file>"[,<view>[,<offset>]]`
//! fetches the file into the module's 512000-byte buffer, `AT+FTPRECV=<n>` reads up to 3000
//! bytes of it (`+FTPRECV: <k>`, the k bytes, `OK`).
//!
//! - `OK`, then `+FTPGET: 2` when the first bytes are in the buffer, `+FTPGET: 1` when the
//!   server has sent the whole file, or `+FTPGET: 0` when the download failed (an empty file
//!   gives `1` alone, a missing one `0` alone).
//! - The download pauses when the buffer is full and resumes once half of it is free (the
//!   service's pipe does that); until it has ended ("download mode") only `AT+FTPRECV`,
//!   `AT+FTPGET?`, `AT+FTPOPEN?` and `AT+FTPCLOSE` among the FTP commands are answered,
//!   every other one is CME 2008.
//! - A buffer left unread for `ftp.fetch_timeout` seconds (two minutes, L610-FTP §1.2.19) is
//!   dropped with the session: `+FTPCLOSE: 1`. A new `AT+FTPGET` or `AT+FTPCLOSE` empties it.
//! - `AT+FTPGET?` reads `+FTPGET: "<file>",<view>,<eof>` while the buffer holds data, else just
//!   `OK`; `AT+FTPRECV?` the bytes waiting (0 without a session).

use tokio::time::Instant;
use vmodem_at::{Command, Reply};

use super::super::{Fibocom, cmd};
use super::{BAD, NAME_MAX, Pending, REST_MAX, WRONG_STATE};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome};
use crate::limits::later;
use crate::service::ftp::DataMode;
use crate::service::ftp::{SessionWork, Source, TransferSettings};
use crate::service::pipe::{self, PipeReader};
use crate::service::sink::Sink;

/// The module's download buffer.
const BUFFER: usize = 512_000;
/// The most `AT+FTPRECV` returns at once.
const RECV_MAX: u64 = 3000;

/// What `AT+FTPGET` fetched, or is fetching.
#[derive(Debug)]
pub(super) struct Fetch {
    file: String,
    view: u8,
    pipe: PipeReader,
    /// `+FTPGET: 2` has gone out.
    announced: bool,
    /// The whole file is in the buffer.
    complete: bool,
    /// When the host last read (or the download started).
    last_read: Instant,
}

pub(in crate::dialect::fibocom) const COMMANDS: &[crate::dialect::Entry<Fibocom>] = &[
    cmd("+FTPGET").test("+FTPGET: (\"file name\"),(0-1),(0-268435454)").read(get_read).write(get),
    cmd("+FTPRECV").test("+FTPRECV: (1-3000)").read(recv_read).write(recv),
];

/// Whether download mode answers `cmd`: every form of `AT+FTPRECV`, the read forms of
/// `AT+FTPGET` and `AT+FTPOPEN`, `AT+FTPCLOSE`, and anything not FTP.
pub(in crate::dialect::fibocom) fn answered_in_download_mode(cmd: &Command) -> bool {
    use vmodem_at::Form;
    match (cmd.name.as_str(), &cmd.form) {
        ("+FTPRECV", _) | ("+FTPGET" | "+FTPOPEN", Form::Read) | ("+FTPCLOSE", Form::Exec) => true,
        (name, _) => !name.starts_with("+FTP"),
    }
}

fn get(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=3)?;
    let file = a.quoted(0, NAME_MAX)?.to_string();
    let view = a.opt_uint(1, 0..=1)?.unwrap_or(1) as u8;
    let offset = a.opt_uint(2, 0..=REST_MAX)?.unwrap_or(s.ftp.rest);
    let (sink, reader) = pipe::pipe_with_resume(BUFFER, BUFFER / 2);
    let mode = Some(if s.ftp.active_mode { DataMode::Active } else { DataMode::Passive });
    let settings = TransferSettings { ascii: Some(view == 0), mode };
    let source = Source::File { path: file.clone(), offset };
    s.submit(ctx.io, Pending::Get, SessionWork::Download { source, sink: Sink::Pipe(sink), settings })?;
    s.ftp.rest = 0;
    let now = ctx.io.now;
    s.ftp.fetch = Some(Fetch { file, view, pipe: reader, announced: false, complete: false, last_read: now });
    Ok(Reply::Ok)
}

fn get_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if let Some(f) = s.ftp.fetch.as_ref().filter(|f| f.pipe.available() > 0) {
        ctx.rsp.line(format!("+FTPGET: \"{}\",{},{}", f.file, f.view, u8::from(f.complete)));
    }
    Ok(Reply::Ok)
}

fn recv_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let waiting = s.ftp.fetch.as_ref().map_or(0, |f| f.pipe.available());
    ctx.rsp.line(format!("+FTPRECV: {waiting}"));
    Ok(Reply::Ok)
}

/// `AT+FTPRECV=<n>`: up to `n` bytes of the buffer, raw.
fn recv(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    let n = a.uint(0, 1..=RECV_MAX)? as usize;
    if s.ftp.session.is_none() {
        return Err(WRONG_STATE);
    }
    let Some(f) = s.ftp.fetch.as_mut() else {
        ctx.rsp.line("+FTPRECV: 0");
        return Ok(Reply::Ok);
    };
    f.last_read = ctx.io.now;
    // The buffer has one reader: what it holds now can all be taken below.
    let got = n.min(f.pipe.available());
    ctx.rsp.line(format!("+FTPRECV: {got}"));
    f.pipe.take(got, |run| ctx.rsp.raw(run));
    Ok(Reply::Ok)
}

impl Fibocom {
    /// The first bytes are in the buffer: `+FTPGET: 2`.
    pub(super) fn fetch_data(&mut self, io: &mut Io) {
        if let Some(f) = self.ftp.fetch.as_mut().filter(|f| !f.announced) {
            f.announced = true;
            io.urc("+FTPGET: 2");
        }
    }

    /// The download ended: `+FTPGET: 1` (the buffer holds the whole file) or `0`.
    pub(super) fn fetch_ended(&mut self, ok: bool, io: &mut Io) {
        if let Some(f) = self.ftp.fetch.as_mut() {
            f.complete = ok;
            f.last_read = io.now;
        }
        io.urc(format!("+FTPGET: {}", u8::from(ok)));
        self.ftp.finish_command();
    }

    /// When an unread buffer gives up.
    pub(super) fn fetch_deadline(&self) -> Option<Instant> {
        let f = self.ftp.fetch.as_ref().filter(|f| f.pipe.available() > 0)?;
        Some(later(f.last_read, self.config.ftp.fetch_timeout.duration()))
    }

    /// The buffer was left unread too long: it goes with the session, `+FTPCLOSE: 1`.
    pub(super) fn fetch_tick(&mut self, io: &mut Io) {
        if self.fetch_deadline().is_some_and(|d| d <= io.now) {
            self.ftp.fetch = None;
            if let Some(session) = self.ftp.end_session() {
                io.cancel(session.job);
                io.urc("+FTPCLOSE: 1");
            }
        }
    }
}
