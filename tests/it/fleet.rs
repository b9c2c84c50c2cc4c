//! Fleets (`vmodem::fleet`): many modems in one process on their own Unix sockets, each with its
//! own well-formed identity, texting one another through the shared SMS centre; two shards of
//! one fleet serve disjoint modems.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use vmodem::config::{FleetSection, ModuleConfig, Weighted};
use vmodem::fleet::identity::luhn;
use vmodem::fleet::{Fleet, Lines, Shard};
use vmodem::net::Net;
use vmodem::transport::line::LineOptions;

use crate::support::rig::{at_ok, read_until, trace};

const WAIT: Duration = Duration::from_secs(10);

/// A host on modem `index`'s socket in `dir`, echo off.
async fn host(dir: &Path, index: u64) -> UnixStream {
    let mut line = UnixStream::connect(dir.join(format!("modem-{index}.sock"))).await.expect("the modem's socket");
    line.write_all(b"ATE0\r").await.unwrap();
    until(&mut line, "OK\r\n").await;
    line
}

/// What comes up to and including `end`.
async fn until(line: &mut UnixStream, end: &str) -> String {
    read_until(line, end, WAIT).await
}

async fn at(line: &mut UnixStream, cmd: &str) -> String {
    at_ok(line, cmd, WAIT).await
}

/// The bare value a command answers (`AT+CGSN`'s IMEI).
async fn value(line: &mut UnixStream, cmd: &str) -> String {
    at(line, cmd).await.trim().trim_end_matches("OK").trim().to_string()
}

fn options() -> LineOptions {
    LineOptions { pacing: false, ..LineOptions::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_s_modems_have_their_own_identities_and_text_each_other() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let base = ModuleConfig { family: "sim800".parse().unwrap(), ..ModuleConfig::default() };
    let fleet = Fleet::start(
        &base,
        &Lines::Unix(dir.path().into()),
        0..20,
        &Net::default(),
        options(),
        &FleetSection::default(),
    )
    .await
    .unwrap();
    assert_eq!(fleet.len(), 20);
    let mut imeis = std::collections::HashSet::new();
    for index in [0, 1, 7, 19] {
        let mut line = host(dir.path(), index).await;
        let imei = value(&mut line, "AT+CGSN").await;
        assert_eq!(imei.len(), 15, "{imei}");
        assert_eq!(luhn(&imei[..14]), imei[14..].parse().ok(), "modem {index}: {imei}'s check digit");
        assert!(imeis.insert(imei), "modem {index}'s IMEI is its own");
    }
    let mut seven = host(dir.path(), 7).await;
    let own = at(&mut seven, "AT+CNUM").await;
    assert_eq!(own, "\r\n+CNUM: \"\",\"+8613800000008\",145\r\n\r\nOK\r\n");
    let mut one = host(dir.path(), 1).await;
    at(&mut one, "AT+CMGF=1").await;
    one.write_all(b"AT+CMGS=\"+8613800000008\"\r").await.unwrap();
    until(&mut one, "> ").await;
    one.write_all(b"from modem 1\x1a").await.unwrap();
    assert_eq!(until(&mut one, "OK\r\n").await, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(until(&mut seven, "\r\n+CMTI: \"SM\",1\r\n").await, "\r\n+CMTI: \"SM\",1\r\n");
    at(&mut seven, "AT+CMGF=1").await;
    let read = at(&mut seven, "AT+CMGR=1").await;
    assert!(read.contains("\"+8613800000002\"") && read.contains("\r\nfrom modem 1\r\n"), "{read}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_of_one_fleet_serve_disjoint_modems() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let base = ModuleConfig { family: "sim7080".parse().unwrap(), ..ModuleConfig::default() };
    let lines = Lines::Unix(dir.path().into());
    let shards = [Shard { index: 0, count: 2 }, Shard { index: 1, count: 2 }];
    let mut fleets = Vec::new();
    for shard in shards {
        fleets.push(
            Fleet::start(&base, &lines, shard.range(9), &Net::default(), options(), &FleetSection::default())
                .await
                .unwrap(),
        );
    }
    let served: Vec<Vec<u64>> = fleets.iter().map(|f| f.described.iter().map(|(i, _)| *i).collect()).collect();
    assert_eq!(served, [vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8]]);
    let mut imeis = std::collections::HashSet::new();
    for index in 0..9 {
        let mut line = host(dir.path(), index).await;
        assert!(imeis.insert(value(&mut line, "AT+CGSN").await), "modem {index}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_fleet_draws_each_modem_s_family_from_the_seed_the_same_way_every_run() {
    trace();
    let base = ModuleConfig { family: "sim7080".parse().unwrap(), ..ModuleConfig::default() };
    let weighted = |name: &str, weight| Weighted { name: name.into(), weight };
    let variety = FleetSection {
        seed: 7,
        dialects: vec![weighted("sim800", 1), weighted("l610", 1), weighted("sim900", 0)],
        profiles: vec![weighted("catm", 1), weighted("nbiot", 1)],
        faults: Vec::new(),
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let lines = Lines::Unix(dir.path().into());
        let _fleet = Fleet::start(&base, &lines, 0..12, &Net::default(), options(), &variety).await.unwrap();
        let mut models = Vec::new();
        for index in 0..12 {
            let mut line = host(dir.path(), index).await;
            models.push(value(&mut line, "AT+CGMM").await);
        }
        runs.push(models);
    }
    assert_eq!(runs[0], runs[1], "the same seed, the same fleet");
    let kinds: std::collections::HashSet<&String> = runs[0].iter().collect();
    assert_eq!(kinds.len(), 2, "both weighted families, never the one of weight 0: {:?}", runs[0]);
    let bad = FleetSection { profiles: vec![weighted("warp", 1)], ..FleetSection::default() };
    let dir = tempfile::tempdir().unwrap();
    let refused = Fleet::start(&base, &Lines::Unix(dir.path().into()), 0..1, &Net::default(), options(), &bad).await;
    assert!(matches!(refused, Err(e) if e.to_string().contains("warp")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_runs_a_transcript_on_every_modem_with_its_own_variables_and_sums_up() {
    trace();
    use vmodem::fleet::drive::{DriveOptions, Summary, drive};
    use vmodem::script::Script;
    let base = ModuleConfig { family: "sim800".parse().unwrap(), ..ModuleConfig::default() };
    let script =
        Script::parse("> ATE0\n< OK\n> AT+CGSN\n< {imei}\n< OK\n> AT+CNUM\n< +CNUM: \"\",\"{number}\",145\n< OK\n")
            .unwrap();
    let options =
        DriveOptions { concurrency: 16, rate: 0, vars: Default::default(), metrics: Default::default(), lines: None };
    let results = drive(&base, 0..40, &Net::default(), &script, &options, |_| {}).await.unwrap();
    let summary = Summary::of(&results);
    assert_eq!((summary.modems, summary.passed, summary.failed), (40, 40, 0), "{results:?}");
    assert!(summary.millis[0] > 0.0 && summary.millis[3] >= summary.millis[0]);

    // A script that only some modems pass: modem 3's IMEI is expected of every one.
    let imei3 = vmodem::fleet::identity::indexed(&base.identity, 3).imei;
    let text = format!("> ATE0\n< OK\n> AT+CGSN\n< {imei3}\n< OK\n");
    let script = Script::parse(&text).unwrap();
    let results = drive(&base, 0..8, &Net::default(), &script, &options, |_| {}).await.unwrap();
    let summary = Summary::of(&results);
    assert_eq!((summary.passed, summary.failed), (1, 7));
    assert_eq!(summary.first_failures.len(), 1, "{:?}", summary.first_failures);
    assert_eq!(summary.first_failures[0].1, 0, "modem 0 failed first in index order");
    assert!(results.iter().find(|r| r.index == 3).is_some_and(|r| r.failure.is_none()));

    // The same script over the lines of a fleet that runs apart (as `vmodem fleet --unix` would):
    // each line is the modem with that index's identity.
    let dir = tempfile::tempdir().unwrap();
    let lines = Lines::Unix(dir.path().into());
    let _fleet =
        Fleet::start(&base, &lines, 0..6, &Net::default(), self::options(), &FleetSection::default()).await.unwrap();
    let script =
        Script::parse("> ATE0\n< OK\n> AT+CGSN\n< {imei}\n< OK\n> AT+CNUM\n< +CNUM: \"\",\"{number}\",145\n< OK\n")
            .unwrap();
    let over_lines = DriveOptions { lines: Some(lines), ..options.clone() };
    let results = drive(&base, 0..7, &Net::default(), &script, &over_lines, |_| {}).await.unwrap();
    let summary = Summary::of(&results);
    assert_eq!((summary.passed, summary.failed), (6, 1), "{results:?}");
    let missing = results.iter().find(|r| r.index == 6).and_then(|r| r.failure.clone()).unwrap();
    assert!(missing.contains("cannot reach the modem's line"), "{missing}");
}

/// `vmodem drive` as a user runs it: a thousand SIM7080s each upload 256 KiB by FTP to vsftpd
/// (tests/drive/ftp-upload.at). Every file arrives intact under its modem's name, and the JSON
/// summary agrees with what the server holds: every modem and every step passed, and the bytes
/// sent are the files' and the commands'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn drive_uploads_a_file_from_each_of_a_thousand_modems_to_vsftpd() {
    use crate::support::rig::{Kind, Server};
    const MODEMS: usize = 1000;
    const SIZE: usize = 256 * 1024;
    trace();
    let server = Server::start(Kind::Vsftpd).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/drive/ftp-upload.at");
    let mut drive = tokio::process::Command::new(env!("CARGO_BIN_EXE_vmodem"));
    drive.args(["drive", script, "--count", &MODEMS.to_string(), "--concurrency", "250", "--json"]);
    for (name, value) in [
        ("ftp_host", server.addr.ip().to_string()),
        ("ftp_port", server.addr.port().to_string()),
        ("ftp_user", server.user.clone()),
        ("ftp_pass", server.password.clone()),
        ("ftp_dir", server.remote.clone()),
    ] {
        drive.arg("--var").arg(format!("{name}={value}"));
    }
    drive.kill_on_drop(true).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let run = tokio::time::timeout(Duration::from_secs(600), drive.output()).await.expect("the drive ends in time");
    let output = run.expect("vmodem drive runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{:?}\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(!stdout.contains(&server.password), "the password is masked in the steps: {stdout}");
    let pattern: Vec<u8> = b"0123456789".iter().copied().cycle().take(SIZE).collect();
    let mut arrived = 0;
    for index in 0..MODEMS {
        let file = server.read_if_any(&format!("up-{index}.bin"));
        assert!(file == pattern, "modem {index}'s file: {} bytes, not the 256 KiB it sent", file.len());
        arrived += 1;
    }
    assert_eq!(summary["modems"], MODEMS, "{summary}");
    assert_eq!((summary["passed"].as_u64(), summary["failed"].as_u64()), (Some(arrived), Some(0)), "{summary}");
    let steps = summary["steps"].as_array().expect("steps");
    let data = steps.iter().find(|s| s["command"] == format!("<{SIZE} bytes>")).expect("the data step");
    assert_eq!(data["passed"], MODEMS, "{data}");
    assert!(steps.iter().all(|s| s["passed"] == MODEMS && s["failed"] == 0), "{steps:?}");
    let sent = summary["bytes_sent"].as_u64().unwrap();
    let commands = sent - (MODEMS * SIZE) as u64;
    assert!(sent > (MODEMS * SIZE) as u64 && commands < (MODEMS * 400) as u64, "{sent} bytes sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_dials_the_hosts_its_connect_template_names() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let listeners: Vec<tokio::net::UnixListener> =
        (0..3).map(|i| tokio::net::UnixListener::bind(dir.path().join(format!("host-{i}.sock"))).unwrap()).collect();
    let base = ModuleConfig { family: "sim800".parse().unwrap(), ..ModuleConfig::default() };
    let template = format!("unix:{}/host-{{index}}.sock", dir.path().display());
    let _fleet =
        Fleet::start(&base, &Lines::Connect(template), 0..3, &Net::default(), options(), &FleetSection::default())
            .await
            .unwrap();
    let mut imeis = Vec::new();
    for (index, listener) in listeners.iter().enumerate() {
        let (mut line, _) = tokio::time::timeout(WAIT, listener.accept()).await.expect("modem dials").unwrap();
        at(&mut line, "ATE0").await;
        imeis.push(value(&mut line, "AT+CGSN").await);
        let own = format!("+86138000000{:02}", index + 1);
        assert!(at(&mut line, "AT+CNUM").await.contains(&own), "modem {index} dialled host {index}");
    }
    imeis.sort();
    imeis.dedup();
    assert_eq!(imeis.len(), 3, "{imeis:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_rate_strikes_the_modems_the_seed_draws_at_their_moments() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let base = ModuleConfig { family: "sim7080".parse().unwrap(), ..ModuleConfig::default() };
    let config: vmodem::config::Config = toml::from_str(
        "[fleet]\nseed = 5\n[[fleet.faults]]\nrate = 0.25\nperiod = 2\nfault = { kind = \"drop_bearer\" }\n",
    )
    .unwrap();
    let bad = "[[fleet.faults]]\nrate = 1.5\nperiod = 2\nfault = { kind = \"drop_bearer\" }\n";
    let refused = toml::from_str::<vmodem::config::Config>(bad).unwrap_err().to_string();
    assert!(refused.contains("rate 1.5: a share from 0 to 1"), "{refused}");
    let lines = Lines::Unix(dir.path().into());
    let fleet = Fleet::start(&base, &lines, 0..40, &Net::default(), options(), &config.serve.fleet).await.unwrap();
    let started = std::time::Instant::now();
    let drawn = vmodem::fleet::struck(5, 0, 0, 0.25, 0..40);
    assert!((4..=18).contains(&drawn.len()), "{drawn:?}");
    // Halfway through the first period: those drawn early have been struck, those drawn late
    // and those not drawn have not (0.2 of a period, 400 ms, either side for a slow machine).
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(started.elapsed())).await;
    let faults = |index: u64| fleet.modems().get(index).unwrap().handle.status().status.counters.faults;
    for index in 0..40 {
        let moment = drawn.iter().find(|(_, i)| *i == index).map(|(at, _)| *at);
        match moment {
            Some(at) if at < 0.3 => assert_eq!(faults(index), 1, "modem {index}, drawn at {at}"),
            Some(at) if at < 0.7 => {}
            _ => assert_eq!(faults(index), 0, "modem {index}: {moment:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_s_file_system_folder_is_made_when_it_is_first_used() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut base = ModuleConfig { family: "sim7080".parse().unwrap(), ..ModuleConfig::default() };
    base.fs.root = Some(root.path().to_path_buf());
    let lines = Lines::Unix(dir.path().into());
    let _fleet =
        Fleet::start(&base, &lines, 0..50, &Net::default(), options(), &FleetSection::default()).await.unwrap();
    let folders = || std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
    assert!(folders().is_empty(), "no folder before use: {:?}", folders());
    let mut line = host(dir.path(), 7).await;
    at(&mut line, "AT+CFSINIT").await;
    assert!(at(&mut line, "AT+CFSGFRS?").await.contains("+CFSGFRS: "));
    assert_eq!(folders(), [std::ffi::OsString::from("modem-7")]);
    assert!(root.path().join("modem-7/customer").is_dir());
}
