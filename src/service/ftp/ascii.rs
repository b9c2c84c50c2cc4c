//! ASCII (`TYPE A`) line-end conversion as a Unix FTP client does it: CRLF on the wire becomes
//! LF on download, a bare LF becomes CRLF on upload (an existing CRLF is left alone). Both are
//! streaming and keep one byte of state, so a CRLF split across reads is still converted.

/// Download direction: CRLF → LF. A CR not followed by LF is kept.
#[derive(Debug, Default)]
pub struct CrlfToLf {
    /// A CR was read and is held back until the next byte shows whether an LF follows.
    held_cr: bool,
}

impl CrlfToLf {
    /// Converts from `input` into `out`; returns (bytes consumed, bytes produced). Stops when
    /// either runs out.
    pub fn convert(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let (mut i, mut o) = (0, 0);
        // Each pass consumes an input byte or produces an output byte.
        while o < out.len() {
            let Some(&b) = input.get(i) else { break };
            if self.held_cr {
                self.held_cr = false;
                if b == b'\n' {
                    i += 1;
                    out[o] = b'\n';
                } else {
                    out[o] = b'\r';
                }
                o += 1;
            } else if b == b'\r' {
                self.held_cr = true;
                i += 1;
            } else {
                out[o] = b;
                i += 1;
                o += 1;
            }
        }
        (i, o)
    }

    /// At the end of the stream: the CR still held back, if any.
    pub fn finish(&mut self) -> Option<u8> {
        std::mem::take(&mut self.held_cr).then_some(b'\r')
    }
}

/// Upload direction: bare LF → CRLF.
#[derive(Debug, Default)]
pub struct LfToCrlf {
    last_was_cr: bool,
}

impl LfToCrlf {
    /// Appends the converted `input` to `out` (at most twice its length).
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if b == b'\n' && !self.last_was_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.last_was_cr = b == b'\r';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn down(chunks: &[&[u8]], out_size: usize) -> Vec<u8> {
        let mut c = CrlfToLf::default();
        let mut result = Vec::new();
        let mut out = vec![0; out_size];
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let (used, made) = c.convert(rest, &mut out);
                result.extend_from_slice(&out[..made]);
                rest = &rest[used..];
            }
        }
        result.extend(c.finish());
        result
    }

    fn up(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = LfToCrlf::default();
        let mut out = Vec::new();
        for chunk in chunks {
            c.convert(chunk, &mut out);
        }
        out
    }

    #[test]
    fn crlf_becomes_lf_even_across_chunks() {
        assert_eq!(down(&[b"a\r\nb\r\n"], 64), b"a\nb\n");
        assert_eq!(down(&[b"a\r", b"\nb"], 64), b"a\nb");
        assert_eq!(down(&[b"a\r", b"b\r"], 64), b"a\rb\r");
        assert_eq!(down(&[b"\r\r\n\r"], 1), b"\r\n\r");
    }

    #[test]
    fn bare_lf_becomes_crlf_and_crlf_stays() {
        assert_eq!(up(&[b"a\nb\r\nc\r"]), b"a\r\nb\r\nc\r");
        assert_eq!(up(&[b"a\r", b"\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(up(&[b"\n\n"]), b"\r\n\r\n");
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_the_result(data in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x')], 0..200), cut in 0usize..200, out_size in 1usize..8) {
            let cut = cut.min(data.len());
            prop_assert_eq!(down(&[&data[..cut], &data[cut..]], out_size), down(&[&data], 1024));
            prop_assert_eq!(up(&[&data[..cut], &data[cut..]]), up(&[&data]));
            // Text with Unix line ends survives an upload and a download unchanged.
            let unix: Vec<u8> = data.iter().copied().filter(|&b| b != b'\r').collect();
            prop_assert_eq!(down(&[&up(&[&unix])], 7), unix);
        }
    }
}
