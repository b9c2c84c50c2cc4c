//! Modem families. A dialect is a command table plus the family's state machines and result
//! codes. It is IO-free: it never opens a socket or reads a clock. It answers commands through
//! the line layer's [`Response`], asks for work through [`Io`], hears back through events
//! routed to the service that owns the work ([`Owner`], [`Service`]), and names the next
//! moment each service wants to be woken.
//!
//! A family implements [`Machine`]: its commands, its power-on, its reports of the network,
//! and the list of its services. [`Dialect`], what the modem core drives, follows from it: the
//! routing to services is written once, here.

pub mod args;
pub mod cellular;
pub mod clock;
pub mod data_call;
pub mod fibocom;
mod io;
pub mod multiplex;
pub mod secrets;
mod service;
pub mod simcom;
pub mod sms;
pub mod sockets;
pub mod stream;
mod table;

use std::sync::Arc;

use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, Failure, Limits, Reply, Response, Settings};

use crate::config::ModuleConfig;
use crate::network::NetworkEvent;
use crate::service::fs::ModuleFs;
use crate::service::{Event, JobId};
use crate::sms::centre::Incoming;

pub use io::{DataTimer, Io, Order, Unsolicited};
pub use service::{Owner, Service, expect};
pub use table::{Ctx, Entry, Handler, Outcome};

use service::Routes;

/// One modem family's behaviour, as the modem core drives it. Every [`Machine`] is one.
pub trait Dialect: Send {
    /// The settings the line starts with and the family's line limits.
    fn line(&self) -> (Settings, Limits);

    /// Power-on: the boot URCs (`RDY`, `+CFUN: 1`, ...). Also called after a reset.
    fn boot(&mut self, io: &mut Io);

    /// Forgets all state a power cycle clears (sessions, bearers); jobs are cancelled by the
    /// modem.
    fn reset(&mut self);

    /// Runs one command. A command that opens a data phase or leaves its result pending names
    /// the owner through [`Io::data`] or [`Io::pending`].
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>, io: &mut Io) -> Reply;

    /// Takes payload bytes of the data phase `owner` opened.
    fn data(&mut self, owner: Owner, payload: &[u8]);

    /// Ends the data phase `owner` opened: every byte arrived, or the input timer ran out.
    fn data_end(&mut self, owner: Owner, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply;

    /// Finishes the command `owner` left pending, once `owner` asked for it ([`Io::resume`]):
    /// what it prints, and its result.
    fn resume(&mut self, owner: Owner, rsp: &mut Response<'_>, io: &mut Io) -> Reply;

    /// A job `owner` started reported progress or its end.
    fn event(&mut self, owner: Owner, job: JobId, event: Event, io: &mut Io);

    /// The services' timers: calls `each` with every service that wants [`Dialect::tick`],
    /// and when.
    fn deadlines(&self, each: &mut dyn FnMut(Owner, Instant));

    /// The clock reached `owner`'s deadline.
    fn tick(&mut self, owner: Owner, io: &mut Io);

    /// Whether host input must wait: a data phase's bytes have nowhere to go until a service
    /// drains them (an `AT+FTPETPUT` stream faster than the server). The modem stops reading
    /// the line meanwhile, as a module drops CTS.
    fn input_paused(&self) -> bool;

    /// The network did something on its own.
    fn network(&mut self, event: NetworkEvent, io: &mut Io);

    /// A short message (or a status report) came from the SMS centre.
    fn sms(&mut self, incoming: Incoming, io: &mut Io);

    /// The subscriber's own number, which the SMS centre delivers to.
    fn number(&self) -> &str;

    /// What an observer sees of the network side.
    fn attachment(&self) -> Attachment;

    /// The module file system, if the family has one.
    fn fs(&self) -> Option<&ModuleFs>;

    /// The verbose text of an error code (AT+CMEE=2).
    fn cme_text(&self, code: u16) -> Option<&'static str>;

    /// The failure a malformed command gets.
    fn malformed(&self) -> Failure;

    /// The command as it may appear in logs: secrets (passwords) masked.
    fn redact(&self, cmd: &Command) -> String;
}

/// A family's state machine: what differs between families. The routing of [`Dialect`] is
/// derived from [`Machine::SERVICES`].
pub trait Machine: Send + Sized + 'static {
    /// The family's services, one row each.
    const SERVICES: &'static [Service<Self>];

    /// The settings the line starts with and the family's line limits.
    fn line(&self) -> (Settings, Limits);

    /// Power-on: the boot URCs. Also called after a reset.
    fn boot(&mut self, io: &mut Io);

    /// Forgets all state a power cycle clears.
    fn reset(&mut self);

    /// Runs one command (see [`Dialect::execute`]).
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>, io: &mut Io) -> Reply;

    /// The network did something on its own.
    fn network(&mut self, event: NetworkEvent, io: &mut Io);

    /// A short message (or a status report) came from the SMS centre.
    fn sms(&mut self, incoming: Incoming, io: &mut Io);

    /// The subscriber's own number.
    fn number(&self) -> &str;

    /// The verbose text of an error code (AT+CMEE=2).
    fn cme_text(&self, code: u16) -> Option<&'static str>;

    /// The failure a malformed command gets.
    fn malformed(&self) -> Failure;

    /// The command as it may appear in logs: secrets masked.
    fn redact(&self, cmd: &Command) -> String;

    /// What an observer sees of the network side (the API, the console).
    fn attachment(&self) -> Attachment;

    /// The module file system, if the family has one (the console lists it).
    fn fs(&self) -> Option<&ModuleFs> {
        None
    }

    /// Tells every service that the bearer `cid` went: the sessions over it end.
    fn lose_bearer(&mut self, cid: u8, io: &mut Io) {
        Routes(Self::SERVICES).bearer_lost(self, cid, io);
    }
}

impl<M: Machine> Dialect for M {
    fn line(&self) -> (Settings, Limits) {
        Machine::line(self)
    }

    fn boot(&mut self, io: &mut Io) {
        Machine::boot(self, io);
    }

    fn reset(&mut self) {
        Machine::reset(self);
    }

    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        Machine::execute(self, cmd, rsp, io)
    }

    fn data(&mut self, owner: Owner, payload: &[u8]) {
        Routes(M::SERVICES).data(self, owner, payload);
    }

    fn data_end(&mut self, owner: Owner, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        Routes(M::SERVICES).data_end(self, owner, end, rsp, io)
    }

    fn resume(&mut self, owner: Owner, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        Routes(M::SERVICES).resume(self, owner, rsp, io)
    }

    fn event(&mut self, owner: Owner, job: JobId, event: Event, io: &mut Io) {
        Routes(M::SERVICES).event(self, owner, job, event, io);
    }

    fn deadlines(&self, each: &mut dyn FnMut(Owner, Instant)) {
        Routes(M::SERVICES).deadlines(self, each);
    }

    fn tick(&mut self, owner: Owner, io: &mut Io) {
        Routes(M::SERVICES).tick(self, owner, io);
    }

    fn input_paused(&self) -> bool {
        Routes(M::SERVICES).paused(self)
    }

    fn network(&mut self, event: NetworkEvent, io: &mut Io) {
        Machine::network(self, event, io);
    }

    fn sms(&mut self, incoming: Incoming, io: &mut Io) {
        Machine::sms(self, incoming, io);
    }

    fn number(&self) -> &str {
        Machine::number(self)
    }

    fn attachment(&self) -> Attachment {
        Machine::attachment(self)
    }

    fn fs(&self) -> Option<&ModuleFs> {
        Machine::fs(self)
    }

    fn cme_text(&self, code: u16) -> Option<&'static str> {
        Machine::cme_text(self, code)
    }

    fn malformed(&self) -> Failure {
        Machine::malformed(self)
    }

    fn redact(&self, cmd: &Command) -> String {
        Machine::redact(self, cmd)
    }
}

/// The module's place on the network, as an observer sees it: what `AT+CREG?` and the
/// family's bearer commands would tell a host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    /// Registered on the network.
    pub registered: bool,
    /// The address of the first open bearer (`AT+CNACT`, `AT+SAPBR`, `AT+CIICR`, `AT+MIPCALL`).
    pub ip: Option<std::net::Ipv4Addr>,
    /// The `<rssi>` `AT+CSQ` reports (99 unknown or not registered).
    pub rssi: u8,
}

/// Writes the data prompt `> `, after a line break in verbose mode (TS 27.005 §3.5.1's
/// `<CR><LF><greater_than><space>`, which the SIMCom send commands share).
pub fn prompt(rsp: &mut Response<'_>) {
    let settings = rsp.settings();
    let mut prompt = Vec::with_capacity(4);
    if settings.verbose {
        prompt.extend([settings.s3(), settings.s4()]);
    }
    prompt.extend_from_slice(b"> ");
    rsp.raw(&prompt);
}

/// Power-on line settings the SIMCom and Fibocom modules share: echo on, verbose results,
/// CMEE 0, the V.250 S-register defaults, `&C1 &D1`, 115200 8N1.
pub const POWER_ON: Settings = Settings {
    echo: true,
    verbose: true,
    quiet: false,
    s: [0, 0, 43, b'\r', b'\n', 0x08, 2, 60, 2, 0, 15, 0, 50],
    cmee: vmodem_at::Cmee::Off,
    dte: vmodem_at::Dte { rate: 115_200, format: 3, parity: 3, flow_dce_by_dte: 0, flow_dte_by_dce: 0, dcd: 1, dtr: 1 },
};

/// The text of `code` in a family's `+CME ERROR` table, sorted by code.
pub fn lookup(table: &[(u16, &'static str)], code: u16) -> Option<&'static str> {
    table.binary_search_by_key(&code, |&(c, _)| c).ok().map(|i| table[i].1)
}

/// Why a dialect could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The module file system could not be opened.
    #[error("module file system: {0}")]
    Fs(#[from] std::io::Error),
    /// The HTTPS trust store (`[http] trusted_ca`) could not be read.
    #[error("{0}: {1}")]
    TrustedCa(std::path::PathBuf, std::io::Error),
}

/// Builds the dialect of the module `module` describes, with the file system it names: the
/// SIMCom dialect over the family's profile row, or the Fibocom L610's.
pub fn build(module: Arc<ModuleConfig>) -> Result<Box<dyn Dialect>, BuildError> {
    build_with(module, false)
}

/// Like [`build`], with the module file system created only when first used: a fleet's idle
/// modems leave no folders behind (a folder it cannot use shows as the commands' errors).
pub fn build_deferred(module: Arc<ModuleConfig>) -> Result<Box<dyn Dialect>, BuildError> {
    build_with(module, true)
}

fn build_with(module: Arc<ModuleConfig>, deferred: bool) -> Result<Box<dyn Dialect>, BuildError> {
    let Some(profile) = simcom::Profile::of(module.family) else {
        return Ok(Box::new(fibocom::Fibocom::new(module)));
    };
    let fs = match (&module.fs.root, deferred) {
        (root, true) => ModuleFs::deferred(root.as_deref(), module.fs.quota),
        (Some(root), false) => ModuleFs::open(root, module.fs.quota)?,
        (None, false) => ModuleFs::temporary(module.fs.quota)?,
    };
    let trusted_ca = match &module.http.trusted_ca {
        Some(path) => std::fs::read(path).map_err(|e| BuildError::TrustedCa(path.clone(), e))?,
        None => Vec::new(),
    };
    Ok(Box::new(simcom::Simcom::new(profile, module, fs, trusted_ca)))
}
