//! Record and replay end to end. A host drives a modem of each family whose line is recorded as
//! `vmodem serve --record` records it, against the embedded FTP server: bring-up, login, every
//! byte value downloaded and uploaded (SIMCom `AT+FTPGET=2` / `AT+FTPPUT=2` blocks, the L610's
//! DLE/ETX data mode). The recording is then parsed and replayed by the transcript runner
//! against a fresh modem of the family and the same server. Also: secrets are masked in
//! recordings and logs, kept on request, and a masked recording replays only with the values.

use crate::support::rig;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use rig::*;
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::family::Family;
use vmodem::modem::Modem;
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem::record::{Options, Recorder};
use vmodem::script::{Expect, Program, Script, Step};
use vmodem::transport::Links;
use vmodem_at::dle::{ETX, escape_into};

/// The file every session downloads, and the bytes it uploads: every byte value, three times.
fn payload() -> Vec<u8> {
    every_byte(3)
}

/// Compiles a recording with `vars`, and plays it against a fresh `family` modem with `config`
/// on `net`.
async fn replay(
    text: &str,
    family: &str,
    config: &ModuleConfig,
    net: Net,
    vars: &[(String, String)],
) -> Result<(), String> {
    let vars: BTreeMap<String, String> = vars.iter().cloned().collect();
    let program = Script::parse(text).and_then(|s| s.compile(&vars))?;
    let family = family.parse().map_err(|e: vmodem::family::UnknownFamily| e.to_string())?;
    let dialect =
        dialect::build(std::sync::Arc::new(ModuleConfig { family, ..config.clone() })).map_err(|e| e.to_string())?;
    let (mut host, line) = tokio::io::duplex(1 << 16);
    let modem = tokio::spawn(Modem::new(dialect, net).run(Links::single(Box::new(line))));
    let outcome = vmodem::script::run(&program, &mut host).await;
    modem.abort();
    outcome.map(|_| ()).map_err(|m| m.to_string())
}

/// The bytes a compiled transcript sends, and those it expects literally, each run together.
fn wire(program: &Program) -> (Vec<u8>, Vec<u8>) {
    let (mut sent, mut expected) = (Vec::new(), Vec::new());
    for step in &program.steps {
        match step {
            Step::Send(bytes) => sent.extend_from_slice(bytes),
            Step::Expect { parts, .. } => {
                for part in parts {
                    if let Expect::Bytes(bytes) = part {
                        expected.extend_from_slice(bytes);
                    }
                }
            }
            _ => {}
        }
    }
    (sent, expected)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Downloads and uploads [`payload`] as the family does, checking both.
async fn transfer(server: &Server, m: &mut Rig) {
    let data = payload();
    if server.family == "l610" {
        m.ok("AT+FTPRETR=\"all.bin\"").await;
        let mut got = Vec::new();
        let end = m.data_mode_download("+FTPRETR", |b| got.extend_from_slice(b)).await;
        assert_eq!((end.code, got == data), (1, true), "{end:?}");
        m.ok("AT+FTPSTOR=\"up.bin\"").await;
        assert_eq!(m.data_mode_upload("+FTPSTOR", &data).await.code, 1);
    } else {
        let (code, got) = get(m, "all.bin").await;
        assert_eq!((code, got == data), (0, true));
        assert_eq!(put(m, "up.bin", &data).await.code, 0);
    }
    assert_eq!(server.read("up.bin"), data);
}

/// Records a session of `family`, then replays the recording against a fresh modem and the
/// same server (whose `up.bin` is removed first, so the replay's upload must write it again).
async fn record_and_replay(family: &'static str) {
    let mut server = Server::start(Kind::Libunftp).await;
    server.family = family;
    server.write("all.bin", &payload());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.at");
    let recorder = Recorder::create(&path, family.parse().unwrap(), Options::default()).unwrap();
    let mut m = server.recorded_modem(&recorder).await;
    transfer(&server, &mut m).await;
    drop(m);
    recorder.finish();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("\n@family {family}\n")), "{text}");

    // Every byte value crossed the line as data, and the recording holds it exactly.
    let secrets = recorder.secrets();
    let vars: BTreeMap<_, _> = secrets.iter().cloned().collect();
    let program = Script::parse(&text).and_then(|s| s.compile(&vars)).unwrap();
    let (sent, expected) = wire(&program);
    let data = payload();
    let (up, down) = match family {
        "l610" => {
            let mut escaped = Vec::new();
            escape_into(&data, &mut escaped);
            escaped.push(ETX);
            (escaped.clone(), escaped)
        }
        _ => (data.clone(), data),
    };
    assert!(contains(&sent, &up), "the upload is not in the recording's sent bytes:\n{text}");
    assert!(contains(&expected, &down), "the download is not in the recording's expected bytes:\n{text}");

    std::fs::remove_file(server.path("up.bin")).unwrap();
    let net = Net::new(NetConfig::redirecting(vec![Redirect::new(FTP_HOST, Some(21), server.addr)]));
    replay(&text, family, &ModuleConfig::default(), net, &secrets)
        .await
        .unwrap_or_else(|e| panic!("replay: {e}\n{text}"));
    assert_eq!(server.read("up.bin"), payload(), "the replay's upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7080_session_replays() {
    record_and_replay("sim7080").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7000_session_replays() {
    record_and_replay("sim7000").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim800_session_replays() {
    record_and_replay("sim800").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim900_session_replays() {
    record_and_replay("sim900").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l610_session_replays() {
    record_and_replay("l610").await;
}

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// The logs of every test of this file, at every level, from the first call on. (The
    /// subscriber is the process's: one set for a thread would miss events whose callsites
    /// another test's thread registered first.)
    fn everything() -> &'static Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::TRACE)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in this test binary");
            logs
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// A SIM800 whose SIM asks for [`PIN`].
fn pin_locked() -> ModuleConfig {
    let mut config = ModuleConfig::default();
    config.identity.sim_pin = Some(PIN.into());
    config
}

/// The SIM PIN of [`secret_session`].
/// Eight digits, so that no port number or byte count in the logs of the tests running beside
/// (the log capture is the process's) contains it by chance.
const PIN: &str = "97531864";

/// A SIM800 host unlocks the SIM with [`PIN`], sets an APN password, reads it back
/// (`AT+SAPBR=4,1` prints it) and sets an FTP password, recorded with `options`: the
/// recording, its secrets, and the logs (every level) of the session.
async fn secret_session(options: Options) -> (String, Vec<(String, String)>, String) {
    let logs = Logs::everything();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.at");
    let recorder = Recorder::create(&path, Family::Sim800, options).unwrap();
    let mut m = launch_recorded("sim800", pin_locked(), Net::default(), Some(&recorder)).await;
    m.ok(&format!("AT+CPIN=\"{PIN}\"")).await;
    m.ok("AT+SAPBR=3,1,\"PWD\",\"apn-s3cret\"").await;
    assert!(m.ok("AT+SAPBR=4,1").await.contains(&"PWD: apn-s3cret".to_string()));
    m.ok("AT+FTPPW=\"ftp-s3cret\"").await;
    drop(m);
    recorder.finish();
    (std::fs::read_to_string(&path).unwrap(), recorder.secrets(), logs.text())
}

#[tokio::test]
async fn passwords_are_masked_in_the_recording_and_the_logs() {
    let (text, secrets, logs) = secret_session(Options::default()).await;
    assert!(!text.contains("s3cret"), "{text}");
    assert!(!text.contains(PIN), "{text}");
    let masked = ["> AT+CPIN=\"{sim_pin}\"", "> AT+SAPBR=3,1,\"PWD\",\"{apn_pass}\"", "< PWD: {apn_pass}"];
    for line in masked.into_iter().chain(["> AT+FTPPW=\"{ftp_pass}\""]) {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    let values = |pin: &str| {
        [("sim_pin", pin), ("apn_pass", "apn-s3cret"), ("ftp_pass", "ftp-s3cret")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    };
    assert_eq!(secrets, values(PIN));
    let locked = pin_locked();
    replay(&text, "sim800", &locked, Net::default(), &values(PIN)).await.unwrap_or_else(|e| panic!("{e}\n{text}"));
    // The modem checks the PIN given: another one fails; none at all does not compile.
    assert!(replay(&text, "sim800", &locked, Net::default(), &values("1111")).await.is_err());
    let missing = replay(&text, "sim800", &locked, Net::default(), &[]).await.unwrap_err();
    assert!(missing.contains("{sim_pin}"), "{missing}");

    for command in ["AT+CPIN=\"****\"", "AT+SAPBR=3,1,\"PWD\",\"****\"", "AT+FTPPW=\"****\""] {
        assert!(logs.contains(command), "no {command} in the logs:\n{logs}");
    }
    assert!(!logs.contains("s3cret") && !logs.contains(PIN), "a secret in the logs:\n{logs}");
}

#[tokio::test]
async fn record_secrets_keeps_them() {
    let (text, secrets, _) = secret_session(Options { keep_secrets: true }).await;
    let kept = ["> AT+CPIN=\"97531864\"", "> AT+SAPBR=3,1,\"PWD\",\"apn-s3cret\"", "< PWD: apn-s3cret"];
    for line in kept.into_iter().chain(["> AT+FTPPW=\"ftp-s3cret\""]) {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(secrets.is_empty() && !text.contains("_pass}") && !text.contains("{sim_pin}"), "{text}");
    replay(&text, "sim800", &pin_locked(), Net::default(), &[]).await.unwrap_or_else(|e| panic!("{e}\n{text}"));
}

/// Command lines that carry secrets in every form a host may type them, each secret a distinct
/// `s3cret-...` word: quoted and bare, chained, unterminated, a URL's user information (set and
/// read back), authorization-like user data with and without its colon, a cookie, and `A/`
/// repeating a line that held one.
const SECRET_CORPUS: &[&str] = &[
    "AT+HTTPINIT",
    "AT+HTTPPARA=\"URL\",\"http://alice:s3cret-url@127.0.0.1/x\"",
    "AT+HTTPPARA?",
    "AT+HTTPPARA=\"USERDATA\",\"Authorization Basic s3cret-nocolon\"",
    "AT+HTTPPARA=\"USERDATA\",\"authorization: Bearer s3cret-bearer\"",
    "AT+HTTPPARA=\"USERDATA\",\"Cookie: id=s3cret-cookie\"",
    "AT+HTTPPARA?",
    "AT+SAPBR=3,1,\"PWD\",\"s3cret-apn\";+FTPPW=\"s3cret-chained\"",
    "A/",
    "AT+SAPBR=4,1",
    "at+ftppw=s3cret-bare",
    "AT+CSTT=\"apn\",\"u\",\"s3cret-cstt\"",
    "AT+CPIN=\"s3cret-pin\"",
    "AT+FTPPW=\"s3cret-unterminated",
];

#[tokio::test]
async fn every_secret_of_the_corpus_is_masked_in_the_recording_and_the_logs() {
    let logs = Logs::everything();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.at");
    let recorder = Recorder::create(&path, Family::Sim800, Options::default()).unwrap();
    let mut m = launch_recorded("sim800", ModuleConfig::default(), Net::default(), Some(&recorder)).await;
    // Echo on: each secret also comes back in the echo of its line.
    m.ok("ATE1").await;
    for line in SECRET_CORPUS {
        m.command(line).await;
    }
    drop(m);
    recorder.finish();
    let text = std::fs::read_to_string(&path).unwrap();
    let logs = logs.text();
    assert!(text.contains("{url_auth}") && text.contains("{http_auth}") && text.contains("{ftp_pass}"), "{text}");
    assert!(logs.contains("AT+HTTPPARA=\"URL\",\"http://****@127.0.0.1/x\""), "{logs}");
    for (i, line) in text.lines().enumerate() {
        assert!(!line.contains("s3cret"), "line {i} of the recording holds a secret: {line}\n{text}");
    }
    if let Some(line) = logs.lines().find(|l| l.contains("s3cret")) {
        panic!("a secret in the logs: {line}");
    }
}
