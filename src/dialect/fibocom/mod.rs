//! The Fibocom L610 (UNISOC 8910): its identification, the `AT+MIPCALL` bearer of its own
//! TCP/IP stack, and its FTP dialect, where one `AT+FTPOPEN` login holds a session that every
//! later command runs in (L610-FTP; `docs/l610.md`). The services are the ones the
//! SIMCom families use: the FTP client's held session, the net layer.
//!
//! Choices where the sources are silent, documented in detail next to each command:
//! - Power-on: echo on, `AT+CMEE=0`, a 1024-character command line (the UNISOC reference
//!   configuration); no boot URCs.
//! - While the SIM waits for its PIN (`identity.sim_pin`), every form of the FTP commands and
//!   of `AT+MIPCALL` and of the socket commands (`AT+MIP*`) is CME 11 ("SIM PIN required";
//!   L610-FTP marks the FTP commands "Pin Restricted"; the sockets need the network as well).
//! - An unknown command is `ERROR`; a form a command does not have is CME 4 ("operation not
//!   supported"), a bad parameter CME 50 ("Incorrect parameters"): plain `ERROR` with
//!   `AT+CMEE=0`, as always.

mod cme;
mod ftp;
mod general;
mod mip;
mod mipcall;

use std::sync::Arc;

use vmodem_at::v250::{SRegister, V250};
use vmodem_at::{Command, Failure, Limits, Reply, Response, Settings, v250};

use super::cellular::{self, Cellular, PdpContext, Radio};
use super::clock::{self, Clock, Timekeeping};
use super::data_call::{self, DataCall};
use super::sms::{self, Messaging, Sms};
use super::{Ctx, Io, Machine, Service, table};
use crate::config::ModuleConfig;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::sms::centre::Incoming;

/// One L610.
#[derive(Debug)]
pub struct Fibocom {
    config: Arc<ModuleConfig>,
    radio: Radio,
    /// `AT+CGDCONT` contexts.
    contexts: Vec<PdpContext>,
    call: mipcall::Call,
    /// The packet data call (`ATD*99#`), apart from the `AT+MIPCALL` bearer.
    data_call: data_call::Call,
    ftp: ftp::Ftp,
    mip: mip::Mip,
    sms: Sms,
    clock: Clock,
}

/// A command of the L610's tables.
const fn cmd(name: &'static str) -> table::Entry<Fibocom> {
    table::Entry::new(name)
}

/// The shared 27.007 network commands, as the L610 has them.
const CELLULAR: &[table::Entry<Fibocom>] = &cellular::commands::<Fibocom>();

/// The 27.005 short message commands, as the L610 has them.
const SMS: &[table::Entry<Fibocom>] = &sms::commands::<Fibocom>();
/// `AT+CCLK`.
const CLOCK: &[table::Entry<Fibocom>] = &clock::commands::<Fibocom>();

/// The packet data call: `ATD*99#`, `AT+CGDATA`, `ATO`, `ATH`.
const DATA_CALL: &[table::Entry<Fibocom>] = &data_call::commands::<Fibocom>();

/// The command tables, searched in order.
const TABLES: &[&[table::Entry<Fibocom>]] = &[
    general::COMMANDS,
    CELLULAR,
    DATA_CALL,
    mipcall::COMMANDS,
    ftp::SESSION,
    ftp::COMMANDS,
    ftp::DATA,
    ftp::UPLOAD,
    ftp::BUFFER,
    ftp::PUT,
    mip::COMMANDS,
    SMS,
    CLOCK,
];

/// The rates `AT+IPR` takes (UNISOC 8910).
const IPR_RATES: &[u32] = &[0, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200, 230400, 460800, 921600];

/// The V.250 answers of the UNISOC AT engine.
const V250_ROW: V250 = V250 {
    ipr_test: "+IPR: (0,2400,4800,9600,14400,19200,28800,38400,57600,115200,230400,460800,921600)",
    ipr_rates: IPR_RATES,
    ifc_test: "+IFC: (0,2),(0,2)",
    icf_test: "+ICF: (1-6),(0-3)",
    icf_formats: (1, 6),
    cmee_test: "+CMEE: (0-2)",
    s_registers: &[
        SRegister { number: 0, min: 0, max: 255, test: "S0: (0-255)" },
        SRegister { number: 3, min: 0, max: 127, test: "S3: (0-127)" },
        SRegister { number: 4, min: 0, max: 127, test: "S4: (0-127)" },
        SRegister { number: 5, min: 0, max: 127, test: "S5: (0-127)" },
    ],
    bad_value: Failure::Cme(cme::BAD_PARAMETERS),
};

/// Power-on line settings (the UNISOC reference defaults are SIMCom's too).
const SETTINGS: Settings = crate::dialect::POWER_ON;

impl Fibocom {
    /// An L610, powered on.
    pub fn new(config: Arc<ModuleConfig>) -> Self {
        Fibocom {
            radio: Radio::new(&config.identity),
            contexts: PdpContext::power_on(&config.network.apn),
            call: mipcall::Call::default(),
            data_call: data_call::Call::default(),
            ftp: ftp::Ftp::default(),
            mip: mip::Mip::default(),
            sms: Sms::new(&config, &sms::L610),
            clock: Clock::default(),
            config,
        }
    }
}

impl DataCall for Fibocom {
    fn call(&mut self) -> &mut data_call::Call {
        &mut self.data_call
    }

    fn call_ref(&self) -> &data_call::Call {
        &self.data_call
    }

    fn call_profile(&self) -> data_call::CallProfile {
        data_call::L610
    }
}

impl Cellular for Fibocom {
    fn radio(&self) -> &Radio {
        &self.radio
    }

    fn radio_mut(&mut self) -> &mut Radio {
        &mut self.radio
    }

    fn config(&self) -> &ModuleConfig {
        &self.config
    }

    fn contexts(&mut self) -> &mut Vec<PdpContext> {
        &mut self.contexts
    }

    fn bad(&self) -> Failure {
        Failure::Cme(cme::BAD_PARAMETERS)
    }

    fn cmux_profile(&self) -> &'static crate::dialect::multiplex::CmuxProfile {
        &crate::dialect::multiplex::GSM
    }

    fn csq_read(&self) -> bool {
        true
    }

    /// Losing registration takes the call (and the FTP session over it) down.
    fn registration(&mut self, registered: bool, io: &mut Io) {
        if !registered {
            self.call_lost(io);
        }
    }
}

impl Timekeeping for Fibocom {
    fn clock(&mut self) -> &mut Clock {
        &mut self.clock
    }
}

impl Messaging for Fibocom {
    fn messages(&mut self) -> &mut Sms {
        &mut self.sms
    }
}

impl Machine for Fibocom {
    /// The services, one row each.
    const SERVICES: &'static [Service<Self>] =
        &[ftp::SERVICE, mip::SERVICE, sms::service::<Fibocom>(), data_call::service::<Fibocom>()];

    fn line(&self) -> (Settings, Limits) {
        (SETTINGS, Limits { line_chars: 1024, commands: 39 })
    }

    fn boot(&mut self, io: &mut Io) {
        self.clock = Clock::power_on(io.now);
    }

    fn reset(&mut self) {
        // The messages are on the SIM and in flash: they outlive a power cycle.
        let mut messages = std::mem::replace(&mut self.sms, Sms::new(&self.config, &sms::L610));
        sms::reset(&mut messages);
        *self = Fibocom::new(self.config.clone());
        self.sms = messages;
    }

    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        if let Some(reply) = v250::execute(&V250_ROW, cmd, rsp) {
            return reply;
        }
        if self.radio.pin_locked && (cmd.name.starts_with("+FTP") || cmd.name.starts_with("+MIP")) {
            return Reply::Error(Failure::Cme(cme::SIM_PIN_REQUIRED));
        }
        if self.ftp_refuses(cmd) {
            return Reply::Error(Failure::Cme(cme::WRONG_STATE));
        }
        match table::find(TABLES, &cmd.name) {
            Some(entry) => {
                entry.run(self, cmd, &mut Ctx { rsp, io }).unwrap_or(Reply::Error(Failure::Cme(cme::NOT_SUPPORTED)))
            }
            None => Reply::Error(Failure::Plain),
        }
    }

    fn network(&mut self, event: NetworkEvent, io: &mut Io) {
        match event {
            NetworkEvent::ReleaseBearers => self.call_lost(io),
            NetworkEvent::LoseRegistration => cellular::set_coverage(self, false, io),
            NetworkEvent::Register => cellular::set_coverage(self, true, io),
            NetworkEvent::Signal(rssi) => crate::dialect::cellular::Cellular::radio_mut(self).rssi = Some(rssi),
        }
    }

    fn sms(&mut self, incoming: Incoming, io: &mut Io) {
        sms::arrived(self, incoming, io);
    }

    fn number(&self) -> &str {
        &self.config.identity.number
    }

    fn attachment(&self) -> crate::dialect::Attachment {
        let ip = self.call.active().then_some(self.config.network.ip);
        crate::dialect::Attachment { registered: self.registered(), ip, rssi: cellular::signal(self) }
    }

    fn cme_text(&self, code: u16) -> Option<&'static str> {
        cme::text(code)
    }

    fn malformed(&self) -> Failure {
        Failure::Cme(cme::BAD_PARAMETERS)
    }

    fn redact(&self, cmd: &Command) -> String {
        super::secrets::redact(Family::L610, cmd)
    }
}
