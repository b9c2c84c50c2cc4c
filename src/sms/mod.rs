//! Short messages: the PDU codec of 3GPP TS 23.040 and the 7-bit alphabet of TS 23.038, and the
//! SMS centre that carries messages between the modems of one process and keeps the rest for
//! the test to read. IO-free except the centre's hand-over to a modem's task.

pub mod centre;
pub mod gsm7;
pub mod pdu;

use pdu::{Address, Coding, Deliver, PduError, Timestamp, UserData};

/// A text message from `from` as the network delivers it at `timestamp`: in the 7-bit
/// alphabet, or UCS2 if the text needs it; in parts if it does not fit one message; of
/// `class` (0: flash) if given. The parts of one message share a reference drawn from the
/// time.
pub fn message(from: &str, text: &str, class: Option<u8>, timestamp: Timestamp) -> Result<Vec<Deliver>, PduError> {
    let coding = if text.chars().all(gsm7::representable) { Coding::Gsm7 } else { Coding::Ucs2 };
    let reference = timestamp.second.wrapping_mul(4).wrapping_add(timestamp.minute);
    let originator = Address::parse(from);
    originator.check()?;
    Ok(UserData::split(text, coding, reference)?
        .into_iter()
        .map(|user_data| Deliver {
            smsc: None,
            more_messages_to_send: false,
            status_report_indication: false,
            reply_path: false,
            originator: originator.clone(),
            pid: 0,
            dcs: coding.dcs(class),
            timestamp,
            user_data,
        })
        .collect())
}
