//! The shapes every control protocol shares: the protocol numbers, the packet codes and the
//! packet format (RFC 1661 §5), and the Configuration Option list (RFC 1661 §6).

/// PPP protocol numbers (RFC 1661 §2, RFC 1332 §2, RFC 1334 §2, RFC 1994 §2).
pub(super) mod protocol {
    /// Internet Protocol version 4.
    pub const IPV4: u16 = 0x0021;
    /// The IP Control Protocol.
    pub const IPCP: u16 = 0x8021;
    /// The Link Control Protocol.
    pub const LCP: u16 = 0xC021;
    /// The Password Authentication Protocol.
    pub const PAP: u16 = 0xC023;
    /// The Challenge-Handshake Authentication Protocol.
    pub const CHAP: u16 = 0xC223;
}

/// The codes of LCP and IPCP packets (RFC 1661 §5; IPCP has the first seven, RFC 1332 §2).
pub(super) mod code {
    pub const CONFIGURE_REQUEST: u8 = 1;
    pub const CONFIGURE_ACK: u8 = 2;
    pub const CONFIGURE_NAK: u8 = 3;
    pub const CONFIGURE_REJECT: u8 = 4;
    pub const TERMINATE_REQUEST: u8 = 5;
    pub const TERMINATE_ACK: u8 = 6;
    pub const CODE_REJECT: u8 = 7;
    pub const PROTOCOL_REJECT: u8 = 8;
    pub const ECHO_REQUEST: u8 = 9;
    pub const ECHO_REPLY: u8 = 10;
    pub const DISCARD_REQUEST: u8 = 11;
}

/// The longest rejected packet a Code-Reject or Protocol-Reject carries: with its own header it
/// fits the smallest MRU the modem acks (RFC 1661 §5.6-5.7: truncated to the peer's MRU).
pub(super) const MAX_REJECTED: usize = super::lcp::MIN_MRU as usize - 4;

/// A control packet: code, identifier and the data its Length field covers (RFC 1661 §5).
#[derive(Debug, Clone, Copy)]
pub(super) struct Packet<'a> {
    pub code: u8,
    pub id: u8,
    pub data: &'a [u8],
}

impl<'a> Packet<'a> {
    /// The packet in `bytes`, or None when it is malformed: shorter than its header or than its
    /// Length field says. Octets past the Length are padding (RFC 1661 §5).
    pub fn parse(bytes: &'a [u8]) -> Option<Packet<'a>> {
        let [code, id, high, low, ..] = *bytes else { return None };
        let length = usize::from(u16::from_be_bytes([high, low]));
        let data = bytes.get(4..length)?;
        Some(Packet { code, id, data })
    }
}

/// A control packet's bytes: the header and `data`, cut to what a Length field can say.
pub(super) fn build(code: u8, id: u8, data: &[u8]) -> Vec<u8> {
    let data = &data[..data.len().min(usize::from(u16::MAX) - 4)];
    let length = u16::try_from(data.len() + 4).unwrap_or(u16::MAX);
    let mut packet = Vec::with_capacity(data.len() + 4);
    packet.extend_from_slice(&[code, id]);
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(data);
    packet
}

/// One Configuration Option (RFC 1661 §6): its type, its value, and its bytes as received
/// (what a Configure-Ack or Configure-Reject sends back).
#[derive(Debug, Clone, Copy)]
pub(super) struct Opt<'a> {
    pub kind: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// The options of a Configure packet, or None when one's Length is below 2 or overruns the
/// packet (the packet is then silently discarded).
pub(super) fn options(mut data: &[u8]) -> Option<Vec<Opt<'_>>> {
    let mut list = Vec::new();
    while let [kind, length, ..] = *data {
        let length = usize::from(length);
        if length < 2 {
            return None;
        }
        let raw = data.get(..length)?;
        list.push(Opt { kind, value: &raw[2..], raw });
        data = &data[length..];
    }
    // One octet left over is a truncated option.
    data.is_empty().then_some(list)
}

/// Appends the option `kind` with `value` (at most 253 octets, as every value here is).
pub(super) fn push_option(out: &mut Vec<u8>, kind: u8, value: &[u8]) {
    let value = &value[..value.len().min(253)];
    out.extend_from_slice(&[kind, value.len() as u8 + 2]);
    out.extend_from_slice(value);
}
