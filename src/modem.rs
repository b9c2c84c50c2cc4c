//! One modem: the line engine, a dialect and the service jobs it asked for, driven by one task.
//! The task waits on four things: host bytes, a new host link, job events, and the earliest
//! deadline (the dialect's timers, a data phase's input timer). Many modems can run in one
//! process; they share nothing but the runtime.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, Engine, Executor, Failure, ParseError, Reply, Response};

use crate::dialect::{DataTimer, Dialect, Io, NetworkEvent, Unsolicited};
use crate::net::Net;
use crate::service::job::{run_ftp, run_held, run_http};
use crate::service::{Event, JobId, Request};
use crate::transport::pacing::{LineSpeed, icf_bits_per_char};
use crate::transport::pty::LineSettings;
use crate::transport::{Link, Links};

/// Job events queued towards the modem at most; a job waits beyond that.
const EVENT_QUEUE: usize = 256;
/// Bytes read from the host at once.
const READ_CHUNK: usize = 4096;

/// Makes the emulated network act on a running modem ([`Modem::network_handle`]).
#[derive(Debug, Clone)]
pub struct NetworkHandle(mpsc::UnboundedSender<NetworkEvent>);

impl NetworkHandle {
    /// Delivers `event`; `false` once the modem has stopped.
    pub fn send(&self, event: NetworkEvent) -> bool {
        self.0.send(event).is_ok()
    }
}

/// A modem: give it links to talk over and [`run`](Modem::run) it.
pub struct Modem {
    engine: Engine,
    dialect: Box<dyn Dialect>,
    net: Net,
    events_tx: mpsc::Sender<Event>,
    events_rx: mpsc::Receiver<Event>,
    network_tx: mpsc::UnboundedSender<NetworkEvent>,
    network_rx: mpsc::UnboundedReceiver<NetworkEvent>,
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
        let (network_tx, network_rx) = mpsc::unbounded_channel();
        Modem {
            engine: Engine::new(settings, limits),
            dialect,
            net,
            events_tx,
            events_rx,
            network_tx,
            network_rx,
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
            let deadline = self.next_deadline();
            tokio::select! {
                next = links.next(), if links_open => match next {
                    Some(new) => {
                        tracing::info!(target: "vmodem::modem", "host connected");
                        link = Some(new);
                        if !booted {
                            booted = true;
                            self.power_on();
                        }
                    }
                    None => links_open = false,
                },
                read = read(&mut link, &mut buf), if !self.dialect.input_paused() => match read {
                    Ok(0) | Err(_) => {
                        tracing::info!(target: "vmodem::modem", "host disconnected");
                        link = None;
                    }
                    Ok(n) => self.receive(&buf[..n]),
                },
                Some(event) = self.events_rx.recv() => self.event(event),
                Some(event) = self.network_rx.recv() => self.network(event),
                () = sleep_until(deadline) => self.tick(),
            }
        }
    }

    /// Feeds host bytes to the line.
    fn receive(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        if let Some(idle) = self.data_idle.filter(|_| self.engine.in_data_phase()) {
            self.data_deadline = Some(now + idle);
        }
        let mut io = Io::new(now, self.engine.raw_backlog());
        self.engine.receive(bytes, &mut Exec { dialect: self.dialect.as_mut(), io: &mut io });
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

    /// A handle that makes the emulated network act on this modem while it runs (tests, fault
    /// plans).
    pub fn network_handle(&self) -> NetworkHandle {
        NetworkHandle(self.network_tx.clone())
    }

    fn network(&mut self, event: NetworkEvent) {
        tracing::info!(target: "vmodem::modem", "network event {event:?}");
        let mut io = Io::new(Instant::now(), self.engine.raw_backlog());
        self.dialect.network(event, &mut io);
        self.apply(io);
    }

    fn tick(&mut self) {
        let now = Instant::now();
        let mut io = Io::new(now, self.engine.raw_backlog());
        if self.data_deadline.is_some_and(|d| d <= now) {
            self.data_deadline = None;
            self.engine.data_timeout(&mut Exec { dialect: self.dialect.as_mut(), io: &mut io });
        }
        if self.dialect.deadline().is_some_and(|d| d <= now) {
            self.dialect.tick(&mut io);
        }
        self.apply(io);
    }

    fn next_deadline(&self) -> Option<Instant> {
        let data = self.data_deadline.filter(|_| self.engine.in_data_phase());
        [data, self.dialect.deadline()].into_iter().flatten().min()
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
                    self.engine.urc(urc);
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
            let mut exec = Exec { dialect: self.dialect.as_mut(), io: &mut next };
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
        if !self.engine.has_output() {
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
}

impl Exec<'_> {
    /// URCs raised while a command runs queue behind its final result, in order.
    fn forward_urcs(&mut self, rsp: &mut Response<'_>) {
        for out in self.io.take_urcs() {
            match out {
                Unsolicited::Urc(urc) => rsp.urc(urc),
                Unsolicited::Raw(bytes) => rsp.raw_after(bytes),
            }
        }
    }
}

impl Executor for Exec<'_> {
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
        tracing::debug!(target: "vmodem::at", "AT{}", self.dialect.redact(cmd));
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
