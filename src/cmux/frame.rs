//! Frames of the 3GPP TS 27.010 multiplexer, basic option (§5.2): an IO-free decoder that
//! finds frames in the bytes of a line and an encoder, after the smoltcp manner.
//!
//! ```text
//! F9 | address | control | length (1 or 2 octets) | information | FCS | F9
//! ```
//!
//! - Address (§5.2.1.2): EA (bit 0, always 1), C/R (bit 1), DLCI (bits 2-7).
//! - Control (§5.2.1.3): SABM, UA, DM, DISC, UIH, UI, with the P/F bit 0x10.
//! - Length (§5.2.1.5): bit 0 EA; 1: one octet of 7 bits; 0: a second octet follows, 15 bits.
//! - FCS (§5.2.1.6): CRC-8 (x^8 + x^2 + x + 1, reflected, initial 0xFF), sent as its ones'
//!   complement, over address, control and length for UIH and UI frames, and over the
//!   information too for the others.
//! - One flag may close a frame and open the next (§5.2.6.1); extra flags are fill.
//!
//! A frame that breaks any rule (a bad FCS, an address without EA, an unknown control, an
//! information field longer than the decoder's limit, no closing flag where one is due) is
//! discarded and counted, and the decoder looks for the next flag: never an error, never a
//! panic, and it holds at most one frame's worth of bytes.

use crc::{CRC_8_ROHC, Crc};

/// The flag that opens and closes frames.
pub const FLAG: u8 = 0xF9;
/// The P/F bit of the control octet.
const PF: u8 = 0x10;
/// The largest information field the basic option's length can give (15 bits).
pub const MAX_INFO: usize = 0x7FFF;

/// CRC-8/ROHC is 27.010's CRC before the ones' complement: reflected, polynomial 0x07, initial
/// 0xFF, no final XOR.
const FCS: Crc<u8> = Crc::<u8>::new(&CRC_8_ROHC);

/// The FCS of `octets`: the ones' complement of the CRC.
fn fcs(octets: &[u8]) -> u8 {
    !FCS.checksum(octets)
}

/// The frame types (§5.2.1.3), by their control octet without the P/F bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Set Asynchronous Balanced Mode: open a channel.
    Sabm,
    /// Unnumbered Acknowledgement.
    Ua,
    /// Disconnected Mode: the channel is not open.
    Dm,
    /// Disconnect: close a channel.
    Disc,
    /// Unnumbered Information with Header check: data, the FCS over the header alone.
    Uih,
    /// Unnumbered Information: data, the FCS over the information too.
    Ui,
}

impl Kind {
    /// The control octet without P/F.
    pub fn control(self) -> u8 {
        match self {
            Kind::Sabm => 0x2F,
            Kind::Ua => 0x63,
            Kind::Dm => 0x0F,
            Kind::Disc => 0x43,
            Kind::Uih => 0xEF,
            Kind::Ui => 0x03,
        }
    }

    fn of(control: u8) -> Option<Kind> {
        [Kind::Sabm, Kind::Ua, Kind::Dm, Kind::Disc, Kind::Uih, Kind::Ui]
            .into_iter()
            .find(|k| k.control() == control & !PF)
    }

    /// Whether the FCS covers the header alone.
    fn header_check(self) -> bool {
        matches!(self, Kind::Uih | Kind::Ui)
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The channel, 0 (control) to 63.
    pub dlci: u8,
    /// The address's C/R bit.
    pub cr: bool,
    /// The type.
    pub kind: Kind,
    /// The P/F bit.
    pub pf: bool,
    /// The information field.
    pub info: Vec<u8>,
}

impl Frame {
    /// The frame's bytes, flags included. An information field beyond [`MAX_INFO`] is the
    /// caller's mistake: it is cut to that length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let info = &self.info[..self.info.len().min(MAX_INFO)];
        let start = out.len();
        out.push(FLAG);
        out.push(0x01 | (u8::from(self.cr) << 1) | ((self.dlci & 0x3F) << 2));
        out.push(self.kind.control() | if self.pf { PF } else { 0 });
        let len = info.len();
        if len < 0x80 {
            out.push(((len as u8) << 1) | 1);
        } else {
            out.push((len as u8) << 1);
            out.push((len >> 7) as u8);
        }
        let header_end = out.len();
        out.extend_from_slice(info);
        let covered = if self.kind.header_check() { &out[start + 1..header_end] } else { &out[start + 1..] };
        let check = fcs(covered);
        out.push(check);
        out.push(FLAG);
    }
}

/// Where the decoder is in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for a flag.
    Hunt,
    /// After a flag: the address, or more flags.
    Address,
    /// The control octet.
    Control,
    /// The first length octet.
    Length,
    /// The second length octet.
    Length2,
    /// The information field.
    Info,
    /// The FCS.
    Fcs,
    /// The closing flag.
    Close,
}

/// Finds frames in the bytes of a line.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// The frame's octets so far, from the address on.
    octets: Vec<u8>,
    /// The information field's length, once known.
    len: usize,
    /// Where the information field starts in `octets`.
    info_at: usize,
    /// The longest information field taken.
    max_info: usize,
    /// Frames discarded for breaking a rule.
    discarded: u64,
}

impl Decoder {
    /// A decoder that takes information fields of at most `max_info` octets (the N1 the host
    /// set, at most [`MAX_INFO`]).
    pub fn new(max_info: usize) -> Decoder {
        Decoder {
            state: State::Hunt,
            octets: Vec::new(),
            len: 0,
            info_at: 0,
            max_info: max_info.min(MAX_INFO),
            discarded: 0,
        }
    }

    /// How many frames were discarded for breaking a rule.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Takes `bytes` from the line; the frames they complete go to `frames`.
    pub fn decode(&mut self, bytes: &[u8], frames: &mut Vec<Frame>) {
        for &b in bytes {
            if let Some(frame) = self.step(b) {
                frames.push(frame);
            }
        }
    }

    fn reject(&mut self, b: u8) {
        self.discarded += 1;
        self.octets.clear();
        // The byte that broke the frame may be the flag of the next one.
        self.state = if b == FLAG { State::Address } else { State::Hunt };
    }

    fn step(&mut self, b: u8) -> Option<Frame> {
        match self.state {
            State::Hunt => {
                if b == FLAG {
                    self.state = State::Address;
                }
            }
            State::Address => {
                if b == FLAG {
                    return None;
                }
                if b & 1 == 0 {
                    self.reject(b);
                    return None;
                }
                self.octets.clear();
                self.octets.push(b);
                self.state = State::Control;
            }
            State::Control => {
                if Kind::of(b).is_none() {
                    self.reject(b);
                    return None;
                }
                self.octets.push(b);
                self.state = State::Length;
            }
            State::Length => {
                self.octets.push(b);
                if b & 1 == 1 {
                    self.len = usize::from(b >> 1);
                    self.begin_info();
                } else {
                    self.state = State::Length2;
                }
            }
            State::Length2 => {
                self.len = usize::from(self.octets[2] >> 1) | (usize::from(b) << 7);
                self.octets.push(b);
                if self.len > self.max_info {
                    self.reject(b);
                    return None;
                }
                self.begin_info();
            }
            State::Info => {
                self.octets.push(b);
                if self.octets.len() - self.info_at == self.len {
                    self.state = State::Fcs;
                }
            }
            State::Fcs => {
                let kind = Kind::of(self.octets[1]).unwrap_or(Kind::Uih);
                let covered = if kind.header_check() { &self.octets[..self.info_at] } else { &self.octets[..] };
                if fcs(covered) != b {
                    self.reject(b);
                    return None;
                }
                self.state = State::Close;
            }
            State::Close => {
                if b != FLAG {
                    self.reject(b);
                    return None;
                }
                // The closing flag may open the next frame.
                self.state = State::Address;
                let (address, control) = (self.octets[0], self.octets[1]);
                let frame = Frame {
                    dlci: address >> 2,
                    cr: address & 2 != 0,
                    kind: Kind::of(control).unwrap_or(Kind::Uih),
                    pf: control & PF != 0,
                    info: self.octets[self.info_at..].to_vec(),
                };
                self.octets.clear();
                return Some(frame);
            }
        }
        None
    }

    fn begin_info(&mut self) {
        self.info_at = self.octets.len();
        if self.len > self.max_info {
            self.discarded += 1;
            self.octets.clear();
            self.state = State::Hunt;
        } else {
            self.state = if self.len == 0 { State::Fcs } else { State::Info };
        }
    }
}

/// A message on the control channel (DLCI 0, §5.4.6): a type, command or response, and a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The type octet's type bits (`0x38` MSC, `0x30` CLD, `0x08` Test, ...), C/R and EA clear.
    pub kind: u8,
    /// A command (C/R 1) or a response.
    pub command: bool,
    /// The value octets.
    pub value: Vec<u8>,
}

/// Control channel message types (§5.4.6.3), as [`Message::kind`] holds them.
pub mod message {
    /// Non-supported command response.
    pub const NSC: u8 = 0x10;
    /// Test.
    pub const TEST: u8 = 0x20;
    /// Power saving control.
    pub const PSC: u8 = 0x40;
    /// Flow control off.
    pub const FCOFF: u8 = 0x60;
    /// Parameter negotiation.
    pub const PN: u8 = 0x80;
    /// Flow control on.
    pub const FCON: u8 = 0xA0;
    /// Multiplexer close down.
    pub const CLD: u8 = 0xC0;
    /// Modem status command.
    pub const MSC: u8 = 0xE0;
}

impl Message {
    /// The messages in a control channel information field; `None` if it is malformed (a
    /// length beyond the field).
    pub fn parse_all(mut info: &[u8]) -> Option<Vec<Message>> {
        let mut messages = Vec::new();
        while !info.is_empty() {
            let (&type_octet, rest) = info.split_first()?;
            let (&l1, rest) = rest.split_first()?;
            let (len, rest) = if l1 & 1 == 1 {
                (usize::from(l1 >> 1), rest)
            } else {
                let (&l2, rest) = rest.split_first()?;
                (usize::from(l1 >> 1) | (usize::from(l2) << 7), rest)
            };
            let value = rest.get(..len)?.to_vec();
            messages.push(Message { kind: type_octet & !0x03, command: type_octet & 0x02 != 0, value });
            info = &rest[len..];
        }
        Some(messages)
    }

    /// The message's octets.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.kind | (u8::from(self.command) << 1) | 1];
        let len = self.value.len().min(MAX_INFO);
        if len < 0x80 {
            out.push(((len as u8) << 1) | 1);
        } else {
            out.push((len as u8) << 1);
            out.push((len >> 7) as u8);
        }
        out.extend_from_slice(&self.value[..len]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
    }

    fn frame(dlci: u8, cr: bool, kind: Kind, pf: bool, info: &[u8]) -> Frame {
        Frame { dlci, cr, kind, pf, info: info.to_vec() }
    }

    fn bytes(f: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        f.encode(&mut out);
        out
    }

    /// The frames of TS 27.010 as hosts send and expect them, byte for byte (esp-modem's
    /// hard-coded close-down frame among them).
    #[test]
    fn frames_encode_to_the_bytes_hosts_send_and_expect() {
        let cases = [
            (frame(0, true, Kind::Sabm, true, &[]), "F9 03 3F 01 1C F9"),
            (frame(1, true, Kind::Sabm, true, &[]), "F9 07 3F 01 DE F9"),
            (frame(4, true, Kind::Sabm, true, &[]), "F9 13 3F 01 96 F9"),
            (frame(0, true, Kind::Ua, true, &[]), "F9 03 73 01 D7 F9"),
            (frame(2, true, Kind::Ua, true, &[]), "F9 0B 73 01 92 F9"),
            (frame(3, true, Kind::Dm, true, &[]), "F9 0F 1F 01 B1 F9"),
            (frame(1, true, Kind::Disc, true, &[]), "F9 07 53 01 3F F9"),
            (frame(1, true, Kind::Uih, false, b"AT\r"), "F9 07 EF 07 41 54 0D D3 F9"),
            (frame(1, false, Kind::Uih, false, b"AT\r"), "F9 05 EF 07 41 54 0D B2 F9"),
            (frame(1, false, Kind::Uih, false, b"\r\nOK\r\n"), "F9 05 EF 0D 0D 0A 4F 4B 0D 0A 5F F9"),
            (frame(0, true, Kind::Uih, false, &[0xC3, 0x01]), "F9 03 EF 05 C3 01 F2 F9"),
            (frame(0, false, Kind::Uih, false, &[0xE1, 0x05, 0x07, 0x8D]), "F9 01 EF 09 E1 05 07 8D 9A F9"),
        ];
        for (f, expected) in cases {
            assert_eq!(bytes(&f), hex(expected), "{f:?}");
            let mut decoder = Decoder::new(MAX_INFO);
            let mut got = Vec::new();
            decoder.decode(&hex(expected), &mut got);
            assert_eq!(got, [f], "{expected}");
        }
    }

    #[test]
    fn long_frames_shared_flags_and_fill_decode() {
        let long = frame(2, false, Kind::Uih, false, &[0x55; 1500]);
        let encoded = bytes(&long);
        assert_eq!(&encoded[..5], [0xF9, 0x09, 0xEF, (1500 % 128 * 2) as u8, (1500 / 128) as u8]);
        let short = frame(1, true, Kind::Uih, false, b"AT\r");
        // Fill flags, then two frames sharing one flag.
        let mut stream = vec![FLAG, FLAG, FLAG];
        stream.extend_from_slice(&encoded);
        stream.extend_from_slice(&bytes(&short)[1..]);
        let mut decoder = Decoder::new(1500);
        let mut got = Vec::new();
        for chunk in stream.chunks(7) {
            decoder.decode(chunk, &mut got);
        }
        assert_eq!(got, [long, short]);
        assert_eq!(decoder.discarded(), 0);
    }

    #[test]
    fn broken_frames_are_counted_and_the_next_one_is_found() {
        let good = bytes(&frame(1, true, Kind::Uih, false, b"AT\r"));
        let mut bad_fcs = good.clone();
        bad_fcs[7] ^= 1;
        let mut no_close = good.clone();
        no_close.pop();
        no_close.push(0x00);
        let too_long = bytes(&frame(1, true, Kind::Uih, false, &[0; 200]));
        let mut stream = Vec::new();
        for part in [&b"junk AT\r"[..], &bad_fcs, &no_close, &too_long, &[FLAG, 0x02, 0xEF], &good] {
            stream.extend_from_slice(part);
        }
        let mut decoder = Decoder::new(127);
        let mut got = Vec::new();
        decoder.decode(&stream, &mut got);
        assert_eq!(got, [frame(1, true, Kind::Uih, false, b"AT\r")]);
        assert_eq!(decoder.discarded(), 4, "a bad FCS, no closing flag, too long, no EA");
    }

    #[test]
    fn control_messages_parse_and_encode() {
        let msc = Message { kind: message::MSC, command: true, value: vec![0x07, 0x8D] };
        assert_eq!(msc.encode(), [0xE3, 0x05, 0x07, 0x8D]);
        let cld = Message { kind: message::CLD, command: false, value: vec![] };
        assert_eq!(cld.encode(), [0xC1, 0x01]);
        assert_eq!(
            Message::parse_all(&[0xE3, 0x05, 0x07, 0x8D, 0xC3, 0x01]),
            Some(vec![msc, Message { command: true, ..cld }])
        );
        assert_eq!(Message::parse_all(&[0xE3, 0x09, 0x07]), None, "a length beyond the field");
        let nsc = Message { kind: message::NSC, command: false, value: vec![0x83] };
        assert_eq!(bytes(&frame(0, false, Kind::Uih, false, &nsc.encode())), hex("F9 01 EF 07 11 03 83 70 F9"));
    }
}
