//! The module's AT interpreters: the plain line's, and, once the host has started 27.010
//! multiplexing (`AT+CMUX`), one per channel the host opens, each with its own line settings,
//! echo, command in progress and data phase, all speaking to the one dialect.
//!
//! - A channel starts with the settings the line had when `AT+CMUX` was given (the manuals
//!   do not say; hosts set `ATE0` before `AT+CMUX` and expect it to hold on the channels).
//! - A command's response, and the stream bytes of the data phase or pending command a
//!   service owns, go to the channel the command came on.
//! - URCs go to the lowest open channel that is not carrying data (the manuals do not say
//!   where; Zephyr's `modem_cellular` and esp-modem dial on DLCI 1 and listen for URCs on
//!   DLCI 2, which this rule serves); while none is open they are lost, as on a line nobody
//!   reads.
//! - The host's close-down (CLD, or DISC on DLCI 0) returns the line to plain AT, and so does
//!   a reboot.

use std::collections::BTreeMap;
use std::time::Duration;

use vmodem_at::Engine;

use crate::cmux::mux::{Mux, MuxEvent};
use crate::dialect::Owner;

/// Names an interpreter: [`LINE`], or the DLCI of a channel.
pub type ChannelId = u8;

/// The plain line's interpreter (DLCI 0 is the multiplexer's own, never an AT channel).
pub const LINE: ChannelId = 0;

/// The DLCIs a host can open as AT channels (SIM7080 and SIM800 manuals, `AT+CMUX`: "DLCI 1-4,
/// all 27.007 and 27.005").
const DLCIS: std::ops::RangeInclusive<u8> = 1..=4;

/// One AT interpreter and what is in progress on it.
#[derive(Debug)]
pub struct Channel {
    /// Its line discipline.
    pub engine: Engine,
    /// The service that owns the data phase or pending command in progress.
    pub owner: Option<Owner>,
    /// Set while the data input timer moves on with every host byte.
    pub data_idle: Option<Duration>,
}

impl Channel {
    fn new(engine: Engine) -> Channel {
        Channel { engine, owner: None, data_idle: None }
    }
}

/// The multiplexer and its open channels.
#[derive(Debug)]
struct Multiplexer {
    mux: Mux,
    open: BTreeMap<ChannelId, Channel>,
}

/// Every interpreter of the module.
#[derive(Debug)]
pub struct Channels {
    line: Channel,
    mux: Option<Multiplexer>,
}

impl Channels {
    /// The plain line's interpreter alone.
    pub fn new(engine: Engine) -> Channels {
        Channels { line: Channel::new(engine), mux: None }
    }

    /// The plain line's interpreter (its settings are the line's rate and frame).
    pub fn line(&self) -> &Channel {
        &self.line
    }

    /// Whether the line is multiplexed.
    pub fn multiplexed(&self) -> bool {
        self.mux.is_some()
    }

    /// The interpreter `id`, if it is live.
    pub fn get(&self, id: ChannelId) -> Option<&Channel> {
        match &self.mux {
            None => (id == LINE).then_some(&self.line),
            Some(m) => m.open.get(&id),
        }
    }

    /// The interpreter `id`, to drive, if it is live.
    pub fn get_mut(&mut self, id: ChannelId) -> Option<&mut Channel> {
        match &mut self.mux {
            None => (id == LINE).then_some(&mut self.line),
            Some(m) => m.open.get_mut(&id),
        }
    }

    /// The live interpreters: the line's, or the open channels'.
    pub fn ids(&self) -> Vec<ChannelId> {
        match &self.mux {
            None => vec![LINE],
            Some(m) => m.open.keys().copied().collect(),
        }
    }

    /// Where URCs go now, if anywhere (see the module docs).
    pub fn urc_channel(&self) -> Option<ChannelId> {
        let Some(m) = &self.mux else { return Some(LINE) };
        let idle = m.open.iter().find(|(_, c)| !c.engine.in_data_phase()).map(|(id, _)| *id);
        idle.or_else(|| m.open.keys().next().copied())
    }

    /// Where the output of `owner`'s work goes: the channel where it owns the command or
    /// data phase in progress, else where URCs go.
    pub fn of(&self, owner: Option<Owner>) -> Option<ChannelId> {
        let owning = |c: &Channel| owner.is_some() && c.owner == owner;
        let found = match &self.mux {
            None => owning(&self.line).then_some(LINE),
            Some(m) => m.open.iter().find(|(_, c)| owning(c)).map(|(id, _)| *id),
        };
        found.or_else(|| self.urc_channel())
    }

    /// Starts multiplexing: the modem's frames carry at most `n1` octets of information.
    pub fn multiplex(&mut self, n1: usize) {
        tracing::info!(target: "vmodem::cmux", "multiplexing, N1 {n1}");
        self.mux = Some(Multiplexer { mux: Mux::new(n1, DLCIS), open: BTreeMap::new() });
    }

    /// Takes the line's bytes while multiplexed: channels open and close here; the channels'
    /// bytes go to `data`, in order, for their interpreters, and the channels that closed (all
    /// of them at the close-down) to `closed`, for what was in progress on them to end.
    pub fn demultiplex(&mut self, bytes: &[u8], data: &mut Vec<(ChannelId, Vec<u8>)>, closed: &mut Vec<Channel>) {
        let Some(m) = &mut self.mux else { return };
        let mut events = Vec::new();
        m.mux.receive(bytes, &mut events);
        for event in events {
            match event {
                MuxEvent::Opened(dlci) => {
                    tracing::info!(target: "vmodem::cmux", "channel {dlci} open");
                    m.open.insert(dlci, Channel::new(self.line.engine.channel()));
                    m.mux.announce(dlci);
                }
                MuxEvent::Closed(dlci) => {
                    tracing::info!(target: "vmodem::cmux", "channel {dlci} closed");
                    if let Some(channel) = m.open.remove(&dlci) {
                        closed.push(channel);
                    }
                }
                MuxEvent::Data(dlci, bytes) => data.push((dlci, bytes)),
                MuxEvent::CloseDown => {
                    tracing::info!(target: "vmodem::cmux", "multiplexer closed: plain AT again");
                    // Its answer goes out before the line turns plain.
                    let last = m.mux.take_output();
                    self.line.engine.raw(last);
                    closed.extend(std::mem::take(&mut m.open).into_values());
                    self.mux = None;
                    return;
                }
            }
        }
    }

    /// Whether any interpreter or the multiplexer has bytes for the line.
    pub fn has_output(&self) -> bool {
        self.line.engine.has_output()
            || self.mux.as_ref().is_some_and(|m| m.open.values().any(|c| c.engine.has_output()) || m.mux.has_output())
    }

    /// Moves the bytes for the line to the end of `out` (see [`Engine::take_output_into`]):
    /// the plain line's as they are (the `OK` of `AT+CMUX` comes before the first frame), then
    /// each channel's in UIH frames.
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        self.line.engine.take_output_into(out);
        if let Some(m) = &mut self.mux {
            for (dlci, channel) in &mut m.open {
                if channel.engine.has_output() {
                    m.mux.send(*dlci, &channel.engine.take_output());
                }
            }
            out.extend(m.mux.take_output());
        }
    }

    /// A power cycle: the line is plain AT again, its interpreter reset. What the channels
    /// printed last (the `OK` of `AT+CFUN=1,1`) still goes out, framed.
    pub fn reset(&mut self) {
        let mut last = Vec::new();
        if self.mux.is_some() {
            self.take_output(&mut last);
        }
        self.mux = None;
        self.line.engine.reset();
        self.line.engine.raw(last);
        self.line.owner = None;
        self.line.data_idle = None;
    }
}
