//! The frame decoders of the data plane on arbitrary line bytes, cut into pieces where the
//! input says: the 27.010 multiplexer's (`vmodem::cmux::frame`) and PPP's HDLC-like framing
//! (`vmodem::ppp::hdlc`). Invariants: no panic; every frame that decodes encodes again to
//! bytes that decode to the same frame; the decoders keep to their limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem::cmux::frame::{Decoder as MuxDecoder, Message};
use vmodem::ppp::hdlc::{self, Decoder as PppDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, line)) = data.split_first() else { return };
    let piece = usize::from(cut).max(1);

    let mut mux = MuxDecoder::new(1500);
    let mut frames = Vec::new();
    for chunk in line.chunks(piece) {
        mux.decode(chunk, &mut frames);
    }
    for frame in frames {
        assert!(frame.info.len() <= 1500);
        let mut bytes = Vec::new();
        frame.encode(&mut bytes);
        let mut again = Vec::new();
        MuxDecoder::new(1500).decode(&bytes, &mut again);
        assert_eq!(again, [frame.clone()]);
        if frame.dlci == 0 {
            for message in Message::parse_all(&frame.info).unwrap_or_default() {
                assert_eq!(Message::parse_all(&message.encode()), Some(vec![message]));
            }
        }
    }

    let mut ppp = PppDecoder::new(1500);
    let mut frames = Vec::new();
    for chunk in line.chunks(piece) {
        ppp.decode(chunk, &mut frames);
    }
    for content in frames {
        assert!(content.len() <= 1500);
        let mut bytes = Vec::new();
        hdlc::encode(&content, hdlc::DEFAULT_ACCM, &mut bytes);
        let mut again = Vec::new();
        PppDecoder::new(1500).decode(&bytes, &mut again);
        assert_eq!(again, [content]);
    }
});
