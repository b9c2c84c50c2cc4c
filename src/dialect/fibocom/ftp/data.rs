//! The L610's downloads in online data mode (L610-FTP §1.2.11 and §1.2.16): `AT+FTPRETR` and
//! `AT+FTPLIST` answer `OK`, then `+FTPxxx: 2` once the data connection is up, then the bytes
//! DLE-escaped as they come and a bare ETX, then `+FTPxxx: 1`, or `+FTPxxx: 0` after the ETX
//! when the transfer failed. A transfer the server refuses after the data connection opened
//! (a missing file) still gives `2`, the ETX and `0`, since the module had entered data mode.
//!
//! The offset argument of `AT+FTPRETR` wins over `AT+FTPREST`; either way the REST value is
//! spent by the transfer (the next one starts from 0).

use tokio::time::Instant;
use vmodem_at::{Command, dle};

use super::super::{Fibocom, cmd};
use super::{BAD, NAME_MAX, Pending, REST_MAX};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, stream};
use crate::service::ftp::{DataMode, FtpError, SessionWork, Source, Step, TransferSettings};
use crate::service::pipe::{self, PipeReader};
use crate::service::sink::Sink;

pub(in crate::dialect::fibocom) const COMMANDS: &[crate::dialect::Entry<Fibocom>] = &[
    cmd("+FTPRETR").test("+FTPRETR: (\"file name\"),(0-1),(0-268435454)").write(retrieve),
    cmd("+FTPLIST").test("+FTPLIST: (\"file/directory name\")").exec(|s, _, c| list(s, c.io, String::new())).write(
        |s, c, ctx| {
            Args::of(c, BAD).count(1..=1)?;
            let path = Args::of(c, BAD).quoted(0, NAME_MAX)?.to_string();
            list(s, ctx.io, path)
        },
    ),
];

/// A download on its way to the host.
#[derive(Debug)]
pub(super) struct Outbound {
    pipe: PipeReader,
    /// `+FTPxxx: 2` has gone out: the host is in data mode and waits for the ETX.
    announced: bool,
    /// How the transfer ended, once it has: the result goes out when the pipe is empty.
    ended: Option<bool>,
    /// When a stream held back by the line's backlog tries again.
    retry: Option<Instant>,
}

/// `AT+FTPRETR="<file>"[,<type 0 ASCII|1 binary>[,<offset>]]`.
fn retrieve(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=3)?;
    let path = a.quoted(0, NAME_MAX)?.to_string();
    let ascii = a.opt_uint(1, 0..=1)? == Some(0);
    let offset = a.opt_uint(2, 0..=REST_MAX)?.unwrap_or(s.ftp.rest);
    let source = Source::File { path, offset };
    start(s, ctx.io, Pending::Retr, source, Some(ascii))?;
    s.ftp.rest = 0;
    Ok(vmodem_at::Reply::Ok)
}

/// `AT+FTPLIST[="<file/dir>"]`: the server's listing, as it sends it.
fn list(s: &mut Fibocom, io: &mut Io, path: String) -> Outcome {
    start(s, io, Pending::List, Source::Listing { path }, None)?;
    Ok(vmodem_at::Reply::Ok)
}

fn start(
    s: &mut Fibocom,
    io: &mut Io,
    pending: Pending,
    source: Source,
    ascii: Option<bool>,
) -> Result<(), vmodem_at::Failure> {
    let (sink, reader) = pipe::pipe(pipe::DEFAULT_CAPACITY);
    let mode = Some(if s.ftp.active_mode { DataMode::Active } else { DataMode::Passive });
    let settings = TransferSettings { ascii, mode };
    s.submit(io, pending, SessionWork::Download { source, sink: Sink::Pipe(sink), settings })?;
    s.ftp.outbound = Some(Outbound { pipe: reader, announced: false, ended: None, retry: None });
    Ok(())
}

impl Fibocom {
    /// The data connection is up: `+FTPxxx: 2`, and data mode.
    pub(super) fn announce(&mut self, pending: Pending, io: &mut Io) {
        if let Some(out) = self.ftp.outbound.as_mut().filter(|o| !o.announced) {
            out.announced = true;
            io.urc(format!("{}: 2", pending.name()));
        }
    }

    /// Moves what has arrived to the host; once the transfer ended and all went out, the ETX
    /// and the result.
    pub(super) fn pump(&mut self, pending: Pending, io: &mut Io) {
        let Some(out) = self.ftp.outbound.as_mut() else { return };
        out.retry = stream::pump_escaped(&out.pipe, io);
        if let Some(ok) = out.ended.filter(|_| out.retry.is_none()) {
            self.ftp.outbound = None;
            io.raw([dle::ETX]);
            io.urc(format!("{}: {}", pending.name(), u8::from(ok)));
            self.ftp.finish_command();
        }
    }

    /// The transfer ended. A failure before data mode (the data connection never opened) is
    /// just `+FTPxxx: 0`; one the server gave the transfer command itself still passes through
    /// data mode, as on the module.
    pub(super) fn transfer_ended(&mut self, pending: Pending, result: Result<(), FtpError>, io: &mut Io) {
        let refused = matches!(&result, Err(FtpError::Rejected { step: Step::Retr | Step::List, .. }));
        let announced = self.ftp.outbound.as_ref().is_some_and(|o| o.announced);
        if let Err(e) = &result {
            tracing::info!(target: "vmodem::ftp", "{} failed: {e}", pending.name());
            if !announced && !refused {
                self.ftp.outbound = None;
                io.urc(format!("{}: 0", pending.name()));
                self.ftp.finish_command();
                return;
            }
        }
        self.announce(pending, io);
        if let Some(out) = self.ftp.outbound.as_mut() {
            out.ended = Some(result.is_ok());
        }
        self.pump(pending, io);
    }

    /// When a held-back stream wants to try again.
    pub(super) fn stream_deadline(&self) -> Option<Instant> {
        self.ftp.outbound.as_ref().and_then(|o| o.retry)
    }
}
