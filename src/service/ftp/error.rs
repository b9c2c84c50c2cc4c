//! What can go wrong in an FTP session, classified once here so that every modem family maps
//! the same value to its own result codes (SIMCom `+FTPGET: 1,<n>`, Fibocom `+FTPGET:<n>`).

use std::fmt;
use std::io;

use super::reply::Reply;
use crate::net::NetError;

/// The phase or command a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Opening the control connection.
    Connect,
    /// The server's 220 greeting.
    Greeting,
    /// `USER`: the login name.
    User,
    /// `PASS`: the password.
    Pass,
    /// `TYPE A` / `TYPE I`.
    Type,
    /// `REST`: the restart offset.
    Rest,
    /// `EPSV`: extended passive mode.
    Epsv,
    /// `PASV`: passive mode.
    Pasv,
    /// `PORT`: active mode, IPv4.
    Port,
    /// `EPRT`: active mode, IPv6.
    Eprt,
    /// `RETR`: download.
    Retr,
    /// `STOR`: upload.
    Stor,
    /// `APPE`: append.
    Appe,
    /// `STOU`: upload under a unique name.
    Stou,
    /// `LIST`: directory listing.
    List,
    /// `NLST`: name listing.
    Nlst,
    /// `MLSD`: machine listing.
    Mlsd,
    /// `SIZE`: file size.
    Size,
    /// `MDTM`: modification time.
    Mdtm,
    /// `DELE`: delete a file.
    Dele,
    /// `MKD`: make a directory.
    Mkd,
    /// `RMD`: remove a directory.
    Rmd,
    /// `RNFR`: rename from.
    Rnfr,
    /// `RNTO`: rename to.
    Rnto,
    /// `CWD`: change directory.
    Cwd,
    /// `CDUP`: parent directory.
    Cdup,
    /// `PWD`: current directory.
    Pwd,
    /// `SYST`: system type.
    Syst,
    /// `STAT`: status.
    Stat,
    /// `NOOP`: keep-alive.
    Noop,
    /// `QUIT`: log out.
    Quit,
    /// A command sent through [`FtpSession::command`](super::FtpSession::command).
    Other,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Connect => f.write_str("connect"),
            Step::Greeting => f.write_str("greeting"),
            Step::Other => f.write_str("command"),
            other => f.write_str(&format!("{other:?}").to_ascii_uppercase()),
        }
    }
}

/// How a transfer that had started went wrong.
#[derive(Debug, thiserror::Error)]
pub enum TransferFault {
    /// No byte moved on the data connection for longer than the idle timeout.
    #[error("the data connection stalled")]
    Stalled,
    /// The data connection failed (reset, broken pipe).
    #[error("data connection failed: {0}")]
    Data(io::Error),
    /// The server's final reply was not a success (426, 451, 552, ...).
    #[error("server ended the transfer with {0}")]
    Reply(Reply),
}

/// Why a data connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DataConnectCause {
    /// Connecting, listening or accepting failed (a timeout is `NetError::Timeout`).
    #[error(transparent)]
    Net(NetError),
    /// The server could not open it (425 to the transfer command).
    #[error("server answered {0}")]
    Reply(Reply),
}

/// An FTP session failure.
#[derive(Debug, thiserror::Error)]
pub enum FtpError {
    /// The control connection could not be opened (DNS, refused, unreachable, ...).
    #[error("control connection: {0}")]
    Net(NetError),
    /// The server did not answer in time.
    #[error("no answer to {0} in time")]
    Timeout(Step),
    /// The server refused a command or answered it unexpectedly (4xx, 5xx, or a code that
    /// does not fit).
    #[error("{step} rejected: {reply}")]
    Rejected {
        /// The command refused.
        step: Step,
        /// What the server said.
        reply: Reply,
    },
    /// The data connection could not be established.
    #[error("{} data connection failed: {cause}", if *passive { "passive" } else { "active" })]
    DataConnect {
        /// Passive (EPSV/PASV) rather than active (PORT/EPRT) mode.
        passive: bool,
        /// What went wrong.
        cause: DataConnectCause,
    },
    /// The transfer started but did not complete.
    #[error("{step} transfer broken: {fault}")]
    TransferBroken {
        /// The transfer command.
        step: Step,
        /// What went wrong.
        fault: TransferFault,
    },
    /// The server closed the control connection.
    #[error("control connection closed by the server")]
    ControlClosed,
    /// Reading or writing the control connection failed.
    #[error("control connection error: {0}")]
    Io(io::Error),
    /// The server's reply could not be parsed (no code, far too long, bad PASV/SIZE/MDTM
    /// text); the text says which command it answered and what was wrong.
    #[error("unparseable reply: {0}")]
    Malformed(String),
    /// A path or argument cannot be sent (CR or LF in it). Nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Where a download was going refused the bytes: the RAM buffer or the file system is
    /// full, or the file system failed.
    #[error("local destination: {0}")]
    Sink(crate::service::fs::FsError),
}

impl FtpError {
    /// Whether the failure is a timeout of any kind (no answer, a stalled transfer, a
    /// connection attempt that timed out), which modems report with one code.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            FtpError::Timeout(_)
                | FtpError::Net(NetError::Timeout(_))
                | FtpError::TransferBroken { fault: TransferFault::Stalled, .. }
                | FtpError::DataConnect { cause: DataConnectCause::Net(NetError::Timeout(_)), .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_display_as_verbs() {
        assert_eq!(Step::Retr.to_string(), "RETR");
        assert_eq!(Step::Greeting.to_string(), "greeting");
        let e = FtpError::Rejected { step: Step::Pass, reply: Reply { code: 530, lines: vec!["530 No".into()] } };
        assert_eq!(e.to_string(), "PASS rejected: 530 No");
        assert!(FtpError::Timeout(Step::Noop).is_timeout());
        assert!(!FtpError::ControlClosed.is_timeout());
    }
}
