//! Identification (`docs/l610.md` "Identification", D1): the 27.007 execute forms answer bare
//! lines (what ModemManager, python-gsmmodem and TinyGSM parse), and the Fibocom read forms answer
//! `+CGMI: "..."` (what Fibocom's own tools send); `AT+CCID` answers `+CCID: <iccid>` (an L610
//! driver parses that), `AT+GTPKGVER?` the package version. `ATI` prints manufacturer, model
//! and revision on three lines (`docs/l610.md` D1; no L610 capture exists).
//! `AT+GTSET="<name>",<value>` (FTPLIMIT, IPRFMT, ...) is accepted; `IPRFMT` sets how the
//! sockets deliver what they receive (`docs/l610.md` D22).

use vmodem_at::{Command, Failure, Reply};

use super::{Fibocom, cmd, cme};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};

/// `AT+CGMI`.
const MANUFACTURER: &str = "Fibocom Wireless Inc.";
/// `AT+CGMM`.
const MODEL: &str = "L610";
/// `AT+CGMR` (the firmware string an L610 reports; overridable as `identity.revision`).
const REVISION: &str = "16000.1000.00.96.64.04";
/// `AT+GTPKGVER?`.
const PACKAGE: &str = "L610_V1.0.1";

pub(super) const COMMANDS: &[crate::dialect::Entry<Fibocom>] = &[
    cmd("I").exec(ati),
    cmd("+CGMI").test_ok().exec(|_, _, c| bare(c, MANUFACTURER)).read(|_, _, c| quoted(c, "+CGMI", MANUFACTURER)),
    cmd("+GMI").test_ok().exec(|_, _, c| bare(c, MANUFACTURER)),
    cmd("+CGMM").test_ok().exec(|_, _, c| bare(c, MODEL)).read(|_, _, c| quoted(c, "+CGMM", MODEL)),
    cmd("+GMM").test_ok().exec(|_, _, c| bare(c, MODEL)),
    cmd("+CGMR").test_ok().exec(|s, _, c| bare(c, s.revision())).read(|s, _, c| quoted(c, "+CGMR", s.revision())),
    cmd("+GMR").test_ok().exec(|s, _, c| bare(c, s.revision())),
    cmd("+CGSN").test_ok().exec(|s, _, c| bare(c, &s.config.identity.imei)).read(|s, _, c| {
        let imei = s.config.identity.imei.clone();
        quoted(c, "+CGSN", &imei)
    }),
    cmd("+GSN").test_ok().exec(|s, _, c| bare(c, &s.config.identity.imei)),
    cmd("+CIMI").test_ok().exec(|s, _, c| bare(c, &s.config.identity.imsi)),
    cmd("+CCID").test_ok().exec(|s, _, c| {
        let line = format!("+CCID: {}", s.config.identity.iccid);
        bare(c, &line)
    }),
    cmd("+GTPKGVER").test_ok().read(|_, _, c| quoted(c, "+GTPKGVER", PACKAGE)),
    cmd("+GTSET").test_ok().write(gtset),
];

fn bare(ctx: &mut Ctx<'_, '_>, text: &str) -> Outcome {
    ctx.rsp.line(text);
    Ok(Reply::Ok)
}

fn quoted(ctx: &mut Ctx<'_, '_>, name: &str, text: &str) -> Outcome {
    ctx.rsp.line(format!("{name}: \"{text}\""));
    Ok(Reply::Ok)
}

fn ati(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(MANUFACTURER);
    ctx.rsp.line(MODEL);
    ctx.rsp.line(s.revision());
    Ok(Reply::Ok)
}

/// `AT+GTSET="<name>",<value>`: any setting name with a number value; `FTPLIMIT` (the USB
/// pacing of FTPRETR, L610-FTP §1.2.16) takes 0-1000, `IPRFMT` (the sockets' receive format)
/// 0, 1, 2 or 5.
fn gtset(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Cme(cme::BAD_PARAMETERS));
    a.count(2..=2)?;
    let name = a.text(0, 32)?;
    if name.eq_ignore_ascii_case("IPRFMT") {
        s.set_receive_format(a.uint(1, 0..=5)?, ctx.io)?;
        return Ok(Reply::Ok);
    }
    let max = if name.eq_ignore_ascii_case("FTPLIMIT") { 1000 } else { u64::from(u32::MAX) };
    a.uint(1, 0..=max)?;
    Ok(Reply::Ok)
}

impl Fibocom {
    /// The firmware revision, the configuration's if it names one.
    fn revision(&self) -> &str {
        self.config.identity.revision.as_deref().unwrap_or(REVISION)
    }
}
