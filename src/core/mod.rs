//! The modem core: one modem's line engine, dialect, fault plan and timers, free of IO, in the
//! manner of quinn-proto's `Connection`. It never touches a socket, a task or a clock: it is
//! handed host bytes, job events, the network's acts and the time, and it hands back bytes for
//! the host, orders for jobs and its next deadline. The tokio task in [`crate::modem`] drives
//! it for `vmodem serve` and the tests against real servers; unit tests drive it with virtual
//! time and scripted events.
//!
//! # Driving contract
//!
//! 1. Build it with [`Core::new`]; add the fault plan's modem entries with [`Core::plan`].
//! 2. Call [`Core::power_on`] when the first host connects (the boot URCs, the plan's clock).
//! 3. Feed it, each call with the current time (which never goes backwards):
//!    - [`Core::handle_host_bytes`] with what the host sent, only while [`Core::reads_host`]
//!      (a paused upload stops reading the line, as a module drops CTS);
//!    - [`Core::handle_event`] with a job's event, [`Core::handle_network`],
//!      [`Core::handle_sms`] (what the SMS centre brings for [`Core::number`]) and
//!      [`Core::handle_fault`] with what the outside world asks, only while
//!      [`Core::takes_events`] (a frozen module handles nothing; they wait, in order);
//!    - [`Core::handle_timeout`] once the time given by [`Core::poll_timeout`] has come.
//! 4. After every call, carry out [`Core::poll_order`] until it gives `None` (start, feed or
//!    cancel jobs; an order for a job that has ended is ignored), send what
//!    [`Core::poll_output`] gives to the host (lost if none is connected, as on a UART), and
//!    sleep until [`Core::poll_timeout`].
//!
//! [`Core::set_network_time`] gives it the network's time (the driver's wall clock), which
//! the module's clock takes where the family follows network time.
//! [`Core::set_times`] changes the module's answer and URC times (a link profile's) between
//! calls; [`Core::line_settings`] tells the line's pacer the rate the host set.
//!
//! Events are routed by owner: every job the dialect starts is recorded with the service that
//! asked for it, every data phase and pending command likewise, and each event, host byte or
//! resumption goes to that service. An event of a job that no longer runs (cancelled, or
//! from before a reboot) is dropped with a debug trace.

mod channels;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, Engine, Executor, Failure, ParseError, Reply, Response, Settings};

pub use timers::{Timer, Timers};

use channels::{Channel, ChannelId, Channels, LINE};

use crate::dialect::{Attachment, DataTimer, Dialect, Io, Order, Owner, Unsolicited};
use crate::network::NetworkEvent;
use crate::plan::{Action, Plan, PlanEntry};
use crate::service::{Event, JobId};
use crate::sms::centre::Incoming;

/// The module's own times: how long it takes to answer and to raise a URC (a link profile's
/// `answer_ms` and `urc_ms`; zero for `instant`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModuleTimes {
    /// Output of a command waits this long after the host's bytes.
    pub answer: Duration,
    /// A URC goes out this long after its event.
    pub urc: Duration,
}

/// What the modem has done since it was built, for observers (the API, metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Commands run (each of a line's concatenated commands counts).
    pub commands: u64,
    /// URCs raised (after the fault plan's rules).
    pub urcs: u64,
    /// Faults of the plan that struck.
    pub faults: u64,
    /// Jobs started (transfers, sockets, look-ups, messages).
    pub jobs: u64,
    /// Commands that ended in an error result (`ERROR`, `+CME ERROR`, `+CMS ERROR`).
    pub errors: u64,
}

/// A set of services: those with jobs running. A bit per [`Owner`], so that the driver can
/// publish it after every step without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work(u16);

impl Work {
    /// Whether no service has a job running.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The services, in [`Owner::ALL`]'s order.
    pub fn owners(self) -> impl Iterator<Item = Owner> {
        Owner::ALL.into_iter().enumerate().filter(move |(bit, _)| self.0 & (1 << bit) != 0).map(|(_, o)| o)
    }

    fn with(self, owner: Owner) -> Work {
        let bit = Owner::ALL.iter().position(|o| *o == owner).unwrap_or(0);
        Work(self.0 | 1 << bit)
    }
}

impl serde::Serialize for Work {
    /// The services' names (`["ftp"]`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.owners().map(Owner::name))
    }
}

/// What an observer sees of the modem now ([`Core::status`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// Powered on (a host has connected once).
    pub powered: bool,
    /// Frozen by a fault.
    pub frozen: bool,
    /// Registration and bearer.
    #[serde(flatten)]
    pub attachment: Attachment,
    /// The services with jobs running.
    pub work: Work,
    /// What it has done.
    pub counters: Counters,
}

/// One modem, IO-free. See the module docs for the driving contract.
pub struct Core {
    /// The AT interpreters: the plain line's, or the multiplexer's channels'.
    channels: Channels,
    dialect: Box<dyn Dialect>,
    /// The fault plan's modem side.
    plan: Plan,
    /// Plan entries that start at the first power-on.
    planned: Vec<PlanEntry>,
    powered: bool,
    timers: Timers,
    /// Running jobs and the service each belongs to.
    jobs: HashMap<JobId, Owner>,
    /// The id the next job gets.
    next_job: JobId,
    times: ModuleTimes,
    orders: VecDeque<Order>,
    /// The network's time: Unix seconds at an instant.
    network_time: Option<(Instant, i64)>,
    counters: Counters,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("jobs", &self.jobs).field("timers", &self.timers).finish_non_exhaustive()
    }
}

impl Core {
    /// A powered-off modem speaking `dialect`.
    pub fn new(dialect: Box<dyn Dialect>) -> Self {
        let (settings, limits) = dialect.line();
        Core {
            channels: Channels::new(Engine::new(settings, limits)),
            dialect,
            plan: Plan::default(),
            planned: Vec::new(),
            powered: false,
            timers: Timers::default(),
            jobs: HashMap::new(),
            next_job: 1,
            times: ModuleTimes::default(),
            orders: VecDeque::new(),
            network_time: None,
            counters: Counters::default(),
        }
    }

    /// Follows the fault plan's modem faults and URC rules `entries` from the first power-on
    /// (connection faults belong to the net layer, which the driver owns).
    pub fn plan(&mut self, entries: impl IntoIterator<Item = PlanEntry>) {
        self.planned.extend(entries);
    }

    /// The module's answer and URC times from now on.
    pub fn set_times(&mut self, times: ModuleTimes) {
        self.times = times;
    }

    /// The line's settings (the rate and frame the host set with `AT+IPR`/`AT+ICF`).
    pub fn line_settings(&self) -> &Settings {
        self.channels.line().engine.settings()
    }

    /// Powers the modem on: the boot URCs; at the first power-on the fault plan starts.
    pub fn power_on(&mut self, now: Instant) {
        if !std::mem::replace(&mut self.powered, true) {
            for entry in std::mem::take(&mut self.planned) {
                self.plan.add(entry, now);
            }
        }
        self.boot(now);
        self.settle();
    }

    /// Whether the driver should read the host: not while an upload waits for its service
    /// (the line pauses), always while frozen (a frozen module's UART loses what comes).
    pub fn reads_host(&self) -> bool {
        self.frozen() || !self.dialect.input_paused()
    }

    /// Whether the driver may hand over job events and the outside world's requests: not
    /// while frozen.
    pub fn takes_events(&self) -> bool {
        !self.frozen()
    }

    fn frozen(&self) -> bool {
        self.timers.get(Timer::Thaw).is_some()
    }

    /// Bytes the host sent.
    pub fn handle_host_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if self.frozen() {
            return;
        }
        // Faults that are due strike before bytes that came after their time (a fault set off
        // by a command never loses the race with the host's next line).
        for action in self.plan.due(now) {
            self.strike(action, now);
        }
        if self.frozen() {
            return;
        }
        if self.channels.multiplexed() {
            let (mut data, mut closed) = (Vec::new(), Vec::new());
            self.channels.demultiplex(bytes, &mut data, &mut closed);
            for (id, bytes) in data {
                self.line_input(now, id, &bytes);
            }
            for channel in closed {
                self.channel_closed(now, channel);
            }
        } else {
            self.line_input(now, LINE, bytes);
        }
        // The module takes its time to answer (a link profile's answer time).
        if !self.times.answer.is_zero() && self.channels.has_output() && self.timers.get(Timer::Answer).is_none() {
            self.timers.set(Timer::Answer, Some(now + self.times.answer));
        }
        self.settle();
    }

    /// A channel closed under whatever was in progress on it: its data phase ends incomplete
    /// (a data call hangs up), its output goes nowhere.
    fn channel_closed(&mut self, now: Instant, mut channel: Channel) {
        if !channel.engine.in_data_phase() {
            return;
        }
        let mut io = self.io(now, LINE);
        let mut exec = Exec {
            dialect: self.dialect.as_mut(),
            io: &mut io,
            plan: &mut self.plan,
            urc_delay: self.times.urc,
            owner: &mut channel.owner,
            counters: &mut self.counters,
        };
        channel.engine.line_lost(&mut exec);
        // What it printed went with the channel; the jobs' orders stand.
        io.take_urcs();
        self.apply(io, LINE);
    }

    /// Bytes for the interpreter `id`.
    fn line_input(&mut self, now: Instant, id: ChannelId, bytes: &[u8]) {
        let Some(channel) = self.channels.get(id) else { return };
        if let Some(idle) = channel.data_idle.filter(|_| channel.engine.in_data_phase()) {
            self.timers.set(Timer::DataInput(id), Some(now + idle));
        }
        let mut io = self.io(now, id);
        self.with_line(id, &mut io, |engine, exec| engine.receive(bytes, exec));
        self.apply(io, id);
    }

    /// An event of job `job`: routed to the service that started it.
    pub fn handle_event(&mut self, now: Instant, job: JobId, event: Event) {
        let Some(&owner) = self.jobs.get(&job) else {
            tracing::debug!(target: "vmodem::modem", "job {job} no longer runs: {event:?} dropped");
            return;
        };
        if event.is_final() {
            self.jobs.remove(&job);
        }
        let id = self.channels.of(Some(owner)).unwrap_or(LINE);
        let mut io = self.io(now, id);
        self.dialect.event(owner, job, event, &mut io);
        self.apply(io, id);
        self.settle();
    }

    /// The emulated network did something on its own.
    pub fn handle_network(&mut self, now: Instant, event: NetworkEvent) {
        self.network(event, now);
        self.settle();
    }

    /// The network's time: `utc` (Unix seconds) at `now`. The modem's clock takes it when the
    /// network gives its time (`AT+CLTS=1`); without it, the clock runs from power-on alone.
    pub fn set_network_time(&mut self, now: Instant, utc: i64) {
        self.network_time = Some((now, utc));
    }

    /// A short message or status report from the SMS centre, at `now`.
    pub fn handle_sms(&mut self, now: Instant, incoming: Incoming) {
        let id = self.urc_channel();
        let mut io = self.io(now, id);
        self.dialect.sms(incoming, &mut io);
        self.apply(io, id);
        self.settle();
    }

    /// The module file system, if the family has one (a handle on the same files).
    pub fn fs(&self) -> Option<crate::service::fs::ModuleFs> {
        self.dialect.fs().cloned()
    }

    /// What an observer sees of the modem now.
    pub fn status(&self) -> Status {
        let work = self.jobs.values().fold(Work::default(), |work, owner| work.with(*owner));
        Status {
            powered: self.powered,
            frozen: self.frozen(),
            attachment: self.dialect.attachment(),
            work,
            counters: self.counters,
        }
    }

    /// The subscriber number the SMS centre delivers this modem's messages to.
    pub fn number(&self) -> &str {
        self.dialect.number()
    }

    /// Adds a modem fault or URC rule of the fault plan, striking from `now`.
    pub fn handle_fault(&mut self, now: Instant, entry: PlanEntry) {
        self.plan.add(entry, now);
        self.settle();
    }

    /// Lifts every modem fault and URC rule, and what waits to strike.
    pub fn clear_faults(&mut self) {
        self.plan = Plan::default();
        tracing::info!(target: "vmodem::modem", "faults cleared");
        self.settle();
    }

    /// The time [`Core::poll_timeout`] named has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.due(Timer::Answer, now) {
            self.timers.set(Timer::Answer, None);
        }
        if self.frozen() {
            if self.timers.due(Timer::Thaw, now) {
                tracing::info!(target: "vmodem::modem", "thawed");
                self.timers.set(Timer::Thaw, None);
            }
            return self.settle();
        }
        for id in self.channels.ids() {
            if self.timers.due(Timer::DataInput(id), now) {
                self.timers.set(Timer::DataInput(id), None);
                let mut io = self.io(now, id);
                self.with_line(id, &mut io, |engine, exec| engine.data_timeout(exec));
                self.apply(io, id);
            }
        }
        for owner in self.timers.due_services(now) {
            let id = self.channels.of(Some(owner)).unwrap_or(LINE);
            let mut io = self.io(now, id);
            self.dialect.tick(owner, &mut io);
            self.apply(io, id);
        }
        for urc in self.plan.released(now) {
            self.counters.urcs += 1;
            self.urc(urc);
        }
        for action in self.plan.due(now) {
            self.strike(action, now);
        }
        self.settle();
    }

    /// The next order for the jobs, if any.
    pub fn poll_order(&mut self) -> Option<Order> {
        self.orders.pop_front()
    }

    /// Moves the bytes for the host to the end of `out`, if any may go now (none while the
    /// module's answer time runs); `false` if none did. A driver that clears `out` after
    /// writing it and passes it again lends the core its room: no allocation per response.
    pub fn poll_output(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.channels.has_output() || self.timers.get(Timer::Answer).is_some() {
            return false;
        }
        self.channels.take_output(out);
        true
    }

    /// When [`Core::handle_timeout`] is next due, if ever. While frozen only the thaw and an
    /// answer already worked out count.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let frozen = self.frozen();
        self.timers.earliest(|t| !frozen || matches!(t, Timer::Answer | Timer::Thaw))
    }

    /// A context for one dialect call whose output goes to the interpreter `id`.
    fn io(&self, now: Instant, id: ChannelId) -> Io {
        let backlog = self.channels.get(id).map_or(0, |c| c.engine.raw_backlog());
        let mut io = Io::new(now, backlog, self.next_job);
        io.utc = self.network_time.map(|(at, utc)| utc + now.saturating_duration_since(at).as_secs() as i64);
        io
    }

    /// Runs `f` on the interpreter `id` with the dialect behind it, in the context `io`.
    fn with_line(&mut self, id: ChannelId, io: &mut Io, f: impl FnOnce(&mut Engine, &mut Exec<'_>)) {
        let Some(Channel { engine, owner, .. }) = self.channels.get_mut(id) else { return };
        let mut exec = Exec {
            dialect: self.dialect.as_mut(),
            io,
            plan: &mut self.plan,
            urc_delay: self.times.urc,
            owner,
            counters: &mut self.counters,
        };
        f(engine, &mut exec);
    }

    /// Where URCs go now: the plain line, or a channel of the multiplexer ([`LINE`] while
    /// none is open: nothing reaches the host then).
    fn urc_channel(&self) -> ChannelId {
        self.channels.urc_channel().unwrap_or(LINE)
    }

    /// Queues a URC where URCs go; lost while the multiplexer has no channel open.
    fn urc(&mut self, urc: Vec<u8>) {
        match self.channels.urc_channel().and_then(|id| self.channels.get_mut(id)) {
            Some(channel) => channel.engine.urc(urc),
            None => tracing::debug!(target: "vmodem::cmux", "no channel open: a URC is lost"),
        }
    }

    /// A fault of the plan strikes.
    fn strike(&mut self, action: Action, now: Instant) {
        tracing::info!(target: "vmodem::modem", "fault strikes: {action:?}");
        self.counters.faults += 1;
        match action {
            Action::Network(event) => self.network(event, now),
            Action::Freeze(d) => self.timers.set(Timer::Thaw, Some(now + d)),
            Action::Reboot => self.reboot(now),
        }
    }

    fn network(&mut self, event: NetworkEvent, now: Instant) {
        tracing::info!(target: "vmodem::modem", "network event {event:?}");
        let id = self.urc_channel();
        let mut io = self.io(now, id);
        self.dialect.network(event, &mut io);
        self.apply(io, id);
    }

    fn boot(&mut self, now: Instant) {
        let id = self.urc_channel();
        let mut io = self.io(now, id);
        self.dialect.boot(&mut io);
        self.apply(io, id);
    }

    /// A power cycle: jobs stop, state resets, the boot URCs follow the last response.
    fn reboot(&mut self, now: Instant) {
        tracing::info!(target: "vmodem::modem", "reboot");
        for (job, _) in self.jobs.drain() {
            self.orders.push_back(Order::Cancel { job });
        }
        self.dialect.reset();
        for id in self.channels.ids() {
            self.timers.set(Timer::DataInput(id), None);
        }
        self.channels.reset();
        self.boot(now);
    }

    /// Carries out what the dialect asked for in a call whose output goes to the interpreter
    /// `id`: URCs, stream bytes, job orders, a resumed command, a data phase and its timer,
    /// multiplexing, a reboot.
    fn apply(&mut self, mut io: Io, id: ChannelId) {
        self.next_job = io.next_job();
        for out in io.take_urcs() {
            match out {
                Unsolicited::Urc(urc) => {
                    tracing::debug!(target: "vmodem::at", "urc {}", String::from_utf8_lossy(&urc));
                    if let Some(urc) = self.plan.urc(urc, io.now, self.times.urc) {
                        self.counters.urcs += 1;
                        self.urc(urc);
                    }
                }
                Unsolicited::Raw(bytes) => match self.channels.get_mut(id) {
                    Some(channel) => channel.engine.raw(bytes),
                    None => tracing::debug!(target: "vmodem::cmux", "channel {id} closed: {} bytes lost", bytes.len()),
                },
            }
        }
        for order in io.take_orders() {
            match &order {
                Order::Start { job, owner, .. } => {
                    self.counters.jobs += 1;
                    self.jobs.insert(*job, *owner);
                }
                Order::Feed { job, .. } if !self.jobs.contains_key(job) => {
                    tracing::warn!(target: "vmodem::modem", "input for job {job}, which no longer runs, dropped");
                    continue;
                }
                Order::Feed { .. } => {}
                Order::Cancel { job } => {
                    self.jobs.remove(job);
                }
            }
            self.orders.push_back(order);
        }
        if io.take_resume() {
            self.resume(io.now, id);
        }
        let timer = io.take_data_timer();
        if let Some(channel) = self.channels.get_mut(id) {
            if let Some((owner, phase)) = io.take_open_data() {
                channel.owner = Some(owner);
                channel.engine.open_data(phase);
            }
            let input = match timer {
                Some(DataTimer::By(deadline)) => {
                    channel.data_idle = None;
                    Some(deadline)
                }
                Some(DataTimer::Idle(idle)) => {
                    channel.data_idle = Some(idle);
                    Some(io.now + idle)
                }
                None => self.timers.get(Timer::DataInput(id)),
            };
            if channel.engine.in_data_phase() {
                self.timers.set(Timer::DataInput(id), input);
            } else {
                channel.data_idle = None;
                self.timers.set(Timer::DataInput(id), None);
            }
        }
        if let Some(n1) = io.take_multiplex() {
            self.channels.multiplex(n1);
        }
        if io.take_reboot() {
            self.reboot(io.now);
        }
    }

    /// Finishes the command pending on the interpreter `id`: its owner gives what it prints
    /// and its result.
    fn resume(&mut self, now: Instant, id: ChannelId) {
        let Some(owner) = self.channels.get(id).and_then(|c| c.owner) else {
            tracing::warn!(target: "vmodem::modem", "a resumption with no command pending");
            return;
        };
        let mut next = self.io(now, id);
        self.with_line(id, &mut next, |engine, exec| {
            engine.resume(exec, |exec, rsp| {
                let reply = exec.dialect.resume(owner, rsp, exec.io);
                exec.noted(&reply);
                exec.forward_urcs(rsp);
                reply
            });
        });
        self.apply(next, id);
    }

    /// Names the timers the plan and the services want now.
    fn settle(&mut self) {
        self.timers.set(Timer::Plan, self.plan.deadline());
        self.timers.clear_services();
        let timers = &mut self.timers;
        self.dialect.deadlines(&mut |owner, at| timers.set(Timer::Service(owner), Some(at)));
    }
}

/// The line engine's view of the dialect, with the modem context it needs.
struct Exec<'a> {
    dialect: &'a mut dyn Dialect,
    io: &'a mut Io,
    /// Sees the commands (faults that wait for one) and the URCs (rules).
    plan: &'a mut Plan,
    /// The module's URC time.
    urc_delay: Duration,
    /// The owner of the data phase or pending command in progress.
    owner: &'a mut Option<Owner>,
    counters: &'a mut Counters,
}

impl Exec<'_> {
    /// URCs raised while a command runs queue behind its final result, in order.
    fn forward_urcs(&mut self, rsp: &mut Response<'_>) {
        for out in self.io.take_urcs() {
            match out {
                Unsolicited::Urc(urc) => {
                    if let Some(urc) = self.plan.urc(urc, self.io.now, self.urc_delay) {
                        self.counters.urcs += 1;
                        rsp.urc(urc);
                    }
                }
                Unsolicited::Raw(bytes) => rsp.raw_after(bytes),
            }
        }
    }

    /// Records the owner a reply that opens a data phase or waits named (such a reply without
    /// an owner is a dialect's mistake, traced), and counts errors.
    fn noted(&mut self, reply: &Reply) {
        if matches!(reply, Reply::Error(_)) {
            self.counters.errors += 1;
        }
        match (self.io.take_owner(), reply) {
            (Some(owner), Reply::Data(_) | Reply::Pending) => *self.owner = Some(owner),
            (None, Reply::Data(_) | Reply::Pending) => {
                tracing::warn!(target: "vmodem::modem", "{reply:?} with no owner: its input goes nowhere");
                *self.owner = None;
            }
            _ => {}
        }
    }
}

impl Executor for Exec<'_> {
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
        tracing::debug!(target: "vmodem::at", "AT{}", self.dialect.redact(cmd));
        self.counters.commands += 1;
        if self.plan.watches_commands() {
            self.plan.command(&format!("AT{cmd}"), self.io.now);
        }
        let reply = self.dialect.execute(cmd, rsp, self.io);
        self.noted(&reply);
        self.forward_urcs(rsp);
        reply
    }

    fn data(&mut self, payload: &[u8]) {
        match *self.owner {
            Some(owner) => self.dialect.data(owner, payload),
            None => tracing::warn!(target: "vmodem::modem", "{} data bytes with no owner", payload.len()),
        }
    }

    fn data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>) -> Reply {
        let reply = match self.owner.take() {
            Some(owner) => self.dialect.data_end(owner, end, rsp, self.io),
            None => Reply::Error(Failure::Plain),
        };
        self.noted(&reply);
        self.forward_urcs(rsp);
        reply
    }

    fn malformed(&mut self, err: &ParseError) -> Failure {
        tracing::debug!(target: "vmodem::at", "malformed command: {err}");
        self.dialect.malformed()
    }

    fn cme_text(&self, code: u16) -> Option<&'static str> {
        self.dialect.cme_text(code)
    }
}
