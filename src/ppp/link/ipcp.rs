//! IPCP's Configuration Options (RFC 1332 §3, RFC 1877 §1), the modem's side.
//!
//! The modem's Configure-Request carries no option, as a SIM7080's does: the host learns no
//! address for the modem and needs none on a point-to-point link. If the host Naks it naming
//! IP-Address (3), asking the modem to say its address, the modem asks again with
//! [`MODEM_ADDRESS`] (pppd's default for a peer's address); a further Nak with a usable address
//! is taken, one without drops the option, and a Reject drops it.
//!
//! The host's Configure-Request: IP-Address is acked when it is the bearer's address and Nak'd
//! with it otherwise (0.0.0.0 asks for one); Primary/Secondary-DNS-Address (129/131) likewise
//! with the configured servers. IP-Compression-Protocol (2, Van Jacobson), the NBNS options
//! (130/132) and every other option are rejected, and so is a known option of the wrong length.

use std::net::Ipv4Addr;

use super::fsm::{Negotiate, Verdict};
use super::packet::push_option;

/// The modem's own address, when the host insists on knowing one.
pub(super) const MODEM_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 64, 64, 64);

/// IPCP's option types.
mod kind {
    /// RFC 1332 §3.3.
    pub const IP_ADDRESS: u8 = 3;
    /// RFC 1877 §1.1.
    pub const PRIMARY_DNS: u8 = 129;
    /// RFC 1877 §1.3.
    pub const SECONDARY_DNS: u8 = 131;
}

/// Whether the modem's request names its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Address {
    /// Not asked for: the request is empty.
    Unasked,
    Sent(Ipv4Addr),
    /// The host would not take one: never again.
    Dropped,
}

/// IPCP's options: the addresses the host is given, and the modem's own.
#[derive(Debug)]
pub(super) struct Ipcp {
    host: Ipv4Addr,
    dns: [Ipv4Addr; 2],
    ours: Address,
}

impl Ipcp {
    /// Gives the host `host` and the name servers `dns`.
    pub fn new(host: Ipv4Addr, dns: [Ipv4Addr; 2]) -> Ipcp {
        Ipcp { host, dns, ours: Address::Unasked }
    }

    /// Acks `value` if it is `wanted`, else Naks with `wanted`.
    fn expect(value: &[u8], wanted: Ipv4Addr) -> Verdict {
        if value == wanted.octets() { Verdict::Ack } else { Verdict::Nak(wanted.octets().to_vec()) }
    }
}

impl Negotiate for Ipcp {
    fn request(&self, out: &mut Vec<u8>) {
        if let Address::Sent(address) = self.ours {
            push_option(out, kind::IP_ADDRESS, &address.octets());
        }
    }

    fn peer_option(&mut self, kind: u8, value: &[u8]) -> Verdict {
        match (kind, value.len()) {
            (kind::IP_ADDRESS, 4) => Ipcp::expect(value, self.host),
            (kind::PRIMARY_DNS, 4) => Ipcp::expect(value, self.dns[0]),
            (kind::SECONDARY_DNS, 4) => Ipcp::expect(value, self.dns[1]),
            _ => Verdict::Reject,
        }
    }

    fn nak(&mut self, kind: u8, value: &[u8]) {
        if kind != kind::IP_ADDRESS {
            return;
        }
        let suggested = <[u8; 4]>::try_from(value).map(Ipv4Addr::from);
        self.ours = match (self.ours, suggested) {
            (Address::Unasked, _) => Address::Sent(MODEM_ADDRESS),
            (Address::Sent(_), Ok(address)) if !address.is_unspecified() && address != self.host => {
                Address::Sent(address)
            }
            _ => Address::Dropped,
        };
    }

    fn reject(&mut self, kind: u8) {
        if kind == kind::IP_ADDRESS {
            self.ours = Address::Dropped;
        }
    }
}
