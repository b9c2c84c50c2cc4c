//! DLE/ETX byte stuffing for transparent file streams (SIMCom FTPETPUT/FTPETGET, Fibocom
//! FTPSTOR/FTPRETR): a payload 0x03 is sent as `10 03`, a payload 0x10 as `10 10`, and a bare
//! 0x03 ends the stream. A DLE followed by any other byte is taken literally (both bytes), as
//! the Motorola G24 documentation leaves it undefined.

/// End of text: ends a stream when not escaped.
pub const ETX: u8 = 0x03;
/// Data link escape.
pub const DLE: u8 = 0x10;

/// Appends `data` to `out` with ETX and DLE escaped (no terminating ETX).
pub fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + data.len() / 16);
    for &b in data {
        if b == ETX || b == DLE {
            out.push(DLE);
        }
        out.push(b);
    }
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
    /// Decodes `input` into `out`, stopping right after a bare ETX.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Unescaped {
        for (i, &b) in input.iter().enumerate() {
            if self.after_dle {
                self.after_dle = false;
                if b != ETX && b != DLE {
                    out.push(DLE);
                }
                out.push(b);
            } else if b == DLE {
                self.after_dle = true;
            } else if b == ETX {
                return Unescaped { consumed: i + 1, ended: true };
            } else {
                out.push(b);
            }
        }
        Unescaped { consumed: input.len(), ended: false }
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

    proptest! {
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
