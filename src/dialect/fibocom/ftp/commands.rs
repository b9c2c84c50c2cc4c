//! The L610's one-shot FTP commands inside a session (L610-FTP §1.2.4–§1.2.14): CWD, MKD, RMD,
//! PWD, CDUP, DEL, REN, STAT, SYST, NOOP. Each answers `OK`, then its URC. Names go to the
//! server as given, relative to its working directory; they must be quoted (CME 50 if not).

use vmodem_at::{Command, Failure};

use super::super::{Fibocom, cmd};
use super::{BAD, NAME_MAX, Pending};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};
use crate::service::ftp::{FtpOp, SessionWork};

pub(in crate::dialect::fibocom) const COMMANDS: &[crate::dialect::Entry<Fibocom>] = &[
    cmd("+FTPCWD")
        .test("+FTPCWD: (\"directory name\")")
        .write(|s, c, ctx| named(s, c, ctx, "+FTPCWD", FtpOp::ChangeDir)),
    cmd("+FTPMKD").test("+FTPMKD: (\"directory name\")").write(|s, c, ctx| named(s, c, ctx, "+FTPMKD", FtpOp::MakeDir)),
    cmd("+FTPRMD")
        .test("+FTPRMD: (\"directory name\")")
        .write(|s, c, ctx| named(s, c, ctx, "+FTPRMD", FtpOp::RemoveDir)),
    cmd("+FTPDEL").test("+FTPDEL: (\"file name\")").write(|s, c, ctx| named(s, c, ctx, "+FTPDEL", FtpOp::Delete)),
    cmd("+FTPREN").test("+FTPREN: (\"file name from\"),(\"file name to\")").write(rename),
    cmd("+FTPSTAT")
        .test("+FTPSTAT: (\"file/directory name\")")
        .exec(|s, _, c| s.submit(c.io, Pending::Stat, SessionWork::Command(FtpOp::Status(String::new()))))
        .write(|s, c, ctx| {
            let path = quoted(c, 0)?.to_string();
            s.submit(ctx.io, Pending::Stat, SessionWork::Command(FtpOp::Status(path)))
        }),
    cmd("+FTPPWD").exec(|s, _, c| s.submit(c.io, Pending::Pwd, SessionWork::Command(FtpOp::WorkingDir))),
    cmd("+FTPCDUP").exec(|s, _, c| s.submit(c.io, Pending::Plain("+FTPCDUP"), SessionWork::Command(FtpOp::Up))),
    cmd("+FTPSYST").exec(|s, _, c| s.submit(c.io, Pending::Syst, SessionWork::Command(FtpOp::System))),
    cmd("+FTPNOOP").exec(|s, _, c| s.submit(c.io, Pending::Plain("+FTPNOOP"), SessionWork::Command(FtpOp::Noop))),
];

/// Argument `i` of `cmd`, which must be a quoted string of at most 255 octets.
fn quoted(cmd: &Command, i: usize) -> Result<&str, Failure> {
    Args::of(cmd, BAD).quoted(i, NAME_MAX)
}

/// A command with one quoted name.
fn named(
    s: &mut Fibocom,
    cmd: &Command,
    ctx: &mut Ctx<'_, '_>,
    name: &'static str,
    op: fn(String) -> FtpOp,
) -> Outcome {
    Args::of(cmd, BAD).count(1..=1)?;
    let path = quoted(cmd, 0)?.to_string();
    s.submit(ctx.io, Pending::Plain(name), SessionWork::Command(op(path)))
}

/// `AT+FTPREN="<from>","<to>"`.
fn rename(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    Args::of(cmd, BAD).count(2..=2)?;
    let (from, to) = (quoted(cmd, 0)?.to_string(), quoted(cmd, 1)?.to_string());
    s.submit(ctx.io, Pending::Plain("+FTPREN"), SessionWork::Command(FtpOp::Rename { from, to }))
}
