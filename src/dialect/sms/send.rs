//! Sending and storing messages (TS 27.005 §3.5.1, §3.5.2, §3.5.3): `AT+CMGS` and `AT+CMGW`
//! prompt `\r\n> ` and take the message up to Ctrl-Z (ESC abandons it: `OK`, nothing sent or
//! stored); `AT+CMSS` sends one from storage. In text mode the message is the text in the
//! `AT+CSCS` set, written with the `AT+CSMP` parameters, and a text beyond one message goes as
//! a concatenated one; in PDU mode it is the hex PDU whose TPDU `<length>` the command gave.
//! A message sent goes to the SMS centre through a job, and `+CMGS: <mr>` (`+CMSS: <mr>`)
//! answers once the centre has taken it.

use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply, Response};

use super::store::{Message, Status, Stored};
use super::{Messaging, Sms, cms, cms_error};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner, expect};
use crate::service::sms::job::{Event, Request};
use crate::service::{self, JobId};
use crate::sms::pdu::{self, Address, Coding, Submit, UserData, Validity};

/// Ctrl-Z: sends the message.
const CTRL_Z: u8 = 0x1A;
/// ESC: abandons it.
const ESC: u8 = 0x1B;
/// The most characters a text-mode message has (M800 §4.2.5: 1024 in the 7-bit alphabet).
const TEXT_MAX: usize = 1024;
/// The most bytes a text-mode prompt takes: [`TEXT_MAX`] characters in `"UCS2"` (four hex
/// digits each), and one more to tell a longer text.
const TYPED_MAX: usize = 4 * TEXT_MAX + 1;
/// How long a prompt stays open (M800 §4.2.5: `AT+CMGS` answers within 60 s); then the message
/// is dropped with 500.
const PROMPT_TIME: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest TPDU an SMS-SUBMIT has: first octet, TP-MR, a 12-octet TP-DA, TP-PID, TP-DCS,
/// a 7-octet TP-VP, TP-UDL and 140 octets of user data.
const TPDU_MAX: u64 = 164;
/// The most hex digits a PDU prompt takes: the longest TPDU and SMSC part, and one more.
const PDU_TYPED_MAX: usize = (TPDU_MAX as usize + 12) * 2 + 1;

/// The message being typed after a prompt.
#[derive(Debug)]
pub(super) struct Compose {
    form: Form,
    /// `AT+CMGW` with this status: stored, not sent.
    store: Option<Status>,
    bytes: Vec<u8>,
    /// When the prompt closes unanswered.
    deadline: tokio::time::Instant,
}

/// What the prompt takes.
#[derive(Debug)]
enum Form {
    /// Text for this destination (`AT+CMGS="<da>"`); `AT+CMGW` may leave it out.
    Text(Option<Address>),
    /// A hex PDU whose TPDU has this many octets (`AT+CMGS=<length>`).
    Pdu(usize),
}

/// What answers a message handed to the centre.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    /// `+CMGS: <mr>`.
    Cmgs(u8),
    /// `+CMSS: <mr>`, and the stored message at this index of `<mem2>` is now sent.
    Cmss(u8, usize),
}

/// The destination of a text-mode command: `"<da>"` in the `AT+CSCS` set, and `<toda>` if
/// given.
fn destination(sms: &Sms, a: &Args<'_>, at: usize) -> Result<Address, Failure> {
    let text = a.text(at, 80)?;
    let number = sms.charset.decode(text.as_bytes()).filter(|n| !n.is_empty()).ok_or(cms_error(cms::BAD_TEXT))?;
    let mut address = Address::parse(&number);
    if let Some(toda) = a.opt_uint(at + 1, 128..=255)? {
        address.ton_npi = toda as u8;
    }
    Ok(address)
}

/// Opens the prompt for `form`, for at most [`PROMPT_TIME`].
fn compose<S: Messaging>(s: &mut S, form: Form, store: Option<Status>, ctx: &mut Ctx<'_, '_>) -> Outcome {
    crate::dialect::prompt(ctx.rsp);
    let max = if matches!(form, Form::Pdu(_)) { PDU_TYPED_MAX } else { TYPED_MAX };
    let deadline = ctx.io.now + PROMPT_TIME;
    s.messages().composing = Some(Compose { form, store, bytes: Vec::new(), deadline });
    ctx.io.data_deadline(deadline);
    Ok(ctx.io.data(Owner::Sms, DataPhase::Terminated { end: CTRL_Z, cancel: Some(ESC), max }))
}

/// `AT+CMGS="<da>"[,<toda>]` (text mode) or `AT+CMGS=<length>` (PDU mode).
pub(super) fn cmgs<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let sms = s.messages();
    let form = if sms.text_mode {
        let a = Args::of(cmd, cms_error(cms::BAD_TEXT));
        a.count(1..=2)?;
        Form::Text(Some(destination(sms, &a, 0)?))
    } else {
        let a = Args::of(cmd, cms_error(cms::BAD_PDU));
        a.count(1..=1)?;
        Form::Pdu(a.uint(0, 1..=TPDU_MAX)? as usize)
    };
    compose(s, form, None, ctx)
}

/// `AT+CMGW[="<da>"[,<toda>[,<stat>]]]` (text mode) or `AT+CMGW=<length>[,<stat>]` (PDU
/// mode): stored as `STO UNSENT` unless `<stat>` says otherwise.
pub(super) fn cmgw<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let sms = s.messages();
    let (form, status) = if sms.text_mode {
        let a = Args::of(cmd, cms_error(cms::BAD_TEXT));
        a.count(0..=3)?;
        let to = if a.has(0) { Some(destination(sms, &a, 0)?) } else { None };
        let status = match a.opt_text(2, 12)? {
            Some(name) => Status::from_text(name).ok_or(cms_error(cms::BAD_TEXT))?,
            None => Status::Unsent,
        };
        (Form::Text(to), status)
    } else {
        let a = Args::of(cmd, cms_error(cms::BAD_PDU));
        a.count(1..=2)?;
        let len = a.uint(0, 1..=TPDU_MAX)? as usize;
        let status = a.opt_uint(1, 0..=3)?.and_then(Status::from_number).unwrap_or(Status::Unsent);
        (Form::Pdu(len), status)
    };
    compose(s, form, Some(status), ctx)
}

/// `AT+CMSS=<index>[,"<da>"[,<toda>]]`: sends the stored message at `<index>` of `<mem2>`, to
/// `<da>` if given; an empty place is 321, a received message 302.
pub(super) fn cmss<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=3)?;
    let index = a.uint(0, 0..=255)? as usize;
    let sms = s.messages();
    let to = if a.has(1) { Some(destination(sms, &a, 1)?) } else { None };
    // An empty place or one beyond the storage: 321; a received message: 302.
    let Some(stored) = sms.store(1).get(index) else { return Err(cms_error(cms::BAD_INDEX)) };
    let Stored { message: Message::Outgoing(submit), .. } = stored else {
        return Err(cms_error(cms::NOT_ALLOWED));
    };
    let mut submit = submit.clone();
    if let Some(to) = to {
        submit.destination = to;
    }
    submit_parts(s, vec![submit], ctx.io, |mr| Answer::Cmss(mr, index))?;
    Ok(ctx.io.pending(Owner::Sms))
}

/// Bytes typed after the prompt.
pub(super) fn data<S: Messaging>(s: &mut S, payload: &[u8]) {
    if let Some(compose) = &mut s.messages().composing {
        compose.bytes.extend_from_slice(payload);
    }
}

/// The end of the prompt: Ctrl-Z sends or stores, ESC abandons (`OK`), a prompt left open
/// for [`PROMPT_TIME`] is dropped (500), and so is more than the prompt takes (304, 305); in
/// each case nothing is sent or stored.
pub(super) fn data_end<S: Messaging>(s: &mut S, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
    let Some(compose) = s.messages().composing.take() else { return Reply::Error(Failure::Plain) };
    match end {
        DataEnd::Incomplete if io.now >= compose.deadline => return Reply::Error(cms_error(cms::UNKNOWN)),
        DataEnd::Incomplete => return Reply::Ok,
        DataEnd::Complete => {}
    }
    let parts = match messages(s.messages(), &compose) {
        Ok(parts) => parts,
        Err(failure) => return Reply::Error(failure),
    };
    if let Some(status) = compose.store {
        return store(s.messages(), parts, status, rsp);
    }
    match submit_parts(s, parts, io, Answer::Cmgs) {
        Ok(()) => io.pending(Owner::Sms),
        Err(failure) => Reply::Error(failure),
    }
}

/// The messages a prompt's bytes make: one from a PDU; from text, one or the parts of a
/// concatenated one.
fn messages(sms: &mut Sms, compose: &Compose) -> Result<Vec<Submit>, Failure> {
    match &compose.form {
        Form::Pdu(len) => {
            let hex = String::from_utf8_lossy(&compose.bytes);
            let octets = pdu::from_hex(hex.trim()).map_err(|_| cms_error(cms::BAD_PDU))?;
            let (_, submit) = pdu::decode_submit(&octets, *len).map_err(|e| {
                tracing::info!(target: "vmodem::sms", "a PDU refused: {e}");
                cms_error(cms::BAD_PDU)
            })?;
            Ok(vec![submit])
        }
        Form::Text(to) => {
            let text = sms.charset.decode(&compose.bytes).ok_or(cms_error(cms::BAD_TEXT))?;
            if text.chars().count() > TEXT_MAX {
                return Err(cms_error(cms::BAD_TEXT));
            }
            let [fo, vp, pid, dcs] = sms.csmp;
            let coding = Coding::from_dcs(dcs);
            sms.next_reference = sms.next_reference.wrapping_add(1);
            let bodies: Vec<UserData> = match coding {
                // 8-bit text mode data is written as hex (TS 27.005 §3.1 `<data>`).
                Coding::Eight => {
                    let octets = pdu::from_hex(&text).map_err(|_| cms_error(cms::BAD_TEXT))?;
                    vec![UserData { header: Vec::new(), body: octets }]
                }
                _ => UserData::split(&text, coding, sms.next_reference).map_err(|_| cms_error(cms::BAD_TEXT))?,
            };
            let validity = if fo & 0x18 == 0x10 { Validity::Relative(vp) } else { Validity::None };
            let destination = to.clone().unwrap_or_else(|| Address::parse(""));
            Ok(bodies
                .into_iter()
                .map(|user_data| Submit {
                    reject_duplicates: fo & 0x04 != 0,
                    validity,
                    status_report: fo & 0x20 != 0,
                    reply_path: fo & 0x80 != 0,
                    message_ref: 0,
                    destination: destination.clone(),
                    pid,
                    dcs,
                    user_data,
                })
                .collect())
        }
    }
}

/// `AT+CMGW`'s end: each message (part) in the lowest free place of `<mem2>`;
/// `+CMGW: <index>` of the first, or 322 if they do not all fit (none is stored then).
fn store(sms: &mut Sms, parts: Vec<Submit>, status: Status, rsp: &mut Response<'_>) -> Reply {
    let store = sms.store_mut(1);
    if store.capacity() - store.used() < parts.len() {
        return Reply::Error(cms_error(cms::FULL));
    }
    let mut first = None;
    for submit in parts {
        let index = store.put(Stored { status, message: Message::Outgoing(submit) });
        first = first.or(index);
    }
    rsp.line(format!("+CMGW: {}", first.unwrap_or(0)));
    Reply::Ok
}

/// Hands `parts` to the centre with the next message references: 331 while not registered,
/// 330 without a service centre. `answer` makes the result from the last part's reference.
fn submit_parts<S: Messaging>(
    s: &mut S,
    mut parts: Vec<Submit>,
    io: &mut Io,
    answer: impl FnOnce(u8) -> Answer,
) -> Result<(), Failure> {
    if !s.registered() {
        return Err(cms_error(cms::NO_NETWORK));
    }
    let sms = s.messages();
    if sms.smsc.number.trim_start_matches('+').is_empty() {
        return Err(cms_error(cms::NO_SMSC));
    }
    let mut mr = sms.next_mr;
    for submit in &mut parts {
        mr = sms.next_mr;
        submit.message_ref = mr;
        sms.next_mr = sms.next_mr.wrapping_add(1);
    }
    let job = io.start(Owner::Sms, Request::Submit { from: sms.number.clone(), parts });
    sms.submitting = Some((job, answer(mr)));
    Ok(())
}

/// The centre's answer to the message handed over.
pub(super) fn event<S: Messaging>(s: &mut S, job: JobId, event: service::Event, io: &mut Io) {
    let Some(Event::Submitted(taken)) = expect::<Event>(job, event) else { return };
    let sms = s.messages();
    let Some((_, answer)) = sms.submitting.take_if(|(j, _)| *j == job) else { return };
    sms.answer = Some(match (taken, answer) {
        (Ok(()), Answer::Cmgs(mr)) => Ok(format!("+CMGS: {mr}")),
        (Ok(()), Answer::Cmss(mr, index)) => {
            if let Some(stored) = sms.store_mut(1).get_mut(index) {
                stored.status = Status::Sent;
            }
            Ok(format!("+CMSS: {mr}"))
        }
        (Err(e), _) => {
            tracing::info!(target: "vmodem::sms", "the centre did not take a message: {e}");
            Err(cms_error(cms::UNKNOWN))
        }
    });
    io.resume();
}

/// `+CMGS: <mr>` (`+CMSS: <mr>`) and `OK`, or the failure.
pub(super) fn resume<S: Messaging>(s: &mut S, rsp: &mut Response<'_>, _: &mut Io) -> Reply {
    match s.messages().answer.take() {
        Some(Ok(line)) => {
            rsp.line(line);
            Reply::Ok
        }
        Some(Err(failure)) => Reply::Error(failure),
        None => Reply::Error(cms_error(cms::UNKNOWN)),
    }
}
