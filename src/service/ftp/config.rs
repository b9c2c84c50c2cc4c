//! What an FTP session needs to know before it connects: server, login, data mode, timeouts,
//! TLS (FTPS), and an optional hook that sees every command and reply line (Fibocom prints
//! them).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::service::tls::{TlsConfigError, TlsSettings};

/// How data connections are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    /// The client connects to the server (EPSV, falling back to PASV).
    #[default]
    Passive,
    /// The server connects to the client (PORT on IPv4, EPRT on IPv6).
    Active,
}

/// How an FTPS session starts TLS on its control connection (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpsMode {
    /// Connect in clear text, then `AUTH TLS` (answered with 234) and the handshake, before
    /// `USER` (SIMCom `AT+FTPSSL=2`).
    Explicit,
    /// The handshake right after the TCP connection, before the 220 greeting; usually port
    /// 990 (SIMCom `AT+FTPSSL=1`).
    Implicit,
}

/// TLS for one FTP session: the control connection and, after `PBSZ 0` and `PROT P`, every
/// data connection (passive and active: vmodem is the TLS client either way), all with the
/// same configuration and server name.
///
/// [`FtpSession::connect`](super::FtpSession::connect) gives each session a fresh copy of the
/// configuration's session store, so one `FtpTls` may serve many sessions.
#[derive(Debug, Clone)]
pub struct FtpTls {
    /// Explicit or implicit.
    pub mode: FtpsMode,
    /// The rustls configuration (CA list, client certificate, versions).
    pub config: Arc<ClientConfig>,
    /// The name sent in SNI and checked against the server's certificate.
    pub server_name: ServerName<'static>,
}

impl FtpTls {
    /// TLS from an SSL context's settings for a session with `host`.
    pub fn new(mode: FtpsMode, settings: &TlsSettings, host: &str) -> Result<FtpTls, TlsConfigError> {
        Ok(FtpTls { mode, config: settings.client_config()?, server_name: settings.server_name(host)? })
    }
}

/// How long each kind of wait may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FtpTimeouts {
    /// Opening the control connection, and the TLS handshake on it (FTPS).
    pub connect: Duration,
    /// Any reply from the server (75 s: the longest response time SIMCom documents).
    pub reply: Duration,
    /// Opening or accepting a data connection, and the TLS handshake on it (FTPS).
    pub data_connect: Duration,
    /// A data connection on which no byte moves.
    pub idle: Duration,
}

impl Default for FtpTimeouts {
    fn default() -> Self {
        FtpTimeouts {
            connect: Duration::from_secs(30),
            reply: Duration::from_secs(75),
            data_connect: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// Which way a traced line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A command vmodem sent.
    Sent,
    /// A reply line the server sent.
    Received,
}

/// One line of the control conversation, as a trace hook sees it (passwords masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// Sent or received.
    pub direction: Direction,
    /// The line without its line end.
    pub text: String,
}

/// Called with every command sent and every reply line received. It runs inside the session's
/// IO, so it must return quickly.
pub type TraceHook = Arc<dyn Fn(TraceLine) + Send + Sync>;

/// Everything one FTP session needs.
#[derive(Clone)]
pub struct FtpConfig {
    /// Server host name or IP address.
    pub host: String,
    /// Server control port.
    pub port: u16,
    /// Login name.
    pub user: String,
    /// Password; never logged or traced.
    pub password: String,
    /// Passive or active data connections.
    pub mode: DataMode,
    /// `TYPE A` with line-end conversion of file contents, rather than `TYPE I`.
    pub ascii: bool,
    /// Timeouts.
    pub timeouts: FtpTimeouts,
    /// Sees every command and reply line.
    pub trace: Option<TraceHook>,
    /// FTPS: TLS on the control and data connections; `None` is plain FTP.
    pub tls: Option<FtpTls>,
}

impl FtpConfig {
    /// A binary, passive session with default timeouts and no trace.
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>, password: impl Into<String>) -> Self {
        FtpConfig {
            host: host.into(),
            port,
            user: user.into(),
            password: password.into(),
            mode: DataMode::Passive,
            ascii: false,
            timeouts: FtpTimeouts::default(),
            trace: None,
            tls: None,
        }
    }
}

impl fmt::Debug for FtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"****")
            .field("mode", &self.mode)
            .field("ascii", &self.ascii)
            .field("timeouts", &self.timeouts)
            .field("trace", &self.trace.is_some())
            .field("tls", &self.tls.as_ref().map(|tls| tls.mode))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_password() {
        let text = format!("{:?}", FtpConfig::new("h", 21, "u", "Secr3t!"));
        assert!(!text.contains("Secr3t!"), "{text}");
        assert!(text.contains("****"));
    }
}
