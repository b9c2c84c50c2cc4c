//! The writer against the transcript compiler and runner: what it writes for typical sessions,
//! and that any session it records replays against a modem that says the same bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::writer::{Options, Writer};
use crate::family::Family;
use crate::script::Script;

/// One direction's bytes at a moment of a session.
#[derive(Debug, Clone)]
enum Event {
    Host(Vec<u8>),
    Modem(Vec<u8>),
    /// Time passes.
    Wait(Duration),
}

use Event::{Host, Modem, Wait};

fn host(s: &str) -> Event {
    Host(s.as_bytes().to_vec())
}

fn modem(s: &str) -> Event {
    Modem(s.as_bytes().to_vec())
}

/// The transcript a writer makes of `events`, without its header.
fn record(events: &[Event], options: Options) -> String {
    let start = Instant::now();
    let mut now = start;
    let mut w = Writer::new(Family::Sim7080, options, now);
    for e in events {
        match e {
            Host(b) => w.host(b, now),
            Modem(b) => w.modem(b, now),
            Wait(d) => now += *d,
        }
    }
    w.finish();
    let text = w.take();
    let body = text.split_once("@family sim7080\n").map(|(_, b)| b).unwrap_or_default();
    body.lines().filter(|l| !l.starts_with("# +")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn command_lines_echo_urcs_and_data() {
    let events = [
        modem("\r\nRDY\r\n"),
        host("AT\r"),
        modem("AT\r\r\nOK\r\n"),
        host("ATE0\r"),
        modem("ATE0\r\r\nOK\r\n"),
        host("AT+CGMI;+CGMM\r"),
        modem("\r\nSIMCOM_Ltd\r\n\r\nSIMCOM_SIM7080\r\n\r\nOK\r\n"),
        host("AT+FTPPUT=2,4\r"),
        modem("\r\n+FTPPUT: 2,4\r\n"),
        host("\x00\r\n\x7f"),
        modem("\r\nOK\r\n"),
        Wait(Duration::from_secs(30)),
        modem("\r\n+FTPPUT: 1,0\r\n"),
    ];
    let want = "# Before the host spoke (not replayed):\n# \\r\\n\n# RDY\\r\\n\n\
                > AT\n< OK\n> ATE0\n< OK\n\
                > AT+CGMI;+CGMM\n< SIMCOM_Ltd\n<\n< SIMCOM_SIM7080\n< OK\n\
                > AT+FTPPUT=2,4\n< +FTPPUT: 2,4\n\
                >> \\x00\\r\\n\n>> \\x7f\n< OK\n\
                @timeout 65\n< +FTPPUT: 1,0\n";
    assert_eq!(record(&events, Options::default()), want);
}

#[test]
fn echo_that_the_model_does_not_expect_is_declared() {
    // The model expects no echo after ATE0, but this modem went on echoing (and a CR LF host's
    // lines are raw, with their echo).
    let events = [
        host("ATE0\r"),
        modem("ATE0\r\r\nOK\r\n"),
        host("AT\r"),
        modem("AT\r\r\nOK\r\n"),
        host("AT\r\n"),
        modem("AT\r\n\r\nOK\r\n"),
    ];
    let want = "> ATE0\n< OK\n@echo on\n> AT\n< OK\n>> AT\\r\\n\n<< AT\\r\\n\n< OK\n";
    assert_eq!(record(&events, Options::default()), want);
}

#[test]
fn a_line_typed_in_pieces_and_a_pause() {
    let events = [
        host("A"),
        modem("A"),
        host("T+CSQ"),
        modem("T+CSQ"),
        host("\r"),
        modem("\r\r\n+CSQ: 27,99\r\n\r\nOK\r\n"),
        Wait(Duration::from_millis(2500)),
        host("AT\r"),
        modem("AT\r\r\nOK\r\n"),
    ];
    assert_eq!(record(&events, Options::default()), "> AT+CSQ\n< +CSQ: 27,99\n< OK\n@sleep 2.500\n> AT\n< OK\n");
}

#[test]
fn values_that_vary_become_placeholders() {
    let events = [
        host("ATE0\r"),
        modem("ATE0\r\r\nOK\r\n"),
        host("AT+CCLK?;+FTPSERV=\"1.2.3.4\";+FTPSERV?\r"),
        modem("\r\n+CCLK: \"24/01/02,03:04:05+32\"\r\n\r\n+FTPSERV: \"1.2.3.4\"\r\n\r\nOK\r\n"),
        host("AT+CNACT?\r"),
        modem("\r\n+CNACT: 0,1,\"10.94.36.44\"\r\n\r\nOK\r\n"),
        host("AT+FTPLIST=2,1024\r"),
        modem("\r\n+FTPLIST: 2,7\r\nab\r\ncd\n\r\nOK\r\n"),
    ];
    let want = "> ATE0\n< OK\n> AT+CCLK?;+FTPSERV=\"1.2.3.4\";+FTPSERV?\n\
                < +CCLK: \"{*}\"\n<\n< +FTPSERV: \"1.2.3.4\"\n< OK\n\
                > AT+CNACT?\n< +CNACT: 0,1,\"{*}\"\n< OK\n\
                > AT+FTPLIST=2,1024\n< +FTPLIST: 2,{$list}\n<< {any:$list}\n< OK\n";
    assert_eq!(record(&events, Options::default()), want);
}

#[test]
fn secrets_are_masked_everywhere_unless_kept() {
    let events = [
        host("AT+SAPBR=3,1,\"PWD\",\"pa{ss\"\r"),
        modem("AT+SAPBR=3,1,\"PWD\",\"pa{ss\"\r\r\nOK\r\n"),
        host("AT+SAPBR=4,1\r"),
        modem("AT+SAPBR=4,1\r\r\n+SAPBR:\r\nPWD: pa{ss\r\n\r\nOK\r\n"),
        host("AT+FTPPW=\"pw\"\r\n"),
        modem("AT+FTPPW=\"pw\"\r\n\r\nOK\r\n"),
    ];
    let masked = record(&events, Options::default());
    assert_eq!(
        masked,
        "# {apn_pass} masks a secret: replay with --var apn_pass=VALUE\n\
         > AT+SAPBR=3,1,\"PWD\",\"{apn_pass}\"\n< OK\n\
         > AT+SAPBR=4,1\n< +SAPBR:\n< PWD: {apn_pass}\n< OK\n\
         # {ftp_pass} masks a secret: replay with --var ftp_pass=VALUE\n\
         >> AT+FTPPW=\"{ftp_pass}\"\\r\\n\n<< AT+FTPPW=\"{ftp_pass}\"\\r\\n\n< OK\n"
    );
    let kept = record(&events, Options { keep_secrets: true });
    assert!(kept.contains("\"pa\\{ss\"") && kept.contains("PWD: pa\\{ss") && kept.contains("\"pw\""), "{kept}");
    assert!(!kept.contains("{apn_pass}") && !kept.contains("{ftp_pass}"), "{kept}");
}

/// Replays a recording of `events` over a line whose other end says exactly what the modem
/// said, each time the host has sent what it had sent before.
async fn replay(events: &[Event], options: Options, vars: &BTreeMap<String, String>) -> Result<(), String> {
    let start = Instant::now();
    let mut w = Writer::new(Family::Sim7080, options, start);
    let mut now = start;
    for e in events {
        match e {
            Host(b) => w.host(b, now),
            Modem(b) => w.modem(b, now),
            Wait(d) => now += *d,
        }
    }
    w.finish();
    let text = w.take();
    let program = Script::parse(&text).and_then(|s| s.compile(vars)).map_err(|e| format!("{e}\n{text}"))?;
    let (mut line, mut fake) = tokio::io::duplex(1 << 20);
    let events = events.to_vec();
    let fake = tokio::spawn(async move {
        let mut got = Vec::new();
        for e in events {
            match e {
                Modem(b) => fake.write_all(&b).await.map_err(|e| e.to_string())?,
                Host(want) => {
                    let mut buf = vec![0u8; want.len()];
                    fake.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
                    if buf != want {
                        return Err(format!("the host sent {buf:?}, not {want:?}"));
                    }
                    got.extend(buf);
                }
                Wait(_) => {}
            }
        }
        // Hold the line open until the runner is done.
        let mut rest = Vec::new();
        let _ = fake.read_to_end(&mut rest).await;
        if rest.is_empty() { Ok(()) } else { Err(format!("the host sent {rest:?} more")) }
    });
    let run = crate::script::run(&program, &mut line).await.map_err(|m| format!("{m}\n{text}"));
    drop(line);
    fake.await.map_err(|e| e.to_string())??;
    run.map(|_| ())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

#[test]
fn a_masked_recording_replays_with_the_secret_given() {
    let events = [
        host("AT+CPIN=\"1234\"\r"),
        modem("AT+CPIN=\"1234\"\r\r\nOK\r\n\r\n+CPIN: READY\r\n"),
        host("AT+FTPGET=2,4\r"),
        modem("AT+FTPGET=2,4\r\r\n+FTPGET: 2,4\r\n1234\r\n\r\nOK\r\n"),
    ];
    let vars = BTreeMap::from([("sim_pin".to_string(), "1234".to_string())]);
    runtime().block_on(replay(&events, Options::default(), &vars)).unwrap();
    let wrong = BTreeMap::from([("sim_pin".to_string(), "0000".to_string())]);
    assert!(runtime().block_on(replay(&events, Options::default(), &wrong)).is_err());
    assert!(runtime().block_on(replay(&events, Options::default(), &BTreeMap::new())).is_err());
}

/// Pieces sessions are made of: command lines, data, and the modem's usual shapes of output
/// around arbitrary bytes.
fn host_chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "AT[+A-Z0-9=,\"?; {}\\\\.]{0,12}\r".prop_map(String::into_bytes),
        "AT[+A-Z0-9]{0,6}\r\n".prop_map(String::into_bytes),
        Just(b"ATE0\r".to_vec()),
        Just(b"ATE1\r".to_vec()),
        Just(b"AT\rAT\r".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..40),
    ]
}

fn modem_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\r\nOK\r\n".to_vec()),
        Just(b"\r\nERROR\r\n".to_vec()),
        "\r\n\\+[A-Z]{1,5}: [0-9,.\"]{0,16}\r\n".prop_map(String::into_bytes),
        "[ -~]{0,12}\r\n".prop_map(String::into_bytes),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n> ".to_vec()),
        Just(b"\r\n+FTPLIST: 2,5\r\nab\rc\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..40),
    ]
}

/// One exchange: what the host sent, whether the modem echoed it, what it said after (in
/// pieces that are written separately), and whether that came late.
fn exchange() -> impl Strategy<Value = Vec<Event>> {
    (host_chunk(), any::<bool>(), proptest::collection::vec(modem_piece(), 0..4), any::<bool>()).prop_map(
        |(h, echo, pieces, late)| {
            let mut events = vec![Host(h.clone())];
            if echo {
                events.push(Modem(h));
            }
            if late {
                events.push(Wait(Duration::from_secs(2)));
            }
            events.extend(pieces.into_iter().map(Modem));
            events
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_recording_replays(session in proptest::collection::vec(exchange(), 1..6)) {
        let events: Vec<Event> = session.into_iter().flatten().collect();
        let outcome = runtime().block_on(replay(&events, Options { keep_secrets: true }, &BTreeMap::new()));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

/// A data call's host authenticating with PAP: its password never reaches the recording (nor,
/// through the same writer, the console), in the frame or anywhere after it.
#[test]
fn a_ppp_password_is_masked_in_the_line_s_frames() {
    // PAP Authenticate-Request (RFC 1334 §2.2.1): id 1, peer "user", password "s3cr3tPw".
    let pap = [&[0xFF, 0x03, 0xC0, 0x23, 0x01, 0x01, 0x00, 0x12, 0x04][..], b"user", &[0x08], b"s3cr3tPw"].concat();
    let mut frame = Vec::new();
    crate::ppp::hdlc::encode(&pap, 0, &mut frame);
    let events = [host("ATD*99#\r"), modem("\r\nCONNECT\r\n"), Host(frame), Wait(Duration::from_millis(10))];
    let text = record(&events, Options::default());
    assert!(!text.contains("s3cr3tPw"), "{text}");
    assert!(text.contains("{ppp_pass}"), "{text}");
    let kept = record(&events, Options { keep_secrets: true });
    assert!(kept.contains("s3cr3tPw"), "{kept}");
}

/// A PAP password with bytes the host escapes (a control character, a flag) is masked as it
/// crossed the line, escaped, under whatever map the host used.
#[test]
fn an_escaped_ppp_password_is_masked_too() {
    let password = b"pw\x01\x7e\x11end";
    let pap = [&[0xFF, 0x03, 0xC0, 0x23, 0x01, 0x01, 0x00, 0x12, 0x04][..], b"user", &[8], password].concat();
    for accm in [u32::MAX, 0x000A_0000, 0] {
        let mut frame = Vec::new();
        crate::ppp::hdlc::encode(&pap, accm, &mut frame);
        let events = [host("ATD*99#\r"), modem("\r\nCONNECT\r\n"), Host(frame), Wait(Duration::from_millis(10))];
        let text = record(&events, Options::default());
        assert!(!text.contains("end"), "ACCM {accm:#x}: {text}");
        assert!(text.contains("{ppp_pass"), "ACCM {accm:#x}: {text}");
    }
}
