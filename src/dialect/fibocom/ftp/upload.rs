//! `AT+FTPSTOR="<file>"[,<type>[,<offset>]]` (L610-FTP §1.2.15): `OK`; once the data
//! connection is up, `+FTPSTOR: 2` and the line is in data mode: the host streams the file
//! DLE-escaped and ends it with a bare ETX (no result code follows it); once the server has it
//! all, `+FTPSTOR: 1`, or `+FTPSTOR: 0`. The offset (it wins over `AT+FTPREST`) is where the
//! bytes go in the server's file; a new file written at 10 starts with 10 NULs where the
//! server fills them (proftpd refuses such a restart: `0`).
//!
//! Choices where L610-FTP is silent (`docs/l610.md` D13):
//! - A DLE before any byte but DLE or ETX is a data 0x10 followed by that byte (L610-FTP's own
//!   escaping example needs it).
//! - A session that fails during the stream: the stream is still read to its ETX (never taken
//!   for commands), then `+FTPSTOR: 0`.
//! - A host that goes quiet in data mode for the FTP data input time (`ftp.data_input`,
//!   restarted by each byte) leaves data mode; the upload is not completed: the session is
//!   ended, so the server never sees the partial file closed as a whole one, and
//!   `+FTPSTOR: 0` follows.

use vmodem_at::{Command, DataEnd, DataPhase, Reply};

use super::super::{Fibocom, cmd};
use super::{BAD, NAME_MAX, Pending, REST_MAX};
use crate::dialect::args::Args;
use crate::dialect::stream::Inbound;
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::service::ftp::{DataMode, FtpError, StoreMode};
use crate::service::ftp::{SessionWork, TransferSettings};
use crate::service::pipe;

pub(in crate::dialect::fibocom) const COMMANDS: &[crate::dialect::Entry<Fibocom>] =
    &[cmd("+FTPSTOR").test("+FTPSTOR: (\"file name\"),(0-1),(0-268435454)").write(store)];

fn store(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=3)?;
    let path = a.quoted(0, NAME_MAX)?.to_string();
    let ascii = a.opt_uint(1, 0..=1)? == Some(0);
    let offset = a.opt_uint(2, 0..=REST_MAX)?.unwrap_or(s.ftp.rest);
    let (writer, source) = pipe::pipe(pipe::DEFAULT_CAPACITY);
    let mode = Some(if s.ftp.active_mode { DataMode::Active } else { DataMode::Passive });
    let settings = TransferSettings { ascii: Some(ascii), mode };
    let work = SessionWork::Upload { path, mode: StoreMode::Stor, offset, source, settings };
    s.submit(ctx.io, Pending::Stor, work)?;
    s.ftp.rest = 0;
    s.ftp.inbound = Some(Inbound::new(writer));
    Ok(Reply::Ok)
}

impl Fibocom {
    /// The data connection is up: `+FTPSTOR: 2`, and the line goes into data mode.
    pub(super) fn upload_ready(&mut self, io: &mut Io) {
        io.urc("+FTPSTOR: 2");
        io.open_data(Owner::Ftp, DataPhase::Escaped);
    }

    /// Bytes of the stream.
    pub(in crate::dialect::fibocom) fn upload_data(&mut self, payload: &[u8]) {
        if let Some(inbound) = self.ftp.inbound.as_mut() {
            inbound.push(payload);
        }
    }

    /// The stream ended: with its ETX, the upload ends once the service has the rest; cut
    /// short, the session goes (see the module docs).
    pub(in crate::dialect::fibocom) fn upload_end(&mut self, end: DataEnd, io: &mut Io) {
        match (end, self.ftp.inbound.as_mut()) {
            (DataEnd::Complete, Some(inbound)) => inbound.close(),
            (DataEnd::Incomplete, Some(_)) => self.ftp_bearer_lost(io),
            _ => {}
        }
    }

    /// The service emptied the pipe.
    pub(super) fn upload_drained(&mut self) {
        if let Some(inbound) = self.ftp.inbound.as_mut() {
            inbound.drained();
        }
    }

    /// The upload ended: its result, at once if the stream is over, else after its ETX (the
    /// URC waits behind the data phase, and the host is given the input time to finish).
    pub(super) fn upload_ended(&mut self, result: Result<(), FtpError>, io: &mut Io) {
        let streaming = self.ftp.inbound.as_ref().is_some_and(|i| !i.closing);
        if let Err(e) = &result {
            tracing::info!(target: "vmodem::ftp", "+FTPSTOR failed: {e}");
            if streaming {
                io.data_idle(self.config.ftp.data_input.duration());
            }
        }
        // Whatever the host still sends has nowhere to go.
        self.ftp.inbound = None;
        io.urc(format!("+FTPSTOR: {}", u8::from(result.is_ok())));
        self.ftp.finish_command();
    }

    /// Whether host input must wait: the stream is faster than the server.
    pub(in crate::dialect::fibocom) fn upload_paused(&self) -> bool {
        self.ftp.inbound.as_ref().is_some_and(Inbound::paused)
    }
}
