//! SIMCom FTP `<code>`s for service failures (manual 15.2.14 error table; the same codes serve
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
//!
//! The SIM7080 table has no file-system code (the SIM800's 85 is not in it), so a download
//! whose destination refuses the bytes is a download error.

use super::session::Kind;
use crate::net::NetError;
use crate::service::ftp::{FtpError, Step};

/// The code a failed session of `kind` reports.
pub fn code(err: &FtpError, kind: Kind) -> u8 {
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
            Step::Port | Step::Eprt => 76,
            _ => 77,
        },
        FtpError::DataConnect { passive: true, .. } => 75,
        FtpError::DataConnect { passive: false, .. } => 76,
        FtpError::TransferBroken { .. } => match kind {
            Kind::Put => 78,
            _ => 79,
        },
        FtpError::Malformed(_) => 70,
        FtpError::InvalidArgument(_) => 66,
        FtpError::Sink(_) => 79,
    }
}
