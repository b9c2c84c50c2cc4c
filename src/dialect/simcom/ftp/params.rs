//! FTP parameter commands (M7080 §15.2.1–§15.2.13): each stores one value for the
//! sessions that follow. All are NO_SAVE. Strings may come quoted or not (SIM800 sketches send
//! `AT+FTPTYPE=I`); read forms quote strings and not numbers (`+FTPSERV: ""`, `+FTPPORT: 21`).
//!
//! `AT+FTPPW?` is not offered (the manual gives only its test form), so the password is never
//! printed back.

use vmodem_at::{Command, Failure, Reply};

use super::super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};

/// The data type of transfers (`AT+FTPTYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// `"A"`: line endings converted as FTP's ASCII type does.
    Ascii,
    /// `"I"`: bytes as they are.
    Binary,
}

/// How uploads store the file (`AT+FTPPUTOPT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOpt {
    /// Append.
    Appe,
    /// Store under a unique name.
    Stou,
    /// Store, replacing.
    Stor,
}

impl PutOpt {
    /// In the order of the test form.
    const ALL: [PutOpt; 3] = [PutOpt::Appe, PutOpt::Stou, PutOpt::Stor];
    const NAMES: [&'static str; 3] = ["APPE", "STOU", "STOR"];

    fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|o| *o == self).unwrap_or(2)]
    }
}

/// The parameters the FTP commands use.
#[derive(Debug, Clone)]
pub struct Params {
    /// Control port.
    pub port: u16,
    /// 0 active, 1 passive.
    pub mode: u8,
    /// Transfer type.
    pub data_type: DataType,
    /// Upload mode.
    pub put_opt: PutOpt,
    /// The bearer (CNACT context) sessions run over.
    pub cid: u8,
    /// Offset the next download starts at.
    pub rest: u64,
    /// Server address or host name.
    pub server: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// File to download, delete, size, or rename from.
    pub get_name: String,
    /// Directory of `get_name`; the directory MKD, RMD and LIST act on.
    pub get_path: String,
    /// File to upload, or rename to.
    pub put_name: String,
    /// Directory of `put_name`.
    pub put_path: String,
}

impl Params {
    /// Power-on values for a family.
    pub fn new(cid: u8, mode: u8) -> Self {
        Params {
            port: 21,
            mode,
            data_type: DataType::Binary,
            put_opt: PutOpt::Stor,
            cid,
            rest: 0,
            server: String::new(),
            user: String::new(),
            password: String::new(),
            get_name: String::new(),
            get_path: String::new(),
            put_name: String::new(),
            put_path: String::new(),
        }
    }
}

pub(in crate::dialect::simcom) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+FTPPORT").test("+FTPPORT: (1-65535)").read(|s, _, c| line(c, "+FTPPORT", s.ftp.params.port)).write(
        |s, cmd, _| {
            s.ftp.params.port = arg(cmd).uint(0, 1..=65535)? as u16;
            Ok(Reply::Ok)
        },
    ),
    cmd("+FTPMODE").test("+FTPMODE: (0,1)").read(|s, _, c| line(c, "+FTPMODE", s.ftp.params.mode)).write(
        |s, cmd, _| {
            s.ftp.params.mode = arg(cmd).uint(0, 0..=1)? as u8;
            Ok(Reply::Ok)
        },
    ),
    cmd("+FTPTYPE")
        .test("+FTPTYPE: (\"A\",\"I\")")
        .read(|s, _, c| {
            let t = if s.ftp.params.data_type == DataType::Ascii { "A" } else { "I" };
            line(c, "+FTPTYPE", format!("\"{t}\""))
        })
        .write(|s, cmd, _| {
            s.ftp.params.data_type = [DataType::Ascii, DataType::Binary][arg(cmd).choice(0, &["A", "I"])?];
            Ok(Reply::Ok)
        }),
    cmd("+FTPPUTOPT")
        .test("+FTPPUTOPT: (\"APPE\",\"STOU\",\"STOR\")")
        .read(|s, _, c| quoted(c, "+FTPPUTOPT", s.ftp.params.put_opt.name()))
        .write(|s, cmd, _| {
            s.ftp.params.put_opt = PutOpt::ALL[arg(cmd).choice(0, &PutOpt::NAMES)?];
            Ok(Reply::Ok)
        }),
    cmd("+FTPCID").test_with(cid_test).read(|s, _, c| line(c, "+FTPCID", s.ftp.params.cid)).write(|s, cmd, _| {
        s.ftp.params.cid = arg(cmd).uint(0, s.profile.ftp.cid_min as u64..=s.profile.ftp.cid_max as u64)? as u8;
        Ok(Reply::Ok)
    }),
    cmd("+FTPREST").test("+FTPREST: (0-4294967295)").read(|s, _, c| line(c, "+FTPREST", s.ftp.params.rest)).write(
        |s, cmd, _| {
            s.ftp.params.rest = arg(cmd).uint(0, 0..=u32::MAX as u64)?;
            Ok(Reply::Ok)
        },
    ),
    cmd("+FTPSERV")
        .test("+FTPSERV: (0-49)")
        .read(|s, _, c| quoted(c, "+FTPSERV", &s.ftp.params.server))
        .write(|s, cmd, _| set_text(cmd, 49, &mut s.ftp.params.server)),
    cmd("+FTPUN")
        .test("+FTPUN: 49")
        .read(|s, _, c| quoted(c, "+FTPUN", &s.ftp.params.user))
        .write(|s, cmd, _| set_text(cmd, 49, &mut s.ftp.params.user)),
    cmd("+FTPPW").test("+FTPPW: 49").write(|s, cmd, _| set_text(cmd, 49, &mut s.ftp.params.password)),
    cmd("+FTPGETNAME")
        .test_with(|s, _, c| line(c, "+FTPGETNAME", s.profile.ftp.name_max))
        .read(|s, _, c| quoted(c, "+FTPGETNAME", &s.ftp.params.get_name))
        .write(|s, cmd, _| set_text(cmd, s.profile.ftp.name_max, &mut s.ftp.params.get_name)),
    cmd("+FTPGETPATH")
        .test("+FTPGETPATH: 255")
        .read(|s, _, c| quoted(c, "+FTPGETPATH", &s.ftp.params.get_path))
        .write(|s, cmd, _| set_text(cmd, 255, &mut s.ftp.params.get_path)),
    cmd("+FTPPUTNAME")
        .test_with(|s, _, c| line(c, "+FTPPUTNAME", s.profile.ftp.name_max))
        .read(|s, _, c| quoted(c, "+FTPPUTNAME", &s.ftp.params.put_name))
        .write(|s, cmd, _| set_text(cmd, s.profile.ftp.name_max, &mut s.ftp.params.put_name)),
    cmd("+FTPPUTPATH")
        .test("+FTPPUTPATH: 255")
        .read(|s, _, c| quoted(c, "+FTPPUTPATH", &s.ftp.params.put_path))
        .write(|s, cmd, _| set_text(cmd, 255, &mut s.ftp.params.put_path)),
];

/// Parameter errors are plain `ERROR` (the AT parser rejects them before the handler).
fn arg(cmd: &Command) -> Args<'_> {
    Args::of(cmd, Failure::Plain)
}

fn line(ctx: &mut Ctx<'_, '_>, name: &str, value: impl std::fmt::Display) -> Outcome {
    ctx.rsp.line(format!("{name}: {value}"));
    Ok(Reply::Ok)
}

fn quoted(ctx: &mut Ctx<'_, '_>, name: &str, value: &str) -> Outcome {
    line(ctx, name, format!("\"{value}\""))
}

fn set_text(cmd: &Command, max: usize, field: &mut String) -> Outcome {
    let a = arg(cmd);
    a.count(1..=1)?;
    *field = a.text(0, max)?.to_string();
    Ok(Reply::Ok)
}

fn cid_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    line(ctx, "+FTPCID", format!("({}-{})", s.profile.ftp.cid_min, s.profile.ftp.cid_max))
}
