//! The `vmodem` command: `serve` runs a modem on a PTY, a TCP or Unix socket (listening, or
//! dialling an emulator), a serial device or stdio; `chat` plays a
//! transcript against any modem; `term` is a minimal terminal to a modem's line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmodem::config::Config;
use vmodem::control::ControlSocket;
use vmodem::demo::Demo;
use vmodem::dialect::{self, BuildError};
use vmodem::family::Family;
use vmodem::fleet;
use vmodem::modem::Modem;
use vmodem::net::{LinkProfile, Redirect};
use vmodem::observe::{self, api};
use vmodem::plan::PlanEntry;
use vmodem::record::{Options, Recorder};
use vmodem::script::{Script, fixtures};
use vmodem::transport::connect::Endpoint;
use vmodem::transport::line::Line;
use vmodem::transport::pacing::LineSpeed;
use vmodem::transport::{self, Link};

#[derive(Parser)]
#[command(name = "vmodem", version, about = "A software cellular modem that speaks AT and does FTP for real")]
struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a modem on a PTY, a TCP or Unix socket, a serial device or stdio.
    Serve(Box<ServeArgs>),
    /// Play a transcript against a modem (vmodem or a real module) and report the first difference.
    Chat(ChatArgs),
    /// An interactive terminal to a modem's line (Ctrl-] quits).
    Term(LineArgs),
    /// Run many modems in one process, each on its own line with its own identity.
    Fleet(Box<FleetArgs>),
    /// Run a transcript against every modem of a fleet in this process (a load generator).
    Drive(Box<DriveArgs>),
}

#[derive(Args)]
struct DriveArgs {
    /// The transcript each modem runs (`{index}`, `{imei}`, `{imsi}`, `{iccid}`, `{number}` are
    /// the modem's own).
    script: PathBuf,
    #[command(flatten)]
    fleet: FleetOf,
    /// How many modems run at once, at most.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    concurrency: u64,
    /// Modems started a second, at most (0: as fast as the concurrency allows).
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Set a variable the script uses, NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Serve the drive's progress and job durations as Prometheus metrics on ADDR.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Drive a fleet that runs elsewhere instead of modems in this process: modem i on this
    /// address's port + i (as `vmodem fleet --tcp` serves them; the same --config gives the
    /// same identities).
    #[arg(long, group = "lines")]
    tcp: Option<SocketAddr>,
    /// Drive a fleet that runs elsewhere: modem i on DIR/modem-<i>.sock (`vmodem fleet --unix`).
    #[arg(long, group = "lines", value_name = "DIR")]
    unix: Option<PathBuf>,
}

#[derive(Args)]
struct FleetArgs {
    #[command(flatten)]
    fleet: FleetOf,
    /// Modem i listens on this address's port + i.
    #[arg(long, group = "line")]
    tcp: Option<SocketAddr>,
    /// Modem i listens on DIR/modem-<i>.sock.
    #[arg(long, group = "line", value_name = "DIR")]
    unix: Option<PathBuf>,
    /// Modem i is a PTY linked at DIR/ttyVM<i> (the kernel's PTY limit, kernel.pty.max, bounds N).
    #[arg(long, group = "line", value_name = "DIR")]
    pty: Option<PathBuf>,
    /// Modem i dials TEMPLATE with {index} replaced by i (unix:DIR/host-{index}.sock), or
    /// HOST:PORT+i: each modem the serial line of an emulator or host that listens.
    #[arg(long, group = "line", value_name = "TEMPLATE")]
    connect: Option<String>,
    /// The link's speed and latency, for every modem.
    #[arg(long)]
    profile: Option<LinkProfile>,
    /// Move bytes as fast as the medium allows (no pacing).
    #[arg(long)]
    no_pacing: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// Which fleet, and which slice of it, a process takes: `fleet` serves it, `drive` drives it.
#[derive(Args)]
struct FleetOf {
    /// How many modems the whole fleet has (this process takes its shard of them).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    count: u64,
    #[command(flatten)]
    shard: ShardArgs,
    /// The family of every modem (or the configuration's).
    #[arg(long)]
    dialect: Option<Family>,
    /// A TOML configuration file, shared by every modem (identities are indexed from its own).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Send connections for HOST[:PORT] to ADDR:PORT instead (repeatable).
    #[arg(long = "redirect", value_name = "HOST[:PORT]=ADDR:PORT")]
    redirects: Vec<Redirect>,
}

impl FleetOf {
    /// The configuration, the network the modems share (with every redirect), and this
    /// process's modem indices.
    fn open(&self) -> anyhow::Result<(Config, vmodem::net::Net, std::ops::Range<u64>)> {
        let config = load_config(self.config.as_deref(), self.dialect)?;
        let mut redirects = config.serve.net.parsed()?;
        redirects.extend(self.redirects.iter().cloned());
        let net = config.serve.net.net(redirects)?;
        let indices = self.shard.shard()?.range(self.count);
        Ok((config, net, indices))
    }
}

/// Which slice of a fleet this process takes (the whole fleet unless one is named).
#[derive(Args)]
struct ShardArgs {
    /// This process's slice of the fleet, K/N (K from 0): disjoint indices, identities and lines.
    #[arg(long, conflicts_with = "shards")]
    shard: Option<fleet::Shard>,
    /// The fleet has N slices; this process's is JOB_COMPLETION_INDEX (a Kubernetes Indexed
    /// Job) or the ordinal ending HOSTNAME (a StatefulSet's pod).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    shards: Option<u64>,
}

impl ShardArgs {
    /// The slice named, or the whole fleet.
    fn shard(&self) -> anyhow::Result<fleet::Shard> {
        match (self.shard, self.shards) {
            (Some(shard), _) => Ok(shard),
            (None, Some(count)) => fleet::Shard::from_env(count, |key| std::env::var(key).ok()).map_err(|e| anyhow!(e)),
            (None, None) => Ok(fleet::Shard::WHOLE),
        }
    }
}

/// Where the host side of a line is, and how fast it runs.
#[derive(Args, Clone)]
struct LineArgs {
    #[command(flatten)]
    target: LineTarget,
    /// Baud rate for --serial (and --pty).
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
}

/// The one line a host opens.
#[derive(Args, Clone)]
#[group(required = true, multiple = false)]
struct LineTarget {
    /// A TCP address (a modem served with `--tcp`).
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// A PTY path (a modem served with `--pty`).
    #[arg(long)]
    pty: Option<PathBuf>,
    /// A serial device with a real module on it.
    #[arg(long)]
    serial: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// The family to emulate: sim7080, sim7070, sim7090, sim7000, sim800, sim900 or l610.
    #[arg(long)]
    dialect: Option<Family>,
    /// Create a PTY and link it at this path (for example /tmp/ttyVM0).
    #[arg(long, group = "line")]
    pty: Option<PathBuf>,
    /// Listen on this TCP address; each connection is the modem's line and replaces the last.
    #[arg(long, group = "line")]
    tcp: Option<SocketAddr>,
    /// Use standard input and output as the line.
    #[arg(long, group = "line")]
    stdio: bool,
    /// Listen on a Unix socket at this path; each connection is the modem's line, as with --tcp.
    #[arg(long, group = "line")]
    unix: Option<PathBuf>,
    /// Dial an emulator's serial socket (HOST:PORT or unix:PATH), and again whenever it drops.
    #[arg(long, group = "line", value_name = "ADDR")]
    connect: Option<Endpoint>,
    /// Open a serial device (a USB-serial adapter, an emulator's PTY) at --baud.
    #[arg(long, group = "line", value_name = "DEV")]
    serial: Option<PathBuf>,
    /// Line speed: paces sockets and stdio at it, opens --serial at it (default 115200), starts
    /// the PTY at it (the host's own setting paces a PTY).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    baud: Option<u32>,
    /// Move bytes as fast as the medium allows, even on a PTY or serial device (fast test runs).
    #[arg(long)]
    no_pacing: bool,
    /// Do not answer telnet negotiation at the start of a --connect connection.
    #[arg(long)]
    no_telnet: bool,
    /// A TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start an embedded FTP server with the vendor documents' sample files.
    #[arg(long)]
    demo: bool,
    /// The folder the demo serves (default: vmodem-demo in the temporary directory).
    #[arg(long)]
    demo_dir: Option<PathBuf>,
    /// Send connections for HOST[:PORT] to ADDR:PORT instead (repeatable).
    #[arg(long = "redirect", value_name = "HOST[:PORT]=ADDR:PORT")]
    redirects: Vec<Redirect>,
    /// The link's speed and latency: instant (the default), gsm, gprs, edge, nbiot, catm or lte.
    #[arg(long)]
    profile: Option<LinkProfile>,
    /// Record the session into this transcript file, to replay with `vmodem chat FILE`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Keep passwords, PINs and credentials in the recording instead of masking them.
    #[arg(long)]
    record_secrets: bool,
    /// A fault plan entry, as in the configuration's [[faults]] (repeatable), e.g.
    /// --fault 'kind = "reset", on = "data", after = 40000'.
    #[arg(long = "fault", value_name = "ENTRY", value_parser = PlanEntry::parse)]
    faults: Vec<PlanEntry>,
    /// Listen for run-time commands (link profile, faults) on a Unix socket at PATH.
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    #[command(flatten)]
    api: ApiArgs,
}

/// The HTTP API and the metrics endpoint of `serve` and `fleet`.
#[derive(Args)]
struct ApiArgs {
    /// Serve the HTTP API (JSON, and Prometheus metrics at /metrics) on ADDR; off loopback it
    /// needs --api-token.
    #[arg(long, value_name = "ADDR")]
    api: Option<SocketAddr>,
    /// The token every API request carries (Authorization: Bearer TOKEN).
    #[arg(long, env = "VMODEM_API_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    api_token: Option<String>,
    /// Serve the Prometheus metrics alone (read-only) on ADDR, for a scraper.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
}

impl ApiArgs {
    /// Starts what was asked for, for `modems`; the servers stop when dropped.
    async fn start(&self, modems: &observe::Modems) -> anyhow::Result<Vec<api::Server>> {
        let mut servers = Vec::new();
        if let Some(addr) = self.api {
            let server = api::serve(addr, self.api_token.clone(), modems.clone()).await?;
            eprintln!("vmodem: web console on http://{0}/ (JSON at http://{0}/api/modems)", server.addr);
            servers.push(server);
        }
        if let Some(addr) = self.metrics {
            let server = api::serve_metrics(addr, modems.clone()).await?;
            eprintln!("vmodem: metrics on http://{}/metrics", server.addr);
            servers.push(server);
        }
        Ok(servers)
    }
}

#[derive(Args)]
struct ChatArgs {
    /// The transcript (.at file).
    file: PathBuf,
    #[command(flatten)]
    line: LineArgs,
    /// Set a transcript variable (repeatable), e.g. --var ftp_host=192.0.2.1.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Write the transcript's @file fixtures into this FTP root first (e.g. the demo's folder).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Restart the modem first (AT+CFUN=1,1) and wait for its boot URCs, so a transcript that
    /// starts from power-on runs against a modem that has been used before.
    #[arg(long)]
    reset: bool,
}

/// How long the line must stay quiet after a restart's last boot URC.
const RESET_QUIET: std::time::Duration = std::time::Duration::from_secs(2);
/// The longest a restart may take.
const RESET_MAX: std::time::Duration = std::time::Duration::from_secs(30);

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Chat(args) => chat(args).await,
        Command::Term(args) => term(args).await,
        Command::Fleet(args) => run_fleet(*args).await,
        Command::Drive(args) => drive(*args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vmodem: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let level = ["warn", "info", "debug"][usize::from(verbose.min(2))];
    // The embedded demo server logs every transfer at info; only its warnings matter here.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},libunftp=warn")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let line_flag = line_flag(&args);
    let Config { mut module, serve: config } = load_config(args.config.as_deref(), args.dialect)?;
    let mut redirects = config.net.parsed()?;
    redirects.extend(args.redirects);
    let demo = match args.demo || config.demo.enabled {
        true => {
            let dir =
                args.demo_dir.or(config.demo.dir.clone()).unwrap_or_else(|| std::env::temp_dir().join("vmodem-demo"));
            let demo = Demo::start(&dir).await?;
            redirects.extend(demo.redirects());
            // The demo keeps the module's files beside the FTP server's, where they can be looked at.
            module.fs.root.get_or_insert_with(|| demo.fs_root());
            Some(demo)
        }
        false => None,
    };
    let family = module.family;
    let (imei, number) = (module.identity.imei.clone(), module.identity.number.clone());
    let fs_root = module.fs.root.clone();
    let dialect = dialect::build(Arc::new(module)).map_err(|e| match (e, fs_root) {
        (BuildError::Fs(e), Some(root)) => anyhow!("cannot open the module file system in {}: {e}", root.display()),
        (e, _) => e.into(),
    })?;
    // A line given on the command line replaces the configuration file's.
    let line = match line_flag {
        Some(line) => Some(line),
        None => config.line.line()?,
    };
    let line = match (line, &demo) {
        (Some(line), _) => line,
        (None, Some(_)) => Line::Tcp(SocketAddr::from(([127, 0, 0, 1], 7080))),
        (None, None) => bail!(
            "say where the line is: --pty PATH, --tcp ADDR, --unix PATH, --connect ADDR, --serial DEV or --stdio \
             (or --demo)"
        ),
    };
    let mut options = config.line.options();
    options.baud = args.baud.or(options.baud);
    options.pacing &= !args.no_pacing;
    options.telnet &= !args.no_telnet;
    let speed = LineSpeed::new();
    let open = transport::line::open(&line, options, speed.clone()).await?;
    let described = open.described.clone();
    match &demo {
        Some(demo) => eprintln!("{}", demo.banner(&described, family)),
        None => eprintln!("vmodem: {family} on {described}"),
    }
    let net = config.net.net(redirects)?;
    if let Some(profile) = args.profile {
        net.set_profile(profile);
    }
    let recorder = match args.record.or(config.record.file.clone()) {
        Some(path) => {
            let options = Options { keep_secrets: args.record_secrets || config.record.secrets };
            let recorder = Recorder::create(&path, family, options)
                .with_context(|| format!("creating the recording {}", path.display()))?;
            eprintln!("vmodem: recording to {}", path.display());
            Some(recorder)
        }
        None => None,
    };
    let links = match &recorder {
        Some(recorder) => recorder.links(open.links),
        None => open.links,
    };
    let mut plan = config.faults.clone();
    plan.extend(args.faults);
    let metrics = observe::JobMetrics::default();
    let tap = Arc::new(observe::Tap::default());
    let modem = Modem::new(dialect, net.clone())
        .with_line_speed(speed)
        .with_plan(plan)
        .with_metrics(metrics.clone())
        .with_tap(tap.clone());
    let entry = observe::ModemEntry { index: 0, family, imei, number, handle: modem.handle(), tap };
    if args.api.api.is_some() {
        // One modem: the console shows its line from the start.
        entry.tap.watch(family);
    }
    let _api = args.api.start(&observe::Modems::new(vec![entry], metrics)).await?;
    let _control = match &args.control.or(config.control.clone()) {
        Some(path) => Some(ControlSocket::bind(path, modem.handle(), net)?),
        None => None,
    };
    tokio::select! {
        () = modem.run(links) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    if let Some(recorder) = recorder {
        recorder.finish();
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_fleet(args: FleetArgs) -> anyhow::Result<ExitCode> {
    raise_open_files_limit();
    let (Config { module, serve: config }, net, indices) = args.fleet.open()?;
    let lines = match (args.tcp, args.unix, args.pty, args.connect) {
        (Some(addr), ..) => fleet::Lines::Tcp(addr),
        (_, Some(dir), ..) => fleet::Lines::Unix(dir),
        (_, _, Some(dir), _) => fleet::Lines::Pty(dir),
        (.., Some(template)) => fleet::Lines::Connect(template),
        _ => bail!("say where the lines are: --tcp ADDR, --unix DIR, --pty DIR or --connect TEMPLATE"),
    };
    if let Some(profile) = args.profile {
        net.set_profile(profile);
    }
    let mut options = config.line.options();
    options.pacing &= !args.no_pacing;
    let family = module.family;
    let running = fleet::Fleet::start(&module, &lines, indices.clone(), &net, options, &config.fleet).await?;
    let _api = args.api.start(running.modems()).await?;
    let (first, last) = (running.described.first(), running.described.last());
    if let (Some((_, first)), Some((_, last))) = (first, last) {
        eprintln!(
            "vmodem: {} {family} modems ({} to {}) on {first} ... {last}",
            running.len(),
            indices.start,
            indices.end - 1
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

async fn drive(args: DriveArgs) -> anyhow::Result<ExitCode> {
    raise_open_files_limit();
    let (Config { module, .. }, net, indices) = args.fleet.open()?;
    let text = std::fs::read_to_string(&args.script).with_context(|| format!("reading {}", args.script.display()))?;
    let script = Script::parse(&text).map_err(|e| anyhow!("{}: {e}", args.script.display()))?;
    let options = fleet::drive::DriveOptions {
        concurrency: args.concurrency as usize,
        rate: args.rate,
        vars: args.vars.into_iter().collect(),
        metrics: observe::JobMetrics::default(),
        lines: args.tcp.map(fleet::Lines::Tcp).or(args.unix.map(fleet::Lines::Unix)),
    };
    let bar = indicatif::ProgressBar::new(indices.end - indices.start).with_style(
        indicatif::ProgressStyle::with_template("vmodem drive {bar:40} {pos}/{len} done, {msg} [{elapsed}]")
            .expect("a valid template"),
    );
    let counts = observe::DriveProgress::default();
    let _metrics = match args.metrics {
        Some(addr) => {
            let mut registry = options.metrics.registry();
            counts.register(&mut registry);
            let server = api::serve_registry(addr, registry).await?;
            eprintln!("vmodem: metrics on http://{}/metrics", server.addr);
            Some(server)
        }
        None => None,
    };
    let shown = bar.clone();
    let progress = move |p: fleet::drive::Progress<'_>| {
        match p {
            fleet::drive::Progress::Started(_) => counts.started(),
            fleet::drive::Progress::Ended(r) => {
                counts.ended(r.failure.is_none());
                shown.inc(1);
            }
        }
        let (running, failed) = counts.running_and_failed();
        shown.set_message(format!("{failed} failed, {running} running"));
    };
    let results = fleet::drive::drive(&module, indices, &net, &script, &options, progress).await?;
    bar.finish();
    let summary = fleet::drive::Summary::of(&results);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let [p50, p90, p99, max] = summary.millis;
        println!("{} modems: {} passed, {} failed", summary.modems, summary.passed, summary.failed);
        println!("run time: p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, longest {max:.1} ms");
        println!("bytes: {} sent, {} received", summary.bytes_sent, summary.bytes_received);
        for step in &summary.steps {
            let [p50, p99] = [step.millis[0], step.millis[2]];
            println!(
                "  {:<40} {:>6} passed {:>6} failed   p50 {p50:.1} ms  p99 {p99:.1} ms",
                step.command, step.passed, step.failed
            );
        }
        for (kind, index) in &summary.first_failures {
            println!("first failure of its kind, modem {index}: {kind}");
        }
    }
    Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Raises the soft limit on open files to the hard one: a fleet holds a listener, a host
/// connection and the modems' own connections per modem, beyond the usual soft limit of 1024.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            eprintln!("vmodem: cannot raise the open files limit: {e}");
        }
    }
}

/// The configuration file's settings (or the defaults), the family `--dialect` names taking
/// the place of the file's.
fn load_config(path: Option<&std::path::Path>, dialect: Option<Family>) -> anyhow::Result<Config> {
    let mut config = match path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(family) = dialect {
        config.module.family = family;
    }
    Ok(config)
}

/// The line the command line names, if it names one (clap allows at most one).
fn line_flag(a: &ServeArgs) -> Option<Line> {
    a.pty.clone().map(Line::Pty).or(a.tcp.map(Line::Tcp)).or(a.unix.clone().map(Line::Unix)).or_else(|| {
        a.connect.clone().map(Line::Connect).or(a.serial.clone().map(Line::Serial)).or(a.stdio.then_some(Line::Stdio))
    })
}

async fn open_line(line: &LineArgs) -> anyhow::Result<Link> {
    let target = &line.target;
    if let Some(addr) = target.tcp {
        let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        return Ok(Box::new(stream));
    }
    let path = target.pty.as_ref().or(target.serial.as_ref()).context("no line given")?;
    let port = transport::serial::open(path, line.baud).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(port))
}

async fn chat(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let script = Script::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    if let Some(root) = &args.fixtures {
        fixtures::install(&script.header, root).with_context(|| format!("writing fixtures into {}", root.display()))?;
    }
    let vars: BTreeMap<String, String> = args.vars.into_iter().collect();
    let program = script.compile(&vars).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let mut line = open_line(&args.line).await?;
    if args.reset {
        restart(&mut line).await?;
    }
    match vmodem::script::run(&program, &mut line).await {
        Ok(outcome) => {
            println!("PASS {} ({} bytes sent, {} received)", args.file.display(), outcome.sent, outcome.received);
            Ok(ExitCode::SUCCESS)
        }
        Err(mismatch) => {
            println!("FAIL {}\n{mismatch}", args.file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Sends `AT+CFUN=1,1` and waits until the boot URCs have come and the line is quiet again.
async fn restart(line: &mut Link) -> anyhow::Result<()> {
    line.write_all(b"AT+CFUN=1,1\r").await?;
    let deadline = tokio::time::Instant::now() + RESET_MAX;
    let mut chunk = [0u8; 1024];
    let (mut booted, mut tail) = (false, Vec::new());
    loop {
        // Before the first boot URC the module may be silent for seconds; after it, a short
        // silence means the boot is over.
        let wait = if booted { RESET_QUIET } else { RESET_MAX };
        let until = deadline.min(tokio::time::Instant::now() + wait);
        match tokio::time::timeout_at(until, line.read(&mut chunk)).await {
            Ok(Ok(0)) => anyhow::bail!("the line closed during the restart"),
            Ok(Ok(n)) => {
                tail.extend_from_slice(&chunk[..n]);
                booted |= tail.windows(4).any(|w| w == b"RDY\r");
                tail.drain(..tail.len().saturating_sub(3));
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) if booted => return Ok(()),
            Err(_) => anyhow::bail!("no RDY within {RESET_MAX:?} of AT+CFUN=1,1"),
        }
    }
}

/// Ctrl-]: leaves `vmodem term`, as in telnet.
const QUIT_KEY: u8 = 0x1d;

async fn term(args: LineArgs) -> anyhow::Result<ExitCode> {
    let mut remote = open_line(&args).await?;
    let (mut local, guard) = transport::stdio::link()?;
    if guard.is_raw() {
        eprint!("connected; Ctrl-] quits\r\n");
    }
    let (mut from_user, mut from_modem) = (vec![0u8; 1024], vec![0u8; 4096]);
    loop {
        tokio::select! {
            n = local.read(&mut from_user) => {
                let n = n?;
                if n == 0 {
                    break;
                }
                let input = &from_user[..n];
                let end = input.iter().position(|&b| b == QUIT_KEY);
                remote.write_all(&input[..end.unwrap_or(n)]).await?;
                if end.is_some() {
                    break;
                }
            }
            n = remote.read(&mut from_modem) => {
                let n = n?;
                if n == 0 {
                    break;
                }
                local.write_all(&from_modem[..n]).await?;
                local.flush().await?;
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    drop(guard);
    Ok(ExitCode::SUCCESS)
}
