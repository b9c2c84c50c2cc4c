//! The pieces of a recorded line and how they are written: bytes escaped so that the
//! transcript parser reads them back exactly, secrets masked as variables, and the few values a
//! recording generalizes as placeholders.

use std::fmt::Write as _;

use crate::script::content::escape;

/// The longest raw line (`>>`, `<<`) in characters, before it continues on the next line.
const RAW_WIDTH: usize = 76;

/// One piece of a recorded line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Bytes as they were.
    Lit(Vec<u8>),
    /// A masked secret: `{name}`.
    Var(String),
    /// A value that varies between runs: `{*}`.
    Rest,
    /// A length the next bytes are counted by: `{$name}`.
    Capture(String),
    /// That many bytes, whatever they are: `{any:$name}`.
    Any(String),
}

/// How a byte is written in a transcript line: printable ASCII as it is (`\`, `{` and `}`
/// escaped), anything else as `\r`, `\n` or `\xHH`.
fn escaped(b: u8) -> String {
    match b {
        b'{' => "\\{".into(),
        b'}' => "\\}".into(),
        _ => escape(&[b]),
    }
}

/// Whether bytes can stand in a `>` or `<` line: printable ASCII, and not empty.
pub fn printable(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|b| (0x20..=0x7e).contains(b))
}

/// The literal bytes of unmasked tokens: what the transcript framing sees of a line.
pub fn literal(tokens: &[Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        if let Token::Lit(b) = t {
            out.extend_from_slice(b);
        }
    }
    out
}

/// The source text of one piece; a trailing space is escaped so that no editor can lose it.
fn piece(token: &Token) -> String {
    match token {
        Token::Lit(b) => b.iter().map(|&b| escaped(b)).collect(),
        Token::Var(name) => format!("{{{name}}}"),
        Token::Rest => "{*}".into(),
        Token::Capture(name) => format!("{{${name}}}"),
        Token::Any(name) => format!("{{any:${name}}}"),
    }
}

/// `prefix` and the tokens on one line.
pub fn line(prefix: &str, tokens: &[Token]) -> String {
    let mut s = format!("{prefix} ");
    for t in tokens {
        s.push_str(&piece(t));
    }
    protect_trailing_space(s)
}

/// `prefix` and the tokens on as many lines as it takes: a line ends after an LF byte or once
/// it is [`RAW_WIDTH`] characters long (raw lines continue one another exactly).
pub fn wrapped(prefix: &str, tokens: &[Token]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let end_line = |current: &mut String, lines: &mut Vec<String>| {
        if !current.is_empty() {
            lines.push(protect_trailing_space(format!("{prefix} {}", std::mem::take(current))));
        }
    };
    for t in tokens {
        match t {
            Token::Lit(bytes) => {
                for &b in bytes {
                    current.push_str(&escaped(b));
                    if b == b'\n' || current.len() >= RAW_WIDTH {
                        end_line(&mut current, &mut lines);
                    }
                }
            }
            other => {
                let _ = write!(current, "{}", piece(other));
                if current.len() >= RAW_WIDTH {
                    end_line(&mut current, &mut lines);
                }
            }
        }
    }
    end_line(&mut current, &mut lines);
    lines
}

fn protect_trailing_space(mut s: String) -> String {
    if s.ends_with(' ') && s.len() > 2 {
        s.pop();
        s.push_str("\\x20");
    }
    s
}

/// `tokens` with every occurrence of a known secret value in their bytes replaced by its
/// variable (the longest value first where two could match).
pub fn mask(tokens: Vec<Token>, secrets: &[(Vec<u8>, String)]) -> Vec<Token> {
    let mut out = Vec::new();
    for token in tokens {
        let Token::Lit(bytes) = token else {
            out.push(token);
            continue;
        };
        let mut lit = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let hit = secrets
                .iter()
                .filter(|(value, _)| !value.is_empty() && bytes[i..].starts_with(value))
                .max_by_key(|(value, _)| value.len());
            match hit {
                Some((value, name)) => {
                    if !lit.is_empty() {
                        out.push(Token::Lit(std::mem::take(&mut lit)));
                    }
                    out.push(Token::Var(name.clone()));
                    i += value.len();
                }
                None => {
                    lit.push(bytes[i]);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            out.push(Token::Lit(lit));
        }
    }
    out
}

/// The dotted-quad IPv4 addresses in `text` (with a `:port` after them), as byte ranges.
pub fn ipv4_addresses(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let run = text[i..].iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count();
        if run == 0 {
            i += 1;
            continue;
        }
        let candidate = &text[i..i + run];
        let parts: Vec<&[u8]> = candidate.split(|b| *b == b'.').collect();
        let octet = |p: &&[u8]| {
            (1..=3).contains(&p.len()) && std::str::from_utf8(p).ok().and_then(|s| s.parse::<u8>().ok()).is_some()
        };
        if parts.len() == 4 && parts.iter().all(octet) {
            // With its port, if one follows (a socket's address).
            let port = match text.get(i + run) {
                Some(b':') => text[i + run + 1..].iter().take_while(|b| b.is_ascii_digit()).count(),
                _ => 0,
            };
            let end = if port > 0 { i + run + 1 + port } else { i + run };
            found.push(i..end);
            i = end;
            continue;
        }
        i += run;
    }
    found
}

/// `text` with the bytes in `ranges` (in order, not overlapping) replaced by `{*}`.
pub fn generalize(text: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = 0;
    for r in ranges {
        if r.start > start {
            out.push(Token::Lit(text[start..r.start].to_vec()));
        }
        out.push(Token::Rest);
        start = r.end;
    }
    if start < text.len() {
        out.push(Token::Lit(text[start..].to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::content::unescape;

    #[test]
    fn every_byte_reads_back() {
        let all: Vec<u8> = (0..=255).collect();
        let text: String = wrapped("<<", &[Token::Lit(all.clone())])
            .iter()
            .map(|l| l.strip_prefix("<< ").unwrap().to_string())
            .collect();
        assert_eq!(unescape(&text).unwrap(), all);
        assert_eq!(line(">", &[Token::Lit(b"AT {x} ".to_vec())]), "> AT \\{x\\}\\x20");
    }

    #[test]
    fn raw_lines_break_after_lf_and_at_the_width() {
        let lines = wrapped("<<", &[Token::Lit(b"ab\r\ncd".to_vec()), Token::Any("n".into())]);
        assert_eq!(lines, ["<< ab\\r\\n", "<< cd{any:$n}"]);
        let long = wrapped(">>", &[Token::Lit(vec![b'x'; 100])]);
        assert_eq!(long.len(), 2);
        assert_eq!(long[0].len(), 3 + RAW_WIDTH);
    }

    #[test]
    fn secrets_become_variables() {
        let secrets = [(b"pw".to_vec(), "ftp_pass".to_string()), (b"pwlong".to_vec(), "apn_pass".to_string())];
        assert_eq!(
            mask(vec![Token::Lit(b"a=\"pw\",\"pwlong\"".to_vec())], &secrets),
            [
                Token::Lit(b"a=\"".to_vec()),
                Token::Var("ftp_pass".into()),
                Token::Lit(b"\",\"".to_vec()),
                Token::Var("apn_pass".into()),
                Token::Lit(b"\"".to_vec()),
            ]
        );
    }

    #[test]
    fn addresses_are_found_and_generalized() {
        let text = b"+SAPBR: 1,1,\"10.94.36.44\" 1.2.3 1.2.3.4.5 300.1.1.1 9.9.9.9 1.1.1.1:21:";
        let found = ipv4_addresses(text);
        assert_eq!(found, [13..24, 52..59, 60..70]);
        let tokens = generalize(text, &found);
        assert_eq!(line("<", &tokens), "< +SAPBR: 1,1,\"{*}\" 1.2.3 1.2.3.4.5 300.1.1.1 {*} {*}:");
    }
}
