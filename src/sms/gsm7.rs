//! The GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1) with its default extension table
//! (§6.2.1.1), and the packing of septets into octets (§6.1.2.1.1) that SMS user data and
//! alphanumeric addresses use.
//!
//! Text is first turned into septets, one per byte (`0x00..=0x7F`), a character of the
//! extension table taking two (`0x1B` ESC, then its code); [`pack`] then lays the septets
//! into octets, least significant bit first, after `fill_bits` zero bits when a user data
//! header precedes them and does not end on a septet boundary (TS 23.040 §9.2.3.24).

/// Escape to the extension table (TS 23.038 §6.2.1.1), at `0x1B` of [`BASIC`].
pub const ESC: u8 = 0x1B;

/// Stands in [`BASIC`] for the escape code, which is no character of its own.
const E: char = '\u{1B}';
/// Stands in [`EXTENSION`] where the extension table has no character.
const NO: char = '\0';

/// The default alphabet (TS 23.038 §6.2.1), by code: a row here is a column of the standard's
/// table (`0x00..=0x0F`, `0x10..=0x1F`, ...). `0x1B` is the escape to [`EXTENSION`].
pub const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', E, 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The default extension table (TS 23.038 §6.2.1.1), by the code that follows [`ESC`]: form
/// feed (page break) at `0x0A`, then `^ { } \ [ ~ ] | €`. `0x0D` (CR2) and `0x1B` (escape to
/// a further table) are control codes, not characters, so they are empty here.
pub const EXTENSION: [char; 128] = [
    NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, '\u{0C}', NO, NO, NO, NO, NO, //
    NO, NO, NO, NO, '^', NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, //
    NO, NO, NO, NO, NO, NO, NO, NO, '{', '}', NO, NO, NO, NO, NO, '\\', //
    NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, '[', '~', ']', NO, //
    '|', NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, //
    NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, //
    NO, NO, NO, NO, NO, '€', NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, //
    NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, //
];

/// The septets of one character: its code in [`BASIC`], or [`ESC`] and its code in
/// [`EXTENSION`]; `None` if the alphabet has no such character.
fn septets_of(c: char) -> Option<(u8, Option<u8>)> {
    let code = |table: &[char; 128]| table.iter().position(|&t| t == c).and_then(|i| u8::try_from(i).ok());
    if c == E || c == NO {
        return None;
    }
    code(&BASIC).map(|s| (s, None)).or_else(|| code(&EXTENSION).map(|s| (ESC, Some(s))))
}

/// Whether `c` can be written in the default alphabet or its extension table.
pub fn representable(c: char) -> bool {
    septets_of(c).is_some()
}

/// `text` as unpacked septets, an extension character as `0x1B` and its code; `None` if a
/// character is in neither table (the message then needs UCS2).
pub fn encode(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::with_capacity(text.len());
    for c in text.chars() {
        let (first, second) = septets_of(c)?;
        septets.push(first);
        septets.extend(second);
    }
    Some(septets)
}

/// The text of unpacked septets (bit 7 of each byte is ignored). An escape followed by a
/// code the extension table lacks reads as the default alphabet's character for that code,
/// as §6.2.1.1 asks of a receiver; an escape followed by an escape (a table not yet defined)
/// or ending the input reads as a space.
pub fn decode(septets: &[u8]) -> String {
    let mut text = String::with_capacity(septets.len());
    let mut codes = septets.iter().map(|s| usize::from(s & 0x7F));
    while let Some(code) = codes.next() {
        if code != usize::from(ESC) {
            text.push(BASIC[code]);
            continue;
        }
        text.push(match codes.next() {
            Some(next) if next == usize::from(ESC) => ' ',
            Some(next) if EXTENSION[next] != NO => EXTENSION[next],
            Some(next) => BASIC[next],
            None => ' ',
        });
    }
    text
}

/// Packs septets into octets (TS 23.038 §6.1.2.1.1), least significant bit first, after
/// `fill_bits` zero bits (at most 6 count: a header is followed by 0-6 fill bits to reach a
/// septet boundary). The result has `ceil((fill_bits + 7 × len) / 8)` octets.
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let fill = u32::from(fill_bits.min(6));
    let mut octets = Vec::with_capacity((fill as usize + 7 * septets.len()).div_ceil(8));
    let (mut acc, mut bits) = (0u32, fill);
    for &s in septets {
        acc |= u32::from(s & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            octets.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        octets.push(acc as u8);
    }
    octets
}

/// Reads `count` septets out of `octets` after `fill_bits` bits (at most 6 count), the
/// reverse of [`pack`]. If `octets` ends first, the septets it holds are returned: fewer.
pub fn unpack(octets: &[u8], count: usize, fill_bits: u8) -> Vec<u8> {
    let mut septets = Vec::with_capacity(count.min(octets.len() * 8 / 7));
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut skip = u32::from(fill_bits.min(6));
    for &o in octets {
        if septets.len() >= count {
            break;
        }
        acc |= u32::from(o) << bits;
        bits += 8 - skip;
        acc >>= skip;
        skip = 0;
        while bits >= 7 && septets.len() < count {
            septets.push((acc & 0x7F) as u8);
            acc >>= 7;
            bits -= 7;
        }
    }
    septets
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tables_read_like_the_standard() {
        assert_eq!(BASIC[0x00], '@');
        assert_eq!(BASIC[0x24], '¤');
        assert_eq!(BASIC[0x40], '¡');
        assert_eq!(BASIC[0x5F], '§');
        assert_eq!(BASIC[0x7F], 'à');
        for (code, c) in [(0x0A, '\u{0C}'), (0x14, '^'), (0x28, '{'), (0x29, '}'), (0x2F, '\\')] {
            assert_eq!(EXTENSION[code], c);
        }
        for (code, c) in [(0x3C, '['), (0x3D, '~'), (0x3E, ']'), (0x40, '|'), (0x65, '€')] {
            assert_eq!(EXTENSION[code], c);
        }
        assert_eq!(EXTENSION.iter().filter(|&&c| c != NO).count(), 10);
    }

    #[test]
    fn encodes_basic_and_extension_characters() {
        assert_eq!(encode("hi"), Some(vec![0x68, 0x69]));
        assert_eq!(encode("@£$"), Some(vec![0x00, 0x01, 0x02]));
        assert_eq!(encode("€[]"), Some(vec![0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E]));
        assert_eq!(encode("a\u{0C}b"), Some(vec![0x61, 0x1B, 0x0A, 0x62]));
        assert_eq!(encode("日本"), None);
        assert_eq!(encode("\u{1B}"), None, "the escape code is not a character");
        assert_eq!(encode("\0"), None);
        assert!(representable('€') && representable('a') && !representable('ç'));
    }

    #[test]
    fn decodes_unknown_escapes_as_the_standard_asks() {
        assert_eq!(decode(&[0x1B, 0x65, 0x1B, 0x14]), "€^");
        assert_eq!(decode(&[0x1B, 0x41]), "A", "no extension character: the basic one");
        assert_eq!(decode(&[0x1B, 0x1B, 0x41]), " A", "escape to an undefined table: a space");
        assert_eq!(decode(&[0x41, 0x1B]), "A ", "a trailing escape: a space");
        assert_eq!(decode(&[0xC1]), "A", "bit 7 ignored");
    }

    #[test]
    fn packs_known_vectors() {
        // "hi" from a hand-worked SMS-SUBMIT; "hellohello" from a common SMS-DELIVER example.
        assert_eq!(pack(&[0x68, 0x69], 0), [0xE8, 0x34]);
        let hello = encode("hellohello").unwrap();
        assert_eq!(pack(&hello, 0), [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]);
        assert_eq!(unpack(&[0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37], 10, 0), hello);
        // "ABCD" from the SIM7080 manual's stored PDU.
        assert_eq!(unpack(&[0x41, 0xE1, 0x90, 0x08], 4, 0), encode("ABCD").unwrap());
        // 8 septets fill 7 octets exactly; 7 leave one spare bit.
        assert_eq!(pack(&[0x7F; 8], 0), [0xFF; 7]);
        assert_eq!(pack(&[0x7F; 7], 0), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
    }

    #[test]
    fn fill_bits_shift_the_septets() {
        // After a 6-octet header (48 bits), one fill bit reaches the septet boundary at 49.
        assert_eq!(pack(&[0x68, 0x69], 1), [0xD0, 0x69]);
        assert_eq!(unpack(&[0xD0, 0x69], 2, 1), [0x68, 0x69]);
        assert_eq!(pack(&[], 1), [0x00]);
        assert_eq!(pack(&[0x7F], 6), [0xC0, 0x1F]);
        assert_eq!(unpack(&[0xC0, 0x1F], 1, 6), [0x7F]);
    }

    #[test]
    fn unpack_stops_where_the_octets_end() {
        assert_eq!(unpack(&[0xE8], 2, 0), [0x68]);
        assert_eq!(unpack(&[], 160, 0), Vec::<u8>::new());
        assert_eq!(unpack(&[0xFF], 5, 6), Vec::<u8>::new());
        assert_eq!(unpack(&[0xE8, 0x34], usize::MAX, 0).len(), 2);
    }

    /// Strings of characters the alphabet can write, extension characters included.
    fn gsm_text() -> impl Strategy<Value = String> {
        let chars: Vec<char> = BASIC.iter().chain(EXTENSION.iter()).copied().filter(|&c| c != E && c != NO).collect();
        proptest::collection::vec(proptest::sample::select(chars), 0..200).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn unpack_never_panics(octets in proptest::collection::vec(any::<u8>(), 0..200), count in any::<usize>(), fill in any::<u8>()) {
            let septets = unpack(&octets, count, fill);
            prop_assert!(septets.len() <= count);
            prop_assert!(septets.iter().all(|&s| s < 0x80));
            let _ = decode(&septets);
        }

        #[test]
        fn decode_never_panics(septets in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&septets);
        }

        #[test]
        fn text_round_trips(text in gsm_text(), fill in 0u8..7) {
            let septets = encode(&text).unwrap();
            let octets = pack(&septets, fill);
            prop_assert_eq!(octets.len(), (usize::from(fill) + 7 * septets.len()).div_ceil(8));
            let back = unpack(&octets, septets.len(), fill);
            prop_assert_eq!(&back, &septets);
            prop_assert_eq!(decode(&back), text);
        }
    }
}
