//! The engine against a small test executor: framing of whole lines, URC ordering, data
//! phases (fixed, DLE/ETX, ended by Ctrl-Z, online with the `+++` escape), pending commands,
//! and random input that must never panic or wedge the line.

use proptest::prelude::*;
use vmodem_at::v250::{self, SRegister, V250};
use vmodem_at::{Command, DataEnd, DataPhase, Engine, Executor, Failure, Limits, Reply, Response, Settings};

const ROW: V250 = V250 {
    ipr_test: "+IPR: (),(9600,115200)",
    ipr_rates: &[0, 9600, 115200],
    ifc_test: "+IFC: (0-3),(0-2)",
    icf_test: "+ICF: (3),(0-3)",
    icf_formats: (3, 3),
    cmee_test: "+CMEE: (0-2)",
    s_registers: &[
        SRegister { number: 3, min: 0, max: 127, test: "S3: (0-127)" },
        SRegister { number: 4, min: 0, max: 127, test: "S4: (0-127)" },
        SRegister { number: 5, min: 0, max: 127, test: "S5: (0-127)" },
    ],
    bad_value: Failure::Plain,
};

#[derive(Default)]
struct Exec {
    data: Vec<u8>,
    ran: Vec<String>,
}

impl Executor for Exec {
    fn execute(&mut self, cmd: &Command, rsp: &mut Response<'_>) -> Reply {
        self.ran.push(cmd.to_string());
        if let Some(reply) = v250::execute(&ROW, cmd, rsp) {
            return reply;
        }
        match cmd.name.as_str() {
            "+OK" => Reply::Ok,
            "+FAIL" => Reply::Error(Failure::Cme(3)),
            "+INFO" => {
                rsp.line("+INFO: 1");
                rsp.line("+INFO: 2");
                Reply::Ok
            }
            "+DATA" => {
                let n = cmd.args()[0].number().unwrap() as usize;
                rsp.line(format!("+DATA: {n}"));
                Reply::Data(DataPhase::Fixed(n))
            }
            "+ESC" => Reply::Data(DataPhase::Escaped),
            "+TERM" => {
                let max = cmd.args()[0].number().unwrap() as usize;
                Reply::Data(DataPhase::Terminated { end: 0x1a, cancel: Some(0x1b), max })
            }
            "+ONLINE" => {
                rsp.line("CONNECT");
                Reply::Data(DataPhase::Online { escape: b'+' })
            }
            "+WAIT" => Reply::Pending,
            "+SHUT" => Reply::Text("SHUT OK".into()),
            "I" => {
                rsp.line("TEST MODEM");
                Reply::Ok
            }
            _ => Reply::Error(Failure::Plain),
        }
    }

    fn data(&mut self, payload: &[u8]) {
        self.data.extend_from_slice(payload);
    }

    fn data_end(&mut self, end: DataEnd, _rsp: &mut Response<'_>) -> Reply {
        match end {
            DataEnd::Complete => Reply::Ok,
            DataEnd::Incomplete => Reply::Error(Failure::Cme(3)),
        }
    }

    fn cme_text(&self, code: u16) -> Option<&'static str> {
        (code == 3).then_some("operation not allowed")
    }
}

fn engine() -> Engine {
    Engine::new(Settings::default(), Limits { line_chars: 559, commands: 39 })
}

fn run(engine: &mut Engine, exec: &mut Exec, input: &[u8]) -> String {
    engine.receive(input, exec);
    String::from_utf8_lossy(&engine.take_output()).into_owned()
}

#[test]
fn echo_then_response() {
    let (mut e, mut x) = (engine(), Exec::default());
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "AT\r\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATE0\r\n"), "ATE0\r\n\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+INFO\r"), "\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
}

#[test]
fn one_final_result_per_line_and_first_failure_stops_it() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+OK;+INFO;+OK\r"), "\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
    x.ran.clear();
    assert_eq!(run(&mut e, &mut x, b"AT+OK;+FAIL;+INFO\r"), "\r\nERROR\r\n");
    assert_eq!(x.ran, ["+OK", "+FAIL"]);
}

#[test]
fn each_command_of_a_line_frames_its_own_information() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"ATI;+INFO\r"), "\r\nTEST MODEM\r\n\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
}

#[test]
fn cmee_modes() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+FAIL\r"), "\r\nERROR\r\n");
    run(&mut e, &mut x, b"AT+CMEE=1\r");
    assert_eq!(run(&mut e, &mut x, b"AT+FAIL\r"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+CMEE?\r"), "\r\n+CMEE: 1\r\n\r\nOK\r\n");
    run(&mut e, &mut x, b"AT+CMEE=2\r");
    assert_eq!(run(&mut e, &mut x, b"AT+FAIL\r"), "\r\n+CME ERROR: operation not allowed\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+NOPE\r"), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+CMEE=3\r"), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+CMEE=?\r"), "\r\n+CMEE: (0-2)\r\n\r\nOK\r\n");
}

#[test]
fn numeric_and_quiet_results() {
    let (mut e, mut x) = (engine(), Exec::default());
    assert_eq!(run(&mut e, &mut x, b"ATE0V0\r"), "ATE0V0\r0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+NOPE\r"), "4\r");
    assert_eq!(run(&mut e, &mut x, b"AT+INFO\r"), "+INFO: 1\r\n+INFO: 2\r\n0\r");
    assert_eq!(run(&mut e, &mut x, b"ATV1Q1\r"), "");
    assert_eq!(run(&mut e, &mut x, b"AT+INFO\r"), "\r\n+INFO: 1\r\n+INFO: 2\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATQ0\r"), "\r\nOK\r\n");
}

#[test]
fn s_registers_and_profiles() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"ATS3?\r"), "\r\n013\r\n\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATS5=?\r"), "\r\nS5: (0-127)\r\n\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATS4=128\r"), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATS9?\r"), "\r\nERROR\r\n");
    // &W stores echo off; &F brings echo back; Z restores the stored (echo off) profile.
    run(&mut e, &mut x, b"AT&W\r");
    assert_eq!(run(&mut e, &mut x, b"AT&F\r"), "\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "AT\r\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATZ\r"), "ATZ\r\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "\r\nOK\r\n");
}

#[test]
fn changed_terminator_frames_with_the_new_characters() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"ATS3=35\r"), "#\nOK#\n");
    // CR is now an ordinary (ignored) control character; `#` ends the line.
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "");
    assert_eq!(run(&mut e, &mut x, b"#"), "#\nOK#\n");
    assert_eq!(run(&mut e, &mut x, b"ATS3=13#"), "\r\nOK\r\n");
}

#[test]
fn dte_commands() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(
        run(&mut e, &mut x, b"AT+IPR?;+IFC?;+ICF?\r"),
        "\r\n+IPR: 115200\r\n\r\n+IFC: 0,0\r\n\r\n+ICF: 3,3\r\n\r\nOK\r\n"
    );
    assert_eq!(run(&mut e, &mut x, b"AT+IPR=9600;+IFC=2,2;+ICF=3,1;&C0;&D2\r"), "\r\nOK\r\n");
    assert_eq!(
        run(&mut e, &mut x, b"AT+IPR?;+IFC?;+ICF?\r"),
        "\r\n+IPR: 9600\r\n\r\n+IFC: 2,2\r\n\r\n+ICF: 3,1\r\n\r\nOK\r\n"
    );
    assert_eq!(e.settings().dte.dcd, 0);
    assert_eq!(e.settings().dte.dtr, 2);
    assert_eq!(run(&mut e, &mut x, b"AT+IPR=1234\r"), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+ICF=5\r"), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT&D3\r"), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+IFC=?\r"), "\r\n+IFC: (0-3),(0-2)\r\n\r\nOK\r\n");
}

#[test]
fn urcs_wait_for_the_final_result() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    e.urc("+IDLE: 1");
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\n+IDLE: 1\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+WAIT\r"), "");
    e.urc("+LATE: 1");
    assert_eq!(e.take_output(), b"");
    e.resume(&mut x, |_, rsp| {
        rsp.line("+WAIT: done");
        Reply::Ok
    });
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\n+WAIT: done\r\n\r\nOK\r\n\r\n+LATE: 1\r\n");
}

#[test]
fn raw_stream_bytes_keep_their_order_with_urcs_and_are_never_dropped() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    e.urc("+GO: 1");
    e.raw(b"ab\x03".to_vec());
    assert_eq!(e.take_output(), b"\r\n+GO: 1\r\nab\x03");
    assert_eq!(run(&mut e, &mut x, b"AT+WAIT\r"), "");
    e.urc("+GO: 2");
    e.raw(b"cd".to_vec());
    // A full URC queue drops URCs, not stream bytes.
    for i in 0..300 {
        e.urc(format!("+N: {i}"));
    }
    e.raw(b"ef".to_vec());
    assert_eq!(e.raw_backlog(), 4);
    e.resume(&mut x, |_, _| Reply::Ok);
    let out = String::from_utf8(e.take_output()).unwrap();
    assert!(out.starts_with("\r\nOK\r\ncd"), "{out:?}");
    assert!(out.ends_with("\r\n+N: 299\r\nef"), "{out:?}");
    assert!(!out.contains("+GO: 2"), "the oldest URC should have been dropped: {out:?}");
    assert_eq!(e.raw_backlog(), 0);
}

#[test]
fn input_during_a_pending_command_runs_after_it() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+WAIT\rAT+INFO\r"), "");
    e.resume(&mut x, |_, _| Reply::Error(Failure::Plain));
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\nERROR\r\n\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
}

#[test]
fn fixed_data_phase_is_raw_and_exact() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+DATA=5\rAT\r"), "\r\n+DATA: 5\r\n");
    e.urc("+LATER: 1");
    // The data phase takes exactly five bytes; the `T\r` after them is junk between lines.
    assert_eq!(run(&mut e, &mut x, b"\nAT\r"), "\r\nOK\r\n\r\n+LATER: 1\r\n");
    assert_eq!(x.data, b"AT\r\nA");
    assert_eq!(run(&mut e, &mut x, b"AT+DATA=0\r"), "\r\n+DATA: 0\r\n\r\nOK\r\n");
}

#[test]
fn data_phase_timeout_reports_the_failure() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    run(&mut e, &mut x, b"AT+DATA=10\r123");
    assert!(e.in_data_phase());
    e.data_timeout(&mut x);
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\nERROR\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "\r\nOK\r\n");
}

#[test]
fn escaped_data_phase() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+ESC\r\x10\x03a\x10\x10\x03AT\r"), "\r\nOK\r\n\r\nOK\r\n");
    assert_eq!(x.data, [0x03, b'a', 0x10]);
}

#[test]
fn overlong_lines_and_too_many_commands_run_nothing() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    let mut line = b"AT+OK".to_vec();
    line.extend(std::iter::repeat_n(b';', 557));
    assert_eq!(line.len() - 2, 560);
    line.push(b'\r');
    x.ran.clear();
    assert_eq!(run(&mut e, &mut x, &line), "\r\nERROR\r\n");
    assert!(x.ran.is_empty());
    let forty = vec!["+OK"; 40].join(";");
    assert_eq!(run(&mut e, &mut x, format!("AT{forty}\r").as_bytes()), "\r\nERROR\r\n");
    assert!(x.ran.is_empty());
    let limit = vec!["+OK"; 39].join(";");
    assert_eq!(run(&mut e, &mut x, format!("AT{limit}\r").as_bytes()), "\r\nOK\r\n");
}

#[test]
fn repeat_last_line() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"A/"), "\r\nOK\r\n");
    run(&mut e, &mut x, b"AT+INFO\r");
    assert_eq!(run(&mut e, &mut x, b"A/"), "\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
    // A power cycle forgets the line A/ repeats.
    e.reset();
    x.ran.clear();
    assert!(run(&mut e, &mut x, b"A/").ends_with("\r\nOK\r\n"));
    assert!(x.ran.is_empty(), "A/ after a reset ran {:?}", x.ran);
}

#[test]
fn basic_after_extended() {
    let (mut e, mut x) = (engine(), Exec::default());
    assert_eq!(run(&mut e, &mut x, b"AT+OK;E0\r"), "AT+OK;E0\r\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "\r\nOK\r\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever the host sends, the engine neither panics nor grows its output without
    /// bound, and after ending any data phase or pending command, `AT` answers `OK`.
    #[test]
    fn random_input_never_wedges_the_line(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let (mut e, mut x) = (engine(), Exec::default());
        let mut total = 0usize;
        for chunk in &chunks {
            e.receive(chunk, &mut x);
            total += chunk.len();
            let out = e.take_output();
            prop_assert!(out.len() <= 64 + total * 8);
        }
        e.data_timeout(&mut x);
        e.resume(&mut x, |_, _| Reply::Ok);
        e.take_output();
        // A data phase may have been re-entered by held input; end it again.
        e.data_timeout(&mut x);
        e.resume(&mut x, |_, _| Reply::Ok);
        e.take_output();
        // Random input may have changed S3; &F restores it along with E, V and Q.
        let cr = e.settings().s3();
        e.receive(&[cr], &mut x);
        e.receive(&[b'A', b'T', b'&', b'F', cr], &mut x);
        e.receive(b"ATE0\r", &mut x);
        e.take_output();
        e.receive(b"AT\r", &mut x);
        prop_assert_eq!(String::from_utf8_lossy(&e.take_output()).into_owned(), "\r\nOK\r\n");
    }

    /// Structured fuzzing: lines built from real command fragments.
    #[test]
    fn random_lines_of_commands(parts in proptest::collection::vec(prop_oneof![
        Just("E0"), Just("E1"), Just("V0"), Just("V1"), Just("Q0"), Just("+OK"), Just("+FAIL"), Just("+INFO"),
        Just("S3?"), Just("S3=13"), Just("&W"), Just("Z"), Just("&F"), Just("+CMEE=2"), Just("+CMEE?"),
        Just(";"), Just("\""), Just(","), Just("="), Just("?"), Just(" "), Just("+X=\"a,b\""), Just("I"),
    ], 0..12)) {
        let (mut e, mut x) = (engine(), Exec::default());
        let line = format!("AT{}\r", parts.concat());
        e.receive(line.as_bytes(), &mut x);
        let out = String::from_utf8_lossy(&e.take_output()).into_owned();
        prop_assert!(!e.busy());
        // Exactly one final result, unless ATQ1 or V0 changed the framing.
        let finals = out.matches("\r\nOK\r\n").count() + out.matches("\r\nERROR\r\n").count()
            + out.matches("+CME ERROR").count();
        prop_assert!(finals <= 1, "{:?} -> {:?}", line, out);
    }
}

#[test]
fn a_text_result_ends_the_line_in_place_of_ok_or_becomes_an_information_line() {
    let (mut e, mut x) = (engine(), Exec::default());
    assert_eq!(run(&mut e, &mut x, b"ATE0\r"), "ATE0\r\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+SHUT\r"), "\r\nSHUT OK\r\n");
    assert_eq!(run(&mut e, &mut x, b"AT+SHUT;+INFO\r"), "\r\nSHUT OK\r\n\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
    assert_eq!(run(&mut e, &mut x, b"ATQ1\r"), "");
    assert_eq!(run(&mut e, &mut x, b"AT+SHUT\r"), "\r\nSHUT OK\r\n", "information, so Q1 does not hide it");
}

#[test]
fn a_data_phase_opened_without_a_command_ends_without_a_result() {
    let (mut e, mut x) = (engine(), Exec::default());
    assert_eq!(run(&mut e, &mut x, b"ATE0\r"), "ATE0\r\r\nOK\r\n");
    e.open_data(DataPhase::Escaped);
    assert!(e.in_data_phase());
    e.urc("+URC: 1");
    assert_eq!(run(&mut e, &mut x, b"AT+OK\r\x10\x03\x10"), "", "bytes are data, the URC waits");
    assert_eq!(run(&mut e, &mut x, b"\x10\x03AT+OK\r"), "\r\n+URC: 1\r\n\r\nOK\r\n", "no result after the ETX");
    assert_eq!(x.data, b"AT+OK\r\x03\x10");
    // Only an idle line opens one.
    e.open_data(DataPhase::Fixed(3));
    assert!(e.in_data_phase());
    e.open_data(DataPhase::Escaped);
    assert_eq!(run(&mut e, &mut x, b"abc"), "");
    assert!(!e.in_data_phase());
}

#[test]
fn a_terminated_phase_ends_at_its_end_byte_is_cancelled_by_its_cancel_byte_and_stops_at_its_max() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+TERM=10\rab"), "", "payload is not echoed with echo off");
    assert_eq!(run(&mut e, &mut x, b"\r\n\x1aAT+OK\r"), "\r\nOK\r\n\r\nOK\r\n", "the end byte is not payload");
    assert_eq!(x.data, b"ab\r\n");
    x.data.clear();
    assert_eq!(run(&mut e, &mut x, b"AT+TERM=10\rxy\x1b"), "\r\nERROR\r\n");
    assert_eq!(x.data, b"xy", "what came before the cancel byte was handed over: the executor drops it");
    x.data.clear();
    assert_eq!(run(&mut e, &mut x, b"AT+TERM=3\rabcdef\r"), "\r\nOK\r\n", "complete at the max; the rest is junk");
    assert_eq!(x.data, b"abc");
    x.data.clear();
    run(&mut e, &mut x, b"ATE1\r");
    assert_eq!(run(&mut e, &mut x, b"AT+TERM=9\rhi\x1a"), "AT+TERM=9\rhi\r\nOK\r\n", "echo shows the payload");
}

#[test]
fn an_online_phase_carries_data_both_ways_until_the_escape_sequence() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    assert_eq!(run(&mut e, &mut x, b"AT+ONLINE\rabc"), "\r\nCONNECT\r\n");
    e.urc("+LATER: 1");
    e.raw(b"from the peer".to_vec());
    assert_eq!(e.take_output(), b"from the peer", "stream bytes go out at once, the URC waits");
    assert_eq!(e.raw_backlog(), 0);
    // No silence before them: the pluses are payload.
    assert_eq!(run(&mut e, &mut x, b"+++"), "");
    e.data_timeout(&mut x);
    // Silence, then a plus that is not followed by two more: payload after all.
    assert_eq!(run(&mut e, &mut x, b"++x"), "");
    e.data_timeout(&mut x);
    assert_eq!(run(&mut e, &mut x, b"+"), "");
    e.data_timeout(&mut x);
    // Four pluses are not the sequence either.
    assert_eq!(run(&mut e, &mut x, b"++++"), "");
    e.data_timeout(&mut x);
    assert_eq!(x.data, b"abc+++++x+++++");
    x.data.clear();
    assert!(e.in_data_phase());
    // Silence, +++, silence: the escape.
    assert_eq!(run(&mut e, &mut x, b"++"), "");
    assert_eq!(run(&mut e, &mut x, b"+"), "");
    assert!(e.in_data_phase());
    e.data_timeout(&mut x);
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\nOK\r\n\r\n+LATER: 1\r\n");
    assert!(x.data.is_empty(), "the escape sequence is not payload");
    assert!(!e.in_data_phase());
    assert_eq!(run(&mut e, &mut x, b"AT\r"), "\r\nOK\r\n");
}

#[test]
fn an_online_phase_opened_without_a_command_prints_its_escape_and_the_executor_can_end_it() {
    let (mut e, mut x) = (engine(), Exec::default());
    run(&mut e, &mut x, b"ATE0\r");
    e.open_data(DataPhase::Online { escape: b'+' });
    e.data_timeout(&mut x);
    assert_eq!(run(&mut e, &mut x, b"+++"), "");
    e.data_timeout(&mut x);
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\nOK\r\n", "the escape is answered");
    e.open_data(DataPhase::Online { escape: b'+' });
    assert_eq!(run(&mut e, &mut x, b"data"), "");
    e.urc("+LATER: 2");
    // The peer closed: the executor ends the phase and says so.
    e.resume(&mut x, |_, _| Reply::Text("CLOSED".into()));
    assert_eq!(String::from_utf8(e.take_output()).unwrap(), "\r\nCLOSED\r\n\r\n+LATER: 2\r\n");
    assert_eq!(x.data, b"data");
    assert_eq!(run(&mut e, &mut x, b"AT+INFO\r"), "\r\n+INFO: 1\r\n+INFO: 2\r\n\r\nOK\r\n");
}
