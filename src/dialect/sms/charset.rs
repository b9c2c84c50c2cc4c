//! The TE character set of `AT+CSCS` (TS 27.007 §5.5): how text-mode messages and numbers are
//! written between host and module. `"IRA"` (ITU T.50, ASCII), `"GSM"` (the 7-bit default
//! alphabet, one byte a character), `"UCS2"` (four hex digits a UTF-16 unit), `"HEX"` (two hex
//! digits a GSM character), `"8859-1"` (Latin-1). `"PCCP"` and `"PCDN"` (PC code pages) are
//! taken and treated as `"IRA"` (`docs/sms.md` S3).

use crate::sms::gsm7;
use crate::sms::pdu::{from_hex, to_hex};

/// A TE character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `"IRA"`: ASCII.
    Ira,
    /// `"GSM"`: GSM 7-bit default alphabet codes, a byte each.
    Gsm,
    /// `"UCS2"`: UTF-16 units as four hex digits each.
    Ucs2,
    /// `"HEX"`: GSM 7-bit codes as two hex digits each.
    Hex,
    /// `"8859-1"`: Latin-1.
    Latin1,
}

impl Charset {
    /// The set a name of `AT+CSCS` stands for.
    pub fn named(name: &str) -> Charset {
        match name.to_ascii_uppercase().as_str() {
            "GSM" => Charset::Gsm,
            "UCS2" => Charset::Ucs2,
            "HEX" => Charset::Hex,
            "8859-1" => Charset::Latin1,
            _ => Charset::Ira,
        }
    }

    /// The name `AT+CSCS?` prints.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Ira => "IRA",
            Charset::Gsm => "GSM",
            Charset::Ucs2 => "UCS2",
            Charset::Hex => "HEX",
            Charset::Latin1 => "8859-1",
        }
    }

    /// What the host wrote, as text; `None` if it is not valid in this set.
    pub fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Charset::Ira => bytes.iter().map(|&b| (b < 0x80).then_some(char::from(b))).collect(),
            Charset::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            Charset::Gsm => bytes.iter().all(|&b| b < 0x80).then(|| gsm7::decode(bytes)),
            Charset::Hex => {
                let septets = from_hex(std::str::from_utf8(bytes).ok()?).ok()?;
                septets.iter().all(|&b| b < 0x80).then(|| gsm7::decode(&septets))
            }
            Charset::Ucs2 => {
                let octets = from_hex(std::str::from_utf8(bytes).ok()?).ok()?;
                if octets.len() % 2 != 0 {
                    return None;
                }
                let units: Vec<u16> = octets.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
                String::from_utf16(&units).ok()
            }
        }
    }

    /// `text` as the host reads it in this set; a character the set cannot show is `?`.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Ira => text.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }).collect(),
            Charset::Latin1 => text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect(),
            Charset::Gsm => gsm_septets(text),
            Charset::Hex => to_hex(&gsm_septets(text)).into_bytes(),
            Charset::Ucs2 => {
                let octets: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
                to_hex(&octets).into_bytes()
            }
        }
    }
}

/// `text` in the GSM 7-bit alphabet, a character it lacks as `?`.
fn gsm_septets(text: &str) -> Vec<u8> {
    text.chars().flat_map(|c| gsm7::encode(c.encode_utf8(&mut [0; 4])).unwrap_or_else(|| vec![0x3F])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_carries_text_both_ways() {
        assert_eq!(Charset::Ira.decode(b"Hi!").as_deref(), Some("Hi!"));
        assert_eq!(Charset::Ira.decode(&[0xE9]), None);
        assert_eq!(Charset::Latin1.decode(&[0xE9]).as_deref(), Some("é"));
        assert_eq!(Charset::Ucs2.decode(b"00480069D83DDE00").as_deref(), Some("Hi😀"));
        assert_eq!(Charset::Ucs2.encode("Hi😀"), b"00480069D83DDE00");
        assert_eq!(Charset::Ucs2.decode(b"004"), None);
        assert_eq!(Charset::Hex.encode("@A"), b"0041");
        assert_eq!(Charset::Hex.decode(b"0041").as_deref(), Some("@A"));
        assert_eq!(Charset::Gsm.encode("€"), vec![0x1B, 0x65]);
        assert_eq!(Charset::Ira.encode("é"), b"?");
        assert_eq!(Charset::named("ucs2"), Charset::Ucs2);
        assert_eq!(Charset::named("PCCP").name(), "IRA");
    }
}
