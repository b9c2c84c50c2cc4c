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
pub(super) use session::COMMANDS as SESSION;
pub(super) use transparent::COMMANDS as TRANSPARENT;

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
