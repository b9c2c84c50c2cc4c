//! One parsed command of a command line, and the parser that splits a line into commands.
//!
//! Grammar (V.250 §5.2, as modules accept it): after the `AT` prefix come basic commands
//! (`E0`, `&F`, `S3=13`, `S3?`, `D<dial string>`) with no separator, and extended commands
//! (`+NAME`, also `^ $ % * #` prefixes) in their test `=?`, read `?`, write `=<args>` and execute
//! forms, each ended by `;` or the end of the line. A `;` may separate any two commands. Spaces
//! outside double quotes are ignored; names are case-insensitive.

use std::fmt;

/// Which of the four forms a command was sent in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `AT+X` (for basic commands: the letter with no number, `ATE`).
    Exec,
    /// `AT+X?`.
    Read,
    /// `AT+X=?`.
    Test,
    /// `AT+X=<args>` (for basic commands: the number, `ATE1` carries `1`).
    Write(Vec<Arg>),
}

/// One argument of a write form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Nothing between two commas (or a trailing comma): "use the default".
    Empty,
    /// A double-quoted string, without its quotes.
    Quoted(Vec<u8>),
    /// An unquoted value (a number, or a string sent without quotes).
    Bare(Vec<u8>),
}

impl Arg {
    /// The argument's bytes whether quoted or not; empty for [`Arg::Empty`].
    pub fn bytes(&self) -> &[u8] {
        match self {
            Arg::Empty => &[],
            Arg::Quoted(b) | Arg::Bare(b) => b,
        }
    }

    /// The argument as text, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes()).ok()
    }

    /// The argument as an unsigned decimal number, if it is one (digits only, no sign).
    pub fn number(&self) -> Option<u64> {
        let b = self.bytes();
        if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(b).ok()?.parse().ok()
    }
}

/// Whether a command was written in the basic (`E0`) or extended (`+CMEE=1`) syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// A single letter, `&` plus a letter, or an S-parameter.
    Basic,
    /// A prefixed name such as `+FTPGET`.
    Extended,
}

/// One command of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The upper-case name: `E`, `&F`, `S3`, `D`, `+FTPGET`.
    pub name: String,
    /// Basic or extended.
    pub syntax: Syntax,
    /// The form and, for writes, the arguments.
    pub form: Form,
}

impl Command {
    /// The write-form arguments; empty for the other forms.
    pub fn args(&self) -> &[Arg] {
        match &self.form {
            Form::Write(args) => args,
            _ => &[],
        }
    }
}

impl fmt::Display for Command {
    /// Prints the command in a canonical form, as a host would send it without `AT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.form {
            Form::Exec => Ok(()),
            Form::Read => f.write_str("?"),
            Form::Test => f.write_str("=?"),
            Form::Write(args) => {
                if self.syntax == Syntax::Extended || self.name.starts_with('S') {
                    f.write_str("=")?;
                }
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    match arg {
                        Arg::Empty => {}
                        Arg::Quoted(b) => write!(f, "\"{}\"", String::from_utf8_lossy(b))?,
                        Arg::Bare(b) => f.write_str(&String::from_utf8_lossy(b))?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// Why a command could not be parsed. The engine answers it like any failing command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A byte that cannot start or continue a command.
    Unexpected(u8),
    /// A double quote with no closing quote.
    UnterminatedString,
    /// A basic command letter followed by something that is not a number.
    BadNumber,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Unexpected(b) => write!(f, "unexpected byte 0x{b:02x}"),
            ParseError::UnterminatedString => f.write_str("unterminated string"),
            ParseError::BadNumber => f.write_str("malformed number"),
        }
    }
}

/// Splits a command-line body (the bytes after `AT`) into commands.
///
/// Parsing stops at the first malformed command, which is returned as the last element, so
/// the commands before it still run (V.250: execution stops at the first failing command).
pub fn parse_line(body: &[u8]) -> Vec<Result<Command, ParseError>> {
    let body = strip_spaces(body);
    let mut parser = Parser { src: &body, pos: 0 };
    let mut out = Vec::new();
    while let Some(next) = parser.next_command() {
        let failed = next.is_err();
        out.push(next);
        if failed {
            break;
        }
    }
    out
}

/// Removes spaces and tabs outside double quotes (`AT + SAPBR = 1 , 1` is `AT+SAPBR=1,1`).
fn strip_spaces(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut quoted = false;
    for &b in body {
        if b == b'"' {
            quoted = !quoted;
        }
        if quoted || (b != b' ' && b != b'\t') {
            out.push(b);
        }
    }
    out
}

/// Prefixes that start an extended command name.
const EXTENDED_PREFIXES: &[u8] = b"+^$%*#";

/// Characters allowed in an extended name after its prefix (V.250 §5.4.1 plus digits).
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!%-./:_".contains(&b)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next_command(&mut self) -> Option<Result<Command, ParseError>> {
        while self.eat(b';') {}
        let first = self.peek()?;
        Some(if EXTENDED_PREFIXES.contains(&first) { self.extended() } else { self.basic() })
    }

    fn extended(&mut self) -> Result<Command, ParseError> {
        let start = self.pos;
        self.pos += 1;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        if self.pos == start + 1 {
            return Err(ParseError::Unexpected(self.src[start]));
        }
        let name = upper(&self.src[start..self.pos]);
        let form = if self.eat(b'=') {
            if self.eat(b'?') { Form::Test } else { Form::Write(self.args()?) }
        } else if self.eat(b'?') {
            Form::Read
        } else {
            Form::Exec
        };
        self.end_of_command()?;
        Ok(Command { name, syntax: Syntax::Extended, form })
    }

    /// Arguments up to the `;` or the end of the line. An empty list is one empty argument.
    fn args(&mut self) -> Result<Vec<Arg>, ParseError> {
        let mut args = Vec::new();
        loop {
            let arg = match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    let start = self.pos;
                    while self.peek().is_some_and(|b| b != b'"') {
                        self.pos += 1;
                    }
                    if !self.eat(b'"') {
                        return Err(ParseError::UnterminatedString);
                    }
                    let s = self.src[start..self.pos - 1].to_vec();
                    // Bytes after a closing quote up to the comma (`"a"b`) are malformed.
                    if !matches!(self.peek(), None | Some(b',' | b';')) {
                        return Err(ParseError::Unexpected(self.src[self.pos]));
                    }
                    Arg::Quoted(s)
                }
                _ => {
                    let start = self.pos;
                    while self.peek().is_some_and(|b| b != b',' && b != b';') {
                        if self.src[self.pos] == b'"' {
                            return Err(ParseError::Unexpected(b'"'));
                        }
                        self.pos += 1;
                    }
                    if self.pos == start { Arg::Empty } else { Arg::Bare(self.src[start..self.pos].to_vec()) }
                }
            };
            args.push(arg);
            if !self.eat(b',') {
                return Ok(args);
            }
        }
    }

    fn end_of_command(&mut self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(b';') => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(ParseError::Unexpected(b)),
        }
    }

    fn basic(&mut self) -> Result<Command, ParseError> {
        let first = self.src[self.pos];
        self.pos += 1;
        let name = match first.to_ascii_uppercase() {
            b'&' => match self.peek() {
                Some(l) if l.is_ascii_alphabetic() => {
                    self.pos += 1;
                    format!("&{}", l.to_ascii_uppercase() as char)
                }
                Some(b) => return Err(ParseError::Unexpected(b)),
                None => return Err(ParseError::Unexpected(b'&')),
            },
            b'S' => return self.s_parameter(),
            b'D' => {
                // The dial string runs to the end of the line (a trailing `;` means voice).
                let rest = self.src[self.pos..].to_vec();
                self.pos = self.src.len();
                return Ok(Command {
                    name: "D".into(),
                    syntax: Syntax::Basic,
                    form: Form::Write(vec![Arg::Bare(rest)]),
                });
            }
            l if l.is_ascii_alphabetic() => (l as char).to_string(),
            _ => return Err(ParseError::Unexpected(first)),
        };
        let form = if self.eat(b'?') {
            Form::Read
        } else if self.eat(b'=') {
            if self.eat(b'?') { Form::Test } else { Form::Write(vec![self.number().ok_or(ParseError::BadNumber)?]) }
        } else {
            match self.number() {
                Some(n) => Form::Write(vec![n]),
                None => Form::Exec,
            }
        };
        Ok(Command { name, syntax: Syntax::Basic, form })
    }

    /// `Sn?`, `Sn=?`, `Sn=<v>`; a bare `Sn` selects the register and reads as `Sn?`.
    fn s_parameter(&mut self) -> Result<Command, ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(ParseError::BadNumber);
        }
        let name = format!("S{}", std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("0"));
        let form = if self.eat(b'?') {
            Form::Read
        } else if self.eat(b'=') {
            if self.eat(b'?') { Form::Test } else { Form::Write(vec![self.number().ok_or(ParseError::BadNumber)?]) }
        } else {
            Form::Read
        };
        Ok(Command { name, syntax: Syntax::Basic, form })
    }

    fn number(&mut self) -> Option<Arg> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then(|| Arg::Bare(self.src[start..self.pos].to_vec()))
    }
}

fn upper(b: &[u8]) -> String {
    b.iter().map(|&c| c.to_ascii_uppercase() as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Vec<Command> {
        parse_line(line.as_bytes()).into_iter().map(|c| c.expect("parses")).collect()
    }

    fn bare(s: &str) -> Arg {
        Arg::Bare(s.as_bytes().to_vec())
    }

    fn quoted(s: &str) -> Arg {
        Arg::Quoted(s.as_bytes().to_vec())
    }

    #[test]
    fn extended_forms() {
        let cmds = ok("+FTPGET=?;+FTPGET?;+FTPGET=2,1024;+FTPQUIT");
        assert_eq!(cmds[0].form, Form::Test);
        assert_eq!(cmds[1].form, Form::Read);
        assert_eq!(cmds[2].form, Form::Write(vec![bare("2"), bare("1024")]));
        assert_eq!(cmds[3].form, Form::Exec);
        assert!(cmds.iter().all(|c| c.name == "+FTPGET" || c.name == "+FTPQUIT"));
    }

    #[test]
    fn names_are_case_insensitive_but_arguments_keep_case() {
        let cmds = ok("+ftpserv=\"Ftp.Example\",Abc");
        assert_eq!(cmds[0].name, "+FTPSERV");
        assert_eq!(cmds[0].args(), &[quoted("Ftp.Example"), bare("Abc")]);
    }

    #[test]
    fn spaces_outside_quotes_are_ignored() {
        let cmds = ok(" + SAPBR = 3 , 1 , \"Contype\" , \"GP RS\"");
        assert_eq!(cmds[0].name, "+SAPBR");
        assert_eq!(cmds[0].args(), &[bare("3"), bare("1"), quoted("Contype"), quoted("GP RS")]);
    }

    #[test]
    fn empty_and_trailing_empty_arguments() {
        let cmds = ok("+FTPOPEN=\"h\",\"u\",\"p\",\"\",,21,");
        assert_eq!(
            cmds[0].args(),
            &[quoted("h"), quoted("u"), quoted("p"), quoted(""), Arg::Empty, bare("21"), Arg::Empty]
        );
        assert_eq!(ok("+X=")[0].args(), &[Arg::Empty]);
    }

    #[test]
    fn basic_chains() {
        let cmds = ok("E0V1&FZ&C1S0=1S3?X4");
        let names: Vec<_> = cmds.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["E", "V", "&F", "Z", "&C", "S0", "S3", "X"]);
        assert_eq!(cmds[0].form, Form::Write(vec![bare("0")]));
        assert_eq!(cmds[2].form, Form::Exec);
        assert_eq!(cmds[5].form, Form::Write(vec![bare("1")]));
        assert_eq!(cmds[6].form, Form::Read);
    }

    #[test]
    fn basic_after_extended_and_extended_after_basic() {
        let names: Vec<_> = ok("+CIFSR;E0").into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["+CIFSR", "E"]);
        let cmds = ok("&FE0V1X4&C1+CMEE=1");
        assert_eq!(cmds.last().unwrap().name, "+CMEE");
        assert_eq!(cmds.last().unwrap().args(), &[bare("1")]);
    }

    #[test]
    fn errors_stop_the_line_after_earlier_commands() {
        let parsed = parse_line(b"E0+X=\"open;V1");
        assert_eq!(parsed.len(), 2);
        assert!(parsed[0].is_ok());
        assert_eq!(parsed[1], Err(ParseError::UnterminatedString));
        assert_eq!(parse_line(b"+X?junk"), vec![Err(ParseError::Unexpected(b'j'))]);
        assert_eq!(parse_line(b"+\"x\""), vec![Err(ParseError::Unexpected(b'+'))]);
        assert_eq!(parse_line(b"+X=\"a\"b"), vec![Err(ParseError::Unexpected(b'b'))]);
    }

    #[test]
    fn semicolons_inside_quotes_belong_to_the_string() {
        let cmds = ok("+X=\"a;b\",1;+Y");
        assert_eq!(cmds[0].args(), &[quoted("a;b"), bare("1")]);
        assert_eq!(cmds[1].name, "+Y");
    }

    #[test]
    fn dial_takes_the_rest_of_the_line() {
        let cmds = ok("D*99#;");
        assert_eq!(cmds[0].args(), &[bare("*99#;")]);
    }

    #[test]
    fn empty_line_has_no_commands() {
        assert!(parse_line(b"").is_empty());
        assert!(parse_line(b";;").is_empty());
    }

    #[test]
    fn display_is_canonical() {
        let cmds = ok("+ftpserv = \"a\" , 1;e1;s3=13");
        assert_eq!(cmds[0].to_string(), "+FTPSERV=\"a\",1");
        assert_eq!(cmds[1].to_string(), "E1");
        assert_eq!(cmds[2].to_string(), "S3=13");
    }

    #[test]
    fn numbers() {
        assert_eq!(bare("4294967295").number(), Some(4294967295));
        assert_eq!(bare("-1").number(), None);
        assert_eq!(bare("1a").number(), None);
        assert_eq!(Arg::Empty.number(), None);
        assert_eq!(quoted("12").number(), Some(12));
    }
}
