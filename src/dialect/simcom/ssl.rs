//! SSL configuration: `AT+CSSLCFG` (M7080 §11.2.1), for FTPS with `AT+FTPSSL` (§15.2.29;
//! AN7080-CN §5.2) and for the application network's sockets with `AT+CASSLCFG` (§12.2.2,
//! [`super::ca`]; the SIM7000 has `AT+CSSLCFG` for those only).
//!
//! Six SSL contexts hold the version, cipher suites, RTC-time flag, protocol and SNI name; the
//! `CTXINDEX` read prints them as a real SIM7080 does
//! (`+CSSLCFG: 0,3,0x0000,0x0000,0x0000,0x0000,0x0000,0x0000,0x0000,0x0000,0,1,""`).
//! `CONVERT` reads a certificate file from the module file system's `/customer/` (where the
//! application note puts it with `AT+CFSWFILE=3,...`, AN7080-CN §5.2.1), checks that it parses
//! (PEM or DER; a client certificate with its key) and keeps it under its name for `AT+FTPSSL`.
//!
//! Choices where the manuals are silent:
//! - `AT+FTPSSL` with an empty `<calist>` does not check the server's certificate (the module
//!   has nothing to check it against; AN7080-CN §5.2.2's note says the certificate is ignored;
//!   `docs/sim7080.md` D17): the handshake signatures are still verified. With a `<calist>`,
//!   the certificate must chain to it and name the server (`FTPSERV`, or the context's SNI
//!   name).
//! - SSLVERSION 3 (TLS 1.2, the default) offers TLS 1.2; 0 ("any") offers TLS 1.3 and 1.2.
//!   TLS 1.0/1.1 (1, 2) and DTLS (4, 5) cannot carry FTPS here: a session set so fails with 90.
//! - Cipher suites are stored and printed, not enforced (rustls offers its own safe set);
//!   IGNORERTCTIME is stored: vmodem's clock is right, so certificate dates are always checked.
//! - A `<calist>` not converted yet is read from `/customer/` when the session starts; a
//!   `<certname>` must have been converted (its key is named only there). A missing or
//!   unusable one fails the session with 90 (SSL connect error).

use std::collections::HashMap;

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};
use crate::service::fs::Area;
use crate::service::ftp::{FtpTls, FtpsMode};
use crate::service::tls::{ClientIdentity, TlsSettings, TlsVersions, Verification};

/// SSL contexts (`<ctxindex>` 0-5).
const CONTEXTS: usize = 6;
/// The longest certificate file name.
const NAME_MAX: usize = 50;
/// The longest SNI name.
const SNI_MAX: usize = 253;

/// One SSL context.
#[derive(Debug, Clone)]
struct Context {
    version: u8,
    ciphers: [u16; 8],
    ignore_rtc_time: bool,
    protocol: u8,
    sni: String,
}

impl Default for Context {
    fn default() -> Self {
        Context { version: 3, ciphers: [0; 8], ignore_rtc_time: false, protocol: 1, sni: String::new() }
    }
}

/// `AT+FTPSSL`.
#[derive(Debug, Clone, Default)]
struct FtpSsl {
    /// 0 none, 1 implicit, 2 explicit.
    kind: u8,
    ctx: usize,
    calist: String,
    certname: String,
}

/// The SSL state of one module.
#[derive(Debug, Default)]
pub struct Ssl {
    contexts: [Context; CONTEXTS],
    /// CA lists converted with `CONVERT,2`, by name.
    ca_lists: HashMap<String, Vec<u8>>,
    /// Client certificates converted with `CONVERT,1`, by certificate name.
    identities: HashMap<String, ClientIdentity>,
    ftp: FtpSsl,
}

impl Ssl {
    /// Whether FTP sessions use TLS.
    pub fn ftps(&self) -> bool {
        self.ftp.kind != 0
    }
}

/// `AT+CSSLCFG=?`, one line per keyword (the manual's test response is not in the sources; this
/// lists the ranges the write forms accept).
const CSSLCFG_TEST: &[&str] = &[
    "\"SSLVERSION\",(0-5),(0-5)",
    "\"CIPHERSUITE\",(0-5),(0-7),(0x0000-0xFFFF)",
    "\"IGNORERTCTIME\",(0-5),(0,1)",
    "\"PROTOCOL\",(0-5),(1,2)",
    "\"SNI\",(0-5),253",
    "\"CTXINDEX\",(0-5)",
    "\"CONVERT\",(1-3),50,50,50",
    "\"MAXFRAGLENDISABLE\",(0-5),(0,1)",
];

/// `AT+CSSLCFG`: the SSL contexts FTPS and the sockets use (the SIM7000 has it for its sockets,
/// and lacks `AT+FTPSSL`).
const CSSLCFG: crate::dialect::Entry<Simcom> = cmd("+CSSLCFG")
    .test_with(|s, _, ctx| {
        for line in CSSLCFG_TEST {
            ctx.rsp.line(s.profile.line("+CSSLCFG", line));
        }
        Ok(Reply::Ok)
    })
    .read(|_, _, _| Ok(Reply::Ok))
    .write(csslcfg);

pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] =
    &[CSSLCFG, cmd("+FTPSSL").test("+FTPSSL: (0-2),(0-5),50,50").read(ftpssl_read).write(ftpssl_write)];

/// `AT+CSSLCFG="<keyword>",...`.
fn csslcfg(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    const KEYWORDS: &[&str] =
        &["SSLVERSION", "CIPHERSUITE", "IGNORERTCTIME", "PROTOCOL", "SNI", "CTXINDEX", "CONVERT", "MAXFRAGLENDISABLE"];
    let keyword = KEYWORDS[a.choice(0, KEYWORDS)?];
    if keyword == "CONVERT" {
        return convert(s, &a);
    }
    let index = a.uint(1, 0..=(CONTEXTS as u64 - 1))? as usize;
    let c = &mut s.ssl.contexts[index];
    match keyword {
        "SSLVERSION" => {
            a.count(3..=3)?;
            c.version = a.uint(2, 0..=5)? as u8;
        }
        "CIPHERSUITE" => {
            a.count(4..=4)?;
            let slot = a.uint(2, 0..=7)? as usize;
            let text = a.text(3, 6)?;
            let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or(Failure::Plain)?;
            c.ciphers[slot] = u16::from_str_radix(hex, 16).map_err(|_| Failure::Plain)?;
        }
        "IGNORERTCTIME" => {
            a.count(3..=3)?;
            c.ignore_rtc_time = a.uint(2, 0..=1)? == 1;
        }
        "PROTOCOL" => {
            a.count(3..=3)?;
            c.protocol = a.uint(2, 1..=2)? as u8;
        }
        "SNI" => {
            a.count(3..=3)?;
            c.sni = a.text(2, SNI_MAX)?.to_string();
        }
        // Accepted; rustls does not ask for a maximum fragment length in the first place.
        "MAXFRAGLENDISABLE" => {
            a.count(3..=3)?;
            a.uint(2, 0..=1)?;
        }
        _ => {
            a.count(2..=2)?;
            let ciphers: Vec<String> = c.ciphers.iter().map(|x| format!("0x{x:04X}")).collect();
            let line = format!(
                "{index},{},{},{},{},\"{}\"",
                c.version,
                ciphers.join(","),
                u8::from(c.ignore_rtc_time),
                c.protocol,
                c.sni
            );
            ctx.rsp.line(s.profile.line("+CSSLCFG", line));
        }
    }
    Ok(Reply::Ok)
}

/// `AT+CSSLCFG="CONVERT",<1 certificate|2 CA list|3 PSK>,<name>[,<key name>[,<pass key>]]`.
fn convert(s: &mut Simcom, a: &Args<'_>) -> Outcome {
    a.count(3..=5)?;
    let kind = a.uint(1, 1..=3)?;
    let name = a.text(2, NAME_MAX)?;
    let file = read_customer(s, name)?;
    match kind {
        2 => {
            let settings = TlsSettings { ca: file.clone(), ..TlsSettings::default() };
            settings.client_config().map_err(|e| bad_certificate(name, e))?;
            s.ssl.ca_lists.insert(name.to_string(), file);
        }
        1 => {
            let key_name = a.text(3, NAME_MAX)?;
            let key = read_customer(s, key_name)?;
            let identity = ClientIdentity { chain: file, key };
            let settings = TlsSettings {
                identity: Some(identity.clone()),
                verification: Verification::IgnoreCertificate,
                ..TlsSettings::default()
            };
            settings.client_config().map_err(|e| bad_certificate(name, e))?;
            s.ssl.identities.insert(name.to_string(), identity);
        }
        // PSK tables are accepted for hosts that convert one, but FTPS here uses certificates.
        _ => {}
    }
    Ok(Reply::Ok)
}

/// A file of `/customer/`, or the failure a missing one gets.
fn read_customer(s: &Simcom, name: &str) -> Result<Vec<u8>, Failure> {
    s.cfs.fs().read_all(Area::Customer, name).map_err(|e| {
        tracing::info!(target: "vmodem::ssl", "CONVERT: /customer/{name}: {e}");
        Failure::Plain
    })
}

fn bad_certificate(name: &str, e: impl std::fmt::Display) -> Failure {
    tracing::info!(target: "vmodem::ssl", "CONVERT: {name}: {e}");
    Failure::Plain
}

/// `AT+FTPSSL?`: `+FTPSSL: <type>,<ctx>,"<calist>","<certname>"`.
fn ftpssl_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let f = &s.ssl.ftp;
    let line = format!("{},{},\"{}\",\"{}\"", f.kind, f.ctx, f.calist, f.certname);
    ctx.rsp.line(s.profile.line("+FTPSSL", line));
    Ok(Reply::Ok)
}

/// `AT+FTPSSL=<type>[,<ctx>[,<calist>[,<certname>]]]`.
fn ftpssl_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=4)?;
    let kind = a.uint(0, 0..=2)? as u8;
    let ctx = a.opt_uint(1, 0..=(CONTEXTS as u64 - 1))?.unwrap_or(0) as usize;
    let calist = a.opt_text(2, NAME_MAX)?.unwrap_or("").to_string();
    let certname = a.opt_text(3, NAME_MAX)?.unwrap_or("").to_string();
    s.ssl.ftp = FtpSsl { kind, ctx, calist, certname };
    Ok(Reply::Ok)
}

/// Why an SSL context's settings cannot make a TLS session here.
#[derive(Debug)]
pub(super) enum Unusable {
    /// The context's SSLVERSION: TLS 1.0, 1.1 or DTLS.
    Version(u8),
    /// A certificate file that is missing, not converted or not usable; the reason.
    Certificate(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Version(v) => write!(f, "SSLVERSION {v} is not offered"),
            Unusable::Certificate(why) => f.write_str(why),
        }
    }
}

impl Simcom {
    /// The TLS of an FTP session with `host`, as `AT+FTPSSL` and its context say; `None` for
    /// plain FTP. Fails (with the reason logged) when the certificates or the version cannot
    /// make a TLS session: the session then ends with 90.
    pub(super) fn ftp_tls(&self, host: &str) -> Result<Option<FtpTls>, ()> {
        let f = &self.ssl.ftp;
        let mode = match f.kind {
            0 => return Ok(None),
            1 => FtpsMode::Implicit,
            _ => FtpsMode::Explicit,
        };
        let fail = |why: String| tracing::info!(target: "vmodem::ssl", "FTPS: {why}");
        let settings = self.tls_settings(f.ctx, &f.calist, &f.certname).map_err(|e| fail(e.to_string()))?;
        FtpTls::new(mode, &settings, host).map(Some).map_err(|e| fail(e.to_string()))
    }

    /// The TLS settings of SSL context `ctx` (0-5; out of range: context 0) with the CA list
    /// `calist` and the client certificate `certname` (empty: none). SSLVERSION 3 offers TLS
    /// 1.2, 0 TLS 1.3 and 1.2, the others are not offered. An empty CA list leaves the
    /// server's certificate unchecked (D17); a CA list not converted is read from `/customer/`;
    /// a client certificate must have been converted.
    pub(super) fn tls_settings(&self, ctx: usize, calist: &str, certname: &str) -> Result<TlsSettings, Unusable> {
        let c = self.ssl.contexts.get(ctx).unwrap_or(&self.ssl.contexts[0]);
        let versions = match c.version {
            0 => TlsVersions::Any,
            3 => TlsVersions::Tls12,
            v => return Err(Unusable::Version(v)),
        };
        let ca = match calist {
            "" => Vec::new(),
            name => self
                .certificate(&self.ssl.ca_lists, name)
                .ok_or_else(|| Unusable::Certificate(format!("no CA list {name:?}")))?,
        };
        let identity = match certname {
            "" => None,
            name => Some(
                self.ssl
                    .identities
                    .get(name)
                    .cloned()
                    .ok_or_else(|| Unusable::Certificate(format!("{name:?} was not converted")))?,
            ),
        };
        let verification = if ca.is_empty() { Verification::IgnoreCertificate } else { Verification::Verify };
        let sni = Some(c.sni.clone()).filter(|n| !n.is_empty());
        Ok(TlsSettings { ca, identity, verification, versions, sni })
    }

    /// A converted file, or else the file itself from `/customer/`.
    fn certificate(&self, converted: &HashMap<String, Vec<u8>>, name: &str) -> Option<Vec<u8>> {
        converted.get(name).cloned().or_else(|| self.cfs.fs().read_all(Area::Customer, name).ok())
    }
}
