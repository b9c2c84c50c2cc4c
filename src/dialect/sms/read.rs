//! Reading, listing and deleting stored messages (TS 27.005 §3.4.2, §3.4.3, §3.5.4;
//! M800 §4.2, M7080 §4.2), and what a message that arrives does (§3.4.1 `AT+CNMI`).
//!
//! PDU mode: `+CMGR: <stat>,,<length>` and `+CMGL: <index>,<stat>,,<length>`, each followed by
//! the PDU in hex, the centre's address first (the empty `<alpha>` is there: hosts parse it).
//! Text mode: `+CMGR: "<stat>","<oa>","","<scts>"` for a received message (with `AT+CSDH=1`
//! also `,<tooa>,<fo>,<pid>,<dcs>,"<sca>",<tosca>,<length>`), `+CMGR: "<stat>","<da>",""` for
//! a stored one, then the text in the `AT+CSCS` set (8-bit data as hex). Reading a
//! `REC UNREAD` message makes it `REC READ`, unless the command's `<mode>` is 1.
//!
//! A message for a full `<mem3>` goes back to the centre, which delivers it once a deletion
//! makes room (`docs/sms.md` S9).

use std::fmt::Write as _;

use vmodem_at::{Command, Failure, Reply};

use super::store::{Message, Status, Stored};
use super::{Messaging, Sms, cms, cms_error, deleted_by, info};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::service::sms::job::Request;
use crate::sms::centre::Incoming;
use crate::sms::pdu::{self, Address, Coding, Deliver, StatusReport, Submit};

/// The highest index a command takes.
const INDEX_MAX: u64 = 255;

/// `AT+CMGR=<index>[,<mode>]`: the message at `<index>` of `<mem1>`; an empty place answers
/// `OK` alone, an index beyond the storage 321 (`docs/sms.md` S6).
pub(super) fn cmgr<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=2)?;
    let index = a.uint(0, 0..=INDEX_MAX)? as usize;
    let keep = a.opt_uint(1, 0..=1)? == Some(1);
    let sms = s.messages();
    if !sms.store(0).contains(index) {
        return Err(cms_error(cms::BAD_INDEX));
    }
    let Some(stored) = sms.store(0).get(index).cloned() else { return Ok(Reply::Ok) };
    let (header, body) = sms.render(&stored, None)?;
    ctx.rsp.line(format!("+CMGR: {header}"));
    if let Some(body) = body {
        ctx.rsp.line(body);
    }
    if !keep {
        sms.mark_read(index);
    }
    Ok(Reply::Ok)
}

/// `AT+CMGL=?`: the statuses as the mode names them.
pub(super) fn cmgl_test<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.messages().text_mode {
        info(ctx, "+CMGL: (\"REC UNREAD\",\"REC READ\",\"STO UNSENT\",\"STO SENT\",\"ALL\")")
    } else {
        info(ctx, "+CMGL: (0-4)")
    }
}

/// `AT+CMGL[=<stat>[,<mode>]]`: the messages of `<mem1>` with that status (4, `"ALL"`: every
/// one; left out: the unread), in index order.
pub(super) fn cmgl<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(0..=2)?;
    let sms = s.messages();
    let wanted = if !a.has(0) {
        Some(Status::Unread)
    } else if sms.text_mode {
        let name = a.text(0, 12)?;
        if name.eq_ignore_ascii_case("ALL") { None } else { Some(Status::from_text(name).ok_or(Failure::Plain)?) }
    } else {
        match a.uint(0, 0..=4)? {
            4 => None,
            n => Status::from_number(n),
        }
    };
    let keep = a.opt_uint(1, 0..=1)? == Some(1);
    let listed: Vec<(usize, Stored)> = sms
        .store(0)
        .iter()
        .filter(|(_, m)| wanted.is_none_or(|w| m.status == w))
        .map(|(i, m)| (i, m.clone()))
        .collect();
    for (index, stored) in listed {
        let (header, body) = sms.render(&stored, Some(index))?;
        ctx.rsp.line(format!("+CMGL: {header}"));
        if let Some(body) = body {
            ctx.rsp.line(body);
        }
        if !keep {
            sms.mark_read(index);
        }
    }
    Ok(Reply::Ok)
}

/// `AT+CMGD=?`: the indexes in use, and the delete flags.
pub(super) fn cmgd_test<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let used: Vec<String> = s.messages().store(0).iter().map(|(i, _)| i.to_string()).collect();
    info(ctx, &format!("+CMGD: ({}),(0-4)", used.join(",")))
}

/// `AT+CMGD=[<index>][,<delflag>]`: `<delflag>` 0 (or none) deletes `<index>` (an empty place
/// is `OK`; beyond the storage 321), 1-4 delete by status and ignore the index, which may be
/// left out (M7080 §4.2.1).
pub(super) fn cmgd<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=2)?;
    let flag = a.opt_uint(1, 0..=4)?.unwrap_or(0);
    let index = a.opt_uint(0, 0..=INDEX_MAX)?;
    let store = s.messages().store_mut(0);
    match (flag, index) {
        (0, None) => return Err(Failure::Plain),
        (0, Some(i)) if !store.contains(i as usize) => return Err(cms_error(cms::BAD_INDEX)),
        (0, Some(i)) => store.delete(i as usize),
        (flag, _) => store.delete_where(|status| deleted_by(flag, status)),
    }
    s.messages().memory_available(ctx.io);
    Ok(Reply::Ok)
}

impl Sms {
    /// After a deletion: if a message was handed back for want of room and `<mem3>` has room
    /// now, the centre is told (RP-SMMA) and delivers what it held.
    fn memory_available(&mut self, io: &mut Io) {
        let store = self.store(2);
        if self.memory_full && store.used() < store.capacity() {
            self.memory_full = false;
            io.start(Owner::Sms, Request::Release { to: self.number.clone() });
        }
    }

    /// Marks the message at `index` of `<mem1>` read, if it was unread.
    fn mark_read(&mut self, index: usize) {
        if let Some(stored) = self.store_mut(0).get_mut(index).filter(|m| m.status == Status::Unread) {
            stored.status = Status::Read;
        }
    }

    /// The header after `+CMGR: ` (`+CMGL: <index>,` when `index` is given) and the line that
    /// follows (a status report has none), in the mode in force.
    fn render(&self, stored: &Stored, index: Option<usize>) -> Result<(String, Option<String>), Failure> {
        let mut header = index.map(|i| format!("{i},")).unwrap_or_default();
        let status = stored.status;
        if !self.text_mode {
            let (octets, length) = match &stored.message {
                Message::Received(deliver) => self.with_smsc(deliver).encode(),
                Message::Outgoing(submit) => submit.encode(Some(&self.smsc)),
                Message::Report(report) => report.encode(Some(&self.smsc)),
            }
            .map_err(|_| cms_error(cms::UNKNOWN))?;
            write!(header, "{},,{length}", status as u8).ok();
            return Ok((header, Some(pdu::to_hex(&octets))));
        }
        let full = self.show_header;
        write!(header, "\"{}\",", status.text()).ok();
        match &stored.message {
            Message::Received(deliver) => {
                header.push_str(&self.received_header(deliver, index.is_some(), full));
                Ok((header, Some(self.body(deliver.coding(), &deliver.user_data))))
            }
            Message::Outgoing(submit) => {
                header.push_str(&self.outgoing_header(submit, index.is_some(), full));
                Ok((header, Some(self.body(submit.coding(), &submit.user_data))))
            }
            Message::Report(report) => {
                header.push_str(&self.report_fields(report));
                Ok((header, None))
            }
        }
    }

    /// A status report's text-mode fields (TS 27.005 §3.4.3):
    /// `<fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>`.
    fn report_fields(&self, report: &StatusReport) -> String {
        let ra = self.number_text(&report.recipient);
        let (mr, tora, st) = (report.message_ref, report.recipient.ton_npi, report.status);
        format!("6,{mr},\"{ra}\",{tora},\"{}\",\"{}\",{st}", report.timestamp, report.discharge)
    }

    /// `"<oa>","","<scts>"`, then with `AT+CSDH=1` `,<tooa>,<length>` in a list or
    /// `,<tooa>,<fo>,<pid>,<dcs>,"<sca>",<tosca>,<length>` in a read.
    fn received_header(&self, deliver: &Deliver, listed: bool, full: bool) -> String {
        let mut header = format!("\"{}\",\"\",\"{}\"", self.number_text(&deliver.originator), deliver.timestamp);
        if full {
            let length = deliver.user_data.body.len();
            let tooa = deliver.originator.ton_npi;
            if listed {
                write!(header, ",{tooa},{length}").ok();
            } else {
                let first = if deliver.user_data.header.is_empty() { 4 } else { 0x44 };
                let smsc = deliver.smsc.as_ref().unwrap_or(&self.smsc);
                let sca = self.number_text(smsc);
                write!(header, ",{tooa},{first},{},{},\"{sca}\",{},{length}", deliver.pid, deliver.dcs, smsc.ton_npi)
                    .ok();
            }
        }
        header
    }

    /// `"<da>",""` (and `,` for the empty time stamp in a list), then with `AT+CSDH=1`
    /// `,<toda>,<length>` in a list or `,<toda>,<fo>,<pid>,<dcs>,<vp>,"<sca>",<tosca>,<length>`
    /// in a read.
    fn outgoing_header(&self, submit: &Submit, listed: bool, full: bool) -> String {
        let mut header = format!("\"{}\",\"\"", self.number_text(&submit.destination));
        if listed {
            header.push(',');
        }
        if full {
            let length = submit.user_data.body.len();
            let toda = submit.destination.ton_npi;
            if listed {
                write!(header, ",{toda},{length}").ok();
            } else {
                let [fo, vp, _, _] = self.csmp;
                let sca = self.number_text(&self.smsc);
                let (pid, dcs, tosca) = (submit.pid, submit.dcs, self.smsc.ton_npi);
                write!(header, ",{toda},{fo},{pid},{dcs},{vp},\"{sca}\",{tosca},{length}").ok();
            }
        }
        header
    }

    /// A number as the `AT+CSCS` set writes it.
    fn number_text(&self, address: &Address) -> String {
        String::from_utf8_lossy(&self.charset.encode(&address.number)).into_owned()
    }

    /// The text line: the text in the `AT+CSCS` set, or 8-bit data as hex.
    fn body(&self, coding: Coding, user_data: &pdu::UserData) -> String {
        match user_data.text(coding) {
            Some(text) => String::from_utf8_lossy(&self.charset.encode(&text)).into_owned(),
            None => pdu::to_hex(&user_data.body),
        }
    }

    /// `deliver` as the host reads it: the centre's address in front, the SIM's own if the
    /// message came without one.
    fn with_smsc(&self, deliver: &Deliver) -> Deliver {
        let mut shown = deliver.clone();
        shown.smsc.get_or_insert_with(|| self.smsc.clone());
        shown
    }
}

/// What a message or report from the centre does, as `AT+CNMI` says (TS 27.005 §3.4.1): a
/// message is stored in `<mem3>` (handed back to the centre if full) and announced `+CMTI: "<mem>",<index>` (`<mt>` 1), routed to
/// the host as `+CMT` (`<mt>` 2, or 3 for class 3), or stored silently (`<mt>` 0); a report
/// goes to the host as `+CDS` with `<ds>` 1, is stored in `<mem3>` and announced as
/// `+CDSI: "<mem>",<index>` with `<ds>` 2, and is dropped with `<ds>` 0 (`docs/sms.md` S8).
/// Indications are held while the line is in a data phase and follow it (`<mode>` 2's
/// buffering), as every URC is.
pub(super) fn arrived(sms: &mut Sms, incoming: Incoming, io: &mut Io) {
    let [_, mt, _, ds, _] = sms.cnmi;
    match incoming {
        Incoming::Deliver(mut deliver) => {
            deliver.smsc.get_or_insert_with(|| sms.smsc.clone());
            let class = pdu::message_class(deliver.dcs);
            let direct = match mt {
                2 => class != Some(2),
                3 => class == Some(3),
                _ => false,
            };
            if direct {
                if let Some(urc) = sms.cmt(&deliver) {
                    io.urc(urc);
                }
                return;
            }
            let mem = sms.mem_name(2);
            let store = sms.store_mut(2);
            if store.used() == store.capacity() {
                tracing::info!(target: "vmodem::sms", "{mem} is full: the centre keeps the message");
                sms.memory_full = true;
                io.start(Owner::Sms, Request::Hold { to: sms.number.clone(), deliver });
                return;
            }
            match store.put(Stored { status: Status::Unread, message: Message::Received(deliver) }) {
                Some(index) if mt != 0 => io.urc(format!("+CMTI: \"{mem}\",{index}")),
                _ => {}
            }
        }
        Incoming::Report(report) if ds == 1 => {
            if let Some(urc) = sms.cds(&report) {
                io.urc(urc);
            }
        }
        Incoming::Report(report) if ds == 2 => {
            let mem = sms.mem_name(2);
            match sms.store_mut(2).put(Stored { status: Status::Unread, message: Message::Report(report) }) {
                Some(index) => io.urc(format!("+CDSI: \"{mem}\",{index}")),
                None => tracing::info!(target: "vmodem::sms", "a status report for the full storage {mem} is dropped"),
            }
        }
        Incoming::Report(report) => {
            tracing::debug!(target: "vmodem::sms", "a status report for {} not shown (ds 0)", report.message_ref)
        }
    }
}

impl Sms {
    /// `+CMT: ,<length>` and the PDU, or `+CMT: "<oa>","","<scts>"[,...]` and the text.
    fn cmt(&self, deliver: &Deliver) -> Option<String> {
        if self.text_mode {
            let header = self.received_header(deliver, false, self.show_header);
            return Some(format!("+CMT: {header}\r\n{}", self.body(deliver.coding(), &deliver.user_data)));
        }
        let (octets, length) = deliver.encode().ok()?;
        Some(format!("+CMT: ,{length}\r\n{}", pdu::to_hex(&octets)))
    }

    /// `+CDS: <length>` and the PDU, or `+CDS: <fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>`.
    fn cds(&self, report: &StatusReport) -> Option<String> {
        if self.text_mode {
            return Some(format!("+CDS: {}", self.report_fields(report)));
        }
        let (octets, length) = report.encode(Some(&self.smsc)).ok()?;
        Some(format!("+CDS: {length}\r\n{}", pdu::to_hex(&octets)))
    }
}
