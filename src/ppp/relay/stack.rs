//! The relay's smoltcp interface: any-IP mode, over a device of two queues (the host's
//! packets in, the outbound queue out), on tokio's clock.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Duration;

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpCidr};

use super::outbox::{Outbox, Slot};

/// The interface's own address: RFC 7600's IPv4 dummy address, never a real peer's. Any-IP
/// mode needs one to route through: every destination is reached "via" it.
pub(super) const OWN_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 8);

/// The interface, its sockets, its device and its clock.
pub(super) struct Stack {
    pub(super) iface: Interface,
    pub(super) sockets: SocketSet<'static>,
    pub(super) device: Device,
    /// The moment smoltcp's clock reads zero.
    epoch: tokio::time::Instant,
}

impl Stack {
    /// An interface that accepts packets for every destination (`set_any_ip` with a default
    /// route via its own address: smoltcp also routes its replies to the host through it).
    pub(super) fn new(outbox: Outbox, mtu: usize) -> Self {
        let mut device = Device { rx: VecDeque::new(), outbox, mtu, starved: false };
        let mut config = Config::new(HardwareAddress::Ip);
        // The seed of the initial sequence numbers.
        config.random_seed = fastrand::u64(..);
        let mut iface = Interface::new(config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            // One address in an empty list: cannot overflow.
            let _ = addrs.push(IpCidr::new(OWN_ADDRESS.into(), 32));
        });
        // Only fails when the route table is full; it is empty.
        let _ = iface.routes_mut().add_default_ipv4_route(OWN_ADDRESS);
        iface.set_any_ip(true);
        Stack { iface, sockets: SocketSet::new(Vec::new()), device, epoch: tokio::time::Instant::now() }
    }

    /// smoltcp's time now.
    fn now(&self) -> Instant {
        Instant::from_micros(i64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(i64::MAX))
    }

    /// Takes the packets queued for the interface and sends what its sockets have to send.
    pub(super) fn poll(&mut self) {
        let now = self.now();
        self.iface.poll(now, &mut self.device, &mut self.sockets);
    }

    /// When the interface wants polling next (a retransmission, a delayed ACK), if ever.
    pub(super) fn deadline(&mut self) -> Option<tokio::time::Instant> {
        let now = self.now();
        let at = self.iface.poll_at(now, &self.sockets)?;
        let micros = u64::try_from(at.total_micros()).unwrap_or(0);
        Some(self.epoch + Duration::from_micros(micros))
    }
}

/// smoltcp's device: the host's packets admitted for the interface, and the outbound queue.
pub(super) struct Device {
    /// The host's packets for the interface; empty between two polls.
    pub(super) rx: VecDeque<Vec<u8>>,
    outbox: Outbox,
    mtu: usize,
    /// The outbound queue was full during this round: a socket's packet waits.
    pub(super) starved: bool,
}

impl Device {
    /// A token that queues the packet it is given, or drops it when the queue is full.
    fn token(&mut self) -> Tx<'_> {
        let slot = self.outbox.reserve();
        self.starved |= slot.is_none();
        Tx { slot, outbox: &self.outbox }
    }
}

impl phy::Device for Device {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    /// The next packet, with a token for the interface's answer to it (an ACK, a RST). When
    /// the outbound queue is full that answer is dropped, as a congested link drops it, so that
    /// a host that does not read cannot stop the relay from reading what it sends.
    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((Rx(packet), self.token()))
    }

    /// A token for a socket's packet, only while the outbound queue has room: otherwise the
    /// packet stays in its socket (smoltcp retries), and the socket's buffer fills.
    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        match self.outbox.reserve() {
            Some(slot) => Some(Tx { slot: Some(slot), outbox: &self.outbox }),
            None => {
                self.starved = true;
                None
            }
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

/// A packet of the host's, for the interface.
pub(super) struct Rx(Vec<u8>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// A packet of the interface's, for the outbound queue.
pub(super) struct Tx<'a> {
    /// `None`: the queue is full, the packet is dropped.
    slot: Option<Slot<'a>>,
    outbox: &'a Outbox,
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        match self.slot {
            Some(slot) => slot.send(packet),
            None => self.outbox.shared().dropped(),
        }
        result
    }
}
