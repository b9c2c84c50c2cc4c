//! `AT+CIPSEND` and its results (M800 §8.2.3-§8.2.4). The command prompts `> ` and takes
//! the data: up to Ctrl-Z (ESC cancels, and `OK` follows), or exactly `<length>` bytes; at
//! most [`SEND_MAX`]. Then the bytes go to the connection and the command ends with
//! `DATA ACCEPT:<length>` at once (`AT+CIPQSEND=1`), or `SEND OK` once they have gone into
//! the network; `SEND FAIL` if the connection ended first. A send that finds the connection's
//! buffer full waits for room before it answers, and one whose `SEND OK` never comes gives up
//! after [`SEND_TIMEOUT`] (M800: "after 645 seconds, CLOSE will be reported").

use std::time::Duration;

use tokio::time::Instant;
use vmodem_at::{Command, DataEnd, DataPhase, Failure, Reply};

use super::{LinkState, SEND_MAX, Simcom};
use crate::dialect::args::Args;
use crate::dialect::sockets::SendError;
use crate::dialect::{Ctx, Io, Outcome, Owner};

/// How long `SEND OK` may take before the send fails and the connection closes.
const SEND_TIMEOUT: Duration = Duration::from_secs(645);
/// Ctrl-Z: the end of a send's data.
const CTRL_Z: u8 = 0x1a;
/// ESC: cancels a send.
const ESC: u8 = 0x1b;

/// An `AT+CIPSEND` in progress.
#[derive(Debug)]
pub(super) struct Sending {
    /// The connection.
    pub(super) link: usize,
    /// The data, as the host sends it.
    data: Vec<u8>,
    stage: Stage,
}

/// Where a send is once the host's data is in.
#[derive(Debug, PartialEq, Eq)]
enum Stage {
    /// The host is sending the data.
    Prompt,
    /// The connection's buffer has no room for it yet.
    Room,
    /// Handed over; `SEND OK` when it has gone, or a failure by this time.
    Gone(Instant),
    /// The result is known; the command prints it when it resumes.
    Done(String),
}

impl Sending {
    /// Takes data-phase bytes.
    pub(super) fn take(&mut self, payload: &[u8]) {
        self.data.extend_from_slice(payload);
    }

    /// When the send gives up on its `SEND OK`.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::Gone(by) => Some(by),
            _ => None,
        }
    }
}

/// The test form: the length, with the ids in multi-connection mode.
pub(super) fn test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let ids = if s.cip.settings.mux { format!("({}),", s.id_range()) } else { String::new() };
    ctx.rsp.line(format!("+CIPSEND: {ids}{SEND_MAX}"));
    Ok(Reply::Ok)
}

/// The read form: how many bytes a send takes now, per connection in multi-connection mode
/// (0 for one that is not open).
pub(super) fn read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let size = |n: usize| if s.cip_connected(n) { SEND_MAX } else { 0 };
    if s.cip.settings.mux {
        for n in 0..s.links() {
            ctx.rsp.line(format!("+CIPSEND: {n},{}", size(n)));
        }
    } else {
        ctx.rsp.line(format!("+CIPSEND: {}", size(0)));
    }
    Ok(Reply::Ok)
}

/// `AT+CIPSEND` (single connection only): data up to Ctrl-Z.
pub(super) fn exec(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.cip.settings.mux {
        return Err(Failure::Plain);
    }
    s.send_start(0, None, ctx)
}

/// `AT+CIPSEND=<length>` (single), `AT+CIPSEND=<n>[,<length>]` (multi).
pub(super) fn write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let length = |i| a.uint(i, 1..=SEND_MAX as u64).map(|l| l as usize);
    if s.cip.settings.mux {
        a.count(1..=2)?;
        let n = a.uint(0, 0..=s.links() as u64 - 1)? as usize;
        let length = if a.len() == 2 { Some(length(1)?) } else { None };
        s.send_start(n, length, ctx)
    } else {
        a.count(1..=1)?;
        s.send_start(0, Some(length(0)?), ctx)
    }
}

impl Simcom {
    /// Whether connection `n` is open.
    pub(super) fn cip_connected(&self, n: usize) -> bool {
        self.cip.links[n].as_ref().is_some_and(|l| l.state == LinkState::Connected)
    }

    /// The prompt, then the data phase of a send on connection `n`: `length` bytes, or up to
    /// Ctrl-Z. Only on an open connection, and not in transparent mode.
    fn send_start(&mut self, n: usize, length: Option<usize>, ctx: &mut Ctx<'_, '_>) -> Outcome {
        if !self.cip_connected(n) || self.cip.settings.transparent {
            return Err(Failure::Plain);
        }
        self.cip.sending = Some(Sending { link: n, data: Vec::new(), stage: Stage::Prompt });
        let settings = ctx.rsp.settings();
        let prompt = [settings.s3(), settings.s4(), b'>', b' '];
        ctx.rsp.raw(&prompt);
        let phase = match length {
            Some(length) => DataPhase::Fixed(length),
            None => DataPhase::Terminated { end: CTRL_Z, cancel: Some(ESC), max: SEND_MAX },
        };
        Ok(ctx.io.data(Owner::Socket, phase))
    }

    /// The data is in (or the host cancelled): hand it over, and answer now or later.
    pub(super) fn send_end(&mut self, end: DataEnd, io: &mut Io) -> Reply {
        let Some(mut sending) = self.cip.sending.take() else { return Reply::Error(Failure::Plain) };
        if end == DataEnd::Incomplete {
            return Reply::Ok;
        }
        if sending.data.is_empty() {
            return Reply::Error(Failure::Plain);
        }
        self.hand_over(&mut sending, io);
        match sending.stage {
            Stage::Done(text) => Reply::Text(text),
            _ => {
                self.cip.sending = Some(sending);
                io.pending(Owner::Socket)
            }
        }
    }

    /// Gives the send's data to its connection if there is room: its result is then known
    /// (quick send) or waits for the data to go.
    fn hand_over(&mut self, sending: &mut Sending, io: &mut Io) {
        let n = sending.link;
        sending.stage = match self.cip.sockets.send(n, &sending.data, io) {
            Ok(()) if self.cip.settings.quick => Stage::Done(self.data_accept(n, sending.data.len())),
            Ok(()) => Stage::Gone(io.now + SEND_TIMEOUT),
            Err(SendError::Full) => Stage::Room,
            Err(SendError::NotOpen) => Stage::Done(self.tagged(n, "SEND FAIL")),
        };
    }

    /// `DATA ACCEPT:<length>` or `DATA ACCEPT:<n>,<length>` (the SIM7000 puts a space after
    /// the colon).
    fn data_accept(&self, n: usize, length: usize) -> String {
        let space = if self.profile.cip_accept_space { " " } else { "" };
        let id = if self.cip.settings.mux { format!("{n},") } else { String::new() };
        format!("DATA ACCEPT:{space}{id}{length}")
    }

    /// Connection `n`'s send buffer has been emptied: a send waiting for room hands its data
    /// over, one waiting for its data to go is done.
    pub(super) fn send_sent(&mut self, n: usize, io: &mut Io) {
        let Some(mut sending) = self.cip.sending.take_if(|s| s.link == n) else { return };
        match sending.stage {
            Stage::Room => self.hand_over(&mut sending, io),
            Stage::Gone(_) => sending.stage = Stage::Done(self.tagged(n, "SEND OK")),
            Stage::Prompt | Stage::Done(_) => {}
        }
        self.send_settle(sending, io);
    }

    /// Connection `n` ended: a send waiting on it fails.
    pub(super) fn send_link_closed(&mut self, n: usize, io: &mut Io) {
        let Some(mut sending) = self.cip.sending.take_if(|s| s.link == n) else { return };
        if matches!(sending.stage, Stage::Room | Stage::Gone(_)) {
            sending.stage = Stage::Done(self.tagged(n, "SEND FAIL"));
        }
        self.send_settle(sending, io);
    }

    /// A send whose `SEND OK` did not come in time fails, and its connection closes.
    pub(super) fn send_timeout(&mut self, io: &mut Io) {
        let Some(n) = self.cip.sending.as_ref().filter(|s| s.deadline().is_some_and(|by| by <= io.now)).map(|s| s.link)
        else {
            return;
        };
        let failed = Stage::Done(self.tagged(n, "SEND FAIL"));
        if let Some(sending) = &mut self.cip.sending {
            sending.stage = failed;
        }
        self.cip.sockets.close(n, io);
        self.cip_closed(n);
        io.urc(self.tagged(n, "CLOSED"));
        io.resume();
    }

    /// Keeps a send, and asks for the command to finish once its result is known.
    fn send_settle(&mut self, sending: Sending, io: &mut Io) {
        if matches!(sending.stage, Stage::Done(_)) {
            io.resume();
        }
        self.cip.sending = Some(sending);
    }

    /// The result of a send that waited.
    pub(super) fn send_result(sending: Sending) -> Reply {
        match sending.stage {
            Stage::Done(text) => Reply::Text(text),
            stage => {
                tracing::warn!(target: "vmodem::socket", "a send resumed before its result: {stage:?}");
                Reply::Error(Failure::Plain)
            }
        }
    }
}
