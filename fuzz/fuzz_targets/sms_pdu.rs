//! The SMS PDU decoders (`vmodem::sms::pdu`) on arbitrary bytes: a PDU a host writes after
//! `AT+CMGS=<length>` (any `<length>`), a DELIVER or STATUS-REPORT a test injects. Invariants:
//! no panic; a SUBMIT or DELIVER that decodes encodes again, and that decodes to the same
//! message, so nothing is lost or invented between what a host wrote and what the modem sends
//! on. (The octets may differ: an alphanumeric address may count its semi-octets loosely.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem::sms::pdu::{decode_deliver, decode_status_report, decode_submit};

fuzz_target!(|data: &[u8]| {
    let Some((&length, pdu)) = data.split_first() else { return };
    if let Ok((smsc, submit)) = decode_submit(pdu, usize::from(length)) {
        let (again, tpdu) = submit.encode(smsc.as_ref()).expect("a decoded SUBMIT encodes");
        assert_eq!(decode_submit(&again, tpdu).map(|(_, s)| s), Ok(submit));
    }
    if let Ok(deliver) = decode_deliver(pdu) {
        let (again, _) = deliver.encode().expect("a decoded DELIVER encodes");
        assert_eq!(decode_deliver(&again), Ok(deliver));
    }
    let _ = decode_status_report(pdu);
});
