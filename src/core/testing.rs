//! A fake driver for unit tests of the core and the dialects: the core on virtual time, the
//! host's side as text, job orders kept for the test to answer with scripted events. Nothing
//! runs on a runtime and no socket opens: a state-machine test takes milliseconds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Core;
use crate::config::ModuleConfig;
use crate::dialect::{self, Order, Owner};
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::pipe::{PipeReader, PipeWriter};
use crate::service::sms::job::Request as SmsRequest;
use crate::service::socket::job::{Incoming, Open, Request as SocketRequest, Transport};
use crate::service::{Event, Input, JobId, Request};
use crate::sms::centre;
use crate::sms::pdu::Submit;

/// One modem under test. See the module docs.
pub(crate) struct Bench {
    core: Core,
    now: Instant,
    out: Vec<u8>,
    /// Jobs started and not yet taken by [`Bench::started`], in order.
    started: Vec<(JobId, Owner, Request)>,
    /// Input fed to jobs, in order.
    fed: Vec<(JobId, Input)>,
    /// Jobs cancelled, in order.
    cancelled: Vec<JobId>,
    /// The module file system's folder, removed with the bench.
    _fs: tempfile::TempDir,
}

/// The network's time when a bench powers on: 2026-12-07 13:56:47 UTC.
pub(crate) const NETWORK_TIME: i64 = 1_796_651_807;

impl Bench {
    /// A powered-on `family` modem with the default module, echo off, its output so far
    /// dropped.
    pub(crate) fn new(family: Family) -> Bench {
        Bench::with(ModuleConfig { family, ..ModuleConfig::default() })
    }

    /// A powered-on modem of `module` (its file system in a fresh folder, the network's time
    /// [`NETWORK_TIME`]), echo off, its output so far dropped.
    pub(crate) fn with(mut module: ModuleConfig) -> Bench {
        let fs = tempfile::tempdir().expect("a folder for the module file system");
        module.fs.root = Some(fs.path().to_path_buf());
        let dialect = dialect::build(Arc::new(module)).expect("the dialect");
        let mut bench = Bench {
            core: Core::new(dialect),
            now: Instant::now(),
            out: Vec::new(),
            started: Vec::new(),
            fed: Vec::new(),
            cancelled: Vec::new(),
            _fs: fs,
        };
        bench.core.set_network_time(bench.now, NETWORK_TIME);
        bench.core.power_on(bench.now);
        bench.drain();
        bench.at("ATE0");
        bench.take();
        bench
    }

    /// Sends `line` and a carriage return; returns what the modem printed by then.
    pub(crate) fn at(&mut self, line: &str) -> String {
        self.send(format!("{line}\r").as_bytes());
        self.take()
    }

    /// Sends raw host bytes (a data phase's payload).
    pub(crate) fn send(&mut self, bytes: &[u8]) {
        assert!(self.core.reads_host(), "the modem does not read the line now");
        self.core.handle_host_bytes(self.now, bytes);
        self.drain();
    }

    /// What the modem printed since the last call, as text: printable ASCII, CR and LF as
    /// they are, any other byte as `\xNN`.
    pub(crate) fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
            .into_iter()
            .map(|b| match b {
                b' '..=b'~' | b'\r' | b'\n' => char::from(b).to_string(),
                _ => format!("\\x{b:02x}"),
            })
            .collect()
    }

    /// What the modem printed since the last call, as bytes.
    pub(crate) fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Lets `d` pass, firing the core's timers as they come due.
    pub(crate) fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(at) = self.core.poll_timeout().filter(|at| *at <= until) {
            self.now = self.now.max(at);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    /// Job `job` reports `event`.
    pub(crate) fn event(&mut self, job: JobId, event: impl Into<Event>) {
        assert!(self.core.takes_events(), "the modem takes no events now");
        self.core.handle_event(self.now, job, event.into());
        self.drain();
    }

    /// The emulated network does something on its own.
    pub(crate) fn network(&mut self, event: NetworkEvent) {
        self.core.handle_network(self.now, event);
        self.drain();
    }

    /// The SMS centre brings a message or report.
    pub(crate) fn sms(&mut self, incoming: centre::Incoming) {
        self.core.handle_sms(self.now, incoming);
        self.drain();
    }

    /// The oldest job started and not yet taken, which must be a message handed to the SMS
    /// centre: its job and parts.
    pub(crate) fn started_sms(&mut self) -> (JobId, Vec<Submit>) {
        let (job, owner, request) = self.started();
        assert_eq!(owner, Owner::Sms);
        let Request::Sms(SmsRequest::Submit { parts, .. }) = request else { panic!("not a message: {request:?}") };
        (job, parts)
    }

    /// The oldest job started and not yet taken, with its owner and request.
    pub(crate) fn started(&mut self) -> (JobId, Owner, Request) {
        assert!(!self.started.is_empty(), "no job was started");
        self.started.remove(0)
    }

    /// The oldest job started and not yet taken, which must be a socket's open for `owner`:
    /// its job and what it asks for.
    pub(crate) fn started_socket(&mut self, owner: Owner) -> (JobId, Open) {
        let (job, started_by, request) = self.started();
        assert_eq!(started_by, owner);
        let Request::Socket(SocketRequest::Open(open)) = request else { panic!("not a socket: {request:?}") };
        (job, open)
    }

    /// The oldest job started and not yet taken, which must be a server's listen for `owner`:
    /// its job and port.
    pub(crate) fn started_listen(&mut self, owner: Owner) -> (JobId, u16) {
        let (job, started_by, request) = self.started();
        assert_eq!(started_by, owner);
        let Request::Socket(SocketRequest::Listen { port }) = request else { panic!("not a listen: {request:?}") };
        (job, port)
    }

    /// The oldest job started and not yet taken, which must carry a server's client for
    /// `owner`: its job, where its received bytes go, where the host's come out.
    pub(crate) fn started_adopt(&mut self, owner: Owner) -> (JobId, PipeWriter, PipeReader) {
        let (job, started_by, request) = self.started();
        assert_eq!(started_by, owner);
        let Request::Socket(SocketRequest::Adopt { down, up, .. }) = request else {
            panic!("not adopted: {request:?}")
        };
        (job, down, up)
    }

    /// Whether some job was started and not yet taken.
    pub(crate) fn has_started(&self) -> bool {
        !self.started.is_empty()
    }

    /// The oldest input fed to a job and not yet taken.
    pub(crate) fn fed(&mut self) -> (JobId, Input) {
        assert!(!self.fed.is_empty(), "no job was fed");
        self.fed.remove(0)
    }

    /// How many inputs fed to jobs wait to be taken.
    pub(crate) fn fed_count(&self) -> usize {
        self.fed.len()
    }

    /// Whether `job` has been cancelled.
    pub(crate) fn cancelled(&self, job: JobId) -> bool {
        self.cancelled.contains(&job)
    }

    /// The core, for what the other methods do not cover; [`Bench::flush`] after acting on it.
    pub(crate) fn core(&mut self) -> &mut Core {
        &mut self.core
    }

    /// The time on the bench's clock.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Collects the core's orders and output after acting on [`Bench::core`].
    pub(crate) fn flush(&mut self) {
        self.drain();
    }

    /// Collects the core's orders and output.
    fn drain(&mut self) {
        while let Some(order) = self.core.poll_order() {
            match order {
                Order::Start { job, owner, request } => self.started.push((job, owner, request)),
                Order::Feed { job, input } => self.fed.push((job, input)),
                Order::Cancel { job } => self.cancelled.push(job),
            }
        }
        self.core.poll_output(&mut self.out);
    }
}

/// What `pipe` holds now, taken out of it (the service side reading an upload).
pub(crate) fn taken(pipe: &PipeReader) -> Vec<u8> {
    let mut buf = vec![0u8; pipe.available()];
    let n = pipe.try_read(&mut buf).n;
    buf.truncate(n);
    buf
}

/// The pipes of a TCP socket's open: where the socket's received bytes go, where the host's
/// come out.
pub(crate) fn tcp_pipes(open: Open) -> (PipeWriter, PipeReader) {
    match open.transport {
        Transport::Tcp { down, up, .. } => (down, up),
        Transport::Udp => panic!("not TCP"),
    }
}

/// A client from `peer` connecting to a server at `local` (over an in-memory stream).
pub(crate) fn incoming(local: SocketAddr, peer: SocketAddr) -> Incoming {
    Incoming::new(tokio::io::duplex(64).0, local, peer)
}

/// `127.0.0.1:port`, a scripted socket's address.
pub(crate) fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
