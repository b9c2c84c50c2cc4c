//! The identities of a fleet's modems, from the module's own and the modem's index: each a
//! distinct, well-formed IMEI (its Luhn check digit recomputed, 3GPP TS 23.003 §6.2.1), IMSI,
//! ICCID (19 digits and a Luhn check digit, ITU-T E.118) and MSISDN, so that no two modems of
//! a fleet, or of fleets sharded over processes, share one.

use crate::config::Identity;

/// The Luhn check digit of `digits` (ISO/IEC 7812-1): the digit that makes the whole valid.
pub fn luhn(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        // From the right, every second digit of the payload is doubled.
        let d = if i % 2 == 0 { d * 2 } else { d };
        sum += d / 10 + d % 10;
    }
    u8::try_from((10 - sum % 10) % 10).ok()
}

/// `base`'s leading `keep` digits, then its remaining digits plus `index`, zero-padded to the
/// same width (wrapping within that width); `None` if `base` is not all digits.
fn offset(base: &str, keep: usize, index: u64) -> Option<String> {
    if base.is_empty() || !base.chars().all(|c| c.is_ascii_digit()) || keep >= base.len() {
        return None;
    }
    let (head, tail) = base.split_at(keep);
    let width = u32::try_from(tail.len()).ok()?.min(19);
    let modulus = 10u64.checked_pow(width).unwrap_or(u64::MAX);
    let value = (tail.parse::<u64>().ok()? + index) % modulus;
    Some(format!("{head}{value:0width$}", width = width as usize))
}

/// The identity of modem `index` of a fleet built on `base`: the IMEI keeps its 8-digit type
/// allocation code and counts up in its 6-digit serial (then a new check digit), the IMSI keeps
/// its MCC and MNC (5 digits), the ICCID its issuer prefix (7 digits) and then a new check
/// digit, the MSISDN its country code and prefix (all but the last 8 digits). A field that is not
/// all digits stays as it is.
pub fn indexed(base: &Identity, index: u64) -> Identity {
    let imei_payload = base.imei.get(..14).and_then(|p| offset(p, 8, index));
    let imei = imei_payload.and_then(|p| luhn(&p).map(|c| format!("{p}{c}"))).unwrap_or_else(|| base.imei.clone());
    let imsi = offset(&base.imsi, 5, index).unwrap_or_else(|| base.imsi.clone());
    let iccid_payload = base.iccid.get(..19).and_then(|p| offset(p, 7, index));
    let iccid = iccid_payload.and_then(|p| luhn(&p).map(|c| format!("{p}{c}"))).unwrap_or_else(|| base.iccid.clone());
    let (plus, digits) = base.number.strip_prefix('+').map_or(("", base.number.as_str()), |d| ("+", d));
    let keep = digits.len().saturating_sub(8);
    let number = offset(digits, keep, index).map_or_else(|| base.number.clone(), |n| format!("{plus}{n}"));
    Identity { imei, imsi, iccid, number, ..base.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_check_digits_are_those_of_real_numbers() {
        assert_eq!(luhn("49015420323751"), Some(8), "the IMEI 490154203237518");
        assert_eq!(luhn("8986031876001234567"), Some(1), "the default ICCID's");
        assert_eq!(luhn("7992739871"), Some(3), "ISO 7812's example");
        assert_eq!(luhn("12a"), None);
    }

    #[test]
    fn each_index_has_its_own_well_formed_identity() {
        let base = Identity::default();
        let first = indexed(&base, 0);
        assert_eq!(first.imei, "869951030012342", "index 0 is the module's own (its check digit was right)");
        assert_eq!(first.number, base.number);
        let seventh = indexed(&base, 7);
        assert_eq!(seventh.imei, "869951030012417", "serial 001241, check digit 7");
        assert_eq!(luhn(&seventh.imei[..14]), seventh.imei[14..].parse().ok());
        assert_eq!(seventh.imsi, "460115012345685");
        assert_eq!(seventh.iccid.len(), 20);
        assert_eq!(luhn(&seventh.iccid[..19]), seventh.iccid[19..].parse().ok());
        assert_eq!(seventh.number, "+8613800000008");
        let many: std::collections::HashSet<String> = (0..10_000).map(|i| indexed(&base, i).imei).collect();
        assert_eq!(many.len(), 10_000, "no two IMEIs alike");
    }
}
