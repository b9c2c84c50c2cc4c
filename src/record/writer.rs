//! The recorder's IO-free core: it is told the bytes of a session as they pass, each way with
//! its time, and writes transcript lines that compile back to exactly those bytes, following
//! the transcript compiler's own model of framing and echo ([`Framing`]).
//!
//! Host bytes are held until the modem's answer shows whether they were echoed; then a command
//! line is written as `> TEXT` (with `@echo on|off` first where the model would expect the echo
//! wrongly), anything else (data, lines ended by CR LF, several lines sent at once) as `>>`
//! lines, and what the modem said is split into `<` lines where their V.250 framing is exactly
//! what the compiler adds, and `<<` lines where it is not.

use std::time::Duration;

use tokio::time::Instant;

use super::text::{self, Token};
use crate::dialect::secrets;
use crate::family::Family;
use crate::script::framing::{Framing, is_final};

/// A pause of the host at least this long is replayed (`@sleep`); shorter ones are the host's
/// own latency.
const PAUSE: Duration = Duration::from_millis(200);
/// Modem output later than this after the byte before it gets a timestamp comment.
const LATE: Duration = Duration::from_secs(1);
/// How long the transcript runner waits for each expectation unless told otherwise.
const RUNNER_TIMEOUT: Duration = Duration::from_secs(10);
/// A command line longer than this without its CR is written as raw bytes.
const MAX_LINE: usize = 4096;
/// Modem bytes without a line end are written raw once this many have collected.
const MAX_PENDING: usize = 4096;
/// Lines that announce a block of bytes whose content varies from run to run, and the capture
/// that counts them: an FTP listing (it carries dates; the SIMCom `AT+FTPLIST=2,<len>` read) and
/// HTTP response headers (`Date`, `ETag`; `AT+HTTPHEAD`, with or without the SIM900's missing
/// space).
const COUNTED: [(&[u8], &str); 3] = [(b"+FTPLIST: 2,", "list"), (b"+HTTPHEAD: ", "head"), (b"+HTTPHEAD:", "head")];

/// What a recording keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Write passwords, PINs and credentials as they were instead of as variables.
    pub keep_secrets: bool,
}

/// Turns a session's bytes into transcript text.
#[derive(Debug)]
pub struct Writer {
    family: Family,
    options: Options,
    framing: Framing,
    /// When the recording began.
    start: Instant,
    /// When the last byte passed, either way.
    last: Instant,
    /// Whether the host has sent anything yet (modem output before is a comment).
    host_spoke: bool,
    /// Host bytes not yet written.
    host: Vec<u8>,
    /// Modem bytes since `host` began: its echo, as far as it has come.
    echo: Vec<u8>,
    /// Modem bytes not yet written.
    out: Vec<u8>,
    /// Expected bytes waiting to be written as `<<` lines.
    raw: Vec<Token>,
    /// A block of [`COUNTED`] bytes still to come: its length and its capture.
    counted: Option<(usize, &'static str)>,
    /// The pause before the modem output not yet written, when it was long.
    late: Option<Duration>,
    /// The `@timeout` in effect.
    timeout: Duration,
    /// Secret values seen in host commands, and the variables that stand for them.
    secrets: Vec<(Vec<u8>, String)>,
    /// IPv4 addresses the host sent (kept when the modem repeats them).
    host_addresses: Vec<Vec<u8>>,
    /// Transcript text not yet taken.
    text: String,
}

impl Writer {
    /// A recording of a `family` modem that begins at `now`, with its header written.
    pub fn new(family: Family, options: Options, now: Instant) -> Writer {
        let mut w = Writer {
            family,
            options,
            framing: Framing::default(),
            start: now,
            last: now,
            host_spoke: false,
            host: Vec::new(),
            echo: Vec::new(),
            out: Vec::new(),
            raw: Vec::new(),
            counted: None,
            late: None,
            timeout: RUNNER_TIMEOUT,
            secrets: Vec::new(),
            host_addresses: Vec::new(),
            text: String::new(),
        };
        w.emit(format!(
            "# Recorded by vmodem {}: > and >> lines are what the host sent, < and << lines what\n\
             # the modem answered, \"# +S.SSSs\" the time since the recording began.\n\
             # Replay: vmodem chat FILE against a modem whose servers hold the same files.\n\
             @family {family}",
            env!("CARGO_PKG_VERSION")
        ));
        w
    }

    /// The variables the recording put in place of secrets, with their values (which the
    /// recording never holds): what a replay must be given.
    pub fn secrets(&self) -> Vec<(String, String)> {
        self.secrets.iter().map(|(value, name)| (name.clone(), String::from_utf8_lossy(value).into_owned())).collect()
    }

    /// The transcript text written since the last call.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    /// Bytes the modem read from the host.
    pub fn host(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        if self.host.is_empty() {
            self.flush_output();
            self.host_spoke = true;
            let pause = now.saturating_duration_since(self.last);
            self.emit(format!("# {}", self.stamp(now)));
            if pause >= PAUSE {
                self.emit(format!("@sleep {:.3}", pause.as_secs_f64()));
            }
        }
        self.host.extend_from_slice(bytes);
        self.last = now;
        self.settle(false);
    }

    /// Bytes the modem wrote to the host.
    pub fn modem(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        let pause = now.saturating_duration_since(self.last);
        self.last = now;
        if pause >= LATE && self.host_spoke {
            self.late = Some(self.late.map_or(pause, |l| l.max(pause)));
        }
        if self.host.is_empty() {
            self.out.extend_from_slice(bytes);
            if !self.host_spoke && self.out.len() >= MAX_PENDING {
                self.flush_output();
            }
        } else {
            self.echo.extend_from_slice(bytes);
            self.settle(false);
        }
        if self.host_spoke {
            self.write_output(false);
        }
    }

    /// A comment about the session (a host connected or left), after everything so far.
    pub fn note(&mut self, what: &str, now: Instant) {
        self.finish();
        self.emit(format!("# {} {what}", self.stamp(now)));
    }

    /// Writes everything held back: the recording is complete up to now.
    pub fn finish(&mut self) {
        self.settle(true);
        self.flush_output();
        self.flush_raw();
    }

    fn stamp(&self, now: Instant) -> String {
        format!("+{:.3}s", now.saturating_duration_since(self.start).as_secs_f64())
    }

    /// Appends a transcript line (after the `<<` lines waiting to be written).
    fn emit(&mut self, line: String) {
        self.flush_raw();
        self.text.push_str(&line);
        self.text.push('\n');
    }

    /// Writes the held host bytes once the modem's output shows how they were taken (or at
    /// once when `force`).
    fn settle(&mut self, force: bool) {
        while !self.host.is_empty() {
            let h = &self.host;
            let command = h[0].eq_ignore_ascii_case(&b'A') && h.get(1).is_none_or(|b| b.eq_ignore_ascii_case(&b'T'));
            let Some(cr) = h.iter().position(|&b| b == b'\r').filter(|_| command) else {
                // A command line still coming in, echoed so far: wait for the rest.
                if command && !force && h.len() < MAX_LINE && h.starts_with(&self.echo) {
                    return;
                }
                let all = std::mem::take(&mut self.host);
                self.send_raw(&all);
                continue;
            };
            let end = if h.get(cr + 1) == Some(&b'\n') { cr + 2 } else { cr + 1 };
            let line = &h[..end];
            if !force && self.echo.len() < line.len() && line.starts_with(&self.echo) {
                return;
            }
            if end < h.len() {
                // More was sent before the modem answered this line: it is replayed as sent.
                let all = std::mem::take(&mut self.host);
                self.send_raw(&all);
                continue;
            }
            let line = std::mem::take(&mut self.host);
            self.learn(&line);
            let echoed = self.echo.starts_with(&line);
            let body = &line[..cr];
            if end == cr + 1 && text::printable(body) {
                if echoed != self.framing.echo() {
                    self.emit(format!("@echo {}", if echoed { "on" } else { "off" }));
                    self.framing.set_echo(echoed);
                }
                let tokens = self.masked(vec![Token::Lit(body.to_vec())]);
                self.emit(text::line(">", &tokens));
                self.framing.send_line(&line);
                if echoed {
                    self.echo.drain(..line.len());
                }
                self.out.append(&mut self.echo);
            } else {
                self.send_raw(&line);
            }
        }
    }

    /// Host bytes written as `>>` lines; their echo, if any, is ordinary modem output.
    fn send_raw(&mut self, bytes: &[u8]) {
        self.learn(bytes);
        let tokens = self.masked(vec![Token::Lit(bytes.to_vec())]);
        for line in text::wrapped(">>", &tokens) {
            self.emit(line);
        }
        self.framing.send_raw();
        self.out.append(&mut self.echo);
    }

    /// Notes the secrets and the addresses in the command lines of host bytes, and the
    /// passwords of PPP's PAP in its frames (a data call's host authenticating).
    fn learn(&mut self, bytes: &[u8]) {
        if !self.options.keep_secrets {
            for password in crate::ppp::link::pap_passwords(bytes) {
                // As escaped in the frame, when the host had to escape some of it.
                for form in crate::ppp::hdlc::escaped_forms(&password) {
                    self.keep_secret(form, "ppp_pass_escaped");
                }
                self.keep_secret(password, "ppp_pass");
            }
        }
        for piece in bytes.split(|&b| b == b'\r' || b == b'\n') {
            self.host_addresses.extend(text::ipv4_addresses(piece).into_iter().map(|r| piece[r].to_vec()));
            if self.options.keep_secrets {
                continue;
            }
            let Some(at) = piece.windows(2).position(|w| w.eq_ignore_ascii_case(b"AT")) else { continue };
            let body = &piece[at + 2..];
            for secret in secrets::find(self.family, body) {
                self.keep_secret(body[secret.range].to_vec(), secret.name);
            }
        }
    }

    /// Masks `value` from now on as `{name}` (`{name_2}` ... for further ones), saying so.
    fn keep_secret(&mut self, value: Vec<u8>, name: &str) {
        if value.is_empty() || self.secrets.iter().any(|(v, _)| *v == value) {
            return;
        }
        let taken = self.secrets.iter().filter(|(_, n)| n.starts_with(name)).count();
        let name = if taken == 0 { name.to_string() } else { format!("{name}_{}", taken + 1) };
        self.emit(format!("# {{{name}}} masks a secret: replay with --var {name}=VALUE"));
        self.secrets.push((value, name));
    }

    fn masked(&self, tokens: Vec<Token>) -> Vec<Token> {
        text::mask(tokens, &self.secrets)
    }

    /// Everything the modem said so far, written.
    fn flush_output(&mut self) {
        if self.host_spoke {
            self.write_output(true);
        } else if !self.out.is_empty() {
            // Before the host spoke (boot URCs): kept as a comment, since a replay starts by
            // discarding whatever a modem says before its first line.
            let said = std::mem::take(&mut self.out);
            self.emit("# Before the host spoke (not replayed):".into());
            for line in text::wrapped("#", &[Token::Lit(said)]) {
                self.emit(line);
            }
        }
    }

    /// Writes the modem output that forms whole lines (all of it when `all`).
    fn write_output(&mut self, all: bool) {
        loop {
            if let Some((n, name)) = self.counted {
                if self.out.len() >= n {
                    self.out.drain(..n);
                    self.expect_raw(vec![Token::Any(name.into())]);
                    self.counted = None;
                    continue;
                }
                if !all {
                    return;
                }
                self.counted = None;
            }
            if self.out.is_empty() {
                break;
            }
            match self.next_output(all) {
                Some(Output::Line { start, len, separate }) => {
                    let text = self.out[start..start + len].to_vec();
                    self.out.drain(..start + len + 2);
                    if separate {
                        self.emit("<".into());
                        self.framing.separate();
                    }
                    self.expect_line(&text);
                }
                Some(Output::Raw(n)) => {
                    let bytes: Vec<u8> = self.out.drain(..n).collect();
                    self.expect_raw(vec![Token::Lit(bytes)]);
                }
                None => break,
            }
        }
        if all {
            self.flush_raw();
        }
    }

    /// How the output at the start of `out` is written, if it can be decided yet.
    fn next_output(&self, all: bool) -> Option<Output> {
        let out = &self.out;
        let crlf = |from: usize| out.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|i| i + from);
        let undecided = || if all || out.len() >= MAX_PENDING { Some(Output::Raw(out.len())) } else { None };
        if out.starts_with(b"\r\n") {
            let Some(end) = crlf(2) else { return undecided() };
            let text = &out[2..end];
            if !text::printable(text) {
                return Some(Output::Raw(2));
            }
            return Some(Output::Line { start: 2, len: end - 2, separate: !self.framing.leads(text) });
        }
        if !self.framing.leads(b"") {
            let Some(end) = crlf(0) else { return undecided() };
            let text = &out[..end];
            if text::printable(text) && !is_final(text) {
                return Some(Output::Line { start: 0, len: end, separate: false });
            }
            return Some(Output::Raw(end));
        }
        match crlf(1) {
            Some(end) => Some(Output::Raw(end)),
            None => undecided(),
        }
    }

    /// Writes `< TEXT`, with the recording's generalizations and masks.
    fn expect_line(&mut self, text: &[u8]) {
        self.announce_late();
        let generalized = self.generalized(text);
        let tokens = self.masked(generalized);
        let line = text::line("<", &tokens);
        self.emit(line);
        self.framing.expect_line(text);
    }

    /// `text` with the values that vary between runs as placeholders; the line compiles to
    /// the same framing either way.
    fn generalized(&mut self, text: &[u8]) -> Vec<Token> {
        if let Some((prefix, n, name)) = counted(text) {
            self.counted = Some((n, name));
            return vec![Token::Lit(prefix.to_vec()), Token::Capture(name.into())];
        }
        let clock = text.strip_prefix(b"+CCLK: \"").and_then(|t| t.strip_suffix(b"\""));
        if clock.is_some_and(|c| !c.is_empty() && !c.contains(&b'"')) {
            return vec![Token::Lit(b"+CCLK: \"".to_vec()), Token::Rest, Token::Lit(b"\"".to_vec())];
        }
        let invented: Vec<_> = text::ipv4_addresses(text)
            .into_iter()
            .filter(|r| !self.host_addresses.iter().any(|a| *a == text[r.clone()]))
            .collect();
        let tokens = text::generalize(text, &invented);
        if is_final(&text::literal(&tokens)) != is_final(text) {
            return vec![Token::Lit(text.to_vec())];
        }
        tokens
    }

    /// Queues expected bytes for the `<<` lines.
    fn expect_raw(&mut self, tokens: Vec<Token>) {
        self.announce_late();
        for t in tokens {
            match (self.raw.last_mut(), t) {
                (Some(Token::Lit(prev)), Token::Lit(b)) => prev.extend(b),
                (_, t) => self.raw.push(t),
            }
        }
    }

    /// Before output that came after a long pause: its time, and a longer `@timeout` when the
    /// runner's would run out before it.
    fn announce_late(&mut self) {
        let Some(pause) = self.late.take() else { return };
        let now = self.last;
        self.emit(format!("# {} after {:.3}s", self.stamp(now), pause.as_secs_f64()));
        let needed = Duration::from_secs(pause.as_secs() * 2 + 5);
        if needed > self.timeout {
            self.timeout = needed;
            self.emit(format!("@timeout {}", needed.as_secs()));
        }
    }

    /// Writes the queued `<<` lines.
    fn flush_raw(&mut self) {
        if self.raw.is_empty() {
            return;
        }
        let tokens = std::mem::take(&mut self.raw);
        for line in text::wrapped("<<", &self.masked(tokens)) {
            self.text.push_str(&line);
            self.text.push('\n');
        }
    }
}

/// How the next modem output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// `< TEXT`: TEXT is `len` bytes from `start`, and CR LF follows; `separate` when a bare `<`
    /// must come first.
    Line { start: usize, len: usize, separate: bool },
    /// `<<`: this many bytes as they are.
    Raw(usize),
}

/// For a [`COUNTED`] line: its prefix, the length it announces and the capture's name.
fn counted(text: &[u8]) -> Option<(&'static [u8], usize, &'static str)> {
    COUNTED.iter().find_map(|&(prefix, name)| {
        let digits = text.strip_prefix(prefix)?;
        if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = std::str::from_utf8(digits).ok()?.parse().ok().filter(|&n| n > 0)?;
        Some((prefix, n, name))
    })
}
