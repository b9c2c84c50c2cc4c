//! The link against a scripted host (byte for byte, on virtual time), and against a real
//! peer ([`peer`]: the `ppproto` client).

mod peer;

use std::collections::VecDeque;
use std::time::Duration;

use super::packet::{build, code, protocol};
use super::*;

const HOST: Ipv4Addr = Ipv4Addr::new(100, 70, 197, 238);
const DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(211, 136, 17, 107), Ipv4Addr::new(211, 136, 20, 203)];

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
}

fn config(flavour: Flavour) -> LinkConfig {
    LinkConfig { flavour, credentials: None, host: HOST, dns: DNS, mru: 1500, seed: 7 }
}

/// An option: type, length, value.
fn opt(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut option = vec![kind, value.len() as u8 + 2];
    option.extend_from_slice(value);
    option
}

/// A scripted host on the other end of the line.
struct Host {
    link: Link,
    now: Instant,
    /// Decodes the modem's frames; drops no control character, so it takes any ACCM.
    decoder: Decoder,
    /// The line's bytes the modem sent last.
    raw: Vec<u8>,
    /// Frames of the modem's not looked at yet.
    pending: VecDeque<(u16, Vec<u8>)>,
}

impl Host {
    fn new(config: LinkConfig) -> Host {
        let now = Instant::now();
        let mut decoder = Decoder::new(4000);
        decoder.set_accm(0);
        Host { link: Link::new(config, now), now, decoder, raw: Vec::new(), pending: VecDeque::new() }
    }

    /// The frames the modem sent that were not looked at yet: (protocol, packet).
    fn take(&mut self) -> Vec<(u16, Vec<u8>)> {
        self.raw.clear();
        self.link.take_output(&mut self.raw);
        let mut frames = Vec::new();
        self.decoder.decode(&self.raw, &mut frames);
        self.pending.extend(frames.iter().map(|content| split(content).map(|(p, info)| (p, info.to_vec())).unwrap()));
        self.pending.drain(..).collect()
    }

    /// The modem's next frame; the others wait.
    fn next(&mut self) -> (u16, Vec<u8>) {
        let mut frames = self.take().into_iter();
        let first = frames.next().expect("a frame from the modem");
        self.pending.extend(frames);
        first
    }

    /// The modem's only frame since the last call.
    fn take_one(&mut self) -> (u16, Vec<u8>) {
        let mut frames = self.take();
        assert_eq!(frames.len(), 1, "{frames:02X?}");
        frames.remove(0)
    }

    /// Sends a packet in a full frame (address, control, two-octet protocol, every control
    /// character escaped).
    fn send(&mut self, protocol: u16, packet: &[u8]) {
        let mut content = vec![0xFF, 0x03];
        content.extend_from_slice(&protocol.to_be_bytes());
        content.extend_from_slice(packet);
        let mut line = Vec::new();
        hdlc::encode(&content, DEFAULT_ACCM, &mut line);
        self.link.receive(self.now, &line);
    }

    /// Lets `seconds` pass, running the link's timers as they come.
    fn advance(&mut self, seconds: u64) {
        let end = self.now + Duration::from_secs(seconds);
        while let Some(deadline) = self.link.poll_timeout().filter(|&deadline| deadline <= end) {
            self.now = deadline;
            self.link.handle_timeout(deadline);
        }
        self.now = end;
    }

    /// LCP opens: the modem's request acked as it is, the host asks for `options`.
    fn lcp_up(&mut self, options: &[u8]) {
        let (protocol, request) = self.take_one();
        assert_eq!((protocol, request[0]), (protocol::LCP, code::CONFIGURE_REQUEST));
        self.send(protocol::LCP, &build(code::CONFIGURE_REQUEST, 0x41, options));
        assert_eq!(self.take_one(), (protocol::LCP, build(code::CONFIGURE_ACK, 0x41, options)));
        let mut ack = request;
        ack[0] = code::CONFIGURE_ACK;
        self.send(protocol::LCP, &ack);
    }

    /// The host authenticates as the modem asked, with `user` and `secret`.
    fn authenticate(&mut self, user: &str, secret: &str) -> (u16, Vec<u8>) {
        let mut frames = self.take();
        if frames.is_empty() {
            // PAP: the host speaks first.
            let mut request = vec![user.len() as u8];
            request.extend_from_slice(user.as_bytes());
            request.push(secret.len() as u8);
            request.extend_from_slice(secret.as_bytes());
            self.send(protocol::PAP, &build(1, 0x11, &request));
        } else {
            let (protocol, challenge) = frames.remove(0);
            assert_eq!((protocol, challenge[0], challenge[4]), (protocol::CHAP, 1, 16), "{challenge:02X?}");
            let id = challenge[1];
            let mut response = vec![16];
            response.extend_from_slice(&auth::chap_md5(id, secret.as_bytes(), &challenge[5..21]));
            response.extend_from_slice(user.as_bytes());
            self.send(protocol::CHAP, &build(2, id, &response));
        }
        self.next()
    }

    /// IPCP opens: the modem's empty request acked, the host's address and DNS acked.
    fn ipcp_up(&mut self) {
        let (protocol, request) = self.next();
        assert_eq!(
            (protocol, request.as_slice()),
            (protocol::IPCP, &build(code::CONFIGURE_REQUEST, request[1], &[])[..])
        );
        self.send(protocol::IPCP, &build(code::CONFIGURE_ACK, request[1], &[]));
        let options = [opt(3, &HOST.octets()), opt(129, &DNS[0].octets()), opt(131, &DNS[1].octets())].concat();
        self.send(protocol::IPCP, &build(code::CONFIGURE_REQUEST, 7, &options));
        assert_eq!(self.take_one(), (protocol::IPCP, build(code::CONFIGURE_ACK, 7, &options)));
        assert!(self.link.is_up());
    }

    /// A link with IP flowing, the host having asked for `lcp` options.
    fn up(flavour: Flavour, lcp: &[u8]) -> Host {
        let mut host = Host::new(config(flavour));
        host.lcp_up(lcp);
        let (_, answer) = host.authenticate("user", "secret");
        assert!(matches!(answer[0], 2 | 3), "PAP Ack or CHAP Success: {answer:02X?}");
        host.ipcp_up();
        host
    }
}

/// What pppd asks for: ACCM 0, a magic number, PFC and ACFC.
fn pppd_lcp() -> Vec<u8> {
    [opt(2, &[0; 4]), opt(5, &hex("FA 37 B1 9E")), opt(7, &[]), opt(8, &[])].concat()
}

#[test]
fn the_sim800_asks_what_a_sim800l_asks() {
    let mut host = Host::new(config(Flavour::Sim800));
    let frames = host.take();
    // Every control character escaped before LCP is opened.
    assert!(host.raw[1..host.raw.len() - 1].iter().all(|&b| b >= 0x20 && b != hdlc::FLAG), "{:02X?}", host.raw);
    let mut content = vec![0xFF, 0x03, 0xC0, 0x21];
    content.extend_from_slice(&frames[0].1);
    assert_eq!(content, hex("FF 03 C0 21 01 01 00 12 02 06 00 0A 00 00 03 04 C0 23 07 02 08 02"));
    assert_eq!(host.link.poll_timeout(), Some(host.now + Duration::from_secs(3)));
}

#[test]
fn the_sim7080_asks_for_chap_and_a_magic_number() {
    let mut host = Host::new(config(Flavour::Sim7080));
    let (protocol, request) = host.take_one();
    assert_eq!(protocol, protocol::LCP);
    assert_eq!(request[..15], hex("01 00 00 19 02 06 00 00 00 00 03 05 C2 23 05"));
    assert_eq!(request[15..17], [5, 6]);
    assert_ne!(request[17..21], [0; 4], "a nonzero magic number");
    assert_eq!(request[21..], hex("07 02 08 02"));
    // The same seed, the same magic number; another seed, another.
    let again = Host::new(config(Flavour::Sim7080)).take_one();
    assert_eq!(again.1, request);
    let other = Host::new(LinkConfig { seed: 8, ..config(Flavour::Sim7080) }).take_one();
    assert_ne!(other.1[17..21], request[17..21]);
}

/// The negotiation of a real SIM7080 with pppd, the modem's side of it byte for byte.
#[test]
fn a_sim7080_negotiates_as_with_pppd() {
    let mut host = Host::new(config(Flavour::Sim7080));
    let (_, request) = host.take_one();
    let magic = request[17..21].to_vec();
    // sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0xfa37b19e> <pcomp> <accomp>]
    host.send(protocol::LCP, &build(1, 1, &pppd_lcp()));
    assert_eq!(host.take_one(), (protocol::LCP, build(2, 1, &pppd_lcp())));
    // sent [LCP ConfNak id=0x0 <auth pap>]
    host.send(protocol::LCP, &build(3, 0, &hex("03 04 C0 23")));
    // rcvd [LCP ConfReq id=0x1 <asyncmap 0x0> <auth pap> <magic 0xc5bc7416> <pcomp> <accomp>]
    let pap = [hex("02 06 00 00 00 00 03 04 C0 23 05 06"), magic, hex("07 02 08 02")].concat();
    assert_eq!(host.take_one(), (protocol::LCP, build(1, 1, &pap)));
    assert!(!host.link.is_up());
    host.send(protocol::LCP, &build(2, 1, &pap));
    // sent [PAP AuthReq id=0x1 user="ubuntu" password=<hidden>]; rcvd [PAP AuthAck id=0x1 ""]
    host.send(protocol::PAP, &build(1, 1, b"\x06ubuntu\x06secret"));
    let frames = host.take();
    assert_eq!(frames[0], (protocol::PAP, hex("02 01 00 05 00")));
    // After LCP: ACCM 0 and ACFC (no address and control); C023 does not compress.
    assert_eq!(host.raw[..3], hex("7E C0 23"));
    // rcvd [IPCP ConfReq id=0x0]
    assert_eq!(frames[1], (protocol::IPCP, hex("01 00 00 04")));
    assert_eq!(frames.len(), 2);
    // sent [CCP ConfReq ...] -> rcvd [LCP ProtRej ... 80fd ...]
    let ccp = hex("01 01 00 0F 1A 04 78 00 18 04 78 00 15 03 2F");
    host.send(0x80FD, &ccp);
    let (protocol, reject) = host.take_one();
    assert_eq!(protocol, protocol::LCP);
    assert_eq!(reject, build(8, reject[1], &[&hex("80 FD")[..], &ccp].concat()));
    // sent [IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>]
    let vj = hex("02 06 00 2D 0F 01");
    let zeros = hex("03 06 00 00 00 00 81 06 00 00 00 00 83 06 00 00 00 00");
    host.send(protocol::IPCP, &build(1, 1, &[&vj[..], &zeros].concat()));
    // rcvd [IPCP ConfRej id=0x1 <compress VJ 0f 01>]
    assert_eq!(host.take_one(), (protocol::IPCP, build(4, 1, &vj)));
    // sent [IPCP ConfAck id=0x0]
    host.send(protocol::IPCP, &hex("02 00 00 04"));
    // sent [IPCP ConfReq id=0x2 <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>]
    host.send(protocol::IPCP, &build(1, 2, &zeros));
    // rcvd [IPCP ConfNak id=0x2 <addr 100.70.197.238> <ms-dns1 211.136.17.107> <ms-dns2 211.136.20.203>]
    let given = hex("03 06 64 46 C5 EE 81 06 D3 88 11 6B 83 06 D3 88 14 CB");
    assert_eq!(host.take_one(), (protocol::IPCP, build(3, 2, &given)));
    assert!(!host.link.is_up());
    // sent [IPCP ConfReq id=0x3 <addr 100.70.197.238> ...]; rcvd [IPCP ConfAck id=0x3 ...]
    host.send(protocol::IPCP, &build(1, 3, &given));
    assert_eq!(host.take_one(), (protocol::IPCP, build(2, 3, &given)));
    assert!(host.link.is_up());
    assert_eq!(host.link.poll_timeout(), None, "nothing waits");
    assert_eq!(host.link.discarded(), 0);
}

#[test]
fn echo_requests_are_answered_with_the_modem_s_magic_number() {
    // Before LCP is opened an Echo-Request is discarded (RFC 1661 §5.8).
    let mut host = Host::new(config(Flavour::Sim7080));
    let (_, request) = host.take_one();
    host.send(protocol::LCP, &build(9, 3, &hex("FA 37 B1 9E 61 62")));
    assert!(host.take().is_empty());
    let magic = request[17..21].to_vec();
    let mut host = Host::up(Flavour::Sim7080, &pppd_lcp());
    host.send(protocol::LCP, &build(9, 3, &hex("FA 37 B1 9E 61 62")));
    assert_eq!(host.take_one(), (protocol::LCP, build(10, 3, &[&magic[..], b"ab"].concat())));
    // LCP keeps its address and control fields, even with ACFC.
    assert_eq!(host.raw[..5], hex("7E FF 03 C0 21"));
    // Echo-Replies and Discard-Requests are taken silently; a short Echo-Request is malformed.
    host.send(protocol::LCP, &build(10, 4, &[0; 4]));
    host.send(protocol::LCP, &build(11, 5, &[0; 4]));
    host.send(protocol::LCP, &build(9, 6, &[0; 3]));
    assert!(host.take().is_empty());
    assert_eq!(host.link.discarded(), 1);
    // A SIM800 has no magic number: zero.
    let mut host = Host::up(Flavour::Sim800, &[]);
    host.send(protocol::LCP, &build(9, 3, &hex("01 02 03 04")));
    assert_eq!(host.take_one(), (protocol::LCP, build(10, 3, &[0; 4])));
}

#[test]
fn a_terminate_request_from_the_host_ends_the_link() {
    let mut host = Host::up(Flavour::Sim800, &[]);
    host.send(protocol::LCP, &build(5, 9, b"bye"));
    assert_eq!(host.take_one(), (protocol::LCP, hex("06 09 00 04")));
    assert!(host.link.is_dead());
    assert!(!host.link.is_up());
    assert!(!host.link.send_packet(&[0x45; 20]));
    assert_eq!(host.link.poll_timeout(), None);
    // Nothing more is taken.
    host.send(protocol::LCP, &build(1, 1, &[]));
    assert!(host.take().is_empty());
    // In negotiation too.
    let mut host = Host::new(config(Flavour::Sim7080));
    host.take();
    host.send(protocol::LCP, &build(5, 2, &[]));
    assert_eq!(host.take_one(), (protocol::LCP, hex("06 02 00 04")));
    assert!(host.link.is_dead());
}

#[test]
fn close_sends_terminate_requests_until_acked_or_max_terminate() {
    // Unanswered: two Terminate-Requests three seconds apart, dead three seconds later.
    let mut host = Host::up(Flavour::Sim800, &[]);
    let start = host.now;
    host.link.close(host.now);
    let (protocol, first) = host.take_one();
    assert_eq!((protocol, first[0], first.len()), (protocol::LCP, 5, 4));
    assert!(!host.link.is_up());
    assert!(!host.link.is_dead());
    assert_eq!(host.link.poll_timeout(), Some(start + Duration::from_secs(3)));
    host.advance(3);
    let (_, second) = host.take_one();
    assert_eq!(second[0], 5);
    assert_ne!(second[1], first[1], "a new identifier");
    assert!(!host.link.is_dead());
    host.advance(2);
    assert!(!host.link.is_dead());
    host.advance(1);
    assert!(host.link.is_dead());
    assert!(host.take().is_empty());
    assert_eq!(host.link.poll_timeout(), None);
    // Acked: dead at once.
    let mut host = Host::up(Flavour::Sim7080, &pppd_lcp());
    host.link.close(host.now);
    let (_, request) = host.take_one();
    host.send(protocol::LCP, &build(6, request[1], &[]));
    assert!(host.link.is_dead());
    // Before LCP is opened, the same.
    let mut host = Host::new(config(Flavour::Sim800));
    host.take();
    host.link.close(host.now);
    assert_eq!(host.take_one().1[0], 5);
    host.advance(6);
    assert!(host.link.is_dead());
}

#[test]
fn negotiation_gives_up_after_max_configure() {
    let mut host = Host::new(config(Flavour::Sim800));
    let mut requests = host.take().len();
    for _ in 0..20 {
        host.advance(3);
        requests += host.take().len();
    }
    assert_eq!(requests, 10);
    assert!(host.link.is_dead());
}

#[test]
fn unknown_protocols_are_rejected_once_lcp_is_opened() {
    let mut host = Host::new(config(Flavour::Sim800));
    host.take();
    // Before: discarded (RFC 1661 §3.4), IPCP too.
    host.send(0x8057, &hex("01 01 00 04"));
    host.send(protocol::IPCP, &hex("01 01 00 04"));
    assert!(host.take().is_empty());
    let mut host = Host::up(Flavour::Sim800, &[]);
    for protocol in [0x80FD, 0x8057, 0x0057, 0x002B] {
        host.send(protocol, &hex("01 01 00 04"));
        let (lcp, reject) = host.take_one();
        assert_eq!(lcp, protocol::LCP);
        assert_eq!(reject, build(8, reject[1], &[&protocol.to_be_bytes()[..], &hex("01 01 00 04")].concat()));
    }
    // A long packet is cut to fit the smallest MRU.
    host.send(0x8057, &[0x55; 1000]);
    let (_, reject) = host.take_one();
    assert_eq!(reject.len(), 128);
    assert_eq!(reject[2..4], [0, 128]);
    assert!(host.link.is_up(), "the link goes on");
}

#[test]
fn a_protocol_reject_of_ipcp_ends_the_link() {
    let mut host = Host::up(Flavour::Sim800, &[]);
    // Rejecting CCP changes nothing.
    host.send(protocol::LCP, &build(8, 1, &hex("80 FD 01 01 00 04")));
    assert!(host.take().is_empty());
    assert!(host.link.is_up());
    host.send(protocol::LCP, &build(8, 2, &hex("80 21 01 01 00 04")));
    let (_, terminate) = host.take_one();
    assert_eq!(terminate[0], 5);
    assert!(!host.link.is_up());
    host.send(protocol::LCP, &build(6, terminate[1], &[]));
    assert!(host.link.is_dead());
}

#[test]
fn unknown_codes_are_code_rejected() {
    let mut host = Host::up(Flavour::Sim800, &[]);
    host.send(protocol::LCP, &hex("0C 21 00 06 AB CD"));
    let (protocol, reject) = host.take_one();
    assert_eq!((protocol, reject[0]), (protocol::LCP, 7));
    assert_eq!(reject[4..], hex("0C 21 00 06 AB CD"));
    // IPCP has no Echo: its code 9 is unknown.
    host.send(protocol::IPCP, &hex("09 01 00 08 00 00 00 00"));
    let (protocol, reject) = host.take_one();
    assert_eq!((protocol, reject[0]), (protocol::IPCP, 7));
    assert_eq!(reject[4..], hex("09 01 00 08 00 00 00 00"));
    // A Code-Reject of something it can do without changes nothing; of Configure-Request,
    // LCP cannot go on.
    host.send(protocol::LCP, &build(7, 1, &hex("09 01 00 08 00 00 00 00")));
    assert!(host.take().is_empty());
    assert!(host.link.is_up());
    host.send(protocol::LCP, &build(7, 2, &hex("01 01 00 04")));
    assert_eq!(host.take_one().1[0], 5, "Terminate-Request");
    host.advance(6);
    assert!(host.link.is_dead());
}

#[test]
fn malformed_packets_are_discarded() {
    let mut host = Host::up(Flavour::Sim7080, &pppd_lcp());
    let before = host.link.discarded();
    let malformed: [(u16, &str); 14] = [
        (protocol::LCP, ""),
        (protocol::LCP, "01 01 00"),
        (protocol::LCP, "01 01 00 03"),
        (protocol::LCP, "01 01 00 09 02 06 00 00"),
        (protocol::LCP, "01 01 00 06 07 00"),
        (protocol::LCP, "01 01 00 06 07 01"),
        (protocol::LCP, "01 01 00 07 02 06 00"),
        (protocol::LCP, "01 01 00 05 07"),
        (protocol::LCP, "08 01 00 05 80"),
        (protocol::IPCP, "01 01 00 08 03 07 00 00"),
        (protocol::IPCP, "03 00 00 06 03 00"),
        (protocol::PAP, "01 01 00 09 05 61 62"),
        (protocol::CHAP, "02 01 00 04"),
        (protocol::IPV4, ""),
    ];
    for (protocol, packet) in malformed {
        host.send(protocol, &hex(packet));
        assert!(host.take().is_empty(), "{protocol:04X} {packet}");
    }
    // Frames too short for a protocol, or with an invalid one.
    for content in ["FF 03", "FF 03 C0", "FF 03 C0 20 01 01 00 04", "C0 20 01"] {
        let mut line = Vec::new();
        hdlc::encode(&hex(content), DEFAULT_ACCM, &mut line);
        host.link.receive(host.now, &line);
    }
    // Padding past the Length is ignored: a good Echo-Request.
    host.send(protocol::LCP, &hex("09 07 00 08 00 00 00 01 EE EE"));
    assert_eq!(host.take_one().1[..2], [10, 7]);
    // All but the CHAP Response (a stale identifier: ignored, not malformed).
    assert_eq!(host.link.discarded() - before, 17);
    assert!(host.link.is_up());
}

/// Random packets of every protocol, in every phase: nothing panics.
#[test]
fn random_packets_do_not_panic() {
    let mut rng = Rng::with_seed(1);
    let protocols = [protocol::LCP, protocol::PAP, protocol::CHAP, protocol::IPCP, protocol::IPV4, 0x80FD];
    for round in 0..200 {
        let flavour = if round % 2 == 0 { Flavour::Sim800 } else { Flavour::Sim7080 };
        let mut host = if round % 3 == 0 { Host::new(config(flavour)) } else { Host::up(flavour, &pppd_lcp()) };
        for _ in 0..50 {
            let mut packet: Vec<u8> = (0..rng.usize(0..40)).map(|_| rng.u8(..)).collect();
            if packet.len() >= 4 && rng.bool() {
                // Mostly valid headers, to reach the option parsers.
                packet[0] = rng.u8(1..12);
                let length = packet.len() as u16;
                packet[2..4].copy_from_slice(&length.to_be_bytes());
            }
            host.send(protocols[rng.usize(..protocols.len())], &packet);
            host.take();
            if rng.u8(..10) == 0 {
                host.advance(3);
            }
        }
    }
}

#[test]
fn negotiated_framing_applies_to_the_modem_s_frames() {
    // ACCM 0, PFC, ACFC: an IPv4 packet goes as 21, unescaped control characters.
    let mut host = Host::up(Flavour::Sim800, &pppd_lcp());
    let packet = hex("45 00 00 14 11 13 00 00 40 01 00 00 0A 00 00 01 0A 00 00 02");
    assert!(host.link.send_packet(&packet));
    let frames = host.take();
    assert_eq!(frames, [(protocol::IPV4, packet.clone())]);
    assert_eq!(host.raw[..6], hex("7E 21 45 00 00 14"));
    assert_eq!(host.raw[6..8], [0x11, 0x13], "not escaped under ACCM 0");
    // The host asked for nothing: address, control, two-octet protocol, default ACCM.
    let mut host = Host::up(Flavour::Sim800, &[]);
    assert!(host.link.send_packet(&packet));
    host.take();
    assert_eq!(host.raw[..7], hex("7E FF 7D 23 7D 20 21"));
    assert_eq!(host.raw[7..18], hex("45 7D 20 7D 20 7D 34 7D 31 7D 33"));
    // XON/XOFF only.
    let mut host = Host::up(Flavour::Sim800, &[opt(2, &hex("00 0A 00 00")), opt(7, &[])].concat());
    assert!(host.link.send_packet(&packet));
    host.take();
    assert_eq!(host.raw[..6], hex("7E FF 03 21 45 00"));
    assert_eq!(host.raw[6..12], hex("00 14 7D 31 7D 33"));
    // Configure packets keep the default framing: renegotiation (and the link goes down).
    host.send(protocol::LCP, &build(1, 0x50, &[]));
    let frames = host.take();
    assert_eq!(frames.len(), 2, "Configure-Request and -Ack");
    assert_eq!(host.raw[..5], hex("7E FF 7D 23 C0"));
    assert!(!host.link.is_up());
    assert!(!host.link.send_packet(&packet));
    // Too long for the host's MRU, or empty: dropped.
    let mut host = Host::up(Flavour::Sim800, &opt(1, &hex("01 00")));
    assert_eq!(host.link.mtu(), 256);
    assert!(!host.link.send_packet(&[0x45; 257]));
    assert!(!host.link.send_packet(&[]));
    assert!(host.link.send_packet(&[0x45; 256]));
}

#[test]
fn the_host_may_compress_its_frames_and_the_line_may_add_xon() {
    // The SIM800 asked for ACCM 0x000A0000: once LCP is opened an unescaped XON or XOFF on
    // the line is dropped (RFC 1662 §7.1); the host may leave out address, control and half
    // the protocol.
    let mut host = Host::up(Flavour::Sim800, &pppd_lcp());
    let packet = hex("45 00 00 14 00 01 00 00 40 01 00 00 0A 00 00 01 0A 00 00 02");
    let mut content = vec![0x21];
    content.extend_from_slice(&packet);
    let mut line = Vec::new();
    hdlc::encode(&content, 0x000A_0000, &mut line);
    line.insert(5, 0x11);
    line.insert(9, 0x13);
    host.link.receive(host.now, &line);
    assert_eq!(host.link.poll_packet(), Some(packet.clone()));
    // With address and control, one-octet protocol; without, two-octet.
    for content in [[&hex("FF 03 21")[..], &packet].concat(), [&hex("00 21")[..], &packet].concat()] {
        let mut line = Vec::new();
        hdlc::encode(&content, DEFAULT_ACCM, &mut line);
        host.link.receive(host.now, &line);
        assert_eq!(host.link.poll_packet(), Some(packet.clone()));
    }
    // LCP with ACFC is taken too (the receiver is liberal).
    let mut line = Vec::new();
    hdlc::encode(&[&hex("C0 21")[..], &build(9, 1, &[0; 4])].concat(), DEFAULT_ACCM, &mut line);
    host.link.receive(host.now, &line);
    assert_eq!(host.take_one().1[0], 10);
}

#[test]
fn at_most_max_queued_packets_wait() {
    let mut host = Host::up(Flavour::Sim800, &[]);
    // Before IPCP is opened the host's IPv4 is dropped.
    let mut early = Host::new(config(Flavour::Sim800));
    early.send(protocol::IPV4, &[0x45; 20]);
    assert_eq!(early.link.poll_packet(), None);
    for i in 0..MAX_QUEUED + 6 {
        host.send(protocol::IPV4, &[0x45, i as u8]);
    }
    let mut taken = 0;
    while let Some(packet) = host.link.poll_packet() {
        assert_eq!(packet, [0x45, taken as u8]);
        taken += 1;
    }
    assert_eq!(taken, MAX_QUEUED);
}

#[test]
fn a_configure_request_while_opened_renegotiates() {
    let mut host = Host::up(Flavour::Sim800, &[]);
    host.send(protocol::IPV4, &[0x45; 20]);
    host.send(protocol::LCP, &build(1, 0x42, &pppd_lcp()));
    let frames = host.take();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].1[0], 1, "the modem asks again");
    assert_eq!(frames[1], (protocol::LCP, build(2, 0x42, &pppd_lcp())));
    assert!(!host.link.is_up());
    assert_eq!(host.link.poll_packet(), None, "IPCP went down: the queue too");
    let mut ack = frames[0].1.clone();
    ack[0] = 2;
    host.send(protocol::LCP, &ack);
    // Authentication and IPCP again.
    let (_, answer) = host.authenticate("user", "secret");
    assert_eq!(answer[0], 2);
    host.ipcp_up();
    assert!(host.link.send_packet(&[0x45; 20]));
    assert_eq!(host.take()[0].0, protocol::IPV4);
}

#[test]
fn the_host_s_options_are_weighed() {
    let mut host = Host::new(config(Flavour::Sim7080));
    let (_, request) = host.take_one();
    let magic = request[17..21].to_vec();
    // Authentication asked of the modem, quality protocol, an unknown option, a PFC of the
    // wrong length: rejected, all at once, and the Naks wait.
    let asks =
        [opt(3, &hex("C0 23")), opt(4, &hex("C0 25 00 00 00 0A")), opt(0x42, &[1]), opt(7, &[0]), opt(1, &[0, 64])];
    host.send(protocol::LCP, &build(1, 1, &asks.concat()));
    assert_eq!(host.take_one().1, build(4, 1, &asks[..4].concat()));
    // A small MRU, a zero magic number, ours (looped back?): Nak'd.
    host.send(protocol::LCP, &build(1, 2, &[opt(1, &[0, 64]), opt(5, &[0; 4])].concat()));
    let (_, nak) = host.take_one();
    assert_eq!(nak[..10], build(3, 2, &hex("01 04 00 80 05 06 00 00 00 00"))[..10]);
    assert_ne!(nak[10..], [0; 4]);
    host.send(protocol::LCP, &build(1, 3, &opt(5, &magic)));
    let (_, nak) = host.take_one();
    assert_eq!(nak[..6], hex("03 03 00 0A 05 06"));
    assert_ne!(nak[6..], magic[..]);
    assert_ne!(nak[6..], [0; 4]);
    // Max-Failure: the sixth Nak in a row is a Reject.
    for id in 4..7 {
        host.send(protocol::LCP, &build(1, id, &opt(1, &[0, 64])));
        assert_eq!(host.take_one().1[0], 3);
    }
    host.send(protocol::LCP, &build(1, 7, &opt(1, &[0, 64])));
    assert_eq!(host.take_one().1, build(4, 7, &opt(1, &[0, 64])));
    // An MRU of 128 and the rest: acked.
    let good = [opt(1, &[0, 128]), opt(2, &[0xFF; 4]), opt(5, &[1, 2, 3, 4]), opt(7, &[]), opt(8, &[])].concat();
    host.send(protocol::LCP, &build(1, 8, &good));
    assert_eq!(host.take_one().1, build(2, 8, &good));
}

#[test]
fn the_host_s_naks_and_rejects_change_the_modem_s_request() {
    let mut host = Host::new(config(Flavour::Sim7080));
    let (_, request) = host.take_one();
    let magic = u32::from_be_bytes(request[17..21].try_into().unwrap());
    // Reject magic, PFC, ACFC (as ppproto does); Nak ACCM with more characters.
    host.send(protocol::LCP, &build(4, 0, &hex("05 06 00 00 00 01 07 02 08 02")));
    assert_eq!(host.take_one().1, build(1, 1, &hex("02 06 00 00 00 00 03 05 C2 23 05")));
    host.send(protocol::LCP, &build(3, 1, &hex("02 06 00 0A 00 00")));
    assert_eq!(host.take_one().1, build(1, 2, &hex("02 06 00 0A 00 00 03 05 C2 23 05")));
    // A Nak that names an unknown method: no authentication.
    host.send(protocol::LCP, &build(3, 2, &hex("03 05 C2 23 81")));
    assert_eq!(host.take_one().1, build(1, 3, &hex("02 06 00 0A 00 00")));
    // A stale answer (an old identifier) is ignored; so is an Ack of other options.
    host.send(protocol::LCP, &build(2, 2, &hex("02 06 00 0A 00 00")));
    host.send(protocol::LCP, &build(2, 3, &hex("02 06 00 00 00 00")));
    assert!(host.take().is_empty());
    assert!(host.link.discarded() == 1);
    // Magic Nak'd back with a value: taken (a Sim7080 whose magic a host Naks).
    let mut host = Host::new(config(Flavour::Sim7080));
    host.take();
    host.send(protocol::LCP, &build(3, 0, &hex("05 06 12 34 56 78")));
    let (_, again) = host.take_one();
    assert_eq!(again[15..21], hex("05 06 12 34 56 78"));
    assert_ne!(magic, 0x1234_5678);
    // PAP, then the host Naks PAP with CHAP: CHAP (not asked yet), then PAP again: none.
    let mut host = Host::new(config(Flavour::Sim800));
    host.take();
    host.send(protocol::LCP, &build(3, 1, &hex("03 05 C2 23 05")));
    assert_eq!(host.take_one().1, build(1, 2, &hex("02 06 00 0A 00 00 03 05 C2 23 05 07 02 08 02")));
    host.send(protocol::LCP, &build(3, 2, &hex("03 04 C0 23")));
    assert_eq!(host.take_one().1, build(1, 3, &hex("02 06 00 0A 00 00 07 02 08 02")));
}

#[test]
fn a_host_that_rejects_authentication_goes_without() {
    let mut host = Host::new(config(Flavour::Sim800));
    host.take();
    host.send(protocol::LCP, &build(4, 1, &hex("03 04 C0 23")));
    let (_, request) = host.take_one();
    assert_eq!(request, build(1, 2, &hex("02 06 00 0A 00 00 07 02 08 02")));
    let mut ack = request;
    ack[0] = 2;
    host.send(protocol::LCP, &ack);
    host.send(protocol::LCP, &build(1, 1, &[]));
    // The Configure-Ack, then IPCP at once.
    let frames = host.take();
    assert_eq!(frames[0], (protocol::LCP, hex("02 01 00 04")));
    assert_eq!(frames[1], (protocol::IPCP, hex("01 01 00 04")));
    // PAP is not spoken now: discarded.
    host.send(protocol::PAP, &build(1, 1, b"\x01a\x01b"));
    assert!(host.take().is_empty());
}

#[test]
fn pap_checks_configured_credentials() {
    let credentials = Some(("ubuntu".to_string(), "secret".to_string()));
    let mut host = Host::new(LinkConfig { credentials: credentials.clone(), ..config(Flavour::Sim800) });
    host.lcp_up(&[]);
    // IPCP before authentication is discarded (RFC 1661 §3.5).
    host.send(protocol::IPCP, &build(1, 1, &[]));
    assert!(host.take().is_empty());
    assert_eq!(host.authenticate("ubuntu", "secret"), (protocol::PAP, hex("02 11 00 05 00")));
    host.ipcp_up();
    // A retransmitted request after that is acked again.
    host.send(protocol::PAP, &build(1, 0x11, b"\x06ubuntu\x06secret"));
    assert_eq!(host.take_one(), (protocol::PAP, hex("02 11 00 05 00")));
    assert!(host.link.is_up());

    let mut host = Host::new(LinkConfig { credentials, ..config(Flavour::Sim800) });
    host.lcp_up(&[]);
    host.send(protocol::PAP, &build(1, 0x11, b"\x06ubuntu\x05wrong"));
    let frames = host.take();
    assert_eq!(frames[0], (protocol::PAP, build(3, 0x11, &[&[21u8][..], auth::FAILURE].concat())));
    assert_eq!((frames[1].0, frames[1].1[0]), (protocol::LCP, 5), "Terminate-Request");
    assert!(!host.link.is_up());
}

#[test]
fn chap_challenges_and_checks_the_response() {
    let credentials = Some(("ubuntu".to_string(), "secret".to_string()));
    let mut host = Host::new(LinkConfig { credentials: credentials.clone(), ..config(Flavour::Sim7080) });
    host.lcp_up(&[]);
    let (protocol, challenge) = host.take_one();
    assert_eq!(protocol, protocol::CHAP);
    assert_eq!(challenge[2..5], [0, 4 + 1 + 16 + 6, 16]);
    assert_eq!(challenge[21..], *auth::NAME);
    // Unanswered: a new challenge every three seconds.
    host.advance(3);
    let (_, again) = host.take_one();
    assert_eq!(again[0], 1);
    assert_ne!(again[1], challenge[1]);
    assert_ne!(again[5..21], challenge[5..21]);
    // A response to the first is stale.
    let mut response = vec![16];
    response.extend_from_slice(&auth::chap_md5(challenge[1], b"secret", &challenge[5..21]));
    response.extend_from_slice(b"ubuntu");
    host.send(protocol::CHAP, &build(2, challenge[1], &response));
    assert!(host.take().is_empty());
    // The right one: Success, empty message; a repeat gets Success again.
    let id = again[1];
    let mut response = vec![16];
    response.extend_from_slice(&auth::chap_md5(id, b"secret", &again[5..21]));
    response.extend_from_slice(b"ubuntu");
    host.send(protocol::CHAP, &build(2, id, &response));
    let frames = host.take();
    assert_eq!(frames[0], (protocol::CHAP, build(3, id, &[])));
    assert_eq!(frames[1].0, protocol::IPCP);
    host.send(protocol::CHAP, &build(2, id, &response));
    assert_eq!(host.take_one(), (protocol::CHAP, build(3, id, &[])));

    // A wrong secret: Failure and the link ends.
    let mut host = Host::new(LinkConfig { credentials, ..config(Flavour::Sim7080) });
    host.lcp_up(&[]);
    let (_, answer) = host.authenticate("ubuntu", "guess");
    assert_eq!(answer, build(4, answer[1], auth::FAILURE));
    host.advance(6);
    assert!(host.link.is_dead());

    // No answer at all: ten challenges, then the link ends.
    let mut host = Host::new(config(Flavour::Sim7080));
    host.lcp_up(&[]);
    let mut challenges = 0;
    for _ in 0..12 {
        challenges += host.take().iter().filter(|(protocol, _)| *protocol == protocol::CHAP).count();
        host.advance(3);
    }
    assert_eq!(challenges, 10);
    assert!(host.link.is_dead());
}

#[test]
fn ipcp_gives_the_modem_an_address_when_the_host_insists() {
    let mut host = Host::new(config(Flavour::Sim800));
    host.lcp_up(&[]);
    host.authenticate("a", "b");
    let (_, request) = host.take_one();
    assert_eq!(request, build(1, 1, &[]));
    host.send(protocol::IPCP, &build(3, 1, &hex("03 06 00 00 00 00")));
    assert_eq!(host.take_one().1, build(1, 2, &hex("03 06 0A 40 40 40")));
    host.send(protocol::IPCP, &build(3, 2, &hex("03 06 0A 00 00 01")));
    assert_eq!(host.take_one().1, build(1, 3, &hex("03 06 0A 00 00 01")));
    host.send(protocol::IPCP, &build(4, 3, &hex("03 06 0A 00 00 01")));
    assert_eq!(host.take_one().1, build(1, 4, &[]));
    // The NBNS options and an option of the wrong length are rejected.
    let asks = [opt(130, &[0; 4]), opt(132, &[0; 4]), opt(3, &[0; 3])].concat();
    host.send(protocol::IPCP, &build(1, 1, &asks));
    assert_eq!(host.take_one().1, build(4, 1, &asks));
}

#[test]
fn ipcp_terminated_by_the_host_ends_the_link() {
    let mut host = Host::up(Flavour::Sim800, &[]);
    host.send(protocol::IPCP, &build(5, 3, &[]));
    assert_eq!(host.take_one(), (protocol::IPCP, hex("06 03 00 04")));
    assert!(!host.link.is_up());
    host.advance(3);
    assert_eq!(host.take_one().1[0], 5, "LCP's Terminate-Request");
    host.advance(6);
    assert!(host.link.is_dead());
}

/// CHAP's value is MD5 over identifier, secret and challenge in that order (RFC 1994 §4.1):
/// with `a`, `b`, `c` it is RFC 1321's digest of "abc".
#[test]
fn chap_md5_is_md5_of_id_secret_and_challenge() {
    let digest = auth::chap_md5(b'a', b"b", b"c");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "900150983cd24fb0d6963f7d28e17f72");
}
