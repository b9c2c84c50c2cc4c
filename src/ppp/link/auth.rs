//! The authentication phase (RFC 1661 §3.5) with the modem as the authenticator: the host
//! proves who it is with PAP (RFC 1334 §2) or CHAP-MD5 (RFC 1994), whichever LCP agreed.
//!
//! - PAP: each Authenticate-Request gets an Authenticate-Ack with an empty message (as a
//!   SIM7080 answers pppd) when the credentials are right, else an Authenticate-Nak with the
//!   message [`FAILURE`]. The host retransmits; the modem waits Max-Configure restart periods
//!   (30 s) for a request, then gives up.
//! - CHAP: the modem sends a Challenge of 16 random octets in the name [`NAME`], a new one
//!   (new identifier, new value: RFC 1994 §4.1) every restart period, Max-Configure in all. A
//!   Response to the current one gets Success (empty message) or Failure ([`FAILURE`]); a
//!   Response repeated after that gets the same answer again. There is no re-challenge once
//!   the link is up.
//!
//! Without configured credentials any are right. With them, PAP's Peer-ID and Password and
//! CHAP's Name must be the user name and password, and CHAP's value MD5(identifier || secret ||
//! challenge) (RFC 1994 §2.2). A failure or giving up ends the link (RFC 1334 §2.2.2, RFC 1994
//! §4.4). Passwords are never logged.

use fastrand::Rng;
use tokio::time::Instant;

use super::fsm::{Control, MAX_CONFIGURE, RESTART};
use super::lcp::Method;
use super::packet::{self, Packet, protocol};

/// The name the modem's CHAP Challenges carry.
pub(super) const NAME: &[u8] = b"vmodem";
/// The message of a PAP Authenticate-Nak and a CHAP Failure.
pub(super) const FAILURE: &[u8] = b"authentication failed";
/// The length of the modem's CHAP challenge values.
const CHALLENGE_LENGTH: usize = 16;

/// PAP's and CHAP's codes.
mod code {
    /// PAP's Authenticate-Request (RFC 1334 §2.2.1).
    pub const PAP_REQUEST: u8 = 1;
    pub const PAP_ACK: u8 = 2;
    pub const PAP_NAK: u8 = 3;
    /// CHAP's Challenge (RFC 1994 §4.1).
    pub const CHAP_CHALLENGE: u8 = 1;
    pub const CHAP_RESPONSE: u8 = 2;
    pub const CHAP_SUCCESS: u8 = 3;
    pub const CHAP_FAILURE: u8 = 4;
}

/// How authentication ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Passed,
    /// Wrong credentials, or the host never answered.
    Failed,
}

/// Where authentication is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Waiting,
    Decided(Outcome),
}

/// The modem's side of PAP or CHAP.
#[derive(Debug)]
pub(super) struct Authenticator {
    method: Method,
    step: Step,
    /// CHAP: the identifier and value of the challenge out.
    challenge: (u8, [u8; CHALLENGE_LENGTH]),
    /// Restart periods still to wait (CHAP: challenges still to send).
    tries: u8,
    deadline: Instant,
    rng: Rng,
    /// Packets discarded as malformed.
    malformed: u64,
}

impl Authenticator {
    /// Authentication with `method` begins; CHAP's first Challenge goes out.
    pub fn start(method: Method, now: Instant, mut rng: Rng, tx: &mut Vec<Control>) -> Authenticator {
        let mut auth = Authenticator {
            method,
            step: Step::Waiting,
            challenge: (rng.u8(..), [0; CHALLENGE_LENGTH]),
            tries: MAX_CONFIGURE,
            deadline: now + RESTART,
            rng,
            malformed: 0,
        };
        tracing::debug!(target: "vmodem::ppp", "authentication by {method:?}");
        if method == Method::ChapMd5 {
            auth.challenge(tx);
        }
        auth
    }

    /// When [`Authenticator::timeout`] is due: only while waiting for the host.
    pub fn deadline(&self) -> Option<Instant> {
        (self.step == Step::Waiting).then_some(self.deadline)
    }

    /// Packets discarded as malformed.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// The restart timer: CHAP challenges again; both give up after Max-Configure periods.
    pub fn timeout(&mut self, now: Instant, tx: &mut Vec<Control>) -> Option<Outcome> {
        if self.deadline().is_none_or(|deadline| deadline > now) {
            return None;
        }
        self.tries = self.tries.saturating_sub(1);
        if self.tries == 0 {
            tracing::debug!(target: "vmodem::ppp", "{:?}: the host did not authenticate, giving up", self.method);
            self.step = Step::Decided(Outcome::Failed);
            return Some(Outcome::Failed);
        }
        self.deadline = now + RESTART;
        if self.method == Method::ChapMd5 {
            self.challenge(tx);
        }
        None
    }

    /// A PAP or CHAP packet from the host, checked against `credentials` (user name and
    /// password; None: anything goes). Gives the outcome when this packet decides it.
    pub fn receive(
        &mut self,
        protocol: u16,
        bytes: &[u8],
        credentials: Option<&(String, String)>,
        tx: &mut Vec<Control>,
    ) -> Option<Outcome> {
        let Some(packet) = Packet::parse(bytes) else {
            self.discard("a malformed packet");
            return None;
        };
        let outcome = match (protocol, self.method, packet.code) {
            (protocol::PAP, Method::Pap, code::PAP_REQUEST) => self.pap_request(packet, credentials, tx)?,
            (protocol::CHAP, Method::ChapMd5, code::CHAP_RESPONSE) => self.chap_response(packet, credentials, tx)?,
            _ => {
                tracing::debug!(target: "vmodem::ppp", "{:?}: code {} from the host ignored", self.method, packet.code);
                return None;
            }
        };
        if self.step != Step::Waiting {
            return None;
        }
        tracing::debug!(target: "vmodem::ppp", "{:?}: {outcome:?}", self.method);
        self.step = Step::Decided(outcome);
        Some(outcome)
    }

    /// An Authenticate-Request (RFC 1334 §2.2.1): Peer-ID and Password, each after its length.
    fn pap_request(
        &mut self,
        packet: Packet,
        credentials: Option<&(String, String)>,
        tx: &mut Vec<Control>,
    ) -> Option<Outcome> {
        let Some((peer, password)) = length_prefixed(packet.data)
            .and_then(|(peer, rest)| length_prefixed(rest).map(|(password, _)| (peer, password)))
        else {
            self.discard("a malformed Authenticate-Request");
            return None;
        };
        let outcome = match self.step {
            Step::Decided(outcome) => outcome,
            Step::Waiting => {
                tracing::debug!(target: "vmodem::ppp", "PAP: the host is {:?}", String::from_utf8_lossy(peer));
                let right =
                    credentials.is_none_or(|(user, secret)| user.as_bytes() == peer && secret.as_bytes() == password);
                if right { Outcome::Passed } else { Outcome::Failed }
            }
        };
        let (code, message) = match outcome {
            Outcome::Passed => (code::PAP_ACK, &b""[..]),
            Outcome::Failed => (code::PAP_NAK, FAILURE),
        };
        let mut data = vec![message.len() as u8];
        data.extend_from_slice(message);
        send(tx, protocol::PAP, code, packet.id, &data);
        Some(outcome)
    }

    /// A Response (RFC 1994 §4.1): Value-Size, Value, Name.
    fn chap_response(
        &mut self,
        packet: Packet,
        credentials: Option<&(String, String)>,
        tx: &mut Vec<Control>,
    ) -> Option<Outcome> {
        let (id, challenge) = self.challenge;
        if packet.id != id {
            tracing::debug!(target: "vmodem::ppp", "CHAP: a Response to an old challenge (id {}) ignored", packet.id);
            return None;
        }
        let Some((value, name)) = length_prefixed(packet.data) else {
            self.discard("a malformed Response");
            return None;
        };
        let outcome = match self.step {
            Step::Decided(outcome) => outcome,
            Step::Waiting => {
                tracing::debug!(target: "vmodem::ppp", "CHAP: the host is {:?}", String::from_utf8_lossy(name));
                let right = credentials.is_none_or(|(user, secret)| {
                    user.as_bytes() == name && value == chap_md5(id, secret.as_bytes(), &challenge)
                });
                if right { Outcome::Passed } else { Outcome::Failed }
            }
        };
        let (code, message) = match outcome {
            Outcome::Passed => (code::CHAP_SUCCESS, &b""[..]),
            Outcome::Failed => (code::CHAP_FAILURE, FAILURE),
        };
        send(tx, protocol::CHAP, code, id, message);
        Some(outcome)
    }

    /// Sends a new Challenge (RFC 1994 §4.1): Value-Size, Value, Name.
    fn challenge(&mut self, tx: &mut Vec<Control>) {
        let id = self.challenge.0.wrapping_add(1);
        let mut value = [0; CHALLENGE_LENGTH];
        self.rng.fill(&mut value);
        self.challenge = (id, value);
        let mut data = vec![CHALLENGE_LENGTH as u8];
        data.extend_from_slice(&value);
        data.extend_from_slice(NAME);
        send(tx, protocol::CHAP, code::CHAP_CHALLENGE, id, &data);
    }

    fn discard(&mut self, what: &str) {
        self.malformed += 1;
        tracing::debug!(target: "vmodem::ppp", "{:?}: {what} discarded", self.method);
    }
}

/// CHAP-MD5's response value (RFC 1994 §2.2): MD5 over the identifier, the secret and the
/// challenge. The one place CHAP touches MD5.
pub(super) fn chap_md5(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::new().chain_update([id]).chain_update(secret).chain_update(challenge).finalize().into()
}

/// The passwords of the PAP Authenticate-Requests (RFC 1334 §2.2.1) framed in `line`, bytes a
/// host sent: what a recording or a console must mask.
pub fn pap_passwords(line: &[u8]) -> Vec<Vec<u8>> {
    let mut decoder = super::Decoder::new(usize::from(u16::MAX));
    // Control characters are kept: a host that negotiated ACCM 0 sends them unescaped.
    decoder.set_accm(0);
    let mut frames = Vec::new();
    decoder.decode(line, &mut frames);
    decoder.decode(&[super::hdlc::FLAG], &mut frames);
    frames
        .iter()
        .filter_map(|content| {
            let (protocol, information) = super::split(content)?;
            let packet =
                Packet::parse(information).filter(|p| protocol == protocol::PAP && p.code == code::PAP_REQUEST)?;
            let (_, rest) = length_prefixed(packet.data)?;
            let (password, _) = length_prefixed(rest)?;
            (!password.is_empty()).then(|| password.to_vec())
        })
        .collect()
}

/// A field after its one-octet length, and what follows it.
fn length_prefixed(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&length, rest) = data.split_first()?;
    rest.split_at_checked(usize::from(length))
}

fn send(tx: &mut Vec<Control>, protocol: u16, code: u8, id: u8, data: &[u8]) {
    tx.push(Control { protocol, packet: packet::build(code, id, data) });
}
