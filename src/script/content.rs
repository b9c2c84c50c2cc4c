//! Byte content in transcripts: fixture files (`@file NAME = pattern:1024`) and the
//! generators of raw lines (`{pattern:100}`).

use std::fmt;

/// Bytes described in a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Text with escapes already decoded.
    Text(Vec<u8>),
    /// `0123456789` repeated to this many bytes.
    Pattern(usize),
    /// The byte values 0x00 to 0xFF repeated to this many bytes.
    Bytes(usize),
}

/// The largest generated content (keeps a mistyped transcript from exhausting memory).
const MAX_GENERATED: usize = 1 << 30;

impl Content {
    /// Parses `text:...`, `pattern:N`, `bytes:N` or `hex:...`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (kind, value) = spec.split_once(':').ok_or_else(|| format!("content {spec:?} needs KIND:VALUE"))?;
        let size = || -> Result<usize, String> {
            value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_GENERATED)
                .ok_or_else(|| format!("bad size in {spec:?}"))
        };
        match kind.trim() {
            "text" => Ok(Content::Text(unescape(value)?)),
            "pattern" => Ok(Content::Pattern(size()?)),
            "bytes" => Ok(Content::Bytes(size()?)),
            "hex" => Ok(Content::Text(hex(value)?)),
            other => Err(format!("unknown content kind {other:?}")),
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Content::Text(b) => b.clone(),
            Content::Pattern(n) => b"0123456789".iter().copied().cycle().take(*n).collect(),
            Content::Bytes(n) => (0..=255u8).cycle().take(*n).collect(),
        }
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Text(b) => write!(f, "text:{}", escape(b)),
            Content::Pattern(n) => write!(f, "pattern:{n}"),
            Content::Bytes(n) => write!(f, "bytes:{n}"),
        }
    }
}

/// Decodes hex digits (spaces allowed between bytes).
pub fn hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {s:?}"));
    }
    digits
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad hex in {s:?}"))
        })
        .collect()
}

/// Decodes `\r \n \t \\ \{ \} \xHH` escapes.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'x') => {
                let h: Vec<u8> = bytes.by_ref().take(2).collect();
                out.extend(hex(std::str::from_utf8(&h).unwrap_or(""))?);
            }
            Some(c @ (b'\\' | b'{' | b'}')) => out.push(c),
            other => return Err(format!("bad escape \\{} in {s:?}", other.map(char::from).unwrap_or(' '))),
        }
    }
    Ok(out)
}

/// Shows bytes readably: printable ASCII as is, CR and LF as `\r` `\n`, others as `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(Content::parse("pattern:12").unwrap().bytes(), b"012345678901");
        assert_eq!(Content::parse("bytes:258").unwrap().bytes()[255..], [255, 0, 1]);
        assert_eq!(Content::parse("hex:03 10 ff").unwrap().bytes(), [3, 16, 255]);
        assert_eq!(Content::parse("text:a\\r\\n\\x03").unwrap().bytes(), b"a\r\n\x03");
        assert!(Content::parse("pattern:x").is_err());
        assert!(Content::parse("nope").is_err());
    }

    #[test]
    fn escape_round_trips_through_unescape() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)).unwrap(), all);
    }
}
