//! The SIMCom dialect: SIM7080 and its siblings SIM7070 and SIM7090, SIM7000, SIM800 and
//! SIM900. One set of handlers serves every family; a [`Profile`] row holds what differs,
//! down to which command tables the family has.

mod bearer;
mod ca;
mod cfs;
mod cip;
mod cme;
mod ftp;
mod general;
mod gprs;
mod http;
mod ntp;
mod profile;
mod sapbr;
mod ssl;
mod switches;

use std::sync::Arc;

use vmodem_at::{Command, Failure, Limits, Reply, Response, Settings, v250};

use super::{Ctx, Io, Machine, Service, table};
use crate::config::ModuleConfig;
use crate::dialect::clock::{self, Clock, Timekeeping};
use crate::dialect::data_call::{self, Call, DataCall};
use crate::dialect::sms::{self, Messaging, Sms};
use crate::network::NetworkEvent;
use crate::service::fs::ModuleFs;
use crate::sms::centre::Incoming;

pub use profile::{Bearer, ExtGet, FtpProfile, Profile};

/// One SIMCom modem.
#[derive(Debug)]
pub struct Simcom {
    profile: &'static Profile,
    config: Arc<ModuleConfig>,
    radio: crate::dialect::cellular::Radio,
    bearers: bearer::Bearers,
    sapbr: sapbr::Sapbr,
    gprs: gprs::Gprs,
    ftp: ftp::Ftp,
    cfs: cfs::Cfs,
    ssl: ssl::Ssl,
    http: http::Http,
    cip: cip::Cip,
    ca: ca::Ca,
    switches: switches::Switches,
    sms: Sms,
    clock: Clock,
    ntp: ntp::Ntp,
    call: Call,
    /// The built-in HTTPS trust store (`[http] trusted_ca`).
    trusted_ca: Vec<u8>,
}

/// A command of a SIMCom table (`cmd("+FTPPORT").test("+FTPPORT: (1-65535)")...`).
const fn cmd(name: &'static str) -> table::Entry<Simcom> {
    table::Entry::new(name)
}

/// The shared 27.007 network commands, as the SIMCom families have them.
const CELLULAR: &[table::Entry<Simcom>] = &crate::dialect::cellular::commands::<Simcom>();

/// The 27.005 short message commands and the clock.
const SMS: &[table::Entry<Simcom>] = &sms::commands::<Simcom>();
/// `AT+CCLK`.
const CLOCK: &[table::Entry<Simcom>] = &clock::commands::<Simcom>();
/// The packet data call: `ATD*99#`, `AT+CGDATA`, `ATO`, `ATH`.
const DATA_CALL: &[table::Entry<Simcom>] = &data_call::commands::<Simcom>();

/// The SIM7080's (and SIM7070's, SIM7090's) command tables, searched in order.
const SIM7080_TABLES: &[&[table::Entry<Simcom>]] = &[
    general::COMMANDS,
    CELLULAR,
    DATA_CALL,
    bearer::PACKET,
    bearer::APP_NETWORK,
    ftp::PARAMS,
    ftp::SESSION,
    ftp::EXTENDED,
    ftp::TRANSPARENT,
    cfs::COMMANDS,
    ssl::COMMANDS,
    switches::COMMANDS,
    ca::COMMANDS,
    SMS,
    CLOCK,
    ntp::COMMANDS,
];

/// The SIM7000's.
const SIM7000_TABLES: &[&[table::Entry<Simcom>]] = &[
    general::COMMANDS,
    CELLULAR,
    DATA_CALL,
    bearer::PACKET,
    bearer::APP_NETWORK,
    sapbr::COMMANDS,
    gprs::COMMANDS,
    cip::COMMANDS,
    switches::COMMANDS,
    http::COMMANDS,
    ftp::PARAMS,
    ftp::SESSION,
    ftp::EXTENDED,
    ftp::TRANSPARENT,
    cfs::COMMANDS,
    ssl::COMMANDS,
    ca::COMMANDS,
    SMS,
    CLOCK,
    ntp::COMMANDS,
];

/// The SIM800's and SIM900's.
const GSM_TABLES: &[&[table::Entry<Simcom>]] = &[
    general::COMMANDS,
    CELLULAR,
    DATA_CALL,
    general::GSM_IDENTITY,
    bearer::PACKET,
    sapbr::COMMANDS,
    gprs::COMMANDS,
    cip::COMMANDS,
    switches::COMMANDS,
    http::COMMANDS,
    ftp::PARAMS,
    ftp::SESSION,
    ftp::EXTENDED,
    ftp::FILE_SYSTEM,
    SMS,
    CLOCK,
    ntp::COMMANDS,
];

impl Simcom {
    /// A modem of the `profile` family, powered on, with its file system and the CA
    /// certificates its HTTPS trusts (PEM; empty for none).
    pub fn new(profile: &'static Profile, config: Arc<ModuleConfig>, fs: ModuleFs, trusted_ca: Vec<u8>) -> Self {
        Simcom {
            profile,
            radio: crate::dialect::cellular::Radio::new(&config.identity),
            bearers: bearer::Bearers::new(&config.network.apn),
            sapbr: sapbr::Sapbr::default(),
            gprs: gprs::Gprs::default(),
            ftp: ftp::Ftp::new(profile),
            cfs: cfs::Cfs::new(fs),
            ssl: ssl::Ssl::default(),
            http: http::Http::default(),
            cip: cip::Cip::default(),
            ca: ca::Ca::default(),
            switches: switches::Switches::default(),
            sms: Sms::new(&config, profile.sms),
            clock: Clock::default(),
            ntp: ntp::Ntp::default(),
            call: Call::default(),
            trusted_ca,
            config,
        }
    }

    /// Whether the bearer an application's CID names is up: a `AT+CNACT` context or a
    /// `AT+SAPBR` profile, as the family has it.
    fn bearer_up(&self, cid: u8) -> bool {
        match self.profile.bearer {
            Bearer::AppContexts => self.bearers.app_active(cid),
            Bearer::Sapbr => self.sapbr.open(cid),
        }
    }
}

/// The short message service's row.
const SMS_SERVICE: Service<Simcom> = sms::service::<Simcom>();
/// The packet data call's row.
const CALL_SERVICE: Service<Simcom> = data_call::service::<Simcom>();

impl DataCall for Simcom {
    fn call(&mut self) -> &mut Call {
        &mut self.call
    }

    fn call_ref(&self) -> &Call {
        &self.call
    }

    fn call_profile(&self) -> data_call::CallProfile {
        self.profile.call
    }

    /// Transparent mode's connection (SIM800 manual §2.2.13), where the family has it.
    fn other_online(&mut self, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> crate::dialect::Outcome {
        if self.profile.cip_links == 0 {
            return Err(Failure::Plain);
        }
        cip::ato(self, cmd, ctx)
    }
}

impl Timekeeping for Simcom {
    fn clock(&mut self) -> &mut Clock {
        &mut self.clock
    }
}

impl Messaging for Simcom {
    fn messages(&mut self) -> &mut Sms {
        &mut self.sms
    }
}

impl Machine for Simcom {
    /// The services, one row each.
    const SERVICES: &'static [Service<Self>] = &[
        ftp::SERVICE,
        ftp::BUFFER,
        http::SERVICE,
        cfs::SERVICE,
        cip::SERVICE,
        ca::SERVICE,
        SMS_SERVICE,
        ntp::SERVICE,
        CALL_SERVICE,
    ];

    fn line(&self) -> (Settings, Limits) {
        (self.profile.settings, self.profile.limits)
    }

    fn boot(&mut self, io: &mut Io) {
        self.clock = Clock::power_on(io.now);
        for urc in self.profile.boot {
            io.urc(*urc);
        }
    }

    fn reset(&mut self) {
        // The file system is the module's flash, the messages are on the SIM and in flash:
        // they outlive a power cycle.
        let fs = self.cfs.fs().clone();
        let trusted_ca = std::mem::take(&mut self.trusted_ca);
        let mut messages = std::mem::replace(&mut self.sms, Sms::new(&self.config, self.profile.sms));
        sms::reset(&mut messages);
        *self = Simcom::new(self.profile, self.config.clone(), fs, trusted_ca);
        self.sms = messages;
    }

    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        if let Some(reply) = v250::execute(&self.profile.v250, cmd, rsp) {
            return reply;
        }
        let entry = table::find(self.profile.tables, &cmd.name).filter(|_| self.profile.has(&cmd.name));
        match entry {
            Some(entry) => entry.run(self, cmd, &mut Ctx { rsp, io }).unwrap_or(Reply::Error(Failure::Plain)),
            None => Reply::Error(self.profile.unknown),
        }
    }

    fn network(&mut self, event: NetworkEvent, io: &mut Io) {
        match event {
            NetworkEvent::ReleaseBearers => self.network_lost(io),
            NetworkEvent::LoseRegistration => crate::dialect::cellular::set_coverage(self, false, io),
            NetworkEvent::Register => crate::dialect::cellular::set_coverage(self, true, io),
            NetworkEvent::Signal(rssi) => crate::dialect::cellular::Cellular::radio_mut(self).rssi = Some(rssi),
        }
    }

    fn sms(&mut self, incoming: Incoming, io: &mut Io) {
        sms::arrived(self, incoming, io);
    }

    fn number(&self) -> &str {
        &self.config.identity.number
    }

    fn fs(&self) -> Option<&ModuleFs> {
        Some(self.cfs.fs())
    }

    fn attachment(&self) -> crate::dialect::Attachment {
        crate::dialect::Attachment {
            registered: crate::dialect::cellular::Cellular::registered(self),
            ip: self.bearer_ip(),
            rssi: crate::dialect::cellular::signal(self),
        }
    }

    fn cme_text(&self, code: u16) -> Option<&'static str> {
        cme::text(code)
    }

    fn malformed(&self) -> Failure {
        Failure::Plain
    }

    fn redact(&self, cmd: &Command) -> String {
        super::secrets::redact(self.profile.family, cmd)
    }
}
