//! The option negotiation automaton of RFC 1661 §4, shared by LCP and IPCP (RFC 1332 §2 uses
//! it unchanged). [`Negotiate`] is what differs between them: which options the modem asks
//! for, and what it says to the peer's.
//!
//! The whole state transition table (§4.1) is here, one method per event. The driver's events
//! are Up, Down, Open, Close (§4.3) and the Restart timer's expiry; the packets it hands in
//! make the others. Each event gives at most one of the table's layer actions, returned as a
//! [`Layer`]; the packets the actions send go to an outbox of [`Control`]s. The table's
//! "restart" option (`r`) and the passive option (`p`) are not implemented: the modem never
//! asks for them.

use std::time::Duration;

use tokio::time::Instant;

use super::packet::{self, MAX_REJECTED, Opt, Packet, code};

/// The Restart timer (RFC 1661 §4.6).
pub(super) const RESTART: Duration = Duration::from_secs(3);
/// Terminate-Requests sent before giving up (§4.6's Max-Terminate).
pub(super) const MAX_TERMINATE: u8 = 2;
/// Configure-Requests sent before giving up (§4.6's Max-Configure).
pub(super) const MAX_CONFIGURE: u8 = 10;
/// Configure-Naks sent without an Ack before the rest become Configure-Rejects (§4.6's
/// Max-Failure): a peer that insists on a value the modem Naks cannot loop for ever.
pub(super) const MAX_FAILURE: u8 = 5;

/// The automaton's states (RFC 1661 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Initial,
    Starting,
    Closed,
    Stopped,
    Closing,
    Stopping,
    ReqSent,
    AckRcvd,
    AckSent,
    Opened,
}

impl State {
    /// Whether the Restart timer runs in this state (§4.6).
    fn timed(self) -> bool {
        matches!(self, State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent)
    }
}

/// What the automaton tells the layer above it (§4.4: This-Layer-Up, -Down, -Started,
/// -Finished).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layer {
    Up,
    Down,
    Started,
    Finished,
}

/// The modem's verdict on one option of the peer's Configure-Request (§5.2-5.4).
#[derive(Debug)]
pub(super) enum Verdict {
    Ack,
    /// Not this value: the value suggested instead.
    Nak(Vec<u8>),
    Reject,
}

/// A control packet for the line: its protocol, and the packet from its code on.
#[derive(Debug)]
pub(super) struct Control {
    pub protocol: u16,
    pub packet: Vec<u8>,
}

/// What LCP and IPCP each negotiate.
pub(super) trait Negotiate {
    /// Appends the options of the modem's Configure-Request.
    fn request(&self, out: &mut Vec<u8>);
    /// A Configure-Request of the peer's begins: what it asks for is weighed from the defaults.
    fn peer_start(&mut self) {}
    /// One option of the peer's Configure-Request.
    fn peer_option(&mut self, kind: u8, value: &[u8]) -> Verdict;
    /// The modem acks the peer's Configure-Request: its options take effect.
    fn peer_commit(&mut self) {}
    /// The peer Nak'd an option of the modem's (or named one it wants asked for), with `value`.
    fn nak(&mut self, kind: u8, value: &[u8]);
    /// The peer rejected an option of the modem's.
    fn reject(&mut self, kind: u8);
}

/// One control protocol's automaton.
#[derive(Debug)]
pub(super) struct Fsm<N> {
    /// The protocol's name, for traces.
    name: &'static str,
    protocol: u16,
    state: State,
    /// What this protocol negotiates.
    pub options: N,
    /// The restart counter (§4.6).
    restart: u8,
    /// When the Restart timer expires, while it runs.
    deadline: Option<Instant>,
    /// The last identifier used.
    id: u8,
    /// The identifier and options of the last Configure-Request sent.
    request: Option<(u8, Vec<u8>)>,
    /// Configure-Naks sent since the last Configure-Ack.
    failures: u8,
    /// Packets discarded as malformed.
    malformed: u64,
}

impl<N: Negotiate> Fsm<N> {
    /// An automaton in the Initial state whose first packet has the identifier `first_id`.
    pub fn new(name: &'static str, protocol: u16, options: N, first_id: u8) -> Fsm<N> {
        Fsm {
            name,
            protocol,
            state: State::Initial,
            options,
            restart: 0,
            deadline: None,
            id: first_id.wrapping_sub(1),
            request: None,
            failures: 0,
            malformed: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_opened(&self) -> bool {
        self.state == State::Opened
    }

    /// When [`Fsm::timeout`] is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Packets discarded as malformed.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// A fresh identifier (§5: each new request gets one).
    pub fn next_id(&mut self) -> u8 {
        self.id = self.id.wrapping_add(1);
        self.id
    }

    /// The lower layer is up (§4.3).
    pub fn up(&mut self, now: Instant, tx: &mut Vec<Control>) -> Option<Layer> {
        self.failures = 0;
        match self.state {
            State::Initial => self.goto(State::Closed),
            State::Starting => {
                self.irc(false);
                self.scr(now, tx);
                self.goto(State::ReqSent);
            }
            _ => {}
        }
        None
    }

    /// The lower layer is down (§4.3).
    pub fn down(&mut self) -> Option<Layer> {
        match self.state {
            State::Closed | State::Closing => self.goto(State::Initial),
            State::Stopped => {
                self.goto(State::Starting);
                return Some(Layer::Started);
            }
            State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => self.goto(State::Starting),
            State::Opened => {
                self.goto(State::Starting);
                return Some(Layer::Down);
            }
            State::Initial | State::Starting => {}
        }
        None
    }

    /// The administrative Open (§4.3).
    pub fn open(&mut self, now: Instant, tx: &mut Vec<Control>) -> Option<Layer> {
        match self.state {
            State::Initial => {
                self.goto(State::Starting);
                return Some(Layer::Started);
            }
            State::Closed => {
                self.irc(false);
                self.scr(now, tx);
                self.goto(State::ReqSent);
            }
            State::Closing => self.goto(State::Stopping),
            _ => {}
        }
        None
    }

    /// The administrative Close (§4.3).
    pub fn close(&mut self, now: Instant, tx: &mut Vec<Control>) -> Option<Layer> {
        match self.state {
            State::Starting => {
                self.goto(State::Initial);
                return Some(Layer::Finished);
            }
            State::Stopped => self.goto(State::Closed),
            State::Stopping => self.goto(State::Closing),
            State::ReqSent | State::AckRcvd | State::AckSent => {
                self.irc(true);
                self.str(now, tx);
                self.goto(State::Closing);
            }
            State::Opened => {
                self.irc(true);
                self.str(now, tx);
                self.goto(State::Closing);
                return Some(Layer::Down);
            }
            State::Initial | State::Closed | State::Closing => {}
        }
        None
    }

    /// The Restart timer, once [`Fsm::deadline`] has come: TO+ or TO- (§4.5).
    pub fn timeout(&mut self, now: Instant, tx: &mut Vec<Control>) -> Option<Layer> {
        if self.deadline.is_none_or(|deadline| deadline > now) {
            return None;
        }
        if self.restart > 0 {
            match self.state {
                State::Closing | State::Stopping => self.str(now, tx),
                State::ReqSent | State::AckRcvd => {
                    self.scr(now, tx);
                    self.goto(State::ReqSent);
                }
                State::AckSent => self.scr(now, tx),
                _ => {}
            }
            return None;
        }
        tracing::debug!(target: "vmodem::ppp", "{}: no answer from the peer, giving up", self.name);
        match self.state {
            State::Closing => self.goto(State::Closed),
            State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => self.goto(State::Stopped),
            _ => return None,
        }
        Some(Layer::Finished)
    }

    /// A Code-Reject or Protocol-Reject: RXJ+ when what was rejected can be done without,
    /// RXJ- when it is `catastrophic` (§4.5).
    pub fn rejected(&mut self, now: Instant, catastrophic: bool, tx: &mut Vec<Control>) -> Option<Layer> {
        if !catastrophic {
            return None;
        }
        match self.state {
            State::Closed | State::Closing => self.goto(State::Closed),
            State::Stopped | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => {
                self.goto(State::Stopped)
            }
            State::Opened => {
                self.irc(true);
                self.str(now, tx);
                self.goto(State::Stopping);
                return Some(Layer::Down);
            }
            State::Initial | State::Starting => return None,
        }
        Some(Layer::Finished)
    }

    /// A packet of this protocol with a code of §5.1-5.6 (any other code is unknown here: the
    /// driver takes LCP's codes 8-11 itself).
    pub fn receive(&mut self, now: Instant, bytes: &[u8], tx: &mut Vec<Control>) -> Option<Layer> {
        let Some(packet) = Packet::parse(bytes) else {
            self.discard("a malformed packet");
            return None;
        };
        tracing::trace!(target: "vmodem::ppp", "{}: received code {} id {}", self.name, packet.code, packet.id);
        if matches!(self.state, State::Initial | State::Starting) {
            // The lower layer is not up: nothing is received (§4.1's illegal events).
            return None;
        }
        match packet.code {
            code::CONFIGURE_REQUEST => self.rcr(now, packet, tx),
            code::CONFIGURE_ACK => self.rca(now, packet, tx),
            code::CONFIGURE_NAK | code::CONFIGURE_REJECT => self.rcn(now, packet, tx),
            code::TERMINATE_REQUEST => self.rtr(now, packet, tx),
            code::TERMINATE_ACK => self.rta(now, tx),
            code::CODE_REJECT => {
                // §5.6: a rejected code the automaton needs (1 to 7) is catastrophic.
                let catastrophic = packet.data.first().is_none_or(|code| (1..=7).contains(code));
                self.rejected(now, catastrophic, tx)
            }
            _ => {
                self.scj(bytes, tx);
                None
            }
        }
    }

    /// RCR+ or RCR- (§5.1).
    fn rcr(&mut self, now: Instant, packet: Packet, tx: &mut Vec<Control>) -> Option<Layer> {
        let Some(options) = packet::options(packet.data) else {
            self.discard("a Configure-Request with malformed options");
            return None;
        };
        match self.state {
            State::Closed => {
                self.sta(packet.id, tx);
                return None;
            }
            State::Closing | State::Stopping | State::Initial | State::Starting => return None,
            _ => {}
        }
        let (good, code, reply) = self.judge(packet.data, &options);
        let state = self.state;
        let mut layer = None;
        match state {
            State::Stopped => {
                self.irc(false);
                self.scr(now, tx);
            }
            State::Opened => {
                self.scr(now, tx);
                layer = Some(Layer::Down);
            }
            _ => {}
        }
        self.send(tx, code, packet.id, &reply);
        match (state, good) {
            (State::AckRcvd, true) => {
                self.goto(State::Opened);
                layer = Some(Layer::Up);
            }
            (State::AckRcvd, false) => {}
            (_, true) => self.goto(State::AckSent),
            (_, false) => self.goto(State::ReqSent),
        }
        layer
    }

    /// Weighs the peer's options: the Configure-Ack, -Nak or -Reject to send, and whether it
    /// is an Ack (RCR+). Rejects win over Naks (§5.3-5.4: a Nak only once nothing is rejected).
    fn judge(&mut self, data: &[u8], options: &[Opt]) -> (bool, u8, Vec<u8>) {
        self.options.peer_start();
        let (mut naks, mut rejects) = (Vec::new(), Vec::new());
        for option in options {
            match self.options.peer_option(option.kind, option.value) {
                Verdict::Ack => {}
                Verdict::Nak(value) if self.failures < MAX_FAILURE => {
                    packet::push_option(&mut naks, option.kind, &value)
                }
                Verdict::Nak(_) | Verdict::Reject => rejects.extend_from_slice(option.raw),
            }
        }
        if !rejects.is_empty() {
            (false, code::CONFIGURE_REJECT, rejects)
        } else if !naks.is_empty() {
            self.failures += 1;
            (false, code::CONFIGURE_NAK, naks)
        } else {
            self.failures = 0;
            self.options.peer_commit();
            (true, code::CONFIGURE_ACK, data.to_vec())
        }
    }

    /// Whether `packet` answers the last Configure-Request (§5.2-5.4: other answers are
    /// silently discarded).
    fn answers(&self, packet: &Packet) -> bool {
        let answers = self.request.as_ref().is_some_and(|(id, _)| *id == packet.id);
        if !answers {
            tracing::debug!(target: "vmodem::ppp", "{}: an answer to no request of ours (id {})", self.name, packet.id);
        }
        answers
    }

    /// RCA (§5.2): valid only when it acks exactly the options sent.
    fn rca(&mut self, now: Instant, packet: Packet, tx: &mut Vec<Control>) -> Option<Layer> {
        if !self.answers(&packet) {
            return None;
        }
        if self.request.as_ref().is_some_and(|(_, options)| options != packet.data) {
            self.discard("a Configure-Ack of other options");
            return None;
        }
        match self.state {
            State::Closed | State::Stopped => self.sta(packet.id, tx),
            State::ReqSent => {
                self.irc(false);
                self.goto(State::AckRcvd);
            }
            State::AckRcvd => {
                self.scr(now, tx);
                self.goto(State::ReqSent);
            }
            State::AckSent => {
                self.irc(false);
                self.goto(State::Opened);
                return Some(Layer::Up);
            }
            State::Opened => {
                self.scr(now, tx);
                self.goto(State::ReqSent);
                return Some(Layer::Down);
            }
            _ => {}
        }
        None
    }

    /// RCN: a Configure-Nak or Configure-Reject (§5.3-5.4).
    fn rcn(&mut self, now: Instant, packet: Packet, tx: &mut Vec<Control>) -> Option<Layer> {
        if !self.answers(&packet) {
            return None;
        }
        let Some(options) = packet::options(packet.data) else {
            self.discard("a Configure-Nak/Reject with malformed options");
            return None;
        };
        match self.state {
            State::Closed | State::Stopped => {
                self.sta(packet.id, tx);
                return None;
            }
            State::ReqSent | State::AckRcvd | State::AckSent | State::Opened => {}
            _ => return None,
        }
        for option in &options {
            if packet.code == code::CONFIGURE_NAK {
                self.options.nak(option.kind, option.value);
            } else {
                self.options.reject(option.kind);
            }
        }
        match self.state {
            State::ReqSent | State::AckSent => {
                self.irc(false);
                self.scr(now, tx);
            }
            State::AckRcvd => {
                self.scr(now, tx);
                self.goto(State::ReqSent);
            }
            State::Opened => {
                self.scr(now, tx);
                self.goto(State::ReqSent);
                return Some(Layer::Down);
            }
            _ => {}
        }
        None
    }

    /// RTR (§5.5).
    fn rtr(&mut self, now: Instant, packet: Packet, tx: &mut Vec<Control>) -> Option<Layer> {
        self.sta(packet.id, tx);
        match self.state {
            State::ReqSent | State::AckRcvd | State::AckSent => self.goto(State::ReqSent),
            State::Opened => {
                self.zrc(now);
                self.goto(State::Stopping);
                return Some(Layer::Down);
            }
            _ => {}
        }
        None
    }

    /// RTA (§5.5).
    fn rta(&mut self, now: Instant, tx: &mut Vec<Control>) -> Option<Layer> {
        match self.state {
            State::Closing => self.goto(State::Closed),
            State::Stopping => self.goto(State::Stopped),
            State::AckRcvd => {
                self.goto(State::ReqSent);
                return None;
            }
            State::Opened => {
                self.scr(now, tx);
                self.goto(State::ReqSent);
                return Some(Layer::Down);
            }
            _ => return None,
        }
        Some(Layer::Finished)
    }

    /// Goes to `state`; the Restart timer stops where it does not run.
    fn goto(&mut self, state: State) {
        if state != self.state {
            tracing::debug!(target: "vmodem::ppp", "{}: {:?} -> {:?}", self.name, self.state, state);
            self.state = state;
        }
        if !state.timed() {
            self.deadline = None;
        }
    }

    fn discard(&mut self, what: &str) {
        self.malformed += 1;
        tracing::debug!(target: "vmodem::ppp", "{}: {what} discarded", self.name);
    }

    fn send(&self, tx: &mut Vec<Control>, code: u8, id: u8, data: &[u8]) {
        tracing::trace!(target: "vmodem::ppp", "{}: sending code {code} id {id}", self.name);
        tx.push(Control { protocol: self.protocol, packet: packet::build(code, id, data) });
    }

    /// Initialize-Restart-Count (§4.4).
    fn irc(&mut self, terminate: bool) {
        self.restart = if terminate { MAX_TERMINATE } else { MAX_CONFIGURE };
    }

    /// Zero-Restart-Count (§4.4): the timer runs once more, for the peer to see the ack.
    fn zrc(&mut self, now: Instant) {
        self.restart = 0;
        self.deadline = Some(now + RESTART);
    }

    /// Send-Configure-Request (§4.4).
    fn scr(&mut self, now: Instant, tx: &mut Vec<Control>) {
        let mut options = Vec::new();
        self.options.request(&mut options);
        let id = self.next_id();
        self.send(tx, code::CONFIGURE_REQUEST, id, &options);
        self.request = Some((id, options));
        self.restart = self.restart.saturating_sub(1);
        self.deadline = Some(now + RESTART);
    }

    /// Send-Terminate-Request (§4.4).
    fn str(&mut self, now: Instant, tx: &mut Vec<Control>) {
        let id = self.next_id();
        self.send(tx, code::TERMINATE_REQUEST, id, &[]);
        self.restart = self.restart.saturating_sub(1);
        self.deadline = Some(now + RESTART);
    }

    /// Send-Terminate-Ack (§4.4).
    fn sta(&self, id: u8, tx: &mut Vec<Control>) {
        self.send(tx, code::TERMINATE_ACK, id, &[]);
    }

    /// Send-Code-Reject (§5.6): the rejected packet, cut to fit the peer's MRU.
    fn scj(&mut self, rejected: &[u8], tx: &mut Vec<Control>) {
        tracing::debug!(target: "vmodem::ppp", "{}: code {:?} rejected", self.name, rejected.first());
        let id = self.next_id();
        self.send(tx, code::CODE_REJECT, id, &rejected[..rejected.len().min(MAX_REJECTED)]);
    }
}
