//! The bytes of a connection: `AT+CASEND` (a prompt, exactly `<datalen>` bytes, `OK`),
//! `AT+CARECV` (`+CARECV: <len>,<data>`), `AT+CARECV?` and `AT+CAACK` (M7080 §12.2.5,
//! §12.2.6, §12.2; AN7080-TCP §5.1).

use std::time::Duration;

use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply, Response};

use super::super::Simcom;
use super::{Ca, State, WRONG_STATE};
use crate::dialect::args::Args;
use crate::dialect::sockets::{SEND_BUFFER, Slot};
use crate::dialect::{Ctx, Io, Outcome, Owner};

/// The most bytes one `AT+CASEND` or `AT+CARECV` moves.
const CHUNK: u64 = 1460;
/// How long `AT+CASEND` waits for its bytes unless `<inputtime>` says (M7080 §12.2.5).
const INPUT_TIME_MS: u64 = 5000;

/// An `AT+CASEND` taking its bytes.
#[derive(Debug)]
pub(super) struct Sending {
    cid: usize,
    len: usize,
    bytes: Vec<u8>,
}

impl Ca {
    /// Bytes of the `AT+CASEND` data phase.
    pub(super) fn take_data(&mut self, payload: &[u8]) {
        if let Some(send) = &mut self.send {
            let room = send.len - send.bytes.len();
            send.bytes.extend_from_slice(&payload[..payload.len().min(room)]);
        }
    }

    /// The open socket of `cid`, or the wrong-state failure.
    fn open_slot(&self, cid: usize) -> Result<&Slot, Failure> {
        match (self.conn(cid)?.state, self.sockets.get(cid)) {
            (State::Open, Some(slot)) => Ok(slot),
            _ => Err(WRONG_STATE),
        }
    }
}

/// What the send buffer of `slot` can still take.
fn left(slot: &Slot) -> usize {
    SEND_BUFFER.saturating_sub(slot.unsent() as usize)
}

/// `AT+CASEND=<cid>` (`+CASEND: <leftsize>`, the room in the send buffer) or
/// `AT+CASEND=<cid>,<datalen>[,<inputtime>]`: `> ` (D34), then exactly `<datalen>` bytes
/// within `<inputtime>` ms, then `OK` once they are in the send buffer. A connection not
/// open, or bytes that do not fit the buffer, get CME 3 (D35).
pub(super) fn casend(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=3)?;
    let cid = Ca::cid(&a, 0)?;
    let len = a.opt_uint(1, 1..=CHUNK)?;
    let input_ms = a.opt_uint(2, 100..=10_000)?.unwrap_or(INPUT_TIME_MS);
    let slot = s.ca.open_slot(cid)?;
    let Some(len) = len.map(|n| n as usize) else {
        ctx.rsp.line(format!("+CASEND: {}", left(slot)));
        return Ok(Reply::Ok);
    };
    if left(slot) < len {
        return Err(WRONG_STATE);
    }
    crate::dialect::prompt(ctx.rsp);
    s.ca.send = Some(Sending { cid, len, bytes: Vec::with_capacity(len) });
    ctx.io.data_deadline(ctx.io.now + Duration::from_millis(input_ms));
    Ok(ctx.io.data(Owner::AppSocket, DataPhase::Fixed(len)))
}

impl Simcom {
    /// The end of `AT+CASEND`'s bytes: into the socket and `OK` (and on the SIM7000
    /// `+CASEND: <cid>,0,<sendlen>`), or `ERROR` when they did not all come in time (they are
    /// dropped, D35) or the connection closed meanwhile.
    pub(super) fn casend_end(&mut self, end: DataEnd, _: &mut Response<'_>, io: &mut Io) -> Reply {
        let Some(send) = self.ca.send.take() else { return Reply::Error(Failure::Plain) };
        if end == DataEnd::Incomplete || send.bytes.len() != send.len {
            return Reply::Error(Failure::Plain);
        }
        if let Err(e) = self.ca.sockets.send(send.cid, &send.bytes, io) {
            tracing::info!(target: "vmodem::socket", "AT+CASEND {}: {e}", send.cid);
            return Reply::Error(WRONG_STATE);
        }
        if self.profile.ca.as_ref().is_some_and(|p| p.send_report) {
            io.urc(format!("+CASEND: {},0,{}", send.cid, send.len));
        }
        Reply::Ok
    }
}

/// `AT+CARECV=<cid>,<readlen>`: `+CARECV: <len>,<data>` with up to `<readlen>` bytes the
/// connection received (one datagram at most on UDP), or `+CARECV: 0` when none wait
/// (D36). A closed connection's bytes can still be read; an id not in use is CME 3.
pub(super) fn carecv(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let cid = Ca::cid(&a, 0)?;
    let max = a.uint(1, 1..=CHUNK)? as usize;
    if matches!(s.ca.conn(cid)?.state, State::Opening { .. } | State::Listening) {
        return Err(WRONG_STATE);
    }
    let bytes = s.ca.sockets.receive(cid, max);
    if bytes.is_empty() {
        ctx.rsp.line("+CARECV: 0");
        return Ok(Reply::Ok);
    }
    let mut line = format!("+CARECV: {},", bytes.len()).into_bytes();
    line.extend_from_slice(&bytes);
    ctx.rsp.line(line);
    Ok(Reply::Ok)
}

/// `AT+CARECV?`: `+CARECV: <cid>,<len>` for each connection with bytes to read, in id order
/// (the form TinyGSM reads; D36).
pub(super) fn carecv_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for (cid, slot) in s.ca.sockets.used() {
        if slot.waiting() > 0 {
            ctx.rsp.line(format!("+CARECV: {cid},{}", slot.waiting()));
        }
    }
    Ok(Reply::Ok)
}

/// `AT+CAACK=<cid>`: `+CAACK: <totalsize>,<unacksize>`, the bytes the host handed over and
/// those not yet gone into the socket (D37).
pub(super) fn caack(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let cid = Ca::cid(&a, 0)?;
    s.ca.conn(cid)?;
    let (total, unacked) = s.ca.sockets.get(cid).map_or((0, 0), |slot| (slot.sent, slot.unsent()));
    ctx.rsp.line(format!("+CAACK: {total},{unacked}"));
    Ok(Reply::Ok)
}
