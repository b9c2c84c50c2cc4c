//! "ET" transfers (M7080 §15.2.24–§15.2.25; AN7080 §5.14–§5.15): the file streams over
//! the serial line with DLE/ETX escaping (a payload 0x03 or 0x10 goes as 0x10 0x03 or
//! 0x10 0x10; a bare 0x03 ends the file), both ways.
//!
//! - `AT+FTPETPUT=1`: `OK`, then `+FTPETPUT: 1,1` once the data connection is open.
//!   `AT+FTPETPUT=2`: `+FTPETPUT: 2,1`, the escaped stream up to its ETX, `OK`, then
//!   `+FTPETPUT: 1,0` after the server's 226. The manual's order; the application note
//!   (AN7080 §5.14) prints an `OK` before `+FTPETPUT: 2,1` (`docs/sim7080.md` D3). While the
//!   server takes the bytes slower than the host sends them, vmodem stops reading the line
//!   (the pipe to the server is bounded), as a module drops CTS. If the session fails while
//!   the host streams, the rest of the stream is still read to its ETX and discarded (never
//!   taken for commands: a file may hold `AT...\r`), answered `ERROR`, and then
//!   `+FTPETPUT: 1,<code>` follows; a host that then goes quiet for the FTP data input time
//!   (`ftp.data_input`, restarted by each byte) gets the `ERROR` then. The manual does not say; a host that sends its file and then waits for
//!   the answer, as the manual's example does, works either way.
//! - `AT+FTPETGET=1`: `OK`, `+FTPETGET: 1,1`, the escaped stream, a bare ETX, then
//!   `+FTPETGET: 1,0` after the server's 226. A failure after the stream began still ends it
//!   with ETX (the host leaves data mode) and then reports its code: `+FTPETGET: 1,79`, never
//!   `1,0`.

use vmodem_at::{Command, DataPhase, Failure};

use super::super::{Simcom, cmd};
use super::session::{EtStep, EtUpload, Kind, Session, Transfer, WRONG_STATE, start};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner, stream};
use crate::service::ftp::Value;

pub(in crate::dialect::simcom) const COMMANDS: &[crate::dialect::Entry<Simcom>] =
    &[cmd("+FTPETPUT").test("+FTPETPUT: (1,2)").write(et_put), cmd("+FTPETGET").test("+FTPETGET: 1").write(et_get)];

/// `AT+FTPETPUT=1` opens the session; `AT+FTPETPUT=2` starts the stream.
fn et_put(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    if a.uint(0, 1..=2)? == 1 {
        return start(s, Kind::EtPut, ctx);
    }
    let profile = s.profile;
    match s.ftp.session.as_mut().map(|x| &mut x.transfer) {
        Some(Transfer::EtUpload(u @ EtUpload { step: EtStep::Ready, .. })) if u.inbound.pipe.is_some() => {
            u.step = EtStep::Streaming;
            ctx.rsp.line(profile.line("+FTPETPUT", "2,1"));
            Ok(ctx.io.data(Owner::Ftp, DataPhase::Escaped))
        }
        _ => Err(WRONG_STATE),
    }
}

/// `AT+FTPETGET=1`.
fn et_get(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    a.uint(0, 1..=1)?;
    start(s, Kind::EtGet, ctx)
}

impl Simcom {
    /// Moves downloaded bytes to the host, escaped: `+FTPETGET: 1,1` first, then as much as
    /// the line's backlog allows (the rest waits for the stream's retry time), and the end
    /// once the server confirmed the file and the last byte has gone.
    pub(super) fn pump(&mut self, io: &mut Io) {
        let profile = self.profile;
        let Some(Session { kind, transfer: Transfer::Stream(st), .. }) = self.ftp.session.as_mut() else { return };
        if !st.announced {
            st.announced = true;
            io.urc(profile.line(kind.name(), "1,1"));
        }
        st.retry = stream::pump_escaped(&st.pipe, io);
        if st.done && st.pipe.available() == 0 {
            self.end(0, Value::None, io);
        }
    }
}
