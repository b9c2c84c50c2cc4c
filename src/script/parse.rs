//! Reading a transcript ([`Script::parse`]) and turning it into the exact bytes to send and
//! expect ([`Script::compile`]): variables filled in, V.250 framing applied to `<` lines, the
//! echo of sent lines added while echo is on.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::network::NetworkEvent;

use super::content::{Content, unescape};
use super::framing::Framing;

/// A parsed transcript.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The `@` directives.
    pub header: Header,
    items: Vec<(usize, Item)>,
}

/// What a transcript needs around it.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// `@family`: the dialect it was written for.
    pub family: Option<String>,
    /// `@server`: the kind of server it talks to (`ftp`).
    pub server: Option<String>,
    /// `@var` defaults.
    pub vars: BTreeMap<String, String>,
    /// `@file` fixtures on the server.
    pub files: Vec<(String, Content)>,
    /// `@mtime` modification times of fixtures (`YYYYMMDDHHMMSS`, UTC).
    pub mtimes: Vec<(String, String)>,
    /// `@dir` directories on the server.
    pub dirs: Vec<String>,
    /// `@after-file`: files the server must hold afterwards.
    pub after_files: Vec<(String, Content)>,
    /// `@after-missing`: files the server must not hold afterwards.
    pub after_missing: Vec<String>,
    /// `@config` modem configuration for in-process runs.
    pub config: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum Item {
    Send(Vec<Piece>),
    SendRaw(Vec<Piece>),
    Expect(Vec<Piece>),
    ExpectRaw(Vec<Piece>),
    Sleep(Duration),
    Timeout(Duration),
    Echo(bool),
    Network(NetworkEvent),
    Peer(PeerItem),
    Sms { from: String, text: String },
}

/// A `@peer` line before compiling.
#[derive(Debug, Clone)]
enum PeerItem {
    Connect(Vec<Piece>),
    Send(Vec<Piece>),
    Expect(Vec<Piece>),
    Close,
}

/// What the remote peer of a server the modem opened does (`@peer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerStep {
    /// Connect to this port of the modem's listening address (loopback).
    Connect(u16),
    /// Send these bytes to the modem.
    Send(Vec<u8>),
    /// Receive exactly these bytes from the modem; `line` is the transcript line.
    Expect {
        /// Transcript line number.
        line: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Close the connection.
    Close,
}

/// A part of a line before compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(Vec<u8>),
    Var(String),
    Capture(String),
    Rest,
    Gen(Content),
    File { name: String, range: Option<(usize, usize)> },
    Any(Count),
}

/// How many bytes `{any:...}` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    /// A fixed number.
    Fixed(usize),
    /// A number captured earlier with `{$name}`.
    Var(String),
}

/// One part of an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// These bytes exactly.
    Bytes(Vec<u8>),
    /// A decimal number, remembered under this name.
    Number(String),
    /// Anything up to the next CR.
    Rest,
    /// Any bytes, this many.
    Any(Count),
}

/// One step of a compiled transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Receive bytes matching these parts; `line` is the transcript line for reports.
    Expect {
        /// Transcript line number of the first expectation of the group.
        line: usize,
        /// What must arrive, in order.
        parts: Vec<Expect>,
    },
    /// Wait this long.
    Sleep(Duration),
    /// From now on, each expectation may take this long.
    Timeout(Duration),
    /// The emulated network does this (only an in-process run can make it happen).
    Network(NetworkEvent),
    /// The remote peer of a server the modem opened acts.
    Peer(PeerStep),
    /// A text message from `from` arrives (only an in-process run can bring it).
    Sms {
        /// The sender's number.
        from: String,
        /// The text.
        text: String,
    },
}

/// A transcript ready to run.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// The steps in order.
    pub steps: Vec<Step>,
    /// Whether the transcript starts by expecting output (boot URCs) rather than sending.
    pub starts_with_expect: bool,
}

/// A transcript error with its line number.
fn err(line: usize, msg: impl std::fmt::Display) -> String {
    format!("line {line}: {msg}")
}

impl Script {
    /// Parses a transcript.
    pub fn parse(text: &str) -> Result<Script, String> {
        let mut script = Script::default();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let item = if let Some(rest) = line.strip_prefix('@') {
                script.directive(rest).map_err(|e| err(n, e))?
            } else if let Some(rest) = line.strip_prefix(">>") {
                Some(Item::SendRaw(pieces(strip_one_space(rest), true).map_err(|e| err(n, e))?))
            } else if let Some(rest) = line.strip_prefix('>') {
                Some(Item::Send(pieces(strip_one_space(rest), false).map_err(|e| err(n, e))?))
            } else if let Some(rest) = line.strip_prefix("<<") {
                Some(Item::ExpectRaw(pieces(strip_one_space(rest), true).map_err(|e| err(n, e))?))
            } else if let Some(rest) = line.strip_prefix('<') {
                Some(Item::Expect(pieces(strip_one_space(rest), false).map_err(|e| err(n, e))?))
            } else {
                return Err(err(n, format!("a line must start with > >> < << @ or #: {line:?}")));
            };
            if let Some(item) = item {
                script.items.push((n, item));
            }
        }
        Ok(script)
    }

    fn directive(&mut self, rest: &str) -> Result<Option<Item>, String> {
        let (key, value) = rest.split_once(' ').map(|(k, v)| (k, v.trim())).unwrap_or((rest, ""));
        let h = &mut self.header;
        let pair = || -> Result<(String, String), String> {
            let (name, val) = value.split_once('=').ok_or_else(|| format!("@{key} needs NAME = VALUE"))?;
            Ok((name.trim().to_string(), val.trim().to_string()))
        };
        let secs = || -> Result<Duration, String> {
            value
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or(format!("bad seconds {value:?}"))
        };
        match key {
            "family" => h.family = Some(value.to_string()),
            "server" => h.server = Some(value.to_string()),
            "var" => {
                let (k, v) = pair()?;
                h.vars.insert(k, v);
            }
            "file" => {
                let (k, v) = pair()?;
                h.files.push((k, Content::parse(&v)?));
            }
            "after-file" => {
                let (k, v) = pair()?;
                h.after_files.push((k, Content::parse(&v)?));
            }
            "mtime" => h.mtimes.push(pair()?),
            "config" => h.config.push(pair()?),
            "dir" => h.dirs.push(value.to_string()),
            "after-missing" => h.after_missing.push(value.to_string()),
            "sleep" => return Ok(Some(Item::Sleep(secs()?))),
            "timeout" => return Ok(Some(Item::Timeout(secs()?))),
            "echo" => return Ok(Some(Item::Echo(value == "on"))),
            "network" => return Ok(Some(Item::Network(value.parse()?))),
            "peer" => return Ok(Some(Item::Peer(peer(value)?))),
            "sms" => {
                let (from, text) = value.split_once(' ').ok_or("@sms needs FROM TEXT")?;
                return Ok(Some(Item::Sms { from: from.to_string(), text: text.to_string() }));
            }
            other => return Err(format!("unknown directive @{other}")),
        }
        Ok(None)
    }

    /// The bytes of a fixture file.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.header.files.iter().find(|(n, _)| n == name).map(|(_, c)| c.bytes())
    }

    /// Turns the transcript into steps, with `vars` on top of the `@var` defaults.
    pub fn compile(&self, vars: &BTreeMap<String, String>) -> Result<Program, String> {
        let mut vars_all = self.header.vars.clone();
        vars_all.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut c =
            Compiler { script: self, vars: &vars_all, program: Program::default(), framing: Framing::default() };
        c.program.starts_with_expect = matches!(self.items.first(), Some((_, Item::Expect(_) | Item::ExpectRaw(_))));
        for (n, item) in &self.items {
            c.item(*n, item).map_err(|e| err(*n, e))?;
        }
        Ok(c.program)
    }
}

/// `@peer connect PORT`, `@peer send RAW`, `@peer expect RAW` or `@peer close`.
fn peer(value: &str) -> Result<PeerItem, String> {
    let (action, rest) = value.split_once(' ').unwrap_or((value, ""));
    match action {
        "connect" => Ok(PeerItem::Connect(pieces(rest.trim(), false)?)),
        "send" => Ok(PeerItem::Send(pieces(rest, true)?)),
        "expect" => Ok(PeerItem::Expect(pieces(rest, true)?)),
        "close" => Ok(PeerItem::Close),
        other => Err(format!("unknown @peer action {other:?} (connect, send, expect, close)")),
    }
}

fn strip_one_space(s: &str) -> &str {
    s.strip_prefix(' ').unwrap_or(s)
}

/// Splits a line into literal text and `{...}` placeholders; `raw` allows generators.
fn pieces(s: &str, raw: bool) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['{', '\\']) {
        lit.push_str(&rest[..i]);
        if rest[i..].starts_with('\\') {
            // Keep escapes for unescape(), but let `\{` stop a placeholder from starting.
            let esc: String = rest[i..].chars().take(2).collect();
            lit.push_str(&esc);
            rest = &rest[i + esc.len()..];
            continue;
        }
        let end = rest[i..].find('}').ok_or_else(|| format!("unclosed {{ in {s:?}"))? + i;
        let inner = &rest[i + 1..end];
        if !lit.is_empty() {
            out.push(Piece::Lit(unescape(&std::mem::take(&mut lit))?));
        }
        out.push(placeholder(inner, raw)?);
        rest = &rest[end + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Piece::Lit(unescape(&lit)?));
    }
    Ok(out)
}

fn placeholder(inner: &str, raw: bool) -> Result<Piece, String> {
    if inner == "*" {
        return Ok(Piece::Rest);
    }
    if let Some(name) = inner.strip_prefix('$') {
        return Ok(Piece::Capture(name.to_string()));
    }
    let Some((kind, value)) = inner.split_once(':') else {
        return Ok(Piece::Var(inner.to_string()));
    };
    if !raw {
        return Err(format!("{{{inner}}} is only allowed in >> and << lines"));
    }
    match kind {
        "any" => Ok(Piece::Any(match value.strip_prefix('$') {
            Some(name) => Count::Var(name.to_string()),
            None => Count::Fixed(value.parse().map_err(|_| format!("bad count in {{{inner}}}"))?),
        })),
        "file" => {
            let mut parts = value.split(':');
            let name = parts.next().unwrap_or_default().to_string();
            let range = match (parts.next(), parts.next()) {
                (Some(o), Some(l)) => Some((
                    o.parse().map_err(|_| format!("bad offset in {{{inner}}}"))?,
                    l.parse().map_err(|_| format!("bad length in {{{inner}}}"))?,
                )),
                (None, None) => None,
                _ => return Err(format!("{{{inner}}} needs file:NAME or file:NAME:OFFSET:LEN")),
            };
            Ok(Piece::File { name, range })
        }
        _ => Ok(Piece::Gen(Content::parse(inner)?)),
    }
}

struct Compiler<'a> {
    script: &'a Script,
    vars: &'a BTreeMap<String, String>,
    program: Program,
    framing: Framing,
}

impl Compiler<'_> {
    fn item(&mut self, n: usize, item: &Item) -> Result<(), String> {
        match item {
            Item::Send(pieces) => {
                let mut bytes = self.resolve(pieces)?;
                bytes.push(b'\r');
                let echo = self.framing.send_line(&bytes);
                self.program.steps.push(Step::Send(bytes.clone()));
                if echo {
                    self.expect(n, vec![Expect::Bytes(bytes)]);
                }
            }
            Item::SendRaw(pieces) => {
                // Raw bytes may complete a command line or a data phase: a response follows.
                let bytes = self.resolve(pieces)?;
                self.program.steps.push(Step::Send(bytes));
                self.framing.send_raw();
            }
            Item::Expect(pieces) => {
                let parts = self.expect_parts(pieces)?;
                let text: Vec<u8> =
                    parts.iter().flat_map(|p| if let Expect::Bytes(b) = p { b.clone() } else { vec![] }).collect();
                if parts.is_empty() {
                    self.framing.separate();
                    return Ok(());
                }
                let mut framed = Vec::new();
                if self.framing.leads(&text) {
                    framed.push(Expect::Bytes(b"\r\n".to_vec()));
                }
                framed.extend(parts);
                framed.push(Expect::Bytes(b"\r\n".to_vec()));
                self.framing.expect_line(&text);
                self.expect(n, framed);
            }
            Item::ExpectRaw(pieces) => {
                let parts = self.expect_parts(pieces)?;
                self.expect(n, parts);
            }
            Item::Sleep(d) => self.program.steps.push(Step::Sleep(*d)),
            Item::Timeout(d) => self.program.steps.push(Step::Timeout(*d)),
            Item::Echo(on) => self.framing.set_echo(*on),
            Item::Network(event) => self.program.steps.push(Step::Network(*event)),
            Item::Sms { from, text } => {
                self.program.steps.push(Step::Sms { from: from.clone(), text: text.clone() });
                self.framing.separate();
            }
            Item::Peer(item) => {
                let step = match item {
                    PeerItem::Connect(pieces) => {
                        let port = String::from_utf8_lossy(&self.resolve(pieces)?).into_owned();
                        PeerStep::Connect(port.parse().map_err(|_| format!("@peer connect needs a port: {port:?}"))?)
                    }
                    PeerItem::Send(pieces) => PeerStep::Send(self.resolve(pieces)?),
                    PeerItem::Expect(pieces) => PeerStep::Expect { line: n, bytes: self.resolve(pieces)? },
                    PeerItem::Close => PeerStep::Close,
                };
                self.program.steps.push(Step::Peer(step));
                // What the modem says next comes on its own, as a URC.
                self.framing.separate();
            }
        }
        Ok(())
    }

    /// Appends to the current expectation group, or starts one.
    fn expect(&mut self, n: usize, parts: Vec<Expect>) {
        let group = match self.program.steps.last_mut() {
            Some(Step::Expect { parts: group, .. }) => group,
            _ => {
                self.program.steps.push(Step::Expect { line: n, parts: Vec::new() });
                match self.program.steps.last_mut() {
                    Some(Step::Expect { parts, .. }) => parts,
                    _ => unreachable!("an expectation was just pushed"),
                }
            }
        };
        for part in parts {
            match (group.last_mut(), part) {
                (Some(Expect::Bytes(prev)), Expect::Bytes(b)) => prev.extend(b),
                (_, part) => group.push(part),
            }
        }
    }

    /// Pieces of a sent line, resolved to bytes.
    fn resolve(&self, pieces: &[Piece]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                Piece::Lit(b) => out.extend_from_slice(b),
                Piece::Var(name) => out.extend_from_slice(self.var(name)?.as_bytes()),
                Piece::Gen(c) => out.extend(c.bytes()),
                Piece::File { name, range } => out.extend(self.file(name, *range)?),
                Piece::Capture(_) | Piece::Rest | Piece::Any(_) => {
                    return Err("a placeholder that matches input cannot be sent".into());
                }
            }
        }
        Ok(out)
    }

    fn expect_parts(&self, pieces: &[Piece]) -> Result<Vec<Expect>, String> {
        let mut out: Vec<Expect> = Vec::new();
        for p in pieces {
            let part = match p {
                Piece::Lit(b) => Expect::Bytes(b.clone()),
                Piece::Var(name) => Expect::Bytes(self.var(name)?.as_bytes().to_vec()),
                Piece::Gen(c) => Expect::Bytes(c.bytes()),
                Piece::File { name, range } => Expect::Bytes(self.file(name, *range)?),
                Piece::Capture(name) => Expect::Number(name.clone()),
                Piece::Rest => Expect::Rest,
                Piece::Any(count) => Expect::Any(count.clone()),
            };
            out.push(part);
        }
        Ok(out)
    }

    fn var(&self, name: &str) -> Result<&str, String> {
        self.vars.get(name).map(String::as_str).ok_or_else(|| format!("unknown variable {{{name}}}"))
    }

    fn file(&self, name: &str, range: Option<(usize, usize)>) -> Result<Vec<u8>, String> {
        let bytes = self.script.file(name).ok_or_else(|| format!("no @file {name}"))?;
        match range {
            None => Ok(bytes),
            Some((off, len)) => bytes
                .get(off..off.saturating_add(len))
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("{name} is shorter than {off}+{len}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Vec<Step> {
        Script::parse(text).unwrap().compile(&BTreeMap::new()).unwrap().steps
    }

    fn bytes(s: &[u8]) -> Expect {
        Expect::Bytes(s.to_vec())
    }

    #[test]
    fn framing_of_information_finals_and_urcs() {
        let steps = compile("@echo off\n> AT+CNACT?\n< +CNACT: 0,1\n< +CNACT: 1,0\n< OK\n< +APP PDP: 0,ACTIVE\n");
        assert_eq!(steps[0], Step::Send(b"AT+CNACT?\r".to_vec()));
        assert_eq!(
            steps[1],
            Step::Expect {
                line: 3,
                parts: vec![bytes(b"\r\n+CNACT: 0,1\r\n+CNACT: 1,0\r\n\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n")]
            }
        );
    }

    #[test]
    fn echo_follows_the_sent_lines() {
        let steps = compile("> ATE0\n< OK\n> AT\n< OK\n> ATE1\n< OK\n> AT\n< OK\n");
        let expects: Vec<_> = steps
            .iter()
            .filter_map(|s| if let Step::Expect { parts, .. } = s { Some(parts.clone()) } else { None })
            .collect();
        assert_eq!(expects[0], vec![bytes(b"ATE0\r\r\nOK\r\n")]);
        assert_eq!(expects[1], vec![bytes(b"\r\nOK\r\n")]);
        assert_eq!(expects[2], vec![bytes(b"\r\nOK\r\n")]);
        assert_eq!(expects[3], vec![bytes(b"AT\r\r\nOK\r\n")]);
    }

    #[test]
    fn a_bare_expect_separates_commands() {
        let steps = compile("@echo off\n> AT+CGMI;+CGMM\n< SIMCOM_Ltd\n<\n< SIMCOM_SIM7080\n< OK\n");
        assert_eq!(
            steps[1],
            Step::Expect { line: 3, parts: vec![bytes(b"\r\nSIMCOM_Ltd\r\n\r\nSIMCOM_SIM7080\r\n\r\nOK\r\n")] }
        );
    }

    #[test]
    fn placeholders_and_raw_data() {
        let text = "@echo off\n@var host = 1.2.3.4\n@file f = pattern:5\n> AT+X=\"{host}\"\n< +X: 2,{$n}\n<< {any:$n}{file:f:1:3}\\r\\n\n< OK\n>> {hex:1003}\n";
        let steps = compile(text);
        assert_eq!(steps[0], Step::Send(b"AT+X=\"1.2.3.4\"\r".to_vec()));
        assert_eq!(
            steps[1],
            Step::Expect {
                line: 5,
                parts: vec![
                    bytes(b"\r\n+X: 2,"),
                    Expect::Number("n".into()),
                    bytes(b"\r\n"),
                    Expect::Any(Count::Var("n".into())),
                    bytes(b"123\r\n\r\nOK\r\n"),
                ]
            }
        );
        assert_eq!(steps[2], Step::Send(vec![0x10, 0x03]));
    }

    #[test]
    fn peer_steps() {
        let steps = compile(
            "@var port = 4000\n@peer connect {port}\n@peer send hi\\r\\n\n@peer expect {pattern:3}\n@peer close\n",
        );
        assert_eq!(
            steps,
            vec![
                Step::Peer(PeerStep::Connect(4000)),
                Step::Peer(PeerStep::Send(b"hi\r\n".to_vec())),
                Step::Peer(PeerStep::Expect { line: 4, bytes: b"012".to_vec() }),
                Step::Peer(PeerStep::Close),
            ]
        );
        assert!(Script::parse("@peer wave").is_err());
        assert!(Script::parse("@peer connect x").unwrap().compile(&BTreeMap::new()).is_err());
    }

    #[test]
    fn errors_name_the_line() {
        assert!(Script::parse("? what").unwrap_err().starts_with("line 1"));
        assert!(Script::parse("# c\n@nope x").unwrap_err().starts_with("line 2"));
        let s = Script::parse("> AT{missing}").unwrap();
        assert!(s.compile(&BTreeMap::new()).unwrap_err().contains("missing"));
        assert!(Script::parse("< {pattern:3}").is_err());
    }
}
