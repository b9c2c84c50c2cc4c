//! PPP in HDLC-like framing (RFC 1662 §3-4), IO-free: a decoder that finds frames in the bytes
//! of a line and an encoder for the modem's frames.
//!
//! - Frames are delimited by the flag `0x7E`; one flag may close a frame and open the next.
//! - Control escape `0x7D`: the next byte is XORed with `0x20`. The sender escapes the flag,
//!   the escape, and the control characters (below `0x20`) its peer's ACCM (Async-Control-
//!   Character-Map, LCP option 2) asks for; every control character until LCP says otherwise.
//!   A receiver drops control characters in its own ACCM that arrive unescaped (§7.1).
//! - The FCS is the 16-bit frame check sequence of RFC 1662 §C.2 (CRC-16/X-25), sent least
//!   significant byte first, over the address, control, protocol and information fields.
//!
//! A frame with a bad FCS, an escape before a flag (an abort, §4.4.1), or more than the
//! decoder's limit is discarded and counted; frames shorter than the FCS are fill. The decoder
//! holds at most one frame's worth of bytes.

use crc::{CRC_16_IBM_SDLC, Crc, Table};

/// The flag between frames.
pub const FLAG: u8 = 0x7E;
/// The control escape.
pub const ESCAPE: u8 = 0x7D;
/// The ACCM in force until LCP negotiates another: every control character escaped.
pub const DEFAULT_ACCM: u32 = 0xFFFF_FFFF;

/// RFC 1662's FCS-16: reflected polynomial 0x8408, initial 0xFFFF, ones' complement at the end
/// (sixteen tables: a byte at a time would cost a download a fifth of the modem's time).
const FCS16: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_IBM_SDLC);

/// Whether `byte` must be escaped under `accm`.
fn escaped(byte: u8, accm: u32) -> bool {
    byte == FLAG || byte == ESCAPE || (byte < 0x20 && accm & (1 << byte) != 0)
}

/// Frames `content` (address, control, protocol and information) for a peer whose receive
/// ACCM is `accm`: an opening flag, the escaped content and FCS, a closing flag.
pub fn encode(content: &[u8], accm: u32, out: &mut Vec<u8>) {
    out.reserve(content.len() + content.len() / 16 + 6);
    out.push(FLAG);
    escape_into(content, accm, out);
    escape_into(&FCS16.checksum(content).to_le_bytes(), accm, out);
    out.push(FLAG);
}

/// Appends `bytes` escaped under `accm`: the runs between escaped bytes are copied whole
/// (the encoder is the modem's hottest loop on a download).
fn escape_into(bytes: &[u8], accm: u32, out: &mut Vec<u8>) {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| escaped(b, accm)) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(&[ESCAPE, rest[at] ^ 0x20]);
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// How `bytes` may look on the line when a host escapes them under the maps hosts negotiate
/// (every control character, XON/XOFF only, none), the forms that differ from `bytes`: what
/// a recording must mask besides the bytes themselves (a PAP password with a control
/// character or a flag in it).
pub fn escaped_forms(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut forms: Vec<Vec<u8>> = Vec::new();
    for accm in [u32::MAX, 0x000A_0000, 0] {
        let mut form = Vec::with_capacity(bytes.len() * 2);
        escape_into(bytes, accm, &mut form);
        if form != bytes && !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// Finds frames in the bytes of a line.
#[derive(Debug)]
pub struct Decoder {
    /// The frame's content so far, FCS included, unescaped.
    content: Vec<u8>,
    /// The last byte was the escape.
    escape: bool,
    /// The frame overran the limit: the rest of it up to the next flag is dropped.
    overrun: bool,
    /// The longest content taken, FCS included.
    max: usize,
    /// Control characters that arrive unescaped and are dropped (our receive ACCM).
    accm: u32,
    /// Frames discarded.
    discarded: u64,
}

impl Decoder {
    /// A decoder that takes frames of up to `mru` octets of address, control, protocol and
    /// information.
    pub fn new(mru: usize) -> Decoder {
        Decoder { content: Vec::new(), escape: false, overrun: false, max: mru + 2, accm: DEFAULT_ACCM, discarded: 0 }
    }

    /// Sets the receive ACCM (what LCP agreed the peer escapes).
    pub fn set_accm(&mut self, accm: u32) {
        self.accm = accm;
    }

    /// How many frames were discarded (bad FCS, aborted, too long).
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Takes `bytes` from the line; the content of each good frame (without its FCS) goes to
    /// `frames`.
    pub fn decode(&mut self, bytes: &[u8], frames: &mut Vec<Vec<u8>>) {
        for &b in bytes {
            match b {
                FLAG => {
                    if let Some(frame) = self.end() {
                        frames.push(frame);
                    }
                }
                ESCAPE => self.escape = true,
                b if b < 0x20 && self.accm & (1 << b) != 0 => {}
                b => {
                    let b = if std::mem::take(&mut self.escape) { b ^ 0x20 } else { b };
                    if self.content.len() < self.max {
                        self.content.push(b);
                    } else {
                        self.overrun = true;
                    }
                }
            }
        }
    }

    /// A flag: the frame so far ends.
    fn end(&mut self) -> Option<Vec<u8>> {
        let aborted = std::mem::take(&mut self.escape);
        let overrun = std::mem::take(&mut self.overrun);
        let content = std::mem::take(&mut self.content);
        if content.is_empty() {
            return None;
        }
        if aborted || overrun || content.len() < 3 {
            self.discarded += 1;
            return None;
        }
        let (body, fcs) = content.split_at(content.len() - 2);
        if FCS16.checksum(body).to_le_bytes() != fcs {
            self.discarded += 1;
            return None;
        }
        Some(body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
    }

    /// An LCP Configure-Request of the kind pppd sends first (ACCM 0, a magic number, PFC and
    /// ACFC), framed under the default ACCM.
    #[test]
    fn an_lcp_request_is_framed_with_every_control_character_escaped() {
        let content = hex("FF 03 C0 21 01 01 00 14 02 06 00 00 00 00 05 06 12 34 56 78 07 02 08 02");
        let mut out = Vec::new();
        encode(&content, DEFAULT_ACCM, &mut out);
        assert_eq!(out[0], FLAG);
        assert_eq!(*out.last().unwrap(), FLAG);
        assert_eq!(&out[1..5], hex("FF 7D 23 C0").as_slice(), "03 is escaped");
        assert!(out[1..out.len() - 1].iter().all(|&b| b >= 0x20 && b != FLAG), "{out:02X?}");
        let mut decoder = Decoder::new(1500);
        let mut frames = Vec::new();
        decoder.decode(&out, &mut frames);
        assert_eq!(frames, std::slice::from_ref(&content));
        // Under an ACCM of 0 only the flag and the escape are escaped.
        let mut bare = Vec::new();
        encode(&content, 0, &mut bare);
        assert_eq!(&bare[1..5], hex("FF 03 C0 21").as_slice());
        let mut decoder = Decoder::new(1500);
        decoder.set_accm(0);
        decoder.decode(&bare, &mut frames);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1], content);
    }

    /// RFC 1662 §C.2's check: the FCS of a frame with its FCS appended leaves the residue
    /// 0xF0B8 in the register (the crate's CRC-16/X-25 is that register's complement).
    #[test]
    fn the_fcs_is_rfc_1662_s() {
        let body = b"\xFF\x03\xC0\x21\x05\x02\x00\x04";
        let mut framed = body.to_vec();
        framed.extend_from_slice(&FCS16.checksum(body).to_le_bytes());
        assert_eq!(!FCS16.checksum(&framed), 0xF0B8);
        // The catalogue's check value of CRC-16/X-25 over "123456789".
        assert_eq!(FCS16.checksum(b"123456789"), 0x906E);
    }

    #[test]
    fn bad_frames_are_counted_and_shared_flags_work() {
        let a = hex("FF 03 00 21 45 00");
        let b = hex("FF 03 00 21 46 7E 7D 01");
        let (mut first, mut second) = (Vec::new(), Vec::new());
        encode(&a, DEFAULT_ACCM, &mut first);
        encode(&b, DEFAULT_ACCM, &mut second);
        let mut bad = first.clone();
        bad[3] ^= 0x01;
        let mut stream = bad;
        stream.extend_from_slice(&[0x41, 0x42, ESCAPE, FLAG]); // an aborted frame
        stream.extend_from_slice(&[0x55; 40]); // too long for an MRU of 32
        stream.extend_from_slice(&first);
        stream.extend_from_slice(&second[1..]); // the flag shared
        let mut decoder = Decoder::new(32);
        let mut frames = Vec::new();
        for chunk in stream.chunks(3) {
            decoder.decode(chunk, &mut frames);
        }
        assert_eq!(frames, [a, b]);
        assert_eq!(decoder.discarded(), 3, "a bad FCS, an abort, an overrun");
    }
}
