//! The PPP link's control protocols, the modem's side, IO-free: LCP (RFC 1661), the host's
//! authentication by PAP or CHAP (RFC 1334, RFC 1994), IPCP (RFC 1332, RFC 1877), and the IPv4
//! packets that flow once IPCP is up, over HDLC-like framing ([`hdlc`]).
//!
//! # Driving contract
//!
//! [`Link::new`] starts the link in the Establish phase with the modem's LCP Configure-Request
//! queued (the module speaks first). Its driver then calls, each with the current time, which
//! never goes backwards:
//!
//! ```text
//! receive(now, bytes)          the line's bytes, as they come
//! send_packet(packet)          an IPv4 packet for the host (dropped unless is_up())
//! close(now)                   the modem ends the link (its bearer is gone)
//! handle_timeout(now)          once poll_timeout() has come
//!
//! after each call:
//! take_output(out)   -> the bytes for the line (the driver drains them every time)
//! poll_packet()      -> the host's IPv4 packets, oldest first
//! poll_timeout()     -> the next deadline
//! is_up(), is_dead() -> IP flows; the link is over (the modem says NO CARRIER)
//! ```
//!
//! The phases (RFC 1661 §3.2): Establish (LCP negotiates), Authenticate (if the modem asked the
//! host to, `auth.rs`), Network (IPCP, then IPv4), Terminate, Dead. The link is dead once a
//! Terminate-Request of the host's is acked (in any phase: the module hangs up there, without
//! §3.7's wait), once its own is acked or Max-Terminate (2) went unanswered, or once LCP gave up
//! (Max-Configure, 10, unanswered requests). Authentication that fails or goes unanswered,
//! a Protocol-Reject of IPCP, IPv4, PAP or CHAP, and IPCP finishing end the link through LCP's
//! Terminate-Request. Once dead, the link takes and sends nothing.
//!
//! Framing (RFC 1662 §3-7, RFC 1661 §6.5-6.6): until LCP is opened every frame has the address
//! and control fields, a two-octet protocol and escapes every control character. Once it is,
//! the modem escapes the characters in the host's ACCM, leaves out the address and control
//! fields if the host asked for ACFC, and sends one-octet protocols (IPv4's 0x21) if it asked
//! for PFC: a peer asking for these says it can receive them. LCP packets always keep the
//! address and control fields, and its codes 1 to 7 the default ACCM too (RFC 1661 §6). On
//! receipt both forms of each field are taken at any time, and once LCP is opened the control
//! characters in the modem's ACCM that arrive unescaped are dropped.
//!
//! Before LCP is opened only LCP is taken (§3.4); during authentication only LCP, PAP and CHAP
//! (§3.5); protocols the modem does not speak get a Protocol-Reject once LCP is opened
//! (§5.7): only LCP, PAP, CHAP, IPCP and IPv4 are spoken (CCP and IPV6CP are rejected, as a
//! SIM7080 rejects CCP). The choices per protocol are written in `link/lcp.rs`, `link/ipcp.rs`
//! and `link/auth.rs`; the automaton LCP and IPCP share is `link/fsm.rs`.
//!
//! Bounds: a frame carries at most the larger of the configured MRU and the default 1500 octets
//! (RFC 1661 §2) of information; the host's IPv4 packets wait in a queue of [`MAX_QUEUED`]
//! (more are dropped and traced); a Code-Reject or Protocol-Reject carries at most the first
//! 124 octets of what it rejects; the output grows only with what the calls since the last
//! [`Link::take_output`] produced.

mod auth;
mod fsm;
mod ipcp;
mod lcp;
mod packet;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use fastrand::Rng;
use tokio::time::Instant;

pub use self::auth::pap_passwords;
use self::auth::{Authenticator, Outcome};
use self::fsm::{Control, Fsm, Layer, State};
use self::ipcp::Ipcp;
use self::lcp::{DEFAULT_MRU, Lcp};
use self::packet::{MAX_REJECTED, Packet, code, protocol};
use super::hdlc::{self, DEFAULT_ACCM, Decoder};

/// The host's IPv4 packets that wait for [`Link::poll_packet`] at most; more are dropped.
pub const MAX_QUEUED: usize = 64;

/// What one link is.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Which module's behaviour.
    pub flavour: Flavour,
    /// The user name and password the host must authenticate with (PAP Authenticate-Nak or
    /// CHAP Failure, then LCP terminates, if it uses others); None: any are taken. A host that
    /// rejects authentication altogether is let in without it, as the modules do.
    pub credentials: Option<(String, String)>,
    /// The address IPCP gives the host (the bearer's address).
    pub host: Ipv4Addr,
    /// The primary and secondary name servers IPCP gives the host (RFC 1877).
    pub dns: [Ipv4Addr; 2],
    /// The MRU the modem takes (1500 unless a module is known to ask for another).
    pub mru: u16,
    /// Draws the modem's Magic-Number and CHAP challenges: a run repeats exactly.
    pub seed: u64,
}

/// Which module's PPP the link speaks: what its LCP Configure-Request asks for (the details
/// are in `link/lcp.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// SIM800/SIM900: PAP, ACCM 0x000A0000, no Magic-Number; identifiers from 1.
    Sim800,
    /// SIM7070/SIM7080/SIM7090: CHAP-MD5, ACCM 0, a Magic-Number; identifiers from 0.
    Sim7080,
}

/// The phases of RFC 1661 §3.2, from the modem's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// LCP negotiates (§3.4).
    Establish,
    /// The host proves who it is (§3.5).
    Authenticate,
    /// IPCP, and IPv4 once it is opened (§3.6).
    Network,
    /// The modem's Terminate-Request is out (§3.7).
    Terminate,
    /// Over (§3.1): nothing more is taken or sent.
    Dead,
}

/// How the modem's frames are framed (RFC 1662 §7.1, RFC 1661 §6.5-6.6).
#[derive(Debug, Clone, Copy)]
struct Framing {
    /// The characters escaped.
    accm: u32,
    /// Address and control left out.
    acfc: bool,
    /// One-octet protocols where they fit.
    pfc: bool,
}

impl Framing {
    /// Before LCP is opened, and for LCP's codes 1 to 7 always.
    const DEFAULT: Framing = Framing { accm: DEFAULT_ACCM, acfc: false, pfc: false };

    /// Appends the frame's content: address and control, protocol, `information`.
    fn content(self, protocol: u16, information: &[u8]) -> Vec<u8> {
        let mut content = Vec::with_capacity(information.len() + 4);
        if !self.acfc || protocol == protocol::LCP {
            content.extend_from_slice(&[0xFF, 0x03]);
        }
        match u8::try_from(protocol) {
            Ok(short) if self.pfc => content.push(short),
            _ => content.extend_from_slice(&protocol.to_be_bytes()),
        }
        content.extend_from_slice(information);
        content
    }
}

/// The modem's side of one PPP link.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    decoder: Decoder,
    lcp: Fsm<Lcp>,
    ipcp: Fsm<Ipcp>,
    /// While LCP is opened with authentication agreed.
    auth: Option<Authenticator>,
    phase: Phase,
    /// How the modem's frames other than LCP's codes 1 to 7 are framed now.
    framing: Framing,
    rng: Rng,
    /// Control packets to frame.
    tx: Vec<Control>,
    /// Bytes for the line.
    out: Vec<u8>,
    /// The host's IPv4 packets.
    packets: VecDeque<Vec<u8>>,
    /// Frames and packets discarded as malformed here (the decoder counts its own).
    malformed: u64,
}

impl Link {
    /// A link for `config`; the modem's LCP Configure-Request is queued at once.
    pub fn new(config: LinkConfig, now: Instant) -> Link {
        let mut rng = Rng::with_seed(config.seed);
        let first_id = match config.flavour {
            Flavour::Sim800 => 1,
            Flavour::Sim7080 => 0,
        };
        let lcp = Fsm::new("LCP", protocol::LCP, Lcp::new(&config, rng.fork()), first_id);
        let ipcp = Fsm::new("IPCP", protocol::IPCP, Ipcp::new(config.host, config.dns), first_id);
        let decoder = Decoder::new(usize::from(config.mru.max(DEFAULT_MRU)) + 4);
        let mut link = Link {
            config,
            decoder,
            lcp,
            ipcp,
            auth: None,
            phase: Phase::Establish,
            framing: Framing::DEFAULT,
            rng,
            tx: Vec::new(),
            out: Vec::new(),
            packets: VecDeque::new(),
            malformed: 0,
        };
        // The line is up (RFC 1661 §4.3): LCP starts; IPCP waits for the Network phase.
        link.lcp.up(now, &mut link.tx);
        link.lcp.open(now, &mut link.tx);
        link.ipcp.open(now, &mut link.tx);
        link.flush();
        link
    }

    /// Takes the bytes the host sent on the line.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        let mut frames = Vec::new();
        self.decoder.decode(bytes, &mut frames);
        for frame in frames {
            if self.phase == Phase::Dead {
                break;
            }
            self.frame(now, &frame);
            self.flush();
        }
    }

    /// Appends the bytes for the line to `out`.
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
    }

    /// The host's next IPv4 packet.
    pub fn poll_packet(&mut self) -> Option<Vec<u8>> {
        self.packets.pop_front()
    }

    /// Sends an IPv4 packet to the host: false (dropped) unless IPCP is opened and the packet
    /// fits the host's MRU ([`Link::mtu`]).
    pub fn send_packet(&mut self, packet: &[u8]) -> bool {
        if !self.is_up() || packet.is_empty() || packet.len() > self.mtu() {
            return false;
        }
        let content = self.framing.content(protocol::IPV4, packet);
        hdlc::encode(&content, self.framing.accm, &mut self.out);
        true
    }

    /// The longest IPv4 packet the host takes: its MRU.
    pub fn mtu(&self) -> usize {
        usize::from(self.lcp.options.peer().mru)
    }

    /// Whether IPCP is opened: IPv4 flows.
    pub fn is_up(&self) -> bool {
        self.phase == Phase::Network && self.ipcp.is_opened()
    }

    /// The modem ends the link (its bearer is gone): LCP's Terminate-Request, repeated on the
    /// restart timer; dead once acked or after Max-Terminate.
    pub fn close(&mut self, now: Instant) {
        if self.phase != Phase::Dead {
            tracing::info!(target: "vmodem::ppp", "the modem ends the link");
            self.terminate(now);
            self.flush();
        }
    }

    /// Whether the link is over.
    pub fn is_dead(&self) -> bool {
        self.phase == Phase::Dead
    }

    /// When [`Link::handle_timeout`] is due: the restart timers of LCP, IPCP and
    /// authentication (RFC 1661 §4.6).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Dead {
            return None;
        }
        let auth = self.auth.as_ref().and_then(Authenticator::deadline);
        [self.lcp.deadline(), self.ipcp.deadline(), auth].into_iter().flatten().min()
    }

    /// Runs the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Dead {
            return;
        }
        let layer = self.lcp.timeout(now, &mut self.tx);
        self.lcp_layer(now, layer);
        let layer = self.ipcp.timeout(now, &mut self.tx);
        self.ipcp_layer(now, layer);
        if let Some(outcome) = self.auth.as_mut().and_then(|auth| auth.timeout(now, &mut self.tx)) {
            self.authenticated(now, outcome);
        }
        self.flush();
    }

    /// Frames discarded: by the decoder (bad FCS, aborted, too long) and here (malformed).
    pub fn discarded(&self) -> u64 {
        let auth = self.auth.as_ref().map_or(0, Authenticator::malformed);
        self.decoder.discarded() + self.malformed + self.lcp.malformed() + self.ipcp.malformed() + auth
    }

    /// One frame's content.
    fn frame(&mut self, now: Instant, content: &[u8]) {
        let Some((protocol, information)) = split(content) else {
            self.discard("a frame without a protocol");
            return;
        };
        match protocol {
            protocol::LCP => self.lcp_packet(now, information),
            _ if !self.lcp.is_opened() => {
                tracing::debug!(target: "vmodem::ppp", "protocol {protocol:#06x} before LCP is opened: discarded");
            }
            protocol::PAP | protocol::CHAP => {
                let credentials = self.config.credentials.as_ref();
                let outcome = match self.auth.as_mut() {
                    Some(auth) => auth.receive(protocol, information, credentials, &mut self.tx),
                    None => {
                        tracing::debug!(target: "vmodem::ppp", "protocol {protocol:#06x} without authentication: discarded");
                        None
                    }
                };
                if let Some(outcome) = outcome {
                    self.authenticated(now, outcome);
                }
            }
            // The automaton takes nothing before the Network phase (§3.5).
            protocol::IPCP => {
                let layer = self.ipcp.receive(now, information, &mut self.tx);
                self.ipcp_layer(now, layer);
            }
            protocol::IPV4 => self.ipv4(information),
            _ => self.protocol_reject(protocol, information),
        }
    }

    /// An LCP packet: Protocol-Reject, Echo and Discard here (§5.7-5.9), the rest to the
    /// automaton.
    fn lcp_packet(&mut self, now: Instant, bytes: &[u8]) {
        let Some(packet) = Packet::parse(bytes) else {
            self.discard("a malformed LCP packet");
            return;
        };
        match packet.code {
            code::PROTOCOL_REJECT | code::ECHO_REQUEST | code::ECHO_REPLY | code::DISCARD_REQUEST
                if !self.lcp.is_opened() =>
            {
                tracing::debug!(target: "vmodem::ppp", "LCP code {} before LCP is opened: discarded", packet.code);
            }
            code::PROTOCOL_REJECT => self.protocol_rejected(now, packet.data),
            code::ECHO_REQUEST => self.echo(packet),
            code::ECHO_REPLY | code::DISCARD_REQUEST => {}
            _ => {
                let layer = self.lcp.receive(now, bytes, &mut self.tx);
                self.lcp_layer(now, layer);
                if packet.code == code::TERMINATE_REQUEST {
                    self.die("the host ended the link");
                }
            }
        }
    }

    /// An Echo-Request (§5.8): the Echo-Reply carries the modem's Magic-Number and the
    /// request's data, cut to the host's MRU.
    fn echo(&mut self, packet: Packet) {
        let Some((magic, data)) = packet.data.split_first_chunk::<4>() else {
            self.discard("a short Echo-Request");
            return;
        };
        let ours = self.lcp.options.magic();
        if ours != 0 && u32::from_be_bytes(*magic) == ours {
            tracing::debug!(target: "vmodem::ppp", "LCP: an Echo-Request with the modem's magic number (looped back?)");
            return;
        }
        let mut reply = ours.to_be_bytes().to_vec();
        reply.extend_from_slice(&data[..data.len().min(self.mtu().saturating_sub(8))]);
        self.tx.push(Control { protocol: protocol::LCP, packet: packet::build(code::ECHO_REPLY, packet.id, &reply) });
    }

    /// A Protocol-Reject from the host (§5.7).
    fn protocol_rejected(&mut self, now: Instant, data: &[u8]) {
        let Some((rejected, _)) = data.split_first_chunk::<2>() else {
            self.discard("a short Protocol-Reject");
            return;
        };
        match u16::from_be_bytes(*rejected) {
            protocol::LCP => {
                let layer = self.lcp.rejected(now, true, &mut self.tx);
                self.lcp_layer(now, layer);
            }
            rejected @ (protocol::IPCP | protocol::IPV4 | protocol::PAP | protocol::CHAP) => {
                tracing::info!(target: "vmodem::ppp", "the host rejects protocol {rejected:#06x}: the link ends");
                self.terminate(now);
            }
            rejected => {
                tracing::debug!(target: "vmodem::ppp", "the host rejects protocol {rejected:#06x}");
            }
        }
    }

    /// Sends a Protocol-Reject of a packet (§5.7).
    fn protocol_reject(&mut self, protocol: u16, information: &[u8]) {
        tracing::debug!(target: "vmodem::ppp", "protocol {protocol:#06x} rejected");
        let mut data = protocol.to_be_bytes().to_vec();
        data.extend_from_slice(&information[..information.len().min(MAX_REJECTED - 2)]);
        let id = self.lcp.next_id();
        self.tx.push(Control { protocol: protocol::LCP, packet: packet::build(code::PROTOCOL_REJECT, id, &data) });
    }

    /// An IPv4 packet from the host.
    fn ipv4(&mut self, packet: &[u8]) {
        if !self.is_up() {
            tracing::debug!(target: "vmodem::ppp", "an IPv4 packet before IPCP is opened: dropped");
        } else if packet.is_empty() {
            self.discard("an empty IPv4 packet");
        } else if self.packets.len() >= MAX_QUEUED {
            tracing::debug!(target: "vmodem::ppp", "{MAX_QUEUED} IPv4 packets already wait: one dropped");
        } else {
            self.packets.push_back(packet.to_vec());
        }
    }

    /// What LCP's automaton says.
    fn lcp_layer(&mut self, now: Instant, layer: Option<Layer>) {
        match layer {
            Some(Layer::Up) => {
                let peer = self.lcp.options.peer();
                self.framing = Framing { accm: peer.accm, acfc: peer.acfc, pfc: peer.pfc };
                self.decoder.set_accm(self.lcp.options.receive_accm());
                tracing::info!(target: "vmodem::ppp", "LCP opened ({peer:?})");
                match self.lcp.options.auth() {
                    Some(method) => {
                        self.phase = Phase::Authenticate;
                        self.auth = Some(Authenticator::start(method, now, self.rng.fork(), &mut self.tx));
                    }
                    None => self.network(now),
                }
            }
            Some(Layer::Down) => {
                tracing::info!(target: "vmodem::ppp", "LCP down");
                self.framing = Framing::DEFAULT;
                self.decoder.set_accm(DEFAULT_ACCM);
                if let Some(auth) = self.auth.take() {
                    self.malformed += auth.malformed();
                }
                let layer = self.ipcp.down();
                self.ipcp_layer(now, layer);
                if matches!(self.phase, Phase::Authenticate | Phase::Network) {
                    self.phase = Phase::Establish;
                }
            }
            Some(Layer::Finished) => self.die("LCP finished"),
            Some(Layer::Started) | None => {}
        }
    }

    /// What IPCP's automaton says.
    fn ipcp_layer(&mut self, now: Instant, layer: Option<Layer>) {
        match layer {
            Some(Layer::Up) => {
                tracing::info!(target: "vmodem::ppp", "IPCP opened: the host is {}", self.config.host);
            }
            Some(Layer::Down) => {
                tracing::info!(target: "vmodem::ppp", "IPCP down");
                self.packets.clear();
            }
            Some(Layer::Finished) => {
                tracing::info!(target: "vmodem::ppp", "IPCP finished: the link ends");
                self.terminate(now);
            }
            Some(Layer::Started) | None => {}
        }
    }

    /// Authentication ended.
    fn authenticated(&mut self, now: Instant, outcome: Outcome) {
        match outcome {
            Outcome::Passed if self.phase == Phase::Authenticate => self.network(now),
            Outcome::Passed => {}
            Outcome::Failed => {
                tracing::info!(target: "vmodem::ppp", "the host failed to authenticate: the link ends");
                self.terminate(now);
            }
        }
    }

    /// The Network phase begins: IPCP's lower layer is up.
    fn network(&mut self, now: Instant) {
        self.phase = Phase::Network;
        let layer = self.ipcp.up(now, &mut self.tx);
        self.ipcp_layer(now, layer);
    }

    /// LCP's Close: the Terminate phase, or dead when there is nothing to terminate.
    fn terminate(&mut self, now: Instant) {
        self.phase = Phase::Terminate;
        let layer = self.lcp.close(now, &mut self.tx);
        self.lcp_layer(now, layer);
        if matches!(self.lcp.state(), State::Initial | State::Closed | State::Stopped) {
            self.die("LCP closed");
        }
    }

    fn die(&mut self, why: &str) {
        if self.phase != Phase::Dead {
            tracing::info!(target: "vmodem::ppp", "the link is dead: {why}");
            self.phase = Phase::Dead;
            self.packets.clear();
        }
    }

    fn discard(&mut self, what: &str) {
        self.malformed += 1;
        tracing::debug!(target: "vmodem::ppp", "{what} discarded");
    }

    /// Frames the queued control packets onto the line.
    fn flush(&mut self) {
        for Control { protocol, packet } in self.tx.drain(..) {
            let configuring = protocol == protocol::LCP && packet.first().is_some_and(|code| (1..=7).contains(code));
            let framing = if configuring { Framing::DEFAULT } else { self.framing };
            hdlc::encode(&framing.content(protocol, &packet), framing.accm, &mut self.out);
        }
    }
}

/// A frame's protocol and information, with or without address and control, with a one- or
/// two-octet protocol (RFC 1661 §2, §6.5-6.6: the receiver takes both). None when the protocol
/// field is invalid (its last octet even, or an earlier one odd).
fn split(content: &[u8]) -> Option<(u16, &[u8])> {
    let rest = content.strip_prefix(&[0xFF, 0x03]).unwrap_or(content);
    match *rest {
        [short, ref information @ ..] if short & 1 == 1 => Some((u16::from(short), information)),
        [high, low, ref information @ ..] if low & 1 == 1 => Some((u16::from_be_bytes([high, low]), information)),
        _ => None,
    }
}
