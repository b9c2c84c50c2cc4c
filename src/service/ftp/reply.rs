//! RFC 959 replies and an incremental, IO-free parser for them: push the bytes the control
//! connection delivers, pull complete replies. Multi-line replies (`123-` ... `123 `) are
//! joined, a terminal line whose code differs from the opening one is accepted (glFTPd does
//! this; its code wins), and one reply may take at most [`MAX_REPLY_BYTES`].

use std::fmt;

/// Most bytes one reply may take, all its lines together. A server sending more is broken or
/// hostile; the parser fails rather than buffer without bound.
pub const MAX_REPLY_BYTES: usize = 256 * 1024;

/// One complete server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code (of the terminal line, for a multi-line reply).
    pub code: u16,
    /// The raw lines as received, codes included, without line ends (for traces).
    pub lines: Vec<String>,
}

impl Reply {
    /// The human text: the code prefix removed from the first and last lines, lines joined
    /// with `\n`.
    pub fn text(&self) -> String {
        let last = self.lines.len().saturating_sub(1);
        let parts: Vec<&str> =
            self.lines.iter().enumerate().map(|(i, l)| if i == 0 || i == last { strip_code(l) } else { l }).collect();
        parts.join("\n")
    }

    /// A 1xx reply: the command has started, another reply follows.
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// A 2xx reply: the command succeeded.
    pub fn is_completion(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// A 3xx reply: the server waits for the next command of a sequence (PASS, RNTO, RETR).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// The file name a server chose for STOU, read from its preliminary reply: `FILE: name`
    /// (RFC 1123; vsftpd, pure-ftpd, proftpd, pyftpdlib) or else the last word (libunftp
    /// answers `150 <name>`).
    pub fn stou_file_name(&self) -> Option<String> {
        let tagged = self.lines.iter().find_map(|l| l.split_once("FILE:").map(|(_, name)| name.trim()));
        let name = match tagged {
            Some(name) => name,
            None => strip_code(self.lines.last()?).split_whitespace().last()?,
        };
        (!name.is_empty()).then(|| name.to_string())
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join(" / "))
    }
}

/// Why the reply stream cannot be parsed. The parser stays failed afterwards: the stream is
/// out of step and no later reply could be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A reply did not start with a three-digit code.
    #[error("reply line without a 3-digit code: {0:?}")]
    BadLine(String),
    /// One reply exceeded [`MAX_REPLY_BYTES`].
    #[error("reply longer than {MAX_REPLY_BYTES} bytes")]
    TooLong,
}

/// Assembles replies from control-connection bytes.
#[derive(Debug, Default)]
pub struct ReplyParser {
    /// Received bytes; `buf[start..]` are not yet split into lines.
    buf: Vec<u8>,
    start: usize,
    /// The lines of a multi-line reply read so far, and their size.
    open: Option<(Vec<String>, usize)>,
    failed: Option<ReplyError>,
}

impl ReplyParser {
    /// An empty parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes as they came from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete reply, `None` when more bytes are needed.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        // Each pass consumes one buffered line, so the loop ends with the buffer.
        while let Some(line) = self.take_line() {
            let size = line.len() + 2;
            let prefix = code_prefix(&line);
            let text = String::from_utf8_lossy(&line).into_owned();
            match self.open.take() {
                None if line.is_empty() => {} // a stray blank line between replies
                None => match prefix {
                    Some((code, false)) => return Ok(Some(Reply { code, lines: vec![text] })),
                    Some((_, true)) => self.open = Some((vec![text], size)),
                    None => return Err(self.fail(ReplyError::BadLine(text.chars().take(80).collect()))),
                },
                Some((mut lines, total)) => {
                    let total = total + size;
                    if total > MAX_REPLY_BYTES {
                        return Err(self.fail(ReplyError::TooLong));
                    }
                    lines.push(text);
                    if let Some((code, false)) = prefix {
                        return Ok(Some(Reply { code, lines }));
                    }
                    self.open = Some((lines, total));
                }
            }
        }
        let pending = self.open.as_ref().map_or(0, |(_, total)| *total) + self.buf.len() - self.start;
        if pending > MAX_REPLY_BYTES {
            return Err(self.fail(ReplyError::TooLong));
        }
        Ok(None)
    }

    /// Whether nothing is buffered beyond the replies already returned.
    pub fn is_empty(&self) -> bool {
        self.start == self.buf.len() && self.open.is_none()
    }

    /// Replies already complete in the buffer, dropped (after an abandoned transfer).
    pub fn discard_complete(&mut self) -> Vec<Reply> {
        let mut dropped = Vec::new();
        while let Ok(Some(reply)) = self.next_reply() {
            dropped.push(reply);
        }
        dropped
    }

    fn fail(&mut self, e: ReplyError) -> ReplyError {
        self.failed = Some(e.clone());
        self.buf = Vec::new();
        self.start = 0;
        self.open = None;
        e
    }

    /// The next LF-terminated line without its line end (a CR before the LF is dropped).
    fn take_line(&mut self) -> Option<Vec<u8>> {
        let rest = &self.buf[self.start..];
        let lf = rest.iter().position(|&b| b == b'\n')?;
        let mut line = rest[..lf].to_vec();
        self.start += lf + 1;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }
}

/// The code of a line starting `DDD`, and whether it continues (`DDD-`) rather than ends
/// (`DDD ` or exactly `DDD`) a reply. `None` for any other line.
fn code_prefix(line: &[u8]) -> Option<(u16, bool)> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None | Some(b' ') => Some((code, false)),
        Some(b'-') => Some((code, true)),
        Some(_) => None,
    }
}

fn strip_code(line: &str) -> &str {
    match code_prefix(line.as_bytes()) {
        Some(_) => line.get(4..).unwrap_or(""),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(bytes: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut p = ReplyParser::new();
        p.push(bytes);
        let mut out = Vec::new();
        while let Some(r) = p.next_reply()? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn single_line_replies() {
        let r = parse_all(b"220 Service ready\r\n331 Password please\r\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].code, 220);
        assert_eq!(r[0].text(), "Service ready");
        assert_eq!(r[1].lines, vec!["331 Password please"]);
    }

    #[test]
    fn bare_code_and_bare_lf() {
        let r = parse_all(b"200\n226 \r\n").unwrap();
        assert_eq!((r[0].code, r[0].text()), (200, String::new()));
        assert_eq!((r[1].code, r[1].text()), (226, String::new()));
    }

    #[test]
    fn multi_line_reply_keeps_raw_lines() {
        // Any `DDD ` line ends a reply (the mismatched-terminal tolerance), so an unpadded
        // middle line starting with a code ends it early; RFC 959 makes servers pad them.
        let r = parse_all(b"211-Features:\r\n EPSV\r\n213 unpadded\r\n\r\n211 End\r\n").unwrap();
        assert_eq!(r[0].code, 213);
        assert_eq!(r[0].lines, vec!["211-Features:", " EPSV", "213 unpadded"]);
        assert_eq!(r[1].code, 211);
        let r = parse_all(b"230-Welcome\r\n  to here\r\n\r\n230 Logged in\r\n").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, 230);
        assert_eq!(r[0].text(), "Welcome\n  to here\n\nLogged in");
    }

    #[test]
    fn glftpd_mismatched_terminal_code() {
        let r = parse_all(b"553-\r\n553- Directory excluded (precheck).\r\n150 Opening BINARY mode\r\n").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, 150);
        assert_eq!(r[0].lines.len(), 3);
    }

    #[test]
    fn replies_split_across_pushes() {
        let mut p = ReplyParser::new();
        for chunk in [&b"22"[..], b"0-a\r", b"\n22", b"0 b\r\n2", b"00 ok\r\n"] {
            p.push(chunk);
        }
        assert_eq!(p.next_reply().unwrap().unwrap().lines, vec!["220-a", "220 b"]);
        assert_eq!(p.next_reply().unwrap().unwrap().code, 200);
        assert_eq!(p.next_reply().unwrap(), None);
        p.push(b"250 do");
        assert_eq!(p.next_reply().unwrap(), None);
        p.push(b"ne\r\n");
        assert_eq!(p.next_reply().unwrap().unwrap().text(), "done");
    }

    #[test]
    fn garbage_is_malformed_and_sticky() {
        let mut p = ReplyParser::new();
        p.push(b"hello world\r\n200 ok\r\n");
        assert!(matches!(p.next_reply(), Err(ReplyError::BadLine(_))));
        assert!(matches!(p.next_reply(), Err(ReplyError::BadLine(_))));
        assert!(matches!(parse_all(b"2000 x\r\n"), Err(ReplyError::BadLine(_))));
        assert!(matches!(parse_all(b"12\r\n"), Err(ReplyError::BadLine(_))));
    }

    #[test]
    fn overlong_reply_fails_without_a_line_end() {
        let mut p = ReplyParser::new();
        p.push(b"220 ");
        let chunk = vec![b'x'; 64 * 1024];
        let mut result = Ok(None);
        for _ in 0..8 {
            p.push(&chunk);
            result = p.next_reply();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ReplyError::TooLong));
    }

    #[test]
    fn overlong_multi_line_reply_fails() {
        let mut p = ReplyParser::new();
        p.push(b"211-start\r\n");
        let mut result = Ok(None);
        for _ in 0..40_000 {
            p.push(b" a line of ten\r\n");
            result = p.next_reply();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ReplyError::TooLong));
    }

    #[test]
    fn stou_names() {
        let r = |s: &str| Reply { code: 150, lines: s.lines().map(str::to_string).collect() };
        assert_eq!(r("150 FILE: abc.1").stou_file_name().as_deref(), Some("abc.1"));
        assert_eq!(r("150-FILE: x\n150 Opening").stou_file_name().as_deref(), Some("x"));
        assert_eq!(r("150 0c8f-uuid").stou_file_name().as_deref(), Some("0c8f-uuid"));
        assert_eq!(r("150").stou_file_name(), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..32)) {
            let mut p = ReplyParser::new();
            for c in &chunks {
                p.push(c);
                for _ in 0..chunks.len() * 64 + 1 {
                    match p.next_reply() {
                        Ok(Some(r)) => { prop_assert!(!r.lines.is_empty()); let _ = r.text(); let _ = r.stou_file_name(); }
                        _ => break,
                    }
                }
            }
        }

        #[test]
        fn well_formed_replies_round_trip(code in 100u16..600, lines in proptest::collection::vec("[a-z ]{0,20}", 0..5)) {
            let mut wire = String::new();
            if lines.is_empty() {
                wire.push_str(&format!("{code} last\r\n"));
            } else {
                wire.push_str(&format!("{code}-first\r\n"));
                for l in &lines { wire.push_str(&format!(" {l}\r\n")); }
                wire.push_str(&format!("{code} last\r\n"));
            }
            let r = parse_all(wire.as_bytes()).unwrap();
            prop_assert_eq!(r.len(), 1);
            prop_assert_eq!(r[0].code, code);
            prop_assert_eq!(r[0].lines.len(), if lines.is_empty() { 1 } else { lines.len() + 2 });
        }
    }
}
