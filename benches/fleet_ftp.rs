//! A fleet downloading at once: 1,000 sim7080 modems in one process (`vmodem::fleet::drive`, as
//! `vmodem drive --concurrency 1000 --rate 1000` runs them, each on an in-memory line with a file
//! system of its own), each fetching its own 1 MiB file of random bytes (`file-<index>.bin`) from
//! vsftpd by plain FTP with `AT+FTPEXTGET=2` into its module file system, the fastest whole-file
//! path (see `ftp_download`). Beside them, in the same run, curl fetches the same 1,000 files from
//! the same server into a folder.
//!
//! No modem waits for another (concurrency 1000), but they start [`DEFAULT_RATE`] a second at
//! most, a pause of a millisecond after each, not all in the same instant: vsftpd listens with a
//! backlog of 32 (compiled in), and 1,000 connections at once overflow it; the kernel then
//! completes some with SYN cookies and drops them at the full queue, and their clients wait for a
//! greeting that never comes (measured all at once: 164, 0, 11 and 0 of 1,000 modems in four
//! runs, 574, 752 and 659 of 1,000 curl transfers in three). `VMODEM_BENCH_RATE=0` starts them
//! all at once to see it. On a machine that vsftpd's logins keep busy the pauses stretch, so the
//! starts spread over most of the run; the table says how far, and how many ran at once.
//!
//! curl's transfers start the same way, in processes of [`CURL_BURST`] (`--parallel
//! --parallel-immediate`, one `-o` per URL), a pause of `CURL_BURST / rate` after each; all at
//! once, in processes of [`CURL_PER_PROCESS`]: curl 7.88 caps `--parallel-max` at 300 (a larger
//! value is taken as 300: 300 transfers run and the rest wait), so one process cannot run 1,000
//! at once, and a process per file would add 1,000 process starts to curl's side.
//!
//! A vmodem run is timed from calling `drive` to the last modem's end (the modems' set-up, the
//! boot URCs, `AT+CNACT`, the FTP parameters and the transcript runner's final 300 ms check that
//! the line stays quiet included); curl from spawning the first process to the last one's exit.
//! Every file either client wrote is checked by SHA-256 against the one served, after the timing.
//! vmodem and curl runs alternate ([`RUNS`] of each, the first client swapping every round); each
//! run begins when vsftpd holds no session from the one before.
//!
//! The table gives the fastest, median and slowest run, the aggregate rate of the median, the
//! ratio vmodem/curl of the medians' rates, when the last modem (curl process) started, how many
//! downloads ran at once on average (the sum of their own times, each modem's run or each curl
//! transfer's, over the run's), CPU time (the client's: the benchmark process for vmodem, the curl
//! processes for curl; vsftpd's with its sessions; the whole machine's busy time from /proc/stat)
//! and the connections the kernel dropped at a full accept queue (`ListenOverflows`), so that a
//! low ratio can be traced. Under it: the load average before each run and how busy the CPUs
//! were in the second before it, and the last vmodem run's times per step.
//!
//! vsftpd is the one scripts/test-servers.sh starts (run `scripts/test-servers.sh start` first;
//! without it the benchmark stops with that advice): 2000 clients, 2000 per address, passive ports
//! 31000-32999. The files go into a folder of its root that is removed at the end.
//!
//! `cargo bench --bench fleet_ftp` prints the machine's load and one Markdown table.
//! `VMODEM_BENCH_MODEMS` sets another count (for a quick check, or to see how the rates scale),
//! `VMODEM_BENCH_RATE` another start rate (0: all at once), `VMODEM_BENCH_RUNS` another number of
//! runs.

#[path = "support/proc.rs"]
mod proc;
mod support;
#[path = "support/vsftpd.rs"]
mod vsftpd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use proc::{
    busy_share, children_cpu, env_number, listen_overflows, loadavg, machine_cpu, median_f64, raise_open_files_limit,
    self_cpu,
};
use support::{median, rate, runs};
use vmodem::config::ModuleConfig;
use vmodem::fleet::drive::{DriveOptions, Progress, Summary, drive};
use vmodem::net::Net;
use vmodem::script::Script;
use vsftpd::{Served, Vsftpd, check, file_name};

/// Modems (and curl transfers) unless `VMODEM_BENCH_MODEMS` says otherwise.
const DEFAULT_MODEMS: usize = 1000;
/// Each file's size.
const FILE_SIZE: usize = 1 << 20;
/// Runs of each client; the table shows the median and the extremes.
const RUNS: usize = 5;
/// Modems (curl transfers) started a second unless `VMODEM_BENCH_RATE` says otherwise (0 starts
/// them all at once): the fastest `drive` starts them, one a millisecond.
const DEFAULT_RATE: u32 = 1000;
/// Transfers one curl process runs at once when all start together (curl 7.88 takes at most 300).
const CURL_PER_PROCESS: usize = 250;
/// Transfers per curl process when they start at a rate: one process every `CURL_BURST / rate`
/// seconds.
const CURL_BURST: usize = 5;
/// The longest one run may take, through vmodem or curl (each transfer is bounded by it too).
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// The longest curl waits for a connection and the server's greeting and login, as long as
/// vmodem waits for a reply (75 s): a connection lost at a full accept queue fails both alike.
const CONNECT_LIMIT: Duration = Duration::from_secs(75);
/// The longest the benchmark waits for vsftpd's sessions of the last run to close.
const QUIET_LIMIT: Duration = Duration::from_secs(60);
/// How long the machine's busy share is sampled before each run.
const BUSY_SAMPLE: Duration = Duration::from_secs(1);

/// What each modem runs: the boot URCs (as tests/transcripts/sim7080/boot.at; a transcript that
/// begins with them is not held up by the runner's 300 ms wait for a quiet line), the bearer, the
/// FTP parameters, then `AT+FTPEXTGET=2` of its own file into /customer/ of its file system
/// (AN7080-CN §5.1.19, as tests/transcripts/sim7080/an7080cn_5_1_19_tofsst.at does it), up to
/// `+FTPEXTGETFILE: 1,0`.
const SCRIPT: &str = r#"@family sim7080

< RDY
< +CFUN: 1
< +CPIN: READY
< SMS Ready
> ATE0
< OK
@echo off
> AT+CNACT=0,1
< OK
< +APP PDP: 0,ACTIVE
> AT+FTPCID=0
< OK
> AT+FTPSERV="{ftp_host}"
< OK
> AT+FTPPORT={ftp_port}
< OK
> AT+FTPUN="{ftp_user}"
< OK
> AT+FTPPW="{ftp_pass}"
< OK
> AT+FTPMODE=1
< OK
> AT+FTPTYPE="I"
< OK
> AT+FTPGETPATH="{ftp_dir}/"
< OK
> AT+FTPGETNAME="file-{index}.bin"
< OK
> AT+FTPEXTGET=2,3,"file-{index}.bin"
< OK
@timeout 600
< +FTPEXTGETFILE: 1,0
"#;

/// Which client a run was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    Vmodem,
    Curl,
}

/// How the benchmark runs: `VMODEM_BENCH_MODEMS`, `VMODEM_BENCH_RATE`, `VMODEM_BENCH_RUNS`.
struct Settings {
    /// Modems, and curl transfers.
    modems: usize,
    /// Modems (curl transfers) started a second; 0: all at once.
    rate: u32,
    /// Runs of each client.
    runs: usize,
}

/// One timed run.
struct Run {
    client: Client,
    took: Duration,
    /// From the run's start to the last modem's (curl process's) start.
    spread: Duration,
    /// Connections the kernel dropped at a full accept queue during the run (all listeners).
    overflows: u64,
    /// CPU time of the client: the benchmark process's own for vmodem, its children's for curl.
    client_cpu: f64,
    /// CPU time of vsftpd and its sessions over the run, if its process could be found.
    server_cpu: Option<f64>,
    /// Busy CPU time of the whole machine over the run.
    machine_cpu: f64,
    /// /proc/loadavg's load averages just before the run.
    load: String,
    /// The share of the machine's CPUs busy over [`BUSY_SAMPLE`] just before the run.
    busy: f64,
    /// The sum of the downloads' own times: divided by `took`, how many ran at once on average.
    transfer_time: Duration,
}

fn main() -> anyhow::Result<()> {
    support::require_curl()?;
    let settings = Settings {
        modems: env_number("VMODEM_BENCH_MODEMS", DEFAULT_MODEMS)?,
        rate: env_number("VMODEM_BENCH_RATE", DEFAULT_RATE)?,
        runs: env_number("VMODEM_BENCH_RUNS", RUNS)?,
    };
    let modems = settings.modems;
    ensure!(modems > 0 && settings.runs > 0, "VMODEM_BENCH_MODEMS and VMODEM_BENCH_RUNS must be at least 1");
    let server = Vsftpd::find()?;
    // Each modem holds a control and a data connection and a file.
    raise_open_files_limit();
    let load_before = loadavg();

    // The files, in a folder of vsftpd's root that goes away with `served`.
    let served = Served::create(&server, "fleet-ftp", modems, FILE_SIZE)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let script = Script::parse(SCRIPT).map_err(|e| anyhow::anyhow!("the script: {e}"))?;
    let vars: BTreeMap<String, String> = [
        ("ftp_host", server.addr.ip().to_string()),
        ("ftp_port", server.addr.port().to_string()),
        ("ftp_user", server.user.clone()),
        ("ftp_pass", server.password.clone()),
        ("ftp_dir", served.dir_name.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    let mut results: Vec<Run> = Vec::new();
    let mut last_summary = None;
    for round in 0..settings.runs {
        let order = if round % 2 == 0 { [Client::Vmodem, Client::Curl] } else { [Client::Curl, Client::Vmodem] };
        for client in order {
            server.wait_for_quiet(QUIET_LIMIT)?;
            let out = tempfile::tempdir()?;
            let load = loadavg();
            let busy = busy_share(BUSY_SAMPLE)?;
            let (cpu_self, cpu_children, cpu_machine) = (self_cpu()?, children_cpu()?, machine_cpu()?);
            let cpu_server = server.cpu();
            let overflows_before = listen_overflows()?;
            let start = Instant::now();
            let ran = match client {
                Client::Vmodem => run_modems(&runtime, &script, &vars, &settings, out.path()),
                Client::Curl => curl_all(&server, &served.dir_name, &settings, out.path()),
            };
            let took = start.elapsed();
            let overflows = listen_overflows()? - overflows_before;
            let Ran { paths, spread, transfer_time, summary } = ran.with_context(|| {
                let mut context = format!("{} run {}", label(client), round + 1);
                if overflows > 0 {
                    context += &format!(
                        ": the kernel dropped {overflows} connections at a full accept queue meanwhile (vsftpd \
                         listens with a backlog of 32), which may lose some; start fewer a second \
                         (VMODEM_BENCH_RATE)"
                    );
                }
                context
            })?;
            let (client_cpu, machine) = match client {
                Client::Vmodem => (self_cpu()? - cpu_self, machine_cpu()? - cpu_machine),
                Client::Curl => (children_cpu()? - cpu_children, machine_cpu()? - cpu_machine),
            };
            // vsftpd's sessions count once they have ended and vsftpd has reaped them.
            server.wait_for_quiet(QUIET_LIMIT)?;
            std::thread::sleep(Duration::from_millis(200));
            let server_cpu = server.cpu().zip(cpu_server).map(|(after, before)| after - before);
            check(&paths, &served.digests, FILE_SIZE)
                .with_context(|| format!("{} run {}", label(client), round + 1))?;
            if summary.is_some() {
                last_summary = summary;
            }
            results.push(Run {
                client,
                took,
                spread,
                client_cpu,
                server_cpu,
                machine_cpu: machine,
                overflows,
                load,
                busy,
                transfer_time,
            });
        }
    }
    let load_after = loadavg();

    let bytes = modems * FILE_SIZE;
    let of = |client: Client| results.iter().filter(|r| r.client == client).collect::<Vec<_>>();
    let rate_of = |client: Client| rate(bytes, median(&of(client).iter().map(|r| r.took).collect::<Vec<_>>()));
    let started = match settings.rate {
        0 => "all started at once".to_string(),
        r => format!("started at most {r} a second"),
    };
    println!(
        "{modems} downloads of 1 MiB each from vsftpd (plain FTP, loopback), {started}; {} runs of each",
        settings.runs
    );
    println!("client, alternating; every file checked by SHA-256");
    println!("load average before: {load_before}; after: {load_after}");
    println!();
    println!(
        "| client | seconds (min / median / max) | MiB/s (median) | ratio | last start (s, median) | at once, mean (median) | CPU s: client, vsftpd, machine (medians) | accept-queue drops | runs (s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for client in [Client::Vmodem, Client::Curl] {
        let runs_of = of(client);
        let times: Vec<Duration> = runs_of.iter().map(|r| r.took).collect();
        let (min, max) = (times.iter().min().expect("runs"), times.iter().max().expect("runs"));
        let ratio = match client {
            Client::Vmodem => format!("{:.3} of curl", rate_of(Client::Vmodem) / rate_of(Client::Curl)),
            Client::Curl => String::new(),
        };
        println!(
            "| {} | {:.2} / {:.2} / {:.2} | {:.1} | {ratio} | {:.2} | {:.0} | {:.1}, {}, {:.1} | {} | {} |",
            label(client),
            min.as_secs_f64(),
            median(&times).as_secs_f64(),
            max.as_secs_f64(),
            rate_of(client),
            median(&runs_of.iter().map(|r| r.spread).collect::<Vec<_>>()).as_secs_f64(),
            median_f64(runs_of.iter().map(|r| r.transfer_time.as_secs_f64() / r.took.as_secs_f64()).collect()),
            median_f64(runs_of.iter().map(|r| r.client_cpu).collect()),
            match runs_of.iter().map(|r| r.server_cpu).collect::<Option<Vec<f64>>>() {
                Some(cpu) => format!("{:.1}", median_f64(cpu)),
                None => "?".into(),
            },
            median_f64(runs_of.iter().map(|r| r.machine_cpu).collect()),
            runs_of.iter().map(|r| r.overflows).sum::<u64>(),
            runs(&times)
        );
    }
    println!();
    for (i, run) in results.iter().enumerate() {
        println!(
            "run {}: {}, {:.2} s; before it: load average {}, CPUs {:.0} % busy",
            i / 2 + 1,
            label(run.client),
            run.took.as_secs_f64(),
            run.load,
            run.busy * 100.0
        );
    }
    if let Some((summary, outside)) = last_summary {
        let [p50, p90, p99, max] = summary.millis;
        println!();
        println!("last vmodem run, per modem: p50 {p50:.0} ms, p90 {p90:.0} ms, p99 {p99:.0} ms, longest {max:.0} ms");
        println!(
            "  outside the steps (start, boot URCs, the final quiet check): p50 {:.0} ms",
            outside.as_secs_f64() * 1e3
        );
        for step in &summary.steps {
            let [p50, _, p99, max] = step.millis;
            println!("  {:<40} p50 {p50:>8.1} ms  p99 {p99:>8.1} ms  longest {max:>8.1} ms", step.command);
        }
    }
    Ok(())
}

/// What a run of either client gave besides its time.
struct Ran {
    /// The files it wrote, by index.
    paths: Vec<PathBuf>,
    /// From the run's start to the last modem's (curl process's) start.
    spread: Duration,
    /// The sum of the downloads' own times (each modem's run; each curl transfer's).
    transfer_time: Duration,
    /// For vmodem: the summary, and the median time a modem spent outside its steps.
    summary: Option<(Summary, Duration)>,
}

/// One vmodem run: `settings.modems` modems under `drive` with a file system each under `root`;
/// the files they wrote, when the last one started, and the summary with the median time each
/// modem spent outside its steps.
fn run_modems(
    runtime: &tokio::runtime::Runtime,
    script: &Script,
    vars: &BTreeMap<String, String>,
    settings: &Settings,
    root: &Path,
) -> anyhow::Result<Ran> {
    let modems = settings.modems;
    let mut base = ModuleConfig { family: "sim7080".parse()?, ..ModuleConfig::default() };
    base.fs.root = Some(root.to_path_buf());
    let options = DriveOptions {
        concurrency: modems,
        rate: settings.rate,
        vars: vars.clone(),
        metrics: Default::default(),
        lines: None,
    };
    let net = Net::default();
    let start = Instant::now();
    let last_start = Arc::new(AtomicU64::new(0));
    let seen = last_start.clone();
    let progress = move |p: Progress<'_>| {
        if let Progress::Started(_) = p {
            seen.fetch_max(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
    };
    let driven = runtime.block_on(async {
        tokio::time::timeout(RUN_LIMIT, drive(&base, 0..modems as u64, &net, script, &options, progress)).await
    });
    let driven = driven.map_err(|_| anyhow::anyhow!("the modems took longer than {RUN_LIMIT:?}"))??;
    let summary = Summary::of(&driven);
    if summary.failed > 0 || summary.modems != modems {
        for (kind, index) in &summary.first_failures {
            eprintln!("modem {index}: {kind}");
        }
        bail!("{} of {modems} modems failed (and {} ended)", summary.failed, summary.modems);
    }
    // Per modem, the time outside its steps: its start, the boot URCs and the runner's final
    // check that the line stays quiet.
    let outside: Vec<Duration> =
        driven.iter().map(|r| r.took.saturating_sub(r.steps.iter().map(|s| s.took).sum())).collect();
    let paths = (0..modems).map(|i| root.join(format!("modem-{i}")).join("customer").join(file_name(i))).collect();
    let spread = Duration::from_micros(last_start.load(Ordering::Relaxed));
    let transfer_time = driven.iter().map(|r| r.took).sum();
    Ok(Ran { paths, spread, transfer_time, summary: Some((summary, median(&outside))) })
}

fn label(client: Client) -> &'static str {
    match client {
        Client::Vmodem => "vmodem drive, `AT+FTPEXTGET=2` (to each module file system)",
        Client::Curl => "curl → files",
    }
}

/// Fetches the files with curl into `out`: all at once in processes of [`CURL_PER_PROCESS`]
/// transfers, or, at a rate, in processes of [`CURL_BURST`] started one after the other at that
/// rate at most (a pause after each). The files' paths and when the last process started.
fn curl_all(server: &Vsftpd, dir: &str, settings: &Settings, out: &Path) -> anyhow::Result<Ran> {
    let count = settings.modems;
    let paths: Vec<PathBuf> = (0..count).map(|i| out.join(file_name(i))).collect();
    let indices: Vec<usize> = (0..count).collect();
    let per_process = if settings.rate == 0 { CURL_PER_PROCESS } else { CURL_BURST };
    let start = Instant::now();
    let mut spread = Duration::ZERO;
    let mut children: Vec<Child> = Vec::new();
    for (k, batch) in indices.chunks(per_process).enumerate() {
        if settings.rate > 0 && k > 0 {
            // As `drive` paces its modems: a pause after each start, so that a late wake-up on a
            // busy machine does not start several at once to catch up.
            std::thread::sleep(Duration::from_secs_f64(per_process as f64 / f64::from(settings.rate)));
        }
        let mut curl = Command::new("curl");
        curl.args(["--no-progress-meter", "--parallel", "--parallel-immediate", "--parallel-max"])
            .arg(batch.len().to_string())
            .args(["--connect-timeout", &CONNECT_LIMIT.as_secs().to_string()])
            .args(["--write-out", "%{time_total}\\n"])
            .args(["--max-time", &RUN_LIMIT.as_secs().to_string()])
            .arg("--user")
            .arg(format!("{}:{}", server.user, server.password));
        for &i in batch {
            curl.arg("--output").arg(&paths[i]).arg(format!("ftp://{}/{dir}/{}", server.addr, file_name(i)));
        }
        spread = start.elapsed();
        children.push(curl.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?);
    }
    // Each failed transfer's message, and how many transfers had it.
    let mut failed: BTreeMap<String, usize> = BTreeMap::new();
    let mut transfer_time = Duration::ZERO;
    for child in children {
        let output = child.wait_with_output()?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            transfer_time += Duration::from_secs_f64(line.trim().parse().context("curl's time_total")?);
        }
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).peekable();
            if lines.peek().is_none() {
                *failed.entry(output.status.to_string()).or_default() += 1;
            }
            for line in lines {
                *failed.entry(line.to_string()).or_default() += 1;
            }
        }
    }
    ensure!(
        failed.is_empty(),
        "curl failed: {}",
        failed.iter().map(|(m, n)| format!("{n} × {m}")).collect::<Vec<_>>().join("; ")
    );
    Ok(Ran { paths, spread, transfer_time, summary: None })
}
