//! The L610's sockets over the `AT+MIPCALL` bearer (`docs/l610.md` "Sockets"): six socket ids
//! (1 to 6) on the socket slots of [`crate::dialect::sockets`], TCP, UDP and TLS clients, name
//! look-ups, and the TLS settings they use.
//!
//! - `AT+MIPOPEN=<id>,[<src port>],"<host>",<port>,<0 TCP|1 UDP|2 TLS>` answers `OK`, then
//!   `+MIPOPEN: <id>,1` once open, or `+MIPSTAT: <id>,1` if it could not open.
//! - `AT+MIPSEND=<id>,<len>` prompts `> ` for exactly `<len>` raw bytes, answers
//!   `+MIPSEND: <id>,0,<free>` and `OK`, and `+MIPPUSH: <id>,0` follows once the bytes have
//!   gone into the socket; `AT+MIPSEND=<id>,"<hex>"` only stores bytes until `AT+MIPPUSH=<id>`.
//! - What a socket receives reaches the host as `AT+GTSET="IPRFMT"` says ([`receive`]).
//! - `AT+MIPCLOSE=<id>` answers `OK`, then `+MIPCLOSE: <id>,0`; a socket that ends otherwise
//!   says `+MIPCLOSE: <id>,1` once the host has everything it received, after
//!   `+MIPSTAT: <id>,1` when it failed (a reset, a lost bearer) rather than closed.
//!
//! Choices where the sources are silent are the decisions D21-D33 of `docs/l610.md`.

mod commands;
mod receive;
mod send;
mod tls;

use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{DataEnd, Failure, Reply, Response};

use super::{Fibocom, cmd, cme};
use crate::dialect::sockets::{Happened, Sockets, State};
use crate::dialect::{Io, Owner, Service, expect};
use crate::service::socket::job::Event as SocketEvent;
use crate::service::{self as services, JobId};

use receive::Format;

/// Socket ids 1 to [`SOCKETS`].
const SOCKETS: usize = 6;
/// Bytes a socket's receive buffer holds (D24): a TCP socket is not read while it is full; a
/// UDP datagram that does not fit is dropped.
const RECEIVE_BUFFER: usize = 16 * 1024;
/// The longest host name `AT+MIPOPEN` and `AT+MIPDNS` take.
const HOST_MAX: usize = 255;
/// How long a name look-up may take before `AT+MIPDNS` fails.
const DNS_LIMIT: Duration = Duration::from_secs(10);

/// The failure of a bad parameter.
const BAD: Failure = Failure::Cme(cme::BAD_PARAMETERS);
/// An operation on a socket that is not open.
const NOT_OPEN: Failure = Failure::Cme(cme::INVALID_OPERATION);

/// The socket state of one L610.
#[derive(Debug)]
pub struct Mip {
    sockets: Sockets,
    /// What the module keeps beside each slot, by slot (id - 1).
    links: [Link; SOCKETS],
    /// `AT+MIPCONF` per socket id; kept while the module is on.
    confs: [commands::Conf; SOCKETS],
    /// `AT+GTSET="IPRFMT"`.
    format: Format,
    /// `AT+GTSSLVER`, `AT+GTSSLMODE`, `AT+GTSSLFILE`.
    tls: tls::Tls,
    /// The data phase in progress (`AT+MIPSEND`, `AT+GTSSLFILE`).
    phase: Option<Phase>,
    /// The look-up `AT+MIPDNS` waits for.
    dns: Option<commands::Lookup>,
    /// When a delivery held back by the line's backlog tries again.
    retry: Option<Instant>,
}

impl Default for Mip {
    fn default() -> Self {
        Mip {
            sockets: Sockets::new(SOCKETS),
            links: Default::default(),
            confs: [commands::Conf::default(); SOCKETS],
            format: Format::default(),
            tls: tls::Tls::default(),
            phase: None,
            dns: None,
            retry: None,
        }
    }
}

/// What the module keeps for one socket beside its slot.
#[derive(Debug, Default)]
struct Link {
    /// Bytes of `AT+MIPSEND=<id>,"<hex>"` waiting for `AT+MIPPUSH`.
    accumulated: Vec<u8>,
    /// Bytes the socket's send buffer had no room for; the line waits while any are held.
    held: Vec<u8>,
    /// `+MIPPUSH: <id>,0` is due once what was handed over has gone into the socket.
    owed: bool,
    /// The host has been told (`+MIPREAD`) of the bytes waiting now.
    announced: bool,
    /// The socket has ended; the host hears of it once it has every byte received.
    ended: Option<End>,
}

/// How a socket ended without the host's `AT+MIPCLOSE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The peer closed it.
    Closed,
    /// It broke: a reset, a failure.
    Broken,
}

/// The data phase in progress.
#[derive(Debug)]
enum Phase {
    /// The bytes of `AT+MIPSEND=<id>,<len>` for slot `index`.
    Send { index: usize, bytes: Vec<u8> },
    /// The bytes of `AT+GTSSLFILE`.
    File { kind: tls::FileKind, bytes: Vec<u8> },
}

/// The sockets' service: their jobs, the data phases of `AT+MIPSEND` and `AT+GTSSLFILE`, the
/// pending `AT+MIPDNS`, the delivery and look-up timers, and the bearer's loss.
pub(super) const SERVICE: Service<Fibocom> = Service::new(Owner::Socket)
    .events(Fibocom::mip_event)
    .data(Fibocom::mip_data, Fibocom::mip_data_end)
    .resume(Fibocom::dns_resume)
    .timer(Fibocom::mip_deadline, Fibocom::mip_tick)
    .paused(|s| s.mip.links.iter().any(|l| !l.held.is_empty()))
    .bearer_lost(|s, _, io| s.mip_bearer_lost(io));

/// The socket and TLS commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Fibocom>] = &[
    cmd("+MIPOPEN")
        .test("+MIPOPEN: (1-6),(0-65535),(\"remote ip/url\"),(1-65535),(0-2)")
        .read(commands::open_read)
        .write(commands::open),
    cmd("+MIPCLOSE").test("+MIPCLOSE: (1-6),(0-1)").read(commands::close_read).write(commands::close),
    cmd("+MIPSTAT").test("+MIPSTAT: (1-6)").write(commands::stat),
    cmd("+MIPCONF")
        .test("+MIPCONF: (1-6),(1-14),(1-100),(1-1200),(1-75),(0-1)")
        .read(commands::conf_read)
        .write(commands::conf),
    cmd("+MIPDNS").test("+MIPDNS: (\"domain name\"),(0-2)").write(commands::dns),
    cmd("+MIPSEND").read(send::send_read).write(send::send),
    cmd("+MIPPUSH").write(send::push),
    cmd("+MIPREAD").test("+MIPREAD: (1-6),(1-16384)").write(receive::read),
    cmd("+GTSSLVER").test("+GTSSLVER: (0-4)").read(tls::version_read).write(tls::version),
    cmd("+GTSSLMODE").test("+GTSSLMODE: (0-1)").read(tls::mode_read).write(tls::mode),
    cmd("+GTSSLFILE")
        .test("+GTSSLFILE: (\"TRUSTFILE\",\"CAFILE\",\"KEYFILE\"),(4-8192)")
        .read(tls::file_read)
        .write(tls::file),
    cmd("+GTSSLERR").read(tls::error_read),
];

/// The slot of socket id `id` (1 to 6).
fn slot(id: u64) -> usize {
    (id - 1) as usize
}

impl Fibocom {
    /// An event of a socket job or of the look-up.
    fn mip_event(&mut self, job: JobId, event: services::Event, io: &mut Io) {
        let Some(event) = expect::<SocketEvent>(job, event) else { return };
        if let SocketEvent::Resolved(found) = event {
            return self.dns_answer(job, found, io);
        }
        let Some((index, happened)) = self.mip.sockets.event(job, event) else { return };
        let id = index + 1;
        match happened {
            Happened::Opened => {
                if self.mip.sockets.get(index).is_some_and(|s| s.tls) {
                    self.mip.tls.error = 0;
                }
                io.urc(format!("+MIPOPEN: {id},1"));
            }
            Happened::Failed(e) => {
                tracing::info!(target: "vmodem::socket", "socket {id} did not open: {e}");
                if let Some(code) = tls::error_code(&e) {
                    self.mip.tls.error = code;
                }
                self.mip.sockets.forget(index);
                self.mip.links[index] = Link::default();
                io.urc(format!("+MIPSTAT: {id},1"));
            }
            Happened::Arrived => self.deliver(index, io),
            Happened::Dropped(n) => {
                tracing::info!(target: "vmodem::socket", "socket {id}: a {n}-byte datagram dropped, the buffer is full");
            }
            Happened::Sent => self.socket_sent(index, io),
            Happened::Closed(end) => {
                let end = match end {
                    Ok(()) => End::Closed,
                    Err(e) => {
                        tracing::info!(target: "vmodem::socket", "socket {id} broke: {e}");
                        End::Broken
                    }
                };
                self.mip.links[index].held.clear();
                self.mip.links[index].ended = Some(end);
                self.deliver(index, io);
            }
            // The L610 opens no servers (D33): no socket here listens.
            Happened::Listening | Happened::Incoming(_) => {
                tracing::warn!(target: "vmodem::socket", "socket {id}: {happened:?} without a server")
            }
        }
    }

    /// Tells the host that socket `index` has ended, once it has every byte received: the
    /// slot is free again.
    fn finish_if_drained(&mut self, index: usize, io: &mut Io) {
        let Some(end) = self.mip.links[index].ended else { return };
        if self.mip.sockets.get(index).is_some_and(|s| s.waiting() > 0) {
            return;
        }
        self.mip.sockets.forget(index);
        self.mip.links[index] = Link::default();
        let id = index + 1;
        if end == End::Broken {
            io.urc(format!("+MIPSTAT: {id},1"));
        }
        io.urc(format!("+MIPCLOSE: {id},1"));
    }

    /// The call went: every socket breaks (what it held is gone), and a look-up fails.
    fn mip_bearer_lost(&mut self, io: &mut Io) {
        for (index, _) in self.mip.sockets.close_all(io) {
            self.mip.links[index] = Link::default();
            let id = index + 1;
            io.urc(format!("+MIPSTAT: {id},1"));
            io.urc(format!("+MIPCLOSE: {id},1"));
        }
        self.dns_failed(io);
    }

    /// Bytes of the data phase in progress.
    fn mip_data(&mut self, payload: &[u8]) {
        match &mut self.mip.phase {
            Some(Phase::Send { bytes, .. } | Phase::File { bytes, .. }) => bytes.extend_from_slice(payload),
            None => tracing::warn!(target: "vmodem::socket", "{} data bytes with no phase", payload.len()),
        }
    }

    /// The data phase ended: the bytes go to the socket or the TLS store; fewer than announced
    /// is `ERROR` and they are dropped.
    fn mip_data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        let Some(phase) = self.mip.phase.take() else { return Reply::Error(Failure::Plain) };
        if end == DataEnd::Incomplete {
            return Reply::Error(Failure::Plain);
        }
        let outcome = match phase {
            Phase::Send { index, bytes } => self.send_end(index, bytes, rsp, io),
            Phase::File { kind, bytes } => {
                self.mip.tls.store(kind, bytes);
                Ok(Reply::Ok)
            }
        };
        outcome.unwrap_or_else(Reply::Error)
    }

    /// When the sockets' service next wants [`Fibocom::mip_tick`].
    fn mip_deadline(&self) -> Option<Instant> {
        let dns = self.mip.dns.as_ref().filter(|d| d.answer.is_none()).map(|d| d.deadline);
        [self.mip.retry, dns].into_iter().flatten().min()
    }

    /// A held-back delivery tries again; a look-up that took too long fails.
    fn mip_tick(&mut self, io: &mut Io) {
        if self.mip.retry.is_some_and(|at| at <= io.now) {
            self.mip.retry = None;
            for index in 0..SOCKETS {
                self.deliver(index, io);
            }
        }
        if self.mip.dns.as_ref().is_some_and(|d| d.answer.is_none() && d.deadline <= io.now) {
            self.dns_failed(io);
        }
    }

    /// Whether socket `index` is open (connected), so bytes can be sent.
    fn mip_open(&self, index: usize) -> bool {
        self.mip.sockets.get(index).is_some_and(|s| matches!(s.state, State::Open { .. }))
    }
}
