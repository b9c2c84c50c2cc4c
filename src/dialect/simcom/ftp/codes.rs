//! SIMCom FTP `<code>`s for service failures (M7080 §15.2.14 error table; the same codes serve
//! FTPGET, FTPPUT, FTPLIST and the one-shot commands).
//!
//! | failure | code |
//! | --- | --- |
//! | control connection lost mid-session, socket error | 61 net error |
//! | host name does not resolve | 62 DNS error |
//! | connection refused or unreachable | 63 connect error |
//! | no reply, connect or data within the timers | 64 timeout |
//! | the server refused the session (greeting not 220, or 421 at any step) | 65 server error |
//! | a path with CR or LF | 66 operation not allowed |
//! | a reply that is not FTP | 70 reply error |
//! | USER refused (530 after USER) | 71 user error |
//! | PASS refused (530 after PASS) | 72 password error |
//! | TYPE refused | 73 type error |
//! | REST refused | 74 rest error |
//! | EPSV and PASV refused, or the passive data connection failed | 75 passive error |
//! | PORT/EPRT refused, or the server never connected back | 76 active error |
//! | the operation itself refused (RETR, STOR, DELE, SIZE, MKD, ... 4xx/5xx) | 77 operate error |
//! | an upload broke after it started | 78 upload error |
//! | a download broke after it started | 79 download error |
//! | the RAM buffer or file system a download goes to is full or failed | 79 download error |
//! | a TLS handshake failed, on the control or a data connection (a rejected certificate too) | 90 SSL connect error |
//! | the server sent a fatal TLS alert | 91 SSL alert error |
//! | AUTH TLS refused (anything but 234) | 92 AUTH error |
//! | PBSZ refused | 93 PBSZ error |
//! | PROT refused; in an FTPS session also PORT/EPRT refused | 94 (the manual's "PORT error") |
//!
//! The SIM7080 table has no file-system code, so a download whose destination refuses the
//! bytes is a download error there; the SIM800's `AT+FTPGETTOFS` has one, 85.
//!
//! A 421 is 65 at every step, AUTH, PBSZ and PROT included: the server is going away, whatever
//! it was asked. A TLS handshake that times out is 64, like every timeout.

use super::session::Kind;
use crate::net::NetError;
use crate::service::ftp::{FtpError, Step, TransferFault};

/// The code a failed session of `kind` reports; `ftps` says the session was FTPS
/// (`AT+FTPSSL` 1 or 2), where a refused PORT/EPRT is 94 rather than 76.
pub fn code(err: &FtpError, kind: Kind, ftps: bool) -> u8 {
    match err {
        FtpError::Net(NetError::Dns(_)) => 62,
        FtpError::Net(NetError::Refused(_) | NetError::Unreachable(_)) => 63,
        FtpError::Net(NetError::Timeout(_)) | FtpError::Timeout(_) => 64,
        FtpError::Net(NetError::Io(_)) | FtpError::ControlClosed | FtpError::Io(_) => 61,
        FtpError::Rejected { reply, .. } if reply.code == 421 => 65,
        FtpError::Rejected { step, .. } => match step {
            Step::Greeting => 65,
            Step::User => 71,
            Step::Pass => 72,
            Step::Type => 73,
            Step::Rest => 74,
            Step::Epsv | Step::Pasv => 75,
            Step::Port | Step::Eprt if ftps => 94,
            Step::Port | Step::Eprt => 76,
            Step::Auth => 92,
            Step::Pbsz => 93,
            Step::Prot => 94,
            _ => 77,
        },
        // A decision: the modules report a certificate they reject as a failed handshake
        // (no code of their own exists for it), so an untrusted, expired or misnamed
        // certificate is 90 like any other handshake failure.
        FtpError::TlsHandshake { .. } => 90,
        FtpError::TlsAlert { .. } => 91,
        FtpError::DataConnect { passive: true, .. } => 75,
        FtpError::DataConnect { passive: false, .. } => 76,
        // A data connection that stalls past the idle timer is a timeout like the others.
        FtpError::TransferBroken { fault: TransferFault::Stalled, .. } => 64,
        FtpError::TransferBroken { .. } => match kind {
            Kind::Put | Kind::EtPut | Kind::PutFromFs => 78,
            _ => 79,
        },
        FtpError::Malformed(_) => 70,
        FtpError::InvalidArgument(_) => 66,
        FtpError::Sink(_) if kind == Kind::GetToFs => super::filesystem::FS_ERROR,
        FtpError::Sink(_) => 79,
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use rustls::{AlertDescription, CertificateError};

    use super::*;
    use crate::service::ftp::{Channel, HandshakeFailure, Reply};

    fn refused(step: Step, code: u16) -> FtpError {
        FtpError::Rejected { step, reply: Reply { code, lines: vec![format!("{code} no")] } }
    }

    #[test]
    fn ftps_failures() {
        let bad_cert = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let handshake = FtpError::TlsHandshake { channel: Channel::Control, failure: HandshakeFailure::Tls(bad_cert) };
        assert_eq!(code(&handshake, Kind::Get, false), 90);
        let lost = HandshakeFailure::Io(io::ErrorKind::UnexpectedEof.into());
        assert_eq!(code(&FtpError::TlsHandshake { channel: Channel::Data, failure: lost }, Kind::Put, false), 90);
        let alert = FtpError::TlsAlert { channel: Channel::Data, alert: AlertDescription::HandshakeFailure };
        assert_eq!(code(&alert, Kind::Get, false), 91);
        assert_eq!(code(&refused(Step::Auth, 534), Kind::Get, false), 92);
        assert_eq!(code(&refused(Step::Auth, 500), Kind::Put, false), 92);
        assert_eq!(code(&refused(Step::Auth, 421), Kind::Get, false), 65);
        assert_eq!(code(&refused(Step::Pbsz, 501), Kind::Get, false), 93);
        assert_eq!(code(&refused(Step::Prot, 536), Kind::Get, false), 94);
        assert_eq!(code(&FtpError::Timeout(Step::Handshake), Kind::Get, false), 64);
    }

    #[test]
    fn a_stalled_transfer_is_a_timeout_a_broken_one_is_not() {
        let stalled = |step| FtpError::TransferBroken { step, fault: TransferFault::Stalled };
        assert_eq!(code(&stalled(Step::Retr), Kind::Get, false), 64);
        assert_eq!(code(&stalled(Step::Stor), Kind::Put, false), 64);
        let reset = FtpError::TransferBroken {
            step: Step::Retr,
            fault: TransferFault::Data(io::ErrorKind::ConnectionReset.into()),
        };
        assert_eq!(code(&reset, Kind::Get, false), 79);
    }

    #[test]
    fn a_refused_port_is_94_only_in_an_ftps_session() {
        assert_eq!(code(&refused(Step::Port, 500), Kind::Get, false), 76);
        assert_eq!(code(&refused(Step::Port, 500), Kind::Get, true), 94);
        assert_eq!(code(&refused(Step::Eprt, 522), Kind::Put, true), 94);
        assert_eq!(code(&refused(Step::Pasv, 500), Kind::Get, true), 75);
    }
}
