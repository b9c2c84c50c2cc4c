//! The 3GPP TS 27.007 commands every family answers alike: `+CPIN`, `+CSQ`, `+CREG`,
//! `+CGREG`, `+CEREG`, `+COPS`, `+CFUN`, `+CGDCONT`, `+CMUX` (in [`multiplex`]), over the radio state, the PDP contexts
//! and the configured network. A family supplies its state through [`Cellular`] and puts
//! [`commands`] in its tables.
//!
//! Choices where the manuals are silent (documented with the SIM7080's application notes, kept
//! for all: `docs/v250.md` "Decisions"):
//! - `AT+CFUN=0` prints `+CPIN: NOT READY` before `OK` (AN7080-CN §4.2; D16) and drops
//!   registration (the family's bearers go with it); `AT+CFUN=1` answers `OK`, then `+CPIN: READY`.
//!   `AT+CFUN=1,1` and `AT+CFUN=6` reboot (boot URCs after `OK`). `AT+CFUN=5`/`7` (factory
//!   test, offline) and a reset into 0 or 4 are not emulated: a bad value.
//! - Registration is on with CFUN 1, `+COPS` mode other than 2, `network.registered` and
//!   coverage (which a fault plan can take away: `<stat>` is then 2, searching, as a module
//!   that has lost its cell reports).

use vmodem_at::{Command, Failure, Reply};

use super::args::Args;
use super::multiplex::{self, CmuxProfile};
use super::{Ctx, Entry, Io, Outcome};
use crate::config::{Identity, ModuleConfig, Network};

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
    /// The SIM waits for its PIN (`identity.sim_pin`): no registration until `AT+CPIN`.
    pub pin_locked: bool,
    /// A cell is in reach (a fault plan takes it away with [`NetworkEvent::LoseRegistration`]).
    ///
    /// [`NetworkEvent::LoseRegistration`]: super::NetworkEvent::LoseRegistration
    pub coverage: bool,
    /// The signal `AT+CSQ` reports, once the network changed it (`NetworkEvent::Signal`); the
    /// configured one until then.
    pub rssi: Option<u8>,
    /// The `AT+CMUX` parameters last set.
    pub cmux: Option<Vec<u32>>,
}

impl Radio {
    /// The power-on state: full functionality, the SIM locked if it has a PIN.
    pub fn new(identity: &Identity) -> Self {
        Radio {
            fun: 1,
            reg_urc: [0; 3],
            cops_mode: 0,
            cops_format: 0,
            pin_locked: identity.sim_pin.is_some(),
            coverage: true,
            rssi: None,
            cmux: None,
        }
    }
}

/// One `AT+CGDCONT` PDP context.
#[derive(Debug, Clone)]
pub struct PdpContext {
    /// Its id.
    pub cid: u8,
    /// `IP`, `IPV6`, `IPV4V6` or `Non-IP`.
    pub pdp_type: String,
    /// Its APN.
    pub apn: String,
    /// Whether it is active (`AT+CGACT`).
    pub active: bool,
}

impl PdpContext {
    /// The contexts at power-on: 1 on the network's APN and active (the LTE default bearer),
    /// 2 defined and inactive, as AN7080-CN §4.1's `AT+CGACT?` shows (`docs/v250.md` D18).
    pub fn power_on(apn: &str) -> Vec<PdpContext> {
        vec![
            PdpContext { cid: 1, pdp_type: "IP".into(), apn: apn.into(), active: true },
            PdpContext { cid: 2, pdp_type: "IPV4V6".into(), apn: String::new(), active: false },
        ]
    }
}

/// The PDP types `AT+CGDCONT` takes.
const PDP_TYPES: &[&str] = &["IP", "IPV6", "IPV4V6", "Non-IP"];

/// The three registration commands, in `Radio::reg_urc` order.
const REG_NAMES: [&str; 3] = ["+CREG", "+CGREG", "+CEREG"];

/// What a family gives these commands.
pub trait Cellular: Sized + 'static {
    /// Its radio state.
    fn radio(&self) -> &Radio;
    /// Its radio state, to change.
    fn radio_mut(&mut self) -> &mut Radio;
    /// The modem's configuration (identity and network).
    fn config(&self) -> &ModuleConfig;
    /// The SIM's PIN, if it has one.
    fn sim_pin(&self) -> Option<&str> {
        self.config().identity.sim_pin.as_deref()
    }
    /// The configured network.
    fn network(&self) -> &Network {
        &self.config().network
    }
    /// The PDP contexts, by cid.
    fn contexts(&mut self) -> &mut Vec<PdpContext>;
    /// Whether `AT+CSQ?` answers as `AT+CSQ` does (27.007 defines no read form; the UNISOC
    /// engine of the L610 answers it, and RT-Thread's L610 driver sends it).
    fn csq_read(&self) -> bool {
        false
    }
    /// Whether `+COPS?` reports the access technology (2G modules print only the operator).
    fn cops_act(&self) -> bool {
        true
    }
    /// The failure a bad value gets (the family's `ERROR` or `+CME ERROR`).
    fn bad(&self) -> Failure;
    /// Its `AT+CMUX` ranges.
    fn cmux_profile(&self) -> &'static CmuxProfile;
    /// Registration came (`true`) or went: the family's bearers follow.
    fn registration(&mut self, registered: bool, io: &mut Io);

    /// Whether the module is registered on the network.
    fn registered(&self) -> bool {
        self.searching() && self.radio().coverage
    }

    /// Whether the module looks for a network: radio on, SIM ready, not deregistered by hand.
    fn searching(&self) -> bool {
        let r = self.radio();
        r.fun == 1 && !r.pin_locked && r.cops_mode != 2 && self.network().registered
    }
}

/// The cell comes into reach (`true`) or goes: registration follows, with its URCs and the
/// family's bearers.
pub fn set_coverage<S: Cellular>(s: &mut S, coverage: bool, io: &mut Io) {
    let was = s.registered();
    s.radio_mut().coverage = coverage;
    registration_changed(s, was, io);
}

/// The signal `AT+CSQ` reports now: the `<rssi>`, 99 while not registered.
pub fn signal<S: Cellular>(s: &S) -> u8 {
    if s.registered() { s.radio().rssi.unwrap_or(s.network().rssi) } else { 99 }
}

/// The commands, for a family's tables.
pub const fn commands<S: Cellular>() -> [Entry<S>; 9] {
    [
        Entry::new("+CPIN").test_ok().read(cpin_read::<S>).write(cpin_write::<S>),
        Entry::new("+CSQ").test("+CSQ: (0-31,99),(0-7,99)").read(csq_read::<S>).exec(csq::<S>),
        Entry::new("+CREG").test("+CREG: (0-2)").read(reg_read::<S>).write(reg_write::<S>),
        Entry::new("+CGREG").test("+CGREG: (0-2)").read(reg_read::<S>).write(reg_write::<S>),
        Entry::new("+CEREG").test("+CEREG: (0-2,4)").read(reg_read::<S>).write(reg_write::<S>),
        Entry::new("+COPS").test_with(cops_test::<S>).read(cops_read::<S>).write(cops_write::<S>),
        Entry::new("+CFUN").test("+CFUN: (0-1,4-7),(0-1)").read(cfun_read::<S>).write(cfun_write::<S>),
        Entry::new("+CGDCONT").test_with(cgdcont_test).read(cgdcont_read::<S>).write(cgdcont_write::<S>),
        Entry::new("+CMUX").test_with(multiplex::test::<S>).read(multiplex::read::<S>).write(multiplex::write::<S>),
    ]
}

pub(super) fn info(ctx: &mut Ctx<'_, '_>, text: &str) -> Outcome {
    ctx.rsp.line(text);
    Ok(Reply::Ok)
}

fn cpin_read<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let r = s.radio();
    let state = match (r.fun, r.pin_locked) {
        (0, _) => "NOT READY",
        (_, true) => "SIM PIN",
        _ => "READY",
    };
    info(ctx, &format!("+CPIN: {state}"))
}

/// `AT+CPIN="<pin>"`: unlocks a SIM that waits for its PIN (CME 16, "incorrect password", for
/// a wrong one); with nothing to unlock, CME 3 ("operation not allowed").
fn cpin_write<S: Cellular>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=2)?;
    let pin = a.text(0, 16)?;
    if !s.radio().pin_locked {
        return Err(Failure::Cme(3));
    }
    if s.sim_pin() != Some(pin) {
        return Err(Failure::Cme(16));
    }
    let was = s.registered();
    s.radio_mut().pin_locked = false;
    registration_changed(s, was, ctx.io);
    Ok(Reply::Ok)
}

fn csq<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let n = s.network();
    let (rssi, ber) = if s.registered() { (s.radio().rssi.unwrap_or(n.rssi), n.ber) } else { (99, 99) };
    info(ctx, &format!("+CSQ: {rssi},{ber}"))
}

/// `AT+CSQ?`: the execute form's answer where the family has the read form.
fn csq_read<S: Cellular>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if !s.csq_read() {
        // As the SIMCom families answer any form a command lacks.
        return Err(Failure::Plain);
    }
    csq(s, cmd, ctx)
}

/// Index of a registration command in `Radio::reg_urc`.
fn reg_index(cmd: &Command) -> usize {
    REG_NAMES.iter().position(|n| *n == cmd.name).unwrap_or(0)
}

fn reg_read<S: Cellular>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let n = s.radio().reg_urc[reg_index(cmd)];
    info(ctx, &format!("{}: {},{}", cmd.name, n, reg_status(s, n)))
}

fn reg_write<S: Cellular>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let bad = s.bad();
    let max = if cmd.name == "+CEREG" { 4 } else { 2 };
    let n = Args::of(cmd, bad).opt_uint(0, 0..=max)?.unwrap_or(0);
    if n == 3 {
        return Err(bad);
    }
    s.radio_mut().reg_urc[reg_index(cmd)] = n as u8;
    Ok(Reply::Ok)
}

fn cops_test<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let n = s.network();
    let list = if s.radio().fun == 1 && n.registered && s.radio().coverage {
        format!("(2,\"{}\",\"{}\",\"{}\",{})", n.operator, n.operator_short, n.plmn, n.act)
    } else {
        String::new()
    };
    info(ctx, &format!("+COPS: {list},,(0-4),(0-2)"))
}

fn cops_read<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let r = s.radio();
    let line = match (s.registered(), s.cops_act()) {
        (true, true) => format!("+COPS: {},{},\"{}\",{}", r.cops_mode, r.cops_format, operator(s), s.network().act),
        (true, false) => format!("+COPS: {},{},\"{}\"", r.cops_mode, r.cops_format, operator(s)),
        (false, _) => format!("+COPS: {}", r.cops_mode),
    };
    info(ctx, &line)
}

fn cops_write<S: Cellular>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let bad = s.bad();
    let a = Args::of(cmd, bad);
    a.count(1..=4)?;
    let mode = a.uint(0, 0..=4)? as u8;
    let format = a.opt_uint(1, 0..=2)?.map(|f| f as u8);
    let was = s.registered();
    match mode {
        3 => s.radio_mut().cops_format = format.ok_or(bad)?,
        1 | 4 => {
            let format = format.ok_or(bad)?;
            let wanted = a.text(2, 64)?;
            if !wanted.eq_ignore_ascii_case(operator_in(s.network(), format)) && mode == 1 {
                return Err(Failure::Cme(30));
            }
            let r = s.radio_mut();
            (r.cops_format, r.cops_mode) = (format, mode);
        }
        _ => {
            let r = s.radio_mut();
            if let Some(f) = format {
                r.cops_format = f;
            }
            r.cops_mode = mode;
        }
    }
    registration_changed(s, was, ctx.io);
    Ok(Reply::Ok)
}

fn cfun_read<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    info(ctx, &format!("+CFUN: {}", s.radio().fun))
}

fn cfun_write<S: Cellular>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let bad = s.bad();
    let a = Args::of(cmd, bad);
    a.count(1..=2)?;
    let fun = a.uint(0, 0..=7)? as u8;
    let reset = a.opt_uint(1, 0..=1)?.unwrap_or(0) == 1;
    match (fun, reset) {
        (1, true) | (6, _) => {
            ctx.io.reboot();
            return Ok(Reply::Ok);
        }
        (0 | 1 | 4, false) => {}
        _ => return Err(bad),
    }
    let (old, was) = (s.radio().fun, s.registered());
    if fun == old {
        return Ok(Reply::Ok);
    }
    s.radio_mut().fun = fun;
    if fun == 0 {
        ctx.rsp.line("+CPIN: NOT READY");
    }
    if old == 0 {
        ctx.io.urc("+CPIN: READY");
    }
    registration_changed(s, was, ctx.io);
    Ok(Reply::Ok)
}

fn cgdcont_test<S>(_: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for t in PDP_TYPES {
        ctx.rsp.line(format!("+CGDCONT: (1-15),\"{t}\",,,(0-2),(0-4),(0)"));
    }
    Ok(Reply::Ok)
}

fn cgdcont_read<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for p in s.contexts().iter() {
        ctx.rsp.line(format!("+CGDCONT: {},\"{}\",\"{}\",\"\",0,0,0", p.cid, p.pdp_type, p.apn));
    }
    Ok(Reply::Ok)
}

/// `AT+CGDCONT=<cid>[,<type>[,<apn>[,...]]]`: defines (or with only the cid, removes) a context.
fn cgdcont_write<S: Cellular>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=8)?;
    let cid = a.uint(0, 1..=15)? as u8;
    let pdp = s.contexts();
    let at = pdp.binary_search_by_key(&cid, |p| p.cid);
    if a.len() == 1 {
        if let Ok(i) = at {
            pdp.remove(i);
        }
        return Ok(Reply::Ok);
    }
    let pdp_type = PDP_TYPES[a.choice(1, PDP_TYPES)?].to_string();
    let apn = a.opt_text(2, 99)?.unwrap_or("").to_string();
    for i in 3..a.len() {
        a.opt_uint(i, 0..=4)?;
    }
    match at {
        Ok(i) => (pdp[i].pdp_type, pdp[i].apn) = (pdp_type, apn),
        Err(i) => pdp.insert(i, PdpContext { cid, pdp_type, apn, active: false }),
    }
    Ok(Reply::Ok)
}

/// The operator in the current `+COPS` format.
fn operator<S: Cellular>(s: &S) -> &str {
    operator_in(s.network(), s.radio().cops_format)
}

fn operator_in(n: &Network, format: u8) -> &str {
    match format {
        1 => &n.operator_short,
        2 => &n.plmn,
        _ => &n.operator,
    }
}

/// `<stat>` of `+CREG` and friends, with location when the URC mode asks for it.
fn reg_status<S: Cellular>(s: &S, n: u8) -> String {
    let stat = match (s.registered(), s.searching()) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    };
    let net = s.network();
    if n >= 2 && stat == 1 { format!("{stat},\"{}\",\"{}\",{}", net.tac, net.cell, net.act) } else { stat.to_string() }
}

/// After anything that may change registration: URCs for hosts that asked for them, and the
/// family's bearers follow.
pub fn registration_changed<S: Cellular>(s: &mut S, was: bool, io: &mut Io) {
    let now = s.registered();
    if now == was {
        return;
    }
    for (i, name) in REG_NAMES.iter().enumerate() {
        let n = s.radio().reg_urc[i];
        if n > 0 {
            io.urc(format!("{name}: {}", reg_status(s, n)));
        }
    }
    s.registration(now, io);
}
