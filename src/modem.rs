//! One modem: the line engine, a dialect and the service jobs it asked for, driven by one task.
//! The task waits on five things: host bytes, a new host link, job events, what its
//! [`ModemHandle`] asks (network events, faults), and the earliest deadline (the dialect's
//! timers, a data phase's input timer, the fault plan's). Many modems can run in one process;
//! they share nothing but the runtime.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, Engine, Executor, Failure, ParseError, Reply, Response};

use crate::dialect::{DataTimer, Dialect, Io, NetworkEvent, Unsolicited};
use crate::net::Net;
use crate::plan::{Action, Plan, PlanEntry};
use crate::service::job::{run_ftp, run_held, run_http};
use crate::service::{Event, JobId, Request};
use crate::transport::pacing::{LineSpeed, icf_bits_per_char};
use crate::transport::pty::LineSettings;
use crate::transport::{Link, Links};

/// Job events queued towards the modem at most; a job waits beyond that.
const EVENT_QUEUE: usize = 256;
/// Bytes read from the host at once.
const READ_CHUNK: usize = 4096;

/// Acts on a running modem from outside ([`Modem::handle`]): the emulated network's events and
/// the fault plan's entries, for tests and the control socket.
#[derive(Debug, Clone)]
pub struct ModemHandle {
    tx: mpsc::UnboundedSender<Control>,
    /// Connection faults go straight to the net layer, in force when the call returns.
    net: Net,
}

/// What a [`ModemHandle`] asks of the modem.
#[derive(Debug)]
enum Control {
    Network(NetworkEvent),
    Fault(PlanEntry),
    Clear,
}

impl ModemHandle {
    fn send(&self, control: Control) -> bool {
        self.tx.send(control).is_ok()
    }
}

impl ModemHandle {
    /// Delivers a network event; `false` once the modem has stopped.
    pub fn network(&self, event: NetworkEvent) -> bool {
        self.send(Control::Network(event))
    }

    /// Adds a fault plan entry, striking from now (a connection fault applies to the
    /// connections opened from now on); `false` once the modem has stopped.
    pub fn fault(&self, entry: PlanEntry) -> bool {
        match entry {
            PlanEntry::Net(fault) if !self.tx.is_closed() => {
                self.net.add_fault(fault);
                true
            }
            entry => self.send(Control::Fault(entry)),
        }
    }

    /// Lifts every fault and URC rule, and what waits to strike; `false` once the modem has
    /// stopped.
    pub fn clear_faults(&self) -> bool {
        self.net.clear_faults();
        self.send(Control::Clear)
    }
}

/// A modem: give it links to talk over and [`run`](Modem::run) it.
pub struct Modem {
    engine: Engine,
    dialect: Box<dyn Dialect>,
    net: Net,
    events_tx: mpsc::Sender<Event>,
    events_rx: mpsc::Receiver<Event>,
    control_tx: mpsc::UnboundedSender<Control>,
    control_rx: mpsc::UnboundedReceiver<Control>,
    /// The fault plan's modem side.
    plan: Plan,
    /// Plan entries that start at power-on.
    planned: Vec<PlanEntry>,
    /// While frozen by the plan: until when.
    frozen_until: Option<Instant>,
    /// While the module works out its answer (a link profile's answer time): when it goes out.
    answer_at: Option<Instant>,
    jobs: HashMap<JobId, JoinHandle<()>>,
    /// When the data phase in progress ends incomplete.
    data_deadline: Option<Instant>,
    /// Set when that deadline moves on with every byte from the host ([`DataTimer::Idle`]).
    data_idle: Option<std::time::Duration>,
    /// Where the rate and frame the host sets with `AT+IPR`/`AT+ICF` go, for the pacer.
    line_speed: LineSpeed,
    /// The rate and frame last published there.
    published: LineSettings,
}

impl Modem {
    /// A powered-off modem of the given family whose services use `net`.
    pub fn new(dialect: Box<dyn Dialect>, net: Net) -> Self {
        let (settings, limits) = dialect.line();
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        Modem {
            engine: Engine::new(settings, limits),
            dialect,
            net,
            events_tx,
            events_rx,
            control_tx,
            control_rx,
            plan: Plan::default(),
            planned: Vec::new(),
            frozen_until: None,
            answer_at: None,
            jobs: HashMap::new(),
            data_deadline: None,
            data_idle: None,
            line_speed: LineSpeed::new(),
            published: LineSettings { baud: settings.dte.rate, bits_per_char: icf_bits_per_char(settings.dte.format) },
        }
    }

    /// Publishes `AT+IPR`/`AT+ICF` changes through `speed` (a pacer follows them) instead of a
    /// handle no one reads.
    pub fn with_line_speed(mut self, speed: LineSpeed) -> Self {
        self.line_speed = speed;
        self
    }

    /// Follows the fault plan `entries`: connection faults from now on, modem faults and URC
    /// rules from power-on.
    pub fn with_plan(mut self, entries: Vec<PlanEntry>) -> Self {
        for entry in entries {
            match entry {
                PlanEntry::Net(fault) => self.net.add_fault(fault),
                other => self.planned.push(other),
            }
        }
        self
    }

    /// Serves hosts until the transport ends and the last link closes. The modem powers on
    /// (boot URCs) when the first host connects and keeps its state across links.
    pub async fn run(mut self, mut links: Links) {
        let mut link: Option<Link> = None;
        let mut links_open = true;
        let mut booted = false;
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            self.flush(&mut link).await;
            // After the flush: the `OK` to `AT+IPR` goes out at the old rate, as on a module.
            self.publish_line_speed();
            if !links_open && link.is_none() {
                return;
            }
            let frozen = self.frozen_until;
            // A frozen modem still sends the answer it had worked out before the freeze.
            let deadline = match frozen {
                Some(until) => Some(self.answer_at.map_or(until, |at| at.min(until))),
                None => self.next_deadline(),
            };
            tokio::select! {
                next = links.next(), if links_open => match next {
                    Some(new) => {
                        tracing::info!(target: "vmodem::modem", "host connected");
                        link = Some(new);
                        if !booted {
                            booted = true;
                            self.first_power_on();
                        }
                    }
                    None => links_open = false,
                },
                read = read(&mut link, &mut buf), if frozen.is_some() || !self.dialect.input_paused() => match read {
                    Ok(0) | Err(_) => {
                        tracing::info!(target: "vmodem::modem", "host disconnected");
                        link = None;
                    }
                    // A frozen module's UART loses what comes in.
                    Ok(_) if frozen.is_some() => {}
                    Ok(n) => self.receive(&buf[..n]),
                },
                Some(event) = self.events_rx.recv(), if frozen.is_none() => self.event(event),
                Some(control) = self.control_rx.recv(), if frozen.is_none() => self.control(control),
                () = sleep_until(deadline) => match frozen {
                    Some(until) => {
                        let now = Instant::now();
                        self.answer_at = self.answer_at.filter(|at| *at > now);
                        if until <= now {
                            tracing::info!(target: "vmodem::modem", "thawed");
                            self.frozen_until = None;
                        }
                    }
                    None => self.tick(),
                },
            }
        }
    }

    /// The first power-on: the fault plan starts.
    fn first_power_on(&mut self) {
        let now = Instant::now();
        for entry in std::mem::take(&mut self.planned) {
            self.plan.add(entry, now);
        }
        self.power_on();
    }

    /// Feeds host bytes to the line.
    fn receive(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        // Faults that are due strike before bytes that came after their time (a fault set off
        // by a command never loses the race with the host's next line).
        for action in self.plan.due(now) {
            self.strike(action);
        }
        if self.frozen_until.is_some() {
            return;
        }
        if let Some(idle) = self.data_idle.filter(|_| self.engine.in_data_phase()) {
            self.data_deadline = Some(now + idle);
        }
        let mut io = Io::new(now, self.engine.raw_backlog());
        let profile = self.net.profile();
        let urc_delay = profile.urc_delay();
        self.engine
            .receive(bytes, &mut Exec { dialect: self.dialect.as_mut(), io: &mut io, plan: &mut self.plan, urc_delay });
        // The module takes its time to answer (a link profile's answer time).
        let answer = profile.answer_delay();
        if !answer.is_zero() && self.engine.has_output() && self.answer_at.is_none() {
            self.answer_at = Some(now + answer);
        }
        self.apply(io);
    }

    fn event(&mut self, event: Event) {
        if event.kind.is_final() {
            self.jobs.remove(&event.job);
        }
        let mut io = Io::new(Instant::now(), self.engine.raw_backlog());
        self.dialect.event(event, &mut io);
        self.apply(io);
    }

    /// A handle that acts on this modem while it runs (tests, the control socket).
    pub fn handle(&self) -> ModemHandle {
        ModemHandle { tx: self.control_tx.clone(), net: self.net.clone() }
    }

    fn control(&mut self, control: Control) {
        match control {
            Control::Network(event) => self.network(event),
            Control::Fault(entry) => self.plan.add(entry, Instant::now()),
            Control::Clear => {
                self.plan = Plan::default();
                tracing::info!(target: "vmodem::modem", "faults cleared");
            }
        }
    }

    /// A fault of the plan strikes.
    fn strike(&mut self, action: Action) {
        tracing::info!(target: "vmodem::modem", "fault strikes: {action:?}");
        match action {
            Action::Network(event) => self.network(event),
            Action::Freeze(d) => self.frozen_until = Some(Instant::now() + d),
            Action::Reboot => self.reboot(),
        }
    }

    fn network(&mut self, event: NetworkEvent) {
        tracing::info!(target: "vmodem::modem", "network event {event:?}");
        let mut io = Io::new(Instant::now(), self.engine.raw_backlog());
        self.dialect.network(event, &mut io);
        self.apply(io);
    }

    fn tick(&mut self) {
        let now = Instant::now();
        self.answer_at = self.answer_at.filter(|at| *at > now);
        let mut io = Io::new(now, self.engine.raw_backlog());
        if self.data_deadline.is_some_and(|d| d <= now) {
            self.data_deadline = None;
            let urc_delay = self.net.profile().urc_delay();
            let mut exec = Exec { dialect: self.dialect.as_mut(), io: &mut io, plan: &mut self.plan, urc_delay };
            self.engine.data_timeout(&mut exec);
        }
        if self.dialect.deadline().is_some_and(|d| d <= now) {
            self.dialect.tick(&mut io);
        }
        self.apply(io);
        for urc in self.plan.released(now) {
            self.engine.urc(urc);
        }
        for action in self.plan.due(now) {
            self.strike(action);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let data = self.data_deadline.filter(|_| self.engine.in_data_phase());
        [data, self.dialect.deadline(), self.plan.deadline(), self.answer_at].into_iter().flatten().min()
    }

    fn power_on(&mut self) {
        let mut io = Io::new(Instant::now(), self.engine.raw_backlog());
        self.dialect.boot(&mut io);
        self.apply(io);
    }

    /// Carries out what the dialect asked for: URCs, jobs, timers, a reboot.
    fn apply(&mut self, mut io: Io) {
        for out in io.take_urcs() {
            match out {
                Unsolicited::Urc(urc) => {
                    tracing::debug!(target: "vmodem::at", "urc {}", String::from_utf8_lossy(&urc));
                    if let Some(urc) = self.plan.urc(urc, io.now, self.net.profile().urc_delay()) {
                        self.engine.urc(urc);
                    }
                }
                Unsolicited::Raw(bytes) => self.engine.raw(bytes),
            }
        }
        for request in io.take_requests() {
            match request {
                Request::Ftp { job, work } => {
                    let task = tokio::spawn(run_ftp(self.net.clone(), job, work, self.events_tx.clone()));
                    self.jobs.insert(job, task);
                }
                Request::FtpHeld { job, config, work } => {
                    let task = tokio::spawn(run_held(self.net.clone(), job, config, work, self.events_tx.clone()));
                    self.jobs.insert(job, task);
                }
                Request::Http { job, request } => {
                    let task = tokio::spawn(run_http(self.net.clone(), job, request, self.events_tx.clone()));
                    self.jobs.insert(job, task);
                }
                Request::Cancel(job) => {
                    if let Some(task) = self.jobs.remove(&job) {
                        task.abort();
                    }
                }
            }
        }
        if io.take_resume() {
            let mut next = Io::new(Instant::now(), self.engine.raw_backlog());
            let urc_delay = self.net.profile().urc_delay();
            let mut exec = Exec { dialect: self.dialect.as_mut(), io: &mut next, plan: &mut self.plan, urc_delay };
            self.engine.resume(&mut exec, |exec, rsp| {
                let reply = exec.dialect.resume(rsp, exec.io);
                exec.forward_urcs(rsp);
                reply
            });
            self.apply(next);
        }
        if let Some(phase) = io.take_open_data() {
            self.engine.open_data(phase);
        }
        match io.take_data_timer() {
            Some(DataTimer::By(deadline)) => (self.data_deadline, self.data_idle) = (Some(deadline), None),
            Some(DataTimer::Idle(idle)) => (self.data_deadline, self.data_idle) = (Some(io.now + idle), Some(idle)),
            None => {}
        }
        if !self.engine.in_data_phase() {
            self.data_idle = None;
        }
        if io.take_reboot() {
            self.reboot();
        }
    }

    /// A power cycle: jobs stop, state resets, the boot URCs follow the last response.
    fn reboot(&mut self) {
        tracing::info!(target: "vmodem::modem", "reboot");
        for (_, task) in self.jobs.drain() {
            task.abort();
        }
        while self.events_rx.try_recv().is_ok() {}
        self.dialect.reset();
        self.engine.reset();
        self.data_deadline = None;
        self.power_on();
    }

    /// Tells the pacer when the host has changed the rate or frame (`AT+IPR`, `AT+ICF`, or a
    /// profile that restores them).
    fn publish_line_speed(&mut self) {
        let dte = self.engine.settings().dte;
        let now = LineSettings { baud: dte.rate, bits_per_char: icf_bits_per_char(dte.format) };
        if now != self.published {
            tracing::info!(target: "vmodem::modem", "line speed {} baud, {} bits a character", now.baud, now.bits_per_char);
            self.published = now;
            self.line_speed.request(now);
        }
    }

    /// Sends pending output to the host; with no host connected it is lost, as on a UART.
    async fn flush(&mut self, link: &mut Option<Link>) {
        if !self.engine.has_output() || self.answer_at.is_some() {
            return;
        }
        let out = self.engine.take_output();
        if let Some(l) = link
            && (l.write_all(&out).await.is_err() || l.flush().await.is_err())
        {
            *link = None;
        }
    }
}

impl Drop for Modem {
    fn drop(&mut self) {
        for (_, task) in self.jobs.drain() {
            task.abort();
        }
    }
}

async fn read(link: &mut Option<Link>, buf: &mut [u8]) -> std::io::Result<usize> {
    match link {
        Some(l) => l.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The line engine's view of the dialect, with the modem context it needs.
struct Exec<'a> {
    dialect: &'a mut dyn Dialect,
    io: &'a mut Io,
    /// Sees the commands (faults that wait for one) and the URCs (rules).
    plan: &'a mut Plan,
    /// The link profile's URC time.
    urc_delay: std::time::Duration,
}

impl Exec<'_> {
    /// URCs raised while a command runs queue behind its final result, in order.
    fn forward_urcs(&mut self, rsp: &mut Response<'_>) {
        for out in self.io.take_urcs() {
            match out {
                Unsolicited::Urc(urc) => {
                    if let Some(urc) = self.plan.urc(urc, self.io.now, self.urc_delay) {
                        rsp.urc(urc);
                    }
                }
                Unsolicited::Raw(bytes) => rsp.raw_after(bytes),
            }
        }
    }
}

impl Executor for Exec<'_> {
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
        tracing::debug!(target: "vmodem::at", "AT{}", self.dialect.redact(cmd));
        if self.plan.watches_commands() {
            self.plan.command(&format!("AT{cmd}"), self.io.now);
        }
        let reply = self.dialect.execute(cmd, rsp, self.io);
        self.forward_urcs(rsp);
        reply
    }

    fn data(&mut self, payload: &[u8]) {
        self.dialect.data(payload);
    }

    fn data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>) -> Reply {
        let reply = self.dialect.data_end(end, rsp, self.io);
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
