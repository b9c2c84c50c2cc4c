//! The sockets a family's socket commands hold (`AT+CIPSTART`, `AT+CAOPEN`, `AT+MIPOPEN`):
//! numbered slots over the socket service's jobs, what every family needs and none words the
//! same way. A family module keeps a [`Sockets`] table, opens, sends, reads and closes through
//! it, routes its service's events to [`Sockets::event`], and turns each [`Happened`] into
//! its own result codes and URCs.
//!
//! A TCP slot's received bytes wait in a pipe of the family's receive buffer size (the socket
//! is not read while it is full: backpressure); a UDP slot keeps whole datagrams up to that many
//! bytes, and drops a datagram that does not fit, as a full module's buffer does. What the
//! host sends goes into a pipe of [`SEND_BUFFER`] bytes, or as one datagram at a time.
//!
//! A slot can also hold a server ([`Sockets::listen`]): each client it accepts is a
//! [`Happened::Incoming`] the family gives a slot of its own ([`Sockets::adopt`]) or drops.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use super::{Io, Owner};
use crate::service::JobId;
use crate::service::pipe::{self, PipeReader, PipeWriter};
use crate::service::socket::SocketError;
use crate::service::socket::job::{Event, Incoming, Input, MAX_DATAGRAM, Open, Request, Transport};
use crate::service::tls::TlsSettings;

/// Bytes a TCP slot holds on their way to the peer at most: more than any family's largest
/// send command takes at once.
pub const SEND_BUFFER: usize = 64 * 1024;

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// A TCP byte stream (TLS on top when the slot was opened with TLS settings).
    Tcp,
    /// UDP datagrams.
    Udp,
}

/// What [`Sockets::open`] needs.
#[derive(Debug)]
pub struct OpenSpec {
    /// The peer's host name or address.
    pub host: String,
    /// The peer's port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// TLS over TCP, or none.
    pub tls: Option<TlsSettings>,
    /// The module's receive buffer for this socket, in bytes.
    pub receive_buffer: usize,
    /// How long the socket may take to open.
    pub timeout: Duration,
}

/// Where a slot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Opening (connecting, TLS handshake).
    Opening,
    /// Open: bytes move both ways.
    Open {
        /// This end's address.
        local: SocketAddr,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// A server listening for clients.
    Listening {
        /// The address clients connect to.
        local: SocketAddr,
    },
    /// The peer closed it or it failed; what it received can still be read.
    Closed,
}

/// What a slot received and keeps for the host.
#[derive(Debug)]
enum Received {
    Stream(PipeReader),
    Datagrams {
        queue: VecDeque<Vec<u8>>,
        bytes: usize,
        capacity: usize,
    },
    /// A server's slot: its clients receive, not it.
    Nothing,
}

/// One socket.
#[derive(Debug)]
pub struct Slot {
    /// Its job.
    pub job: JobId,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Whether it runs TLS.
    pub tls: bool,
    /// The host and port it was opened to, as given.
    pub remote: (String, u16),
    /// Where it is.
    pub state: State,
    received: Received,
    send: Option<PipeWriter>,
    /// The lengths of the datagrams handed over and not yet sent (UDP), oldest first.
    datagrams_out: VecDeque<usize>,
    /// Bytes the host has handed over to send, in all.
    pub sent: u64,
    /// Of those, bytes that have gone into the socket.
    pub gone: u64,
}

impl Slot {
    fn new(
        job: JobId,
        protocol: Protocol,
        remote: (String, u16),
        received: Received,
        send: Option<PipeWriter>,
    ) -> Self {
        Slot {
            job,
            protocol,
            tls: false,
            remote,
            state: State::Opening,
            received,
            send,
            datagrams_out: VecDeque::new(),
            sent: 0,
            gone: 0,
        }
    }

    /// Bytes received and not yet read.
    pub fn waiting(&self) -> usize {
        match &self.received {
            Received::Stream(pipe) => pipe.available(),
            Received::Datagrams { bytes, .. } => *bytes,
            Received::Nothing => 0,
        }
    }

    /// Bytes handed over and not yet gone into the socket.
    pub fn unsent(&self) -> u64 {
        self.sent - self.gone
    }

    /// How many bytes [`Sockets::send`] takes now: what the send buffer has room for (TCP),
    /// or one datagram once the last one has gone (UDP: a datagram waits for its job, whose
    /// input queue is short).
    pub fn room(&self) -> usize {
        let unsent = usize::try_from(self.unsent()).unwrap_or(usize::MAX);
        match self.protocol {
            Protocol::Tcp => SEND_BUFFER.saturating_sub(unsent),
            Protocol::Udp if unsent == 0 => MAX_DATAGRAM,
            Protocol::Udp => 0,
        }
    }
}

/// What an event of the socket service meant for a slot.
#[derive(Debug)]
pub enum Happened {
    /// The socket opened.
    Opened,
    /// The socket could not open (or the server could not listen).
    Failed(SocketError),
    /// The server listens.
    Listening,
    /// A client connected to the server: [`Sockets::adopt`] it, or drop it to refuse it.
    Incoming(Incoming),
    /// Received bytes wait where none waited (a datagram counts as bytes too).
    Arrived,
    /// A datagram was dropped: the receive buffer had no room for it.
    Dropped(usize),
    /// Bytes handed over have gone into the socket ([`Slot::unsent`] says how many have not).
    Sent,
    /// The socket ended after it had opened: the peer closed (`Ok`) or it failed.
    Closed(Result<(), SocketError>),
}

/// Why a send was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No socket in that slot, or it is not open.
    #[error("the socket is not open")]
    NotOpen,
    /// The bytes do not fit what is still on its way.
    #[error("the send buffer is full")]
    Full,
}

/// The socket slots of one modem, numbered from 0.
#[derive(Debug)]
pub struct Sockets {
    slots: Vec<Option<Slot>>,
}

impl Sockets {
    /// `count` empty slots (the family's connection count).
    pub fn new(count: usize) -> Self {
        Sockets { slots: (0..count).map(|_| None).collect() }
    }

    /// How many slots there are.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no slots at all.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The socket in slot `index`, if any.
    pub fn get(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index)?.as_ref()
    }

    /// The slots in use, with their numbers.
    pub fn used(&self) -> impl Iterator<Item = (usize, &Slot)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// The first free slot.
    pub fn free(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }

    /// Opens a socket in the free slot `index` (the caller checked it is free and in range),
    /// its job owned by `owner` (the family's socket service).
    pub fn open(&mut self, index: usize, spec: OpenSpec, owner: Owner, io: &mut Io) {
        let (received, transport, send) = match spec.protocol {
            Protocol::Tcp => {
                let (down, received) = pipe::pipe(spec.receive_buffer);
                let (send, up) = pipe::pipe(SEND_BUFFER);
                (Received::Stream(received), Transport::Tcp { tls: spec.tls.clone(), down, up }, Some(send))
            }
            Protocol::Udp => {
                let queue = Received::Datagrams { queue: VecDeque::new(), bytes: 0, capacity: spec.receive_buffer };
                (queue, Transport::Udp, None)
            }
        };
        let request =
            Request::Open(Open { host: spec.host.clone(), port: spec.port, transport, timeout: spec.timeout });
        let job = io.start(owner, request);
        let mut slot = Slot::new(job, spec.protocol, (spec.host, spec.port), received, send);
        slot.tls = spec.tls.is_some();
        self.put(index, slot);
    }

    /// Opens a TCP server on `port` in the free slot `index`, its job owned by `owner`.
    pub fn listen(&mut self, index: usize, port: u16, owner: Owner, io: &mut Io) {
        let job = io.start(owner, Request::Listen { port });
        self.put(index, Slot::new(job, Protocol::Tcp, (String::new(), port), Received::Nothing, None));
    }

    /// Puts a client a server accepted into the free slot `index`, open at once, with a
    /// receive buffer of `receive_buffer` bytes; its job is owned by `owner`.
    pub fn adopt(&mut self, index: usize, incoming: Incoming, receive_buffer: usize, owner: Owner, io: &mut Io) {
        let (local, peer) = (incoming.local(), incoming.peer());
        let (down, received) = pipe::pipe(receive_buffer);
        let (send, up) = pipe::pipe(SEND_BUFFER);
        let job = io.start(owner, Request::Adopt { incoming, down, up });
        let remote = (peer.ip().to_string(), peer.port());
        let mut slot = Slot::new(job, Protocol::Tcp, remote, Received::Stream(received), Some(send));
        slot.state = State::Open { local, peer };
        self.put(index, slot);
    }

    fn put(&mut self, index: usize, slot: Slot) {
        if let Some(place) = self.slots.get_mut(index) {
            *place = Some(slot);
        }
    }

    /// Hands `bytes` to the socket in slot `index` to send: into its send pipe (TCP), or as
    /// one datagram (UDP). All or nothing: more than [`Slot::room`] is refused as full.
    pub fn send(&mut self, index: usize, bytes: &[u8], io: &mut Io) -> Result<(), SendError> {
        let slot = self.slots.get_mut(index).and_then(Option::as_mut).ok_or(SendError::NotOpen)?;
        if !matches!(slot.state, State::Open { .. }) {
            return Err(SendError::NotOpen);
        }
        if slot.room() < bytes.len() {
            return Err(SendError::Full);
        }
        match (&slot.send, slot.protocol) {
            (Some(pipe), Protocol::Tcp) => match pipe.try_write(bytes) {
                Ok(n) if n == bytes.len() => {}
                _ => return Err(SendError::Full),
            },
            (_, Protocol::Udp) => {
                io.feed(slot.job, Input::Datagram(bytes.to_vec()));
                slot.datagrams_out.push_back(bytes.len());
            }
            (None, Protocol::Tcp) => return Err(SendError::NotOpen),
        }
        slot.sent += bytes.len() as u64;
        Ok(())
    }

    /// Takes up to `max` received bytes of slot `index` (a UDP slot gives at most one
    /// datagram, cut to `max`); empty when nothing waits.
    pub fn receive(&mut self, index: usize, max: usize) -> Vec<u8> {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else { return Vec::new() };
        match &mut slot.received {
            Received::Stream(pipe) => {
                let mut buf = vec![0u8; max.min(pipe.available())];
                let n = pipe.try_read(&mut buf).n;
                buf.truncate(n);
                buf
            }
            Received::Datagrams { queue, bytes, .. } => {
                let Some(mut datagram) = queue.pop_front() else { return Vec::new() };
                *bytes -= datagram.len();
                datagram.truncate(max);
                datagram
            }
            Received::Nothing => Vec::new(),
        }
    }

    /// Closes the socket in slot `index` at once and frees the slot; what it still held is
    /// gone. Returns the slot as it was.
    pub fn close(&mut self, index: usize, io: &mut Io) -> Option<Slot> {
        let slot = self.slots.get_mut(index)?.take()?;
        io.cancel(slot.job);
        Some(slot)
    }

    /// Frees slot `index` without a word to the socket (it has ended already).
    pub fn forget(&mut self, index: usize) -> Option<Slot> {
        self.slots.get_mut(index)?.take()
    }

    /// An event of the job of one of the slots: which slot, and what it means. `None` for a
    /// job no slot holds (closed meanwhile) or an event with nothing to say.
    pub fn event(&mut self, job: JobId, event: Event) -> Option<(usize, Happened)> {
        let index = self.slots.iter().position(|s| s.as_ref().is_some_and(|s| s.job == job))?;
        let slot = self.slots[index].as_mut()?;
        let happened = match event {
            Event::Opened { local, peer } => {
                slot.state = State::Open { local, peer };
                Happened::Opened
            }
            Event::Data => Happened::Arrived,
            Event::Datagram(datagram) => match &mut slot.received {
                Received::Datagrams { queue, bytes, capacity } if *bytes + datagram.len() <= *capacity => {
                    let first = queue.is_empty();
                    *bytes += datagram.len();
                    queue.push_back(datagram);
                    if !first {
                        return None;
                    }
                    Happened::Arrived
                }
                _ => Happened::Dropped(datagram.len()),
            },
            Event::Sent => {
                // What still waits in the pipe (bytes handed over after the job emptied it) or
                // in the queue of datagrams has not gone.
                slot.gone = match &slot.send {
                    Some(pipe) => slot.sent - pipe.pending() as u64,
                    None => slot.gone + slot.datagrams_out.pop_front().unwrap_or(0) as u64,
                };
                Happened::Sent
            }
            Event::Closed(end) => {
                let opened = !matches!(slot.state, State::Opening);
                slot.state = State::Closed;
                slot.send = None;
                match (opened, end) {
                    (false, Err(e)) => Happened::Failed(e),
                    (_, end) => Happened::Closed(end),
                }
            }
            Event::Listening { local } => {
                slot.state = State::Listening { local };
                Happened::Listening
            }
            Event::Accepted(incoming) => Happened::Incoming(incoming),
            Event::Resolved(_) => {
                tracing::warn!(target: "vmodem::socket", "job {job}: a name look-up's answer for a socket");
                return None;
            }
        };
        Some((index, happened))
    }

    /// Ends every socket (the bearer went): the slots that were in use, as they were.
    pub fn close_all(&mut self, io: &mut Io) -> Vec<(usize, Slot)> {
        (0..self.slots.len()).filter_map(|i| self.close(i, io).map(|s| (i, s))).collect()
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;
    use crate::dialect::Order;
    use crate::service;

    fn spec(protocol: Protocol) -> OpenSpec {
        OpenSpec {
            host: "peer.test".into(),
            port: 7,
            protocol,
            tls: None,
            receive_buffer: 8,
            timeout: Duration::from_secs(5),
        }
    }

    /// Opens slot `index` and returns the job's pipes (TCP: received bytes go in, the host's
    /// come out).
    fn opened(sockets: &mut Sockets, index: usize, protocol: Protocol) -> (JobId, Option<(PipeWriter, PipeReader)>) {
        let mut io = Io::new(Instant::now(), 0, 10);
        sockets.open(index, spec(protocol), Owner::Socket, &mut io);
        let Some(Order::Start { job, owner: Owner::Socket, request }) = io.take_orders().pop() else {
            panic!("no job")
        };
        let service::Request::Socket(Request::Open(open)) = request else { panic!("not an open") };
        assert_eq!((open.host.as_str(), open.port), ("peer.test", 7));
        let pipes = match open.transport {
            Transport::Tcp { down, up, .. } => Some((down, up)),
            Transport::Udp => None,
        };
        let local = SocketAddr::from(([127, 0, 0, 1], 40000));
        let (i, happened) = sockets.event(job, Event::Opened { local, peer: local }).unwrap();
        assert!(i == index && matches!(happened, Happened::Opened));
        (job, pipes)
    }

    #[test]
    fn tcp_slots_receive_up_to_their_buffer_and_count_what_they_send() {
        let mut sockets = Sockets::new(4);
        let (job, pipes) = opened(&mut sockets, 2, Protocol::Tcp);
        let (down, up) = pipes.unwrap();
        assert_eq!(sockets.free(), Some(0));
        assert_eq!(down.try_write(b"0123456789"), Ok(8), "the receive buffer holds 8");
        assert!(matches!(sockets.event(job, Event::Data), Some((2, Happened::Arrived))));
        assert_eq!(sockets.get(2).unwrap().waiting(), 8);
        assert_eq!(sockets.receive(2, 5), b"01234");
        let mut io = Io::new(Instant::now(), 0, 10);
        sockets.send(2, b"hello", &mut io).unwrap();
        assert_eq!(sockets.get(2).unwrap().unsent(), 5);
        let mut buf = [0u8; 16];
        let n = up.try_read(&mut buf).n;
        assert_eq!(&buf[..n], b"hello");
        sockets.send(2, b"late", &mut io).unwrap();
        assert!(matches!(sockets.event(job, Event::Sent), Some((2, Happened::Sent))));
        assert_eq!(sockets.get(2).unwrap().unsent(), 4, "what came after the job emptied the pipe waits");
        let n = up.try_read(&mut buf).n;
        assert_eq!(&buf[..n], b"late");
        assert!(matches!(sockets.event(job, Event::Sent), Some((2, Happened::Sent))));
        assert_eq!(sockets.get(2).unwrap().unsent(), 0);
        assert_eq!(sockets.send(1, b"x", &mut io), Err(SendError::NotOpen));
        assert_eq!(sockets.send(2, &vec![0u8; SEND_BUFFER + 1], &mut io), Err(SendError::Full));
        assert!(matches!(sockets.event(job, Event::Closed(Ok(()))), Some((2, Happened::Closed(Ok(()))))));
        assert_eq!(sockets.receive(2, 100), b"567", "what came before the close is still read");
        assert_eq!(sockets.send(2, b"x", &mut io), Err(SendError::NotOpen));
        assert!(sockets.close(2, &mut io).is_some());
        assert!(matches!(io.take_orders().last(), Some(Order::Cancel { job: j }) if *j == job));
        assert!(sockets.event(job, Event::Data).is_none(), "a closed slot hears nothing");
    }

    #[test]
    fn udp_slots_keep_datagrams_whole_and_drop_what_does_not_fit() {
        let mut sockets = Sockets::new(1);
        let (job, pipes) = opened(&mut sockets, 0, Protocol::Udp);
        assert!(pipes.is_none());
        assert!(matches!(sockets.event(job, Event::Datagram(b"abc".to_vec())), Some((0, Happened::Arrived))));
        assert!(sockets.event(job, Event::Datagram(b"defg".to_vec())).is_none(), "told once until read");
        assert!(matches!(sockets.event(job, Event::Datagram(b"hi".to_vec())), Some((0, Happened::Dropped(2)))));
        assert_eq!(sockets.receive(0, 2), b"ab", "one datagram, cut to the read");
        assert_eq!(sockets.receive(0, 100), b"defg");
        assert!(sockets.receive(0, 100).is_empty());
        let mut io = Io::new(Instant::now(), 0, 10);
        sockets.send(0, b"ping", &mut io).unwrap();
        let Some(Order::Feed { job: fed, input: service::Input::Socket(Input::Datagram(d)) }) = io.take_orders().pop()
        else {
            panic!("not fed")
        };
        assert_eq!((fed, d.as_slice()), (job, b"ping".as_slice()));
        assert_eq!(sockets.send(0, b"pong", &mut io), Err(SendError::Full), "one datagram at a time");
        assert!(matches!(sockets.event(job, Event::Sent), Some((0, Happened::Sent))));
        assert_eq!(sockets.get(0).unwrap().room(), MAX_DATAGRAM);
        sockets.send(0, b"pong", &mut io).unwrap();
    }

    #[test]
    fn a_socket_that_never_opened_failed() {
        let mut sockets = Sockets::new(1);
        let mut io = Io::new(Instant::now(), 0, 10);
        sockets.open(0, spec(Protocol::Tcp), Owner::Socket, &mut io);
        let job = sockets.get(0).unwrap().job;
        let refused = SocketError::Refused(SocketAddr::from(([127, 0, 0, 1], 7)));
        assert!(matches!(sockets.event(job, Event::Closed(Err(refused))), Some((0, Happened::Failed(_)))));
    }
}
