//! The IO-free line engine: host bytes in, response bytes out, commands handed one at a time
//! to an [`Executor`] (the dialect). It owns echo, framing, the URC queue and data phases.
//!
//! A line of several commands runs left to right and ends with one final result: `OK` when
//! every command succeeded, the first failure otherwise (the rest of the line is dropped).
//! URCs raised while a line runs, waits on a service, or collects a data phase are queued and
//! sent right after its final result, so none ever lands inside a response.
//!
//! Data phases ([`DataPhase`]) take the host's bytes after a prompt: a fixed count, a DLE/ETX
//! stream, text up to an end byte (Ctrl-Z) that a cancel byte (ESC) abandons, or online data
//! that flows both ways until the host escapes with `+++` framed by guard times. The engine
//! keeps no clock: for an online phase the driver calls [`Engine::data_timeout`] once the host
//! has been silent for the guard time (its input timer, re-armed by every host byte), and the
//! executor ends the phase from its side (the peer closed) through [`Engine::resume`].

use std::collections::VecDeque;

use crate::assemble::{Assembled, Assembler};
use crate::command::{Command, ParseError, parse_line};
use crate::dle::Unescaper;
use crate::frame::{self, Failure, ResultCode};
use crate::settings::{Limits, Settings};

/// The most URCs kept while a response is in progress; the oldest are dropped beyond it.
const URC_QUEUE_MAX: usize = 256;
/// The most host bytes kept while a command waits on a service; later bytes are dropped,
/// as a real module's UART buffer overflows.
const HELD_INPUT_MAX: usize = 64 * 1024;

/// Something unsolicited waiting for the line to be free.
#[derive(Debug)]
enum Unsolicited {
    /// A URC, framed when it goes out.
    Line(Vec<u8>),
    /// Stream bytes sent as they are (`AT+FTPETGET` data); never dropped.
    Raw(Vec<u8>),
}

/// How many escape characters make the online escape sequence (`+++`).
const ESCAPE_COUNT: u8 = 3;

/// The state of a data phase of `phase`.
fn data_state(phase: DataPhase, silent: bool) -> State {
    let input = match phase {
        DataPhase::Fixed(remaining) => Input::Fixed { remaining },
        DataPhase::Escaped => Input::Escaped(Unescaper::default()),
        DataPhase::Terminated { end, cancel, max } => Input::Terminated { end, cancel, left: max },
        DataPhase::Online { escape } => Input::Online { escape, held: 0, quiet: false },
    };
    State::Data { input, silent }
}

/// Queues a URC, dropping the oldest URC when the queue is full (as UNISOC firmware does).
fn push_urc(queue: &mut VecDeque<Unsolicited>, text: Vec<u8>) {
    if queue.len() >= URC_QUEUE_MAX
        && let Some(oldest) = queue.iter().position(|u| matches!(u, Unsolicited::Line(_)))
    {
        queue.remove(oldest);
    }
    queue.push_back(Unsolicited::Line(text));
}

/// How a command ended, as the executor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Success: the next command of the line runs, or `OK` ends the line.
    Ok,
    /// Failure: the line ends with `ERROR` / `+CME ERROR`.
    Error(Failure),
    /// The command printed its prompt and now takes a data phase from the host.
    Data(DataPhase),
    /// The result comes later, through [`Engine::resume`].
    Pending,
    /// Success whose last word is this text instead of `OK` (SIMCom's `SHUT OK`, the bare IP
    /// address `AT+CIFSR` answers): the line's final result if nothing follows, an information
    /// line if more commands follow (`AT+CIFSR;E0` ends with the `OK` of `E0`). Printed even
    /// under `ATQ1`: it carries information.
    Text(String),
}

/// Input the host sends after a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPhase {
    /// Exactly this many raw bytes (`AT+FTPPUT=2,<n>`, `AT+CFSWFILE`, `AT+HTTPDATA`).
    Fixed(usize),
    /// A DLE-escaped stream ended by a bare ETX (`AT+FTPETPUT=2`, Fibocom `AT+FTPSTOR`).
    Escaped,
    /// Raw bytes up to the byte `end` (`AT+CIPSEND` and `AT+CMGS` end with Ctrl-Z, 0x1A),
    /// which is not payload; the byte `cancel` (ESC, 0x1B) abandons the phase
    /// ([`DataEnd::Incomplete`]). The phase also ends, complete, once `max` bytes have come.
    /// While echo is on, the payload is echoed as it comes, as a terminal shows typed text.
    Terminated {
        /// The byte that ends the payload.
        end: u8,
        /// The byte that abandons it, if any.
        cancel: Option<u8>,
        /// The most payload bytes the phase takes.
        max: usize,
    },
    /// Online data (transparent mode): every host byte is payload, and stream bytes
    /// ([`Engine::raw`]) go to the host at once while URCs wait. The host leaves it with the
    /// escape sequence: three `escape` bytes (`+`) after a silence of the guard time, each
    /// within the guard time of the one before, and the guard time of silence after them
    /// (the driver reports each silence through [`Engine::data_timeout`]); the phase then
    /// ends complete and its result is printed even when it was opened without a command.
    /// Escape bytes that turn out not to be the sequence are payload, in order.
    Online {
        /// The escape character (`+`).
        escape: u8,
    },
}

/// How a data phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEnd {
    /// Every announced byte, the terminating ETX or end byte arrived, or the host escaped
    /// from online data.
    Complete,
    /// The host stopped sending before the end (the input timer ran out), or sent the cancel
    /// byte of a [`DataPhase::Terminated`] phase.
    Incomplete,
}

/// The dialect side of the engine: runs commands and takes data-phase payloads.
pub trait Executor {
    /// Runs one command. Information lines and prompts go through `rsp`.
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>) -> Reply;

    /// Takes payload bytes of the running data phase (already unescaped).
    fn data(&mut self, payload: &[u8]);

    /// Ends the running data phase and gives the command's result.
    fn data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>) -> Reply;

    /// The failure for a command that could not be parsed.
    fn malformed(&mut self, _err: &ParseError) -> Failure {
        Failure::Plain
    }

    /// The verbose text (AT+CMEE=2) of an error code, from the family's table.
    fn cme_text(&self, code: u16) -> Option<&'static str>;
}

/// What a command handler writes its response through, with access to the V.250 settings.
pub struct Response<'a> {
    out: &'a mut Vec<u8>,
    urcs: &'a mut VecDeque<Unsolicited>,
    settings: &'a mut Settings,
    stored: &'a mut Settings,
    factory: &'a Settings,
    first: bool,
}

impl Response<'_> {
    /// Writes an information line (framed per ATV, with the leading line break on the first).
    pub fn line(&mut self, text: impl AsRef<[u8]>) {
        frame::info(self.settings, self.first, text.as_ref(), self.out);
        self.first = false;
    }

    /// Writes bytes exactly as given (a payload after `+FTPGET: 2,<n>`).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Queues an unsolicited result code raised by this command; it follows the final result.
    pub fn urc(&mut self, text: impl Into<Vec<u8>>) {
        push_urc(self.urcs, text.into());
    }

    /// Queues stream bytes (see [`Engine::raw`]) raised by this command; they follow the
    /// final result, in order with its URCs.
    pub fn raw_after(&mut self, bytes: impl Into<Vec<u8>>) {
        self.urcs.push_back(Unsolicited::Raw(bytes.into()));
    }

    /// The current settings.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// The current settings, for commands that change them (`ATE0`, `AT+CMEE=1`).
    pub fn settings_mut(&mut self) -> &mut Settings {
        self.settings
    }

    /// `ATZ`: back to the stored profile.
    pub fn restore_profile(&mut self) {
        *self.settings = *self.stored;
    }

    /// `AT&F`: back to the factory profile.
    pub fn factory_defaults(&mut self) {
        *self.settings = *self.factory;
    }

    /// `AT&W`: store the current settings as the profile `ATZ` restores.
    pub fn store_profile(&mut self) {
        *self.stored = *self.settings;
    }
}

#[derive(Debug)]
enum State {
    /// Assembling the next command line.
    Idle,
    /// A command waits for [`Engine::resume`]; input is held.
    Pending,
    /// Collecting a data phase. A `silent` one was opened by [`Engine::open_data`], not by a
    /// command: its end prints no result code (but for an online phase's escape).
    Data { input: Input, silent: bool },
}

/// What a data phase in progress still takes.
#[derive(Debug)]
enum Input {
    /// This many more raw bytes.
    Fixed { remaining: usize },
    /// A DLE/ETX stream.
    Escaped(Unescaper),
    /// Bytes up to `end`, at most `left` more.
    Terminated { end: u8, cancel: Option<u8>, left: usize },
    /// Online data: `held` escape bytes not yet known to be payload; `quiet` once the host
    /// has been silent for the guard time.
    Online { escape: u8, held: u8, quiet: bool },
}

/// One modem's line discipline. See the module docs.
#[derive(Debug)]
pub struct Engine {
    settings: Settings,
    stored: Settings,
    factory: Settings,
    limits: Limits,
    asm: Assembler,
    state: State,
    rest: VecDeque<Result<Command, ParseError>>,
    last_line: Vec<u8>,
    held: Vec<u8>,
    urcs: VecDeque<Unsolicited>,
    out: Vec<u8>,
}

impl Engine {
    /// An engine starting from `factory` settings, with the family's line limits.
    pub fn new(factory: Settings, limits: Limits) -> Self {
        Engine {
            settings: factory,
            stored: factory,
            factory,
            limits,
            asm: Assembler::new(limits.line_chars),
            state: State::Idle,
            rest: VecDeque::new(),
            last_line: Vec::new(),
            held: Vec::new(),
            urcs: VecDeque::new(),
            out: Vec::new(),
        }
    }

    /// A second interpreter on the same line (a 27.010 channel): this one's current, stored
    /// and factory settings and limits, with nothing in progress.
    pub fn channel(&self) -> Engine {
        Engine { settings: self.settings, stored: self.stored, ..Engine::new(self.factory, self.limits) }
    }

    /// The current settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether a command line, a data phase or a pending command is in progress; URCs wait.
    pub fn busy(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// Whether a data phase is collecting input (the modem runs its input timer meanwhile).
    pub fn in_data_phase(&self) -> bool {
        matches!(self.state, State::Data { .. })
    }

    /// Takes the bytes to send to the host.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.take_output_into(&mut out);
        out
    }

    /// Moves the bytes to send to the host to the end of `out`. Into an empty `out` the
    /// buffers are swapped, not copied: a caller that clears `out` after writing it and hands
    /// it back gives the engine a buffer with room, so a steady run of responses allocates
    /// nothing.
    pub fn take_output_into(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            std::mem::swap(out, &mut self.out);
        } else {
            out.append(&mut self.out);
        }
    }

    /// Whether there are bytes to send.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// A power cycle of the line: stored settings, nothing in progress, queued URCs and
    /// partial input and the line `A/` repeats dropped. (Output not yet taken is kept.)
    pub fn reset(&mut self) {
        self.settings = self.stored;
        self.asm.reset();
        self.state = State::Idle;
        self.rest.clear();
        self.held.clear();
        self.urcs.clear();
        self.last_line.clear();
    }

    /// Queues an unsolicited result code; it goes out now if no response is in progress.
    pub fn urc(&mut self, text: impl Into<Vec<u8>>) {
        let text = text.into();
        if self.busy() {
            push_urc(&mut self.urcs, text);
        } else {
            frame::urc(&self.settings, &text, &mut self.out);
        }
    }

    /// Sends stream bytes exactly as given, in order with URCs and, like them, never inside
    /// a response: the module-to-host data of a transparent transfer (`AT+FTPETGET`). During
    /// an online data phase they go out at once: the line carries data both ways.
    pub fn raw(&mut self, bytes: impl Into<Vec<u8>>) {
        if self.busy() && !self.online() {
            self.urcs.push_back(Unsolicited::Raw(bytes.into()));
        } else {
            self.send_raw(bytes.into());
        }
    }

    /// Appends stream bytes to the output, taking the buffer itself when nothing is before
    /// them (the usual case while a stream runs: no copy).
    fn send_raw(&mut self, bytes: Vec<u8>) {
        if self.out.is_empty() {
            self.out = bytes;
        } else {
            self.out.extend_from_slice(&bytes);
        }
    }

    /// Whether an online data phase is in progress.
    fn online(&self) -> bool {
        matches!(self.state, State::Data { input: Input::Online { .. }, .. })
    }

    /// Bytes of stream data queued behind a response.
    pub fn raw_backlog(&self) -> usize {
        self.urcs.iter().map(|u| if let Unsolicited::Raw(b) = u { b.len() } else { 0 }).sum()
    }

    /// Feeds bytes from the host, running every command they complete.
    pub fn receive(&mut self, mut input: &[u8], exec: &mut impl Executor) {
        while !input.is_empty() {
            match &mut self.state {
                State::Pending => {
                    let room = HELD_INPUT_MAX.saturating_sub(self.held.len());
                    self.held.extend_from_slice(&input[..input.len().min(room)]);
                    return;
                }
                State::Data { .. } => {
                    let used = self.feed_data(input, exec);
                    input = &input[used..];
                }
                State::Idle => {
                    let (used, done) = self.asm.push(input, &self.settings, &mut self.out);
                    input = &input[used..];
                    match done {
                        None => {}
                        Some(Assembled::Line(body)) => {
                            self.last_line.clone_from(&body);
                            self.start_line(&body, exec);
                        }
                        Some(Assembled::Repeat) => {
                            let body = self.last_line.clone();
                            self.start_line(&body, exec);
                        }
                        Some(Assembled::Overlong) => self.finish(Err(Failure::Plain), exec),
                    }
                }
            }
        }
    }

    /// Completes a command that answered [`Reply::Pending`], or ends the data phase in
    /// progress from the executor's side (the peer of an online phase closed): `complete`
    /// writes what the module prints and gives its result, which is printed (for a data phase
    /// opened without a command too). Input not yet taken stays on the line. Does nothing if
    /// neither is in progress.
    pub fn resume<E: Executor>(&mut self, exec: &mut E, complete: impl FnOnce(&mut E, &mut Response<'_>) -> Reply) {
        if !self.busy() {
            return;
        }
        self.state = State::Idle;
        let reply = {
            let mut rsp = self.response();
            complete(exec, &mut rsp)
        };
        self.after(reply, exec);
        self.release_held(exec);
    }

    /// The modem's input timer ran out: the host has sent nothing for a while. A data phase
    /// ends incomplete, but an online one counts the silence as a guard time: after a whole
    /// escape sequence the phase ends (complete); escape bytes held before are payload after
    /// all; and the next escape byte may begin a sequence.
    pub fn data_timeout(&mut self, exec: &mut impl Executor) {
        match &mut self.state {
            State::Data { input: Input::Online { held, .. }, .. } if *held == ESCAPE_COUNT => {
                self.end_data(DataEnd::Complete, false, exec);
            }
            State::Data { input: Input::Online { escape, held, quiet }, .. } => {
                if *held > 0 {
                    exec.data(&vec![*escape; usize::from(*held)]);
                }
                *held = 0;
                *quiet = true;
            }
            State::Data { silent, .. } => {
                let silent = *silent;
                self.end_data(DataEnd::Incomplete, silent, exec);
            }
            State::Idle | State::Pending => {}
        }
    }

    fn response(&mut self) -> Response<'_> {
        Response {
            out: &mut self.out,
            urcs: &mut self.urcs,
            settings: &mut self.settings,
            stored: &mut self.stored,
            factory: &self.factory,
            first: true,
        }
    }

    fn start_line(&mut self, body: &[u8], exec: &mut impl Executor) {
        let commands = parse_line(body);
        if commands.len() > self.limits.commands {
            return self.finish(Err(Failure::Plain), exec);
        }
        self.rest = commands.into();
        self.run(exec);
    }

    /// Runs queued commands until the line ends or a command waits.
    fn run(&mut self, exec: &mut impl Executor) {
        loop {
            let Some(next) = self.rest.pop_front() else {
                return self.finish(Ok(None), exec);
            };
            let reply = match next {
                Ok(cmd) => exec.execute(&cmd, &mut self.response()),
                Err(err) => Reply::Error(exec.malformed(&err)),
            };
            match reply {
                Reply::Ok => continue,
                other => return self.after(other, exec),
            }
        }
    }

    /// Applies a command's reply: continue the line, end it, or wait.
    fn after(&mut self, reply: Reply, exec: &mut impl Executor) {
        match reply {
            Reply::Ok => self.run(exec),
            Reply::Error(f) => self.finish(Err(f), exec),
            Reply::Text(text) if self.rest.is_empty() => self.finish(Ok(Some(text)), exec),
            Reply::Text(text) => {
                frame::info(&self.settings, true, text.as_bytes(), &mut self.out);
                self.run(exec);
            }
            Reply::Pending => self.state = State::Pending,
            Reply::Data(DataPhase::Fixed(0)) => {
                let reply = exec.data_end(DataEnd::Complete, &mut self.response());
                self.after(reply, exec);
            }
            Reply::Data(phase) => self.state = data_state(phase, false),
        }
    }

    /// Passes data-phase input to the executor; returns how much input was used.
    fn feed_data(&mut self, input: &[u8], exec: &mut impl Executor) -> usize {
        let State::Data { input: phase, silent } = &mut self.state else {
            return 0;
        };
        let silent = *silent;
        let (used, ended) = match phase {
            Input::Fixed { remaining } => {
                let n = input.len().min(*remaining);
                exec.data(&input[..n]);
                *remaining -= n;
                (n, (*remaining == 0).then_some(DataEnd::Complete))
            }
            Input::Escaped(unescaper) => {
                let mut payload = Vec::with_capacity(input.len());
                let r = unescaper.push(input, &mut payload);
                exec.data(&payload);
                (r.consumed, r.ended.then_some(DataEnd::Complete))
            }
            Input::Terminated { end, cancel, left } => {
                let window = &input[..input.len().min(*left)];
                let stop = window.iter().position(|b| b == end || Some(*b) == *cancel);
                let payload = &window[..stop.unwrap_or(window.len())];
                exec.data(payload);
                if self.settings.echo {
                    self.out.extend_from_slice(payload);
                }
                *left -= payload.len();
                match stop {
                    Some(i) if input[i] == *end => (i + 1, Some(DataEnd::Complete)),
                    Some(i) => (i + 1, Some(DataEnd::Incomplete)),
                    None => (payload.len(), (*left == 0).then_some(DataEnd::Complete)),
                }
            }
            Input::Online { escape, held, quiet } => {
                let mut payload = Vec::with_capacity(input.len());
                for &b in input {
                    if *quiet && b == *escape && *held < ESCAPE_COUNT {
                        *held += 1;
                        continue;
                    }
                    payload.extend(std::iter::repeat_n(*escape, usize::from(*held)));
                    payload.push(b);
                    *held = 0;
                    *quiet = false;
                }
                if !payload.is_empty() {
                    exec.data(&payload);
                }
                (input.len(), None)
            }
        };
        if let Some(end) = ended {
            self.end_data(end, silent, exec);
        }
        used
    }

    /// Ends the data phase: the command's result, or for a silent phase only the URCs that
    /// waited.
    fn end_data(&mut self, end: DataEnd, silent: bool, exec: &mut impl Executor) {
        self.state = State::Idle;
        let reply = exec.data_end(end, &mut self.response());
        if silent {
            self.flush_urcs();
        } else {
            self.after(reply, exec);
        }
    }

    /// The line went away under a data phase (its 27.010 channel closed): the phase ends
    /// incomplete, and whatever it prints goes nowhere. Nothing happens outside a data phase.
    pub fn line_lost(&mut self, exec: &mut impl Executor) {
        if matches!(self.state, State::Data { .. }) {
            self.end_data(DataEnd::Incomplete, true, exec);
        }
    }

    /// Opens a data phase without a command (the L610 enters online data mode when its
    /// `+FTPSTOR: 2` URC says the server is ready): input goes to [`Executor::data`] until the
    /// phase ends, and its end prints no result code. Nothing happens unless the line is idle.
    pub fn open_data(&mut self, phase: DataPhase) {
        if matches!(self.state, State::Idle) {
            self.state = data_state(phase, true);
        }
    }

    /// Writes the line's final result and sends the URCs that waited for it.
    fn finish(&mut self, result: Result<Option<String>, Failure>, exec: &impl Executor) {
        self.rest.clear();
        self.state = State::Idle;
        match result {
            Ok(None) => frame::result(&self.settings, ResultCode::Ok, &mut self.out),
            Ok(Some(text)) => frame::info(&self.settings, true, text.as_bytes(), &mut self.out),
            Err(f) => frame::failure(&self.settings, f, |c| exec.cme_text(c), &mut self.out),
        }
        self.flush_urcs();
    }

    /// Sends the URCs and stream bytes that waited for the line.
    fn flush_urcs(&mut self) {
        while let Some(next) = self.urcs.pop_front() {
            match next {
                Unsolicited::Line(urc) => frame::urc(&self.settings, &urc, &mut self.out),
                Unsolicited::Raw(bytes) => self.send_raw(bytes),
            }
        }
    }

    /// Runs input that arrived while a command was pending.
    fn release_held(&mut self, exec: &mut impl Executor) {
        if !matches!(self.state, State::Pending) && !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.receive(&held, exec);
        }
    }
}
