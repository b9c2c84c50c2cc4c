//! `AT+MIPCALL`, the bearer of the L610's own TCP/IP stack that FTP runs over
//! (`docs/l610.md` "Bearer", D3): `=1[,"<apn>"[,"<user>","<password>"]]` answers `OK` and
//! then the URC `+MIPCALL: <ip>`; `=0` answers `OK` and then `+MIPCALL: 0`; the read form is
//! `+MIPCALL: 0` or `+MIPCALL: 1,<ip>`.
//!
//! Choices where the sources are silent:
//! - Activating an active call is `ERROR` (CME 2004 "TCPIP invalid operation"); without
//!   registration the activation fails with the URC `+MIPCALL: 0`.
//! - Deactivating when inactive still answers `OK` and `+MIPCALL: 0`; losing registration
//!   (`AT+CFUN=0`, `AT+COPS=2`) takes an active call down the same way.
//! - The call gets the configured address (`network.ip`); taking it down ends the FTP session.

use vmodem_at::{Command, Failure, Reply};

use super::{Fibocom, cmd, cme};
use crate::dialect::args::Args;
use crate::dialect::cellular::Cellular;
use crate::dialect::{Ctx, Io, Machine, Outcome};

/// The number the services know the call by when it goes (the L610 has one).
pub(super) const CALL: u8 = 1;

/// The call's state.
#[derive(Debug, Clone, Default)]
pub struct Call {
    active: bool,
}

impl Call {
    /// Whether the bearer is up (FTP needs it).
    pub fn active(&self) -> bool {
        self.active
    }
}

pub(super) const COMMANDS: &[crate::dialect::Entry<Fibocom>] =
    &[cmd("+MIPCALL").test("+MIPCALL: (0-1)").read(read).write(write)];

fn read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let line = match s.call.active {
        true => format!("+MIPCALL: 1,{}", s.config.network.ip),
        false => "+MIPCALL: 0".to_string(),
    };
    ctx.rsp.line(line);
    Ok(Reply::Ok)
}

fn write(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Cme(cme::BAD_PARAMETERS));
    a.count(1..=4)?;
    let up = a.uint(0, 0..=1)? == 1;
    // The APN and login are checked; the emulated network takes any.
    a.opt_text(1, 99)?;
    a.opt_text(2, 64)?;
    a.opt_text(3, 64)?;
    if up {
        if s.call.active {
            return Err(Failure::Cme(cme::INVALID_OPERATION));
        }
        s.call.active = s.registered();
        let urc = if s.call.active { format!("+MIPCALL: {}", s.config.network.ip) } else { "+MIPCALL: 0".into() };
        ctx.io.urc(urc);
    } else if s.call.active {
        s.call_lost(ctx.io);
    } else {
        ctx.io.urc("+MIPCALL: 0");
    }
    Ok(Reply::Ok)
}

impl Fibocom {
    /// The call went down (or the host took it down): the FTP session over it ends first (a
    /// download in data mode gets its ETX before any URC), then `+MIPCALL: 0`.
    pub(super) fn call_lost(&mut self, io: &mut Io) {
        if std::mem::take(&mut self.call.active) {
            self.lose_bearer(CALL, io);
            io.urc("+MIPCALL: 0");
        }
        crate::dialect::data_call::lost(self, io);
    }
}
