//! The relay's task: one loop that takes the host's packets, sorts them, runs the smoltcp
//! interface and the TCP flows, and reaps the UDP and DNS tasks.

use std::future::{Future, poll_fn};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use super::dns::{self, Query};
use super::inbound::{self, Inbound};
use super::outbox::Outbox;
use super::stack::Stack;
use super::tcp::{self, Admit};
use super::{Ends, RelayConfig, reply, udp};
use crate::net::Net;

/// The host's packets taken in one round.
const BATCH: usize = 64;

/// Rounds in one wake-up before the task yields to the others.
const ROUNDS: usize = 8;

/// DNS look-ups at once; a query beyond them is dropped (the host's resolver retries).
const MAX_LOOKUPS: usize = 64;

/// DNS's port.
const DNS_PORT: u16 = 53;

/// The relay's state, owned by its task.
pub(super) struct Engine {
    ends: Ends,
    /// The DNS server's addresses.
    dns: [Ipv4Addr; 2],
    stack: Stack,
    tcp: tcp::Flows,
    udp: udp::Flows,
    /// The UDP flows and the DNS look-ups: aborted when the engine is dropped.
    tasks: JoinSet<()>,
    lookups: Arc<Semaphore>,
    /// smoltcp's next deadline (a retransmission, a delayed ACK).
    timer: Pin<Box<Sleep>>,
}

impl Engine {
    /// Must run inside a tokio runtime.
    pub(super) fn new(net: Net, config: &RelayConfig, outbox: Outbox, mtu: usize) -> Self {
        Engine {
            stack: Stack::new(outbox.clone(), mtu),
            ends: Ends { net, outbox, host: config.host, mtu },
            dns: config.dns,
            tcp: tcp::Flows::default(),
            udp: udp::Flows::default(),
            tasks: JoinSet::new(),
            lookups: Arc::new(Semaphore::new(MAX_LOOKUPS)),
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
        }
    }

    /// Runs until the host's side of the inbound queue is dropped.
    pub(super) async fn run(mut self, mut from_host: mpsc::Receiver<Vec<u8>>) {
        poll_fn(|cx| self.poll(cx, &mut from_host)).await;
        tracing::debug!(target: "vmodem::ppp", "relay ended");
    }

    /// One wake-up: rounds until nothing is left to do (every source of work has registered
    /// `cx`), or [`ROUNDS`] of them.
    fn poll(&mut self, cx: &mut Context<'_>, from_host: &mut mpsc::Receiver<Vec<u8>>) -> Poll<()> {
        for _ in 0..ROUNDS {
            let mut taken = 0;
            while taken < BATCH {
                match from_host.poll_recv(cx) {
                    Poll::Ready(Some(packet)) => {
                        self.admit(packet);
                        taken += 1;
                    }
                    Poll::Ready(None) => return Poll::Ready(()),
                    Poll::Pending => break,
                }
            }
            self.stack.device.starved = false;
            self.stack.poll();
            self.tcp.connect(cx, &mut self.stack, &self.ends);
            self.tcp.relay(cx, &mut self.stack.sockets);
            self.stack.poll();
            self.tcp.sweep(&mut self.stack.sockets);
            self.reap(cx);
            let shared = self.ends.outbox.shared();
            shared.publish(self.tcp.buffered(&self.stack.sockets), self.tcp.len(), self.udp.len());
            if taken == BATCH || self.timer_due(cx) {
                continue;
            }
            // A socket's packet waits for room in the outbound queue: the host's next read
            // wakes the task.
            if self.stack.device.starved && self.ends.outbox.wait_for_room(cx) {
                continue;
            }
            return Poll::Pending;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Sets the timer to smoltcp's next deadline; whether it has come. A deadline that has
    /// come while the outbound queue is full waits for room instead.
    fn timer_due(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.stack.deadline() else { return false };
        if at <= tokio::time::Instant::now() {
            // Come already: tokio's timer would round it up to its next millisecond tick.
            return !self.stack.device.starved;
        }
        self.timer.as_mut().reset(at);
        self.timer.as_mut().poll(cx).is_ready()
    }

    /// Sorts one packet of the host's.
    fn admit(&mut self, packet: Vec<u8>) {
        let outbox = &self.ends.outbox;
        match inbound::parse(&packet, self.ends.host) {
            Err(why) => {
                tracing::debug!(target: "vmodem::ppp", "a packet from the host dropped: {why}");
                outbox.shared().dropped();
            }
            Ok(Inbound::Tcp(segment)) => match self.tcp.admit(segment, packet, &self.ends.net, &mut self.stack.sockets)
            {
                Admit::Stack(packet) => self.stack.device.rx.push_back(packet),
                Admit::Reset => {
                    if let Some(rst) = reply::reset(self.ends.host, &segment) {
                        outbox.push(rst);
                    }
                }
                Admit::Done => {}
            },
            Ok(Inbound::Udp { port, to, payload }) if to.port() == DNS_PORT && self.dns.contains(to.ip()) => {
                self.lookup(port, to, payload);
            }
            Ok(Inbound::Udp { port, to, payload }) => {
                if !self.udp.forward(
                    super::Key { protocol: "udp", port, to },
                    payload.to_vec(),
                    &self.ends,
                    &mut self.tasks,
                ) {
                    outbox.shared().dropped();
                }
            }
            Ok(Inbound::Echo { to, ident, seq_no, data }) => {
                outbox.push(reply::echo_reply(to, self.ends.host, ident, seq_no, data));
            }
        }
    }

    /// Answers a DNS query of the host's, from port `port` to `server`, at once or after a
    /// look-up that runs beside everything else.
    fn lookup(&mut self, port: u16, server: SocketAddrV4, message: &[u8]) {
        let client = SocketAddrV4::new(self.ends.host, port);
        match dns::read(message) {
            Query::Ignore(why) => {
                tracing::debug!(target: "vmodem::ppp", "dns: a message dropped: {why}");
                self.ends.outbox.shared().dropped();
            }
            Query::Answer(answer) => self.ends.outbox.push(reply::udp(server, client, &answer)),
            Query::Resolve(lookup) => {
                let Ok(slot) = self.lookups.clone().try_acquire_owned() else {
                    tracing::debug!(target: "vmodem::ppp", "dns: a query dropped, {MAX_LOOKUPS} look-ups already");
                    self.ends.outbox.shared().dropped();
                    return;
                };
                tracing::debug!(target: "vmodem::ppp", "dns: resolving {}", lookup.name());
                let ends = self.ends.clone();
                self.tasks.spawn(async move {
                    if let Some(answer) = lookup.answer(&ends.net).await {
                        ends.outbox.push(reply::udp(server, client, &answer));
                    }
                    drop(slot);
                });
            }
        }
    }

    /// Collects the tasks that ended (a UDP flow gone idle, a look-up answered).
    fn reap(&mut self, cx: &mut Context<'_>) {
        while let Poll::Ready(Some(result)) = self.tasks.poll_join_next(cx) {
            if let Err(e) = result
                && e.is_panic()
            {
                tracing::warn!(target: "vmodem::ppp", "a relay task panicked: {e}");
            }
        }
    }
}
