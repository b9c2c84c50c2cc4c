//! The local file system commands `AT+CFS*` (M7080 §9.2, M7000 §15.2; AN7080-CN §5.2.1), over
//! the module file system service.
//!
//! Choices where the manuals are silent, each a plain reading of them:
//! - `AT+CFSINIT` opens the buffer and `AT+CFSTERM` frees it. The file commands need it open
//!   (`ERROR`, `+CME ERROR: 3` with AT+CMEE); a second `AT+CFSINIT` is `ERROR`, as host
//!   libraries note; `AT+CFSTERM` always answers `OK`.
//! - `AT+CFSWFILE`: if fewer than `<filesize>` bytes arrive within `<inputtime>`, the answer is
//!   `ERROR` and the file is left as it was: it is written only once every byte is in, and
//!   renamed into place whole.
//! - A missing file is `+CME ERROR: 22` (not found), a full file system `+CME ERROR: 20`
//!   (memory full), a rename onto an existing name `+CME ERROR: 3`; all are plain `ERROR` at
//!   AT+CMEE=0, as the manuals print. A bad argument, an unsafe file name included, is `ERROR`.
//! - `AT+CFSRFILE` from a position past the end of the file is `ERROR`; at the end it reads 0
//!   bytes.

use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply};

use super::profile::cme;
use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome, Owner, Service};
use crate::service::fs::{self, Area, FsError, ModuleFs, WriteMode};

/// The largest `<filesize>` of `AT+CFSWFILE` and `AT+CFSRFILE`.
const MAX_FILE: u64 = 10_240;
/// The `<inputtime>` range of `AT+CFSWFILE`, in milliseconds.
const INPUT_TIME_MS: std::ops::RangeInclusive<u64> = 100..=10_000;

/// The CFS state of one module.
#[derive(Debug)]
pub struct Cfs {
    fs: ModuleFs,
    /// `AT+CFSINIT` has been sent and not yet `AT+CFSTERM`.
    open: bool,
    /// The file an `AT+CFSWFILE` data phase is filling.
    pending: Option<PendingWrite>,
}

#[derive(Debug)]
struct PendingWrite {
    area: Area,
    name: String,
    mode: WriteMode,
    data: Vec<u8>,
}

impl Cfs {
    /// Power-on state over the module's file system.
    pub fn new(fs: ModuleFs) -> Self {
        Cfs { fs, open: false, pending: None }
    }

    /// The file system itself.
    pub fn fs(&self) -> &ModuleFs {
        &self.fs
    }

    /// Takes payload bytes of the `AT+CFSWFILE` data phase.
    fn data(&mut self, payload: &[u8]) {
        if let Some(p) = self.pending.as_mut() {
            p.data.extend_from_slice(payload);
        }
    }

    /// Ends the `AT+CFSWFILE` data phase: the file is written whole, or not at all.
    fn data_end(&mut self, end: DataEnd) -> Reply {
        let Some(p) = self.pending.take() else { return Reply::Error(Failure::Plain) };
        if end != DataEnd::Complete {
            return Reply::Error(Failure::Plain);
        }
        match self.fs.write(p.area, &p.name, &p.data, p.mode) {
            Ok(()) => Reply::Ok,
            Err(e) => Reply::Error(failure(e)),
        }
    }
}

/// The file system's service: the data phases of `AT+CFSWFILE`.
pub(super) const SERVICE: Service<Simcom> =
    Service::new(Owner::Fs).data(|s, payload| s.cfs.data(payload), |s, end, _, _| s.cfs.data_end(end));

pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CFSINIT").test_ok().exec(init),
    cmd("+CFSTERM").test_ok().exec(|s, _, _| {
        s.cfs.open = false;
        Ok(Reply::Ok)
    }),
    cmd("+CFSWFILE").test_with(|s, _, c| test_line(s, c, "+CFSWFILE", "(0-1),(1-10240),(100-10000)")).write(write_file),
    cmd("+CFSRFILE").test_with(|s, _, c| test_line(s, c, "+CFSRFILE", "(0-1),(1-10240),(0-filesize)")).write(read_file),
    cmd("+CFSDFILE").test_with(|s, _, c| test_line(s, c, "+CFSDFILE", "")).write(delete_file),
    cmd("+CFSGFIS").test_with(|s, _, c| test_line(s, c, "+CFSGFIS", "")).write(file_size),
    cmd("+CFSREN").test_with(|s, _, c| test_line(s, c, "+CFSREN", "")).write(rename_file),
    cmd("+CFSGFRS").test_ok().read(free_space),
];

/// `+CFSxxx: (0-3),<name max>[,<rest>]`; `AT+CFSREN` has two names.
fn test_line(s: &mut Simcom, ctx: &mut Ctx<'_, '_>, name: &str, rest: &str) -> Outcome {
    let max = s.profile.cfs_name_max;
    let args = match (name, rest) {
        ("+CFSREN", _) => format!("(0-3),{max},{max}"),
        (_, "") => format!("(0-3),{max}"),
        _ => format!("(0-3),{max},{rest}"),
    };
    ctx.rsp.line(s.profile.line(name, args));
    Ok(Reply::Ok)
}

/// `AT+CFSINIT`.
fn init(s: &mut Simcom, _: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    if s.cfs.open {
        return Err(Failure::Cme(cme::NOT_ALLOWED));
    }
    s.cfs.open = true;
    Ok(Reply::Ok)
}

/// `<index>,<filename>` of every file command, checked; fails unless `AT+CFSINIT` is in force.
fn file_args<'a>(s: &Simcom, a: &Args<'a>) -> Result<(Area, &'a str), Failure> {
    let area = Area::from_index(a.uint(0, 0..=3)?).ok_or(Failure::Plain)?;
    let name = a.text(1, s.profile.cfs_name_max).ok().filter(|n| fs::valid_name(n)).ok_or(Failure::Plain)?;
    if !s.cfs.open {
        return Err(Failure::Cme(cme::NOT_ALLOWED));
    }
    Ok((area, name))
}

/// `AT+CFSWFILE=<index>,<filename>,<mode>,<filesize>,<inputtime>`: `DOWNLOAD`, the bytes, `OK`.
fn write_file(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(5..=5)?;
    let mode = if a.uint(2, 0..=1)? == 0 { WriteMode::Replace } else { WriteMode::Append };
    let size = a.uint(3, 1..=MAX_FILE)? as usize;
    let input_ms = a.uint(4, INPUT_TIME_MS)?;
    let (area, name) = file_args(s, &a)?;
    s.cfs.pending = Some(PendingWrite { area, name: name.to_string(), mode, data: Vec::with_capacity(size) });
    ctx.rsp.line("DOWNLOAD");
    ctx.io.data_deadline(ctx.io.now + std::time::Duration::from_millis(input_ms));
    Ok(ctx.io.data(Owner::Fs, DataPhase::Fixed(size)))
}

/// `AT+CFSRFILE=<index>,<filename>,<mode>,<filesize>,<position>`: `+CFSRFILE: <len>`, the bytes.
fn read_file(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(5..=5)?;
    let from_position = a.uint(2, 0..=1)? == 1;
    let size = a.uint(3, 1..=MAX_FILE)? as usize;
    let position = a.uint(4, 0..=u64::from(u32::MAX))?;
    let (area, name) = file_args(s, &a)?;
    let offset = if from_position { position } else { 0 };
    if offset > s.cfs.fs.size(area, name).map_err(failure)? {
        return Err(Failure::Plain);
    }
    let data = s.cfs.fs.read(area, name, offset, size).map_err(failure)?;
    ctx.rsp.line(s.profile.line("+CFSRFILE", data.len()));
    ctx.rsp.raw(&data);
    Ok(Reply::Ok)
}

/// `AT+CFSDFILE=<index>,<filename>`.
fn delete_file(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let (area, name) = file_args(s, &a)?;
    s.cfs.fs.delete(area, name).map_err(failure)?;
    Ok(Reply::Ok)
}

/// `AT+CFSGFIS=<index>,<filename>`: `+CFSGFIS: <size>`.
fn file_size(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let (area, name) = file_args(s, &a)?;
    let size = s.cfs.fs.size(area, name).map_err(failure)?;
    ctx.rsp.line(s.profile.line("+CFSGFIS", size));
    Ok(Reply::Ok)
}

/// `AT+CFSREN=<index>,<old name>,<new name>`.
fn rename_file(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(3..=3)?;
    let to = a.text(2, s.profile.cfs_name_max)?;
    let (area, from) = file_args(s, &a)?;
    s.cfs.fs.rename(area, from, to).map_err(failure)?;
    Ok(Reply::Ok)
}

/// `AT+CFSGFRS?`: `+CFSGFRS: <free bytes>`, what the files' blocks leave of the quota.
fn free_space(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.profile.line("+CFSGFRS", s.cfs.fs.free()));
    Ok(Reply::Ok)
}

/// The answer to a file-system failure (see the module docs).
fn failure(e: FsError) -> Failure {
    match e {
        FsError::InvalidName => Failure::Plain,
        FsError::NotFound => Failure::Cme(cme::NOT_FOUND),
        FsError::Exists => Failure::Cme(cme::NOT_ALLOWED),
        FsError::Full => Failure::Cme(cme::MEMORY_FULL),
        FsError::Io(e) => {
            tracing::warn!(target: "vmodem::fs", "module file system: {e}");
            Failure::Cme(cme::MEMORY_FAILURE)
        }
    }
}
