//! The command arguments that carry secrets (passwords, PINs, credentials in HTTP headers), for
//! every family in one table. Logs print them as `****` ([`redact`]); recordings replace them
//! with transcript variables ([`crate::record`]).

use vmodem_at::{Arg, Command, Form};

use crate::family::Family;

/// The variable a recording names FTP passwords by (the transcript harness's name too).
pub const FTP_PASS: &str = "ftp_pass";
/// The variable a recording names packet-data (APN) credentials by.
pub const APN_PASS: &str = "apn_pass";
/// The variable a recording names SIM PINs and facility passwords by.
pub const SIM_PIN: &str = "sim_pin";
/// The variable a recording names HTTP header lines that carry credentials by.
pub const HTTP_AUTH: &str = "http_auth";

/// One secret argument of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secret {
    /// Its position among the write form's arguments.
    pub arg: usize,
    /// What kind of secret it is: the transcript variable a recording names it by.
    pub name: &'static str,
}

/// The non-empty secret arguments of `cmd` as `family` reads them (only write forms have any).
pub fn secrets(family: Family, cmd: &Command) -> Vec<Secret> {
    let args = cmd.args();
    let text = |i: usize| args.get(i).and_then(Arg::text).unwrap_or_default();
    let at = |arg: usize, name: &'static str| Secret { arg, name };
    let found = match cmd.name.as_str() {
        "+FTPPW" => vec![at(0, FTP_PASS)],
        // The L610's AT+FTPOPEN="<host>","<user>","<password>",...
        "+FTPOPEN" => vec![at(2, FTP_PASS)],
        "+SAPBR" if text(0) == "3" && text(2).eq_ignore_ascii_case("PWD") => vec![at(3, APN_PASS)],
        "+CSTT" => vec![at(2, APN_PASS)],
        // AT+CNCFG=[<pdpidx>,]<ip_type>,<apn>,<user>,<password>[,<auth>]: the SIM7000 has no index.
        "+CNCFG" => vec![at(if family == Family::Sim7000 { 3 } else { 4 }, APN_PASS)],
        // The L610's AT+MIPCALL=1,"<apn>","<user>","<password>".
        "+MIPCALL" => vec![at(3, APN_PASS)],
        // 3GPP orders <user>,<password>; SIMCom documents <password>,<user>: both are masked.
        "+CGAUTH" => vec![at(2, APN_PASS), at(3, APN_PASS)],
        "+CPIN" => vec![at(0, SIM_PIN), at(1, SIM_PIN)],
        "+CLCK" => vec![at(2, SIM_PIN)],
        "+CPWD" => vec![at(1, SIM_PIN), at(2, SIM_PIN)],
        "+HTTPPARA"
            if text(0).eq_ignore_ascii_case("USERDATA") && text(1).to_ascii_lowercase().contains("authorization") =>
        {
            vec![at(1, HTTP_AUTH)]
        }
        _ => Vec::new(),
    };
    found.into_iter().filter(|s| args.get(s.arg).is_some_and(|a| !a.bytes().is_empty())).collect()
}

/// `cmd` as logs may show it: its secret arguments replaced by `****`.
pub fn redact(family: Family, cmd: &Command) -> String {
    let hidden = secrets(family, cmd);
    if hidden.is_empty() {
        return cmd.to_string();
    }
    let mut args = cmd.args().to_vec();
    for s in hidden {
        args[s.arg] = match args[s.arg] {
            Arg::Quoted(_) => Arg::Quoted(b"****".to_vec()),
            _ => Arg::Bare(b"****".to_vec()),
        };
    }
    Command { form: Form::Write(args), ..cmd.clone() }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Command {
        vmodem_at::parse_line(line.as_bytes()).remove(0).unwrap()
    }

    fn logged(family: Family, line: &str) -> String {
        redact(family, &one(line))
    }

    #[test]
    fn every_secret_is_masked_in_logs() {
        let cases = [
            (Family::Sim7080, "+FTPPW=\"s3cret\"", "+FTPPW=\"****\""),
            (Family::L610, "+FTPOPEN=\"h\",\"u\",\"s3cret\",\"acct\"", "+FTPOPEN=\"h\",\"u\",\"****\",\"acct\""),
            (Family::Sim800, "+SAPBR=3,1,\"PWD\",\"s3cret\"", "+SAPBR=3,1,\"PWD\",\"****\""),
            (Family::Sim800, "+CSTT=\"apn\",\"u\",\"s3cret\"", "+CSTT=\"apn\",\"u\",\"****\""),
            (Family::Sim7080, "+CNCFG=0,1,\"apn\",\"u\",\"s3cret\",3", "+CNCFG=0,1,\"apn\",\"u\",\"****\",3"),
            (Family::Sim7000, "+CNCFG=1,\"apn\",\"u\",\"s3cret\",3", "+CNCFG=1,\"apn\",\"u\",\"****\",3"),
            (Family::L610, "+MIPCALL=1,\"apn\",\"u\",\"s3cret\"", "+MIPCALL=1,\"apn\",\"u\",\"****\""),
            (Family::Sim7080, "+CGAUTH=1,1,\"s3cret\",\"u\"", "+CGAUTH=1,1,\"****\",\"****\""),
            (Family::Sim7080, "+CPIN=\"1234\"", "+CPIN=\"****\""),
            (Family::Sim7080, "+CPIN=12345678,1234", "+CPIN=****,****"),
            (Family::Sim800, "+CLCK=\"SC\",0,\"1234\"", "+CLCK=\"SC\",0,\"****\""),
            (Family::Sim800, "+CPWD=\"SC\",\"1234\",\"4321\"", "+CPWD=\"SC\",\"****\",\"****\""),
            (
                Family::Sim800,
                "+HTTPPARA=\"USERDATA\",\"Authorization: Basic czNjcmV0\"",
                "+HTTPPARA=\"USERDATA\",\"****\"",
            ),
        ];
        for (family, line, want) in cases {
            assert_eq!(logged(family, line), want, "{family} {line}");
        }
    }

    #[test]
    fn other_arguments_and_forms_stay() {
        assert_eq!(logged(Family::Sim800, "+SAPBR=3,1,\"APN\",\"CMNET\""), "+SAPBR=3,1,\"APN\",\"CMNET\"");
        assert_eq!(logged(Family::Sim800, "+HTTPPARA=\"USERDATA\",\"X-Id: 7\""), "+HTTPPARA=\"USERDATA\",\"X-Id: 7\"");
        assert_eq!(logged(Family::Sim7080, "+FTPPW=?"), "+FTPPW=?");
        assert_eq!(logged(Family::Sim7080, "+FTPPW=\"\""), "+FTPPW=\"\"");
        assert_eq!(logged(Family::L610, "+MIPCALL=1,\"apn\""), "+MIPCALL=1,\"apn\"");
        assert!(secrets(Family::Sim7080, &one("+CPIN?")).is_empty());
    }
}
