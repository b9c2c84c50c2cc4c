//! USSD (TS 27.007 §7.15 `AT+CUSD`): the host sends a code (`*100#`) or, inside a session, a
//! choice; the operator's menu (`[network] ussd`) answers `+CUSD: <m>,"<str>",<dcs>` after the
//! `OK`: `<m>` 0 done, 1 more wanted (the session stays for a choice), 4 not supported (a code
//! the menu lacks); the text is in the `AT+CSCS` set, `<dcs>` 15 (7-bit, language unspecified).
//! `AT+CUSD=2` ends a session; `<n>` 0 sends without showing the answer (`docs/sms.md` S10).

use vmodem_at::{Command, Failure, Reply};

use super::{Messaging, info};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};

/// `<dcs>` of every answer: the 7-bit default alphabet, language unspecified (TS 23.038 §5).
const DCS: u8 = 15;
/// 27.007's "no network service".
const NO_NETWORK: u16 = 30;

/// A USSD session's state.
#[derive(Debug, Default)]
pub(super) struct Ussd {
    /// `<n>` 1: answers are shown.
    present: bool,
    /// The menu waiting for a choice: the code of the answer that asked for more.
    session: Option<String>,
}

/// `AT+CUSD?`.
pub(super) fn read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let n = u8::from(s.messages().ussd.present);
    info(ctx, &format!("+CUSD: {n}"))
}

/// `AT+CUSD=[<n>[,<str>[,<dcs>]]]`.
pub(super) fn write<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(0..=3)?;
    let n = a.opt_uint(0, 0..=2)?.unwrap_or(0);
    a.opt_uint(2, 0..=255)?;
    let request = a.opt_text(1, 160)?;
    if request.is_some() && !s.registered() {
        return Err(Failure::Cme(NO_NETWORK));
    }
    let sms = s.messages();
    if n == 2 {
        sms.ussd.session = None;
        return Ok(Reply::Ok);
    }
    sms.ussd.present = n == 1;
    let Some(request) = request else { return Ok(Reply::Ok) };
    let code = sms.charset.decode(request.as_bytes()).ok_or(s.bad())?;
    let sms = s.messages();
    let session = sms.ussd.session.take();
    let entry = sms.ussd_menu.iter().find(|e| e.code == code && e.after == session);
    let urc = match entry {
        Some(entry) => {
            if entry.more {
                sms.ussd.session = Some(entry.code.clone());
            }
            let text = String::from_utf8_lossy(&sms.charset.encode(&entry.reply)).into_owned();
            format!("+CUSD: {},\"{text}\",{DCS}", u8::from(entry.more))
        }
        None => "+CUSD: 4".to_string(),
    };
    if sms.ussd.present {
        ctx.io.urc(urc);
    }
    Ok(Reply::Ok)
}
