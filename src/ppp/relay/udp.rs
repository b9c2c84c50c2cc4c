//! UDP flows: the host's datagrams from one port to one destination go through one
//! [`Net::udp`](crate::net::Net::udp) socket, run by a task of their own, and what comes back
//! returns to that port. A flow idle for [`IDLE`] ends; at most [`MAX_FLOWS`] at once.
//! Datagrams are dropped, never queued without bound: beyond a flow's small queue towards
//! Net, beyond the outbound queue towards the host, and when too large for the link's MTU
//! (the relay does not fragment).

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::reply::{self, IPV4_HEADER, UDP_HEADER};
use super::{Ends, Key};

/// The most UDP flows at once.
pub(super) const MAX_FLOWS: usize = 256;

/// A flow with no datagram either way for this long ends.
pub(super) const IDLE: Duration = Duration::from_secs(60);

/// The host's datagrams a flow holds while its socket opens or sends.
const QUEUE: usize = 16;

/// The UDP flows: each one's queue to its task.
#[derive(Default)]
pub(super) struct Flows {
    table: HashMap<Key, mpsc::Sender<Vec<u8>>>,
}

impl Flows {
    /// How many flows run (forgetting those that ended).
    pub(super) fn len(&mut self) -> usize {
        self.table.retain(|_, queue| !queue.is_closed());
        self.table.len()
    }

    /// Sends `datagram` on its flow, starting the flow (a task in `tasks`) if it has none.
    /// Returns whether the datagram was taken.
    pub(super) fn forward(&mut self, key: Key, datagram: Vec<u8>, ends: &Ends, tasks: &mut JoinSet<()>) -> bool {
        if let Some(queue) = self.table.get(&key)
            && !queue.is_closed()
        {
            return queue.try_send(datagram).is_ok();
        }
        if self.len() >= MAX_FLOWS {
            tracing::debug!(target: "vmodem::ppp", "{key}: dropped, {MAX_FLOWS} flows already");
            return false;
        }
        let (queue, datagrams) = mpsc::channel(QUEUE);
        let taken = queue.try_send(datagram).is_ok();
        self.table.insert(key, queue);
        tasks.spawn(run(key, datagrams, ends.clone()));
        taken
    }
}

/// One flow: opens its socket, then carries datagrams both ways until idle.
async fn run(key: Key, mut datagrams: mpsc::Receiver<Vec<u8>>, ends: Ends) {
    let socket = match ends.net.udp(&key.to.ip().to_string(), key.to.port()).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::debug!(target: "vmodem::ppp", "{key}: {e}");
            return;
        }
    };
    tracing::debug!(target: "vmodem::ppp", "{key}: open");
    let largest = ends.mtu.saturating_sub(IPV4_HEADER + UDP_HEADER);
    // One byte more than fits: a datagram that fills it was too large (`recv` cuts it).
    let mut buf = vec![0; largest + 1];
    let host = SocketAddrV4::new(ends.host, key.port);
    loop {
        tokio::select! {
            datagram = datagrams.recv() => {
                let Some(datagram) = datagram else { return };
                if let Err(e) = socket.send(&datagram).await {
                    tracing::debug!(target: "vmodem::ppp", "{key}: {e}");
                }
            }
            received = socket.recv(&mut buf) => match received {
                Ok(n) if n <= largest => ends.outbox.push(reply::udp(key.to, host, &buf[..n])),
                Ok(_) => {
                    tracing::debug!(target: "vmodem::ppp", "{key}: a datagram larger than the MTU dropped");
                    ends.outbox.shared().dropped();
                }
                // An ICMP error for an earlier datagram (port unreachable): UDP goes on.
                Err(e) => tracing::debug!(target: "vmodem::ppp", "{key}: {e}"),
            },
            () = tokio::time::sleep(IDLE) => {
                tracing::debug!(target: "vmodem::ppp", "{key}: idle, closed");
                return;
            }
        }
    }
}
