//! Identification (M7080 ch. 3 and 5): `ATI`, `+CGMI`, `+CGMM`, `+CGMR`,
//! `+CGSN`, `+GSN`, `+CIMI`, `+CCID`, `+SIMCOMATI`, `+GSV`; `AT+CREBOOT`, the SIM7080
//! family's restart (`OK`, then the boot URCs, as `AT+CFUN=1,1`; `docs/sim7080.md` D42); the
//! SIMCom side of the shared 27.007 network commands ([`crate::dialect::cellular`]), whose loss
//! of registration takes every active bearer down (`+APP PDP: <n>,DEACTIVE`,
//! `+SAPBR <cid>: DEACT`).
//!
//! Commands that need the SIM answer `+CME ERROR: 772` (SIM powered down) while CFUN is 0.

use vmodem_at::{Command, Failure, Form, Reply};

use super::{Simcom, cmd};
use crate::config::ModuleConfig;
use crate::dialect::args::Args;
use crate::dialect::cellular::{Cellular, PdpContext, Radio};
use crate::dialect::{Ctx, Io, Outcome};

/// "SIM powered down": what SIM commands answer while CFUN is 0.
const SIM_POWERED_DOWN: u16 = 772;

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
    cmd("+CREBOOT").test_ok().exec(|_, _, ctx| {
        ctx.io.reboot();
        Ok(Reply::Ok)
    }),
];

/// The 2G modules' extra identification: `AT+GOI` (the family name) and `AT+GCAP` (GSM and fax
/// classes; unspaced on the SIM900, as a captured log shows).
pub(super) const GSM_IDENTITY: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+GOI").test_ok().exec(|s, _, c| info(c, &s.profile.family.name().to_ascii_uppercase())),
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

impl Simcom {
    /// `AT+CGMR`: the configured revision or the family's.
    pub(super) fn revision(&self) -> &str {
        self.config.identity.revision.as_deref().unwrap_or(self.profile.revision)
    }

    /// Fails while the SIM is powered down (CFUN 0).
    pub(super) fn need_sim(&self) -> Result<(), Failure> {
        if self.radio.fun == 0 { Err(Failure::Cme(SIM_POWERED_DOWN)) } else { Ok(()) }
    }
}

impl Cellular for Simcom {
    fn radio(&self) -> &Radio {
        &self.radio
    }

    fn radio_mut(&mut self) -> &mut Radio {
        &mut self.radio
    }

    fn config(&self) -> &ModuleConfig {
        &self.config
    }

    fn contexts(&mut self) -> &mut Vec<PdpContext> {
        &mut self.bearers.pdp
    }

    fn cops_act(&self) -> bool {
        self.profile.cops_act
    }

    fn bad(&self) -> Failure {
        Failure::Plain
    }

    fn cmux_profile(&self) -> &'static crate::dialect::multiplex::CmuxProfile {
        match self.profile.family {
            crate::family::Family::Sim800 | crate::family::Family::Sim900 => &crate::dialect::multiplex::GSM,
            _ => &crate::dialect::multiplex::LTE,
        }
    }

    /// Registration back: the default bearer comes up, and with `AT+CLTS=1` the network's
    /// time sets the clock and is announced; gone: every bearer goes down.
    fn registration(&mut self, registered: bool, io: &mut Io) {
        if registered {
            self.network_up();
            self.network_time(io);
        } else {
            self.network_lost(io);
        }
    }
}
