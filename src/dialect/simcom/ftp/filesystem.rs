//! The SIM800's file-system transfers (M800 §12.2.24–§12.2.26, `docs/sim800.md`
//! "File-system transfers"):
//! `AT+FTPGETTOFS=<loc>,<name>` downloads the FTPGETPATH/FTPGETNAME file into `C:\User\Ftp\`
//! (loc 0, flash) or `D:\ftp\` (loc 1, the SD card), `AT+FTPPUTFRMFS=<path>` uploads a file
//! from there to FTPPUTPATH/FTPPUTNAME, and `AT+FTPEXTGET=2,<name>` saves the RAM buffer of
//! the last `AT+FTPEXTGET=1` to flash. All on the module file system the other families use.
//!
//! Results: `OK`, then `+FTPGETTOFS: 0,<length>` or `+FTPGETTOFS: <code>` (the same for
//! `+FTPPUTFRMFS`), 85 for a file-system error.
//!
//! Choices where the manual is silent:
//! - A download replaces a file of the same name only once it is complete; a failed one
//!   leaves nothing behind (and the old file as it was).
//! - `AT+FTPPUTFRMFS` takes `C:\User\Ftp\<name>` or `D:\ftp\<name>` (also with `/`, and as
//!   `Disk1:\user\ftp\` / `Disk2:\ftp\`), in any case; a missing file is `+FTPPUTFRMFS: 85`.
//! - The reconnect arguments (`<num>` 0-255, `<time>` 0-60 s) are checked and kept, but a
//!   broken transfer is not retried: it fails with its code, and the host starts it again.
//! - The read forms give `<status>` (1 while running) and, for FTPGETTOFS, the bytes received
//!   and written (the same here: bytes go to the file as they come).

use vmodem_at::{Command, Failure, Reply};

use super::super::{Simcom, cmd};
use super::session::{self, Kind, Transfer, join};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};
use crate::service::fs::{self, Area};
use crate::service::ftp::{SessionWork, Source, StoreMode, TransferSettings};
use crate::service::sink::{Progress, Sink};

/// The longest FTPGETTOFS / FTPEXTGET=2 file name.
const NAME_MAX: usize = 64;
/// The longest FTPPUTFRMFS path.
const PATH_MAX: usize = 128;
/// The SIM800's "file system error".
pub(super) const FS_ERROR: u8 = 85;

/// The folders a FTPPUTFRMFS path may name, as prefixes (compared without case, `/` read as
/// `\`).
const FOLDERS: &[(&str, Area)] = &[
    ("c:\\user\\ftp\\", Area::UserFtp),
    ("disk1:\\user\\ftp\\", Area::UserFtp),
    ("d:\\ftp\\", Area::SdFtp),
    ("disk2:\\ftp\\", Area::SdFtp),
];

pub(in crate::dialect::simcom) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+FTPGETTOFS").test_ok().read(get_to_fs_read).write(get_to_fs),
    cmd("+FTPPUTFRMFS").test_ok().read(put_from_fs_read).write(put_from_fs),
];

/// Checks the optional `<num>,<time>` reconnect arguments at `first`.
fn reconnects(a: &Args<'_>, first: usize) -> Result<(), Failure> {
    a.opt_uint(first, 0..=255)?;
    a.opt_uint(first + 1, 0..=60)?;
    Ok(())
}

/// `AT+FTPGETTOFS=<loc>,<filename>[,<num>,<time>]`.
fn get_to_fs(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=4)?;
    let area = [Area::UserFtp, Area::SdFtp][a.uint(0, 0..=1)? as usize];
    let name = a.text(1, NAME_MAX).ok().filter(|n| fs::valid_name(n)).ok_or(Failure::Plain)?;
    reconnects(&a, 2)?;
    if session::refuse(s, Kind::GetToFs, ctx.io) {
        return Ok(Reply::Ok);
    }
    let file = match s.cfs.fs().create(area, name) {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(target: "vmodem::fs", "AT+FTPGETTOFS: {e}");
            ctx.io.urc(s.profile.line("+FTPGETTOFS", FS_ERROR));
            return Ok(Reply::Ok);
        }
    };
    let Some(config) = session::job_config(s, Kind::GetToFs, ctx.io) else { return Ok(Reply::Ok) };
    let progress = Progress::default();
    s.ftp.ext.fs_progress = progress.clone();
    let p = &s.ftp.params;
    let source = Source::File { path: join(&p.get_path, &p.get_name), offset: p.rest };
    let work =
        SessionWork::Download { source, sink: Sink::File { file, progress }, settings: TransferSettings::default() };
    session::launch(s, Kind::GetToFs, config, work, Transfer::Fill, ctx.io);
    Ok(Reply::Ok)
}

/// `AT+FTPGETTOFS?`: `+FTPGETTOFS: 0` idle, `+FTPGETTOFS: 1,<received>,<written>` running.
fn get_to_fs_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let line = match s.ftp.running() {
        Some(Kind::GetToFs) => {
            let n = s.ftp.ext.fs_progress.get();
            format!("1,{n},{n}")
        }
        _ => "0".to_string(),
    };
    ctx.rsp.line(s.profile.line("+FTPGETTOFS", line));
    Ok(Reply::Ok)
}

/// The area and file name a FTPPUTFRMFS path names.
fn local_file(path: &str) -> Option<(Area, &str)> {
    let lower = path.to_ascii_lowercase().replace('/', "\\");
    let (prefix, area) = FOLDERS.iter().find(|(prefix, _)| lower.starts_with(prefix))?;
    let name = &path[prefix.len()..];
    fs::valid_name(name).then_some((*area, name))
}

/// `AT+FTPPUTFRMFS=<filepath>[,<num>,<time>]`.
fn put_from_fs(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=3)?;
    let path = a.text(0, PATH_MAX)?;
    reconnects(&a, 1)?;
    if session::refuse(s, Kind::PutFromFs, ctx.io) {
        return Ok(Reply::Ok);
    }
    let data = match local_file(path).map(|(area, name)| s.cfs.fs().read_all(area, name)) {
        Some(Ok(data)) => data,
        other => {
            tracing::info!(target: "vmodem::fs", "AT+FTPPUTFRMFS {path:?}: {:?}", other.map(|r| r.err()));
            ctx.io.urc(s.profile.line("+FTPPUTFRMFS", FS_ERROR));
            return Ok(Reply::Ok);
        }
    };
    let Some(config) = session::job_config(s, Kind::PutFromFs, ctx.io) else { return Ok(Reply::Ok) };
    s.ftp.ext.fs_put_size = data.len() as u64;
    let p = &s.ftp.params;
    let path = join(&p.put_path, &p.put_name);
    let settings = TransferSettings::default();
    let work = SessionWork::Upload { path, mode: StoreMode::Stor, offset: 0, source: session::whole(&data), settings };
    session::launch(s, Kind::PutFromFs, config, work, Transfer::Whole, ctx.io);
    Ok(Reply::Ok)
}

/// `AT+FTPPUTFRMFS?`: `+FTPPUTFRMFS: <0 idle|1 running>`.
fn put_from_fs_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let running = s.ftp.running() == Some(Kind::PutFromFs);
    ctx.rsp.line(s.profile.line("+FTPPUTFRMFS", u8::from(running)));
    Ok(Reply::Ok)
}

/// `AT+FTPEXTGET=2,<filename>` on the SIM800: the RAM buffer into `C:\User\Ftp\<filename>`,
/// `+FTPEXTGET: 2,<length>`; `ERROR` with nothing downloaded or when the file system refuses.
pub(super) fn save_buffer(s: &mut Simcom, a: &Args<'_>, ctx: &mut Ctx<'_, '_>) -> Outcome {
    a.count(2..=2)?;
    let name = a.text(1, NAME_MAX).ok().filter(|n| fs::valid_name(n)).ok_or(Failure::Plain)?;
    let data = s.ftp.ext.ram().ok_or(Failure::Plain)?;
    if let Err(e) = s.cfs.fs().write(Area::UserFtp, name, data, fs::WriteMode::Replace) {
        tracing::warn!(target: "vmodem::fs", "AT+FTPEXTGET=2: {e}");
        return Err(Failure::Plain);
    }
    ctx.rsp.line(s.profile.line("+FTPEXTGET", format_args!("2,{}", data.len())));
    Ok(Reply::Ok)
}
