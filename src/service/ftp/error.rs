//! What can go wrong in an FTP session, classified once here so that every modem family maps
//! the same value to its own result codes (SIMCom `+FTPGET: 1,<n>`, Fibocom `+FTPGET:<n>`).

use std::fmt;
use std::io;

use rustls::AlertDescription;

use super::reply::Reply;
use crate::net::NetError;
pub use crate::service::tls::HandshakeFailure;
pub(crate) use crate::service::tls::rustls_error;

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
    /// `AUTH TLS`: explicit FTPS (RFC 4217).
    Auth,
    /// A TLS handshake, on the control or a data connection.
    Handshake,
    /// `PBSZ 0`: the protection buffer size FTPS requires before PROT.
    Pbsz,
    /// `PROT P`: protected (TLS) data connections.
    Prot,
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
            Step::Handshake => f.write_str("TLS handshake"),
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

/// Which connection of a session a TLS failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The control connection.
    Control,
    /// A data connection.
    Data,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::Control => "control",
            Channel::Data => "data",
        })
    }
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
    /// A TLS handshake failed (FTPS).
    #[error("TLS handshake on the {channel} connection failed: {failure}")]
    TlsHandshake {
        /// The connection it failed on.
        channel: Channel,
        /// What went wrong.
        failure: HandshakeFailure,
    },
    /// The server sent a fatal TLS alert, during a handshake or later (FTPS).
    #[error("the server sent the TLS alert {alert:?} on the {channel} connection")]
    TlsAlert {
        /// The connection it came on.
        channel: Channel,
        /// The alert.
        alert: AlertDescription,
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
    /// Whether the control connection is gone with this failure (closed by the server, or
    /// broken), so the session it carried has ended.
    pub fn loses_control(&self) -> bool {
        matches!(self, FtpError::ControlClosed | FtpError::Io(_))
    }

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

/// Classifies an error from a TLS handshake on `channel`: an alert from the server, rustls'
/// own refusal (a rejected certificate among them), or the connection failing.
pub(crate) fn tls_failure(channel: Channel, e: io::Error) -> FtpError {
    match rustls_error(&e) {
        Some(rustls::Error::AlertReceived(alert)) => FtpError::TlsAlert { channel, alert: *alert },
        Some(err) => FtpError::TlsHandshake { channel, failure: HandshakeFailure::Tls(err.clone()) },
        None => FtpError::TlsHandshake { channel, failure: HandshakeFailure::Io(e) },
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
        assert_eq!(Step::Prot.to_string(), "PROT");
    }

    #[test]
    fn tls_failures_keep_the_rustls_error() {
        let bad_cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let e = tls_failure(Channel::Control, io::Error::new(io::ErrorKind::InvalidData, bad_cert));
        assert!(
            matches!(&e, FtpError::TlsHandshake { channel: Channel::Control, failure } if failure.is_certificate())
        );
        let alert = rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);
        let e = tls_failure(Channel::Data, io::Error::new(io::ErrorKind::InvalidData, alert));
        assert!(matches!(e, FtpError::TlsAlert { channel: Channel::Data, alert: AlertDescription::HandshakeFailure }));
        let e = tls_failure(Channel::Data, io::ErrorKind::UnexpectedEof.into());
        assert!(matches!(&e, FtpError::TlsHandshake { failure: HandshakeFailure::Io(_), .. }));
        assert!(e.to_string().starts_with("TLS handshake on the data connection failed"), "{e}");
    }
}
