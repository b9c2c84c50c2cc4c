//! The command writer: `VERB arg\r\n`. A CR or LF inside an argument would smuggle a second
//! command onto the control connection, so such arguments are refused before anything is
//! sent. A Telnet IAC byte (0xFF) is doubled, as RFC 959 asks. Traces show `PASS ****`.

use super::error::FtpError;

const IAC: u8 = 0xFF;

/// A validated command, ready to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    verb: &'a str,
    arg: &'a [u8],
}

impl<'a> Command<'a> {
    /// A command; an empty `arg` sends the verb alone. Fails for a verb that is not one
    /// printable ASCII word, or an argument with CR or LF.
    pub fn new(verb: &'a str, arg: &'a [u8]) -> Result<Self, FtpError> {
        if verb.is_empty() || !verb.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FtpError::InvalidArgument(format!("bad FTP verb {verb:?}")));
        }
        if arg.iter().any(|&b| b == b'\r' || b == b'\n') {
            return Err(FtpError::InvalidArgument(format!("CR or LF in the {verb} argument")));
        }
        Ok(Command { verb, arg })
    }

    /// The bytes to send, CRLF included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.verb.len() + self.arg.len() + 3);
        out.extend_from_slice(self.verb.as_bytes());
        if !self.arg.is_empty() {
            out.push(b' ');
            for &b in self.arg {
                out.push(b);
                if b == IAC {
                    out.push(IAC);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The command as a trace shows it: the password of `PASS` masked.
    pub fn trace_text(&self) -> String {
        if self.verb.eq_ignore_ascii_case("PASS") {
            return "PASS ****".to_string();
        }
        if self.arg.is_empty() {
            self.verb.to_string()
        } else {
            format!("{} {}", self.verb, String::from_utf8_lossy(self.arg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_verb_and_argument() {
        assert_eq!(Command::new("RETR", b"a b.txt").unwrap().encode(), b"RETR a b.txt\r\n");
        assert_eq!(Command::new("PASV", b"").unwrap().encode(), b"PASV\r\n");
    }

    #[test]
    fn refuses_cr_and_lf() {
        for arg in [&b"x\r\nDELE y"[..], b"x\n", b"\rx"] {
            assert!(matches!(Command::new("RETR", arg), Err(FtpError::InvalidArgument(_))));
        }
        assert!(matches!(Command::new("RE TR", b""), Err(FtpError::InvalidArgument(_))));
        assert!(matches!(Command::new("", b"x"), Err(FtpError::InvalidArgument(_))));
    }

    #[test]
    fn doubles_iac() {
        assert_eq!(Command::new("STOR", b"a\xffb").unwrap().encode(), b"STOR a\xff\xffb\r\n");
    }

    #[test]
    fn masks_password_in_traces() {
        assert_eq!(Command::new("PASS", b"Secr3t!").unwrap().trace_text(), "PASS ****");
        assert_eq!(Command::new("pass", b"x").unwrap().trace_text(), "PASS ****");
        assert_eq!(Command::new("USER", b"ftptest").unwrap().trace_text(), "USER ftptest");
    }
}
