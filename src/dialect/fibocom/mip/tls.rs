//! The TLS settings of `AT+MIPOPEN=...,2` (L610-SSL, as L610-HOSTS use it; D31, D32):
//! `AT+GTSSLVER=<0-4>` (the version; vmodem speaks TLS 1.2 whatever it says),
//! `AT+GTSSLMODE=<0|1>` (1: check the server's certificate), `AT+GTSSLFILE="<kind>",<len>`
//! (after the prompt `> `, exactly `<len>` bytes of PEM: `TRUSTFILE` adds a trusted CA,
//! `CAFILE` and `KEYFILE` set the client certificate and its key), `AT+GTSSLFILE?` (how many
//! of each are loaded) and `AT+GTSSLERR?` (the last TLS failure). Nothing is kept across a
//! power cycle, as on the module.

use vmodem_at::{Command, DataPhase, Reply};

use super::super::Fibocom;
use super::send::PROMPT;
use super::{BAD, Phase};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome, Owner};
use crate::limits::later;
use crate::service::socket::SocketError;
use crate::service::tls::{ClientIdentity, TlsSettings, TlsVersions, Verification};

/// The sizes `AT+GTSSLFILE` takes.
const FILE_SIZES: std::ops::RangeInclusive<u64> = 4..=8192;

/// The TLS settings of one L610.
#[derive(Debug, Default)]
pub(super) struct Tls {
    /// `AT+GTSSLVER`: 0 (power-on) to 4.
    version: u64,
    /// `AT+GTSSLMODE=1`: the server's certificate is checked.
    verify: bool,
    /// The `TRUSTFILE`s loaded, in order.
    trust: Vec<Vec<u8>>,
    /// The `CAFILE`: the client certificate.
    certificate: Option<Vec<u8>>,
    /// The `KEYFILE`: its private key.
    key: Option<Vec<u8>>,
    /// `AT+GTSSLERR?`: the last TLS failure's code, 0 once a handshake succeeds.
    pub(super) error: i32,
}

/// What `AT+GTSSLFILE` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    /// A trusted CA certificate (added to the others).
    Trust,
    /// The client certificate.
    Certificate,
    /// The client certificate's private key.
    Key,
}

/// The names `AT+GTSSLFILE` takes, in the order of [`FileKind`].
const KINDS: [&str; 3] = ["TRUSTFILE", "CAFILE", "KEYFILE"];

impl Tls {
    /// The settings a TLS socket opens with.
    pub(super) fn settings(&self) -> TlsSettings {
        let identity = match (&self.certificate, &self.key) {
            (Some(chain), Some(key)) => Some(ClientIdentity { chain: chain.clone(), key: key.clone() }),
            _ => None,
        };
        TlsSettings {
            ca: self.trust.join(&b'\n'),
            identity,
            verification: if self.verify { Verification::Verify } else { Verification::IgnoreCertificate },
            versions: TlsVersions::Tls12,
            sni: None,
        }
    }

    /// The bytes of an `AT+GTSSLFILE` are in.
    pub(super) fn store(&mut self, kind: FileKind, bytes: Vec<u8>) {
        match kind {
            FileKind::Trust => self.trust.push(bytes),
            FileKind::Certificate => self.certificate = Some(bytes),
            FileKind::Key => self.key = Some(bytes),
        }
    }
}

/// The `AT+GTSSLERR?` code of a socket failure, if it is a TLS one (the codes L610-HOSTS
/// tell apart): -12 settings that cannot make a session (no trusted CA to check against),
/// -11 a certificate refused, -7 any other handshake failure.
pub(super) fn error_code(e: &SocketError) -> Option<i32> {
    match e {
        SocketError::TlsConfig(_) => Some(-12),
        SocketError::TlsHandshake(f) if f.is_certificate() => Some(-11),
        SocketError::TlsHandshake(_) => Some(-7),
        _ => None,
    }
}

/// `AT+GTSSLVER=<0-4>`.
pub(super) fn version(s: &mut Fibocom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    s.mip.tls.version = a.uint(0, 0..=4)?;
    Ok(Reply::Ok)
}

/// `AT+GTSSLVER?`.
pub(super) fn version_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+GTSSLVER: {}", s.mip.tls.version));
    Ok(Reply::Ok)
}

/// `AT+GTSSLMODE=<0|1>`.
pub(super) fn mode(s: &mut Fibocom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    s.mip.tls.verify = a.uint(0, 0..=1)? == 1;
    Ok(Reply::Ok)
}

/// `AT+GTSSLMODE?`.
pub(super) fn mode_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+GTSSLMODE: {}", u8::from(s.mip.tls.verify)));
    Ok(Reply::Ok)
}

/// `AT+GTSSLFILE="<TRUSTFILE|CAFILE|KEYFILE>",<len>`: the prompt, then exactly len bytes, then
/// `OK`.
pub(super) fn file(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(2..=2)?;
    let name = a.quoted(0, 16)?;
    let kind = match KINDS.iter().position(|k| k.eq_ignore_ascii_case(name)) {
        Some(0) => FileKind::Trust,
        Some(1) => FileKind::Certificate,
        Some(_) => FileKind::Key,
        None => return Err(BAD),
    };
    let len = a.uint(1, FILE_SIZES)? as usize;
    s.mip.phase = Some(Phase::File { kind, bytes: Vec::with_capacity(len) });
    ctx.rsp.raw(PROMPT);
    ctx.io.data_deadline(later(ctx.io.now, s.config.ftp.data_input.duration()));
    Ok(ctx.io.data(Owner::Socket, DataPhase::Fixed(len)))
}

/// `AT+GTSSLFILE?`: `+GTSSLFILE: <kind>,<count>` for each kind.
pub(super) fn file_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let tls = &s.mip.tls;
    let counts = [tls.trust.len(), usize::from(tls.certificate.is_some()), usize::from(tls.key.is_some())];
    for (kind, count) in KINDS.iter().zip(counts) {
        ctx.rsp.line(format!("+GTSSLFILE: {kind},{count}"));
    }
    Ok(Reply::Ok)
}

/// `AT+GTSSLERR?`: `+GTSSLERR: <code>`.
pub(super) fn error_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+GTSSLERR: {}", s.mip.tls.error));
    Ok(Reply::Ok)
}
