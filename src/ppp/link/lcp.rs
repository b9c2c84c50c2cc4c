//! LCP's Configuration Options (RFC 1661 §6, RFC 1662 §7.1), the modem's side: what each
//! module asks of the host, and what it lets the host ask.
//!
//! The modem's Configure-Request, per [`Flavour`]:
//! - SIM800: ACCM 0x000A0000, Authentication-Protocol PAP, PFC, ACFC, no Magic-Number (the
//!   bytes captured from a SIM800L).
//! - SIM7080: ACCM 0, Authentication-Protocol CHAP with MD5, a Magic-Number, PFC, ACFC.
//!
//! Both ask for no MRU while the modem takes 1500 octets (the default, §6.1), and otherwise
//! for the MRU of [`LinkConfig`]. What the host's Naks and Rejects do to them:
//! - Authentication-Protocol: a Nak naming PAP or CHAP-MD5 not asked yet switches to it (a
//!   SIM7080 that pppd Naks with PAP asks again with PAP); any other Nak, and a Reject, drop
//!   authentication: the host is let in without it (a host with no credentials).
//! - ACCM: a Nak adds its characters to the map (escaping more is harmless); a Reject drops it.
//! - Magic-Number: a Nak's value is taken unless it is zero or the one the modem last Nak'd
//!   the host with (then the link may be looped back: a new random one, §6.4); a Reject drops
//!   it (Echo-Replies then carry zero).
//! - MRU, PFC, ACFC: a Nak or a Reject drops them.
//!
//! The host's Configure-Request: an MRU of at least [`MIN_MRU`] is acked (the modem then sends
//! no more than it); a smaller one is Nak'd with [`MIN_MRU`] (pppd's own floor). ACCM, PFC and
//! ACFC are acked. A Magic-Number is acked unless it is zero or equals the modem's own, when it
//! is Nak'd with a new random value (§6.4's loop-back detection). Authentication-Protocol is
//! rejected (a modem does not authenticate itself to its host), and so is every other option;
//! a known option of the wrong length too. Nothing else is Nak'd.

use fastrand::Rng;

use super::fsm::{Negotiate, Verdict};
use super::packet::{protocol, push_option};
use super::{Flavour, LinkConfig};
use crate::ppp::hdlc::DEFAULT_ACCM;

/// The smallest MRU the modem acks (the host's MRU bounds the modem's frames).
pub(super) const MIN_MRU: u16 = 128;
/// The MRU both sides assume until LCP says otherwise (RFC 1661 §6.1).
pub(super) const DEFAULT_MRU: u16 = 1500;

/// LCP's option types (RFC 1661 §6, RFC 1662 §7.1).
mod kind {
    pub const MRU: u8 = 1;
    pub const ACCM: u8 = 2;
    pub const AUTHENTICATION: u8 = 3;
    pub const MAGIC: u8 = 5;
    pub const PFC: u8 = 7;
    pub const ACFC: u8 = 8;
}

/// CHAP's algorithm number for MD5 (RFC 1994 §3).
const CHAP_MD5: u8 = 5;

/// How the host proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// RFC 1334 §2.
    Pap,
    /// RFC 1994, with MD5.
    ChapMd5,
}

impl Method {
    /// The option's value: the protocol, and CHAP's algorithm.
    fn value(self) -> &'static [u8] {
        match self {
            Method::Pap => &[0xC0, 0x23],
            Method::ChapMd5 => &[0xC2, 0x23, CHAP_MD5],
        }
    }

    /// The method an option's value names, if the modem does it.
    fn parse(value: &[u8]) -> Option<Method> {
        let (protocol, rest) = value.split_first_chunk::<2>()?;
        match (u16::from_be_bytes(*protocol), rest) {
            (protocol::PAP, []) => Some(Method::Pap),
            (protocol::CHAP, [CHAP_MD5]) => Some(Method::ChapMd5),
            _ => None,
        }
    }
}

/// What the modem asks for (None, false: not asked).
#[derive(Debug, Clone)]
struct Ours {
    mru: Option<u16>,
    accm: Option<u32>,
    auth: Option<Method>,
    magic: Option<u32>,
    pfc: bool,
    acfc: bool,
}

/// What the host asked for, defaults where it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Peer {
    /// The longest information field the host takes.
    pub mru: u16,
    /// The control characters the host wants escaped.
    pub accm: u32,
    /// The host takes frames without address and control (ACFC).
    pub acfc: bool,
    /// The host takes one-octet protocol fields (PFC).
    pub pfc: bool,
}

impl Default for Peer {
    fn default() -> Peer {
        Peer { mru: DEFAULT_MRU, accm: DEFAULT_ACCM, acfc: false, pfc: false }
    }
}

/// LCP's options, the modem's and the host's.
#[derive(Debug)]
pub(super) struct Lcp {
    ours: Ours,
    /// The methods asked for so far: a Nak never sends the modem back to one.
    tried: Vec<Method>,
    /// The host's options in force (those of its last acked request).
    peer: Peer,
    /// The host's options in the request being weighed.
    staged: Peer,
    /// The Magic-Number the modem last Nak'd the host with.
    naked_magic: Option<u32>,
    rng: Rng,
}

impl Lcp {
    /// The modem's options for `config`'s module; `rng` draws magic numbers.
    pub fn new(config: &LinkConfig, mut rng: Rng) -> Lcp {
        let mru = (config.mru != DEFAULT_MRU).then_some(config.mru);
        let ours = match config.flavour {
            Flavour::Sim800 => {
                Ours { mru, accm: Some(0x000A_0000), auth: Some(Method::Pap), magic: None, pfc: true, acfc: true }
            }
            Flavour::Sim7080 => Ours {
                mru,
                accm: Some(0),
                auth: Some(Method::ChapMd5),
                magic: Some(magic(&mut rng, &[])),
                pfc: true,
                acfc: true,
            },
        };
        Lcp {
            tried: ours.auth.into_iter().collect(),
            ours,
            peer: Peer::default(),
            staged: Peer::default(),
            naked_magic: None,
            rng,
        }
    }

    /// The host's options in force.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The control characters the host escapes for the modem (what the modem asked).
    pub fn receive_accm(&self) -> u32 {
        self.ours.accm.unwrap_or(DEFAULT_ACCM)
    }

    /// How the host authenticates, if the modem asks it to.
    pub fn auth(&self) -> Option<Method> {
        self.ours.auth
    }

    /// The modem's Magic-Number, zero without one (RFC 1661 §5.8).
    pub fn magic(&self) -> u32 {
        self.ours.magic.unwrap_or(0)
    }
}

/// A random nonzero Magic-Number outside `avoid`.
fn magic(rng: &mut Rng, avoid: &[u32]) -> u32 {
    loop {
        let magic = rng.u32(1..);
        if !avoid.contains(&magic) {
            return magic;
        }
    }
}

impl Negotiate for Lcp {
    fn request(&self, out: &mut Vec<u8>) {
        let ours = &self.ours;
        if let Some(mru) = ours.mru {
            push_option(out, kind::MRU, &mru.to_be_bytes());
        }
        if let Some(accm) = ours.accm {
            push_option(out, kind::ACCM, &accm.to_be_bytes());
        }
        if let Some(auth) = ours.auth {
            push_option(out, kind::AUTHENTICATION, auth.value());
        }
        if let Some(magic) = ours.magic {
            push_option(out, kind::MAGIC, &magic.to_be_bytes());
        }
        if ours.pfc {
            push_option(out, kind::PFC, &[]);
        }
        if ours.acfc {
            push_option(out, kind::ACFC, &[]);
        }
    }

    fn peer_start(&mut self) {
        self.staged = Peer::default();
    }

    fn peer_option(&mut self, kind: u8, value: &[u8]) -> Verdict {
        match (kind, value.len()) {
            (kind::MRU, 2) => {
                let mru = u16::from_be_bytes([value[0], value[1]]);
                if mru < MIN_MRU {
                    return Verdict::Nak(MIN_MRU.to_be_bytes().to_vec());
                }
                self.staged.mru = mru;
            }
            (kind::ACCM, 4) => self.staged.accm = u32::from_be_bytes([value[0], value[1], value[2], value[3]]),
            (kind::MAGIC, 4) => {
                let theirs = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                if theirs == 0 || self.ours.magic == Some(theirs) {
                    let avoid = [theirs, self.magic()];
                    let suggested = magic(&mut self.rng, &avoid);
                    tracing::debug!(target: "vmodem::ppp", "LCP: the host's magic number {theirs:#x} Nak'd (looped back?)");
                    self.naked_magic = Some(suggested);
                    return Verdict::Nak(suggested.to_be_bytes().to_vec());
                }
            }
            (kind::PFC, 0) => self.staged.pfc = true,
            (kind::ACFC, 0) => self.staged.acfc = true,
            _ => return Verdict::Reject,
        }
        Verdict::Ack
    }

    fn peer_commit(&mut self) {
        self.peer = self.staged;
    }

    fn nak(&mut self, kind: u8, value: &[u8]) {
        let ours = &mut self.ours;
        match kind {
            kind::ACCM if ours.accm.is_some() => match <[u8; 4]>::try_from(value) {
                Ok(map) => ours.accm = ours.accm.map(|accm| accm | u32::from_be_bytes(map)),
                Err(_) => ours.accm = None,
            },
            kind::AUTHENTICATION if ours.auth.is_some() => {
                ours.auth = Method::parse(value).filter(|method| !self.tried.contains(method));
                match ours.auth {
                    Some(method) => {
                        tracing::debug!(target: "vmodem::ppp", "LCP: the host asks for {method:?}");
                        self.tried.push(method);
                    }
                    None => {
                        tracing::debug!(target: "vmodem::ppp", "LCP: the host Naks the modem's methods: no authentication")
                    }
                }
            }
            kind::MAGIC if ours.magic.is_some() => {
                let suggested = <[u8; 4]>::try_from(value).map(u32::from_be_bytes).unwrap_or(0);
                ours.magic = Some(if suggested == 0 || Some(suggested) == self.naked_magic {
                    magic(&mut self.rng, &[suggested])
                } else {
                    suggested
                });
            }
            kind::MRU | kind::PFC | kind::ACFC => self.reject(kind),
            // A Nak naming an option the modem did not ask for: it asks for nothing more.
            _ => {}
        }
    }

    fn reject(&mut self, kind: u8) {
        let ours = &mut self.ours;
        match kind {
            kind::MRU => ours.mru = None,
            kind::ACCM => ours.accm = None,
            kind::AUTHENTICATION => {
                ours.auth = None;
                tracing::debug!(target: "vmodem::ppp", "LCP: the host rejects authentication: none");
            }
            kind::MAGIC => ours.magic = None,
            kind::PFC => ours.pfc = false,
            kind::ACFC => ours.acfc = false,
            _ => {}
        }
    }
}
