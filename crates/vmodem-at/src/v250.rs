//! The V.250 commands every family shares, because they change the line discipline itself:
//! `E V Q X Z &F &W &C &D S<n>` and `+CMEE +IPR +IFC +ICF`. A family describes its ranges and
//! test-form texts in a [`V250`] row; identification (`ATI`) belongs to the dialect.

use crate::command::{Arg, Command, Form, Syntax};
use crate::engine::{Reply, Response};
use crate::frame::Failure;
use crate::settings::Cmee;

/// One S-register a family offers.
#[derive(Debug, Clone, Copy)]
pub struct SRegister {
    /// The register number (0 to 12).
    pub number: u8,
    /// Lowest value a write accepts.
    pub min: u8,
    /// Highest value a write accepts.
    pub max: u8,
    /// What `ATS<n>=?` prints.
    pub test: &'static str,
}

/// A family's answers for the shared V.250 commands.
#[derive(Debug, Clone, Copy)]
pub struct V250 {
    /// What `AT+IPR=?` prints.
    pub ipr_test: &'static str,
    /// The rates `AT+IPR=<rate>` accepts (0 is autobaud).
    pub ipr_rates: &'static [u32],
    /// What `AT+IFC=?` prints.
    pub ifc_test: &'static str,
    /// What `AT+ICF=?` prints.
    pub icf_test: &'static str,
    /// The lowest and highest `AT+ICF` format the family takes.
    pub icf_formats: (u8, u8),
    /// What `AT+CMEE=?` prints.
    pub cmee_test: &'static str,
    /// The S-registers the family offers.
    pub s_registers: &'static [SRegister],
    /// The failure for a value out of range or a malformed argument.
    pub bad_value: Failure,
}

/// Runs `cmd` if it is one of the shared V.250 commands; `None` otherwise.
pub fn execute(family: &V250, cmd: &Command, rsp: &mut Response<'_>) -> Option<Reply> {
    let bad = Reply::Error(family.bad_value);
    let reply = match (cmd.syntax, cmd.name.as_str()) {
        (Syntax::Basic, "E") => flag(cmd, family, |rsp, v| rsp.settings_mut().echo = v, rsp),
        (Syntax::Basic, "V") => flag(cmd, family, |rsp, v| rsp.settings_mut().verbose = v, rsp),
        (Syntax::Basic, "Q") => flag(cmd, family, |rsp, v| rsp.settings_mut().quiet = v, rsp),
        (Syntax::Basic, "X") => number(cmd, 0, 4).map_or(bad, |_| Reply::Ok),
        (Syntax::Basic, "Z") => number(cmd, 0, 0).map_or(bad, |_| {
            rsp.restore_profile();
            Reply::Ok
        }),
        (Syntax::Basic, "&F") => number(cmd, 0, 0).map_or(bad, |_| {
            rsp.factory_defaults();
            Reply::Ok
        }),
        (Syntax::Basic, "&W") => number(cmd, 0, 0).map_or(bad, |_| {
            rsp.store_profile();
            Reply::Ok
        }),
        (Syntax::Basic, "&C") => number(cmd, 0, 1).map_or(bad, |v| {
            rsp.settings_mut().dte.dcd = v as u8;
            Reply::Ok
        }),
        (Syntax::Basic, "&D") => number(cmd, 0, 2).map_or(bad, |v| {
            rsp.settings_mut().dte.dtr = v as u8;
            Reply::Ok
        }),
        (Syntax::Basic, name) if name.starts_with('S') => s_register(family, cmd, rsp)?,
        (Syntax::Extended, "+CMEE") => cmee(family, cmd, rsp),
        (Syntax::Extended, "+IPR") => ipr(family, cmd, rsp),
        (Syntax::Extended, "+IFC") => ifc(family, cmd, rsp),
        (Syntax::Extended, "+ICF") => icf(family, cmd, rsp),
        _ => return None,
    };
    Some(reply)
}

/// A basic command's number: none means 0 (`ATE` = `ATE0`); read and test forms are errors.
fn number(cmd: &Command, min: u64, max: u64) -> Option<u64> {
    match &cmd.form {
        Form::Exec => Some(0),
        Form::Write(args) => args.first().and_then(Arg::number).filter(|v| (min..=max).contains(v)),
        Form::Read | Form::Test => None,
    }
}

fn flag(cmd: &Command, family: &V250, set: impl FnOnce(&mut Response<'_>, bool), rsp: &mut Response<'_>) -> Reply {
    match number(cmd, 0, 1) {
        Some(v) => {
            set(rsp, v == 1);
            Reply::Ok
        }
        None => Reply::Error(family.bad_value),
    }
}

fn s_register(family: &V250, cmd: &Command, rsp: &mut Response<'_>) -> Option<Reply> {
    let n: u8 = cmd.name[1..].parse().ok()?;
    let Some(reg) = family.s_registers.iter().find(|r| r.number == n) else {
        return Some(Reply::Error(family.bad_value));
    };
    Some(match &cmd.form {
        Form::Read | Form::Exec => {
            rsp.line(format!("{:03}", rsp.settings().s[n as usize]));
            Reply::Ok
        }
        Form::Test => {
            rsp.line(reg.test);
            Reply::Ok
        }
        Form::Write(args) => match args.first().and_then(Arg::number) {
            Some(v) if (reg.min as u64..=reg.max as u64).contains(&v) => {
                rsp.settings_mut().s[n as usize] = v as u8;
                Reply::Ok
            }
            _ => Reply::Error(family.bad_value),
        },
    })
}

/// The numbers of a write form, each checked against its range; `None` if any is missing,
/// malformed or out of range. Arguments from index `required` on may be omitted.
fn numbers(args: &[Arg], ranges: &[(u64, u64)], required: usize) -> Option<Vec<Option<u64>>> {
    if args.len() > ranges.len() {
        return None;
    }
    ranges
        .iter()
        .enumerate()
        .map(|(i, &(lo, hi))| match args.get(i) {
            None | Some(Arg::Empty) if i >= required => Some(None),
            Some(arg) => arg.number().filter(|v| (lo..=hi).contains(v)).map(Some),
            None => None,
        })
        .collect()
}

fn cmee(family: &V250, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
    match &cmd.form {
        Form::Read => rsp.line(format!("+CMEE: {}", rsp.settings().cmee.value())),
        Form::Test => rsp.line(family.cmee_test),
        Form::Write(args) => match numbers(args, &[(0, 2)], 0) {
            Some(v) => rsp.settings_mut().cmee = Cmee::from_value(v[0].unwrap_or(0) as u32).unwrap_or_default(),
            None => return Reply::Error(family.bad_value),
        },
        Form::Exec => return Reply::Error(family.bad_value),
    }
    Reply::Ok
}

fn ipr(family: &V250, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
    match &cmd.form {
        Form::Read => rsp.line(format!("+IPR: {}", rsp.settings().dte.rate)),
        Form::Test => rsp.line(family.ipr_test),
        Form::Write(args) => match args.as_slice() {
            [arg] => match arg.number().and_then(|r| u32::try_from(r).ok()).filter(|r| family.ipr_rates.contains(r)) {
                Some(rate) => rsp.settings_mut().dte.rate = rate,
                None => return Reply::Error(family.bad_value),
            },
            _ => return Reply::Error(family.bad_value),
        },
        Form::Exec => return Reply::Error(family.bad_value),
    }
    Reply::Ok
}

fn ifc(family: &V250, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
    let dte = rsp.settings().dte;
    match &cmd.form {
        Form::Read => rsp.line(format!("+IFC: {},{}", dte.flow_dce_by_dte, dte.flow_dte_by_dce)),
        Form::Test => rsp.line(family.ifc_test),
        Form::Write(args) => match numbers(args, &[(0, 2), (0, 2)], 1) {
            Some(v) => {
                let dte = &mut rsp.settings_mut().dte;
                dte.flow_dce_by_dte = v[0].unwrap_or(0) as u8;
                dte.flow_dte_by_dce = v[1].unwrap_or(dte.flow_dte_by_dce as u64) as u8;
            }
            None => return Reply::Error(family.bad_value),
        },
        Form::Exec => return Reply::Error(family.bad_value),
    }
    Reply::Ok
}

fn icf(family: &V250, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
    let dte = rsp.settings().dte;
    match &cmd.form {
        Form::Read => rsp.line(format!("+ICF: {},{}", dte.format, dte.parity)),
        Form::Test => rsp.line(family.icf_test),
        Form::Write(args) => {
            match numbers(args, &[(family.icf_formats.0 as u64, family.icf_formats.1 as u64), (0, 3)], 1) {
                Some(v) => {
                    let dte = &mut rsp.settings_mut().dte;
                    dte.format = v[0].unwrap_or(3) as u8;
                    dte.parity = v[1].unwrap_or(dte.parity as u64) as u8;
                }
                None => return Reply::Error(family.bad_value),
            }
        }
        Form::Exec => return Reply::Error(family.bad_value),
    }
    Reply::Ok
}
