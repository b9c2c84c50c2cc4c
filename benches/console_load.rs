//! The web console under load: one fleet of 1,000 sim7080 modems in this process (`Fleet::start`
//! on Unix socket lines, pacing off, a module file system each under a temporary folder), its
//! API and console on loopback (`api::serve`), and 100 hosts (tasks of the benchmark) that
//! connect to modems 0 to 99 over their sockets and each download their own 1 MiB file of
//! random bytes from vsftpd with `AT+FTPEXTGET=2` into the module file system, all at once.
//! Runs alternate without any console and with the console open in a real headless Chromium
//! (through chromedriver): the overview `/` in one tab and the page of modem 0, which is one of
//! those transferring, `/#/modem/0` in another. The goal (the web console issue): with the page
//! open, the transfers take no more than 10 % longer.
//!
//! To see which part costs what, `VMODEM_BENCH_CONSOLE=overview` or `modem` opens only one of
//! the pages, and `VMODEM_BENCH_TABS=0` opens them in a window each. (Headless Chromium keeps a
//! tab behind another `visible`, painted as the one in front; the table's notes say what each
//! page reported.)
//!
//! Before the runs, once: every host's modem boots (the first connection powers it on), echo
//! off, the bearer up (`AT+CNACT=0,1`), and one untimed round of downloads. A timed run starts
//! the hosts [`DEFAULT_RATE`] a second at most, a pause of a millisecond after each, as
//! fleet_ftp does (vsftpd's listen backlog is 32; see BENCHMARKS.md), or as
//! `VMODEM_BENCH_RATE` says (0: all at once). Each host connects, `ATE0`, sets the FTP
//! parameters, sends `AT+FTPEXTGET=2,3,"file-<i>.bin"` and waits for `+FTPEXTGETFILE: 1,0`;
//! the run is timed from the first host's start to the last `+FTPEXTGETFILE: 1,0`. After it
//! every file in the module file systems is checked by SHA-256 against the one served, and
//! deleted over the AT line (`AT+CFSDFILE`) for the next run.
//!
//! In a run with the console, the browser is started before the run and killed after it (its
//! whole process group): the run begins once both pages say `live`, show their content (50
//! rows; modem 0's card) and have received events for two seconds. The pages count the events
//! they receive during the run, to show that they kept streaming; the API's open connections
//! are counted before it. Each run begins when vsftpd holds no session from the one before;
//! before it, the load average and how busy the CPUs were over one second are noted (in a run
//! with the console, with the browser already open). Once a console has watched modem 0, its
//! line stays tapped (the tap has no off switch), so the runs without a console after the first
//! with one carry that cost too: a few lines of text per run.
//!
//! The table gives the fastest, median and slowest run of each kind, the aggregate rate of the
//! median, the ratio of the medians (with / without), and CPU seconds per run (medians): this
//! process (modems, hosts, API and its event streams), Chromium (chromedriver's process group:
//! the driver, the browser and its renderers), vsftpd with its sessions, and the whole machine.
//!
//! vsftpd is the one scripts/test-servers.sh starts (`scripts/test-servers.sh start`; without
//! it the benchmark stops with that advice), Chromium and chromedriver Debian's (`apt-get
//! install chromium chromium-driver`). The files go into a folder of vsftpd's root, the modems'
//! sockets and file systems into a temporary folder; both are removed at the end.
//!
//! `cargo bench --bench console_load` prints the machine's load and a Markdown table.
//! `VMODEM_BENCH_MODEMS` sets another fleet size (the hosts are the first 100 at most),
//! `VMODEM_BENCH_RUNS` another number of runs of each kind.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/proc.rs"]
mod proc;
mod support;
#[path = "support/vsftpd.rs"]
mod vsftpd;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chromium::Browser;
use fantoccini::wd::WindowHandle;
use proc::{busy_share, env_number, group_cpu, listen_overflows, loadavg, machine_cpu, median_f64, self_cpu};
use support::{median, rate, runs};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use vmodem::config::{FleetSection, ModuleConfig};
use vmodem::fleet::{Fleet, Lines};
use vmodem::net::Net;
use vmodem::observe::api;
use vmodem::transport::line::LineOptions;
use vsftpd::{Served, Vsftpd, check, file_name};

/// Modems in the fleet unless `VMODEM_BENCH_MODEMS` says otherwise.
const DEFAULT_MODEMS: usize = 1000;
/// Modems that download at once (the first ones), fewer if the fleet is smaller.
const TRANSFERS: usize = 100;
/// Each file's size.
const FILE_SIZE: usize = 1 << 20;
/// Runs of each kind unless `VMODEM_BENCH_RUNS` says otherwise.
const RUNS: usize = 7;
/// Hosts started a second unless `VMODEM_BENCH_RATE` says otherwise (0: all at once).
const DEFAULT_RATE: u32 = 1000;
/// The longest a host waits for any line from its modem (as vmodem waits for a reply).
const READ_TIMEOUT: Duration = Duration::from_secs(75);
/// The longest one run may take.
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// The longest the benchmark waits for vsftpd's sessions of the last run to close.
const QUIET_LIMIT: Duration = Duration::from_secs(60);
/// How long the pages stream before a run with the console starts.
const SETTLE: Duration = Duration::from_secs(2);
/// How long the machine's busy share is sampled before each run.
const BUSY_SAMPLE: Duration = Duration::from_secs(1);
/// The browser's window.
const WINDOW: (u32, u32) = (1280, 900);

/// A run's kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Without,
    With,
}

/// Which pages a run with the console opens, and how.
#[derive(Clone, Copy)]
struct Pages {
    overview: bool,
    modem: bool,
    /// Tabs of one window rather than a window each.
    tabs: bool,
}

/// How the benchmark runs.
struct Settings {
    modems: usize,
    transfers: usize,
    runs: usize,
    rate: u32,
    pages: Pages,
}

/// One timed run.
struct Run {
    kind: Kind,
    took: Duration,
    /// CPU time of this process over the run.
    bench_cpu: f64,
    /// CPU time of chromedriver's process group over the run, and its processes.
    browser_cpu: Option<(f64, usize)>,
    /// CPU time of vsftpd and its sessions over the run, if its process could be found.
    server_cpu: Option<f64>,
    /// Busy CPU time of the whole machine over the run.
    machine_cpu: f64,
    /// Connections dropped at a full accept queue during the run (all listeners).
    overflows: u64,
    /// /proc/loadavg before the run.
    load: String,
    /// The share of the CPUs busy over [`BUSY_SAMPLE`] before the run.
    busy: f64,
    /// With the console: what the pages saw.
    console: Option<ConsoleSeen>,
}

/// What the open pages showed around a run.
struct ConsoleSeen {
    /// Established connections to the API before the run (the event streams and idle ones).
    api_connections: usize,
    /// Events each page received during the run: overview, modem 0.
    events: [Option<u64>; 2],
    /// `document.visibilityState` of each page.
    visibility: [Option<String>; 2],
}

fn main() -> anyhow::Result<()> {
    let modems: usize = env_number("VMODEM_BENCH_MODEMS", DEFAULT_MODEMS)?;
    let pages = match std::env::var("VMODEM_BENCH_CONSOLE").as_deref() {
        Err(_) | Ok("both") => Pages { overview: true, modem: true, tabs: true },
        Ok("overview") => Pages { overview: true, modem: false, tabs: true },
        Ok("modem") => Pages { overview: false, modem: true, tabs: true },
        Ok(other) => bail!("VMODEM_BENCH_CONSOLE={other:?}: both, overview or modem"),
    };
    let pages = Pages { tabs: !std::env::var("VMODEM_BENCH_TABS").is_ok_and(|v| v == "0"), ..pages };
    let settings = Settings {
        modems,
        transfers: modems.min(TRANSFERS),
        runs: env_number("VMODEM_BENCH_RUNS", RUNS)?,
        rate: env_number("VMODEM_BENCH_RATE", DEFAULT_RATE)?,
        pages,
    };
    ensure!(modems > 0 && settings.runs > 0, "VMODEM_BENCH_MODEMS and VMODEM_BENCH_RUNS must be at least 1");
    chromium::available()?;
    let server = Vsftpd::find()?;
    proc::raise_open_files_limit();
    let load_before = loadavg();

    let served = Served::create(&server, "console-load", settings.transfers, FILE_SIZE)?;
    let work = tempfile::Builder::new().prefix("vmodem-console-load-").tempdir()?;
    let (lines_dir, fs_root) = (work.path().join("lines"), work.path().join("fs"));
    std::fs::create_dir(&lines_dir)?;
    std::fs::create_dir(&fs_root)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut base = ModuleConfig { family: "sim7080".parse()?, ..ModuleConfig::default() };
    base.fs.root = Some(fs_root.clone());
    let options = LineOptions { pacing: false, ..LineOptions::default() };
    let started = Instant::now();
    let fleet = runtime.block_on(Fleet::start(
        &base,
        &Lines::Unix(lines_dir.clone()),
        0..modems as u64,
        &Net::default(),
        options,
        &FleetSection::default(),
    ))?;
    let fleet_start = started.elapsed();
    let api = runtime.block_on(api::serve(SocketAddr::from(([127, 0, 0, 1], 0)), None, fleet.modems().clone()))?;

    let job = Arc::new(Job {
        lines: lines_dir.clone(),
        ftp: server.addr,
        user: server.user.clone(),
        password: server.password.clone(),
        dir: served.dir_name.clone(),
    });
    let paths: Vec<PathBuf> = (0..settings.transfers)
        .map(|i| fs_root.join(format!("modem-{i}")).join("customer").join(file_name(i)))
        .collect();

    // Boot, echo off and bearer up, once; then one untimed round.
    runtime.block_on(all_hosts(settings.transfers, 0, |i| boot(job.clone(), i)))?;
    server.wait_for_quiet(QUIET_LIMIT)?;
    runtime.block_on(download_all(&job, settings.transfers, settings.rate)).context("the untimed round")?;
    check(&paths, &served.digests, FILE_SIZE).context("the untimed round")?;
    runtime.block_on(all_hosts(settings.transfers, 0, |i| delete(job.clone(), i)))?;

    let mut results: Vec<Run> = Vec::new();
    for round in 0..settings.runs {
        let order = if round % 2 == 0 { [Kind::Without, Kind::With] } else { [Kind::With, Kind::Without] };
        for kind in order {
            server.wait_for_quiet(QUIET_LIMIT)?;
            let mut browser = match kind {
                Kind::Without => None,
                Kind::With => Some(runtime.block_on(open_console(api.addr, settings.pages))?),
            };
            let api_connections = vsftpd::connections_to(api.addr.port())?;
            let load = loadavg();
            let busy = busy_share(BUSY_SAMPLE)?;
            if let Some((browser, windows)) = &mut browser {
                ensure!(browser.alive(), "chromedriver ended before the run");
                runtime.block_on(reset_counts(browser, windows))?;
            }
            let group = browser.as_ref().map(|(b, _)| b.group());
            let (bench0, machine0, server0) = (self_cpu()?, machine_cpu()?, server.cpu());
            let browser0 = group.map(group_cpu);
            let overflows0 = listen_overflows()?;
            let took = runtime.block_on(download_all(&job, settings.transfers, settings.rate));
            let overflows = listen_overflows()? - overflows0;
            let (bench_cpu, machine) = (self_cpu()? - bench0, machine_cpu()? - machine0);
            let browser_cpu = group.map(group_cpu).zip(browser0).map(|(after, before)| (after.0 - before.0, after.1));
            let console = match &mut browser {
                Some((browser, windows)) => {
                    let (events, visibility) = runtime.block_on(counts(browser, windows))?;
                    Some(ConsoleSeen { api_connections, events, visibility })
                }
                None => None,
            };
            // The browser and all its processes go before anything else happens.
            drop(browser);
            let took = took.with_context(|| {
                let mut context = format!("{} run {}", label(kind), round + 1);
                if overflows > 0 {
                    context += &format!(
                        ": the kernel dropped {overflows} connections at a full accept queue meanwhile (vsftpd \
                         listens with a backlog of 32); start fewer a second (VMODEM_BENCH_RATE)"
                    );
                }
                context
            })?;
            // vsftpd's sessions count once they have ended and vsftpd has reaped them.
            server.wait_for_quiet(QUIET_LIMIT)?;
            std::thread::sleep(Duration::from_millis(200));
            let server_cpu = server.cpu().zip(server0).map(|(after, before)| after - before);
            check(&paths, &served.digests, FILE_SIZE).with_context(|| format!("{} run {}", label(kind), round + 1))?;
            runtime.block_on(all_hosts(settings.transfers, 0, |i| delete(job.clone(), i)))?;
            results.push(Run {
                kind,
                took,
                bench_cpu,
                browser_cpu,
                server_cpu,
                machine_cpu: machine,
                overflows,
                load,
                busy,
                console,
            });
        }
    }
    let load_after = loadavg();
    drop(api);
    drop(fleet);
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(work);
    drop(served);

    report(&settings, &results, fleet_start, &load_before, &load_after);
    Ok(())
}

/// What every host needs to reach vsftpd.
struct Job {
    /// The folder of the modems' sockets.
    lines: PathBuf,
    ftp: SocketAddr,
    user: String,
    password: String,
    /// The files' folder in vsftpd's root.
    dir: String,
}

/// Runs `each(i)` for the hosts `0..count` as tasks, started `rate` a second at most (0: all
/// at once), each bounded by [`RUN_LIMIT`]; what they returned, by index, or the first errors.
async fn all_hosts<F, Fut, T>(count: usize, rate: u32, each: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        if rate > 0 && i > 0 {
            // A pause after each start, as `drive` paces its modems: a late wake-up on a busy
            // machine does not start several at once to catch up.
            tokio::time::sleep(Duration::from_secs_f64(1.0 / f64::from(rate))).await;
        }
        tasks.push(tokio::spawn(tokio::time::timeout(RUN_LIMIT, each(i))));
    }
    let (mut done, mut failed) = (Vec::with_capacity(count), Vec::new());
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(Ok(value))) => done.push(value),
            Ok(Ok(Err(e))) => failed.push(format!("host {i}: {e:#}")),
            Ok(Err(_)) => failed.push(format!("host {i}: not done in {RUN_LIMIT:?}")),
            Err(e) => failed.push(format!("host {i}: {e}")),
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {count} hosts failed: {}",
            failed.len(),
            failed.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        );
    }
    Ok(done)
}

/// One timed round: every host downloads its file; from the first host's start to the last
/// `+FTPEXTGETFILE: 1,0`.
async fn download_all(job: &Arc<Job>, count: usize, rate: u32) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let ends = all_hosts(count, rate, |i| download(job.clone(), i)).await?;
    let last = ends.into_iter().max().context("no hosts")?;
    Ok(last - start)
}

/// Host `i` boots its modem (the boot URCs come with the first connection), echo off, and
/// brings the bearer up; the modem keeps its state for the hosts that connect later.
async fn boot(job: Arc<Job>, i: usize) -> anyhow::Result<()> {
    let mut host = Host::connect(&job.lines, i).await?;
    host.wait_for("SMS Ready").await?;
    host.command("ATE0").await?;
    host.command("AT+CNACT=0,1").await?;
    host.wait_for("+APP PDP: 0,ACTIVE").await
}

/// Host `i` downloads its file into its modem's file system; when `+FTPEXTGETFILE: 1,0` came.
async fn download(job: Arc<Job>, i: usize) -> anyhow::Result<Instant> {
    let mut host = Host::connect(&job.lines, i).await?;
    host.command("ATE0").await?;
    host.command("AT+FTPCID=0").await?;
    host.command(&format!("AT+FTPSERV=\"{}\"", job.ftp.ip())).await?;
    host.command(&format!("AT+FTPPORT={}", job.ftp.port())).await?;
    host.command(&format!("AT+FTPUN=\"{}\"", job.user)).await?;
    host.command(&format!("AT+FTPPW=\"{}\"", job.password)).await?;
    host.command("AT+FTPMODE=1").await?;
    host.command("AT+FTPTYPE=\"I\"").await?;
    host.command(&format!("AT+FTPGETPATH=\"{}/\"", job.dir)).await?;
    host.command(&format!("AT+FTPGETNAME=\"{}\"", file_name(i))).await?;
    host.command(&format!("AT+FTPEXTGET=2,3,\"{}\"", file_name(i))).await?;
    host.wait_for("+FTPEXTGETFILE: 1,0").await?;
    Ok(Instant::now())
}

/// Host `i` deletes its file from its modem's file system, for the next run.
async fn delete(job: Arc<Job>, i: usize) -> anyhow::Result<()> {
    let mut host = Host::connect(&job.lines, i).await?;
    host.command("ATE0").await?;
    host.command("AT+CFSINIT").await?;
    host.command(&format!("AT+CFSDFILE=3,\"{}\"", file_name(i))).await?;
    host.command("AT+CFSTERM").await
}

/// A host's end of a modem's line.
struct Host {
    line: BufReader<UnixStream>,
    buf: Vec<u8>,
}

impl Host {
    async fn connect(dir: &Path, index: usize) -> anyhow::Result<Host> {
        let path = dir.join(format!("modem-{index}.sock"));
        let stream = UnixStream::connect(&path).await.with_context(|| format!("connecting to {}", path.display()))?;
        Ok(Host { line: BufReader::new(stream), buf: Vec::with_capacity(256) })
    }

    /// The next non-empty line, without its end.
    async fn line(&mut self) -> anyhow::Result<String> {
        loop {
            self.buf.clear();
            let read = tokio::time::timeout(READ_TIMEOUT, self.line.read_until(b'\n', &mut self.buf)).await;
            let n = read.map_err(|_| anyhow::anyhow!("nothing from the modem in {READ_TIMEOUT:?}"))??;
            ensure!(n > 0, "the modem closed the line");
            let text = String::from_utf8_lossy(&self.buf);
            let text = text.trim_end_matches(['\r', '\n']);
            if !text.is_empty() {
                return Ok(text.to_string());
            }
        }
    }

    /// Reads lines until `expected`; an error result on the way fails (URCs are skipped).
    async fn wait_for(&mut self, expected: &str) -> anyhow::Result<()> {
        loop {
            match self.line().await? {
                line if line == expected => return Ok(()),
                line if line == "ERROR" || line.starts_with("+CME ERROR") || line.starts_with("+FTPEXTGETFILE:") => {
                    bail!("{line} where {expected:?} belongs")
                }
                _ => {}
            }
        }
    }

    /// Sends `cmd` and waits for its `OK`.
    async fn command(&mut self, cmd: &str) -> anyhow::Result<()> {
        self.line.get_mut().write_all(format!("{cmd}\r").as_bytes()).await.context("writing to the modem")?;
        self.wait_for("OK").await.with_context(|| cmd.to_string())
    }
}

/// A browser showing the console's pages on `api`, each live, showing its content and having
/// streamed for [`SETTLE`]; its windows (overview, modem 0), `None` for a page not opened.
async fn open_console(api: SocketAddr, pages: Pages) -> anyhow::Result<(Browser, [Option<WindowHandle>; 2])> {
    let browser = Browser::open(WINDOW.0, WINDOW.1).await?;
    let mut windows = [None, None];
    let first = browser.client.window().await?;
    let mut fresh = Some(first);
    for (k, wanted) in [pages.overview, pages.modem].into_iter().enumerate() {
        if !wanted {
            continue;
        }
        let window = match fresh.take() {
            Some(window) => window,
            None => browser.new_window(pages.tabs).await?,
        };
        let (url, shows) = match k {
            0 => (format!("http://{api}/"), "document.querySelectorAll('#modems tbody tr').length > 0"),
            _ => (
                format!("http://{api}/#/modem/0"),
                "document.getElementById('identity').textContent.includes('Modem 0')",
            ),
        };
        browser.client.goto(&url).await?;
        browser
            .until(&url, &format!("return document.getElementById('link').textContent === 'live' && source.readyState === 1 && {shows}"))
            .await?;
        // Count what the page's event stream brings from now on.
        browser
            .js("window.benchEvents = 0; for (const name of ['page', 'status', 'lines', 'transcript', 'missed']) \
                 source.addEventListener(name, () => { window.benchEvents += 1; }); return 1")
            .await?;
        windows[k] = Some(window);
    }
    tokio::time::sleep(SETTLE).await;
    for (k, window) in windows.iter().enumerate() {
        if let Some(window) = window {
            browser.client.switch_to_window(window.clone()).await?;
            let events = browser.js("return window.benchEvents").await?;
            ensure!(
                events.as_u64().is_some_and(|n| n > 0),
                "the {} page received no events in {SETTLE:?} ({events})",
                ["overview", "modem"][k]
            );
        }
    }
    Ok((browser, windows))
}

/// Sets the pages' event counts to 0.
async fn reset_counts(browser: &Browser, windows: &[Option<WindowHandle>; 2]) -> anyhow::Result<()> {
    for window in windows.iter().flatten() {
        browser.client.switch_to_window(window.clone()).await?;
        browser.js("window.benchEvents = 0; return 1").await?;
    }
    Ok(())
}

/// The events each page received since [`reset_counts`], and its visibility.
async fn counts(
    browser: &Browser,
    windows: &[Option<WindowHandle>; 2],
) -> anyhow::Result<([Option<u64>; 2], [Option<String>; 2])> {
    let (mut events, mut visibility) = ([None, None], [None, None]);
    for (k, window) in windows.iter().enumerate() {
        if let Some(window) = window {
            browser.client.switch_to_window(window.clone()).await?;
            let seen = browser.js("return [window.benchEvents, document.visibilityState]").await?;
            events[k] = seen[0].as_u64();
            visibility[k] = seen[1].as_str().map(str::to_string);
        }
    }
    Ok((events, visibility))
}

fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Without => "without a console",
        Kind::With => "with the console open",
    }
}

fn report(settings: &Settings, results: &[Run], fleet_start: Duration, load_before: &str, load_after: &str) {
    let bytes = settings.transfers * FILE_SIZE;
    let of = |kind: Kind| results.iter().filter(|r| r.kind == kind).collect::<Vec<_>>();
    let median_of = |kind: Kind| median(&of(kind).iter().map(|r| r.took).collect::<Vec<_>>());
    let started = match settings.rate {
        0 => "all started at once".to_string(),
        r => format!("started at most {r} a second"),
    };
    let pages = settings.pages;
    let opened = match (pages.overview, pages.modem) {
        (true, true) => "the overview `/` and `/#/modem/0`",
        (true, false) => "the overview `/` only",
        _ => "`/#/modem/0` only",
    };
    let how = match (pages.overview && pages.modem, pages.tabs) {
        (false, _) => "one window",
        (true, false) => "a window each",
        (true, true) => "tabs of one window",
    };
    println!(
        "{} modems (started in {:.2} s), {} of them downloading 1 MiB each from vsftpd with AT+FTPEXTGET=2, {started}; \
         {} runs of each kind, alternating; every file checked by SHA-256",
        settings.modems,
        fleet_start.as_secs_f64(),
        settings.transfers,
        settings.runs
    );
    println!("console: headless Chromium showing {opened} ({how})");
    println!("load average before: {load_before}; after: {load_after}");
    println!();
    println!(
        "| run | seconds (min / median / max) | MiB/s (median) | ratio of medians | CPU s: this process, Chromium, vsftpd, machine (medians) | accept-queue drops | runs (s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for kind in [Kind::Without, Kind::With] {
        let runs_of = of(kind);
        let times: Vec<Duration> = runs_of.iter().map(|r| r.took).collect();
        let (min, max) = (times.iter().min().expect("runs"), times.iter().max().expect("runs"));
        let ratio = match kind {
            Kind::With => format!(
                "{:.3} of without",
                median_of(Kind::With).as_secs_f64() / median_of(Kind::Without).as_secs_f64()
            ),
            Kind::Without => String::new(),
        };
        let browser = match kind {
            Kind::With => {
                format!("{:.2}", median_f64(runs_of.iter().filter_map(|r| r.browser_cpu.map(|b| b.0)).collect()))
            }
            Kind::Without => "-".into(),
        };
        let server = match runs_of.iter().map(|r| r.server_cpu).collect::<Option<Vec<f64>>>() {
            Some(cpu) => format!("{:.1}", median_f64(cpu)),
            None => "?".into(),
        };
        println!(
            "| {} | {:.2} / {:.2} / {:.2} | {:.1} | {ratio} | {:.2}, {browser}, {server}, {:.1} | {} | {} |",
            label(kind),
            min.as_secs_f64(),
            median_of(kind).as_secs_f64(),
            max.as_secs_f64(),
            rate(bytes, median_of(kind)),
            median_f64(runs_of.iter().map(|r| r.bench_cpu).collect()),
            median_f64(runs_of.iter().map(|r| r.machine_cpu).collect()),
            runs_of.iter().map(|r| r.overflows).sum::<u64>(),
            runs(&times)
        );
    }
    println!();
    for (i, run) in results.iter().enumerate() {
        let mut line = format!(
            "run {}: {}, {:.2} s; CPU s: this process {:.2}",
            i / 2 + 1,
            label(run.kind),
            run.took.as_secs_f64(),
            run.bench_cpu
        );
        if let Some((cpu, processes)) = run.browser_cpu {
            line += &format!(", Chromium {cpu:.2} ({processes} processes)");
        }
        line += &format!(
            ", vsftpd {}, machine {:.1}; {} accept-queue drops; before it: load average {}, CPUs {:.0} % busy",
            run.server_cpu.map_or("?".into(), |c| format!("{c:.1}")),
            run.machine_cpu,
            run.overflows,
            run.load,
            run.busy * 100.0
        );
        if let Some(seen) = &run.console {
            let shown = |k: usize| match (&seen.events[k], &seen.visibility[k]) {
                (Some(n), Some(v)) => format!("{n} events ({v})"),
                _ => "not open".into(),
            };
            line += &format!(
                "; pages during the run: overview {}, modem 0 {}; API connections before: {}",
                shown(0),
                shown(1),
                seen.api_connections
            );
        }
        println!("{line}");
    }
}
