//! The SMS transfer-layer PDUs a module exchanges with its host in PDU mode (TS 27.005
//! `AT+CMGF=0`): it decodes the SMS-SUBMIT a host writes after `AT+CMGS=<length>` and
//! encodes the SMS-DELIVER and SMS-STATUS-REPORT it shows in `+CMGR`, `+CMGL`, `+CMT` and
//! `+CDS` (3GPP TS 23.040 §9.2.2), each preceded by the service centre's address as
//! TS 27.005 §3 wants it (TS 24.011 §8.2.5.1; a length octet 0 when there is none).
//!
//! IO-free and total: every decoder turns any bytes into a value or a [`PduError`], never a
//! panic, and allocates no more than its input implies (user data is at most 140 octets,
//! 160 septets; an address at most 20 semi-octets).

use std::fmt;

use super::gsm7;

/// The most octets of user data one TPDU carries (TS 23.040 §9.2.3.24).
pub const MAX_OCTETS: usize = 140;
/// The most septets of 7-bit user data one TPDU carries: 140 octets' worth.
pub const MAX_SEPTETS: usize = 160;
/// The septets of text in one part of a concatenated message, after the 7 septets that the
/// 6-octet header of an 8-bit reference takes (TS 23.040 §9.2.3.24.1).
pub const PART_SEPTETS: usize = 153;
/// The octets of 8-bit or UCS2 data in one part of a concatenated message (67 UCS2 units).
pub const PART_OCTETS: usize = 134;
/// The most semi-octets of a TP address (2 to 12 octets with length and type, §9.1.2.5).
const MAX_SEMI_OCTETS: usize = 20;
/// The most octets after the SMSC part's length octet: type and 10 octets of digits.
const MAX_SMSC_OCTETS: u8 = 11;

/// Type of address "international number, ISDN numbering plan" (TS 27.005 `<toda>` 145).
pub const TOA_INTERNATIONAL: u8 = 0x91;
/// Type of address "unknown, ISDN numbering plan" (TS 27.005 `<toda>` 129, the default).
pub const TOA_UNKNOWN: u8 = 0x81;
/// Type of address "alphanumeric (GSM 7-bit default alphabet)" (TS 23.040 §9.1.2.5).
pub const TOA_ALPHANUMERIC: u8 = 0xD0;

/// What is wrong with a PDU, or with a message that cannot be written as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// Hex text with a character that is not a hex digit, at a byte offset.
    #[error("{found:?} at {at} is not a hex digit")]
    BadHex {
        /// Byte offset of the character in the text.
        at: usize,
        /// The character.
        found: char,
    },
    /// Hex text with an odd number of digits.
    #[error("{0} hex digits: a PDU has two per octet")]
    OddHex(usize),
    /// The PDU ends inside the field named (`TP-DA`, `TP-UD`, ...).
    #[error("the PDU ends inside {0}")]
    Truncated(&'static str),
    /// Octets after the end of the TPDU.
    #[error("{0} octets after the end of the TPDU")]
    Trailing(usize),
    /// TP-MTI (TS 23.040 §9.2.3.1) names another kind of TPDU.
    #[error("TP-MTI {found} is not that of an {expected}")]
    BadMti {
        /// The TP-MTI found (0-3).
        found: u8,
        /// The TPDU wanted.
        expected: &'static str,
    },
    /// `AT+CMGS=<length>` gave another count of TPDU octets than followed (TS 27.005 §3.5.1).
    #[error("<length> {declared} but {actual} TPDU octets follow the SMSC address")]
    LengthMismatch {
        /// The `<length>` the host gave.
        declared: usize,
        /// The octets after the SMSC part.
        actual: usize,
    },
    /// The SMSC part's length octet is beyond 11.
    #[error("an SMSC address of {0} octets (at most {MAX_SMSC_OCTETS})")]
    SmscLength(u8),
    /// An address longer than its field holds: 20 semi-octets (20 digits, 11 characters).
    #[error("{field} of {semi_octets} semi-octets (at most {MAX_SEMI_OCTETS})")]
    AddressLength {
        /// The field: `TP-DA`, `TP-OA`, `TP-RA` or `SMSC`.
        field: &'static str,
        /// Its length in semi-octets.
        semi_octets: usize,
    },
    /// A filler semi-octet (`F`) among an address's digits (TS 23.040 §9.1.2.3: only after the
    /// last digit of an odd count).
    #[error("a filler semi-octet among the digits of {0}")]
    Filler(&'static str),
    /// A character a numeric address cannot hold (only `0-9 * # a b c` and a leading `+`).
    #[error("{0:?} cannot be written in a numeric address")]
    AddressChar(char),
    /// An empty address where a message needs one (its originator).
    #[error("an empty address")]
    EmptyAddress,
    /// TP-UDL beyond what a TPDU carries (TS 23.040 §9.2.3.16).
    #[error("user data of {length} {unit} (at most {max})")]
    UserDataLength {
        /// The length.
        length: usize,
        /// The most there may be.
        max: usize,
        /// `"septets"` or `"octets"`.
        unit: &'static str,
    },
    /// A user data header (TS 23.040 §9.2.3.24) that does not fit in the user data.
    #[error("a user data header of {header} octets does not fit in TP-UDL {user_data}")]
    HeaderLength {
        /// The header's octets, its length octet included.
        header: usize,
        /// TP-UDL.
        user_data: usize,
    },
    /// A time stamp with a semi-octet that is not a decimal digit (TS 23.040 §9.2.3.11).
    #[error("{0} is not a time stamp: a semi-octet is not a decimal digit")]
    Timestamp(&'static str),
    /// Text with a character outside the GSM 7-bit default alphabet (TS 23.038 §6.2.1).
    #[error("{0:?} is not in the GSM 7-bit default alphabet")]
    NotGsm7(char),
    /// Text that needs more than the 255 parts of a concatenated message.
    #[error("{0} parts: a concatenated message has at most 255")]
    TooManyParts(usize),
}

/// Hex text (as `AT+CMGS` takes it and `+CMGR` prints it) as octets: two digits an octet, in
/// either case, nothing else.
pub fn from_hex(text: &str) -> Result<Vec<u8>, PduError> {
    if let Some((at, found)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(PduError::BadHex { at, found });
    }
    if !text.len().is_multiple_of(2) {
        return Err(PduError::OddHex(text.len()));
    }
    let digit = |b: u8| char::from(b).to_digit(16).map_or(0, |d| d as u8);
    Ok(text.as_bytes().chunks_exact(2).map(|pair| pair.iter().fold(0, |acc, &b| acc << 4 | digit(b))).collect())
}

/// Octets as upper-case hex, as modules print PDUs.
pub fn to_hex(octets: &[u8]) -> String {
    use fmt::Write;
    octets.iter().fold(String::with_capacity(2 * octets.len()), |mut s, o| {
        let _ = write!(s, "{o:02X}");
        s
    })
}

/// A cursor over a PDU that names the field it was reading when the PDU ended.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn octet(&mut self, field: &'static str) -> Result<u8, PduError> {
        let (&first, rest) = self.0.split_first().ok_or(PduError::Truncated(field))?;
        self.0 = rest;
        Ok(first)
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], PduError> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(PduError::Truncated(field))?;
        self.0 = rest;
        Ok(head)
    }

    fn seven(&mut self, field: &'static str) -> Result<[u8; 7], PduError> {
        self.take(7, field)?.try_into().map_err(|_| PduError::Truncated(field))
    }

    fn end(&self) -> Result<(), PduError> {
        if self.0.is_empty() { Ok(()) } else { Err(PduError::Trailing(self.0.len())) }
    }
}

/// The semi-octet of an address digit (TS 23.040 §9.1.2.3): `0-9`, `*`, `#`, `a`, `b`, `c`.
fn semi_octet(c: char) -> Option<u8> {
    match c {
        '0'..='9' => u8::try_from(c).ok().map(|b| b - b'0'),
        '*' => Some(0xA),
        '#' => Some(0xB),
        'a' | 'A' => Some(0xC),
        'b' | 'B' => Some(0xD),
        'c' | 'C' => Some(0xE),
        _ => None,
    }
}

/// Semi-octets in the swapped order of TS 23.040 §9.1.2.3, an odd count filled with `F`.
fn swapped_semi_octets(nibbles: &[u8]) -> impl Iterator<Item = u8> + '_ {
    nibbles.chunks(2).map(|pair| match pair {
        [low, high] => low | high << 4,
        [low] => low | 0xF0,
        _ => 0xFF,
    })
}

/// The first `count` digits of swapped semi-octets of `field`; a filler (`F`) among them is an
/// error, but for the last of an SMSC address's (its length counts octets, not digits).
fn digits(octets: &[u8], count: usize, field: &'static str) -> Result<String, PduError> {
    let symbols = b"0123456789*#abc";
    let nibbles: Vec<u8> = octets.iter().flat_map(|o| [o & 0x0F, o >> 4]).take(count).collect();
    let mut text = String::with_capacity(nibbles.len());
    for (i, n) in nibbles.iter().enumerate() {
        match symbols.get(usize::from(*n)) {
            Some(&b) => text.push(char::from(b)),
            // The filler of an odd count: only the last semi-octet of the SMSC's value.
            None if i + 1 == nibbles.len() && field == "SMSC" => {}
            None => return Err(PduError::Filler(field)),
        }
    }
    Ok(text)
}

/// An address (TS 23.040 §9.1.2.5): the digits (a leading `+` when the type of number is
/// international) or, for an alphanumeric type, the text; and the type-of-address octet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// `+4915112345678`, `013800138000`, or alphanumeric text such as `vmodem`.
    pub number: String,
    /// Type of address: bit 7 set, type of number in bits 6-4, numbering plan in bits 3-0
    /// ([`TOA_INTERNATIONAL`], [`TOA_UNKNOWN`], [`TOA_ALPHANUMERIC`], ...).
    pub ton_npi: u8,
}

impl Address {
    /// The address a host's text names (`AT+CMGS="+4915112345678"`, a configured number):
    /// `+` and digits are international (`<toda>` 145), digits alone unknown (129, TS 27.005
    /// §3.1); anything else (a name such as `vmodem`) is alphanumeric. It is checked when
    /// encoded.
    pub fn parse(text: &str) -> Address {
        let digits = text.strip_prefix('+').unwrap_or(text);
        let dialable = digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
        let ton_npi = match (dialable, text.starts_with('+')) {
            (true, true) if !digits.is_empty() => TOA_INTERNATIONAL,
            (true, false) => TOA_UNKNOWN,
            _ => TOA_ALPHANUMERIC,
        };
        Address { number: text.to_string(), ton_npi }
    }

    /// The type of number (bits 6-4 of the type of address).
    fn ton(&self) -> u8 {
        (self.ton_npi >> 4) & 0x07
    }

    /// Whether the type of number is international (1): the number is shown with a `+`.
    pub fn is_international(&self) -> bool {
        self.ton() == 1
    }

    /// Whether the type of number is alphanumeric (5): the "number" is 7-bit packed text.
    pub fn is_alphanumeric(&self) -> bool {
        self.ton() == 5
    }

    /// The semi-octets of a numeric address, without the `+` of an international one.
    fn semi_octets(&self, field: &'static str) -> Result<Vec<u8>, PduError> {
        let digits =
            if self.is_international() { self.number.strip_prefix('+').unwrap_or(&self.number) } else { &self.number };
        let nibbles =
            digits.chars().map(|c| semi_octet(c).ok_or(PduError::AddressChar(c))).collect::<Result<Vec<_>, _>>()?;
        if nibbles.len() > MAX_SEMI_OCTETS {
            return Err(PduError::AddressLength { field, semi_octets: nibbles.len() });
        }
        Ok(nibbles)
    }

    /// Whether it can stand as a message's originator: not empty, and encodable as a TP address.
    pub fn check(&self) -> Result<(), PduError> {
        if self.number.is_empty() {
            return Err(PduError::EmptyAddress);
        }
        self.encode_tp("TP-OA", &mut Vec::new())
    }

    /// Writes a TP address (TS 23.040 §9.1.2.5): length in useful semi-octets, type, value.
    fn encode_tp(&self, field: &'static str, out: &mut Vec<u8>) -> Result<(), PduError> {
        if self.is_alphanumeric() {
            let septets = gsm7_septets(&self.number)?;
            let semi_octets = (7 * septets.len()).div_ceil(4);
            let length = u8::try_from(semi_octets)
                .ok()
                .filter(|&n| usize::from(n) <= MAX_SEMI_OCTETS)
                .ok_or(PduError::AddressLength { field, semi_octets })?;
            out.extend([length, self.ton_npi]);
            out.extend(gsm7::pack(&septets, 0));
        } else {
            let nibbles = self.semi_octets(field)?;
            out.extend([nibbles.len() as u8, self.ton_npi]);
            out.extend(swapped_semi_octets(&nibbles));
        }
        Ok(())
    }

    /// Reads a TP address (TS 23.040 §9.1.2.5).
    fn decode_tp(r: &mut Reader<'_>, field: &'static str) -> Result<Address, PduError> {
        let semi_octets = usize::from(r.octet(field)?);
        if semi_octets > MAX_SEMI_OCTETS {
            return Err(PduError::AddressLength { field, semi_octets });
        }
        let ton_npi = r.octet(field)?;
        let value = r.take(semi_octets.div_ceil(2), field)?;
        let mut address = Address { number: String::new(), ton_npi };
        address.number = if address.is_alphanumeric() {
            gsm7::decode(&gsm7::unpack(value, semi_octets * 4 / 7, 0))
        } else {
            let plus = if address.is_international() { "+" } else { "" };
            format!("{plus}{}", digits(value, semi_octets, field)?)
        };
        Ok(address)
    }
}

/// Writes the SMSC part that precedes a TPDU (TS 27.005 §3: TS 24.011 §8.2.5.1): length of
/// type and value in octets, 0 for none.
fn encode_smsc(smsc: Option<&Address>, out: &mut Vec<u8>) -> Result<(), PduError> {
    let Some(smsc) = smsc else {
        out.push(0);
        return Ok(());
    };
    let nibbles = smsc.semi_octets("SMSC")?;
    out.extend([1 + nibbles.len().div_ceil(2) as u8, smsc.ton_npi]);
    out.extend(swapped_semi_octets(&nibbles));
    Ok(())
}

/// Reads the SMSC part that precedes a TPDU; `None` for a length of 0.
fn decode_smsc(r: &mut Reader<'_>) -> Result<Option<Address>, PduError> {
    let length = r.octet("SMSC")?;
    if length == 0 {
        return Ok(None);
    }
    if length > MAX_SMSC_OCTETS {
        return Err(PduError::SmscLength(length));
    }
    let ton_npi = r.octet("SMSC")?;
    let value = r.take(usize::from(length - 1), "SMSC")?;
    let mut address = Address { number: digits(value, 2 * value.len(), "SMSC")?, ton_npi };
    if address.is_international() {
        address.number.insert(0, '+');
    }
    Ok(Some(address))
}

/// Septets of `text`, or the first character the alphabet lacks.
fn gsm7_septets(text: &str) -> Result<Vec<u8>, PduError> {
    gsm7::encode(text).ok_or_else(|| PduError::NotGsm7(text.chars().find(|&c| !gsm7::representable(c)).unwrap_or('\0')))
}

/// A service centre time stamp (TS 23.040 §9.2.3.11): local time and its offset from UTC,
/// seven octets of swapped semi-octets. TP-VP in absolute form and TP-DT use it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timestamp {
    /// Year of the century, 0-99.
    pub year: u8,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// Offset of local time from UTC in quarters of an hour: `32` is UTC+8, `-16` UTC-4.
    pub quarter_hours: i8,
}

/// A value 0-99 as two swapped semi-octets (units in the high nibble).
fn swapped(value: u8) -> u8 {
    let value = value % 100;
    ((value % 10) << 4) | (value / 10)
}

/// Two swapped semi-octets as a value, if both are decimal digits.
fn unswapped(octet: u8) -> Option<u8> {
    let (tens, units) = (octet & 0x0F, octet >> 4);
    (tens <= 9 && units <= 9).then_some(tens * 10 + units)
}

impl Timestamp {
    /// The time stamp of the instant `t` in UTC (zone `+00`): what a centre without a time
    /// zone of its own stamps a message with.
    pub fn from_utc(t: time::OffsetDateTime) -> Timestamp {
        Timestamp::local(t, 0)
    }

    /// The time stamp of the instant `t` as local time `quarter_hours` from UTC (`32` for
    /// UTC+8). An offset beyond what can be written (±79 quarters) keeps `t`'s own.
    pub fn local(t: time::OffsetDateTime, quarter_hours: i8) -> Timestamp {
        let offset = time::UtcOffset::from_whole_seconds(i32::from(quarter_hours.clamp(-79, 79)) * 900);
        let local = offset.ok().and_then(|o| t.checked_to_offset(o)).unwrap_or(t);
        let small = |v: i32| u8::try_from(v.rem_euclid(100)).unwrap_or(0);
        Timestamp {
            year: small(local.year()),
            month: u8::from(local.month()),
            day: local.day(),
            hour: local.hour(),
            minute: local.minute(),
            second: local.second(),
            quarter_hours: i8::try_from(local.offset().whole_seconds() / 900).unwrap_or(0),
        }
    }

    /// The seven octets (each value taken modulo 100, the offset at most 79 quarters).
    fn encode(&self) -> [u8; 7] {
        let zone = swapped(self.quarter_hours.unsigned_abs().min(79));
        let sign = if self.quarter_hours < 0 { 0x08 } else { 0 };
        [
            swapped(self.year),
            swapped(self.month),
            swapped(self.day),
            swapped(self.hour),
            swapped(self.minute),
            swapped(self.second),
            zone | sign,
        ]
    }

    /// Reads seven octets; bit 3 of the last is the offset's sign. Semi-octets must be
    /// decimal digits; the calendar is not checked (a module shows what the network sent).
    fn decode(octets: [u8; 7], field: &'static str) -> Result<Timestamp, PduError> {
        let [year, month, day, hour, minute, second, zone] = octets;
        let value = |o: u8| unswapped(o).ok_or(PduError::Timestamp(field));
        let offset = value(zone & !0x08)? as i8;
        Ok(Timestamp {
            year: value(year)?,
            month: value(month)?,
            day: value(day)?,
            hour: value(hour)?,
            minute: value(minute)?,
            second: value(second)?,
            quarter_hours: if zone & 0x08 != 0 { -offset } else { offset },
        })
    }
}

impl fmt::Display for Timestamp {
    /// TS 27.005 `<scts>` text: `yy/MM/dd,hh:mm:ss±zz`, e.g. `02/01/30,20:40:31+32`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.quarter_hours < 0 { '-' } else { '+' };
        write!(
            f,
            "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{sign}{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.quarter_hours.unsigned_abs()
        )
    }
}

/// The validity period of an SMS-SUBMIT (TS 23.040 §9.2.3.12), in the format TP-VPF names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    /// No TP-VP (TP-VPF 00): the centre's default.
    None,
    /// Relative (TP-VPF 10): one octet, 0-143 five-minute steps, then half hours, days, weeks.
    Relative(u8),
    /// Absolute (TP-VPF 11): the time it ends, as a time stamp.
    Absolute(Timestamp),
    /// Enhanced (TP-VPF 01, §9.2.3.12.3): seven octets, kept raw.
    Enhanced([u8; 7]),
}

impl Validity {
    /// TP-VPF, bits 4-3 of the first octet.
    fn format(&self) -> u8 {
        match self {
            Validity::None => 0b00,
            Validity::Enhanced(_) => 0b01,
            Validity::Relative(_) => 0b10,
            Validity::Absolute(_) => 0b11,
        }
    }
}

/// The alphabet of user data, as a TP-DCS names it (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// The GSM 7-bit default alphabet: TP-UDL counts septets.
    Gsm7,
    /// 8-bit data: TP-UDL counts octets.
    Eight,
    /// UCS2 (sent as UTF-16BE, surrogate pairs included): TP-UDL counts octets.
    Ucs2,
}

impl Coding {
    /// The alphabet of a TP-DCS (TS 23.038 §4): general data coding and automatic deletion
    /// groups (`00xx`, `01xx`, bits 3-2), message waiting groups (`1100`, `1101` 7-bit, `1110`
    /// UCS2), data coding/message class (`1111`, bit 2). Reserved codings read as 7-bit, as
    /// §4 asks of a receiver; compressed text (bit 5, TS 23.042) as 8-bit, since its length
    /// counts octets and it cannot be shown as text.
    pub fn from_dcs(dcs: u8) -> Coding {
        match dcs >> 4 {
            0x0..=0x7 if dcs & 0x20 != 0 => Coding::Eight,
            0x0..=0x7 => match (dcs >> 2) & 0x03 {
                0b01 => Coding::Eight,
                0b10 => Coding::Ucs2,
                _ => Coding::Gsm7,
            },
            0xE => Coding::Ucs2,
            0xF if dcs & 0x04 != 0 => Coding::Eight,
            _ => Coding::Gsm7,
        }
    }

    /// The TP-DCS of the general data coding group for this alphabet, uncompressed, with a
    /// message class (0-3; 0 is "flash", shown at once and not stored) or without.
    pub fn dcs(self, class: Option<u8>) -> u8 {
        let alphabet = match self {
            Coding::Gsm7 => 0x00,
            Coding::Eight => 0x04,
            Coding::Ucs2 => 0x08,
        };
        alphabet | class.map_or(0, |c| 0x10 | (c & 0x03))
    }
}

/// The message class a TP-DCS gives (TS 23.038 §4), if any: 0 flash (shown, not stored), 1
/// module, 2 SIM, 3 terminal equipment.
pub fn message_class(dcs: u8) -> Option<u8> {
    match dcs >> 4 {
        0x0..=0x7 if dcs & 0x10 != 0 => Some(dcs & 0x03),
        0xF => Some(dcs & 0x03),
        _ => None,
    }
}

/// A concatenated short message's information element (TS 23.040 §9.2.3.24.1, IEI `0x00`
/// with an 8-bit reference; §9.2.3.24.8, IEI `0x08` with a 16-bit one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    /// The reference the parts of one message share.
    pub reference: u16,
    /// How many parts the message has (1-255).
    pub parts: u8,
    /// Which part this is (1 to `parts`).
    pub part: u8,
    /// Whether the reference takes 16 bits (IEI `0x08`) rather than 8 (IEI `0x00`, which
    /// keeps only the low octet of `reference`).
    pub wide_reference: bool,
}

impl Concat {
    /// The information element: IEI, length, then the data.
    pub fn element(&self) -> Vec<u8> {
        let [high, low] = self.reference.to_be_bytes();
        if self.wide_reference {
            vec![0x08, 4, high, low, self.parts, self.part]
        } else {
            vec![0x00, 3, low, self.parts, self.part]
        }
    }
}

/// TP-UD (TS 23.040 §9.2.3.24): an optional header of information elements, then the body.
/// What a body unit is depends on the TP-DCS's [`Coding`]: a septet (`0x00..=0x7F`, one per
/// byte, unpacked) for 7-bit, an octet for 8-bit, an octet of UTF-16BE for UCS2.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UserData {
    /// The header's information elements, raw, without the UDHL octet; empty for none (and
    /// TP-UDHI is set exactly when it is not empty).
    pub header: Vec<u8>,
    /// Septets or octets, as above.
    pub body: Vec<u8>,
}

/// Appends the body units of `c` in `coding` (for 8-bit, its UTF-8 octets).
fn push_units(c: char, coding: Coding, out: &mut Vec<u8>) -> Result<(), PduError> {
    match coding {
        Coding::Gsm7 => out.extend(gsm7::encode(c.encode_utf8(&mut [0; 4])).ok_or(PduError::NotGsm7(c))?),
        Coding::Eight => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        Coding::Ucs2 => out.extend(c.encode_utf16(&mut [0; 2]).iter().flat_map(|u| u.to_be_bytes())),
    }
    Ok(())
}

impl UserData {
    /// `text` as a body in `coding`, without a header: GSM septets, UTF-16BE, or for 8-bit
    /// its UTF-8 octets. An error if 7-bit cannot write a character. The length is checked
    /// when the PDU is encoded; see [`UserData::split`] for long text.
    pub fn from_text(text: &str, coding: Coding) -> Result<UserData, PduError> {
        let mut body = Vec::with_capacity(text.len());
        for c in text.chars() {
            push_units(c, coding, &mut body)?;
        }
        Ok(UserData { header: Vec::new(), body })
    }

    /// `text` as the user data of one message or, if it does not fit in one (160 septets,
    /// 140 octets), as the parts of a concatenated one (TS 23.040 §9.2.3.24.1): each with
    /// an 8-bit `reference` header and at most 153 septets, 134 octets (67 UCS2 units). A
    /// character is never cut between parts: not an escape pair, not a surrogate pair, not
    /// a UTF-8 sequence.
    pub fn split(text: &str, coding: Coding, reference: u8) -> Result<Vec<UserData>, PduError> {
        let whole = UserData::from_text(text, coding)?;
        let (single, part) = match coding {
            Coding::Gsm7 => (MAX_SEPTETS, PART_SEPTETS),
            Coding::Eight | Coding::Ucs2 => (MAX_OCTETS, PART_OCTETS),
        };
        if whole.body.len() <= single {
            return Ok(vec![whole]);
        }
        let mut bodies = Vec::new();
        let (mut body, mut units) = (Vec::with_capacity(part), Vec::with_capacity(4));
        for c in text.chars() {
            units.clear();
            push_units(c, coding, &mut units)?;
            if body.len() + units.len() > part {
                bodies.push(std::mem::replace(&mut body, Vec::with_capacity(part)));
                if bodies.len() == 255 {
                    return Err(PduError::TooManyParts(256));
                }
            }
            body.extend_from_slice(&units);
        }
        bodies.push(body);
        let parts = u8::try_from(bodies.len()).map_err(|_| PduError::TooManyParts(bodies.len()))?;
        Ok((1..=parts)
            .zip(bodies)
            .map(|(n, body)| {
                let concat = Concat { reference: reference.into(), parts, part: n, wide_reference: false };
                UserData { header: concat.element(), body }
            })
            .collect())
    }

    /// The body as text: 7-bit decoded by TS 23.038 §6.2.1, UCS2 as UTF-16BE (an unpaired
    /// surrogate or odd octet as U+FFFD); `None` for 8-bit data, which is not text.
    pub fn text(&self, coding: Coding) -> Option<String> {
        match coding {
            Coding::Gsm7 => Some(gsm7::decode(&self.body)),
            Coding::Eight => None,
            Coding::Ucs2 => {
                let pairs = self.body.chunks_exact(2);
                let odd = !pairs.remainder().is_empty();
                let units: Vec<u16> =
                    pairs.map(|p| <[u8; 2]>::try_from(p).map_or(0xFFFD, u16::from_be_bytes)).collect();
                let mut text = String::from_utf16_lossy(&units);
                if odd {
                    text.push(char::REPLACEMENT_CHARACTER);
                }
                Some(text)
            }
        }
    }

    /// The concatenation element of the header, if any (§9.2.3.24.1, §9.2.3.24.8): other
    /// elements are skipped; one whose part count is 0 or whose part is 0 or beyond the count
    /// is ignored as the standard says; of several, the last counts (§9.2.3.24).
    pub fn concat(&self) -> Option<Concat> {
        let mut found = None;
        let mut rest = self.header.as_slice();
        while let [iei, length, tail @ ..] = rest {
            let Some((data, next)) = tail.split_at_checked(usize::from(*length)) else { break };
            let concat = match (*iei, data) {
                (0x00, &[reference, parts, part]) => {
                    Some(Concat { reference: reference.into(), parts, part, wide_reference: false })
                }
                (0x08, &[high, low, parts, part]) => {
                    Some(Concat { reference: u16::from_be_bytes([high, low]), parts, part, wide_reference: true })
                }
                _ => None,
            };
            found = concat.filter(|c| c.parts != 0 && c.part != 0 && c.part <= c.parts).or(found);
            rest = next;
        }
        found
    }

    /// Writes TP-UDL and TP-UD (TS 23.040 §9.2.3.16, §9.2.3.24): for 7-bit, the header is
    /// followed by fill bits to a septet boundary and TP-UDL counts the header's septets.
    fn encode(&self, coding: Coding, out: &mut Vec<u8>) -> Result<(), PduError> {
        let header_octets = if self.header.is_empty() { 0 } else { 1 + self.header.len() };
        let (length, max, unit, fill) = match coding {
            Coding::Gsm7 => {
                let header_septets = (8 * header_octets).div_ceil(7);
                let fill = 7 * header_septets - 8 * header_octets;
                (header_septets + self.body.len(), MAX_SEPTETS, "septets", fill as u8)
            }
            Coding::Eight | Coding::Ucs2 => (header_octets + self.body.len(), MAX_OCTETS, "octets", 0),
        };
        let udl = u8::try_from(length).ok().filter(|_| length <= max);
        let udl = udl.ok_or(PduError::UserDataLength { length, max, unit })?;
        out.push(udl);
        if header_octets > 0 {
            out.push((header_octets - 1) as u8);
            out.extend_from_slice(&self.header);
        }
        match coding {
            Coding::Gsm7 => out.extend(gsm7::pack(&self.body, fill)),
            Coding::Eight | Coding::Ucs2 => out.extend_from_slice(&self.body),
        }
        Ok(())
    }

    /// Reads TP-UDL and TP-UD; `has_header` is TP-UDHI.
    fn decode(r: &mut Reader<'_>, coding: Coding, has_header: bool) -> Result<UserData, PduError> {
        let length = usize::from(r.octet("TP-UDL")?);
        let (max, unit, octets) = match coding {
            Coding::Gsm7 => (MAX_SEPTETS, "septets", (7 * length).div_ceil(8)),
            Coding::Eight | Coding::Ucs2 => (MAX_OCTETS, "octets", length),
        };
        if length > max {
            return Err(PduError::UserDataLength { length, max, unit });
        }
        let data = r.take(octets, "TP-UD")?;
        let (header, header_octets) = match data.split_first() {
            Some((&udhl, rest)) if has_header => {
                let header_octets = 1 + usize::from(udhl);
                let fits = match coding {
                    Coding::Gsm7 => (8 * header_octets).div_ceil(7) <= length,
                    Coding::Eight | Coding::Ucs2 => header_octets <= length,
                };
                let header = rest.get(..usize::from(udhl)).filter(|_| fits);
                (header.ok_or(PduError::HeaderLength { header: header_octets, user_data: length })?, header_octets)
            }
            None if has_header => return Err(PduError::HeaderLength { header: 1, user_data: length }),
            _ => (&[][..], 0),
        };
        let rest = data.get(header_octets..).unwrap_or_default();
        let body = match coding {
            Coding::Gsm7 => {
                let header_septets = (8 * header_octets).div_ceil(7);
                let fill = 7 * header_septets - 8 * header_octets;
                gsm7::unpack(rest, length - header_septets, fill as u8)
            }
            Coding::Eight | Coding::Ucs2 => rest.to_vec(),
        };
        Ok(UserData { header: header.to_vec(), body })
    }
}

/// TP-MTI, bits 1-0 of the first octet (TS 23.040 §9.2.3.1), checked against the one wanted.
fn check_mti(first: u8, mti: u8, expected: &'static str) -> Result<(), PduError> {
    if first & 0x03 == mti { Ok(()) } else { Err(PduError::BadMti { found: first & 0x03, expected }) }
}

/// The bit `bit` set if `on`.
fn flag(on: bool, bit: u8) -> u8 {
    if on { 1 << bit } else { 0 }
}

/// An SMS-SUBMIT (TS 23.040 §9.2.2.2): a message the host hands the module to send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Submit {
    /// TP-RD (§9.2.3.25): the centre should reject a duplicate of a message it holds.
    pub reject_duplicates: bool,
    /// TP-VPF and TP-VP (§9.2.3.3, §9.2.3.12).
    pub validity: Validity,
    /// TP-SRR (§9.2.3.5): a status report is requested.
    pub status_report: bool,
    /// TP-RP (§9.2.3.17): a reply path is requested.
    pub reply_path: bool,
    /// TP-MR (§9.2.3.6): the message reference (`+CMGS: <mr>`).
    pub message_ref: u8,
    /// TP-DA (§9.2.3.8): the recipient.
    pub destination: Address,
    /// TP-PID (§9.2.3.9), raw.
    pub pid: u8,
    /// TP-DCS (TS 23.038 §4), raw; see [`Coding::from_dcs`] and [`message_class`].
    pub dcs: u8,
    /// TP-UDHI, TP-UDL and TP-UD, in the DCS's coding.
    pub user_data: UserData,
}

impl Submit {
    /// The alphabet of the user data.
    pub fn coding(&self) -> Coding {
        Coding::from_dcs(self.dcs)
    }

    /// The whole PDU as a host writes it to `AT+CMGS`/`AT+CMGW` (SMSC part, then the TPDU)
    /// and the TPDU's length, the `<length>` that goes with it.
    pub fn encode(&self, smsc: Option<&Address>) -> Result<(Vec<u8>, usize), PduError> {
        let mut out = Vec::new();
        encode_smsc(smsc, &mut out)?;
        let start = out.len();
        let first = 0b01
            | flag(self.reject_duplicates, 2)
            | self.validity.format() << 3
            | flag(self.status_report, 5)
            | flag(!self.user_data.header.is_empty(), 6)
            | flag(self.reply_path, 7);
        out.extend([first, self.message_ref]);
        self.destination.encode_tp("TP-DA", &mut out)?;
        out.extend([self.pid, self.dcs]);
        match self.validity {
            Validity::None => {}
            Validity::Relative(vp) => out.push(vp),
            Validity::Absolute(t) => out.extend(t.encode()),
            Validity::Enhanced(vp) => out.extend(vp),
        }
        self.user_data.encode(self.coding(), &mut out)?;
        let tpdu_len = out.len() - start;
        Ok((out, tpdu_len))
    }
}

/// Reads what a host writes after `AT+CMGS=<length>` (TS 27.005 §3.5.1): the SMSC part
/// (`None` if its length octet is 0) and an SMS-SUBMIT of exactly `tpdu_len` octets, the
/// `<length>`, which does not count the SMSC part.
pub fn decode_submit(pdu: &[u8], tpdu_len: usize) -> Result<(Option<Address>, Submit), PduError> {
    let mut r = Reader(pdu);
    let smsc = decode_smsc(&mut r)?;
    if r.0.len() != tpdu_len {
        return Err(PduError::LengthMismatch { declared: tpdu_len, actual: r.0.len() });
    }
    let first = r.octet("TP-MTI")?;
    check_mti(first, 0b01, "SMS-SUBMIT")?;
    let message_ref = r.octet("TP-MR")?;
    let destination = Address::decode_tp(&mut r, "TP-DA")?;
    let pid = r.octet("TP-PID")?;
    let dcs = r.octet("TP-DCS")?;
    let validity = match (first >> 3) & 0x03 {
        0b00 => Validity::None,
        0b10 => Validity::Relative(r.octet("TP-VP")?),
        0b01 => Validity::Enhanced(r.seven("TP-VP")?),
        _ => Validity::Absolute(Timestamp::decode(r.seven("TP-VP")?, "TP-VP")?),
    };
    let user_data = UserData::decode(&mut r, Coding::from_dcs(dcs), first & 0x40 != 0)?;
    r.end()?;
    let submit = Submit {
        reject_duplicates: first & 0x04 != 0,
        validity,
        status_report: first & 0x20 != 0,
        reply_path: first & 0x80 != 0,
        message_ref,
        destination,
        pid,
        dcs,
        user_data,
    };
    Ok((smsc, submit))
}

/// An SMS-DELIVER (TS 23.040 §9.2.2.1): a message the module hands the host, with the
/// centre's address that `+CMGR`, `+CMGL` and `+CMT` show before it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Deliver {
    /// The service centre that delivered it; `None` writes a length octet 0.
    pub smsc: Option<Address>,
    /// More messages wait in the centre: TP-MMS (§9.2.3.2) is 0 then, 1 when none wait.
    pub more_messages_to_send: bool,
    /// TP-SRI (§9.2.3.4): the sender will get a status report.
    pub status_report_indication: bool,
    /// TP-RP (§9.2.3.17): a reply path exists.
    pub reply_path: bool,
    /// TP-OA (§9.2.3.7): the sender.
    pub originator: Address,
    /// TP-PID (§9.2.3.9), raw.
    pub pid: u8,
    /// TP-DCS (TS 23.038 §4), raw; see [`Coding::from_dcs`] and [`message_class`].
    pub dcs: u8,
    /// TP-SCTS (§9.2.3.11): when the centre took the message.
    pub timestamp: Timestamp,
    /// TP-UDHI, TP-UDL and TP-UD, in the DCS's coding.
    pub user_data: UserData,
}

impl Deliver {
    /// What the recipient gets of `submit`, sent by `originator` and taken by the centre at
    /// `timestamp`: the same PID, DCS, user data and reply path, TP-SRI set if the sender
    /// asked for a report; no SMSC address (set `smsc` to show one).
    pub fn from_submit(originator: Address, submit: &Submit, timestamp: Timestamp) -> Deliver {
        Deliver {
            smsc: None,
            more_messages_to_send: false,
            status_report_indication: submit.status_report,
            reply_path: submit.reply_path,
            originator,
            pid: submit.pid,
            dcs: submit.dcs,
            timestamp,
            user_data: submit.user_data.clone(),
        }
    }

    /// The alphabet of the user data.
    pub fn coding(&self) -> Coding {
        Coding::from_dcs(self.dcs)
    }

    /// The body as text, `None` for 8-bit data (see [`UserData::text`]).
    pub fn text(&self) -> Option<String> {
        self.user_data.text(self.coding())
    }

    /// The whole PDU (SMSC part, then the TPDU) and the TPDU's length, the `<length>` of
    /// `+CMGR: <stat>,,<length>`. An error if a field does not fit (an address beyond 20
    /// digits or 11 characters, user data beyond 140 octets) or text cannot be written.
    pub fn encode(&self) -> Result<(Vec<u8>, usize), PduError> {
        let mut out = Vec::new();
        encode_smsc(self.smsc.as_ref(), &mut out)?;
        let start = out.len();
        let first = flag(!self.more_messages_to_send, 2)
            | flag(self.status_report_indication, 5)
            | flag(!self.user_data.header.is_empty(), 6)
            | flag(self.reply_path, 7);
        out.push(first);
        self.originator.encode_tp("TP-OA", &mut out)?;
        out.extend([self.pid, self.dcs]);
        out.extend(self.timestamp.encode());
        self.user_data.encode(self.coding(), &mut out)?;
        let tpdu_len = out.len() - start;
        Ok((out, tpdu_len))
    }
}

/// Reads an SMSC part and an SMS-DELIVER (as `+CMGR` shows one, or a test injects one);
/// TP-LP is ignored.
pub fn decode_deliver(pdu: &[u8]) -> Result<Deliver, PduError> {
    let mut r = Reader(pdu);
    let smsc = decode_smsc(&mut r)?;
    let first = r.octet("TP-MTI")?;
    check_mti(first, 0b00, "SMS-DELIVER")?;
    let originator = Address::decode_tp(&mut r, "TP-OA")?;
    let pid = r.octet("TP-PID")?;
    let dcs = r.octet("TP-DCS")?;
    let timestamp = Timestamp::decode(r.seven("TP-SCTS")?, "TP-SCTS")?;
    let user_data = UserData::decode(&mut r, Coding::from_dcs(dcs), first & 0x40 != 0)?;
    r.end()?;
    Ok(Deliver {
        smsc,
        more_messages_to_send: first & 0x04 == 0,
        status_report_indication: first & 0x20 != 0,
        reply_path: first & 0x80 != 0,
        originator,
        pid,
        dcs,
        timestamp,
        user_data,
    })
}

/// An SMS-STATUS-REPORT (TS 23.040 §9.2.2.3): what became of a message sent with TP-SRR,
/// for `+CDS`. It reports on an SMS-SUBMIT (TP-SRQ 0) and carries no optional parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusReport {
    /// TP-MR (§9.2.3.6) of the message reported on.
    pub message_ref: u8,
    /// TP-RA (§9.2.3.14): that message's recipient.
    pub recipient: Address,
    /// TP-SCTS (§9.2.3.11): when the centre took that message.
    pub timestamp: Timestamp,
    /// TP-DT (§9.2.3.13): when it was delivered, or the status last changed.
    pub discharge: Timestamp,
    /// TP-ST (§9.2.3.15): `0x00` received by the recipient, `0x4x`/`0x6x` failed, ...
    pub status: u8,
}

impl StatusReport {
    /// The whole PDU, after the SMSC part of `smsc` (none: a length octet 0), and the
    /// TPDU's length, the `<length>` of `+CDS: <length>`. TP-MMS says no more messages wait.
    pub fn encode(&self, smsc: Option<&Address>) -> Result<(Vec<u8>, usize), PduError> {
        let mut out = Vec::new();
        encode_smsc(smsc, &mut out)?;
        let start = out.len();
        out.extend([0b10 | flag(true, 2), self.message_ref]);
        self.recipient.encode_tp("TP-RA", &mut out)?;
        out.extend(self.timestamp.encode());
        out.extend(self.discharge.encode());
        out.push(self.status);
        let tpdu_len = out.len() - start;
        Ok((out, tpdu_len))
    }
}

/// Reads an SMSC part and an SMS-STATUS-REPORT; the optional TP-PI and what it announces
/// (§9.2.3.27) are skipped.
pub fn decode_status_report(pdu: &[u8]) -> Result<(Option<Address>, StatusReport), PduError> {
    let mut r = Reader(pdu);
    let smsc = decode_smsc(&mut r)?;
    let first = r.octet("TP-MTI")?;
    check_mti(first, 0b10, "SMS-STATUS-REPORT")?;
    let message_ref = r.octet("TP-MR")?;
    let recipient = Address::decode_tp(&mut r, "TP-RA")?;
    let timestamp = Timestamp::decode(r.seven("TP-SCTS")?, "TP-SCTS")?;
    let discharge = Timestamp::decode(r.seven("TP-DT")?, "TP-DT")?;
    let status = r.octet("TP-ST")?;
    Ok((smsc, StatusReport { message_ref, recipient, timestamp, discharge, status }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filler_among_the_digits_is_refused() {
        // Found by the fuzzer: TP-DA of 6 semi-octets "0 0 6 F F 1" read as "006", which
        // then encodes to a shorter PDU than the host wrote.
        let pdu = [0x00, 0x01, 0x0C, 0x06, 0x00, 0x00, 0xF6, 0x1F, 0x00, 0x00, 0x00];
        assert_eq!(decode_submit(&pdu, 10), Err(PduError::Filler("TP-DA")));
        let smsc = [0x03, 0x91, 0xF1, 0x32];
        assert_eq!(decode_smsc(&mut Reader(&smsc)), Err(PduError::Filler("SMSC")));
    }
    use proptest::prelude::*;

    fn hex(text: &str) -> Vec<u8> {
        from_hex(text).unwrap()
    }

    fn address(number: &str, ton_npi: u8) -> Address {
        Address { number: number.into(), ton_npi }
    }

    fn stamp(year: u8, month: u8, day: u8, hour: u8, minute: u8, second: u8, quarter_hours: i8) -> Timestamp {
        Timestamp { year, month, day, hour, minute, second, quarter_hours }
    }

    /// A hand-worked SMS-SUBMIT: no SMSC, TP-MR 0, to +4915112345678, "hi" in 7-bit.
    const HI: &str = "0001000D91945111325476F8000002E834";

    #[test]
    fn hand_worked_submit() {
        let (smsc, s) = decode_submit(&hex(HI), 16).unwrap();
        assert_eq!(smsc, None);
        assert_eq!(s.destination, address("+4915112345678", 0x91));
        assert_eq!((s.message_ref, s.pid, s.dcs, s.validity), (0, 0, 0, Validity::None));
        assert!(!s.reject_duplicates && !s.status_report && !s.reply_path);
        assert_eq!(s.coding(), Coding::Gsm7);
        assert_eq!(s.user_data, UserData { header: vec![], body: vec![0x68, 0x69] });
        assert_eq!(s.user_data.text(s.coding()).as_deref(), Some("hi"));
        assert_eq!(s.encode(None).unwrap(), (hex(HI), 16));
    }

    #[test]
    fn sim7080_manual_submits() {
        // <length> 18 counts what follows the 9 octets of the SMSC part.
        let pdu = hex("0891683108200105F011640B813118662902F40011A70441E19008");
        let (smsc, s) = decode_submit(&pdu, 18).unwrap();
        assert_eq!(smsc, Some(address("+8613800210500", 0x91)));
        assert_eq!(s.message_ref, 0x64);
        assert_eq!(s.destination, address("13816692204", 0x81));
        assert_eq!(s.validity, Validity::Relative(0xA7));
        assert_eq!((s.dcs, s.coding(), message_class(s.dcs)), (0x11, Coding::Gsm7, Some(1)));
        assert_eq!(s.user_data.text(s.coding()).as_deref(), Some("ABCD"));
        assert_eq!(s.encode(smsc.as_ref()).unwrap(), (pdu, 18));

        let pdu = hex("0891683108200105F011000D91683118662902F40018010400410042");
        let (smsc, s) = decode_submit(&pdu, 19).unwrap();
        assert_eq!(smsc, Some(address("+8613800210500", 0x91)));
        assert_eq!(s.message_ref, 0);
        assert_eq!(s.destination, address("+8613816692204", 0x91));
        assert_eq!(s.validity, Validity::Relative(0x01));
        assert_eq!((s.dcs, s.coding(), message_class(s.dcs)), (0x18, Coding::Ucs2, Some(0)), "UCS2, flash");
        assert_eq!(s.user_data.body, [0x00, 0x41, 0x00, 0x42]);
        assert_eq!(s.user_data.text(s.coding()).as_deref(), Some("AB"));
        assert_eq!(s.encode(smsc.as_ref()).unwrap(), (pdu, 19));
    }

    #[test]
    fn well_known_deliver() {
        // SMSC +27381000015; TP-MMS 1 (no more); from 27838890001 (subscriber number, national
        // plan: 0xC8); 1999-03-29 15:16:59 at +08 quarters (UTC+2); "hellohello".
        let pdu = hex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37");
        let d = decode_deliver(&pdu).unwrap();
        assert_eq!(d.smsc, Some(address("+27381000015", 0x91)));
        assert!(!d.more_messages_to_send && !d.status_report_indication && !d.reply_path);
        assert_eq!(d.originator, address("27838890001", 0xC8));
        assert_eq!((d.pid, d.dcs), (0, 0));
        assert_eq!(d.timestamp, stamp(99, 3, 29, 15, 16, 59, 8));
        assert_eq!(d.timestamp.to_string(), "99/03/29,15:16:59+08");
        assert_eq!(d.text().as_deref(), Some("hellohello"));
        assert_eq!(d.user_data.concat(), None);
        assert_eq!(d.encode().unwrap(), (pdu.clone(), pdu.len() - 8));
    }

    #[test]
    fn length_and_kind_errors() {
        let hi = hex(HI);
        assert_eq!(decode_submit(&hi, 15), Err(PduError::LengthMismatch { declared: 15, actual: 16 }));
        assert_eq!(decode_submit(&hi, 17), Err(PduError::LengthMismatch { declared: 17, actual: 16 }));
        let deliver = hex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37");
        assert_eq!(decode_submit(&deliver, 28), Err(PduError::BadMti { found: 0, expected: "SMS-SUBMIT" }));
        assert_eq!(decode_deliver(&hi), Err(PduError::BadMti { found: 1, expected: "SMS-DELIVER" }));
        assert_eq!(decode_status_report(&hi), Err(PduError::BadMti { found: 1, expected: "SMS-STATUS-REPORT" }));
        assert_eq!(decode_submit(&[], 0), Err(PduError::Truncated("SMSC")));
        assert_eq!(decode_submit(&hex("00"), 0), Err(PduError::Truncated("TP-MTI")));
        assert_eq!(decode_submit(&hex("0891683108"), 0), Err(PduError::Truncated("SMSC")));
        assert_eq!(decode_submit(&hex("0C"), 0), Err(PduError::SmscLength(12)));
        assert_eq!(decode_submit(&hex("0001000D9194511132"), 8), Err(PduError::Truncated("TP-DA")));
        assert_eq!(
            decode_submit(&hex("0001001591"), 4),
            Err(PduError::AddressLength { field: "TP-DA", semi_octets: 21 })
        );
        assert_eq!(decode_submit(&hex("0001000D91945111325476F8000002E8"), 15), Err(PduError::Truncated("TP-UD")));
        assert_eq!(decode_submit(&hex("0001000D91945111325476F8000002E83400"), 17), Err(PduError::Trailing(1)));
        assert_eq!(decode_deliver(&hex("00040B")), Err(PduError::Truncated("TP-OA")));
    }

    #[test]
    fn user_data_errors() {
        let udl = |dcs: &str, udl: &str| hex(&format!("0001000D91945111325476F800{dcs}{udl}"));
        let septets = PduError::UserDataLength { length: 161, max: 160, unit: "septets" };
        assert_eq!(decode_submit(&udl("00", "A1"), 14), Err(septets));
        let octets = PduError::UserDataLength { length: 141, max: 140, unit: "octets" };
        assert_eq!(decode_submit(&udl("04", "8D"), 14), Err(octets.clone()));
        assert_eq!(decode_submit(&udl("08", "8D"), 14), Err(octets));
        // TP-UDHI set: a header of 5 octets (UDHL 4) in 3 octets of 8-bit data.
        let pdu = hex("0041000D91945111325476F800040304000300");
        assert_eq!(decode_submit(&pdu, 18), Err(PduError::HeaderLength { header: 5, user_data: 3 }));
        // TP-UDHI set with no user data at all.
        let pdu = hex("0041000D91945111325476F8000000");
        assert_eq!(decode_submit(&pdu, 14), Err(PduError::HeaderLength { header: 1, user_data: 0 }));
        // 7-bit: a 6-octet header takes 7 septets; TP-UDL 6 is too few.
        let pdu = hex("0041000D91945111325476F8000006050003010201");
        assert_eq!(decode_submit(&pdu, 20), Err(PduError::HeaderLength { header: 6, user_data: 6 }));
        // A time stamp semi-octet that is not a digit.
        let pdu = hex("00040B917238880900F10000A93092516195800161");
        assert_eq!(decode_deliver(&pdu), Err(PduError::Timestamp("TP-SCTS")));
    }

    #[test]
    fn hex_text() {
        assert_eq!(from_hex("00aBcD"), Ok(vec![0x00, 0xAB, 0xCD]));
        assert_eq!(from_hex(""), Ok(vec![]));
        assert_eq!(from_hex("0G"), Err(PduError::BadHex { at: 1, found: 'G' }));
        assert_eq!(from_hex("00 1"), Err(PduError::BadHex { at: 2, found: ' ' }));
        assert_eq!(from_hex("é0"), Err(PduError::BadHex { at: 0, found: 'é' }));
        assert_eq!(from_hex("123"), Err(PduError::OddHex(3)));
        assert_eq!(to_hex(&[0x00, 0xAB, 0x0F]), "00AB0F");
    }

    #[test]
    fn addresses_parse_like_a_host_writes_them() {
        assert_eq!(Address::parse("+4915112345678"), address("+4915112345678", TOA_INTERNATIONAL));
        assert_eq!(Address::parse("015112345678"), address("015112345678", TOA_UNKNOWN));
        assert_eq!(Address::parse("*100#"), address("*100#", TOA_UNKNOWN));
        assert_eq!(Address::parse("vmodem"), address("vmodem", TOA_ALPHANUMERIC));
        assert!(Address::parse("+1").is_international() && Address::parse("Bank").is_alphanumeric());
        let mut out = Vec::new();
        assert_eq!(address("12-3", 0x81).encode_tp("TP-DA", &mut out), Err(PduError::AddressChar('-')));
        let long = address(&"1".repeat(21), 0x81);
        assert_eq!(long.encode_tp("TP-DA", &mut out), Err(PduError::AddressLength { field: "TP-DA", semi_octets: 21 }));
        let name = address("ABCDEFGHIJKL", TOA_ALPHANUMERIC);
        assert_eq!(name.encode_tp("TP-OA", &mut out), Err(PduError::AddressLength { field: "TP-OA", semi_octets: 21 }));
        assert_eq!(address("日本", TOA_ALPHANUMERIC).encode_tp("TP-OA", &mut out), Err(PduError::NotGsm7('日')));
        // "*#abc" digits, odd count filled with F.
        out.clear();
        address("*#abc", 0x81).encode_tp("TP-DA", &mut out).unwrap();
        assert_eq!(out, [0x05, 0x81, 0xBA, 0xDC, 0xFE]);
        assert_eq!(Address::decode_tp(&mut Reader(&out), "TP-DA"), Ok(address("*#abc", 0x81)));
    }

    #[test]
    fn alphanumeric_addresses() {
        // 6 characters: 42 bits, 11 semi-octets, 6 octets.
        let mut out = Vec::new();
        address("vmodem", TOA_ALPHANUMERIC).encode_tp("TP-OA", &mut out).unwrap();
        assert_eq!(out[..2], [0x0B, 0xD0]);
        assert_eq!(out[2..], gsm7::pack(&gsm7::encode("vmodem").unwrap(), 0));
        assert_eq!(Address::decode_tp(&mut Reader(&out), "TP-OA"), Ok(address("vmodem", TOA_ALPHANUMERIC)));
        // 11 characters fill the 20 semi-octets.
        for name in ["ABCDEFGHIJK", "A", "Bank €", "1234567"] {
            out.clear();
            address(name, TOA_ALPHANUMERIC).encode_tp("TP-OA", &mut out).unwrap();
            assert_eq!(Address::decode_tp(&mut Reader(&out), "TP-OA"), Ok(address(name, TOA_ALPHANUMERIC)), "{name}");
        }
    }

    #[test]
    fn time_stamps() {
        let t = stamp(2, 1, 30, 20, 40, 31, 0);
        assert_eq!(t.to_string(), "02/01/30,20:40:31+00");
        assert_eq!(t.encode(), [0x20, 0x10, 0x03, 0x02, 0x04, 0x13, 0x00]);
        let east = Timestamp { quarter_hours: 32, ..t };
        assert_eq!(east.to_string(), "02/01/30,20:40:31+32");
        assert_eq!(east.encode()[6], 0x23);
        let west = Timestamp { quarter_hours: -16, ..t };
        assert_eq!(west.to_string(), "02/01/30,20:40:31-16");
        assert_eq!(west.encode()[6], 0x69, "sign in bit 3 of the tens semi-octet");
        for t in [t, east, west] {
            assert_eq!(Timestamp::decode(t.encode(), "TP-SCTS"), Ok(t));
        }
        let instant = time::OffsetDateTime::from_unix_timestamp(1_012_423_231).unwrap();
        assert_eq!(Timestamp::from_utc(instant), t);
        assert_eq!(Timestamp::local(instant, 32).to_string(), "02/01/31,04:40:31+32");
        assert_eq!(Timestamp::local(instant, -16).to_string(), "02/01/30,16:40:31-16");
        let leap = time::OffsetDateTime::from_unix_timestamp(951_782_400).unwrap();
        assert_eq!(Timestamp::from_utc(leap).to_string(), "00/02/29,00:00:00+00");
    }

    #[test]
    fn data_coding_schemes() {
        let cases = [
            (0x00, Coding::Gsm7, None),
            (0x04, Coding::Eight, None),
            (0x08, Coding::Ucs2, None),
            (0x0C, Coding::Gsm7, None),
            (0x10, Coding::Gsm7, Some(0)),
            (0x11, Coding::Gsm7, Some(1)),
            (0x16, Coding::Eight, Some(2)),
            (0x18, Coding::Ucs2, Some(0)),
            (0x24, Coding::Eight, None),
            (0x48, Coding::Ucs2, None),
            (0x80, Coding::Gsm7, None),
            (0xC0, Coding::Gsm7, None),
            (0xD8, Coding::Gsm7, None),
            (0xE0, Coding::Ucs2, None),
            (0xF0, Coding::Gsm7, Some(0)),
            (0xF6, Coding::Eight, Some(2)),
        ];
        for (dcs, coding, class) in cases {
            assert_eq!((Coding::from_dcs(dcs), message_class(dcs)), (coding, class), "{dcs:#04X}");
        }
        for coding in [Coding::Gsm7, Coding::Eight, Coding::Ucs2] {
            for class in [None, Some(0), Some(1), Some(2), Some(3)] {
                let dcs = coding.dcs(class);
                assert_eq!((Coding::from_dcs(dcs), message_class(dcs)), (coding, class));
            }
        }
        assert_eq!(Coding::Gsm7.dcs(Some(0)), 0x10, "flash");
    }

    fn deliver(originator: Address, dcs: u8, user_data: UserData) -> Deliver {
        Deliver {
            smsc: Some(address("+8613800210500", TOA_INTERNATIONAL)),
            more_messages_to_send: true,
            status_report_indication: true,
            reply_path: false,
            originator,
            pid: 0,
            dcs,
            timestamp: stamp(24, 12, 31, 23, 59, 58, 32),
            user_data,
        }
    }

    fn round_trip(d: &Deliver) -> Vec<u8> {
        let (pdu, tpdu_len) = d.encode().unwrap();
        let smsc_len = usize::from(pdu[0]) + 1;
        assert_eq!(pdu.len(), smsc_len + tpdu_len);
        assert_eq!(decode_deliver(&pdu).as_ref(), Ok(d));
        pdu
    }

    #[test]
    fn deliver_round_trips_in_each_coding() {
        let from = Address::parse("+4915112345678");
        let text = "Price: 5€ [ok] {x} ~|^\\ \u{0C}";
        let gsm = deliver(from.clone(), 0x00, UserData::from_text(text, Coding::Gsm7).unwrap());
        round_trip(&gsm);
        assert_eq!(gsm.text().as_deref(), Some(text));

        let data = UserData { header: vec![], body: vec![0x00, 0x01, 0x7F, 0x80, 0xFF] };
        let eight = deliver(from.clone(), Coding::Eight.dcs(None), data);
        let pdu = round_trip(&eight);
        assert_eq!(pdu[pdu.len() - 6..], [0x05, 0x00, 0x01, 0x7F, 0x80, 0xFF]);
        assert_eq!(eight.text(), None);

        let text = "Hi 😀 日本";
        let ucs2 = deliver(from.clone(), Coding::Ucs2.dcs(None), UserData::from_text(text, Coding::Ucs2).unwrap());
        assert_eq!(ucs2.user_data.body[6..10], [0xD8, 0x3D, 0xDE, 0x00], "a surrogate pair");
        round_trip(&ucs2);
        assert_eq!(ucs2.text().as_deref(), Some(text));

        let flash = deliver(from, Coding::Gsm7.dcs(Some(0)), UserData::from_text("now", Coding::Gsm7).unwrap());
        round_trip(&flash);
    }

    #[test]
    fn deliver_round_trips_with_concatenation_headers() {
        let from = Address::parse("013800138000");
        let narrow = Concat { reference: 0x42, parts: 2, part: 1, wide_reference: false };
        let user_data = UserData { header: narrow.element(), body: gsm7::encode("hi").unwrap() };
        let d = deliver(from.clone(), 0x00, user_data);
        let pdu = round_trip(&d);
        // UDL 9 = 7 header septets + 2; after the header one fill bit (TS 23.040 §9.2.3.24).
        assert_eq!(pdu[pdu.len() - 9..], [0x09, 0x05, 0x00, 0x03, 0x42, 0x02, 0x01, 0xD0, 0x69]);
        assert_eq!(d.user_data.concat(), Some(narrow));
        assert_eq!(pdu[9] & 0x40, 0x40, "TP-UDHI");

        let wide = Concat { reference: 0x1234, parts: 3, part: 3, wide_reference: true };
        for (coding, text) in [(Coding::Gsm7, "€uro [x]"), (Coding::Ucs2, "😀!"), (Coding::Eight, "raw")] {
            let mut user_data = UserData::from_text(text, coding).unwrap();
            user_data.header = wide.element();
            let d = deliver(from.clone(), coding.dcs(None), user_data);
            round_trip(&d);
            assert_eq!(d.user_data.concat(), Some(wide));
        }
        // 7-bit with a 7-octet header: 56 bits, 8 septets, no fill bits.
        let user_data = UserData { header: wide.element(), body: vec![0x68] };
        let pdu = round_trip(&deliver(from, 0x00, user_data));
        assert_eq!(pdu[pdu.len() - 9..], [0x09, 0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x03, 0x68]);
    }

    #[test]
    fn deliver_round_trips_from_an_alphanumeric_originator() {
        let d = deliver(Address::parse("vmodem"), 0x00, UserData::from_text("code 1234", Coding::Gsm7).unwrap());
        let pdu = round_trip(&d);
        assert_eq!(pdu[10..12], [0x0B, 0xD0]);
        let d = Deliver { smsc: None, ..d };
        assert_eq!(round_trip(&d)[0], 0x00);
    }

    #[test]
    fn oversized_fields_are_refused_when_encoding() {
        let from = Address::parse("+1");
        let d = deliver(from.clone(), 0x00, UserData { header: vec![], body: vec![0x41; 161] });
        assert_eq!(d.encode(), Err(PduError::UserDataLength { length: 161, max: 160, unit: "septets" }));
        // A 5-octet header takes 6 septets (40 bits and 2 fill bits): 155 more are too many.
        let d = deliver(from.clone(), 0x00, UserData { header: vec![0; 4], body: vec![0x41; 155] });
        assert_eq!(d.encode(), Err(PduError::UserDataLength { length: 161, max: 160, unit: "septets" }));
        let d = deliver(from.clone(), 0x08, UserData { header: vec![], body: vec![0; 141] });
        assert_eq!(d.encode(), Err(PduError::UserDataLength { length: 141, max: 140, unit: "octets" }));
        let d = deliver(from, 0x00, UserData { header: vec![], body: vec![0x41; 160] });
        assert_eq!(round_trip(&d).len(), 8 + 1 + 4 + 2 + 7 + 1 + 140);
    }

    #[test]
    fn concatenation_elements_in_a_header() {
        let ud = |header: Vec<u8>| UserData { header, body: vec![] };
        // Another element (IEI 0x0A, text formatting) first is skipped.
        let c = ud(vec![0x0A, 0x03, 0x00, 0x05, 0x01, 0x00, 0x03, 0x07, 0x02, 0x02]).concat();
        assert_eq!(c, Some(Concat { reference: 7, parts: 2, part: 2, wide_reference: false }));
        // Part 0, 0 parts, or a part beyond the count: the element is ignored.
        assert_eq!(ud(vec![0x00, 0x03, 0x07, 0x02, 0x00]).concat(), None);
        assert_eq!(ud(vec![0x00, 0x03, 0x07, 0x00, 0x00]).concat(), None);
        assert_eq!(ud(vec![0x08, 0x04, 0x00, 0x07, 0x02, 0x03]).concat(), None);
        // A wrong length, a cut element: nothing.
        assert_eq!(ud(vec![0x00, 0x04, 0x07, 0x02, 0x01, 0x00]).concat(), None);
        assert_eq!(ud(vec![0x00, 0x03, 0x07, 0x02]).concat(), None);
        // Of two, the last.
        let two = ud(vec![0x00, 0x03, 0x07, 0x02, 0x01, 0x08, 0x04, 0x01, 0x00, 0x02, 0x02]).concat();
        assert_eq!(two, Some(Concat { reference: 0x100, parts: 2, part: 2, wide_reference: true }));
    }

    #[test]
    fn submit_round_trips_with_each_validity_format() {
        let validities = [
            Validity::None,
            Validity::Relative(167),
            Validity::Absolute(stamp(25, 6, 1, 12, 0, 0, -20)),
            Validity::Enhanced([0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
        ];
        for (i, validity) in validities.into_iter().enumerate() {
            let mut user_data = UserData::from_text("ok", Coding::Ucs2).unwrap();
            user_data.header = Concat { reference: 9, parts: 1, part: 1, wide_reference: false }.element();
            let submit = Submit {
                reject_duplicates: i % 2 == 0,
                validity,
                status_report: true,
                reply_path: i == 3,
                message_ref: i as u8,
                destination: Address::parse("+8613816692204"),
                pid: 0,
                dcs: 0x08,
                user_data,
            };
            let smsc = Address::parse("+8613800210500");
            let (pdu, tpdu_len) = submit.encode(Some(&smsc)).unwrap();
            assert_eq!(decode_submit(&pdu, tpdu_len), Ok((Some(smsc), submit)));
        }
    }

    #[test]
    fn deliver_from_a_submit() {
        let (_, mut submit) = decode_submit(&hex(HI), 16).unwrap();
        submit.status_report = true;
        let at = stamp(26, 1, 2, 3, 4, 5, 0);
        let d = Deliver::from_submit(Address::parse("+8613800000001"), &submit, at);
        let back = decode_deliver(&d.encode().unwrap().0).unwrap();
        assert_eq!(back.text().as_deref(), Some("hi"));
        assert_eq!(back.originator, address("+8613800000001", 0x91));
        assert!(back.status_report_indication && !back.more_messages_to_send);
        assert_eq!((back.timestamp, back.smsc), (at, None));
    }

    #[test]
    fn status_report() {
        let t = stamp(2, 1, 30, 20, 40, 31, 0);
        let report = StatusReport {
            message_ref: 7,
            recipient: Address::parse("+4915112345678"),
            timestamp: t,
            discharge: Timestamp { second: 33, ..t },
            status: 0,
        };
        let (pdu, tpdu_len) = report.encode(None).unwrap();
        assert_eq!(to_hex(&pdu), "0006070D91945111325476F8201003020413002010030204330000");
        assert_eq!(tpdu_len, 26);
        assert_eq!(decode_status_report(&pdu), Ok((None, report.clone())));
        let smsc = Address::parse("+8613800210500");
        let (pdu, tpdu_len) = report.encode(Some(&smsc)).unwrap();
        assert_eq!((pdu.len(), tpdu_len), (35, 26));
        assert_eq!(decode_status_report(&pdu), Ok((Some(smsc), report)));
    }

    /// Reassembles parts as a receiver would, checking each part's header and size.
    fn reassemble(parts: &[UserData], coding: Coding, max: usize) -> String {
        let count = parts.len();
        let mut body = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            assert!(part.body.len() <= max);
            if count > 1 {
                let concat = part.concat().unwrap();
                assert_eq!((concat.parts as usize, concat.part as usize, concat.reference), (count, i + 1, 0xAB));
            } else {
                assert!(part.header.is_empty());
            }
            body.extend_from_slice(&part.body);
        }
        match coding {
            Coding::Eight => String::from_utf8(body).unwrap(),
            _ => UserData { header: vec![], body }.text(coding).unwrap(),
        }
    }

    #[test]
    fn long_gsm_text_splits_into_parts() {
        let text: String = "The quick brown fox jumps. ".chars().cycle().take(400).collect();
        let parts = UserData::split(&text, Coding::Gsm7, 0xAB).unwrap();
        assert_eq!(parts.iter().map(|p| p.body.len()).collect::<Vec<_>>(), [153, 153, 94]);
        assert_eq!(reassemble(&parts, Coding::Gsm7, PART_SEPTETS), text);
        for part in parts {
            round_trip(&deliver(Address::parse("+1"), 0x00, part));
        }
        // 160 fit in one message, without a header; 161 do not.
        assert_eq!(UserData::split(&"x".repeat(160), Coding::Gsm7, 0xAB).unwrap().len(), 1);
        assert_eq!(UserData::split(&"€".repeat(80), Coding::Gsm7, 0xAB).unwrap().len(), 1);
        assert_eq!(UserData::split(&"x".repeat(161), Coding::Gsm7, 0xAB).unwrap().len(), 2);
        assert_eq!(UserData::split("日本", Coding::Gsm7, 0xAB), Err(PduError::NotGsm7('日')));
    }

    #[test]
    fn an_escape_pair_is_never_split() {
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        let parts = UserData::split(&text, Coding::Gsm7, 0xAB).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body.len(), 152);
        assert_eq!(parts[1].body[..2], [gsm7::ESC, 0x65]);
        assert_eq!(reassemble(&parts, Coding::Gsm7, PART_SEPTETS), text);
    }

    #[test]
    fn ucs2_and_eight_bit_split_on_whole_characters() {
        assert_eq!(UserData::split(&"é".repeat(70), Coding::Ucs2, 0xAB).unwrap().len(), 1);
        let parts = UserData::split(&"é".repeat(71), Coding::Ucs2, 0xAB).unwrap();
        assert_eq!(parts.iter().map(|p| p.body.len() / 2).collect::<Vec<_>>(), [67, 4]);
        let text = format!("{}😀{}", "a".repeat(66), "b".repeat(10));
        let parts = UserData::split(&text, Coding::Ucs2, 0xAB).unwrap();
        assert_eq!(parts[0].body.len(), 132, "the surrogate pair moves to the next part");
        assert_eq!(parts[1].body[..4], [0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(reassemble(&parts, Coding::Ucs2, PART_OCTETS), text);
        let parts = UserData::split(&"z".repeat(141), Coding::Eight, 0xAB).unwrap();
        assert_eq!(parts.iter().map(|p| p.body.len()).collect::<Vec<_>>(), [134, 7]);
        let text = format!("{}é", "z".repeat(140));
        let parts = UserData::split(&text, Coding::Eight, 0xAB).unwrap();
        assert_eq!(reassemble(&parts, Coding::Eight, PART_OCTETS), text);
    }

    #[test]
    fn too_long_a_text_is_refused() {
        let text = "x".repeat(PART_SEPTETS * 255);
        assert_eq!(UserData::split(&text, Coding::Gsm7, 1).unwrap().len(), 255);
        assert_eq!(UserData::split(&format!("{text}x"), Coding::Gsm7, 1), Err(PduError::TooManyParts(256)));
    }

    /// Text in the GSM 7-bit alphabet, extension characters included.
    fn gsm_text(max: usize) -> impl Strategy<Value = String> {
        let chars: Vec<char> = ('\0'..='\u{20AC}').filter(|&c| gsm7::representable(c)).collect();
        proptest::collection::vec(proptest::sample::select(chars), 0..max).prop_map(|v| v.into_iter().collect())
    }

    /// Any bytes, after an SMSC part that is often well formed.
    fn pdu_bytes() -> impl Strategy<Value = Vec<u8>> {
        let smsc =
            prop_oneof![Just(vec![0u8]), Just(hex("0891683108200105F0")), proptest::collection::vec(any::<u8>(), 0..4)];
        (smsc, proptest::collection::vec(any::<u8>(), 0..200)).prop_map(|(mut a, b)| {
            a.extend(b);
            a
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoders_never_panic(pdu in pdu_bytes(), declared in any::<usize>()) {
            let tpdu_len = pdu.len().saturating_sub(1 + usize::from(pdu.first().copied().unwrap_or(0)));
            let _ = decode_submit(&pdu, tpdu_len);
            let _ = decode_submit(&pdu, declared);
            if let Ok(d) = decode_deliver(&pdu) {
                let _ = d.text();
                let _ = d.user_data.concat();
                let _ = d.timestamp.to_string();
            }
            let _ = decode_status_report(&pdu);
        }

        #[test]
        fn submit_shaped_input_never_panics(first in any::<u8>(), rest in proptest::collection::vec(any::<u8>(), 0..180)) {
            // No SMSC, an SMS-SUBMIT with any flags, a valid TP-DA, then anything: this reaches
            // the validity and user data decoders; what they take must encode back the same.
            let mut pdu = vec![0x00, (first & !0x03) | 0x01, 0x00];
            pdu.extend(hex("0B813118662902F4"));
            pdu.extend(rest);
            let len = pdu.len() - 1;
            if let Ok((_, s)) = decode_submit(&pdu, len) {
                let (again, again_len) = s.encode(None).unwrap();
                prop_assert_eq!(decode_submit(&again, again_len), Ok((None, s)));
            }
        }

        #[test]
        fn hex_never_panics(text in "\\PC{0,40}|[0-9a-fA-F]{0,40}") {
            if let Ok(octets) = from_hex(&text) {
                prop_assert_eq!(to_hex(&octets), text.to_ascii_uppercase());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn text_splits_and_round_trips(
            gsm in gsm_text(400),
            other in "\\PC{0,300}",
            which in 0..3usize,
            number in "\\+?[0-9]{1,20}",
            reference in any::<u8>(),
        ) {
            let (coding, text, max) = match which {
                0 => (Coding::Gsm7, gsm, PART_SEPTETS),
                1 => (Coding::Ucs2, other, PART_OCTETS),
                _ => (Coding::Eight, other, PART_OCTETS),
            };
            let parts = UserData::split(&text, coding, reference).unwrap();
            let mut body = Vec::new();
            for part in &parts {
                let d = Deliver { dcs: coding.dcs(None), ..deliver(Address::parse(&number), 0, part.clone()) };
                let (pdu, _) = d.encode().unwrap();
                prop_assert_eq!(decode_deliver(&pdu), Ok(d));
                prop_assert!(parts.len() == 1 || part.body.len() <= max);
                prop_assert_eq!(part.concat().map(|c| c.reference), (parts.len() > 1).then_some(u16::from(reference)));
                body.extend_from_slice(&part.body);
            }
            let back = match coding {
                Coding::Eight => String::from_utf8(body).ok(),
                _ => UserData { header: vec![], body }.text(coding),
            };
            prop_assert_eq!(back, Some(text));
        }
    }
}
