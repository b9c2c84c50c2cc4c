//! The modem's side of the 27.010 multiplexer, IO-free: it takes the line's bytes, answers the
//! host's channel requests and control messages itself, and hands the channels' data up; the
//! channels' output goes down as UIH frames no longer than the N1 the host set.
//!
//! What it answers (TS 27.010 §5.4; the hosts are Zephyr's `modem_cmux` and esp-modem):
//! - SABM on DLCI 0 starts the multiplexer, on a DLCI the module has (1 to 4 on SIMCom
//!   modules) opens that channel: UA with F. On any other DLCI: DM with F.
//! - DISC on an open channel: UA, and the channel closes; on a closed one: DM. DISC on DLCI 0
//!   closes the multiplexer, as CLD does.
//! - On DLCI 0: MSC, Test, FCon, FCoff and PSC commands get their responses (MSC and Test echo
//!   the value); CLD gets its response and closes the multiplexer; any other command gets NSC;
//!   responses are taken silently.
//! - UIH (and UI) on an open channel is that channel's data, with either C/R (esp-modem sends
//!   its data with C/R 0); on a closed one it is dropped and counted.
//!
//! The modem is the responding station: its UA and DM carry C/R 1, its own UIH frames C/R 0.

use std::ops::RangeInclusive;

use super::frame::{Decoder, Frame, Kind, MAX_INFO, Message, message};

/// What the multiplexer tells the modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxEvent {
    /// The host opened this channel.
    Opened(u8),
    /// The host closed this channel.
    Closed(u8),
    /// Bytes for this channel's AT interpreter (or its data mode).
    Data(u8, Vec<u8>),
    /// The multiplexer closed: the line is plain AT again.
    CloseDown,
}

/// The multiplexer of one line.
#[derive(Debug)]
pub struct Mux {
    decoder: Decoder,
    /// The longest information field the modem sends (N1).
    n1: usize,
    /// The channels the module has.
    channels: RangeInclusive<u8>,
    /// Whether DLCI 0 (the multiplexer) and each channel are open, by DLCI.
    open: [bool; 64],
    /// Bytes for the line.
    out: Vec<u8>,
    /// Frames dropped for a channel that is not open.
    dropped: u64,
}

impl Mux {
    /// A multiplexer sending information fields of at most `n1` octets, with the channels
    /// `channels` (DLCI 0, the control channel, aside).
    pub fn new(n1: usize, channels: RangeInclusive<u8>) -> Mux {
        let n1 = n1.clamp(1, MAX_INFO);
        Mux { decoder: Decoder::new(MAX_INFO), n1, channels, open: [false; 64], out: Vec::new(), dropped: 0 }
    }

    /// Whether the channel `dlci` is open.
    pub fn is_open(&self, dlci: u8) -> bool {
        self.open.get(usize::from(dlci)).copied().unwrap_or(false)
    }

    /// Frames the decoder discarded, and frames dropped for a closed channel.
    pub fn discarded(&self) -> u64 {
        self.decoder.discarded() + self.dropped
    }

    /// Takes the line's bytes; what they mean for the modem goes to `events`.
    pub fn receive(&mut self, bytes: &[u8], events: &mut Vec<MuxEvent>) {
        let mut frames = Vec::new();
        self.decoder.decode(bytes, &mut frames);
        for frame in frames {
            if self.open[0] || (frame.dlci == 0 && frame.kind == Kind::Sabm) {
                self.frame(frame, events);
            } else {
                self.dropped += 1;
            }
            if !self.open[0] && events.last() == Some(&MuxEvent::CloseDown) {
                // The line is plain AT from here. Hosts wait for the close-down's answer before
                // they type, so frames of the same read that follow it are dropped.
                return;
            }
        }
    }

    fn frame(&mut self, frame: Frame, events: &mut Vec<MuxEvent>) {
        let dlci = frame.dlci;
        match frame.kind {
            Kind::Sabm if dlci == 0 || self.channels.contains(&dlci) => {
                self.respond(dlci, Kind::Ua);
                if !std::mem::replace(&mut self.open[usize::from(dlci)], true) && dlci != 0 {
                    events.push(MuxEvent::Opened(dlci));
                }
            }
            Kind::Sabm => self.respond(dlci, Kind::Dm),
            Kind::Disc if dlci == 0 => {
                self.respond(0, Kind::Ua);
                self.close_down(events);
            }
            Kind::Disc if self.is_open(dlci) => {
                self.respond(dlci, Kind::Ua);
                self.open[usize::from(dlci)] = false;
                events.push(MuxEvent::Closed(dlci));
            }
            Kind::Disc => self.respond(dlci, Kind::Dm),
            Kind::Uih | Kind::Ui if dlci == 0 => self.control(&frame.info, events),
            Kind::Uih | Kind::Ui if self.is_open(dlci) => {
                if !frame.info.is_empty() {
                    events.push(MuxEvent::Data(dlci, frame.info));
                }
            }
            // A response of the host's, or data for a closed channel.
            _ => self.dropped += 1,
        }
    }

    /// Messages on the control channel.
    fn control(&mut self, info: &[u8], events: &mut Vec<MuxEvent>) {
        let Some(messages) = Message::parse_all(info) else {
            self.dropped += 1;
            return;
        };
        for m in messages.into_iter().filter(|m| m.command) {
            match m.kind {
                message::MSC | message::TEST => self.send_control(Message { command: false, ..m }),
                message::FCON | message::FCOFF | message::PSC => {
                    self.send_control(Message { command: false, value: Vec::new(), ..m })
                }
                message::CLD => {
                    self.send_control(Message { command: false, value: Vec::new(), ..m });
                    self.close_down(events);
                    return;
                }
                other => {
                    let rejected = other | 0x03;
                    self.send_control(Message { kind: message::NSC, command: false, value: vec![rejected] });
                }
            }
        }
    }

    fn close_down(&mut self, events: &mut Vec<MuxEvent>) {
        self.open = [false; 64];
        events.push(MuxEvent::CloseDown);
    }

    fn respond(&mut self, dlci: u8, kind: Kind) {
        Frame { dlci, cr: true, kind, pf: true, info: Vec::new() }.encode(&mut self.out);
    }

    fn send_control(&mut self, message: Message) {
        Frame { dlci: 0, cr: false, kind: Kind::Uih, pf: false, info: message.encode() }.encode(&mut self.out);
    }

    /// Sends `data` on channel `dlci` in UIH frames of at most N1 octets; nothing if the
    /// channel is not open (as a module's closed channel says nothing).
    pub fn send(&mut self, dlci: u8, data: &[u8]) {
        if !self.is_open(dlci) {
            return;
        }
        for piece in data.chunks(self.n1) {
            Frame { dlci, cr: false, kind: Kind::Uih, pf: false, info: piece.to_vec() }.encode(&mut self.out);
        }
    }

    /// Sends the modem's own MSC command for channel `dlci` (ready to send and receive, data
    /// valid), as modules do once a channel opens.
    pub fn announce(&mut self, dlci: u8) {
        let value = vec![(dlci << 2) | 0x03, 0x8D];
        self.send_control(Message { kind: message::MSC, command: true, value });
    }

    /// Whether bytes wait for the line.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// The bytes for the line, if any.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
    }

    fn host(mux: &mut Mux, frames: &str) -> (Vec<MuxEvent>, Vec<u8>) {
        let mut events = Vec::new();
        mux.receive(&hex(frames), &mut events);
        (events, mux.take_output())
    }

    /// Zephyr's `modem_cmux` with a SIM7080 (`AT+CMUX=0,0,5,127`): DLCI 0, then 1 and 2, each
    /// followed by its MSC; AT on DLCI 1; close-down.
    #[test]
    fn zephyr_s_sequence_opens_two_channels_and_closes_down() {
        let mut mux = Mux::new(127, 1..=4);
        assert_eq!(host(&mut mux, "F9 03 3F 01 1C F9"), (vec![], hex("F9 03 73 01 D7 F9")));
        assert_eq!(host(&mut mux, "F9 07 3F 01 DE F9"), (vec![MuxEvent::Opened(1)], hex("F9 07 73 01 15 F9")));
        mux.announce(1);
        assert_eq!(mux.take_output(), hex("F9 01 EF 09 E3 05 07 8D 9A F9"), "the modem's own MSC");
        let (events, out) = host(&mut mux, "F9 03 EF 09 E3 05 07 8D FB F9");
        assert_eq!((events, out), (vec![], hex("F9 01 EF 09 E1 05 07 8D 9A F9")), "the MSC response");
        assert_eq!(host(&mut mux, "F9 0B 3F 01 59 F9"), (vec![MuxEvent::Opened(2)], hex("F9 0B 73 01 92 F9")));
        let (events, out) = host(&mut mux, "F9 07 EF 07 41 54 0D D3 F9");
        assert_eq!((events, out), (vec![MuxEvent::Data(1, b"AT\r".to_vec())], vec![]));
        mux.send(1, b"\r\nOK\r\n");
        assert_eq!(mux.take_output(), hex("F9 05 EF 0D 0D 0A 4F 4B 0D 0A 5F F9"));
        let (events, out) = host(&mut mux, "F9 03 EF 05 C3 01 F2 F9");
        assert_eq!((events, out), (vec![MuxEvent::CloseDown], hex("F9 01 EF 05 C1 01 93 F9")));
        assert!(!mux.is_open(1) && !mux.is_open(0));
    }

    /// esp-modem (`AT+CMUX=0`): data with C/R 0, DISC 1 and 2, then CLD.
    #[test]
    fn esp_modem_s_sequence_and_its_data_with_cr_zero() {
        let mut mux = Mux::new(127, 1..=4);
        host(&mut mux, "F9 03 3F 01 1C F9 F9 07 3F 01 DE F9 F9 0B 3F 01 59 F9");
        let (events, _) = host(&mut mux, "F9 05 EF 07 41 54 0D B2 F9");
        assert_eq!(events, [MuxEvent::Data(1, b"AT\r".to_vec())]);
        let (events, out) = host(&mut mux, "F9 07 53 01 3F F9");
        assert_eq!((events, out), (vec![MuxEvent::Closed(1)], hex("F9 07 73 01 15 F9")));
        assert_eq!(host(&mut mux, "F9 07 53 01 3F F9").1, hex("F9 07 1F 01 F4 F9"), "DM: not open");
        mux.send(1, b"lost");
        assert!(mux.take_output().is_empty(), "a closed channel says nothing");
        let (events, _) = host(&mut mux, "F9 03 EF 05 C3 01 F2 F9");
        assert_eq!(events, [MuxEvent::CloseDown], "every channel closes with the multiplexer");
        assert!(!mux.is_open(2));
    }

    #[test]
    fn unknown_channels_and_commands_are_refused_and_long_output_is_split_at_n1() {
        let mut mux = Mux::new(16, 1..=4);
        host(&mut mux, "F9 03 3F 01 1C F9");
        let mut sabm5 = Vec::new();
        Frame { dlci: 5, cr: true, kind: Kind::Sabm, pf: true, info: vec![] }.encode(&mut sabm5);
        let mut events = Vec::new();
        mux.receive(&sabm5, &mut events);
        let mut dm5 = Vec::new();
        Frame { dlci: 5, cr: true, kind: Kind::Dm, pf: true, info: vec![] }.encode(&mut dm5);
        assert_eq!((events, mux.take_output()), (vec![], dm5));
        // PN (0x83): not supported, NSC names it.
        let pn = Message { kind: message::PN, command: true, value: vec![1, 0, 0, 0, 0x7F, 0, 0, 0] };
        let mut frame = Vec::new();
        Frame { dlci: 0, cr: true, kind: Kind::Uih, pf: false, info: pn.encode() }.encode(&mut frame);
        let mut events = Vec::new();
        mux.receive(&frame, &mut events);
        assert_eq!(mux.take_output(), hex("F9 01 EF 07 11 03 83 70 F9"));
        host(&mut mux, "F9 07 3F 01 DE F9");
        mux.send(1, &[b'x'; 40]);
        let mut frames = Vec::new();
        Decoder::new(MAX_INFO).decode(&mux.take_output(), &mut frames);
        assert_eq!(frames.iter().map(|f| f.info.len()).collect::<Vec<_>>(), [16, 16, 8]);
        // Before the multiplexer starts, frames are dropped.
        let mut fresh = Mux::new(127, 1..=4);
        assert_eq!(host(&mut fresh, "F9 07 3F 01 DE F9"), (vec![], vec![]));
        assert_eq!(fresh.discarded(), 1);
    }
}
