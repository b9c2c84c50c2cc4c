//! The command arguments that carry secrets (passwords, PINs, credentials in HTTP headers), for
//! every family in one table. Logs print them as `****` ([`redact`]); recordings replace them
//! with transcript variables ([`crate::record`]).

use std::ops::Range;

use vmodem_at::{Arg, Command};

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

/// The variable a recording names the user information of a URL by (`http://user:pass@...`).
pub const URL_AUTH: &str = "url_auth";

/// Words that make `AT+HTTPPARA="USERDATA"` a credential, with or without the header's colon
/// (`Authorization: Basic ...`, `Authorization Basic ...`, `Proxy-Authorization`, cookies,
/// API keys and tokens), compared without case.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "api-key", "apikey", "auth-token", "x-auth"];

/// Which arguments of command `name` (upper case, `+FTPPW`) carry secrets as `family` reads
/// them, given the arguments' texts (quotes removed): the one table logs and recordings share.
fn secret_args(family: Family, name: &str, args: &[&[u8]]) -> Vec<Secret> {
    let text = |i: usize| args.get(i).copied().unwrap_or_default();
    let at = |arg: usize, name: &'static str| Secret { arg, name };
    let found = match name {
        "+FTPPW" => vec![at(0, FTP_PASS)],
        // The L610's AT+FTPOPEN="<host>","<user>","<password>",...
        "+FTPOPEN" => vec![at(2, FTP_PASS)],
        "+SAPBR" if text(0) == b"3" && text(2).eq_ignore_ascii_case(b"PWD") => vec![at(3, APN_PASS)],
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
        "+HTTPPARA" if text(0).eq_ignore_ascii_case(b"USERDATA") && is_credential(text(1)) => vec![at(1, HTTP_AUTH)],
        _ => Vec::new(),
    };
    found.into_iter().filter(|s| !text(s.arg).is_empty()).collect()
}

/// Whether user data names a credential header.
fn is_credential(user_data: &[u8]) -> bool {
    let lower = user_data.to_ascii_lowercase();
    CREDENTIAL_HEADERS.iter().any(|word| lower.windows(word.len()).any(|w| w == word.as_bytes()))
}

/// Where the user information of a URL in `text` is (`user:pass` of `http://user:pass@host/`).
fn url_userinfo(text: &[u8]) -> Option<Range<usize>> {
    let scheme_end = text.windows(3).position(|w| w == b"://")? + 3;
    let authority = &text[scheme_end..];
    let end = authority.iter().position(|b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(authority.len());
    let at = authority[..end].iter().rposition(|&b| b == b'@')?;
    (at > 0).then(|| scheme_end..scheme_end + at)
}

/// The non-empty secret arguments of `cmd` as `family` reads them (only write forms have any).
pub fn secrets(family: Family, cmd: &Command) -> Vec<Secret> {
    let args: Vec<&[u8]> = cmd.args().iter().map(Arg::bytes).collect();
    secret_args(family, &cmd.name, &args)
}

/// A secret found in a command line: where its bytes are, and what kind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The secret's bytes in the line (a quoted argument's without its quotes).
    pub range: Range<usize>,
    /// What kind of secret it is: the transcript variable a recording names it by.
    pub name: &'static str,
}

/// Every secret in the command-line body `body` (what follows `AT`) as `family` reads it, from
/// the raw bytes the host typed: each credential-bearing argument of each command chained with
/// `;`, quoted or not, an unterminated last string included (it runs to the end), and the user
/// information of any URL in any argument. Logs ([`redact`]) and recordings both mask these.
pub fn find(family: Family, body: &[u8]) -> Vec<Found> {
    let mut found = Vec::new();
    for command in split_outside_quotes(body, 0..body.len(), b';') {
        let text = &body[command.clone()];
        let lead = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let name_end = lead
            + 1
            + text.get(lead + 1..).unwrap_or_default().iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if text.get(lead) != Some(&b'+') {
            continue;
        }
        let name = String::from_utf8_lossy(&text[lead..name_end]).to_ascii_uppercase();
        let rest = &text[name_end..];
        let Some(eq) = rest.iter().position(|b| !b.is_ascii_whitespace()).filter(|&i| rest[i] == b'=') else {
            continue;
        };
        // `=?` is the test form: no arguments.
        if rest[eq + 1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'?') {
            continue;
        }
        let args_start = command.start + name_end + eq + 1;
        let args: Vec<Range<usize>> =
            split_outside_quotes(body, args_start..command.end, b',').into_iter().map(|r| unquoted(body, r)).collect();
        let texts: Vec<&[u8]> = args.iter().map(|r| &body[r.clone()]).collect();
        for secret in secret_args(family, &name, &texts) {
            found.push(Found { range: args[secret.arg].clone(), name: secret.name });
        }
        for arg in &args {
            if let Some(info) = url_userinfo(&body[arg.clone()]) {
                let range = arg.start + info.start..arg.start + info.end;
                if !found.iter().any(|f| f.range.start <= range.start && range.end <= f.range.end) {
                    found.push(Found { range, name: URL_AUTH });
                }
            }
        }
    }
    found
}

/// The pieces of `body[within]` between `sep`s that are not inside a quoted string (an
/// unterminated string runs to the end).
fn split_outside_quotes(body: &[u8], within: Range<usize>, sep: u8) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted) = (within.start, false);
    for i in within.clone() {
        match body[i] {
            b'"' => quoted = !quoted,
            b if b == sep && !quoted => {
                pieces.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(start..within.end);
    pieces
}

/// An argument's range without the spaces around it and its quotes (the closing one only if
/// it is there).
fn unquoted(body: &[u8], r: Range<usize>) -> Range<usize> {
    let text = &body[r.clone()];
    let lead = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let trail = text.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    let (mut start, mut end) = (r.start + lead, (r.end - trail).max(r.start + lead));
    if body.get(start) == Some(&b'"') {
        start += 1;
        if end > start && body[end - 1] == b'"' {
            end -= 1;
        }
    }
    start..end.max(start)
}

/// `cmd` as logs may show it: its secrets (see [`find`]) replaced by `****`.
pub fn redact(family: Family, cmd: &Command) -> String {
    masked(cmd.to_string(), find(family, cmd.to_string().as_bytes()))
}

/// A command line a host sends (`AT+FTPPW="x"`), its secrets as any family reads them replaced
/// by `****`: for reports on scripts that may run on any family.
pub fn redact_line(line: &str) -> String {
    let body_at = if line.get(..2).is_some_and(|at| at.eq_ignore_ascii_case("AT")) { 2 } else { 0 };
    let found = Family::ALL.iter().flat_map(|family| find(*family, &line.as_bytes()[body_at..]));
    let found = found.map(|f| Found { range: f.range.start + body_at..f.range.end + body_at, name: f.name }).collect();
    masked(line.to_string(), found)
}

/// `text` with the `found` ranges replaced by `****`.
fn masked(text: String, mut found: Vec<Found>) -> String {
    if found.is_empty() {
        return text;
    }
    found.sort_by_key(|f| f.range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        if f.range.start < at {
            continue;
        }
        out.push_str(&text[at..f.range.start]);
        out.push_str("****");
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    out
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
    fn a_line_of_any_family_is_masked() {
        assert_eq!(redact_line("AT+FTPPW=\"Secr3t!\""), "AT+FTPPW=\"****\"");
        assert_eq!(redact_line("AT+MIPCALL=1,\"apn\",\"user\",\"pw\""), "AT+MIPCALL=1,\"apn\",\"user\",\"****\"");
        assert_eq!(redact_line("ATE0"), "ATE0");
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

    /// The secrets `find` sees in the raw line `body`, as text.
    fn found(family: Family, body: &str) -> Vec<(String, &'static str)> {
        find(family, body.as_bytes()).into_iter().map(|f| (body[f.range].to_string(), f.name)).collect()
    }

    #[test]
    fn secrets_are_found_in_every_form_the_host_may_type() {
        let f = Family::Sim7080;
        assert_eq!(found(f, "+FTPPW=\"s3cret\""), [("s3cret".into(), FTP_PASS)]);
        assert_eq!(found(f, "+ftppw = s3cret"), [("s3cret".into(), FTP_PASS)], "bare, lower case, spaced");
        assert_eq!(found(f, "+FTPPW=\"s3cr;et"), [("s3cr;et".into(), FTP_PASS)], "unterminated: to the end");
        assert_eq!(
            found(f, "+CPIN=\"1234\";+FTPUN=\"u\";+FTPPW=\"p,w\""),
            [("1234".into(), SIM_PIN), ("p,w".into(), FTP_PASS)],
            "chained, a separator inside the quotes"
        );
        assert_eq!(found(f, "+FTPPW=?"), []);
        let url = "+HTTPPARA=\"URL\",\"http://user:pa@ss@host:80/p?q=@\"";
        assert_eq!(found(Family::Sim800, url), [("user:pa@ss".into(), URL_AUTH)]);
        assert_eq!(found(Family::Sim800, "+HTTPPARA=\"URL\",\"http://host/a@b\""), []);
        for data in ["Authorization Basic x", "authorization: Bearer t", "Proxy-Authorization: x", "Cookie: id=1"] {
            let line = format!("+HTTPPARA=\"USERDATA\",\"{data}\"");
            assert_eq!(found(Family::Sim800, &line), [(data.to_string(), HTTP_AUTH)], "{data}");
        }
        assert_eq!(found(Family::Sim800, "+HTTPPARA=\"USERDATA\",\"X-Id: 7\""), []);
    }

    #[test]
    fn logs_mask_url_credentials_too() {
        let line = "+HTTPPARA=\"URL\",\"https://me:s3cret@example.net/x\"";
        assert_eq!(logged(Family::Sim800, line), "+HTTPPARA=\"URL\",\"https://****@example.net/x\"");
    }
}
