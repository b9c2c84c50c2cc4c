//! The bounded queue of packets for the host, and the counters the relay publishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Context;

use futures_util::task::AtomicWaker;
use tokio::sync::mpsc::{self, Permit};

use super::Stats;

/// What the relay's task and its handle share: the counters behind [`Stats`], and the waker
/// of a task waiting for room in the outbound queue.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Bytes of the packets in the outbound queue.
    waiting: AtomicUsize,
    /// Bytes in the TCP sockets' buffers, as the task last counted them.
    buffered: AtomicUsize,
    tcp_flows: AtomicUsize,
    udp_flows: AtomicUsize,
    dropped: AtomicU64,
    /// The task, when the outbound queue was full.
    room: AtomicWaker,
}

impl Shared {
    /// The handle took a packet of `len` bytes out of the queue: there is room again.
    pub(super) fn taken(&self, len: usize) {
        self.waiting.fetch_sub(len, Ordering::Relaxed);
        self.room.wake();
    }

    /// Counts one packet dropped.
    pub(super) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// The task's own counts, after each of its rounds.
    pub(super) fn publish(&self, buffered: usize, tcp_flows: usize, udp_flows: usize) {
        self.buffered.store(buffered, Ordering::Relaxed);
        self.tcp_flows.store(tcp_flows, Ordering::Relaxed);
        self.udp_flows.store(udp_flows, Ordering::Relaxed);
    }

    pub(super) fn stats(&self) -> Stats {
        Stats {
            queued: self.waiting.load(Ordering::Relaxed) + self.buffered.load(Ordering::Relaxed),
            tcp_flows: self.tcp_flows.load(Ordering::Relaxed),
            udp_flows: self.udp_flows.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The sending end of the queue of packets for the host. Cheap to clone: the relay's task
/// and its UDP and DNS tasks each hold one.
#[derive(Debug, Clone)]
pub(super) struct Outbox {
    tx: mpsc::Sender<Vec<u8>>,
    shared: Arc<Shared>,
}

impl Outbox {
    pub(super) fn new(tx: mpsc::Sender<Vec<u8>>, shared: Arc<Shared>) -> Self {
        Outbox { tx, shared }
    }

    /// Queues `packet` if there is room, or drops and counts it: IP is lossy, the host's
    /// transport protocols retransmit.
    pub(super) fn push(&self, packet: Vec<u8>) {
        match self.reserve() {
            Some(slot) => slot.send(packet),
            None => self.shared.dropped(),
        }
    }

    /// A place in the queue, if there is room.
    pub(super) fn reserve(&self) -> Option<Slot<'_>> {
        let permit = self.tx.try_reserve().ok()?;
        Some(Slot { permit, shared: &self.shared })
    }

    /// Whether the queue has room now; if not, `cx` is woken when the host takes a packet.
    pub(super) fn wait_for_room(&self, cx: &mut Context<'_>) -> bool {
        self.shared.room.register(cx.waker());
        self.tx.capacity() > 0
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }
}

/// A reserved place in the outbound queue.
pub(super) struct Slot<'a> {
    permit: Permit<'a, Vec<u8>>,
    shared: &'a Shared,
}

impl Slot<'_> {
    /// Queues `packet` in this place.
    pub(super) fn send(self, packet: Vec<u8>) {
        // Counted before it can be taken, so that the count never goes below zero.
        self.shared.waiting.fetch_add(packet.len(), Ordering::Relaxed);
        self.permit.send(packet);
    }
}
