//! Extended transfers (M7080 §15.2.19, §15.2.23, §15.2.30; AN7080 §5.12–§5.13,
//! AN7080-CN §5.1.19): `AT+FTPEXTPUT` loads a RAM buffer that the next `AT+FTPPUT=1` uploads
//! whole; `AT+FTPEXTGET=1` downloads a file into RAM for `AT+FTPEXTGET=3` to read from any
//! position; `AT+FTPEXTGET=2` downloads it into the module file system and `AT+FTPTOFSST`
//! reports how that went.
//!
//! Choices where the manuals are silent:
//! - `AT+FTPEXTPUT=2,<pos>,<len>,...` writes at `pos` within the buffer, which grows to
//!   `pos + len`; a `pos` beyond the buffer's end, or a buffer beyond 320 K, is `ERROR`. Too
//!   few bytes before the timeout: `ERROR`, buffer unchanged.
//! - A file larger than the 300 K RAM buffer fails `AT+FTPEXTGET=1` with `+FTPEXTGET: 1,79`
//!   (download error); a full file system fails `AT+FTPEXTGET=2` with `+FTPEXTGETFILE: 1,79`
//!   and the partial file is deleted, as it is on any failure.
//! - `AT+FTPEXTGET=3` reads only a completed download; `AT+FTPEXTGET=0` while a download
//!   runs is `ERROR` (end it with `AT+FTPQUIT`).
//! - `AT+FTPTOFSST` before any `AT+FTPEXTGET=2` is `ERROR`; after a failure it reports
//!   `0,<code>,0` (the partial file is gone).

use std::time::Duration;

use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply};

use super::super::profile::cme;
use super::super::{Simcom, cmd};
use super::filesystem;
use super::session::{self, Kind, Transfer, join};
use crate::dialect::args::Args;
use crate::dialect::simcom::profile::ExtGet;
use crate::dialect::{Ctx, Outcome, Owner};
use crate::service::fs::{self, Area, FsError};
use crate::service::ftp::{SessionWork, Source, TransferSettings, Value};
use crate::service::sink::{Progress, Sink};

/// The largest file `AT+FTPEXTGET=1` holds in RAM ("300 K").
const RAM_GET_MAX: usize = 300 * 1024;
/// The largest `<len>` of `AT+FTPEXTGET=3`, and the `AT+FTPEXTPUT` buffer ("320 K").
const RAM_MAX: u64 = 320 * 1024;
/// The longest file name of `AT+FTPEXTGET=2`.
const FILE_NAME_MAX: usize = 50;

/// The extended-transfer state of one module.
#[derive(Debug, Default)]
pub struct Extended {
    /// `AT+FTPEXTGET` mode: 0 normal, 1 into RAM, 2 into the file system.
    get_mode: u8,
    /// Bytes of the running or last extended download.
    progress: Progress,
    /// The completed `AT+FTPEXTGET=1` download.
    ram: Option<Vec<u8>>,
    /// How the last `AT+FTPEXTGET=2` went.
    to_fs: Option<ToFs>,
    /// The `AT+FTPEXTPUT` buffer, while extended put (mode 1) is on.
    put: Option<Vec<u8>>,
    /// The running `AT+FTPEXTPUT=2` data phase.
    load: Option<Load>,
    /// Bytes of the running or last `AT+FTPGETTOFS` (SIM800).
    pub(super) fs_progress: Progress,
    /// The size of the file the running or last `AT+FTPPUTFRMFS` uploads (SIM800).
    pub(super) fs_put_size: u64,
}

/// The outcome of `AT+FTPEXTGET=2`.
#[derive(Debug)]
struct ToFs {
    /// `None` while downloading, then the code it ended with.
    code: Option<u8>,
    /// The file's size once complete.
    size: u64,
}

/// Bytes arriving for the `AT+FTPEXTPUT` buffer.
#[derive(Debug)]
struct Load {
    pos: usize,
    data: Vec<u8>,
}

impl Extended {
    /// The completed `AT+FTPEXTGET=1` download.
    pub(super) fn ram(&self) -> Option<&[u8]> {
        self.ram.as_deref()
    }

    /// The buffer `AT+FTPPUT=1` uploads, while extended put is on.
    pub(super) fn put_buffer(&self) -> Option<&[u8]> {
        self.put.as_deref()
    }

    /// Takes payload bytes of the `AT+FTPEXTPUT=2` data phase.
    pub(super) fn data(&mut self, payload: &[u8]) {
        if let Some(load) = self.load.as_mut() {
            load.data.extend_from_slice(payload);
        }
    }

    /// Ends the `AT+FTPEXTPUT=2` data phase: the bytes go into the buffer, or none do.
    pub(super) fn data_end(&mut self, end: DataEnd) -> Reply {
        match (self.load.take(), self.put.as_mut(), end) {
            (Some(Load { pos, data }), Some(buf), DataEnd::Complete) => {
                let end = pos + data.len();
                if buf.len() < end {
                    buf.resize(end, 0);
                }
                buf[pos..end].copy_from_slice(&data);
                Reply::Ok
            }
            _ => Reply::Error(Failure::Plain),
        }
    }

    /// An extended download completed.
    pub(super) fn succeeded(&mut self, value: Value) {
        match value {
            Value::Bytes(bytes) => self.ram = Some(bytes),
            Value::Size(size) => self.to_fs = Some(ToFs { code: Some(0), size }),
            _ => {}
        }
    }

    /// A session of `kind` ended with a failure `code`.
    pub(super) fn failed(&mut self, kind: Kind, code: u8) {
        if kind == Kind::ExtGetFile {
            self.to_fs = Some(ToFs { code: Some(code), size: 0 });
        }
    }
}

pub(in crate::dialect::simcom) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+FTPEXTPUT").test_ok().read(ext_put_read).write(ext_put),
    cmd("+FTPEXTGET").test("+FTPEXTGET: (0-3),(0-3),50").read(ext_get_read).write(ext_get),
    cmd("+FTPTOFSST").test("+FTPTOFSST: (0,1),(0-5800000)").exec(to_fs_status),
];

/// The failure for a command in the wrong state.
const WRONG_STATE: Failure = Failure::Cme(cme::NOT_ALLOWED);

/// `AT+FTPEXTPUT?`: `+FTPEXTPUT: <mode>,<buffered bytes>`.
fn ext_put_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let ext = &s.ftp.ext;
    let line = format!("{},{}", u8::from(ext.put.is_some()), ext.put.as_ref().map_or(0, Vec::len));
    ctx.rsp.line(s.profile.line("+FTPEXTPUT", line));
    Ok(Reply::Ok)
}

/// `AT+FTPEXTPUT=0` (normal put, buffer cleared), `=1` (extended put), and
/// `=2,<pos>,<len>,<timeout ms>` (load `len` bytes at `pos`: `+FTPEXTPUT: <pos>,<len>`, data, `OK`).
fn ext_put(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    match a.uint(0, 0..=2)? {
        0 => {
            a.count(1..=1)?;
            s.ftp.ext.put = None;
            Ok(Reply::Ok)
        }
        1 => {
            a.count(1..=1)?;
            s.ftp.ext.put.get_or_insert_with(Vec::new);
            Ok(Reply::Ok)
        }
        _ => {
            a.count(4..=4)?;
            let pos = a.uint(1, 0..=RAM_MAX)?;
            let len = a.uint(2, 1..=RAM_MAX)?;
            let timeout = a.uint(3, 1000..=1_000_000)?;
            let Some(buf) = s.ftp.ext.put.as_ref() else { return Err(WRONG_STATE) };
            if pos > buf.len() as u64 || pos + len > RAM_MAX {
                return Err(Failure::Plain);
            }
            s.ftp.ext.load = Some(Load { pos: pos as usize, data: Vec::with_capacity(len as usize) });
            ctx.rsp.line(s.profile.line("+FTPEXTPUT", format_args!("{pos},{len}")));
            ctx.io.data_deadline(ctx.io.now + Duration::from_millis(timeout));
            Ok(ctx.io.data(Owner::FtpBuffer, DataPhase::Fixed(len as usize)))
        }
    }
}

/// `AT+FTPEXTGET?`: `+FTPEXTGET: <mode>,<bytes downloaded>`.
fn ext_get_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let ext = &s.ftp.ext;
    ctx.rsp.line(s.profile.line("+FTPEXTGET", format_args!("{},{}", ext.get_mode, ext.progress.get())));
    Ok(Reply::Ok)
}

/// `AT+FTPEXTGET=0|1|2,<dir>,<name>|3,<pos>,<len>`.
fn ext_get(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let downloading = matches!(s.ftp.running(), Some(Kind::ExtGet | Kind::ExtGetFile));
    match a.uint(0, 0..=3)? {
        0 => {
            a.count(1..=1)?;
            if downloading {
                return Err(WRONG_STATE);
            }
            let ext = &mut s.ftp.ext;
            (ext.get_mode, ext.ram, ext.progress) = (0, None, Progress::default());
            Ok(Reply::Ok)
        }
        1 => {
            a.count(1..=1)?;
            if session::refuse(s, Kind::ExtGet, ctx.io) {
                return Ok(Reply::Ok);
            }
            let progress = Progress::default();
            let ext = &mut s.ftp.ext;
            (ext.get_mode, ext.ram, ext.progress) = (1, None, progress.clone());
            launch_get(s, Kind::ExtGet, Sink::memory(RAM_GET_MAX, progress), ctx);
            Ok(Reply::Ok)
        }
        2 if s.profile.ftp.extget == ExtGet::SaveBuffer => filesystem::save_buffer(s, &a, ctx),
        2 if s.profile.ftp.extget == ExtGet::RamOnly => Err(Failure::Plain),
        2 => {
            a.count(3..=3)?;
            let area = Area::from_index(a.uint(1, 0..=3)?).ok_or(Failure::Plain)?;
            let name = a.text(2, FILE_NAME_MAX).ok().filter(|n| fs::valid_name(n)).ok_or(Failure::Plain)?;
            let file = match s.cfs.fs().create_new(area, name) {
                Ok(file) => file,
                Err(FsError::Exists) => return Err(Failure::Plain),
                Err(e) => {
                    tracing::warn!(target: "vmodem::fs", "AT+FTPEXTGET=2: {e}");
                    return Err(Failure::Plain);
                }
            };
            if session::refuse(s, Kind::ExtGetFile, ctx.io) {
                return Ok(Reply::Ok);
            }
            let progress = Progress::default();
            let ext = &mut s.ftp.ext;
            (ext.get_mode, ext.progress) = (2, progress.clone());
            ext.to_fs = Some(ToFs { code: None, size: 0 });
            launch_get(s, Kind::ExtGetFile, Sink::File { file, progress }, ctx);
            Ok(Reply::Ok)
        }
        _ => {
            a.count(3..=3)?;
            let pos = a.uint(1, 0..=RAM_MAX)? as usize;
            let len = a.uint(2, 1..=RAM_MAX)? as usize;
            let data = match &s.ftp.ext.ram {
                Some(ram) if !downloading && pos < ram.len() => &ram[pos..ram.len().min(pos + len)],
                _ => return Err(WRONG_STATE),
            };
            ctx.rsp.line(s.profile.line("+FTPEXTGET", format_args!("3,{}", data.len())));
            ctx.rsp.raw(data);
            Ok(Reply::Ok)
        }
    }
}

/// Starts the download of the FTPGETPATH/FTPGETNAME file into `sink`.
fn launch_get(s: &mut Simcom, kind: Kind, sink: Sink, ctx: &mut Ctx<'_, '_>) {
    let Some(config) = session::job_config(s, kind, ctx.io) else { return };
    let p = &s.ftp.params;
    let source = Source::File { path: join(&p.get_path, &p.get_name), offset: p.rest };
    let work = SessionWork::Download { source, sink, settings: TransferSettings::default() };
    session::launch(s, kind, config, work, Transfer::Fill, ctx.io);
}

/// `AT+FTPTOFSST`: `+FTPTOFSST: <0 done|1 downloading>,<code>,<file size>`.
fn to_fs_status(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let ext = &s.ftp.ext;
    let line = match &ext.to_fs {
        None => return Err(Failure::Plain),
        Some(ToFs { code: None, .. }) => format!("1,0,{}", ext.progress.get()),
        Some(ToFs { code: Some(code), size }) => format!("0,{code},{size}"),
    };
    ctx.rsp.line(s.profile.line("+FTPTOFSST", line));
    Ok(Reply::Ok)
}
