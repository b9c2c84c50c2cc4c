//! Received data (M800 §8.2.15, §8.2.20, §8.2.24, §8.2.26). By default it is pushed to the
//! line as it comes: in multi-connection mode behind `+RECEIVE,<n>,<len>:` and a line break,
//! in single-connection mode bare or, with `AT+CIPHEAD=1`, behind `+IPD,<len>:`
//! (`+IPD,<len>,TCP:` with `AT+CIPSHOWTP=1`); `AT+CIPSRIP=1` puts `RECV FROM:<ip>:<port>`
//! before it. Pushes go out in pieces of at most [`PIECE`] bytes and hold back while the line
//! has a backlog behind a response, so the connection's buffer fills and its socket waits.
//!
//! With `AT+CIPRXGET=1` the module says `+CIPRXGET: 1[,<n>]` when data comes into an empty
//! buffer and keeps it for `AT+CIPRXGET=2` (bytes), `=3` (hex) and `=4` (how many wait).
//! `+CIPRXGET: 2,<n>,<read>,<left>`: the bytes that follow, then the bytes still waiting, as
//! real modules count them (TINYGSM's note on `modemRead`; the manual calls the third field
//! the requested length).

use std::fmt::Write as _;
use std::time::Duration;

use vmodem_at::{Command, Failure, Reply};

use super::{Link, Simcom};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome};

/// The most bytes one `AT+CIPRXGET=2` gives (M800 §8.2.26: 1-1460).
const READ_MAX: usize = 1460;
/// The most bytes one `AT+CIPRXGET=3` gives as hex (M800 §8.2.26: 1-730).
const HEX_MAX: usize = 730;
/// The most bytes one push frame carries (the `RxSize` maximum of M800 §8.2.23).
const PIECE: usize = 1460;
/// The most bytes pushed at once, so the line is written out between pushes.
const PUSH_MAX: usize = 64 * 1024;
/// Pushed bytes the line may hold behind a response before pushing waits.
const BACKLOG_MAX: usize = 16 * 1024;
/// How soon a push held back by the backlog tries again.
const RETRY: Duration = Duration::from_millis(10);

/// The test form: modes, ids (multi-connection mode) and lengths.
pub(super) fn test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let ids = if s.cip.settings.mux { format!("({}),", s.id_range()) } else { String::new() };
    ctx.rsp.line(format!("+CIPRXGET: (0-4),{ids}(1-{READ_MAX})"));
    Ok(Reply::Ok)
}

/// `AT+CIPRXGET=<mode>[,<n>][,<length>]`: 0 and 1 switch (before any connection opens), 2 and
/// 3 read, 4 counts.
pub(super) fn write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let mode = a.uint(0, 0..=4)?;
    if mode <= 1 {
        a.count(1..=1)?;
        if s.cip.links.iter().flatten().any(Link::busy) {
            return Err(Failure::Plain);
        }
        s.cip.settings.manual = mode == 1;
        return Ok(Reply::Ok);
    }
    let mux = s.cip.settings.mux;
    let first = 1 + usize::from(mux);
    a.count(first + usize::from(mode != 4)..=first + usize::from(mode != 4))?;
    let n = if mux { a.uint(1, 0..=s.links() as u64 - 1)? as usize } else { 0 };
    if !s.cip.settings.manual || s.cip.links[n].is_none() {
        return Err(Failure::Plain);
    }
    let id = if mux { format!("{n},") } else { String::new() };
    if mode == 4 {
        let left = s.cip.sockets.get(n).map_or(0, |slot| slot.waiting());
        ctx.rsp.line(s.profile.line("+CIPRXGET", format_args!("4,{id}{left}")));
        return Ok(Reply::Ok);
    }
    let max = if mode == 2 { READ_MAX } else { HEX_MAX };
    let wanted = a.uint(first, 1..=max as u64)? as usize;
    let data = s.cip.sockets.receive(n, wanted);
    let left = s.cip.sockets.get(n).map_or(0, |slot| slot.waiting());
    ctx.rsp.line(s.profile.line("+CIPRXGET", format_args!("{mode},{id}{},{left}", data.len())));
    if mode == 2 {
        ctx.rsp.raw(&data);
    } else {
        let mut hex = String::with_capacity(data.len() * 2);
        for b in &data {
            let _ = write!(hex, "{b:02X}");
        }
        ctx.rsp.raw(hex.as_bytes());
    }
    Ok(Reply::Ok)
}

impl Simcom {
    /// Whether received data is pushed to the line (neither read on request nor carried by
    /// transparent mode).
    pub(super) fn pushes(&self) -> bool {
        !self.cip.settings.manual && !self.cip.settings.transparent
    }

    /// Data came into connection `n`'s empty buffer.
    pub(super) fn cip_arrived(&mut self, n: usize, io: &mut Io) {
        if self.cip.settings.transparent {
            self.carry(io);
        } else if self.cip.settings.manual {
            let id = if self.cip.settings.mux { format!(",{n}") } else { String::new() };
            let remote = match (&self.cip.links[n], self.cip.settings.show_remote) {
                (Some(link), true) => format!(",{}:{}", link.host, link.port),
                _ => String::new(),
            };
            io.urc(self.profile.line("+CIPRXGET", format_args!("1{id}{remote}")));
        } else {
            self.push_all(io);
        }
    }

    /// Pushes what the connections hold to the line, as far as the line's backlog allows
    /// (the rest waits for the retry), then says `CLOSED` for those the peer closed whose data
    /// is out.
    pub(super) fn push_all(&mut self, io: &mut Io) {
        if !self.pushes() {
            return;
        }
        if io.backlog >= BACKLOG_MAX {
            self.cip.retry = Some(io.now + RETRY);
            return;
        }
        let mut pushed = 0;
        for n in 0..self.links() {
            while pushed < PUSH_MAX {
                let data = self.cip.sockets.receive(n, PIECE);
                if data.is_empty() {
                    break;
                }
                pushed += data.len();
                let frame = self.push_frame(n, &data);
                io.raw(frame);
            }
        }
        if pushed >= PUSH_MAX {
            self.cip.retry = Some(io.now);
        }
        self.closed_notices(io);
    }

    /// One push of `data` from connection `n`, framed as the settings say.
    fn push_frame(&self, n: usize, data: &[u8]) -> Vec<u8> {
        let settings = &self.cip.settings;
        let mut frame = Vec::with_capacity(data.len() + 48);
        if let (Some(link), true) = (&self.cip.links[n], settings.show_remote) {
            frame.extend_from_slice(format!("\r\nRECV FROM:{}:{}\r\n", link.host, link.port).as_bytes());
        }
        if settings.mux {
            frame.extend_from_slice(format!("\r\n+RECEIVE,{n},{}:\r\n", data.len()).as_bytes());
        } else if settings.head {
            let protocol = match (&self.cip.links[n], settings.show_protocol) {
                (Some(link), true) => format!(",{}", link.proto()),
                _ => String::new(),
            };
            frame.extend_from_slice(format!("\r\n+IPD,{}{protocol}:", data.len()).as_bytes());
        }
        frame.extend_from_slice(data);
        frame
    }
}
