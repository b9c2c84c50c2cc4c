//! 27.010 multiplexing on the core: `AT+CMUX` per family, the sequences Zephyr's
//! `modem_cellular` and esp-modem send, each channel an AT interpreter of its own, URCs on
//! the channel that listens, frames of at most N1, close-down back to plain AT, and broken
//! frames that change nothing.

use crate::cmux::frame::{Decoder, Frame, Kind};
use crate::core::testing::Bench;
use crate::family::Family;
use crate::network::NetworkEvent;

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace().map(|h| u8::from_str_radix(h, 16).expect("hex")).collect()
}

/// A UIH frame of the host's on `dlci` (C/R 1, as Zephyr sends; esp-modem's C/R 0 is taken
/// too).
fn uih(dlci: u8, cr: bool, info: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Frame { dlci, cr, kind: Kind::Uih, pf: false, info: info.to_vec() }.encode(&mut out);
    out
}

/// The frames the modem sent since the last call.
fn frames(b: &mut Bench) -> Vec<Frame> {
    let mut frames = Vec::new();
    Decoder::new(4096).decode(&b.take_bytes(), &mut frames);
    frames
}

/// The text the modem sent on `dlci` since the last call, every frame a UIH of at most `n1`.
fn text_on(b: &mut Bench, dlci: u8, n1: usize) -> String {
    let mut text = Vec::new();
    for f in frames(b) {
        assert_eq!(f.kind, Kind::Uih, "{f:?}");
        assert!(f.info.len() <= n1, "{} octets beyond N1 {n1}", f.info.len());
        if f.dlci == dlci {
            assert!(!f.cr, "the modem's own UIH frames carry C/R 0");
            text.extend(f.info);
        }
    }
    String::from_utf8(text).expect("text")
}

/// Zephyr's start on a SIM7080 (its `modem_cellular` init script ends with
/// `AT+CMUX=0,0,5,127`; then SABM on DLCI 0, 1 and 2): `OK` in plain text, then a UA with F
/// for each, and the modem's MSC for each channel.
fn zephyr_start(b: &mut Bench) {
    assert_eq!(b.at("AT+CMUX=0,0,5,127"), OK);
    b.send(&hex("F9 03 3F 01 1C F9"));
    assert_eq!(b.take_bytes(), hex("F9 03 73 01 D7 F9"));
    b.send(&hex("F9 07 3F 01 DE F9"));
    assert_eq!(b.take_bytes(), [hex("F9 07 73 01 15 F9"), hex("F9 01 EF 09 E3 05 07 8D 9A F9")].concat());
    b.send(&hex("F9 0B 3F 01 59 F9"));
    let opened = frames(b);
    assert_eq!(opened.len(), 2);
    assert_eq!((opened[0].dlci, opened[0].kind, opened[0].pf), (2, Kind::Ua, true));
}

#[test]
fn each_channel_answers_commands_of_its_own() {
    let mut b = Bench::new(Family::Sim7080);
    zephyr_start(&mut b);
    b.send(&uih(2, true, b"AT+CSQ\r"));
    assert_eq!(text_on(&mut b, 2, 127), "\r\n+CSQ: 27,99\r\n\r\nOK\r\n");
    b.send(&uih(1, true, b"AT+CGDCONT=1,\"IP\",\"internet\"\r"));
    assert_eq!(text_on(&mut b, 1, 127), OK);
    // Echo is the channel's own: on for DLCI 1 alone.
    b.send(&uih(1, false, b"ATE1\r"));
    assert_eq!(text_on(&mut b, 1, 127), OK);
    b.send(&uih(1, false, b"AT\r"));
    assert_eq!(text_on(&mut b, 1, 127), "AT\r\r\nOK\r\n");
    b.send(&uih(2, true, b"AT\r"));
    assert_eq!(text_on(&mut b, 2, 127), OK);
}

#[test]
fn no_frame_carries_more_than_the_n1_the_host_set() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CMUX=0,0,5,16"), OK);
    b.send(&hex("F9 03 3F 01 1C F9 F9 07 3F 01 DE F9"));
    b.take_bytes();
    b.send(&uih(1, true, b"AT+CGMR\r"));
    assert_eq!(text_on(&mut b, 1, 16), "\r\nRevision:1951B16SIM7080\r\n\r\nOK\r\n");
}

#[test]
fn urcs_go_to_the_lowest_channel_that_carries_no_data() {
    let mut b = Bench::new(Family::Sim7080);
    zephyr_start(&mut b);
    b.send(&uih(2, true, b"AT+CREG=1\r"));
    assert_eq!(text_on(&mut b, 2, 127), OK);
    b.network(NetworkEvent::LoseRegistration);
    assert_eq!(text_on(&mut b, 1, 127), "\r\n+CREG: 2\r\n");
}

#[test]
fn the_close_down_returns_the_line_to_plain_at() {
    // esp-modem's exit: DISC 1, DISC 2, then CLD, which it wants answered.
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CMUX=0"), OK);
    b.send(&hex("F9 03 3F 01 1C F9 F9 07 3F 01 DE F9 F9 0B 3F 01 59 F9"));
    b.take_bytes();
    b.send(&hex("F9 07 53 01 3F F9"));
    assert_eq!(b.take_bytes(), hex("F9 07 73 01 15 F9"));
    b.send(&hex("F9 0B 53 01 B8 F9"));
    assert_eq!(b.take_bytes(), hex("F9 0B 73 01 92 F9"));
    b.send(&hex("F9 03 EF 05 C3 01 F2 F9"));
    assert_eq!(b.take_bytes(), hex("F9 01 EF 05 C1 01 93 F9"));
    assert_eq!(b.at("AT"), OK);
}

#[test]
fn each_family_takes_its_own_ranges() {
    let mut sim7080 = Bench::new(Family::Sim7080);
    assert_eq!(sim7080.at("AT+CMUX=?"), "\r\n+CMUX: (0),(0),(1-8),(1-1500),(0),(0),(2-1000)\r\n\r\nOK\r\n");
    assert_eq!(sim7080.at("AT+CMUX?"), "\r\n+CMUX: 0,0,5,118,0,0,600\r\n\r\nOK\r\n");
    // Zephyr's Quectel entry sends T1 10 and N2 3, which the SIM7080 does not take.
    assert_eq!(sim7080.at("AT+CMUX=0,0,5,127,10,3,30,10,2"), ERROR);
    assert_eq!(sim7080.at("AT+CMUX=1"), ERROR);
    assert_eq!(sim7080.at("AT+CMUX=0,0,5,1501"), ERROR);
    assert_eq!(sim7080.at("AT+CMUX"), ERROR);
    let mut sim800 = Bench::new(Family::Sim800);
    assert_eq!(sim800.at("AT+CMUX=0,0,5,256"), ERROR);
    assert_eq!(sim800.at("AT+CMUX=0,0,5,127,10,3,30,10,2"), OK);
    sim800.send(&hex("F9 03 3F 01 1C F9 F9 07 3F 01 DE F9"));
    sim800.take_bytes();
    sim800.send(&uih(1, true, b"AT+CMUX?\r"));
    assert_eq!(text_on(&mut sim800, 1, 127), "\r\n+CMUX: 0,0,5,127,10,3,30,10,2\r\n\r\nOK\r\n");
}

#[test]
fn broken_frames_and_stray_bytes_change_nothing() {
    let mut b = Bench::new(Family::Sim7080);
    zephyr_start(&mut b);
    // A DLCI the module lacks: DM.
    let mut sabm = Vec::new();
    Frame { dlci: 6, cr: true, kind: Kind::Sabm, pf: true, info: Vec::new() }.encode(&mut sabm);
    b.send(&sabm);
    let answers = frames(&mut b);
    assert_eq!(answers.iter().map(|f| (f.dlci, f.kind)).collect::<Vec<_>>(), [(6, Kind::Dm)]);
    // Plain AT, a frame with a bad FCS, a frame cut short: nothing.
    b.send(b"AT\r\n");
    b.send(&hex("F9 0B EF 07 41 54 0D 00 F9"));
    b.send(&hex("F9 0B EF 07 41"));
    b.send(&hex("F9"));
    assert_eq!(b.take_bytes(), b"");
    // The basic option has no transparency: the frame after the cut one is taken as its rest
    // and fails its check; the decoder finds its feet at the next flag.
    b.send(&uih(2, true, b"AT\r"));
    assert_eq!(b.take_bytes(), b"");
    b.send(&uih(2, true, b"AT\r"));
    assert_eq!(text_on(&mut b, 2, 127), OK);
}

#[test]
fn a_reboot_leaves_the_multiplexer() {
    let mut b = Bench::new(Family::Sim7080);
    zephyr_start(&mut b);
    b.send(&uih(1, true, b"AT+CFUN=1,1\r"));
    let before = text_on(&mut b, 1, 127);
    assert_eq!(before, OK);
    b.flush();
    b.take_bytes();
    // Plain AT, with the power-on settings (echo on).
    assert_eq!(b.at("AT"), "AT\r\r\nOK\r\n");
}

#[test]
fn closing_a_channel_under_a_data_call_hangs_it_up() {
    let mut b = Bench::new(Family::Sim7080);
    zephyr_start(&mut b);
    b.send(&uih(1, true, b"ATD*99***1#\r"));
    assert_eq!(text_on(&mut b, 1, 127), "\r\nCONNECT 150000000\r\n");
    let (job, owner, _) = b.started();
    assert_eq!(owner, crate::dialect::Owner::Ppp);
    // DISC on DLCI 1 under the call: UA, and the call's PPP stops.
    b.send(&hex("F9 07 53 01 3F F9"));
    assert_eq!(b.take_bytes(), hex("F9 07 73 01 15 F9"));
    assert!(b.cancelled(job), "the call's job runs on");
    // No call is left: another can be made on DLCI 2.
    b.send(&uih(2, true, b"ATD*99#\r"));
    assert_eq!(text_on(&mut b, 2, 127), "\r\nCONNECT 150000000\r\n");
    let (_, owner, _) = b.started();
    assert_eq!(owner, crate::dialect::Owner::Ppp);
}
