//! Identification, SIM, signal, registration and functionality commands (SIM7080 manual
//! chapters 3 and 5): `ATI`, `+CGMI`, `+CGMM`, `+CGMR`, `+CGSN`, `+GSN`, `+CIMI`, `+CCID`,
//! `+SIMCOMATI`, `+CPIN`, `+CSQ`, `+CREG`, `+CGREG`, `+CEREG`, `+COPS`, `+CFUN`.
//!
//! Choices where the manual is silent:
//! - `AT+CFUN=0` prints `+CPIN: NOT READY` before `OK` (seed 002 §4.2), drops registration and
//!   every active bearer (`+APP PDP: <n>,DEACTIVE`); `AT+CFUN=1` answers `OK`, then
//!   `+CPIN: READY`. `AT+CFUN=1,1` and `AT+CFUN=6` reboot (boot URCs after `OK`).
//!   `AT+CFUN=5`/`7` (factory test, offline) and a reset into 0 or 4 are not emulated: `ERROR`.
//! - Commands that need the SIM answer `+CME ERROR: 772` (SIM powered down) while CFUN is 0.

use vmodem_at::{Command, Failure, Form, Reply};

use super::profile::cme;
use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome};

/// "SIM powered down": what SIM commands answer while CFUN is 0.
const SIM_POWERED_DOWN: u16 = 772;

/// The radio and registration state.
#[derive(Debug, Clone)]
pub struct Radio {
    /// `AT+CFUN` level: 1 full, 0 minimum, 4 RF off.
    pub fun: u8,
    /// `+CREG`, `+CGREG`, `+CEREG` URC modes (0 off, 1 status, 2 status and location).
    pub reg_urc: [u8; 3],
    /// `AT+COPS` mode (0 automatic, 1 manual, 2 deregistered, 4 manual/automatic).
    pub cops_mode: u8,
    /// `AT+COPS` operator format (0 long, 1 short, 2 numeric).
    pub cops_format: u8,
}

impl Default for Radio {
    fn default() -> Self {
        Radio { fun: 1, reg_urc: [0; 3], cops_mode: 0, cops_format: 0 }
    }
}

/// The three registration commands, in `Radio::reg_urc` order.
const REG_NAMES: [&str; 3] = ["+CREG", "+CGREG", "+CEREG"];

pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("I").exec(ati).write(ati),
    cmd("+CGMI").test_ok().exec(|s, _, c| info(c, s.profile.manufacturer)),
    cmd("+GMI").test_ok().exec(|s, _, c| info(c, s.profile.manufacturer)),
    cmd("+CGMM").test_ok().exec(|s, _, c| info(c, s.profile.model)),
    cmd("+GMM").test_ok().exec(|s, _, c| info(c, s.profile.model)),
    cmd("+CGMR").test_ok().exec(|s, _, c| info(c, s.revision())),
    cmd("+GMR").test_ok().exec(|s, _, c| info(c, s.revision())),
    cmd("+CGSN").test_ok().exec(|s, _, c| info(c, &s.config.identity.imei)),
    cmd("+GSN").test_ok().exec(|s, _, c| info(c, &s.config.identity.imei)),
    cmd("+CIMI").test_ok().exec(|s, _, c| {
        s.need_sim()?;
        info(c, &s.config.identity.imsi)
    }),
    cmd("+CCID").test_ok().exec(|s, _, c| {
        s.need_sim()?;
        info(c, &s.config.identity.iccid)
    }),
    cmd("+GSV").exec(gsv),
    cmd("+SIMCOMATI").exec(simcomati),
    cmd("+CPIN").test_ok().read(cpin_read).write(|_, _, _| Err(Failure::Cme(cme::NOT_ALLOWED))),
    cmd("+CSQ").test("+CSQ: (0-31,99),(0-7,99)").exec(csq),
    cmd("+CREG").test("+CREG: (0-2)").read(reg_read).write(reg_write),
    cmd("+CGREG").test("+CGREG: (0-2)").read(reg_read).write(reg_write),
    cmd("+CEREG").test("+CEREG: (0-2,4)").read(reg_read).write(reg_write),
    cmd("+COPS").test_with(cops_test).read(cops_read).write(cops_write),
    cmd("+CFUN").test("+CFUN: (0-1,4-7),(0-1)").read(cfun_read).write(cfun_write),
];

/// The 2G modules' extra identification: `AT+GOI` (the family name) and `AT+GCAP` (GSM and fax
/// classes; unspaced on the SIM900, as a captured log shows).
pub(super) const GSM_IDENTITY: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+GOI").test_ok().exec(|s, _, c| info(c, &s.profile.name.to_ascii_uppercase())),
    cmd("+GCAP").test_ok().exec(|s, _, c| info(c, &s.profile.line("+GCAP", "+FCLASS,+CGSM"))),
];

fn info(ctx: &mut Ctx<'_, '_>, text: &str) -> Outcome {
    ctx.rsp.line(text);
    Ok(Reply::Ok)
}

fn ati(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if let Form::Write(_) = cmd.form {
        Args::of(cmd, Failure::Plain).uint(0, 0..=0)?;
    }
    info(ctx, s.config.identity.ati.as_deref().unwrap_or(s.profile.ati))
}

/// `AT+GSV`: manufacturer, model and revision, one per line.
fn gsv(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.profile.manufacturer);
    ctx.rsp.line(s.profile.model);
    ctx.rsp.line(s.revision());
    Ok(Reply::Ok)
}

fn simcomati(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.revision());
    for line in s.profile.simcomati {
        ctx.rsp.line(line);
    }
    ctx.rsp.line(format!("IMEI:{}", s.config.identity.imei));
    Ok(Reply::Ok)
}

fn cpin_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let state = if s.radio.fun == 0 { "NOT READY" } else { "READY" };
    info(ctx, &format!("+CPIN: {state}"))
}

fn csq(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let (rssi, ber) = if s.registered() { (s.config.network.rssi, s.config.network.ber) } else { (99, 99) };
    info(ctx, &format!("+CSQ: {rssi},{ber}"))
}

/// Index of a registration command in `Radio::reg_urc`.
fn reg_index(cmd: &Command) -> usize {
    REG_NAMES.iter().position(|n| *n == cmd.name).unwrap_or(0)
}

fn reg_read(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let i = reg_index(cmd);
    let n = s.radio.reg_urc[i];
    info(ctx, &format!("{}: {},{}", cmd.name, n, s.reg_status(n)))
}

fn reg_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let max = if cmd.name == "+CEREG" { 4 } else { 2 };
    let n = Args::of(cmd, Failure::Plain).opt_uint(0, 0..=max)?.unwrap_or(0);
    if n == 3 {
        return Err(Failure::Plain);
    }
    s.radio.reg_urc[reg_index(cmd)] = n as u8;
    Ok(Reply::Ok)
}

fn cops_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let n = &s.config.network;
    let list = if s.radio.fun == 1 && n.registered {
        format!("(2,\"{}\",\"{}\",\"{}\",{})", n.operator, n.operator_short, n.plmn, n.act)
    } else {
        String::new()
    };
    info(ctx, &format!("+COPS: {list},,(0-4),(0-2)"))
}

fn cops_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let line = if s.registered() {
        let r = &s.radio;
        match s.profile.cops_act {
            true => format!("+COPS: {},{},\"{}\",{}", r.cops_mode, r.cops_format, s.operator(), s.config.network.act),
            false => format!("+COPS: {},{},\"{}\"", r.cops_mode, r.cops_format, s.operator()),
        }
    } else {
        format!("+COPS: {}", s.radio.cops_mode)
    };
    info(ctx, &line)
}

fn cops_write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=4)?;
    let mode = a.uint(0, 0..=4)? as u8;
    let format = a.opt_uint(1, 0..=2)?.map(|f| f as u8);
    let was = s.registered();
    match mode {
        3 => s.radio.cops_format = format.ok_or(Failure::Plain)?,
        1 | 4 => {
            let format = format.ok_or(Failure::Plain)?;
            let wanted = a.text(2, 64)?;
            let ours = s.operator_in(format);
            if !wanted.eq_ignore_ascii_case(ours) && mode == 1 {
                return Err(Failure::Cme(30));
            }
            s.radio.cops_format = format;
            s.radio.cops_mode = mode;
        }
        _ => {
            if let Some(f) = format {
                s.radio.cops_format = f;
            }
            s.radio.cops_mode = mode;
        }
    }
    s.registration_changed(was, ctx.io);
    Ok(Reply::Ok)
}

fn cfun_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    info(ctx, &format!("+CFUN: {}", s.radio.fun))
}

fn cfun_write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=2)?;
    let fun = a.uint(0, 0..=7)? as u8;
    let reset = a.opt_uint(1, 0..=1)?.unwrap_or(0) == 1;
    match (fun, reset) {
        (1, true) | (6, _) => {
            ctx.io.reboot();
            return Ok(Reply::Ok);
        }
        (0 | 1 | 4, false) => {}
        _ => return Err(Failure::Plain),
    }
    let (old, was) = (s.radio.fun, s.registered());
    if fun == old {
        return Ok(Reply::Ok);
    }
    s.radio.fun = fun;
    if fun == 0 {
        ctx.rsp.line("+CPIN: NOT READY");
    }
    if old == 0 {
        ctx.io.urc("+CPIN: READY");
    }
    s.registration_changed(was, ctx.io);
    Ok(Reply::Ok)
}

impl Simcom {
    /// `AT+CGMR`: the configured revision or the family's.
    pub(super) fn revision(&self) -> &str {
        self.config.identity.revision.as_deref().unwrap_or(self.profile.revision)
    }

    /// Fails while the SIM is powered down (CFUN 0).
    pub(super) fn need_sim(&self) -> Result<(), Failure> {
        if self.radio.fun == 0 { Err(Failure::Cme(SIM_POWERED_DOWN)) } else { Ok(()) }
    }

    /// Whether the module is registered on the network.
    pub(super) fn registered(&self) -> bool {
        self.radio.fun == 1 && self.radio.cops_mode != 2 && self.config.network.registered
    }

    /// The operator in the current `+COPS` format.
    fn operator(&self) -> &str {
        self.operator_in(self.radio.cops_format)
    }

    fn operator_in(&self, format: u8) -> &str {
        let n = &self.config.network;
        match format {
            1 => &n.operator_short,
            2 => &n.plmn,
            _ => &n.operator,
        }
    }

    /// `<stat>` of `+CREG` and friends, with location when the URC mode asks for it.
    fn reg_status(&self, n: u8) -> String {
        let stat = u8::from(self.registered());
        let net = &self.config.network;
        if n >= 2 && stat == 1 {
            format!("{stat},\"{}\",\"{}\",{}", net.tac, net.cell, net.act)
        } else {
            stat.to_string()
        }
    }

    /// After anything that may change registration: URCs for hosts that asked for them, and
    /// losing registration takes the bearers down.
    pub(super) fn registration_changed(&mut self, was: bool, io: &mut Io) {
        let now = self.registered();
        if now == was {
            return;
        }
        for (i, name) in REG_NAMES.iter().enumerate() {
            let n = self.radio.reg_urc[i];
            if n > 0 {
                io.urc(format!("{name}: {}", self.reg_status(n)));
            }
        }
        if now {
            self.network_up();
        } else {
            self.network_lost(io);
        }
    }
}
