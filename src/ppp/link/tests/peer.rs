//! The link against a real PPP client: `ppproto`, the embassy project's, in memory.
//!
//! What ppproto does with the modem's LCP request: it acks only ACCM and PAP; it rejects
//! every other option (Magic-Number, PFC, ACFC), and Naks any other authentication protocol
//! with PAP, a Reject winning over a Nak in the same answer. So the SIM7080 flavour asks
//! three times: CHAP with everything (rejected: magic, PFC, ACFC), CHAP alone (Nak'd: PAP),
//! then PAP, which is acked; the SIM800 flavour twice.

use ppproto::pppos::{PPPoS, PPPoSAction};
use ppproto::{Config, Phase};

use super::*;

/// The two ends, the bytes between them and the modem's LCP Configure-Requests seen.
struct Pair<'a> {
    link: Link,
    client: PPPoS<'a>,
    now: Instant,
    tx_buf: Vec<u8>,
    rx_buf: Vec<u8>,
    /// The modem's bytes the client has not consumed yet.
    to_client: Vec<u8>,
    /// The IPv4 packets the client received.
    received: Vec<Vec<u8>>,
    /// Watches the modem's frames.
    tap: Decoder,
    /// The options of the modem's LCP Configure-Requests.
    requests: Vec<Vec<u8>>,
}

impl<'a> Pair<'a> {
    fn new(flavour: Flavour, config: Config<'a>) -> Pair<'a> {
        let mut client = PPPoS::new(config);
        client.open().unwrap();
        let mut tap = Decoder::new(4000);
        tap.set_accm(0);
        Pair {
            link: Link::new(super::config(flavour), Instant::now()),
            client,
            now: Instant::now(),
            tx_buf: vec![0; 4096],
            rx_buf: vec![0; 4096],
            to_client: Vec::new(),
            received: Vec::new(),
            tap,
            requests: Vec::new(),
        }
    }

    /// One round: the client's turn, then the modem's output to the client. Whether anything
    /// moved.
    fn step(&mut self) -> bool {
        let mut moved = false;
        match self.client.poll(&mut self.tx_buf, &mut self.rx_buf) {
            PPPoSAction::Transmit(n) => {
                self.link.receive(self.now, &self.tx_buf[..n]);
                moved = true;
            }
            PPPoSAction::Received(range) => {
                self.received.push(self.rx_buf[range].to_vec());
                moved = true;
            }
            PPPoSAction::None => {}
        }
        let start = self.to_client.len();
        self.link.take_output(&mut self.to_client);
        let mut frames = Vec::new();
        self.tap.decode(&self.to_client[start..], &mut frames);
        for frame in frames {
            if let Some((protocol::LCP, [1, _, _, _, options @ ..])) = split(&frame) {
                self.requests.push(options.to_vec());
            }
        }
        if !self.to_client.is_empty() {
            let consumed = self.client.consume(&self.to_client, &mut self.rx_buf);
            self.to_client.drain(..consumed);
            moved |= consumed > 0;
        }
        moved
    }

    /// Steps until `done`, letting the restart timers run when nothing moves; a bounded run.
    fn run_until(&mut self, done: impl Fn(&Self) -> bool) {
        for _ in 0..2000 {
            if done(self) {
                return;
            }
            if !self.step() {
                self.now += Duration::from_secs(3);
                self.link.handle_timeout(self.now);
            }
        }
        panic!("no convergence: client {:?}, modem up {}", self.client.status(), self.link.is_up());
    }
}

fn up_with_ppproto(flavour: Flavour) -> Vec<Vec<u8>> {
    let mut pair = Pair::new(flavour, Config { username: b"ubuntu", password: b"secret" });
    pair.run_until(|pair| pair.link.is_up() && pair.client.status().phase == Phase::Open);
    let status = pair.client.status();
    let ipv4 = status.ipv4.expect("IPCP opened");
    assert_eq!(ipv4.address, Some(HOST));
    assert_eq!(ipv4.dns_servers, [Some(DNS[0]), Some(DNS[1])]);
    assert_eq!(ipv4.peer_address, None, "the modem names no address of its own");

    // An IPv4 packet each way.
    let ping = hex("45 00 00 1C 00 01 00 00 40 01 00 00 64 46 C5 EE 08 08 08 08 08 00 F7 FE 00 01 00 00");
    let n = pair.client.send(&ping, &mut pair.tx_buf).unwrap();
    pair.link.receive(pair.now, &pair.tx_buf[..n]);
    assert_eq!(pair.link.poll_packet(), Some(ping.clone()));
    let pong = hex("45 00 00 1C 00 02 00 00 40 01 00 00 08 08 08 08 64 46 C5 EE 00 00 FF FE 00 01 00 00");
    assert!(pair.link.send_packet(&pong));
    pair.run_until(|pair| !pair.received.is_empty());
    assert_eq!(pair.received, [pong]);
    assert_eq!(pair.link.discarded(), 0);
    pair.requests
}

#[test]
fn ppproto_comes_up_through_a_sim800() {
    let requests = up_with_ppproto(Flavour::Sim800);
    assert_eq!(requests, [hex("02 06 00 0A 00 00 03 04 C0 23 07 02 08 02"), hex("02 06 00 0A 00 00 03 04 C0 23")]);
}

#[test]
fn ppproto_comes_up_through_a_sim7080_with_pap() {
    let requests = up_with_ppproto(Flavour::Sim7080);
    assert_eq!(requests.len(), 3, "{requests:02X?}");
    assert_eq!(requests[0][..11], hex("02 06 00 00 00 00 03 05 C2 23 05"));
    assert_eq!(requests[1], hex("02 06 00 00 00 00 03 05 C2 23 05"), "magic, PFC, ACFC rejected");
    assert_eq!(requests[2], hex("02 06 00 00 00 00 03 04 C0 23"), "CHAP Nak'd with PAP");
}
