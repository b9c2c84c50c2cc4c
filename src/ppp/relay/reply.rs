//! Packets the relay writes itself, outside smoltcp's sockets: UDP datagrams and echo replies
//! (stateless, one per datagram), and the RSTs and ICMP errors that answer a SYN the network
//! cannot carry.

use std::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr,
    TcpSeqNumber, UdpPacket, UdpRepr,
};

use super::inbound::Segment;

/// The TTL of the relay's packets (RFC 1700's default).
const TTL: u8 = 64;

/// The bytes of an IPv4 header the relay writes (no options).
pub(super) const IPV4_HEADER: usize = 20;

/// The bytes of a UDP header.
pub(super) const UDP_HEADER: usize = 8;

/// An IPv4 packet from `from` to `to` whose `len` bytes of `protocol` payload `emit` writes,
/// with every checksum filled.
fn ipv4(from: Ipv4Addr, to: Ipv4Addr, protocol: IpProtocol, len: usize, emit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let repr = Ipv4Repr { src_addr: from, dst_addr: to, next_header: protocol, payload_len: len, hop_limit: TTL };
    let mut buf = vec![0; repr.buffer_len() + len];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet, &ChecksumCapabilities::default());
    emit(packet.payload_mut());
    buf
}

/// A UDP datagram from `from` to `to`. The caller keeps `payload` within the MTU.
pub(super) fn udp(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr { src_port: from.port(), dst_port: to.port() };
    let (src, dst) = (*from.ip(), *to.ip());
    ipv4(src, dst, IpProtocol::Udp, repr.header_len() + payload.len(), |buf| {
        let mut packet = UdpPacket::new_unchecked(buf);
        let caps = ChecksumCapabilities::default();
        repr.emit(&mut packet, &src.into(), &dst.into(), payload.len(), |out| out.copy_from_slice(payload), &caps);
    })
}

/// The echo reply of `from` (the address the host pinged) to `to` (the host).
pub(super) fn echo_reply(from: Ipv4Addr, to: Ipv4Addr, ident: u16, seq_no: u16, data: &[u8]) -> Vec<u8> {
    icmp(from, to, &Icmpv4Repr::EchoReply { ident, seq_no, data })
}

fn icmp(from: Ipv4Addr, to: Ipv4Addr, repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    ipv4(from, to, IpProtocol::Icmp, repr.buffer_len(), |buf| {
        repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &ChecksumCapabilities::default());
    })
}

/// The RST that answers `segment` of `host`'s, from the address it was sent to: its sequence
/// number is the segment's acknowledgment, or zero with an ACK of the whole segment when it
/// had none (RFC 9293 §3.10.7.1). Never for a RST.
pub(super) fn reset(host: Ipv4Addr, segment: &Segment) -> Option<Vec<u8>> {
    if segment.rst {
        return None;
    }
    let (seq_number, ack_number) = match segment.ack {
        Some(ack) => (ack, None),
        None => (TcpSeqNumber(0), Some(segment.seq + segment.len)),
    };
    let repr = TcpRepr {
        src_port: segment.to.port(),
        dst_port: segment.port,
        control: TcpControl::Rst,
        seq_number,
        ack_number,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let from = *segment.to.ip();
    Some(ipv4(from, host, IpProtocol::Tcp, repr.buffer_len(), |buf| {
        let caps = ChecksumCapabilities::default();
        repr.emit(&mut TcpPacket::new_unchecked(buf), &from.into(), &host.into(), &caps);
    }))
}

/// The ICMP "host unreachable" (RFC 792) that `router` sends about `packet` of the host's:
/// its IP header and first 8 bytes of payload, quoted.
pub(super) fn unreachable(router: Ipv4Addr, packet: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let header = Ipv4Repr::parse(&ip, &ChecksumCapabilities::default()).ok()?;
    let payload = ip.payload();
    let data = &payload[..payload.len().min(8)];
    Some(icmp(
        router,
        header.src_addr,
        &Icmpv4Repr::DstUnreachable { reason: Icmpv4DstUnreachable::HostUnreachable, header, data },
    ))
}
