//! One modem, driven by one tokio task: the [`Core`] and the IO it cannot do. The task waits
//! on six things: host bytes, a new host link, job events, short messages from the SMS centre
//! (attached under the modem's number), what its [`ModemHandle`] asks (network events,
//! faults), and the core's next deadline; after each it carries out the
//! core's job orders and writes its output (see the core's driving contract). Many modems can
//! run in one process; they share nothing but the runtime.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use crate::core::{Core, ModuleTimes};
use crate::dialect::{Dialect, Order, Owner};
use crate::net::{LinkProfile, Net};
use crate::network::NetworkEvent;
use crate::plan::PlanEntry;
use crate::service::fs::ModuleFs;
use crate::service::{Input, JobId, Report, job};
use crate::sms::centre::Incoming;
use crate::telemetry::{JobMetrics, LineTap, Observed, Watch};
use crate::transport::pacing::{LineSpeed, icf_bits_per_char};
use crate::transport::pty::LineSettings;
use crate::transport::{Link, Links};
use std::pin::Pin;
use std::sync::Arc;

/// Job events queued towards the modem at most; a job waits beyond that.
const EVENT_QUEUE: usize = 256;
/// Requests of handles (network events, faults, messages, typing) waiting for the modem, at
/// most; beyond that a request is refused.
pub const CONTROL_QUEUE: usize = 1024;
/// Bytes read from the host at once.
const READ_CHUNK: usize = 4096;
/// Room the output buffer keeps between writes (a response with a read's data fits); a larger
/// one, a stream's piece, is let go, so that the idle modems of a fleet hold little.
const KEPT_OUTPUT: usize = 8192;

/// Acts on a running modem from outside ([`Modem::handle`]): the emulated network's events and
/// the fault plan's entries, for tests and the control socket.
#[derive(Debug, Clone)]
pub struct ModemHandle {
    tx: mpsc::Sender<Control>,
    /// Connection faults go straight to the net layer, in force when the call returns.
    net: Net,
    /// What the modem last published of itself.
    watch: Watch,
    /// Its file system, if the family has one.
    fs: Option<ModuleFs>,
}

/// What a [`ModemHandle`] asks of the modem.
#[derive(Debug)]
enum Control {
    Network(NetworkEvent),
    Sms(Incoming),
    Fault(PlanEntry),
    Clear,
    /// Bytes a person typed in a console, while no host is connected.
    Type(Vec<u8>),
}

impl ModemHandle {
    /// Queues `control`; `false` if the modem has stopped, or has [`CONTROL_QUEUE`] requests
    /// waiting already (a frozen modem takes none): the request is dropped, not queued for ever.
    fn send(&self, control: Control) -> bool {
        match self.tx.try_send(control) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(target: "vmodem::modem", "{CONTROL_QUEUE} requests wait already: one more dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Delivers a network event; `false` once the modem has stopped (or its queue is full).
    pub fn network(&self, event: NetworkEvent) -> bool {
        self.send(Control::Network(event))
    }

    /// Delivers a short message or status report as the SMS centre would (an injected
    /// message); `false` once the modem has stopped (or its queue is full).
    pub fn sms(&self, incoming: Incoming) -> bool {
        self.send(Control::Sms(incoming))
    }

    /// Adds a fault plan entry, striking from now (a connection fault applies to the
    /// connections opened from now on); `false` once the modem has stopped (or its queue is
    /// full).
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

    /// The modem's state as it last published it.
    pub fn status(&self) -> Observed {
        self.watch.get()
    }

    /// The module file system, if the family has one.
    pub fn fs(&self) -> Option<&ModuleFs> {
        self.fs.as_ref()
    }

    /// Bytes received and sent over the modem's network connections so far.
    pub fn traffic(&self) -> (u64, u64) {
        self.net.traffic()
    }

    /// Types `bytes` into the modem as a host would, for a console's terminal: refused while a
    /// host is connected (a module has one UART, and the console never writes on the host's
    /// line); `Ok(false)` once the modem has stopped (or its queue is full).
    pub fn type_in(&self, bytes: Vec<u8>) -> Result<bool, &'static str> {
        if self.watch.get().host {
            return Err("a host is connected: the console only watches its line");
        }
        Ok(self.send(Control::Type(bytes)))
    }

    /// The modem's link profile.
    pub fn profile(&self) -> LinkProfile {
        self.net.profile()
    }

    /// Changes the modem's link profile (every modem's that shares its link), for open
    /// connections too.
    pub fn set_profile(&self, profile: LinkProfile) {
        self.net.set_profile(profile);
    }
}

/// A running job: its task, the way to its input, and what is timed of it.
struct RunningJob {
    task: JoinHandle<()>,
    inbox: mpsc::Sender<Input>,
    owner: Owner,
    started: Instant,
}

/// A modem: give it links to talk over and [`run`](Modem::run) it.
pub struct Modem {
    core: Core,
    net: Net,
    events_tx: mpsc::Sender<Report>,
    events_rx: mpsc::Receiver<Report>,
    control_tx: mpsc::Sender<Control>,
    control_rx: mpsc::Receiver<Control>,
    jobs: HashMap<JobId, RunningJob>,
    /// Where the rate and frame the host sets with `AT+IPR`/`AT+ICF` go, for the pacer.
    line_speed: LineSpeed,
    /// The rate and frame last published there.
    published: LineSettings,
    /// Where observers read the modem's state.
    watch: Watch,
    /// Where jobs' durations go, if anyone collects them.
    metrics: Option<JobMetrics>,
    /// Bytes from and to the host.
    bytes: (u64, u64),
    /// The output being written to the host, kept empty between writes and lent to the core
    /// for the next (its room is reused).
    out: Vec<u8>,
    /// Who hears the line's bytes, if anyone.
    tap: Option<Arc<dyn LineTap>>,
}

impl Modem {
    /// A powered-off modem of the given family whose services use `net`.
    pub fn new(dialect: Box<dyn Dialect>, net: Net) -> Self {
        let core = Core::new(dialect);
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
        let dte = core.line_settings().dte;
        Modem {
            core,
            net,
            events_tx,
            events_rx,
            control_tx,
            control_rx,
            jobs: HashMap::new(),
            line_speed: LineSpeed::new(),
            published: LineSettings { baud: dte.rate, bits_per_char: icf_bits_per_char(dte.format) },
            watch: Watch::default(),
            metrics: None,
            bytes: (0, 0),
            out: Vec::new(),
            tap: None,
        }
    }

    /// Hands the line's bytes to `tap` as they pass (a console's transcript).
    pub fn with_tap(mut self, tap: Arc<dyn LineTap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Times every job that ends into `metrics` (shared by the modems of a process).
    pub fn with_metrics(mut self, metrics: JobMetrics) -> Self {
        self.metrics = Some(metrics);
        self
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
        let mut modem_side = Vec::new();
        for entry in entries {
            match entry {
                PlanEntry::Net(fault) => self.net.add_fault(fault),
                other => modem_side.push(other),
            }
        }
        self.core.plan(modem_side);
        self
    }

    /// A handle that acts on this modem while it runs (tests, the control socket).
    pub fn handle(&self) -> ModemHandle {
        ModemHandle {
            tx: self.control_tx.clone(),
            net: self.net.clone(),
            watch: self.watch.clone(),
            fs: self.core.fs(),
        }
    }

    /// Serves hosts until the transport ends and the last link closes. The modem powers on
    /// (boot URCs) when the first host connects and keeps its state across links.
    pub async fn run(mut self, mut links: Links) {
        self.core.set_network_time(Instant::now(), time::OffsetDateTime::now_utc().unix_timestamp());
        let mut mailbox = self.net.sms_centre().attach(self.core.number());
        let mut link: Option<Link> = None;
        let mut links_open = true;
        let mut booted = false;
        let mut buf = vec![0u8; READ_CHUNK];
        // One timer for the modem's life, moved as the core's deadline moves. Moving a tokio
        // timer later costs one atomic operation, where a new timer each step goes into the
        // timer wheel and out again under its lock: a download read on request moves its
        // unread-data deadline with every read.
        let timer = tokio::time::sleep_until(Instant::now());
        tokio::pin!(timer);
        loop {
            self.carry_out();
            self.flush(&mut link).await;
            self.publish(link.is_some());
            // After the flush: the `OK` to `AT+IPR` goes out at the old rate, as on a module.
            self.publish_line_speed();
            if !links_open && link.is_none() {
                return;
            }
            let takes_events = self.core.takes_events();
            let deadline = self.core.poll_timeout();
            tokio::select! {
                next = links.next(), if links_open => match next {
                    Some(new) => {
                        tracing::info!(target: "vmodem::modem", "host connected");
                        self.tapped(|tap| tap.note("a host connected"));
                        link = Some(new);
                        if !std::mem::replace(&mut booted, true) {
                            self.core.power_on(Instant::now());
                        }
                    }
                    None => links_open = false,
                },
                read = read(&mut link, &mut buf), if self.core.reads_host() => match read {
                    Ok(0) | Err(_) => {
                        tracing::info!(target: "vmodem::modem", "host disconnected");
                        self.tapped(|tap| tap.note("the host left"));
                        link = None;
                    }
                    Ok(n) => {
                        self.bytes.0 += n as u64;
                        self.tapped(|tap| tap.host(&buf[..n]));
                        self.refresh_times();
                        // What the outside world asked before these bytes came happens first
                        // (a test's `@network` step, then its next command).
                        while self.core.takes_events() && let Ok(control) = self.control_rx.try_recv() {
                            self.control(control, true, &mut booted);
                        }
                        self.core.handle_host_bytes(Instant::now(), &buf[..n]);
                    }
                },
                Some((job, event)) = self.events_rx.recv(), if takes_events => {
                    if event.is_final() {
                        self.job_ended(job);
                    }
                    self.refresh_times();
                    self.core.handle_event(Instant::now(), job, event);
                }
                Some(incoming) = mailbox.recv(), if takes_events => {
                    self.refresh_times();
                    self.core.handle_sms(Instant::now(), incoming);
                }
                Some(control) = self.control_rx.recv(), if takes_events => {
                    self.refresh_times();
                    self.control(control, link.is_some(), &mut booted);
                }
                () = wait_until(timer.as_mut(), deadline) => {
                    self.refresh_times();
                    self.core.handle_timeout(Instant::now());
                }
            }
        }
    }

    /// The module's answer and URC times, from the link profile in force now.
    fn refresh_times(&mut self) {
        let profile = self.net.profile();
        self.core.set_times(ModuleTimes { answer: profile.answer_delay(), urc: profile.urc_delay() });
    }

    /// Starts, feeds and stops the jobs the core asks for.
    fn carry_out(&mut self) {
        while let Some(order) = self.core.poll_order() {
            match order {
                Order::Start { job, request, owner } => {
                    let (inbox, inbox_rx) = job::inbox();
                    let task = request.spawn(self.net.clone(), job, self.events_tx.clone(), inbox_rx);
                    self.jobs.insert(job, RunningJob { task, inbox, owner, started: Instant::now() });
                }
                Order::Feed { job, input } => {
                    // The dialect feeds a job one piece at a time, so its inbox has room; a job
                    // that has just ended reports so itself.
                    let sent = self.jobs.get(&job).map(|j| j.inbox.try_send(input).map_err(|e| e.to_string()));
                    if let Some(Err(e)) = sent {
                        tracing::warn!(target: "vmodem::modem", "job {job} takes no input now: {e}");
                    }
                }
                Order::Cancel { job } => {
                    if let Some(running) = self.jobs.remove(&job) {
                        running.task.abort();
                    }
                }
            }
        }
    }

    /// Carries out what a handle asked (`host`: a host is connected, so typing is refused;
    /// `booted`: the modem has powered on).
    fn control(&mut self, control: Control, host: bool, booted: &mut bool) {
        let now = Instant::now();
        match control {
            Control::Network(event) => self.core.handle_network(now, event),
            Control::Sms(incoming) => self.core.handle_sms(now, incoming),
            Control::Fault(entry) => self.core.handle_fault(now, entry),
            Control::Clear => self.core.clear_faults(),
            Control::Type(_) if host => {
                tracing::info!(target: "vmodem::modem", "console input refused: a host is connected")
            }
            Control::Type(bytes) => {
                if !std::mem::replace(booted, true) {
                    self.core.power_on(now);
                }
                self.tapped(|tap| tap.host(&bytes));
                self.core.handle_host_bytes(now, &bytes);
            }
        }
    }

    /// Tells the tap, if there is one.
    fn tapped(&self, f: impl FnOnce(&dyn LineTap)) {
        if let Some(tap) = &self.tap {
            f(tap.as_ref());
        }
    }

    /// A job has ended: its time goes to the metrics.
    fn job_ended(&mut self, job: JobId) {
        if let (Some(running), Some(metrics)) = (self.jobs.remove(&job), &self.metrics) {
            metrics.job_ended(running.owner, running.started.elapsed().as_secs_f64());
        }
    }

    /// Publishes the modem's state for observers (`host`: a host is connected).
    fn publish(&self, host: bool) {
        let (bytes_in, bytes_out) = self.bytes;
        self.watch.publish(Observed { status: self.core.status(), host, bytes_in, bytes_out });
    }

    /// Tells the pacer when the host has changed the rate or frame (`AT+IPR`, `AT+ICF`, or a
    /// profile that restores them).
    fn publish_line_speed(&mut self) {
        let dte = self.core.line_settings().dte;
        let now = LineSettings { baud: dte.rate, bits_per_char: icf_bits_per_char(dte.format) };
        if now != self.published {
            tracing::info!(target: "vmodem::modem", "line speed {} baud, {} bits a character", now.baud, now.bits_per_char);
            self.published = now;
            self.line_speed.request(now);
        }
    }

    /// Sends pending output to the host; with no host connected it is lost, as on a UART.
    async fn flush(&mut self, link: &mut Option<Link>) {
        if !self.core.poll_output(&mut self.out) {
            return;
        }
        let out = &self.out;
        self.tapped(|tap| tap.modem(out));
        if let Some(l) = link {
            self.bytes.1 += out.len() as u64;
            if l.write_all(out).await.is_err() || l.flush().await.is_err() {
                *link = None;
            }
        }
        self.out.clear();
        if self.out.capacity() > KEPT_OUTPUT {
            self.out = Vec::new();
        }
    }
}

impl Drop for Modem {
    fn drop(&mut self) {
        for (_, running) in self.jobs.drain() {
            running.task.abort();
        }
    }
}

async fn read(link: &mut Option<Link>, buf: &mut [u8]) -> std::io::Result<usize> {
    match link {
        Some(l) => l.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Waits on `timer` for `deadline`, moving the timer there first. A deadline that has come
/// already is ready at once: tokio's timer rounds every deadline up to its next millisecond
/// tick, which would put a millisecond into each step a service asks for "now" (a data call
/// handing the host's bytes on).
async fn wait_until(mut timer: Pin<&mut Sleep>, deadline: Option<Instant>) {
    match deadline {
        Some(d) if d <= Instant::now() => {}
        Some(d) => {
            if timer.deadline() != d {
                timer.as_mut().reset(d);
            }
            timer.await
        }
        None => std::future::pending().await,
    }
}
