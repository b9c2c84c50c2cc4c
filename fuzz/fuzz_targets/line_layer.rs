//! Fuzzes the IO-free line layer (`vmodem-at`): host bytes in arbitrary chunks, interleaved with
//! what the modem side does between them (URCs, completing a pending command, the data-phase
//! input timer, a power cycle), against a small executor that uses every kind of reply.
//!
//! Input format (so seeds can be plain AT lines): every byte is host input, except `0xFE k`:
//! `k = 0xFE` is a literal 0xFE byte; otherwise the host bytes so far are delivered as one
//! chunk and `k % 8` picks an operation: 1 a URC, 2 resume a pending command (the reply is
//! picked by `k / 8`), 3 the data-phase input timer, 4 a power cycle, anything else only ends the
//! chunk.
//!
//! Each input runs on two engines:
//! - `full`: the shared V.250 commands as they are (echo, ATV0, ATQ1, S3/S4/S5 may all change).
//! - `strict`: the same, except that E, V, Q and writes of S3/S4/S5 answer OK without effect, so
//!   the output has no echo and is framed with `<CR><LF>`, and can be split into items.
//!
//! Invariants:
//! 1. Nothing panics.
//! 2. The output stays within a fixed budget per input byte and per operation (no runaway).
//! 3. A URC raised by the modem side while a response is in progress is queued (no output);
//!    while idle it goes out at once, framed as `frame::urc` does.
//! 4. (`strict`) URC inside a response: the output, split at `<CR><LF>`, is a sequence of items.
//!    A response starts at an information line and ends at its final result (`OK`, `ERROR`,
//!    `+CME ERROR: ...`); a URC item (`!U<n>` from the modem side, `!X<n>` from a command) must
//!    never appear between the two. URCs come out in the order they were raised, and none is
//!    lost unless the queue overflowed or the modem was reset.
//! 5. Never wedged: after the input, ending every data phase by its timer and completing every
//!    pending command (as the modem would), a lone `<LF>` (ends any partial line; LF always
//!    terminates a line whatever S3 is) and then `AT<LF>` answers exactly the echo and the final
//!    result the current settings call for.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem_at::frame::{self, ResultCode};
use vmodem_at::v250::{self, SRegister, V250};
use vmodem_at::{
    Arg, Command, DataEnd, DataPhase, Engine, Executor, Failure, Form, Limits, Reply, Response, Settings, Syntax,
};

/// Small limits, so the fuzzer reaches them.
const LIMITS: Limits = Limits { line_chars: 120, commands: 8 };

const ROW: V250 = V250 {
    ipr_test: "+IPR: (),(9600,115200)",
    ipr_rates: &[0, 9600, 115200],
    ifc_test: "+IFC: (0-3),(0-2)",
    icf_test: "+ICF: (3),(0-3)",
    icf_formats: (3, 3),
    cmee_test: "+CMEE: (0-2)",
    s_registers: &[
        SRegister { number: 0, min: 0, max: 255, test: "S0: (0-255)" },
        SRegister { number: 3, min: 0, max: 127, test: "S3: (0-127)" },
        SRegister { number: 4, min: 0, max: 127, test: "S4: (0-127)" },
        SRegister { number: 5, min: 0, max: 127, test: "S5: (0-127)" },
        SRegister { number: 12, min: 0, max: 255, test: "S12: (0-255)" },
    ],
    bad_value: Failure::Cme(4),
};

/// The most output one command of [`Exec`] produces (information lines, its URCs, framing).
const PER_COMMAND: usize = 160;
/// Output allowed per input byte: its echo, and half of a line of commands (`A/` is 2 bytes).
const PER_BYTE: usize = 1 + LIMITS.commands * PER_COMMAND;
/// Output allowed per operation (a completed command, a URC, a final result).
const PER_OP: usize = 2 * PER_COMMAND;

#[derive(Default)]
struct Exec {
    strict: bool,
    /// URCs raised so far (their numbers run from 1).
    urcs: u32,
    data: usize,
}

impl Exec {
    fn urc(&mut self, tag: char) -> Vec<u8> {
        self.urcs += 1;
        format!("!{tag}{}", self.urcs).into_bytes()
    }
}

/// Commands the strict engine accepts without effect, so its framing stays known.
fn pinned(cmd: &Command) -> bool {
    let register = cmd.name.strip_prefix('S').and_then(|n| n.parse::<u8>().ok());
    cmd.syntax == Syntax::Basic
        && (matches!(cmd.name.as_str(), "E" | "V" | "Q")
            || (matches!(register, Some(3..=5)) && matches!(cmd.form, Form::Write(_))))
}

impl Executor for Exec {
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
        if self.strict && pinned(cmd) {
            return Reply::Ok;
        }
        if let Some(reply) = v250::execute(&ROW, cmd, rsp) {
            return reply;
        }
        let n = cmd.args().first().and_then(Arg::number);
        match cmd.name.as_str() {
            "+OK" | "D" => Reply::Ok,
            "+ERR" => Reply::Error(Failure::Plain),
            "+CME" => Reply::Error(Failure::Cme(n.unwrap_or(3) as u16)),
            "+INFO" => {
                rsp.line("+INFO: 1");
                rsp.line("+INFO: 2");
                Reply::Ok
            }
            "+RAW" => {
                rsp.line("+RAW: 3");
                rsp.raw(b"RAW\r\n");
                Reply::Ok
            }
            "+URC" => {
                for _ in 0..n.unwrap_or(1).min(4) {
                    let text = self.urc('X');
                    rsp.urc(text);
                }
                Reply::Ok
            }
            "+DATA" => {
                let n = n.unwrap_or(0) as usize;
                rsp.line(format!("+DATA: {n}"));
                Reply::Data(DataPhase::Fixed(n))
            }
            "+ESC" => {
                rsp.line("+ESC: go");
                Reply::Data(DataPhase::Escaped)
            }
            "+WAIT" => {
                rsp.line("+WAIT: start");
                Reply::Pending
            }
            _ => Reply::Error(Failure::Plain),
        }
    }

    fn data(&mut self, payload: &[u8]) {
        self.data = self.data.wrapping_add(payload.len());
    }

    fn data_end(&mut self, end: DataEnd, rsp: &mut Response<'_>) -> Reply {
        let text = self.urc('X');
        rsp.urc(text);
        match (end, self.data % 4) {
            (DataEnd::Incomplete, _) => Reply::Error(Failure::Cme(3)),
            (DataEnd::Complete, 0) => Reply::Ok,
            (DataEnd::Complete, 1) => Reply::Error(Failure::Plain),
            (DataEnd::Complete, 2) => {
                rsp.line("+WAIT: start");
                Reply::Pending
            }
            _ => {
                rsp.line("+DATA: done");
                Reply::Ok
            }
        }
    }

    fn malformed(&mut self, _err: &vmodem_at::ParseError) -> Failure {
        Failure::Cme(50)
    }

    fn cme_text(&self, code: u16) -> Option<&'static str> {
        match code {
            3 => Some("operation not allowed"),
            4 => Some("operation not supported"),
            _ => None,
        }
    }
}

/// The reply a `resume` operation completes a pending command with.
fn resumed(k: u8, exec: &mut Exec, rsp: &mut Response<'_>) -> Reply {
    rsp.line("+WAIT: done");
    let text = exec.urc('X');
    rsp.urc(text);
    match (k / 8) % 6 {
        0 => Reply::Ok,
        1 => Reply::Error(Failure::Plain),
        2 => Reply::Error(Failure::Cme(u16::from(k / 48))),
        3 => Reply::Data(DataPhase::Fixed(usize::from(k / 48))),
        4 => Reply::Data(DataPhase::Escaped),
        _ => Reply::Pending,
    }
}

/// One engine under test and what has been checked of its output so far.
struct Run {
    engine: Engine,
    exec: Exec,
    /// Output so far, and what it may be at most.
    out: usize,
    budget: usize,
    /// Strict framing: a response is open (an information line went out, no final result yet).
    in_response: bool,
    last_urc: u32,
    urcs_seen: u32,
    /// URCs may have been dropped (a reset, or more queued than the engine keeps).
    lossy: bool,
}

impl Run {
    fn new(strict: bool) -> Self {
        let factory = Settings { echo: !strict, ..Settings::default() };
        Run {
            engine: Engine::new(factory, LIMITS),
            exec: Exec { strict, ..Exec::default() },
            out: 0,
            budget: 64,
            in_response: false,
            last_urc: 0,
            urcs_seen: 0,
            lossy: false,
        }
    }

    /// Takes the output of the last operation and checks it.
    fn collect(&mut self) -> Vec<u8> {
        let out = self.engine.take_output();
        self.out += out.len();
        assert!(self.out <= self.budget, "output {} bytes, budget {}", self.out, self.budget);
        if self.exec.strict {
            self.check_framing(&out);
        }
        out
    }

    /// Invariant 4. Each operation writes whole items, so its output splits on its own.
    fn check_framing(&mut self, out: &[u8]) {
        for item in out.split(|&b| b == b'\n') {
            let item = item.strip_suffix(b"\r").unwrap_or(item);
            if item.is_empty() {
                continue;
            }
            if let Some(n) = item.strip_prefix(b"!U").or_else(|| item.strip_prefix(b"!X")) {
                assert!(!self.in_response, "URC inside a response: {:?}", String::from_utf8_lossy(out));
                let n: u32 = std::str::from_utf8(n).unwrap().parse().unwrap();
                assert!(n > self.last_urc, "URC {n} after URC {}", self.last_urc);
                self.last_urc = n;
                self.urcs_seen += 1;
            } else {
                let last = item == b"OK" || item == b"ERROR" || item.starts_with(b"+CME ERROR: ");
                self.in_response = !last;
            }
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        self.budget += bytes.len() * PER_BYTE;
        self.engine.receive(bytes, &mut self.exec);
        self.collect();
    }

    /// Invariant 3.
    fn urc(&mut self) {
        self.budget += PER_OP;
        let text = self.exec.urc('U');
        let busy = self.engine.busy();
        let mut framed = Vec::new();
        frame::urc(self.engine.settings(), &text, &mut framed);
        self.engine.urc(text);
        let out = self.collect();
        if busy {
            assert!(out.is_empty(), "a URC went out while a response was in progress");
        } else {
            assert_eq!(out, framed, "a URC while idle goes out at once");
        }
    }

    fn resume(&mut self, k: u8) {
        self.budget += PER_OP;
        self.engine.resume(&mut self.exec, |exec, rsp| resumed(k, exec, rsp));
        self.collect();
    }

    fn data_timeout(&mut self) {
        self.budget += PER_OP;
        self.engine.data_timeout(&mut self.exec);
        self.collect();
    }

    fn reset(&mut self) {
        self.engine.reset();
        self.lossy = true;
        self.in_response = false;
        self.collect();
    }

    /// Ends data phases by their timer and completes pending commands until the line is idle.
    fn settle(&mut self, input_len: usize) {
        for _ in 0..2 * input_len + 16 {
            if !self.engine.busy() {
                return;
            }
            if self.engine.in_data_phase() {
                self.data_timeout();
            } else {
                self.resume(0);
            }
        }
        panic!("the line stays busy");
    }

    /// Invariant 5, and what is left of invariant 4.
    fn finish(&mut self, input_len: usize) {
        self.settle(input_len);
        self.receive(b"\n");
        self.settle(input_len);
        assert!(!self.engine.busy());
        let settings = *self.engine.settings();
        let mut expected = Vec::new();
        if settings.echo {
            expected.extend_from_slice(b"AT\n");
        }
        frame::result(&settings, ResultCode::Ok, &mut expected);
        self.engine.receive(b"AT\n", &mut self.exec);
        self.budget += 3 * PER_BYTE;
        assert_eq!(self.collect(), expected, "AT<LF> after the input, settings {settings:?}");
        if self.exec.strict {
            assert!(!self.in_response, "a response never ended");
            if !self.lossy && self.exec.urcs <= 256 {
                assert_eq!(self.urcs_seen, self.exec.urcs, "URCs lost");
            }
        }
    }
}

fn run(data: &[u8], strict: bool) {
    let mut run = Run::new(strict);
    let mut chunk = Vec::new();
    let mut bytes = data.iter().copied();
    let flush = |run: &mut Run, chunk: &mut Vec<u8>| {
        if !chunk.is_empty() {
            run.receive(chunk);
            chunk.clear();
        }
    };
    while let Some(b) = bytes.next() {
        if b != 0xFE {
            chunk.push(b);
            continue;
        }
        let Some(k) = bytes.next() else { break };
        if k == 0xFE {
            chunk.push(k);
            continue;
        }
        flush(&mut run, &mut chunk);
        match k % 8 {
            1 => run.urc(),
            2 => run.resume(k),
            3 => run.data_timeout(),
            4 => run.reset(),
            _ => {}
        }
        // More than the engine queues at once may have been raised.
        if run.exec.urcs > 256 {
            run.lossy = true;
        }
    }
    flush(&mut run, &mut chunk);
    run.finish(data.len());
}

fuzz_target!(|data: &[u8]| {
    run(data, false);
    run(data, true);
});
