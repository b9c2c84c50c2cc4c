//! Short messages end to end: two modems of one process share an SMS centre and text each
//! other (text mode and PDU mode, GSM 7-bit, UCS2, a three-part message), and the receiving
//! host reads exactly what was sent; a host plays the commands a generic 27.005 library sends
//! on connect (python-gsmmodem's `connect()`) on every family.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::modem::Modem;
use vmodem::net::Net;
use vmodem::sms::centre::SmsCentre;
use vmodem::sms::pdu::{self, Address, Coding, Submit, UserData, Validity};
use vmodem::transport::{Link, Links};

use crate::support::rig::{AbortOnDrop, trace};

/// The longest one wait for the modem may last.
const WAIT: Duration = Duration::from_secs(10);
/// The sender's and the receiver's numbers.
const ALICE: &str = "+8613800000001";
const BOB: &str = "+8613800000002";

/// A host on a modem's line that reads whole answers.
struct Host {
    io: DuplexStream,
    /// What came and was not yet taken.
    input: String,
    _modem: AbortOnDrop,
}

impl Host {
    /// A `family` modem answering to `number`, its messages through `centre`, echo off.
    async fn start(family: &str, number: &str, centre: &SmsCentre) -> Host {
        let mut config = ModuleConfig { family: family.parse().expect("a family"), ..ModuleConfig::default() };
        config.identity.number = number.into();
        Host::with(config, centre).await
    }

    /// A modem configured by `config`, its messages through `centre`, echo off.
    async fn with(config: ModuleConfig, centre: &SmsCentre) -> Host {
        trace();
        let dialect = dialect::build(std::sync::Arc::new(config)).expect("the dialect");
        let (io, line) = tokio::io::duplex(1 << 16);
        let line: Link = Box::new(line);
        let net = Net::default().with_sms_centre(centre.clone());
        let task = tokio::spawn(Modem::new(dialect, net).run(Links::single(line)));
        let mut host = Host { io, input: String::new(), _modem: AbortOnDrop(task) };
        host.io.write_all(b"ATE0\r").await.unwrap();
        host.until(&["OK\r\n"]).await;
        host.input.clear();
        host
    }

    /// Reads until one of `ends` has come; returns what came up to it and keeps the rest (a
    /// URC right behind an answer).
    async fn until(&mut self, ends: &[&str]) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = ends.iter().filter_map(|e| self.input.find(e).map(|at| at + e.len())).min();
            if let Some(end) = found {
                let rest = self.input.split_off(end);
                return std::mem::replace(&mut self.input, rest);
            }
            let mut buf = [0u8; 4096];
            let n = match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                _ => panic!("waited for {ends:?}; came: {:?}", self.input),
            };
            self.input.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    /// `cmd` and its whole answer, up to `OK` or an error.
    async fn at(&mut self, cmd: &str) -> String {
        self.io.write_all(format!("{cmd}\r").as_bytes()).await.unwrap();
        self.until(&["OK\r\n", "ERROR\r\n"]).await
    }

    /// `cmd`, its prompt, `body` and Ctrl-Z, and the answer.
    async fn prompted(&mut self, cmd: &str, body: &[u8]) -> String {
        self.io.write_all(format!("{cmd}\r").as_bytes()).await.unwrap();
        assert_eq!(self.until(&["> ", "ERROR\r\n"]).await, "\r\n> ", "{cmd}");
        self.io.write_all(body).await.unwrap();
        self.io.write_all(b"\x1a").await.unwrap();
        self.until(&["OK\r\n", "ERROR\r\n"]).await
    }
}

/// Two modems on one centre: Alice's (`from`) and Bob's (`to`).
async fn pair(from: &str, to: &str) -> (Host, Host) {
    let centre = SmsCentre::default();
    (Host::start(from, ALICE, &centre).await, Host::start(to, BOB, &centre).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_mode_message_reaches_the_other_modem_and_reads_back_exactly() {
    let (mut alice, mut bob) = pair("sim800", "sim7080").await;
    assert_eq!(alice.at("AT+CMGF=1").await, "\r\nOK\r\n");
    assert_eq!(bob.at("AT+CMGF=1").await, "\r\nOK\r\n");
    let sent = alice.prompted(&format!("AT+CMGS=\"{BOB}\""), b"Hello Bob, [1] ok?").await;
    assert_eq!(sent, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(bob.until(&["+CMTI: \"SM\",1\r\n"]).await, "\r\n+CMTI: \"SM\",1\r\n");
    let read = bob.at("AT+CMGR=1").await;
    let (header, text) = read.trim_start().split_once("\r\n").expect("a header and the text");
    assert!(header.starts_with(&format!("+CMGR: \"REC UNREAD\",\"{ALICE}\",\"\",\"")), "{header}");
    assert_eq!(text, "Hello Bob, [1] ok?\r\n\r\nOK\r\n");
    assert_eq!(bob.at("AT+CMGD=1").await, "\r\nOK\r\n");
    assert_eq!(bob.at("AT+CMGR=1").await, "\r\nOK\r\n", "deleted");
}

/// The SMS-SUBMIT PDUs a host makes of `text` for Bob (as gammu or python-gsmmodem do: no
/// SMSC of their own, TP-MR 0), in parts if long.
fn submits(text: &str, coding: Coding) -> Vec<(String, usize)> {
    let parts = UserData::split(text, coding, 0x42).expect("text the coding can write");
    parts
        .into_iter()
        .map(|user_data| {
            let submit = Submit {
                reject_duplicates: false,
                validity: Validity::Relative(167),
                status_report: false,
                reply_path: false,
                message_ref: 0,
                destination: Address::parse(BOB),
                pid: 0,
                dcs: coding.dcs(None),
                user_data,
            };
            let (octets, len) = submit.encode(None).expect("a PDU");
            (pdu::to_hex(&octets), len)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdu_messages_in_ucs2_and_three_parts_reach_the_other_modem_whole() {
    let (mut alice, mut bob) = pair("sim7080", "sim800").await;
    let short = "Привет, Bob! 😀";
    let long: String = (0..400).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    for (text, coding, parts) in [(short, Coding::Ucs2, 1), (long.as_str(), Coding::Gsm7, 3)] {
        let pdus = submits(text, coding);
        assert_eq!(pdus.len(), parts);
        for (hex, len) in &pdus {
            let sent = alice.prompted(&format!("AT+CMGS={len}"), hex.as_bytes()).await;
            assert!(sent.starts_with("\r\n+CMGS: ") && sent.ends_with("\r\n\r\nOK\r\n"), "{sent:?}");
        }
        let announced = bob.until(&[&format!("+CMTI: \"SM\",{parts}\r\n")]).await;
        let expected: String = (1..=parts).map(|i| format!("\r\n+CMTI: \"SM\",{i}\r\n")).collect();
        assert_eq!(announced, expected);
        let listed = bob.at("AT+CMGL=4").await;
        let mut lines = listed.trim_start().lines();
        let mut received = Vec::new();
        while let Some(header) = lines.next().filter(|l| l.starts_with("+CMGL: ")) {
            let fields: Vec<&str> = header["+CMGL: ".len()..].split(',').collect();
            assert_eq!(fields[1..3], ["0", ""], "unread, the empty alpha: {header}");
            let octets = pdu::from_hex(lines.next().expect("the PDU")).expect("hex");
            let deliver = pdu::decode_deliver(&octets).expect("an SMS-DELIVER");
            assert_eq!(octets.len() - octets[0] as usize - 1, fields[3].parse::<usize>().unwrap(), "<length>");
            assert_eq!(deliver.originator.number, ALICE);
            received.push(deliver);
        }
        assert_eq!(received.len(), parts, "{listed}");
        received.sort_by_key(|d| d.user_data.concat().map_or(0, |c| c.part));
        let whole: String = received.iter().map(|d| d.text().expect("text")).collect();
        assert_eq!(whole, text);
        assert_eq!(bob.at("AT+CMGD=1,4").await, "\r\nOK\r\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gsmmodem_s_connect_sequence_passes_on_every_family() {
    let centre = SmsCentre::default();
    for family in ["sim800", "sim900", "sim7000", "sim7080", "sim7070", "sim7090", "l610"] {
        let mut host = Host::start(family, ALICE, &centre).await;
        for (cmd, wanted) in [
            ("AT+CMEE=1", "\r\nOK\r\n"),
            ("AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n"),
            ("AT+CMGF=0", "\r\nOK\r\n"),
            ("AT+CSMP=49,167,0,0", "\r\nOK\r\n"),
            ("AT+CNMI=2,1,0,2", "\r\nOK\r\n"),
        ] {
            assert_eq!(host.at(cmd).await, wanted, "{family}: {cmd}");
        }
        let smsc = host.at("AT+CSCA?").await;
        assert!(smsc.starts_with("\r\n+CSCA: \"+") && smsc.ends_with("\",145\r\n\r\nOK\r\n"), "{family}: {smsc:?}");
        let test = host.at("AT+CPMS=?").await;
        let first = test.trim_start().strip_prefix("+CPMS: (\"").expect("+CPMS: with a space").split('"').next();
        let mem = first.expect("a storage");
        let set = host.at(&format!("AT+CPMS=\"{mem}\",\"{mem}\",\"{mem}\"")).await;
        assert!(set.starts_with("\r\n+CPMS: 0,") && set.ends_with("\r\n\r\nOK\r\n"), "{family}: {set:?}");
    }
}

/// Runs `gammu -c <rc> <args>` (bounded by `timeout`: gammu waits for ever on a line that
/// never answers); its exit code and what it printed.
fn gammu(rc: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new("timeout")
        .args(["60", "gammu", "-c"])
        .arg(rc)
        .args(args)
        .output()
        .expect("gammu (scripts/test.sh installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Debian's gammu, unmodified, over a SIM800 on a PTY: identifies the module, sends a message
/// (it reaches the centre, kept for a number no modem here has), reads the messages on the
/// SIM (one the network brought) and deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's gammu (scripts/test.sh installs it)"]
async fn gammu_identifies_sends_reads_and_deletes_over_a_pty() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let tty = dir.path().join("ttyV0");
    let (links, _pty) = vmodem::transport::pty::open(&tty).await.expect("a PTY");
    let centre = SmsCentre::default();
    let mut config = ModuleConfig { family: "sim800".parse().unwrap(), ..ModuleConfig::default() };
    config.identity.number = ALICE.into();
    let dialect = dialect::build(std::sync::Arc::new(config)).expect("the dialect");
    let net = Net::default().with_sms_centre(centre.clone());
    let _modem = AbortOnDrop(tokio::spawn(Modem::new(dialect, net).run(links)));
    let rc = dir.path().join("gammurc");
    let log = dir.path().join("gammu.log");
    let config = format!(
        "[gammu]\ndevice = {}\nconnection = at115200\nmodel = at\nlogfile = {}\nlogformat = textall\n",
        tty.display(),
        log.display()
    );
    std::fs::write(&rc, config).unwrap();
    let run = |args: &'static [&'static str]| {
        let rc = rc.clone();
        tokio::task::spawn_blocking(move || gammu(&rc, args))
    };

    let (code, out) = run(&["identify"]).await.unwrap();
    assert_eq!(code, 0, "identify: {out}");
    assert!(out.contains("SIMCOM_Ltd") && out.contains("869951030012342"), "identify: {out}");

    let (code, out) = run(&["sendsms", "TEXT", "+8613900000099", "-text", "Hello from gammu"]).await.unwrap();
    assert_eq!(code, 0, "sendsms: {out}");
    assert!(out.contains("message reference=0"), "sendsms: {out}");
    let kept = centre.kept();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].from, ALICE);
    assert_eq!(kept[0].submit.destination.number, "+8613900000099");
    assert_eq!(kept[0].submit.user_data.text(kept[0].submit.coding()).as_deref(), Some("Hello from gammu"));

    let stamp = pdu::Timestamp::from_utc(time::OffsetDateTime::now_utc());
    for deliver in vmodem::sms::message(BOB, "Meet at noon", None, stamp).unwrap() {
        let incoming = vmodem::sms::centre::Incoming::Deliver(deliver);
        centre.deliver(ALICE, incoming).await.expect("Alice's modem takes it");
    }
    let (code, out) = run(&["getallsms"]).await.unwrap();
    assert_eq!(code, 0, "getallsms: {out}");
    assert!(out.contains("Meet at noon") && out.contains(BOB), "getallsms: {out}");
    let (code, out) = run(&["deletesms", "1", "1"]).await.unwrap();
    assert_eq!(code, 0, "deletesms: {out}");
    let (code, out) = run(&["getallsms"]).await.unwrap();
    assert_eq!(code, 0, "getallsms: {out}");
    assert!(!out.contains("Meet at noon"), "deleted: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_storage_keeps_messages_at_the_centre_until_the_host_deletes() {
    let centre = SmsCentre::default();
    let mut alice = Host::start("sim7080", ALICE, &centre).await;
    let mut config = ModuleConfig { family: "sim800".parse().unwrap(), ..ModuleConfig::default() };
    config.identity.number = BOB.into();
    config.sms.sim_capacity = 1;
    let mut bob = Host::with(config, &centre).await;
    alice.at("AT+CMGF=1").await;
    bob.at("AT+CMGF=1").await;
    for text in ["one", "two"] {
        let sent = alice.prompted(&format!("AT+CMGS=\"{BOB}\""), text.as_bytes()).await;
        assert!(sent.ends_with("\r\n\r\nOK\r\n"), "{sent}");
    }
    assert_eq!(bob.until(&["+CMTI: \"SM\",1\r\n"]).await, "\r\n+CMTI: \"SM\",1\r\n");
    let full = bob.at("AT+CPMS?").await;
    assert_eq!(full, "\r\n+CPMS: \"SM_P\",1,1,\"SM_P\",1,1,\"SM_P\",1,1\r\n\r\nOK\r\n", "only one came");
    let read = bob.at("AT+CMGR=1").await;
    assert!(read.contains("\r\none\r\n"), "{read}");
    assert_eq!(bob.at("AT+CMGD=1").await, "\r\nOK\r\n");
    assert_eq!(bob.until(&["+CMTI: \"SM\",1\r\n"]).await, "\r\n+CMTI: \"SM\",1\r\n", "the second, once there is room");
    let read = bob.at("AT+CMGR=1").await;
    assert!(read.contains("\r\ntwo\r\n"), "{read}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_report_comes_back_when_the_sender_asks_for_one() {
    let (mut alice, mut bob) = pair("sim800", "sim7080").await;
    for cmd in ["AT+CMGF=1", "AT+CSMP=49,167,0,0", "AT+CNMI=2,1,0,2"] {
        assert_eq!(alice.at(cmd).await, "\r\nOK\r\n", "{cmd}");
    }
    let sent = alice.prompted(&format!("AT+CMGS=\"{BOB}\""), b"report back").await;
    assert_eq!(sent, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(bob.until(&["+CMTI: \"SM\",1\r\n"]).await, "\r\n+CMTI: \"SM\",1\r\n");
    assert_eq!(alice.until(&["+CDSI: \"SM\",1\r\n"]).await, "\r\n+CDSI: \"SM\",1\r\n");
    let report = alice.at("AT+CMGR=1").await;
    assert!(report.starts_with(&format!("\r\n+CMGR: \"REC UNREAD\",6,0,\"{BOB}\",145,\"")), "{report}");
    assert!(report.ends_with("\",0\r\n\r\nOK\r\n"), "status 0, received: {report}");
}
