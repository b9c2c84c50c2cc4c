//! Receiving: what a socket receives reaches the host as `AT+GTSET="IPRFMT",<n>` says (FIB-RS
//! quoting the L610 manual, RTT-L610; D22, D23):
//!
//! | n | the host gets |
//! | --- | --- |
//! | 0 (power-on) | `+MIPRTCP: <id>,<len>,<hex>`, UDP `+MIPRUDP: <ip>,<port>,<id>,<len>,<hex>` |
//! | 1 | the bytes alone, nothing around them |
//! | 2 | `+MIPRTCP: <id>,<len>,<bytes>` (UDP likewise), the bytes raw |
//! | 5 | `+MIPREAD: <id>,<len>`; the host reads with `AT+MIPREAD=<id>,<len>`: `+MIPDATA: <id>,<len>`, the bytes, `OK` |
//!
//! In the pushed formats (0, 1, 2) the bytes go out as they come, at most 1024 to a URC (a
//! UDP datagram whole), and hold back while the line has a backlog; in the read format they
//! wait in the socket's receive buffer, which stops the socket being read when full. Data
//! goes to the line as stream bytes ([`Io::raw`]), so it is never dropped or reordered by a
//! URC rule.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use vmodem_at::{Command, Failure, Reply};

use super::super::Fibocom;
use super::{BAD, NOT_OPEN, RECEIVE_BUFFER, SOCKETS, slot};
use crate::dialect::args::Args;
use crate::dialect::sockets::{Protocol, State};
use crate::dialect::{Ctx, Io, Outcome};

/// The most bytes one `+MIPRTCP` URC carries (2048 hex digits).
const FRAME_MAX: usize = 1024;
/// The digits of the hex format.
const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";
/// Stream bytes the line may hold behind a response before delivery waits.
const BACKLOG_MAX: usize = 64 * 1024;
/// The most one delivery moves before the line is written out.
const PUMP_MAX: usize = 64 * 1024;
/// How soon a delivery held back by the backlog tries again.
const RETRY: Duration = Duration::from_millis(10);

/// How received data reaches the host (`AT+GTSET="IPRFMT",<n>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// 0: URCs with the data in hex.
    #[default]
    Hex,
    /// 1: the bytes alone.
    Bare,
    /// 2: URCs with the data raw.
    Raw,
    /// 5: a notice; the host reads with `AT+MIPREAD`.
    Read,
}

impl Format {
    /// The format of `IPRFMT` value `n`, if it is one.
    pub fn of(n: u64) -> Option<Format> {
        match n {
            0 => Some(Format::Hex),
            1 => Some(Format::Bare),
            2 => Some(Format::Raw),
            5 => Some(Format::Read),
            _ => None,
        }
    }
}

/// `AT+MIPREAD=<id>,<len>`: `+MIPDATA: <id>,<n>`, n raw bytes (at most len; a UDP read
/// takes one datagram), `OK`; `+MIPREAD: <id>,<left>` follows if bytes are left.
pub(super) fn read(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(2..=2)?;
    let id = a.uint(0, 1..=SOCKETS as u64)?;
    let len = a.uint(1, 1..=RECEIVE_BUFFER as u64)? as usize;
    let index = slot(id);
    if s.mip.sockets.get(index).is_none() {
        return Err(NOT_OPEN);
    }
    let bytes = s.mip.sockets.receive(index, len);
    ctx.rsp.line(format!("+MIPDATA: {id},{}", bytes.len()));
    ctx.rsp.raw(&bytes);
    s.mip.links[index].announced = false;
    s.deliver(index, ctx.io);
    Ok(Reply::Ok)
}

impl Fibocom {
    /// `AT+GTSET="IPRFMT",<n>`: bytes waiting are delivered the new way.
    pub(in crate::dialect::fibocom) fn set_receive_format(&mut self, n: u64, io: &mut Io) -> Result<(), Failure> {
        self.mip.format = Format::of(n).ok_or(BAD)?;
        for index in 0..SOCKETS {
            self.mip.links[index].announced = false;
            self.deliver(index, io);
        }
        Ok(())
    }

    /// Hands what socket `index` holds to the host as the format says; once it has ended and
    /// nothing is left, the host hears of that.
    pub(super) fn deliver(&mut self, index: usize, io: &mut Io) {
        let Some(slot) = self.mip.sockets.get(index) else { return };
        let waiting = slot.waiting();
        if self.mip.format == Format::Read {
            let link = &mut self.mip.links[index];
            if waiting > 0 && !link.announced {
                link.announced = true;
                io.urc(format!("+MIPREAD: {},{waiting}", index + 1));
            }
        } else if waiting > 0 {
            self.push_received(index, io);
        }
        self.finish_if_drained(index, io);
    }

    /// Moves received bytes of socket `index` to the line, at most [`PUMP_MAX`] at a time;
    /// schedules another go if bytes are left.
    fn push_received(&mut self, index: usize, io: &mut Io) {
        let Some(slot) = self.mip.sockets.get(index) else { return };
        let udp_peer = match (slot.protocol, slot.state) {
            (Protocol::Udp, State::Open { peer, .. }) => Some(peer),
            _ => None,
        };
        let held_back = io.backlog >= BACKLOG_MAX;
        let piece = if udp_peer.is_some() { RECEIVE_BUFFER } else { FRAME_MAX };
        let mut moved = 0;
        while !held_back && moved < PUMP_MAX {
            let bytes = self.mip.sockets.receive(index, piece);
            if bytes.is_empty() {
                break;
            }
            moved += bytes.len();
            io.raw(frame(self.mip.format, index + 1, udp_peer, &bytes));
        }
        if self.mip.sockets.get(index).is_some_and(|s| s.waiting() > 0) {
            let at = io.now + if held_back { RETRY } else { Duration::ZERO };
            self.mip.retry = Some(self.mip.retry.map_or(at, |r| r.min(at)));
        }
    }
}

/// The bytes one delivery of `data` from socket `id` puts on the line in a pushed format;
/// `udp_peer` is the sender of a datagram.
fn frame(format: Format, id: usize, udp_peer: Option<SocketAddr>, data: &[u8]) -> Vec<u8> {
    if format == Format::Bare {
        return data.to_vec();
    }
    let mut head = String::from("\r\n");
    match udp_peer {
        Some(peer) => {
            let _ = write!(head, "+MIPRUDP: {},{},{id},{},", peer.ip(), peer.port(), data.len());
        }
        None => {
            let _ = write!(head, "+MIPRTCP: {id},{},", data.len());
        }
    }
    let mut out = head.into_bytes();
    if format == Format::Hex {
        for b in data {
            out.extend([HEX_DIGITS[usize::from(b >> 4)], HEX_DIGITS[usize::from(b & 0x0f)]]);
        }
    } else {
        out.extend_from_slice(data);
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_in_each_pushed_format() {
        let peer = SocketAddr::from(([10, 0, 0, 7], 9000));
        assert_eq!(frame(Format::Hex, 2, None, b"\x00\xffA"), b"\r\n+MIPRTCP: 2,3,00FF41\r\n");
        assert_eq!(frame(Format::Raw, 2, None, b"a\r\nb"), b"\r\n+MIPRTCP: 2,4,a\r\nb\r\n");
        assert_eq!(frame(Format::Bare, 2, Some(peer), b"xy"), b"xy");
        assert_eq!(frame(Format::Hex, 1, Some(peer), b"ok"), b"\r\n+MIPRUDP: 10.0.0.7,9000,1,2,6F6B\r\n");
        assert_eq!(frame(Format::Raw, 1, Some(peer), b"ok"), b"\r\n+MIPRUDP: 10.0.0.7,9000,1,2,ok\r\n");
    }
}
