//! Transparent mode (M800 §8.2.22 `AT+CIPMODE`, TCP800 §2.2; M800 §2.2.12 `+++`, §2.2.13
//! `ATO`). With `AT+CIPMODE=1` (single connection only) the connection `AT+CIPSTART` opens
//! answers `CONNECT` and the line becomes the connection: what the host sends goes to the
//! peer, what the peer sends comes out as it is. `+++` with a second of silence before and
//! after (and at most a second between the pluses) goes back to commands with `OK`, the
//! connection staying up; `ATO` returns with `CONNECT`. When the peer closes, the line leaves
//! online data with `CLOSED`; in command mode `CLOSED` is a URC.
//!
//! The host's bytes wait in a buffer of [`HOLD_MAX`] bytes for room in the connection's send
//! buffer (the line stops being read while it is full, as a module drops CTS); the peer's
//! wait in the connection's receive buffer while the line is in command mode.

use std::time::Duration;

use vmodem_at::{Command, DataPhase, Failure, Reply};

use super::{Context, Simcom, flag_write};
use crate::dialect::args::Args;
use crate::dialect::sockets::{Protocol, State};
use crate::dialect::{Ctx, Io, Outcome, Owner};

/// The silence before and after `+++` (M800 §2.2.12: one second).
const GUARD: Duration = Duration::from_secs(1);
/// Host bytes held for the connection before the line stops being read.
const HOLD_MAX: usize = 16 * 1024;
/// The most bytes carried to the line at once, so it is written out between pieces.
const CARRY_MAX: usize = 64 * 1024;
/// The online phase's data: everything up to the escape.
const ONLINE: DataPhase = DataPhase::Online { escape: b'+' };

/// Transparent mode's connection.
#[derive(Debug, Default)]
pub(super) struct Online {
    /// Whether the line is online (not after `+++`).
    pub(super) active: bool,
    /// Host bytes not yet in the connection's send buffer.
    held: Vec<u8>,
}

impl Online {
    /// Takes host bytes.
    pub(super) fn take(&mut self, payload: &[u8]) {
        self.held.extend_from_slice(payload);
    }

    /// Whether the line must stop being read.
    pub(super) fn full(&self) -> bool {
        self.held.len() >= HOLD_MAX
    }
}

/// `AT+CIPMODE=<0|1>`: only in `IP INITIAL`, and 1 only with a single connection.
pub(super) fn cipmode(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let on = Args::of(cmd, Failure::Plain).uint(0, 0..=1)? == 1;
    if s.gprs.state != Context::Initial || (on && s.cip.settings.mux) {
        return Err(Failure::Plain);
    }
    flag_write(s, cmd, ctx)
}

/// `ATO`: back to online data with `CONNECT`, if transparent mode's connection is open and the
/// line left it with `+++`; `ERROR` otherwise (V.250 §6.3.7).
pub(in crate::dialect::simcom) fn ato(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let open = s.cip_connected(0);
    let Some(online) = s.cip.online.as_mut().filter(|o| open && !o.active) else { return Err(Failure::Plain) };
    online.active = true;
    s.cip.now = Some(ctx.io.now);
    ctx.rsp.line("CONNECT");
    ctx.io.data_idle(GUARD);
    Ok(ctx.io.data(Owner::Socket, ONLINE))
}

impl Simcom {
    /// Transparent mode's connection opened: `CONNECT`, and the line goes online.
    pub(super) fn go_online(&mut self, io: &mut Io) {
        self.cip.online = Some(Online { active: true, held: Vec::new() });
        io.urc("CONNECT");
        io.open_data(Owner::Socket, ONLINE);
        io.data_idle(GUARD);
    }

    /// The host escaped with `+++`: command mode, the connection stays; `OK`.
    pub(super) fn escaped(&mut self) -> Reply {
        if let Some(online) = &mut self.cip.online {
            online.active = false;
        }
        Reply::Ok
    }

    /// Transparent mode's connection ended: online, what it received goes out, then the line
    /// leaves online data with `CLOSED`; in command mode `CLOSED` is a URC.
    pub(super) fn online_closed(&mut self, io: &mut Io) {
        let Some(online) = self.cip.online.take() else { return };
        if online.active {
            let data = self.cip.sockets.receive(0, super::RECEIVE_BUFFER);
            if !data.is_empty() {
                io.raw(data);
            }
            io.resume();
        } else {
            io.urc("CLOSED");
        }
        if let Some(link) = &mut self.cip.links[0] {
            link.notice = false;
        }
    }

    /// Whether transparent mode has bytes to carry that can move now: host bytes with room in
    /// the send buffer, or received bytes while the line is online.
    pub(super) fn online_due(&self) -> bool {
        let (Some(online), Some(slot)) = (&self.cip.online, self.cip.sockets.get(0)) else { return false };
        let open = matches!(slot.state, State::Open { .. });
        (open && !online.held.is_empty() && slot.room() > 0) || (online.active && slot.waiting() > 0)
    }

    /// Carries transparent mode's bytes: the host's into the connection as far as it has room
    /// (a datagram at most [`super::SEND_MAX`] bytes for UDP), the peer's to the line while
    /// online.
    pub(super) fn carry(&mut self, io: &mut Io) {
        let Some(online) = &mut self.cip.online else { return };
        if let Some(slot) = self.cip.sockets.get(0) {
            let room = match slot.protocol {
                Protocol::Tcp => slot.room(),
                Protocol::Udp => slot.room().min(super::SEND_MAX),
            };
            let n = online.held.len().min(room);
            if n > 0 && self.cip.sockets.send(0, &online.held[..n], io).is_ok() {
                online.held.drain(..n);
            }
        }
        if !online.active {
            return;
        }
        let mut carried = 0;
        while carried < CARRY_MAX {
            let data = self.cip.sockets.receive(0, CARRY_MAX - carried);
            if data.is_empty() {
                break;
            }
            carried += data.len();
            io.raw(data);
        }
    }
}
