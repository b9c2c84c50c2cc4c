//! [`Io`]: what a dialect hands back to the modem while it handles a command, an event, a
//! timer or the network. A dialect never acts on the world itself: it queues URCs and stream
//! bytes, asks for jobs to start, be fed or stop, opens and times data phases, and says who
//! owns each of them; the modem core carries it all out after the call.

use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{DataPhase, Reply};

use super::Owner;
use crate::service::{Input, JobId, Request};

/// Output that is not part of a command's response.
#[derive(Debug)]
pub enum Unsolicited {
    /// A URC, framed as the line settings say.
    Urc(Vec<u8>),
    /// Stream bytes, sent as they are.
    Raw(Vec<u8>),
}

/// What the modem is to do with a service job.
// An order moves once from the dialect to the driver: boxing the large variant would save
// nothing worth an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Order {
    /// Start `request` as job `job`; its events go to `owner`.
    Start {
        /// The new job's id.
        job: JobId,
        /// The service of the dialect that gets its events.
        owner: Owner,
        /// What to do.
        request: Request,
    },
    /// Give a running job more input (a held session's next piece of work).
    Feed {
        /// The job.
        job: JobId,
        /// What it gets.
        input: Input,
    },
    /// Stop a job; no further events of it reach the dialect.
    Cancel {
        /// The job.
        job: JobId,
    },
}

/// When a data phase gives up on a host that stopped sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataTimer {
    /// The whole phase must be done by then (`AT+FTPPUT=2,<n>`, `AT+CFSWFILE`).
    By(Instant),
    /// Each byte must come within this of the one before (a stream of unknown length).
    Idle(Duration),
}

/// The modem context of one dialect call. See the module docs.
#[derive(Debug)]
pub struct Io {
    /// Now, as the modem's clock says (the core is given the time; tests drive it).
    pub now: Instant,
    /// The network's time at `now` (Unix seconds, UTC), if the driver gave the core one.
    pub utc: Option<i64>,
    /// Stream bytes ([`Io::raw`]) waiting in the line behind a response when this context was
    /// made: a dialect streaming to the host holds back while this is large. (Bytes raised in
    /// this context go out at once if no response is in progress, so they do not count.)
    pub backlog: usize,
    next_job: JobId,
    urcs: Vec<Unsolicited>,
    orders: Vec<Order>,
    data_timer: Option<DataTimer>,
    owner: Option<Owner>,
    open_data: Option<(Owner, DataPhase)>,
    resume: bool,
    reboot: bool,
    multiplex: Option<usize>,
}

impl Io {
    /// A context at `now` with nothing in it; the next job started gets `next_job`.
    pub fn new(now: Instant, backlog: usize, next_job: JobId) -> Self {
        Io {
            now,
            utc: None,
            backlog,
            next_job,
            urcs: Vec::new(),
            orders: Vec::new(),
            data_timer: None,
            owner: None,
            open_data: None,
            resume: false,
            reboot: false,
            multiplex: None,
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

    /// Starts a service job whose events go to `owner`; returns its id.
    pub fn start(&mut self, owner: Owner, request: impl Into<Request>) -> JobId {
        let job = self.next_job;
        self.next_job += 1;
        self.orders.push(Order::Start { job, owner, request: request.into() });
        job
    }

    /// Gives a running job more input.
    pub fn feed(&mut self, job: JobId, input: impl Into<Input>) {
        self.orders.push(Order::Feed { job, input: input.into() });
    }

    /// Cancels a job (its task is stopped; no further events arrive for it).
    pub fn cancel(&mut self, job: JobId) {
        self.orders.push(Order::Cancel { job });
    }

    /// The reply of a command that opens a data phase owned by `owner`: the host's bytes go
    /// to that service until the phase ends.
    pub fn data(&mut self, owner: Owner, phase: DataPhase) -> Reply {
        self.owner = Some(owner);
        Reply::Data(phase)
    }

    /// The reply of a command whose result `owner` gives later (through [`Io::resume`]).
    pub fn pending(&mut self, owner: Owner) -> Reply {
        self.owner = Some(owner);
        Reply::Pending
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

    /// Opens a data phase owned by `owner` without a command, once the URCs queued so far are
    /// out (the L610's online data mode after `+FTPSTOR: 2`): the host's bytes go to `owner`
    /// until the phase ends, and its end prints no result code.
    pub fn open_data(&mut self, owner: Owner, phase: DataPhase) {
        self.open_data = Some((owner, phase));
    }

    /// The pending command ([`Io::pending`]) can finish now: the modem asks its owner for
    /// its result.
    pub fn resume(&mut self) {
        self.resume = true;
    }

    /// The module restarts after the current command (`AT+CFUN=1,1`).
    pub fn reboot(&mut self) {
        self.reboot = true;
    }

    /// The line becomes a 27.010 multiplexer once the current command's result has gone out
    /// (`AT+CMUX`); the modem's frames carry at most `n1` octets of information each.
    pub fn multiplex(&mut self, n1: usize) {
        self.multiplex = Some(n1);
    }

    /// The id the next job started in a later context gets.
    pub fn next_job(&self) -> JobId {
        self.next_job
    }

    /// Takes the queued URCs and stream bytes, in order.
    pub fn take_urcs(&mut self) -> Vec<Unsolicited> {
        std::mem::take(&mut self.urcs)
    }

    /// Takes the job orders, in order.
    pub fn take_orders(&mut self) -> Vec<Order> {
        std::mem::take(&mut self.orders)
    }

    /// Takes the data-phase timer set since the last call.
    pub fn take_data_timer(&mut self) -> Option<DataTimer> {
        self.data_timer.take()
    }

    /// Takes the owner a command's [`Io::data`] or [`Io::pending`] named.
    pub fn take_owner(&mut self) -> Option<Owner> {
        self.owner.take()
    }

    /// Takes the data phase asked for with [`Io::open_data`].
    pub fn take_open_data(&mut self) -> Option<(Owner, DataPhase)> {
        self.open_data.take()
    }

    /// Whether [`Io::resume`] was asked for (and clears the request).
    pub fn take_resume(&mut self) -> bool {
        std::mem::take(&mut self.resume)
    }

    /// The N1 of a multiplexer asked for with [`Io::multiplex`] (and clears the request).
    pub fn take_multiplex(&mut self) -> Option<usize> {
        self.multiplex.take()
    }

    /// Whether a reboot was asked for (and clears the request).
    pub fn take_reboot(&mut self) -> bool {
        std::mem::take(&mut self.reboot)
    }
}
