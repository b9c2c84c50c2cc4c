//! Settings the SIMCom modules store and read back, with nothing more to them here: each has its
//! command, its range and its power-on value, and answers `<name>: <value>` to its read form.
//! `AT+CLTS` (network time updates), `AT+CSCLK` (slow clock) and `AT+CBATCHK` (battery check)
//! on every family ([`COMMANDS`]); `AT+CVHU` is in the TCP/IP application's table (`gprs`),
//! which uses [`read`] and [`write`].

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::clock;
use crate::dialect::{Ctx, Io, Outcome};

/// A stored setting: its command, range and power-on value.
struct Switch {
    name: &'static str,
    max: u64,
    default: u64,
}

/// The settings, as the manuals give them (M800 ch. 8, M7080 §5).
const SWITCHES: &[Switch] = &[
    Switch { name: "+CLTS", max: 1, default: 0 },
    Switch { name: "+CSCLK", max: 2, default: 0 },
    Switch { name: "+CVHU", max: 1, default: 1 },
    Switch { name: "+CBATCHK", max: 1, default: 0 },
];

/// The values of the settings.
#[derive(Debug, Clone)]
pub struct Switches([u64; SWITCHES.len()]);

impl Default for Switches {
    fn default() -> Self {
        Switches(std::array::from_fn(|i| SWITCHES[i].default))
    }
}

impl Simcom {
    /// With `AT+CLTS=1`, the network's time on registration: the clock takes it, and
    /// `+CTZV: <zone>,<dst>`, `*PSUTTZ: <yyyy>,<M>,<d>,<h>,<m>,<s>,"<zone>",<dst>` (the time
    /// in UTC) and `DST: <dst>` say so (`docs/sim800.md` D41).
    pub(super) fn network_time(&mut self, io: &mut Io) {
        if switch_of("+CLTS").map(|i| self.switches.0[i]) != Ok(1) {
            return;
        }
        let Some((utc, zone)) = clock::sync(self, io) else { return };
        io.urc(format!("+CTZV: {zone:+03},0"));
        io.urc(format!("*PSUTTZ: {},\"{zone:+03}\",0", clock::psuttz_time(utc)));
        io.urc("DST: 0");
    }
}

/// The settings every SIMCom family has.
pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CLTS").test("+CLTS: (0,1)").read(read).write(write),
    cmd("+CSCLK").test("+CSCLK: (0-2)").read(read).write(write),
    cmd("+CBATCHK").test("+CBATCHK: (0,1)").read(read).write(write),
];

fn switch_of(name: &str) -> Result<usize, Failure> {
    SWITCHES.iter().position(|sw| sw.name == name).ok_or(Failure::Plain)
}

/// The read form: `<name>: <value>`.
pub(super) fn read(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let i = switch_of(&cmd.name)?;
    ctx.rsp.line(format!("{}: {}", cmd.name, s.switches.0[i]));
    Ok(Reply::Ok)
}

/// The write form: one value within the setting's range.
pub(super) fn write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let i = switch_of(&cmd.name)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    s.switches.0[i] = a.uint(0, 0..=SWITCHES[i].max)?;
    Ok(Reply::Ok)
}
