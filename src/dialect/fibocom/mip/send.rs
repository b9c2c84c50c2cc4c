//! Sending: `AT+MIPSEND` in its two forms and `AT+MIPPUSH` (D24, D25).
//!
//! - `AT+MIPSEND=<id>,<len>` (what L610 hosts send: RTT-L610, L610-HOSTS): the prompt
//!   `\r\n> `, exactly `<len>` raw bytes (1 to 2048, not echoed), then
//!   `+MIPSEND: <id>,0,<free>` and `OK`; the bytes, after any stored by the hex form, go to
//!   the socket at once, and `+MIPPUSH: <id>,0` follows when they have gone into it. A send
//!   buffer with no room holds them and the line waits (the module drops CTS) until the
//!   socket takes them.
//! - `AT+MIPSEND=<id>,"<hex>"` (G24-REF): the bytes are stored, up to 2048 waiting,
//!   `+MIPSEND: <id>,<0|1 flowed off>,<free>`; `AT+MIPPUSH=<id>` sends them:
//!   `+MIPPUSH: <id>,<0 sent|1 flowed off|2 nothing to send>` and `OK`.

use vmodem_at::{Arg, Command, DataPhase, Reply, Response};

use super::super::Fibocom;
use super::{BAD, NOT_OPEN, Phase, SOCKETS, slot};
use crate::dialect::args::Args;
use crate::dialect::sockets::{Protocol, SendError};
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::limits::later;

/// The most bytes one `AT+MIPSEND=<id>,<len>` takes, and the most the hex form stores.
const ACCUMULATE: usize = 2048;
/// The prompt before the bytes of `AT+MIPSEND` and `AT+GTSSLFILE` (UNISOC's
/// `atCmdRespOutputPrompt`).
pub(super) const PROMPT: &[u8] = b"\r\n> ";

/// `AT+MIPSEND=<id>,<len>` or `AT+MIPSEND=<id>,"<hex>"`.
pub(super) fn send(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(2..=2)?;
    let id = a.uint(0, 1..=SOCKETS as u64)?;
    let index = slot(id);
    if let Some(Arg::Quoted(hex)) = cmd.args().get(1) {
        let bytes = decode_hex(hex).ok_or(BAD)?;
        if !s.mip_open(index) {
            return Err(NOT_OPEN);
        }
        let link = &mut s.mip.links[index];
        let fits = link.accumulated.len() + bytes.len() <= ACCUMULATE;
        if fits {
            link.accumulated.extend_from_slice(&bytes);
        }
        let free = ACCUMULATE - link.accumulated.len();
        ctx.rsp.line(format!("+MIPSEND: {id},{},{free}", u8::from(!fits)));
        return Ok(Reply::Ok);
    }
    let len = a.uint(1, 1..=ACCUMULATE as u64)? as usize;
    if !s.mip_open(index) {
        return Err(NOT_OPEN);
    }
    s.mip.phase = Some(Phase::Send { index, bytes: Vec::with_capacity(len) });
    ctx.rsp.raw(PROMPT);
    ctx.io.data_deadline(later(ctx.io.now, s.config.ftp.data_input.duration()));
    Ok(ctx.io.data(Owner::Socket, DataPhase::Fixed(len)))
}

/// `AT+MIPSEND?`: `+MIPSEND: <id>,<free>` for each open socket.
pub(super) fn send_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for index in (0..SOCKETS).filter(|&i| s.mip_open(i)) {
        let free = ACCUMULATE - s.mip.links[index].accumulated.len();
        ctx.rsp.line(format!("+MIPSEND: {},{free}", index + 1));
    }
    Ok(Reply::Ok)
}

/// `AT+MIPPUSH=<id>[,"<ip>",<port>]` (the address only for UDP, and it changes nothing: a
/// datagram goes to the socket's peer).
pub(super) fn push(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=3)?;
    let id = a.uint(0, 1..=SOCKETS as u64)?;
    let index = slot(id);
    if a.len() > 1 {
        a.quoted(1, 64)?;
        a.uint(2, 1..=65535)?;
    }
    if !s.mip_open(index) {
        return Err(NOT_OPEN);
    }
    if a.len() > 1 && s.mip.sockets.get(index).is_some_and(|slot| slot.protocol != Protocol::Udp) {
        return Err(BAD);
    }
    let status = if s.mip.links[index].accumulated.is_empty() {
        2
    } else {
        let bytes = std::mem::take(&mut s.mip.links[index].accumulated);
        match s.mip.sockets.send(index, &bytes, ctx.io) {
            Ok(()) => 0,
            Err(SendError::Full) => {
                s.mip.links[index].accumulated = bytes;
                1
            }
            Err(SendError::NotOpen) => return Err(NOT_OPEN),
        }
    };
    ctx.rsp.line(format!("+MIPPUSH: {id},{status}"));
    Ok(Reply::Ok)
}

/// Lower- or upper-case hex digits as bytes; `None` if there are none, an odd number, or
/// others.
fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    hex.chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

impl Fibocom {
    /// The bytes of `AT+MIPSEND=<id>,<len>` are in: to the socket after the stored ones.
    pub(super) fn send_end(
        &mut self,
        index: usize,
        bytes: Vec<u8>,
        rsp: &mut Response<'_>,
        io: &mut Io,
    ) -> Result<Reply, vmodem_at::Failure> {
        if !self.mip_open(index) {
            return Err(NOT_OPEN);
        }
        let mut out = std::mem::take(&mut self.mip.links[index].accumulated);
        out.extend_from_slice(&bytes);
        self.hand_over(index, out, io);
        rsp.line(format!("+MIPSEND: {},0,{ACCUMULATE}", index + 1));
        Ok(Reply::Ok)
    }

    /// Gives `bytes` to socket `index`; what its send buffer has no room for is held, and
    /// the line waits, until the socket has taken what it had.
    fn hand_over(&mut self, index: usize, bytes: Vec<u8>, io: &mut Io) {
        let link = &mut self.mip.links[index];
        link.owed = true;
        if let Err(SendError::Full) = self.mip.sockets.send(index, &bytes, io) {
            link.held = bytes;
        }
    }

    /// Everything handed to socket `index` has gone into it: the ACK report if asked for,
    /// the held bytes next, or the `+MIPPUSH` that was due.
    pub(super) fn socket_sent(&mut self, index: usize, io: &mut Io) {
        let id = index + 1;
        if self.mip.confs[index].ack_reports {
            let gone = self.mip.sockets.get(index).map_or(0, |slot| slot.gone);
            io.urc(format!("+MIPSTAT: {id},0,{gone}"));
        }
        let held = std::mem::take(&mut self.mip.links[index].held);
        if !held.is_empty() {
            return self.hand_over(index, held, io);
        }
        if std::mem::take(&mut self.mip.links[index].owed) {
            io.urc(format!("+MIPPUSH: {id},0"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_hex;

    #[test]
    fn hex_in_either_case_and_nothing_else() {
        assert_eq!(decode_hex(b"00fF10"), Some(vec![0x00, 0xff, 0x10]));
        assert_eq!(decode_hex(b"0"), None);
        assert_eq!(decode_hex(b""), None);
        assert_eq!(decode_hex(b"0g"), None);
    }
}
