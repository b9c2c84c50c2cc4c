//! TCP flows. A host's SYN to a new (destination, port) is held while [`Net`] connects; once
//! it has, a smoltcp socket listening on exactly that destination takes the held SYN and
//! terminates the host's connection, and the bytes go between that socket and the Net stream.
//!
//! - Refused: the held SYN is answered with a RST (the host's connect() fails with "connection
//!   refused"). Unreachable or any other failure: ICMP host unreachable. Timed out: nothing
//!   (the host's own SYN retries time out). SYN retransmissions while connecting are dropped.
//! - Bytes are read from Net only while the socket has room to send them, and taken from the
//!   socket only while Net's write is not pending, so a stalled side closes the TCP window
//!   towards the other instead of growing a buffer: a flow holds at most its two socket
//!   buffers ([`SOCKET_BUFFER`] each).
//! - Net's end of stream becomes the socket's FIN, the host's FIN a shutdown of Net's write
//!   half (half-close both ways). A Net error (the peer's reset, a failed write) aborts the
//!   socket: a RST to the host. The host's RST drops the Net stream.
//! - At most [`MAX_FLOWS`] flows, connecting ones included; a SYN beyond them gets a RST.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, RecvError, State};
use smoltcp::wire::IpListenEndpoint;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::inbound::Segment;
use super::reply;
use super::stack::{OWN_ADDRESS, Stack};
use super::{Ends, Key};
use crate::net::{Net, NetError, NetStream};

/// Each socket's receive and send buffer: what the relay holds of a flow at most, each way.
/// It is also the largest window the host is offered.
pub(super) const SOCKET_BUFFER: usize = 64 * 1024;

/// The most TCP flows at once.
pub(super) const MAX_FLOWS: usize = 256;

/// A connection whose host has answered nothing for this long while data waits is aborted
/// (the host went away without a RST).
const SILENCE: Duration = Duration::from_secs(300);

type Connect = Pin<Box<dyn Future<Output = Result<NetStream, NetError>> + Send>>;

enum Flow {
    /// Net is connecting; the host's SYN waits.
    Connecting { syn: Vec<u8>, segment: Segment, connect: Connect },
    /// A socket terminates the host's connection.
    Open(Open),
}

/// A connected flow's two ends.
struct Open {
    socket: SocketHandle,
    /// `None` once both halves are closed or the connection broke.
    stream: Option<NetStream>,
    halves: Halves,
}

/// Which halves of a connection are closed.
#[derive(Default)]
struct Halves {
    /// Net's end of stream was read (and the socket closed).
    net_done: bool,
    /// The host's FIN was passed on (Net's write half shut down).
    host_done: bool,
}

/// What to do with a segment of the host's.
pub(super) enum Admit {
    /// Hand it to the interface: its flow's socket takes it.
    Stack(Vec<u8>),
    /// Answer it with a RST.
    Reset,
    /// Nothing more: held, or dropped.
    Done,
}

/// Why a flow's Net stream ends before its time.
enum Broken {
    /// Net failed: the host's connection is aborted.
    Net(io::Error),
    /// The host reset the connection.
    Host,
}

/// The TCP flows.
#[derive(Default)]
pub(super) struct Flows {
    table: HashMap<Key, Flow>,
}

impl Flows {
    /// How many flows there are.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Bytes in the sockets' buffers.
    pub(super) fn buffered(&self, sockets: &SocketSet<'_>) -> usize {
        self.table
            .values()
            .filter_map(|flow| match flow {
                Flow::Open(open) => {
                    let socket = sockets.get::<tcp::Socket>(open.socket);
                    Some(socket.send_queue() + socket.recv_queue())
                }
                Flow::Connecting { .. } => None,
            })
            .sum()
    }

    /// Sorts `segment` (the whole `packet`): a segment of a flow goes to its socket; a SYN
    /// for a new flow is held while Net connects; anything else is answered as a closed port
    /// answers it (RFC 9293 §3.10.7.1).
    pub(super) fn admit(&mut self, segment: Segment, packet: Vec<u8>, net: &Net, sockets: &mut SocketSet<'_>) -> Admit {
        let key = Key { protocol: "tcp", port: segment.port, to: segment.to };
        // A new SYN on the flow of a finished connection (TIME-WAIT): a new connection.
        if let Some(Flow::Open(open)) = self.table.get(&key)
            && segment.opens()
            && !sockets.get::<tcp::Socket>(open.socket).is_open()
        {
            self.remove(key, sockets);
        }
        match self.table.get(&key) {
            Some(Flow::Open(_)) => Admit::Stack(packet),
            Some(Flow::Connecting { .. }) => {
                if segment.rst {
                    tracing::debug!(target: "vmodem::ppp", "{key}: the host gave up while connecting");
                    self.table.remove(&key);
                }
                Admit::Done
            }
            None if segment.rst => Admit::Done,
            None if !segment.opens() => Admit::Reset,
            None if self.table.len() >= MAX_FLOWS => {
                tracing::debug!(target: "vmodem::ppp", "{key}: refused, {MAX_FLOWS} flows already");
                Admit::Reset
            }
            None => {
                tracing::debug!(target: "vmodem::ppp", "{key}: connecting");
                let (net, host, port) = (net.clone(), segment.to.ip().to_string(), segment.to.port());
                let connect = Box::pin(async move { net.connect_socket(&host, port).await });
                self.table.insert(key, Flow::Connecting { syn: packet, segment, connect });
                Admit::Done
            }
        }
    }

    /// Polls the connections being made; hands each connected flow's SYN to a socket of its
    /// own, and answers the others' SYN with the failure.
    pub(super) fn connect(&mut self, cx: &mut Context<'_>, stack: &mut Stack, ends: &Ends) {
        let mut done = Vec::new();
        for (key, flow) in &mut self.table {
            if let Flow::Connecting { connect, .. } = flow
                && let Poll::Ready(result) = connect.as_mut().poll(cx)
            {
                done.push((*key, result));
            }
        }
        for (key, result) in done {
            let Some(Flow::Connecting { syn, segment, .. }) = self.table.remove(&key) else { continue };
            match result {
                Ok(stream) => self.open(key, syn, stream, stack),
                Err(e) => {
                    tracing::debug!(target: "vmodem::ppp", "{key}: {e}");
                    let answer = match e {
                        NetError::Refused(_) => reply::reset(ends.host, &segment),
                        NetError::Timeout(_) => None,
                        _ => reply::unreachable(OWN_ADDRESS, &syn),
                    };
                    if let Some(answer) = answer {
                        ends.outbox.push(answer);
                    }
                }
            }
        }
    }

    /// A socket listening on exactly the flow's destination takes the held SYN. The device's
    /// queue is empty here (every poll empties it), so no other segment can reach the
    /// listener first.
    fn open(&mut self, key: Key, syn: Vec<u8>, stream: NetStream, stack: &mut Stack) {
        let buffer = || tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]);
        let mut socket = tcp::Socket::new(buffer(), buffer());
        // The host's stack coalesces small writes already; the relay adds no delay of its own.
        socket.set_nagle_enabled(false);
        socket.set_timeout(Some(SILENCE.into()));
        let endpoint = IpListenEndpoint { addr: Some((*key.to.ip()).into()), port: key.to.port() };
        if socket.listen(endpoint).is_err() {
            return;
        }
        let handle = stack.sockets.add(socket);
        stack.device.rx.push_back(syn);
        stack.poll();
        if stack.sockets.get::<tcp::Socket>(handle).state() == State::Listen {
            tracing::debug!(target: "vmodem::ppp", "{key}: the held SYN was not taken");
            stack.sockets.remove(handle);
            return;
        }
        tracing::debug!(target: "vmodem::ppp", "{key}: connected");
        let open = Open { socket: handle, stream: Some(stream), halves: Halves::default() };
        self.table.insert(key, Flow::Open(open));
    }

    /// Moves bytes both ways on every connected flow, as far as the other side takes them.
    pub(super) fn relay(&mut self, cx: &mut Context<'_>, sockets: &mut SocketSet<'_>) {
        for (key, flow) in &mut self.table {
            if let Flow::Open(open) = flow {
                open.relay(cx, key, sockets.get_mut::<tcp::Socket>(open.socket));
            }
        }
    }

    /// Removes the flows that are over: their socket closed and its last packet (a RST, the
    /// last ACK) sent, or back to listening (the host reset it before it was established).
    pub(super) fn sweep(&mut self, sockets: &mut SocketSet<'_>) {
        let over: Vec<Key> = self
            .table
            .iter()
            .filter_map(|(key, flow)| match flow {
                Flow::Open(open) => {
                    let socket = sockets.get::<tcp::Socket>(open.socket);
                    let closed =
                        socket.state() == State::Closed && socket.remote_endpoint().is_none() && open.stream.is_none();
                    (closed || socket.state() == State::Listen).then_some(*key)
                }
                Flow::Connecting { .. } => None,
            })
            .collect();
        for key in over {
            tracing::debug!(target: "vmodem::ppp", "{key}: closed");
            self.remove(key, sockets);
        }
    }

    fn remove(&mut self, key: Key, sockets: &mut SocketSet<'_>) {
        if let Some(Flow::Open(open)) = self.table.remove(&key) {
            sockets.remove(open.socket);
        }
    }
}

impl Open {
    fn relay(&mut self, cx: &mut Context<'_>, key: &Key, socket: &mut tcp::Socket<'_>) {
        let Some(stream) = self.stream.as_mut() else { return };
        let halves = &mut self.halves;
        let result = halves.down(cx, stream, socket).and_then(|()| halves.up(cx, stream, socket));
        match result {
            Ok(()) if halves.net_done && halves.host_done => self.stream = None,
            Ok(()) => {}
            Err(Broken::Net(e)) => {
                tracing::debug!(target: "vmodem::ppp", "{key}: {e}: resetting the host's connection");
                socket.abort();
                self.stream = None;
            }
            Err(Broken::Host) => {
                tracing::debug!(target: "vmodem::ppp", "{key}: reset by the host");
                self.stream = None;
            }
        }
    }
}

impl Halves {
    /// Net to the host: reads into the socket's send buffer while it has room.
    fn down(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut NetStream,
        socket: &mut tcp::Socket<'_>,
    ) -> Result<(), Broken> {
        while !self.net_done && socket.can_send() {
            // `can_send`: the buffer is not full, so the slice is not empty and 0 bytes read
            // is the end of the stream.
            let read = socket.send(|buf| {
                let mut buf = ReadBuf::new(buf);
                match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) => (buf.filled().len(), Poll::Ready(Ok(buf.filled().len()))),
                    Poll::Ready(Err(e)) => (0, Poll::Ready(Err(e))),
                    Poll::Pending => (0, Poll::Pending),
                }
            });
            match read {
                Ok(Poll::Ready(Ok(0))) => {
                    self.net_done = true;
                    socket.close();
                }
                Ok(Poll::Ready(Ok(_))) => {}
                Ok(Poll::Ready(Err(e))) => return Err(Broken::Net(e)),
                Ok(Poll::Pending) | Err(_) => break,
            }
        }
        Ok(())
    }

    /// The host to Net: writes from the socket's receive buffer while Net takes it; then
    /// passes on the host's FIN, or notices its RST.
    fn up(&mut self, cx: &mut Context<'_>, stream: &mut NetStream, socket: &mut tcp::Socket<'_>) -> Result<(), Broken> {
        if self.host_done {
            return Ok(());
        }
        while socket.can_recv() {
            let wrote = socket.recv(|buf| match Pin::new(&mut *stream).poll_write(cx, buf) {
                Poll::Ready(Ok(n)) => (n, Poll::Ready(Ok(n))),
                Poll::Ready(Err(e)) => (0, Poll::Ready(Err(e))),
                Poll::Pending => (0, Poll::Pending),
            });
            match wrote {
                Ok(Poll::Ready(Ok(0))) => return Err(Broken::Net(io::ErrorKind::WriteZero.into())),
                Ok(Poll::Ready(Ok(_))) => {}
                Ok(Poll::Ready(Err(e))) => return Err(Broken::Net(e)),
                Ok(Poll::Pending) | Err(_) => return Ok(()),
            }
        }
        // Nothing left to receive: smoltcp tells a FIN from a reset.
        match socket.recv(|_| (0, ())) {
            Err(RecvError::Finished) => match Pin::new(&mut *stream).poll_shutdown(cx) {
                Poll::Ready(Ok(())) => self.host_done = true,
                Poll::Ready(Err(e)) => return Err(Broken::Net(e)),
                Poll::Pending => {}
            },
            Err(RecvError::InvalidState) if socket.state() == State::Closed => return Err(Broken::Host),
            _ => {}
        }
        Ok(())
    }
}
