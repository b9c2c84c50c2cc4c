//! One logged-in FTP session: connect and log in, transfers, one-shot commands, QUIT.
//!
//! Paths are bytes (`&str`, `String`, `&[u8]` all work): FTP paths need not be UTF-8. An
//! empty path sends a command without an argument (`LIST`, `STAT`, `STOU`). A path with CR or
//! LF is refused before anything is sent.

use std::fmt;

use tokio::time::timeout;

use super::command::Command;
use super::config::{DataMode, FtpConfig, FtpTimeouts, FtpsMode, TraceHook};
use super::control::{Control, SHORT_WAIT};
use super::error::{Channel, FtpError, Step};
use super::reply::Reply;
use super::stream::{FtpStream, SessionTls};
use super::transfer::{Download, Upload};
use crate::net::Net;

/// Preliminary (1xx) greetings accepted before the 220.
const MAX_GREETINGS: usize = 8;

/// How an upload treats the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `STOR`: create or replace.
    Stor,
    /// `APPE`: append (create if missing).
    Appe,
    /// `STOU`: the server picks a unique name and says it in the preliminary reply.
    Stou,
}

/// A logged-in FTP session. Dropping it closes the control connection without QUIT.
pub struct FtpSession {
    pub(super) control: Control,
    pub(super) net: Net,
    pub(super) mode: DataMode,
    pub(super) ascii: bool,
    pub(super) timeouts: FtpTimeouts,
    /// The server rejected EPSV once; use PASV from now on.
    pub(super) epsv_rejected: bool,
    /// The transfer whose final reply has not been read yet.
    pub(super) open: Option<Step>,
    /// FTPS: how data connections are protected (`PROT P` was accepted).
    pub(super) tls: Option<SessionTls>,
}

impl fmt::Debug for FtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FtpSession")
            .field("control", &self.control)
            .field("mode", &self.mode)
            .field("ascii", &self.ascii)
            .field("epsv_rejected", &self.epsv_rejected)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl FtpSession {
    /// Connects, reads the greeting (220, possibly after 120), logs in (USER, then PASS when
    /// asked with 331) and sets `TYPE A` or `TYPE I`.
    ///
    /// With [`FtpConfig::tls`] (FTPS): implicit mode runs the TLS handshake before the
    /// greeting, explicit mode sends `AUTH TLS` after it and runs the handshake on `234`; after
    /// the login, `PBSZ 0` and `PROT P` protect every data connection. The session uses a
    /// fresh TLS session store, shared by its control and data connections.
    pub async fn connect(net: &Net, config: &FtpConfig) -> Result<FtpSession, FtpError> {
        // Refuse unsendable credentials before opening anything.
        Command::new("USER", config.user.as_bytes())?;
        Command::new("PASS", config.password.as_bytes())?;
        let t = config.timeouts;
        let tls = config.tls.as_ref().map(|tls| (tls.mode, SessionTls::new(tls)));
        let stream = match timeout(t.connect, net.connect(&config.host, config.port)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(FtpError::Net(e)),
            Err(_) => return Err(FtpError::Timeout(Step::Connect)),
        };
        let stream = match &tls {
            Some((FtpsMode::Implicit, session_tls)) => {
                session_tls.handshake(stream, Channel::Control, t.connect).await?
            }
            _ => FtpStream::Plain(stream),
        };
        let mut control = Control::new(stream, config.trace.clone(), t.reply);
        greeting(&mut control).await?;
        if let Some((FtpsMode::Explicit, session_tls)) = &tls {
            let reply = control.command(Step::Auth, "AUTH", b"TLS").await?;
            if reply.code != 234 {
                return Err(FtpError::Rejected { step: Step::Auth, reply });
            }
            control = control.secure(session_tls, t.connect).await?;
        }
        let mut session = FtpSession {
            control,
            net: net.clone(),
            mode: config.mode,
            ascii: config.ascii,
            timeouts: t,
            epsv_rejected: false,
            open: None,
            tls: None,
        };
        session.login(&config.user, &config.password).await?;
        if let Some((_, session_tls)) = tls {
            session.expect(Step::Pbsz, "PBSZ", b"0", Reply::is_completion).await?;
            session.expect(Step::Prot, "PROT", b"P", Reply::is_completion).await?;
            session.tls = Some(session_tls);
        }
        let type_arg: &[u8] = if config.ascii { b"A" } else { b"I" };
        session.expect(Step::Type, "TYPE", type_arg, Reply::is_completion).await?;
        Ok(session)
    }

    async fn login(&mut self, user: &str, password: &str) -> Result<(), FtpError> {
        let reply = self.control.command(Step::User, "USER", user.as_bytes()).await?;
        match reply.code {
            230 => return Ok(()),
            331 => {}
            // 332 (an ACCT is needed) and every refusal.
            _ => return Err(FtpError::Rejected { step: Step::User, reply }),
        }
        let reply = self.control.command(Step::Pass, "PASS", password.as_bytes()).await?;
        match reply.code {
            230 | 202 => Ok(()),
            _ => Err(FtpError::Rejected { step: Step::Pass, reply }),
        }
    }

    /// Downloads `path` from byte `offset` (REST when > 0), converting line ends in ASCII mode.
    pub async fn retrieve(&mut self, path: impl AsRef<[u8]>, offset: u64) -> Result<Download, FtpError> {
        let cmd = Command::new("RETR", path.as_ref())?;
        let (data, preliminary) = self.open_transfer(Step::Retr, cmd, offset).await?;
        let whole = offset == 0 && !self.ascii;
        Ok(Download::new(Step::Retr, data, preliminary, self.timeouts.idle, self.ascii, whole))
    }

    /// Uploads to `path` (for STOU, a name hint some servers use; empty sends bare `STOU`),
    /// converting bare LF to CRLF in ASCII mode.
    pub async fn store(&mut self, path: impl AsRef<[u8]>, mode: StoreMode) -> Result<Upload, FtpError> {
        self.store_at(path, mode, 0).await
    }

    /// Like [`store`](Self::store), writing from byte `offset` of the remote file (REST when
    /// > 0; what lies beyond the file's end is the server's to fill, with NULs on Unix).
    pub async fn store_at(&mut self, path: impl AsRef<[u8]>, mode: StoreMode, offset: u64) -> Result<Upload, FtpError> {
        let (step, verb) = match mode {
            StoreMode::Stor => (Step::Stor, "STOR"),
            StoreMode::Appe => (Step::Appe, "APPE"),
            StoreMode::Stou => (Step::Stou, "STOU"),
        };
        let cmd = Command::new(verb, path.as_ref())?;
        let (data, preliminary) = self.open_transfer(step, cmd, offset).await?;
        Ok(Upload::new(step, data, preliminary, self.timeouts.idle, self.ascii))
    }

    /// Switches the transfer type (`TYPE A` for ASCII, `TYPE I` for binary) if it is not
    /// already that.
    pub async fn set_ascii(&mut self, ascii: bool) -> Result<(), FtpError> {
        if self.ascii != ascii {
            let arg: &[u8] = if ascii { b"A" } else { b"I" };
            self.expect(Step::Type, "TYPE", arg, Reply::is_completion).await?;
            self.ascii = ascii;
        }
        Ok(())
    }

    /// Reports every control line to `hook` from now on (or stops, with `None`).
    pub fn set_trace(&mut self, hook: Option<TraceHook>) {
        self.control.set_trace(hook);
    }

    /// Passive or active data connections from the next transfer on.
    pub fn set_mode(&mut self, mode: DataMode) {
        self.mode = mode;
    }

    /// `LIST`: the server's listing of `path`, bytes as sent.
    pub async fn list(&mut self, path: impl AsRef<[u8]>) -> Result<Download, FtpError> {
        self.listing(Step::List, "LIST", path.as_ref()).await
    }

    /// `NLST`: names only, bytes as sent.
    pub async fn nlst(&mut self, path: impl AsRef<[u8]>) -> Result<Download, FtpError> {
        self.listing(Step::Nlst, "NLST", path.as_ref()).await
    }

    /// `MLSD`: machine-readable facts (RFC 3659), bytes as sent.
    pub async fn mlsd(&mut self, path: impl AsRef<[u8]>) -> Result<Download, FtpError> {
        self.listing(Step::Mlsd, "MLSD", path.as_ref()).await
    }

    async fn listing(&mut self, step: Step, verb: &str, path: &[u8]) -> Result<Download, FtpError> {
        let cmd = Command::new(verb, path)?;
        let (data, preliminary) = self.open_transfer(step, cmd, 0).await?;
        Ok(Download::new(step, data, preliminary, self.timeouts.idle, false, false))
    }

    /// `SIZE`: the size of `path` in bytes (in the current TYPE).
    pub async fn size(&mut self, path: impl AsRef<[u8]>) -> Result<u64, FtpError> {
        let reply = self.expect(Step::Size, "SIZE", path.as_ref(), Reply::is_completion).await?;
        reply.text().trim().parse().map_err(|_| malformed(Step::Size, &reply))
    }

    /// `MDTM`: the modification time as 14 digits, `YYYYMMDDHHMMSS` (UTC), fractional seconds
    /// dropped.
    pub async fn mdtm(&mut self, path: impl AsRef<[u8]>) -> Result<String, FtpError> {
        let reply = self.expect(Step::Mdtm, "MDTM", path.as_ref(), Reply::is_completion).await?;
        let text = reply.text();
        let whole = text.trim().split('.').next().unwrap_or_default();
        match whole.len() == 14 && whole.bytes().all(|b| b.is_ascii_digit()) {
            true => Ok(whole.to_string()),
            false => Err(malformed(Step::Mdtm, &reply)),
        }
    }

    /// `DELE`: deletes a file.
    pub async fn dele(&mut self, path: impl AsRef<[u8]>) -> Result<Reply, FtpError> {
        self.expect(Step::Dele, "DELE", path.as_ref(), Reply::is_completion).await
    }

    /// `MKD`: makes a directory.
    pub async fn mkd(&mut self, path: impl AsRef<[u8]>) -> Result<Reply, FtpError> {
        self.expect(Step::Mkd, "MKD", path.as_ref(), Reply::is_completion).await
    }

    /// `RMD`: removes a directory.
    pub async fn rmd(&mut self, path: impl AsRef<[u8]>) -> Result<Reply, FtpError> {
        self.expect(Step::Rmd, "RMD", path.as_ref(), Reply::is_completion).await
    }

    /// `RNFR` then `RNTO`: renames `from` to `to`. Both names are checked before RNFR is sent.
    pub async fn rename(&mut self, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<Reply, FtpError> {
        Command::new("RNTO", to.as_ref())?;
        self.expect(Step::Rnfr, "RNFR", from.as_ref(), Reply::is_intermediate).await?;
        self.expect(Step::Rnto, "RNTO", to.as_ref(), Reply::is_completion).await
    }

    /// `CWD`: changes the working directory.
    pub async fn cwd(&mut self, path: impl AsRef<[u8]>) -> Result<Reply, FtpError> {
        self.expect(Step::Cwd, "CWD", path.as_ref(), Reply::is_completion).await
    }

    /// `CDUP`: goes to the parent directory.
    pub async fn cdup(&mut self) -> Result<Reply, FtpError> {
        self.expect(Step::Cdup, "CDUP", b"", Reply::is_completion).await
    }

    /// `PWD`: the working directory, from the quoted path of the 257 reply (`""` is a quote).
    pub async fn pwd(&mut self) -> Result<String, FtpError> {
        let reply = self.expect(Step::Pwd, "PWD", b"", Reply::is_completion).await?;
        parse_quoted(&reply.text()).ok_or_else(|| malformed(Step::Pwd, &reply))
    }

    /// `SYST`: the system type text (`UNIX Type: L8`).
    pub async fn syst(&mut self) -> Result<String, FtpError> {
        Ok(self.expect(Step::Syst, "SYST", b"", Reply::is_completion).await?.text())
    }

    /// `STAT` (empty path: the session's status) or `STAT path`: the reply's raw lines.
    pub async fn stat(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<String>, FtpError> {
        Ok(self.expect(Step::Stat, "STAT", path.as_ref(), Reply::is_completion).await?.lines)
    }

    /// `NOOP`: checks the connection is alive.
    pub async fn noop(&mut self) -> Result<Reply, FtpError> {
        self.expect(Step::Noop, "NOOP", b"", Reply::is_completion).await
    }

    /// Any other command without a data connection (`FEAT`, `SITE CHMOD 644 f`, ...). Returns
    /// its final reply whatever the code; only IO, timeouts and bad replies are errors.
    pub async fn command(&mut self, verb: &str, arg: impl AsRef<[u8]>) -> Result<Reply, FtpError> {
        self.control.command(Step::Other, verb, arg.as_ref()).await
    }

    /// Logs out: QUIT, a short wait for 221, then the connection closes (with TLS
    /// `close_notify` on FTPS).
    pub async fn quit(mut self) -> Result<(), FtpError> {
        let wait = self.timeouts.reply.min(SHORT_WAIT);
        self.control.send_within(Step::Quit, &Command::new("QUIT", b"")?, wait).await?;
        let reply = self.control.reply_within(Step::Quit, wait).await?;
        self.control.close_notify(wait).await;
        match reply.is_completion() {
            true => Ok(()),
            false => Err(FtpError::Rejected { step: Step::Quit, reply }),
        }
    }

    /// Sends a command and checks its final reply's class.
    async fn expect(&mut self, step: Step, verb: &str, arg: &[u8], ok: fn(&Reply) -> bool) -> Result<Reply, FtpError> {
        let reply = self.control.command(step, verb, arg).await?;
        match ok(&reply) {
            true => Ok(reply),
            false => Err(FtpError::Rejected { step, reply }),
        }
    }
}

/// Reads the greeting: 220, possibly after 1xx replies.
async fn greeting(control: &mut Control) -> Result<(), FtpError> {
    for _ in 0..MAX_GREETINGS {
        let reply = control.reply(Step::Greeting).await?;
        match reply.code {
            220 => return Ok(()),
            100..=199 => continue,
            _ => return Err(FtpError::Rejected { step: Step::Greeting, reply }),
        }
    }
    Err(FtpError::Malformed("greeting: no 220 after repeated 1xx replies".into()))
}

fn malformed(step: Step, reply: &Reply) -> FtpError {
    FtpError::Malformed(format!("{step}: unexpected text in {reply}"))
}

/// The first double-quoted string, with `""` standing for one quote (RFC 959 appendix II).
fn parse_quoted(text: &str) -> Option<String> {
    let mut chars = text[text.find('"')? + 1..].chars().peekable();
    let mut out = String::new();
    // Each pass consumes at least one character.
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
        } else if chars.peek() == Some(&'"') {
            chars.next();
            out.push('"');
        } else {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_paths() {
        assert_eq!(parse_quoted(r#""/home/ftp" is the current directory"#).as_deref(), Some("/home/ftp"));
        assert_eq!(parse_quoted(r#""/a ""b"" c" created"#).as_deref(), Some(r#"/a "b" c"#));
        assert_eq!(parse_quoted(r#""""""#).as_deref(), Some("\""));
        assert_eq!(parse_quoted("/no/quotes"), None);
        assert_eq!(parse_quoted(r#""/unterminated"#), None);
    }
}
