//! The deployment files: the `Dockerfile` and the manifests under `deploy/kubernetes/`. Every
//! manifest parses; the shard counts, ports and mounts agree with one another and with the
//! `vmodem` command line each pod runs; the configuration and the drive script in the
//! ConfigMaps load as vmodem reads them, and the script uploads a file per modem to an FTP
//! server on loopback; and `vmodem fleet` processes started with `--shard K/N`, as the
//! StatefulSet's pods are, serve disjoint slices of one fleet with distinct identities.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_yaml_ng::Value;
use vmodem::config::{Config, Identity};
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::family::Family;
use vmodem::fleet::Shard;
use vmodem::fleet::drive::{DriveOptions, Summary, drive};
use vmodem::fleet::identity::indexed;
use vmodem::net::{LinkProfile, Redirect};
use vmodem::script::{Content, Script};

/// The longest a process may take to start its modems, and a modem to answer.
const WAIT: Duration = Duration::from_secs(20);

/// The FTP port the drive script uses unless told otherwise.
const FTP_PORT: u16 = 21;

/// A path under the repository.
fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The YAML documents of `text`, in order.
fn documents(text: &str) -> Result<Vec<Value>, serde_yaml_ng::Error> {
    serde_yaml_ng::Deserializer::from_str(text).map(Value::deserialize).collect()
}

/// The documents of one manifest under deploy/kubernetes/.
fn manifest(name: &str) -> Vec<Value> {
    let path = repo("deploy/kubernetes").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    documents(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The one object of `kind` among `docs`.
fn object<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

/// The object of `kind` named `name` among `docs`.
fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} named {name:?} in the same file"))
}

/// A string field (panics with its name when it is not a string).
fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

/// A number field.
fn number(value: &Value, what: &str) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("{what} is not a number: {value:?}"))
}

/// The one container of a workload's pod template.
fn container(workload: &Value) -> &Value {
    let containers = workload["spec"]["template"]["spec"]["containers"].as_sequence().expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// The container's arguments.
fn args(workload: &Value) -> Vec<String> {
    let args = container(workload)["args"].as_sequence().expect("args");
    args.iter().map(|a| text(a, "an argument").to_string()).collect()
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let at = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    args.get(at + 1).unwrap_or_else(|| panic!("{flag} has no value"))
}

/// A numeric flag's value.
fn count(args: &[String], name: &str) -> u64 {
    flag(args, name).parse().unwrap_or_else(|_| panic!("{name} {} is not a number", flag(args, name)))
}

/// An address flag's value.
fn addr(args: &[String], name: &str) -> SocketAddr {
    flag(args, name).parse().unwrap_or_else(|_| panic!("{name} {} is not an address", flag(args, name)))
}

/// The `NAME=VALUE` pairs of every `--var`.
fn vars(args: &[String]) -> BTreeMap<String, String> {
    let pairs = args.windows(2).filter(|w| w[0] == "--var");
    pairs.map(|w| w[1].split_once('=').expect("--var NAME=VALUE")).map(|(k, v)| (k.into(), v.into())).collect()
}

/// The file at `path` in the container, from the ConfigMap mounted at its folder; the
/// ConfigMap must be in `docs`.
fn mounted(docs: &[Value], workload: &Value, path: &str) -> String {
    let (dir, file) = path.rsplit_once('/').expect("an absolute path");
    let mounts = container(workload)["volumeMounts"].as_sequence().expect("volumeMounts");
    let mount = mounts.iter().find(|m| m["mountPath"] == dir).unwrap_or_else(|| panic!("nothing mounted at {dir}"));
    let volume_name = text(&mount["name"], "a mount's name");
    let volumes = workload["spec"]["template"]["spec"]["volumes"].as_sequence().expect("volumes");
    let volume = volumes.iter().find(|v| v["name"] == volume_name).expect("the mount's volume");
    let map_name = text(&volume["configMap"]["name"], "the volume's ConfigMap");
    // Without `items` every key of the ConfigMap is a file of that name.
    let key = match volume["configMap"]["items"].as_sequence() {
        Some(items) => {
            let item = items.iter().find(|i| i["path"] == file).unwrap_or_else(|| panic!("no item {file}"));
            text(&item["key"], "an item's key")
        }
        None => file,
    };
    let map = named(docs, "ConfigMap", map_name);
    text(&map["data"][key], &format!("{map_name}'s {key}")).to_string()
}

/// A configuration file's text, loaded as `vmodem --config` loads the file.
fn load(text: &str) -> anyhow::Result<Config> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("vmodem.toml");
    std::fs::write(&file, text)?;
    Config::load(&file)
}

/// The configuration at `path` in the container, loaded.
fn config(docs: &[Value], workload: &Value, path: &str) -> Config {
    load(&mounted(docs, workload, path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_manifest_parses_into_named_kubernetes_objects() {
    let mut files: Vec<String> = std::fs::read_dir(repo("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    files.sort();
    assert_eq!(files, ["drive-job.yaml", "fleet-statefulset.yaml"]);
    for name in &files {
        let docs = manifest(name);
        assert!(!docs.is_empty(), "{name} holds objects");
        for doc in &docs {
            for field in ["apiVersion", "kind"] {
                assert!(doc[field].is_string(), "{name}: {field} in {doc:?}");
            }
            assert!(doc["metadata"]["name"].is_string(), "{name}: a {:?} without a name", doc["kind"]);
        }
    }
    assert!(documents("a: [1\n").is_err(), "a broken document fails");
}

#[test]
fn the_job_is_indexed_with_one_completion_per_shard() {
    let docs = manifest("drive-job.yaml");
    let job = object(&docs, "Job");
    let spec = &job["spec"];
    let args = args(job);
    assert_eq!(args[0], "drive");
    let shards = count(&args, "--shards");
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(number(&spec["completions"], "completions"), shards);
    assert_eq!(number(&spec["parallelism"], "parallelism"), shards);
    assert!(spec["backoffLimit"].is_u64(), "a backoffLimit");
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    assert!(count(&args, "--count") >= shards, "every pod has modems");
    assert!(args.iter().any(|a| a == "--json"), "a summary a machine reads");
}

#[test]
fn the_statefulset_has_a_headless_service_and_one_pod_per_shard() {
    let docs = manifest("fleet-statefulset.yaml");
    let set = object(&docs, "StatefulSet");
    let spec = &set["spec"];
    let service = named(&docs, "Service", text(&spec["serviceName"], "serviceName"));
    assert_eq!(service["spec"]["clusterIP"], "None", "headless");
    let labels = &spec["template"]["metadata"]["labels"];
    for selector in [&service["spec"]["selector"], &spec["selector"]["matchLabels"]] {
        let selector = selector.as_mapping().expect("a selector");
        assert!(!selector.is_empty() && selector.iter().all(|(k, v)| labels[k] == *v), "{selector:?} picks the pods");
    }
    assert_eq!(spec["podManagementPolicy"], "Parallel");
    let args = args(set);
    assert_eq!(args[0], "fleet");
    let (modems, shards) = (count(&args, "--count"), count(&args, "--shards"));
    assert_eq!(number(&spec["replicas"], "replicas"), shards);
    // Modem i listens on the base port + i, i counted over the whole fleet.
    let base = u64::from(addr(&args, "--tcp").port());
    let ports = base..base + modems;
    assert!(ports.end - 1 <= 65535, "the fleet's last modem needs port {}", ports.end - 1);
    let metrics = u64::from(addr(&args, "--metrics").port());
    assert!(!ports.contains(&metrics), "the metrics port {metrics} is no modem's");
    let sysctls = spec["template"]["spec"]["securityContext"]["sysctls"].as_sequence().cloned().unwrap_or_default();
    for sysctl in sysctls.iter().filter(|s| s["name"] == "net.ipv4.ip_local_port_range") {
        let range = text(&sysctl["value"], "the port range");
        let low: u64 = range.split_whitespace().next().and_then(|l| l.parse().ok()).expect("LOW HIGH");
        assert!(low >= ports.end, "local ports from {low} clash with the modems' {ports:?}");
    }
}

#[test]
fn the_statefulset_s_flags_are_ones_vmodem_fleet_takes() {
    let docs = manifest("fleet-statefulset.yaml");
    let args = args(object(&docs, "StatefulSet"));
    let help = Command::new(env!("CARGO_BIN_EXE_vmodem")).args([&args[0], "--help"]).output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let known: HashSet<&str> = help.split_whitespace().filter(|w| w.starts_with("--")).collect();
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(known.contains(flag.as_str()), "vmodem {} takes no {flag}", args[0]);
    }
    assert!(!known.contains("--no-such-flag"));
}

#[test]
fn pods_carry_the_prometheus_annotations_of_their_metrics_port() {
    for (file, kind) in [("fleet-statefulset.yaml", "StatefulSet"), ("drive-job.yaml", "Job")] {
        let docs = manifest(file);
        let workload = object(&docs, kind);
        let port = addr(&args(workload), "--metrics").port();
        let notes = &workload["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(notes["prometheus.io/scrape"], "true", "{kind}");
        assert_eq!(notes["prometheus.io/path"], "/metrics", "{kind}");
        assert_eq!(text(&notes["prometheus.io/port"], "the port annotation"), port.to_string(), "{kind}");
        let ports = container(workload)["ports"].as_sequence().expect("ports");
        assert!(ports.iter().any(|p| p["containerPort"].as_u64() == Some(port.into())), "{kind}: port {port}");
    }
}

#[test]
fn the_files_the_commands_name_are_keys_of_the_config_maps_mounted_there() {
    let docs = manifest("fleet-statefulset.yaml");
    let set = object(&docs, "StatefulSet");
    assert!(mounted(&docs, set, flag(&args(set), "--config")).contains("[fleet]"));
    let docs = manifest("drive-job.yaml");
    let job = object(&docs, "Job");
    let args = args(job);
    assert!(mounted(&docs, job, flag(&args, "--config")).contains("dialect"));
    assert!(mounted(&docs, job, &args[1]).contains("AT+FTPPUT"), "the script {}", args[1]);
    let missing = std::panic::catch_unwind(|| mounted(&docs, job, "/etc/vmodem/absent.txt"));
    assert!(missing.is_err(), "a file no ConfigMap holds");
}

#[test]
fn the_configurations_in_the_config_maps_load_as_vmodem_reads_them() {
    for (file, kind) in [("fleet-statefulset.yaml", "StatefulSet"), ("drive-job.yaml", "Job")] {
        let docs = manifest(file);
        let workload = object(&docs, kind);
        let config = config(&docs, workload, flag(&args(workload), "--config"));
        let fleet = &config.serve.fleet;
        for choice in &fleet.dialects {
            assert!(choice.name.parse::<Family>().is_ok(), "{kind}: [fleet] family {}", choice.name);
        }
        for choice in &fleet.profiles {
            assert!(choice.name.parse::<LinkProfile>().is_ok(), "{kind}: [fleet] profile {}", choice.name);
        }
        assert!(config.serve.net.net(Vec::new()).is_ok(), "{kind}: [net]");
    }
    let docs = manifest("fleet-statefulset.yaml");
    let config = config(&docs, object(&docs, "StatefulSet"), "/etc/vmodem/vmodem.toml");
    assert!(!config.serve.fleet.profiles.is_empty(), "the fleet mixes links");
    assert!(load("[fleet]\nseed = 1\nflavours = []\n").is_err(), "an unknown key fails the load");
}

#[test]
fn the_drive_script_in_its_config_map_parses_and_compiles_with_the_job_s_variables() {
    let docs = manifest("drive-job.yaml");
    let job = object(&docs, "Job");
    let args = args(job);
    let text = mounted(&docs, job, &args[1]);
    let script = Script::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", args[1]));
    let config = config(&docs, job, flag(&args, "--config"));
    let family = script.header.family.as_deref().expect("@family").parse::<Family>().unwrap();
    assert_eq!(family, config.module.family, "the script's family is the one driven");
    assert!(text.contains("AT+FTPPUTNAME=\"modem-{index}"), "each modem its own file");
    // What `vmodem drive` gives each modem, on top of the Job's --var.
    let identity = indexed(&Identity::default(), 7);
    let own: BTreeMap<String, String> = [
        ("index", "7".to_string()),
        ("imei", identity.imei),
        ("imsi", identity.imsi),
        ("iccid", identity.iccid),
        ("number", identity.number),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut given = vars(&args);
    given.extend(own.clone());
    assert!(script.compile(&given).is_ok(), "{:?}", script.compile(&given).err());
    let refused = script.compile(&own).expect_err("the script needs the Job's host");
    assert!(refused.contains("host"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drive_script_uploads_one_file_per_modem_of_a_pod_s_slice() {
    let docs = manifest("drive-job.yaml");
    let job = object(&docs, "Job");
    let args = args(job);
    let config = config(&docs, job, flag(&args, "--config"));
    let script = Script::parse(&mounted(&docs, job, &args[1])).unwrap();
    // The Secret's password stands in for the reference the Job's argument holds.
    let mut given = vars(&args);
    given.insert("password".into(), "test-password".into());
    let root = tempfile::tempdir().unwrap();
    let ftp = EmbeddedFtp::start(EmbeddedFtpConfig {
        root: root.path().into(),
        user: given["user"].clone(),
        password: given["password"].clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap();
    // The Job's FTP host is this server, on loopback.
    let redirect = Redirect::new(given["host"].clone(), Some(FTP_PORT), ftp.addr());
    let net = config.serve.net.net(vec![redirect]).unwrap();
    // The first three modems of the last pod's slice.
    let (modems, shards) = (count(&args, "--count"), count(&args, "--shards"));
    let index = (shards - 1).to_string();
    let shard = Shard::from_env(shards, |key| (key == "JOB_COMPLETION_INDEX").then(|| index.clone())).unwrap();
    let slice = shard.range(modems);
    assert_eq!(slice.end, modems, "the last pod drives the last modems");
    let indices = slice.start..slice.start + 3;
    let options = DriveOptions { concurrency: 3, rate: 0, vars: given, metrics: Default::default(), lines: None };
    let results = drive(&config.module, indices.clone(), &net, &script, &options, |_| {}).await.unwrap();
    let summary = Summary::of(&results);
    assert_eq!((summary.modems, summary.passed), (3, 3), "{:?}", summary.first_failures);
    let expected = Content::parse("pattern:1024").unwrap().bytes();
    for index in indices {
        let file = root.path().join(format!("modem-{index}.bin"));
        let uploaded = std::fs::read(&file).unwrap_or_else(|e| panic!("modem {index}'s upload: {e}"));
        assert_eq!(uploaded, expected, "modem {index}'s bytes");
    }
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 3, "one file a modem");
}

#[test]
fn the_dockerfile_builds_vmodem_locked_in_a_builder_stage_and_runs_it_in_a_slim_one() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let lines: Vec<&str> = dockerfile.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    let stages: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[0].starts_with("FROM rust:") && stages[0].ends_with(" AS builder"), "{}", stages[0]);
    assert!(stages[1].starts_with("FROM debian:bookworm-slim"), "{}", stages[1]);
    let runtime = dockerfile.split(stages[1]).nth(1).expect("the runtime stage");
    assert!(dockerfile.contains("cargo build --release --locked --bin vmodem"));
    assert!(runtime.contains("COPY --from=builder") && runtime.contains("/vmodem"), "the binary in the runtime");
    assert!(runtime.contains("ca-certificates"));
    assert!(runtime.contains("ENTRYPOINT [\"vmodem\"]"));
    let user = runtime.lines().find_map(|l| l.trim().strip_prefix("USER ")).expect("a USER");
    assert!(!["root", "0"].contains(&user.split(':').next().unwrap()), "USER {user}");

    // Everything the manifest needs goes in: the workspace's members, the patched crates, the
    // build script and the benches Cargo.toml names.
    let mut copied = Vec::new();
    for line in lines.iter().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        // The last word is where they go.
        copied.extend_from_slice(&words[..words.len() - 1]);
    }
    let cargo: toml::Table = toml::from_str(&std::fs::read_to_string(repo("Cargo.toml")).unwrap()).unwrap();
    let mut needed = vec!["Cargo.toml".to_string(), "Cargo.lock".into(), "build.rs".into(), "src".into()];
    let members = cargo["workspace"]["members"].as_array().unwrap();
    needed.extend(members.iter().map(|m| m.as_str().unwrap().to_string()));
    let patches = cargo["patch"]["crates-io"].as_table().unwrap();
    needed.extend(patches.values().map(|p| p["path"].as_str().unwrap().to_string()));
    needed.extend(
        cargo["bench"].as_array().unwrap().iter().map(|b| format!("benches/{}.rs", b["name"].as_str().unwrap())),
    );
    let ignored = std::fs::read_to_string(repo(".dockerignore")).unwrap();
    let ignored: Vec<&str> =
        ignored.lines().map(|l| l.trim().trim_end_matches('/')).filter(|l| !l.is_empty()).collect();
    for path in &needed {
        let covered = copied.iter().any(|c| path == c || path.starts_with(&format!("{c}/")));
        assert!(covered, "the builder copies {path} ({copied:?})");
        let first = path.split('/').next().unwrap();
        assert!(!ignored.iter().any(|i| *i == first || *i == path), ".dockerignore leaves {path} out");
    }
}

/// `vmodem fleet` processes that are killed when this is dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first of `count` consecutive loopback ports that are free now. They lie below Linux's
/// default range of local ports (from 32768), so that the ports other tests get with port 0
/// do not land on them before the fleet binds them.
fn free_ports(count: u16) -> u16 {
    for _ in 0..200 {
        let base = fastrand::u16(20_000..32_000);
        let bound: Vec<_> = (base..base + count).map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok()).collect();
        if bound.len() == usize::from(count) {
            return base;
        }
    }
    panic!("no {count} consecutive free ports");
}

/// Starts `vmodem fleet` as shard `k` of `n` of a fleet of `modems` on ports from `base`, and
/// waits for its banner, which it returns.
fn start_shard(processes: &mut Processes, k: u64, n: u64, modems: u64, base: u16) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmodem"))
        .args(["fleet", "--dialect", "sim7080", "--no-pacing", "--count", &modems.to_string()])
        .args(["--shard", &format!("{k}/{n}"), "--tcp", &format!("127.0.0.1:{base}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmodem starts");
    let stderr = child.stderr.take().unwrap();
    processes.0.push(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WAIT;
    let mut said = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(" modems (") => return line,
            Ok(line) => said.push(line),
            Err(_) => panic!("shard {k}/{n} gave no banner within {WAIT:?}; it said {said:?}"),
        }
    }
}

/// Reads from `line` up to and including the next `OK`, within `WAIT`.
fn until_ok(line: &mut TcpStream, port: u16) -> String {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while !got.ends_with(b"OK\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "port {port}: no OK in {WAIT:?}: {:?}", String::from_utf8_lossy(&got));
        line.set_read_timeout(Some(left)).unwrap();
        let mut byte = [0u8; 1];
        match line.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            Ok(_) => panic!("port {port} closed: {:?}", String::from_utf8_lossy(&got)),
            Err(e) => panic!("port {port}: {e}: {:?}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `cmd` to the modem on `port`, echo off, and returns its answer up to `OK`.
fn ask(port: u16, cmd: &str) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut line = TcpStream::connect_timeout(&addr, WAIT).unwrap_or_else(|e| panic!("port {port}: {e}"));
    // The modem powers on as the host connects: its boot URCs come before the first answer.
    line.write_all(b"ATE0\r").unwrap();
    until_ok(&mut line, port);
    line.write_all(format!("{cmd}\r").as_bytes()).unwrap();
    until_ok(&mut line, port)
}

/// The IMEI in an answer to `AT+CGSN`: its one line of 15 digits.
fn imei(answer: &str) -> String {
    let found: Vec<&str> = answer.lines().filter(|l| l.len() == 15 && l.bytes().all(|b| b.is_ascii_digit())).collect();
    assert_eq!(found.len(), 1, "one IMEI in {answer:?}");
    found[0].to_string()
}

/// Whether something listens on `port`.
fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), WAIT).is_ok()
}

#[test]
fn fleet_processes_serve_their_shards_disjoint_slices_with_distinct_identities() {
    const MODEMS: u64 = 9;
    const SHARDS: u64 = 3;
    let base = free_ports(MODEMS as u16);
    let port = |index: u64| base + index as u16;
    let mut processes = Processes(Vec::new());

    // Shard 0 alone: its three modems answer, the other slices' ports are nobody's.
    let banner = start_shard(&mut processes, 0, SHARDS, MODEMS, base);
    assert!(banner.contains("(0 to 2)") && banner.contains(&format!("127.0.0.1:{}", port(2))), "{banner}");
    assert!((0..3).all(|i| listening(port(i))), "shard 0 serves modems 0 to 2");
    assert!((3..MODEMS).all(|i| !listening(port(i))), "shard 0 serves no other modem");

    for k in 1..SHARDS {
        let slice = Shard { index: k, count: SHARDS }.range(MODEMS);
        let (first, last) = (slice.start, slice.end - 1);
        let banner = start_shard(&mut processes, k, SHARDS, MODEMS, base);
        assert!(banner.contains(&format!("({first} to {last})")), "shard {k}: {banner}");
        assert!(banner.contains(&format!("127.0.0.1:{} ", port(first))), "shard {k}: {banner}");
        assert!(banner.ends_with(&format!("127.0.0.1:{}", port(last))), "shard {k}: {banner}");
    }
    let mut imeis = HashSet::new();
    for index in 0..MODEMS {
        let imei = imei(&ask(port(index), "AT+CGSN"));
        assert_eq!(imei, indexed(&Identity::default(), index).imei, "modem {index}: its index's IMEI");
        assert!(imeis.insert(imei), "modem {index}'s IMEI is its own");
    }
    assert_eq!(imeis.len(), 9);
    for (k, child) in processes.0.iter_mut().enumerate() {
        assert!(child.try_wait().unwrap().is_none(), "shard {k} still runs");
    }
}
