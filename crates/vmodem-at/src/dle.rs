//! DLE/ETX byte stuffing for transparent file streams (SIMCom FTPETPUT/FTPETGET, Fibocom
//! FTPSTOR/FTPRETR): a payload 0x03 is sent as `10 03`, a payload 0x10 as `10 10`, and a bare
//! 0x03 ends the stream. A DLE followed by any other byte is taken literally (both bytes), as
//! the Motorola G24 documentation leaves it undefined.

/// End of text: ends a stream when not escaped.
pub const ETX: u8 = 0x03;
/// Data link escape.
pub const DLE: u8 = 0x10;

/// Appends `data` to `out` with ETX and DLE escaped (no terminating ETX). The runs between
/// the two bytes are found with `memchr2` and copied whole: a stream of random bytes has one
/// of them every 128 bytes on average.
pub fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + data.len() / 64);
    let mut rest = data;
    while let Some(i) = memchr::memchr2(ETX, DLE, rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&[DLE, rest[i]]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Incremental decoder for an escaped stream; keeps its state across chunks.
#[derive(Debug, Default, Clone)]
pub struct Unescaper {
    after_dle: bool,
}

/// What one [`Unescaper::push`] call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unescaped {
    /// Input bytes consumed (the terminating ETX included).
    pub consumed: usize,
    /// Whether the terminating ETX was reached.
    pub ended: bool,
}

impl Unescaper {
    /// Decodes `input` into `out`, stopping right after a bare ETX. Runs without either byte
    /// are copied whole, as [`escape_into`] writes them.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Unescaped {
        let mut at = 0;
        if self.after_dle {
            let Some(&b) = input.first() else { return Unescaped { consumed: 0, ended: false } };
            self.literal(b, out);
            at = 1;
        }
        while let Some(i) = memchr::memchr2(ETX, DLE, &input[at..]) {
            out.extend_from_slice(&input[at..at + i]);
            at += i;
            if input[at] == ETX {
                return Unescaped { consumed: at + 1, ended: true };
            }
            let Some(&b) = input.get(at + 1) else {
                self.after_dle = true;
                return Unescaped { consumed: input.len(), ended: false };
            };
            self.literal(b, out);
            at += 2;
        }
        out.extend_from_slice(&input[at..]);
        Unescaped { consumed: input.len(), ended: false }
    }

    /// The byte after a DLE: an escaped ETX or DLE stands for itself, any other byte keeps
    /// the DLE before it.
    fn literal(&mut self, b: u8, out: &mut Vec<u8>) {
        self.after_dle = false;
        if b != ETX && b != DLE {
            out.push(DLE);
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_application_notes_example() {
        // L610-FTP §1.2.16: file bytes 03 11 10 go out as 10 03 11 10 10, then ETX.
        let mut out = Vec::new();
        escape_into(&[0x03, 0x11, 0x10], &mut out);
        assert_eq!(out, [0x10, 0x03, 0x11, 0x10, 0x10]);
    }

    #[test]
    fn stops_at_bare_etx_and_keeps_state_across_chunks() {
        let mut d = Unescaper::default();
        let mut out = Vec::new();
        assert_eq!(d.push(&[0x41, 0x10], &mut out), Unescaped { consumed: 2, ended: false });
        assert_eq!(d.push(&[0x03, 0x10, 0x10, 0x03, 0x42], &mut out), Unescaped { consumed: 4, ended: true });
        assert_eq!(out, [0x41, 0x03, 0x10]);
    }

    #[test]
    fn lone_dle_is_literal() {
        let mut out = Vec::new();
        Unescaper::default().push(&[0x10, 0x41, 0x03], &mut out);
        assert_eq!(out, [0x10, 0x41]);
    }

    /// The decoding rule one byte at a time, to hold the run-copying decoder to.
    fn bytewise(input: &[u8]) -> (Vec<u8>, Option<usize>) {
        let mut out = Vec::new();
        let mut after_dle = false;
        for (i, &b) in input.iter().enumerate() {
            match (after_dle, b) {
                (true, _) => {
                    after_dle = false;
                    if b != ETX && b != DLE {
                        out.push(DLE);
                    }
                    out.push(b);
                }
                (false, DLE) => after_dle = true,
                (false, ETX) => return (out, Some(i + 1)),
                (false, _) => out.push(b),
            }
        }
        (out, None)
    }

    proptest! {
        #[test]
        fn any_bytes_decode_as_one_at_a_time(
            input in proptest::collection::vec(prop_oneof![Just(ETX), Just(DLE), Just(0x41), any::<u8>()], 0..256),
            splits in proptest::collection::vec(0usize..256, 0..4),
        ) {
            let (expected, end) = bytewise(&input);
            let mut cuts: Vec<usize> = splits.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            cuts.push(input.len());
            let (mut d, mut out, mut from, mut ended_at) = (Unescaper::default(), Vec::new(), 0, None);
            for cut in cuts {
                if ended_at.is_some() || cut < from {
                    continue;
                }
                let r = d.push(&input[from..cut], &mut out);
                if r.ended {
                    ended_at = Some(from + r.consumed);
                }
                from += r.consumed;
            }
            prop_assert_eq!(out, expected);
            prop_assert_eq!(ended_at, end);
        }

        #[test]
        fn escaping_matches_one_at_a_time(data in proptest::collection::vec(prop_oneof![Just(ETX), Just(DLE), any::<u8>()], 0..256)) {
            let mut out = Vec::new();
            escape_into(&data, &mut out);
            let expected: Vec<u8> =
                data.iter().flat_map(|&b| if b == ETX || b == DLE { vec![DLE, b] } else { vec![b] }).collect();
            prop_assert_eq!(out, expected);
        }

        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..512), split in 0usize..600) {
            let mut wire = Vec::new();
            escape_into(&data, &mut wire);
            wire.push(ETX);
            wire.extend_from_slice(b"after");
            let split = split.min(wire.len());
            let mut d = Unescaper::default();
            let mut out = Vec::new();
            let a = d.push(&wire[..split], &mut out);
            let total = if a.ended { a.consumed } else { split + d.push(&wire[split..], &mut out).consumed };
            prop_assert_eq!(out, data);
            prop_assert_eq!(total, wire.len() - 5);
        }
    }
}
