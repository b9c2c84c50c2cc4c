//! Modem families. A dialect is a command table plus the family's state machines and result
//! codes. It is IO-free: it never opens a socket or reads a clock. It answers commands through
//! the line layer's [`Response`], asks for work through [`Io::request`], hears back through
//! [`Dialect::event`], and names the next moment it wants to be woken ([`Dialect::deadline`]).

pub mod args;
pub mod cellular;
pub mod fibocom;
pub mod secrets;
pub mod simcom;
pub mod stream;
mod table;

use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, DataPhase, Failure, Limits, Reply, Response, Settings};

use crate::config::ModemConfig;
use crate::service::fs::ModuleFs;
use crate::service::{Event, JobId, Request};

pub use table::{Ctx, Entry, Handler, Outcome};

/// Something the emulated cellular network does on its own, that a family reports in its
/// own way (a fault plan or a test asks for it; a host cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkEvent {
    /// The network releases the packet-data contexts: `+SAPBR 1: DEACT`, `+APP PDP: 0,DEACTIVE`,
    /// `+MIPCALL: 0`, and the sessions over them fail. Registration stays.
    ReleaseBearers,
    /// The cell goes out of reach: registration is lost (`+CREG: 2` and the like where the
    /// host asked for them) and the bearers with it.
    LoseRegistration,
    /// The cell is back: the module registers again (`+CREG: 1`); bearers stay closed until the
    /// host opens them.
    Register,
}

impl std::str::FromStr for NetworkEvent {
    type Err = String;

    /// The names transcripts and fault plans use: `release`, `deregister`, `register`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "release" => Ok(NetworkEvent::ReleaseBearers),
            "deregister" => Ok(NetworkEvent::LoseRegistration),
            "register" => Ok(NetworkEvent::Register),
            other => Err(format!("unknown network event {other:?} (known: release, deregister, register)")),
        }
    }
}

/// One modem family's behaviour.
pub trait Dialect: Send {
    /// The settings the line starts with and the family's line limits.
    fn line(&self) -> (Settings, Limits);

    /// Power-on: the boot URCs (`RDY`, `+CFUN: 1`, ...). Also called after a reset.
    fn boot(&mut self, io: &mut Io);

    /// Forgets all state a power cycle clears (sessions, bearers); jobs are cancelled by the
    /// modem.
    fn reset(&mut self);

    /// Runs one command.
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>, io: &mut Io) -> Reply;

    /// Takes payload bytes of a data phase the last command opened.
    fn data(&mut self, payload: &[u8]);

    /// Ends a data phase: every byte arrived, or the input timer ran out.
    fn data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply;

    /// A service job reported progress or its end.
    fn event(&mut self, event: Event, io: &mut Io);

    /// The next moment [`tick`](Dialect::tick) should run, if any.
    fn deadline(&self) -> Option<Instant>;

    /// The clock reached [`deadline`](Dialect::deadline).
    fn tick(&mut self, io: &mut Io);

    /// The verbose text of an error code (AT+CMEE=2).
    fn cme_text(&self, code: u16) -> Option<&'static str>;

    /// The failure a malformed command gets.
    fn malformed(&self) -> Failure;

    /// The command as it may appear in logs: secrets (passwords) masked.
    fn redact(&self, cmd: &Command) -> String;

    /// The network did something on its own.
    fn network(&mut self, event: NetworkEvent, io: &mut Io);

    /// Finishes the command that answered [`Reply::Pending`] (after [`Io::resume`]): what it
    /// prints, and its result. Families without such commands never get here.
    fn resume(&mut self, _rsp: &mut Response<'_>, _io: &mut Io) -> Reply {
        Reply::Ok
    }

    /// Whether host input must wait: a data phase's bytes have nowhere to go until a service
    /// drains them (an `AT+FTPETPUT` stream faster than the server). The modem stops reading
    /// the line meanwhile, as a module drops CTS.
    fn input_paused(&self) -> bool {
        false
    }
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

/// The names `--dialect` accepts.
pub const NAMES: &[&str] = &["sim7080", "sim7070", "sim7090", "sim7000", "sim800", "sim900", "l610"];

/// Why a dialect could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No family has that name.
    #[error("unknown dialect {0:?} (known: {names})", names = NAMES.join(", "))]
    Unknown(String),
    /// The module file system could not be opened.
    #[error("module file system: {0}")]
    Fs(#[from] std::io::Error),
    /// The HTTPS trust store (`[http] trusted_ca`) could not be read.
    #[error("{0}: {1}")]
    TrustedCa(std::path::PathBuf, std::io::Error),
}

/// Builds the dialect called `name`, with the module file system `config` names.
pub fn by_name(name: &str, config: &ModemConfig) -> Result<Box<dyn Dialect>, BuildError> {
    if name.eq_ignore_ascii_case("l610") {
        return Ok(Box::new(fibocom::Fibocom::new(config)));
    }
    let profile = simcom::Profile::by_name(name).ok_or_else(|| BuildError::Unknown(name.into()))?;
    let fs = match &config.fs.root {
        Some(root) => ModuleFs::open(root, config.fs.quota)?,
        None => ModuleFs::temporary(config.fs.quota)?,
    };
    let trusted_ca = match &config.http.trusted_ca {
        Some(path) => std::fs::read(path).map_err(|e| BuildError::TrustedCa(path.clone(), e))?,
        None => Vec::new(),
    };
    Ok(Box::new(simcom::Simcom::new(profile, config, fs, trusted_ca)))
}

/// Output that is not part of a command's response.
#[derive(Debug)]
pub enum Unsolicited {
    /// A URC, framed as the line settings say.
    Urc(Vec<u8>),
    /// Stream bytes, sent as they are.
    Raw(Vec<u8>),
}

/// What a dialect hands back to the modem while handling a command or an event.
#[derive(Debug)]
pub struct Io {
    /// Now, as the modem's clock says (tokio time, so tests can pause it).
    pub now: Instant,
    /// Stream bytes ([`Io::raw`]) waiting in the line behind a response when this context was
    /// made: a dialect streaming to the host holds back while this is large. (Bytes raised in
    /// this context go out at once if no response is in progress, so they do not count.)
    pub backlog: usize,
    urcs: Vec<Unsolicited>,
    requests: Vec<Request>,
    data_timer: Option<DataTimer>,
    open_data: Option<DataPhase>,
    resume: bool,
    reboot: bool,
}

/// When a data phase gives up on a host that stopped sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataTimer {
    /// The whole phase must be done by then (`AT+FTPPUT=2,<n>`, `AT+CFSWFILE`).
    By(Instant),
    /// Each byte must come within this of the one before (a stream of unknown length).
    Idle(Duration),
}

impl Io {
    /// A context at `now` with nothing in it.
    pub fn new(now: Instant, backlog: usize) -> Self {
        Io {
            now,
            backlog,
            urcs: Vec::new(),
            requests: Vec::new(),
            data_timer: None,
            open_data: None,
            resume: false,
            reboot: false,
        }
    }

    /// Queues an unsolicited result code (sent after the current response, if any).
    pub fn urc(&mut self, text: impl Into<Vec<u8>>) {
        self.urcs.push(Unsolicited::Urc(text.into()));
    }

    /// Queues stream bytes sent exactly as given, in order with the URCs (the data of
    /// `AT+FTPETGET`).
    pub fn raw(&mut self, bytes: impl Into<Vec<u8>>) {
        self.urcs.push(Unsolicited::Raw(bytes.into()));
    }

    /// Asks the modem to start or cancel a service job.
    pub fn request(&mut self, request: Request) {
        self.requests.push(request);
    }

    /// Cancels a job (its task is stopped; no further events arrive for it).
    pub fn cancel(&mut self, job: JobId) {
        self.requests.push(Request::Cancel(job));
    }

    /// The data phase just opened must complete by `deadline`, or it ends incomplete.
    pub fn data_deadline(&mut self, deadline: Instant) {
        self.data_timer = Some(DataTimer::By(deadline));
    }

    /// From now on the data phase in progress ends incomplete once the host sends nothing for
    /// `idle`.
    pub fn data_idle(&mut self, idle: Duration) {
        self.data_timer = Some(DataTimer::Idle(idle));
    }

    /// Opens a data phase without a command once the URCs queued so far are out (the L610's
    /// online data mode after `+FTPSTOR: 2`): the host's bytes go to [`Dialect::data`] until
    /// [`Dialect::data_end`], whose reply is not printed.
    pub fn open_data(&mut self, phase: DataPhase) {
        self.open_data = Some(phase);
    }

    /// Takes the data phase asked for with [`Io::open_data`].
    pub fn take_open_data(&mut self) -> Option<DataPhase> {
        self.open_data.take()
    }

    /// The command that answered [`Reply::Pending`] can finish now: the modem calls
    /// [`Dialect::resume`] for its result.
    pub fn resume(&mut self) {
        self.resume = true;
    }

    /// Whether [`Io::resume`] was asked for (and clears the request).
    pub fn take_resume(&mut self) -> bool {
        std::mem::take(&mut self.resume)
    }

    /// The module restarts after the current command (`AT+CFUN=1,1`).
    pub fn reboot(&mut self) {
        self.reboot = true;
    }

    /// Takes the queued URCs and stream bytes, in order.
    pub fn take_urcs(&mut self) -> Vec<Unsolicited> {
        std::mem::take(&mut self.urcs)
    }

    /// Takes the requested jobs.
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.requests)
    }

    /// Takes the data-phase timer set since the last call.
    pub fn take_data_timer(&mut self) -> Option<DataTimer> {
        self.data_timer.take()
    }

    /// Whether a reboot was asked for (and clears the request).
    pub fn take_reboot(&mut self) -> bool {
        std::mem::take(&mut self.reboot)
    }
}
