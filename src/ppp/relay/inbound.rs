//! What a packet from the host is: a TCP segment, a UDP datagram, an ICMP echo request, or
//! something the relay drops (and why). Checks lengths and checksums before anyone acts on a
//! packet; never panics.

use std::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket, TcpSeqNumber, UdpPacket, UdpRepr,
};

/// A packet the relay acts on.
#[derive(Debug)]
pub(super) enum Inbound<'a> {
    Tcp(Segment),
    Udp {
        /// The host's port.
        port: u16,
        to: SocketAddrV4,
        payload: &'a [u8],
    },
    Echo {
        /// The address pinged.
        to: Ipv4Addr,
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
}

/// What the relay needs of a TCP segment before smoltcp sees it: its flow, whether it opens
/// or resets one, and what a RST answering it carries (RFC 9293 §3.10.7.1).
#[derive(Debug, Clone, Copy)]
pub(super) struct Segment {
    /// The host's port.
    pub(super) port: u16,
    pub(super) to: SocketAddrV4,
    pub(super) syn: bool,
    pub(super) rst: bool,
    pub(super) seq: TcpSeqNumber,
    /// The acknowledgment number, when the ACK flag is set.
    pub(super) ack: Option<TcpSeqNumber>,
    /// Its length in sequence space (payload, SYN and FIN).
    pub(super) len: usize,
}

impl Segment {
    /// A SYN without ACK: the host opening a connection.
    pub(super) fn opens(&self) -> bool {
        self.syn && self.ack.is_none()
    }
}

/// Why a packet from the host is dropped.
#[derive(Debug, thiserror::Error)]
pub(super) enum Dropped {
    #[error("malformed or bad checksum (IPv4)")]
    Malformed,
    #[error("a fragment (not reassembled)")]
    Fragment,
    #[error("from {0}, not the host's address")]
    Foreign(Ipv4Addr),
    #[error("to {0}, not a unicast address")]
    NotUnicast(Ipv4Addr),
    #[error("malformed or bad checksum ({0})")]
    Transport(IpProtocol),
    #[error("an ICMP message other than an echo request")]
    Icmp,
    #[error("protocol {0}, not relayed")]
    Protocol(IpProtocol),
}

/// Reads `packet`, which `host` (the host's address) must have sent.
pub(super) fn parse(packet: &[u8], host: Ipv4Addr) -> Result<Inbound<'_>, Dropped> {
    let caps = ChecksumCapabilities::default();
    let ip = Ipv4Packet::new_checked(packet).map_err(|_| Dropped::Malformed)?;
    if ip.version() == 4 && (ip.more_frags() || ip.frag_offset() != 0) {
        return Err(Dropped::Fragment);
    }
    // The version, the header checksum.
    let ip_repr = Ipv4Repr::parse(&ip, &caps).map_err(|_| Dropped::Malformed)?;
    let (from, to) = (ip_repr.src_addr, ip_repr.dst_addr);
    if from != host {
        return Err(Dropped::Foreign(from));
    }
    if to.is_unspecified() || to.is_broadcast() || to.is_multicast() {
        return Err(Dropped::NotUnicast(to));
    }
    let payload = ip.payload();
    match ip_repr.next_header {
        IpProtocol::Tcp => tcp(payload, from, to).map(Inbound::Tcp).ok_or(Dropped::Transport(IpProtocol::Tcp)),
        IpProtocol::Udp => {
            let udp = UdpPacket::new_checked(payload).map_err(|_| Dropped::Transport(IpProtocol::Udp))?;
            let repr = UdpRepr::parse(&udp, &from.into(), &to.into(), &caps)
                .map_err(|_| Dropped::Transport(IpProtocol::Udp))?;
            Ok(Inbound::Udp { port: repr.src_port, to: SocketAddrV4::new(to, repr.dst_port), payload: udp.payload() })
        }
        IpProtocol::Icmp => {
            let icmp = Icmpv4Packet::new_checked(payload).map_err(|_| Dropped::Transport(IpProtocol::Icmp))?;
            match Icmpv4Repr::parse(&icmp, &caps) {
                Ok(Icmpv4Repr::EchoRequest { ident, seq_no, data }) => Ok(Inbound::Echo { to, ident, seq_no, data }),
                Ok(_) => Err(Dropped::Icmp),
                Err(_) => Err(Dropped::Transport(IpProtocol::Icmp)),
            }
        }
        other => Err(Dropped::Protocol(other)),
    }
}

/// A TCP segment's flow and flags, its checksum checked: before a connection is made for it
/// or a RST answers it.
fn tcp(payload: &[u8], from: Ipv4Addr, to: Ipv4Addr) -> Option<Segment> {
    let tcp = TcpPacket::new_checked(payload).ok()?;
    if tcp.src_port() == 0 || tcp.dst_port() == 0 || !tcp.verify_checksum(&from.into(), &to.into()) {
        return None;
    }
    Some(Segment {
        port: tcp.src_port(),
        to: SocketAddrV4::new(to, tcp.dst_port()),
        syn: tcp.syn(),
        rst: tcp.rst(),
        seq: tcp.seq_number(),
        ack: tcp.ack().then(|| tcp.ack_number()),
        len: tcp.segment_len(),
    })
}
