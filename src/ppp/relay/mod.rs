//! The host's IP traffic, once PPP is up (`ATD*99#`): every IPv4 packet the host sends is
//! terminated here and relayed through [`Net`], so that redirects, link profiles and faults
//! apply to it as to the module's own services.
//!
//! # Driving contract
//!
//! [`Relay::spawn`] (inside a tokio runtime) starts the relay's task and returns its handle.
//! The PPP link hands it every IPv4 packet of the host's ([`Relay::send`], or, in a
//! `tokio::select!`, through the room [`Relay::reserve`] gives) and sends the host every packet
//! [`Relay::recv`] (or [`Relay::try_recv`]) gives. `reserve` and `recv` are cancel-safe and may
//! wait side by side; a `send` cancelled while waiting loses its packet.
//! A link that stops taking packets from `recv` makes the relay stop reading the network (TCP
//! windows close towards the servers); one that stops sending simply idles it. Dropping the
//! handle ends the task and closes every connection it made.
//!
//! # What it does
//!
//! - TCP (`tcp`) is terminated by smoltcp: an [`Interface`](smoltcp::iface::Interface) with
//!   `Medium::Ip` in any-IP mode (`stack`) takes segments for every destination, each
//!   connection with a socket of its own, opened only once [`Net::connect_socket`] to its
//!   destination has connected, so a refused connection is refused to the host too.
//! - UDP (`udp`): one [`Net::udp`] socket per (host port, destination), idle flows closed.
//!   UDP to port 53 of the DNS addresses IPCP gave the host is answered by the network's DNS
//!   server (`dns`), which resolves through [`Net::resolve`].
//! - ICMP echo requests to any address are answered from that address: the emulated network
//!   answers pings (the modem has no raw sockets to send real ones, and a module's network
//!   commonly answers them).
//! - Everything else (other protocols, other ICMP messages, fragments, packets not from the
//!   host's address, anything malformed or with a wrong checksum) is dropped with a debug trace
//!   and counted in [`Stats::dropped`]. Nothing a host sends can make the relay panic.
//!
//! UDP and ICMP are stateless, one packet at a time: the relay reads and writes them with
//! smoltcp's wire types (`inbound`, `reply`) rather than through sockets (smoltcp's ICMP
//! socket cannot answer from the address pinged; a UDP socket per destination would only add a
//! copy). The relay neither fragments nor reassembles: TCP's MSS follows the MTU, and a UDP
//! datagram too large for it is dropped.
//!
//! # Bounds
//!
//! | what | bound |
//! | --- | --- |
//! | packets from the host not yet taken | [`INBOUND_QUEUE`] (then `send` waits) |
//! | packets for the host not yet taken | [`OUTBOUND_QUEUE`] (then smoltcp holds its segments in its sockets, and other packets are dropped) |
//! | TCP flows | 256, each holding at most its two socket buffers of 64 KiB |
//! | UDP flows | 256, each holding at most 16 datagrams, and ended after 60 s idle |
//! | DNS look-ups at once | 64 |

mod dns;
mod engine;
mod inbound;
mod outbox;
mod reply;
mod stack;
mod tcp;
mod udp;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::net::Net;
use engine::Engine;
use outbox::{Outbox, Shared};

/// Packets from the host the relay holds before [`Relay::send`] waits.
pub const INBOUND_QUEUE: usize = 64;

/// Packets for the host the relay holds before it stops reading the network.
pub const OUTBOUND_QUEUE: usize = 64;

/// The PPP link's addresses, as IPCP negotiated them.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The host's address on the link: packets from any other are dropped.
    pub host: Ipv4Addr,
    /// The DNS server addresses IPCP gave the host: UDP to their port 53 is answered by
    /// resolving through [`Net`].
    pub dns: [Ipv4Addr; 2],
    /// The IP MTU of the link (1500 by default): the largest packet the relay sends the host.
    pub mtu: usize,
}

/// A running relay: a tokio task, ended (all its flows closed) when the handle is dropped.
#[derive(Debug)]
pub struct Relay {
    inbound: mpsc::Sender<Vec<u8>>,
    outbound: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// What a relay holds, for observation and for the tests of its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Bytes held: the TCP sockets' buffers and the packets waiting for the host.
    pub queued: usize,
    /// TCP flows, connecting or connected.
    pub tcp_flows: usize,
    /// UDP flows.
    pub udp_flows: usize,
    /// Packets dropped: from the host (malformed, unsupported, over a bound) or for it (its
    /// queue full, too large for the MTU).
    pub dropped: u64,
}

/// A TCP or UDP flow: its protocol, the host's port and the destination (the host's address
/// is fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    protocol: &'static str,
    port: u16,
    to: std::net::SocketAddrV4,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} :{} -> {}", self.protocol, self.port, self.to)
    }
}

/// What every flow needs: the network, the way back to the host, the host's address, the MTU.
#[derive(Debug, Clone)]
struct Ends {
    net: Net,
    outbox: Outbox,
    host: Ipv4Addr,
    mtu: usize,
}

impl Relay {
    /// Starts relaying the traffic of the host at `config.host` through `net`. Must be called
    /// inside a tokio runtime.
    pub fn spawn(net: Net, config: RelayConfig) -> Relay {
        let (inbound, from_host) = mpsc::channel(INBOUND_QUEUE);
        let (to_host, outbound) = mpsc::channel(OUTBOUND_QUEUE);
        let shared = Arc::new(Shared::default());
        // RFC 791: every link carries 68 bytes; the length field stops at 65535.
        let mtu = config.mtu.clamp(68, usize::from(u16::MAX));
        let engine = Engine::new(net, &config, Outbox::new(to_host, shared.clone()), mtu);
        let task = tokio::spawn(engine.run(from_host));
        tracing::debug!(target: "vmodem::ppp", "relay for {} started", config.host);
        Relay { inbound, outbound, shared, task }
    }

    /// Hands the relay an IPv4 packet from the host, waiting while its inbound queue is full.
    /// False once the relay has ended.
    pub async fn send(&self, packet: Vec<u8>) -> bool {
        self.inbound.send(packet).await.is_ok()
    }

    /// Room for one IPv4 packet from the host, once the inbound queue has it; `None` once the
    /// relay has ended. Cancel-safe: a caller in a `select!` loses nothing.
    /// The future holds no borrow of the relay, so [`Relay::recv`] may wait beside it.
    pub fn reserve(&self) -> impl Future<Output = Option<mpsc::OwnedPermit<Vec<u8>>>> + Send + 'static {
        let inbound = self.inbound.clone();
        async move { inbound.reserve_owned().await.ok() }
    }

    /// The next IPv4 packet for the host; `None` once the relay has ended. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        let packet = self.outbound.recv().await?;
        self.shared.taken(packet.len());
        Some(packet)
    }

    /// The next IPv4 packet for the host if one waits now.
    pub fn try_recv(&mut self) -> Option<Vec<u8>> {
        let packet = self.outbound.try_recv().ok()?;
        self.shared.taken(packet.len());
        Some(packet)
    }

    /// What the relay holds now.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
