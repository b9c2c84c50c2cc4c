//! Response framing (V.250 §5.7, exact bytes as UNISOC and SIMCom firmware send them):
//!
//! | what | ATV1 | ATV0 |
//! | --- | --- | --- |
//! | first information line of a command | `<S3><S4>text<S3><S4>` | `text<S3><S4>` |
//! | further information lines | `text<S3><S4>` | same |
//! | final result code | `<S3><S4>OK<S3><S4>` | `0<S3>` |
//! | `+CME ERROR` (CMEE 1/2) | `<S3><S4>+CME ERROR: n<S3><S4>` | same |
//! | URC | `<S3><S4>text<S3><S4>` | same |
//!
//! ATQ1 suppresses final result codes and `+CME ERROR` lines; information text and URCs
//! still go out (URCs carry data the host needs, such as `+FTPGET: 1,1`).

use crate::settings::{Cmee, Settings};

/// V.250 result codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    /// `OK` / `0`.
    Ok,
    /// `CONNECT` / `1`.
    Connect,
    /// `RING` / `2`.
    Ring,
    /// `NO CARRIER` / `3`.
    NoCarrier,
    /// `ERROR` / `4`.
    Error,
    /// `NO DIALTONE` / `6`.
    NoDialtone,
    /// `BUSY` / `7`.
    Busy,
    /// `NO ANSWER` / `8`.
    NoAnswer,
}

impl ResultCode {
    /// The verbose text (ATV1).
    pub fn text(self) -> &'static str {
        match self {
            ResultCode::Ok => "OK",
            ResultCode::Connect => "CONNECT",
            ResultCode::Ring => "RING",
            ResultCode::NoCarrier => "NO CARRIER",
            ResultCode::Error => "ERROR",
            ResultCode::NoDialtone => "NO DIALTONE",
            ResultCode::Busy => "BUSY",
            ResultCode::NoAnswer => "NO ANSWER",
        }
    }

    /// The numeric code (ATV0).
    pub fn number(self) -> u8 {
        match self {
            ResultCode::Ok => 0,
            ResultCode::Connect => 1,
            ResultCode::Ring => 2,
            ResultCode::NoCarrier => 3,
            ResultCode::Error => 4,
            ResultCode::NoDialtone => 6,
            ResultCode::Busy => 7,
            ResultCode::NoAnswer => 8,
        }
    }
}

/// Why a command failed, as a handler reports it. How it reaches the host depends on AT+CMEE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Always the plain `ERROR` result code, whatever AT+CMEE says.
    Plain,
    /// A 27.007 equipment error: `+CME ERROR: <n>` with CMEE 1 or 2, plain `ERROR` with 0.
    Cme(u16),
    /// A 27.005 message service error: `+CMS ERROR: <n>` whatever AT+CMEE says (it is the
    /// final result code of an SMS command, TS 27.005 §3.2.5), its text with CMEE 2.
    Cms(u16),
}

/// The texts of the 27.005 message service errors (TS 27.005 §3.2.5), as `+CMS ERROR:` prints
/// them with AT+CMEE=2.
fn cms_text(code: u16) -> Option<&'static str> {
    Some(match code {
        300 => "ME failure",
        301 => "SMS service of ME reserved",
        302 => "operation not allowed",
        303 => "operation not supported",
        304 => "invalid PDU mode parameter",
        305 => "invalid text mode parameter",
        310 => "SIM not inserted",
        311 => "SIM PIN required",
        312 => "PH-SIM PIN required",
        313 => "SIM failure",
        314 => "SIM busy",
        315 => "SIM wrong",
        316 => "SIM PUK required",
        317 => "SIM PIN2 required",
        318 => "SIM PUK2 required",
        320 => "memory failure",
        321 => "invalid memory index",
        322 => "memory full",
        330 => "SMSC address unknown",
        331 => "no network service",
        332 => "network timeout",
        340 => "no +CNMA acknowledgement expected",
        500 => "unknown error",
        _ => return None,
    })
}

/// Writes an information line. `first` is true for the first line of a command's response.
pub fn info(settings: &Settings, first: bool, text: &[u8], out: &mut Vec<u8>) {
    if first && settings.verbose {
        out.extend([settings.s3(), settings.s4()]);
    }
    out.extend_from_slice(text);
    out.extend([settings.s3(), settings.s4()]);
}

/// Writes a final result code.
pub fn result(settings: &Settings, code: ResultCode, out: &mut Vec<u8>) {
    if settings.quiet {
        return;
    }
    if settings.verbose {
        out.extend([settings.s3(), settings.s4()]);
        out.extend_from_slice(code.text().as_bytes());
        out.extend([settings.s3(), settings.s4()]);
    } else {
        out.extend_from_slice(code.number().to_string().as_bytes());
        out.push(settings.s3());
    }
}

/// Writes the final result for a failure: `ERROR` or `+CME ERROR: <n|text>` per AT+CMEE.
/// `text` gives the verbose phrase for a code (the family's table).
pub fn failure(settings: &Settings, failure: Failure, text: impl Fn(u16) -> Option<&'static str>, out: &mut Vec<u8>) {
    let (prefix, code, text): (&[u8], _, Option<&str>) = match (failure, settings.cmee) {
        (Failure::Cms(code), _) => (b"+CMS ERROR: ", code, cms_text(code)),
        (Failure::Plain, _) | (_, Cmee::Off) => return result(settings, ResultCode::Error, out),
        (Failure::Cme(code), _) => (b"+CME ERROR: ", code, text(code)),
    };
    if settings.quiet {
        return;
    }
    out.extend([settings.s3(), settings.s4()]);
    out.extend_from_slice(prefix);
    match (settings.cmee, text) {
        (Cmee::Verbose, Some(t)) => out.extend_from_slice(t.as_bytes()),
        _ => out.extend_from_slice(code.to_string().as_bytes()),
    }
    out.extend([settings.s3(), settings.s4()]);
}

/// Writes an unsolicited result code line.
pub fn urc(settings: &Settings, text: &[u8], out: &mut Vec<u8>) {
    out.extend([settings.s3(), settings.s4()]);
    out.extend_from_slice(text);
    out.extend([settings.s3(), settings.s4()]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl Fn(&mut Settings)) -> Settings {
        let mut s = Settings::default();
        f(&mut s);
        s
    }

    #[test]
    fn verbose_and_numeric_results() {
        let mut out = Vec::new();
        result(&Settings::default(), ResultCode::Ok, &mut out);
        result(&with(|s| s.verbose = false), ResultCode::Error, &mut out);
        result(&with(|s| s.quiet = true), ResultCode::Ok, &mut out);
        assert_eq!(out, b"\r\nOK\r\n4\r");
    }

    #[test]
    fn information_lines() {
        let mut out = Vec::new();
        let s = Settings::default();
        info(&s, true, b"+CNACT: 0,1", &mut out);
        info(&s, false, b"+CNACT: 1,0", &mut out);
        result(&s, ResultCode::Ok, &mut out);
        assert_eq!(out, b"\r\n+CNACT: 0,1\r\n+CNACT: 1,0\r\n\r\nOK\r\n");
        let mut out = Vec::new();
        info(&with(|s| s.verbose = false), true, b"x", &mut out);
        assert_eq!(out, b"x\r\n");
    }

    #[test]
    fn cme_errors_follow_cmee() {
        let text = |c| (c == 3).then_some("operation not allowed");
        let mut out = Vec::new();
        failure(&Settings::default(), Failure::Cme(3), text, &mut out);
        failure(&with(|s| s.cmee = Cmee::Numeric), Failure::Cme(3), text, &mut out);
        failure(&with(|s| s.cmee = Cmee::Verbose), Failure::Cme(3), text, &mut out);
        failure(&with(|s| s.cmee = Cmee::Verbose), Failure::Cme(9), text, &mut out);
        failure(&with(|s| s.cmee = Cmee::Verbose), Failure::Plain, text, &mut out);
        let expected: &[u8] = b"\r\nERROR\r\n\r\n+CME ERROR: 3\r\n\r\n+CME ERROR: operation not allowed\r\n\r\n+CME ERROR: 9\r\n\r\nERROR\r\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn cms_errors_are_numeric_unless_cmee_is_2() {
        let mut out = Vec::new();
        failure(&Settings::default(), Failure::Cms(321), |_| None, &mut out);
        failure(&with(|s| s.cmee = Cmee::Numeric), Failure::Cms(321), |_| None, &mut out);
        failure(&with(|s| s.cmee = Cmee::Verbose), Failure::Cms(321), |_| None, &mut out);
        failure(&with(|s| s.cmee = Cmee::Verbose), Failure::Cms(599), |_| None, &mut out);
        let expected: &[u8] =
            b"\r\n+CMS ERROR: 321\r\n\r\n+CMS ERROR: 321\r\n\r\n+CMS ERROR: invalid memory index\r\n\r\n+CMS ERROR: 599\r\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn cme_ignores_atv_but_not_atq() {
        let mut out = Vec::new();
        failure(
            &with(|s| {
                s.cmee = Cmee::Numeric;
                s.verbose = false
            }),
            Failure::Cme(4),
            |_| None,
            &mut out,
        );
        failure(
            &with(|s| {
                s.cmee = Cmee::Numeric;
                s.quiet = true
            }),
            Failure::Cme(4),
            |_| None,
            &mut out,
        );
        assert_eq!(out, b"\r\n+CME ERROR: 4\r\n");
    }
}
