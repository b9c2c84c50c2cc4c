//! SIMCom FTP: the parameter commands, the one-session-at-a-time state machine, and the mapping
//! of service failures to the family's `<code>`s.

mod codes;
mod extended;
mod filesystem;
mod params;
mod session;
mod transparent;

pub(super) use extended::COMMANDS as EXTENDED;
pub(super) use filesystem::COMMANDS as FILE_SYSTEM;
pub(super) use params::COMMANDS as PARAMS;
pub use params::Params;

use super::Simcom;
use crate::dialect::{Owner, Service};
pub(super) use session::COMMANDS as SESSION;
pub(super) use transparent::COMMANDS as TRANSPARENT;

/// The FTP application's service: its sessions' jobs, the data phases of `AT+FTPPUT=2` and
/// `AT+FTPETPUT=2`, the unread-data and stream timers.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::Ftp)
    .events(Simcom::ftp_event)
    .data(|s, payload| s.ftp.data(payload), |s, end, _, _| s.ftp.data_end(end))
    .timer(Simcom::ftp_deadline, Simcom::ftp_tick)
    .paused(|s| s.ftp.input_paused())
    .bearer_lost(Simcom::ftp_bearer_lost);

/// The RAM buffer `AT+FTPEXTPUT=2` loads: its data phases.
pub(super) const BUFFER: Service<Simcom> =
    Service::new(Owner::FtpBuffer).data(|s, payload| s.ftp.ext.data(payload), |s, end, _, _| s.ftp.ext.data_end(end));

/// The FTP state of one SIMCom modem.
#[derive(Debug)]
pub struct Ftp {
    /// The values set with `AT+FTPSERV` and friends.
    pub params: Params,
    session: Option<session::Session>,
    ext: extended::Extended,
}

impl Ftp {
    /// Power-on state for a family.
    pub fn new(profile: &super::Profile) -> Self {
        Ftp {
            params: Params::new(profile.ftp.cid_default, profile.ftp.mode_default),
            session: None,
            ext: extended::Extended::default(),
        }
    }
}
