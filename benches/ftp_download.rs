//! Download throughput at the limit, measured so that the figures hold: a file fetched through
//! a vmodem on the TCP transport (no pacing, the `instant` link profile), each way interleaved
//! run by run with its reference:
//!
//! - sim7080 `AT+FTPEXTGET=2` into the module file system, against `curl` writing a file in the
//!   same folder;
//! - the sim7080 `AT+FTPETGET` DLE/ETX stream (escaped by the modem, unescaped by the host),
//!   against `curl > /dev/null`;
//! - sim7080 `AT+FTPGET=1` then `AT+FTPGET=2,1460` until `+FTPGET: 1,0`, against the *host-loop
//!   ceiling*: the same host loop against a loopback task that answers every read at once with
//!   a full response holding the file's next bytes (a modem that costs nothing but that copy
//!   and never runs dry), checked by the host as vmodem's are;
//! - l610 `AT+FTPOPEN`, `AT+FTPGET="<file>"`, then `AT+FTPRECV=3000` until the file and
//!   `+FTPGET: 1` have come, against the same kind of ceiling answering `+FTPRECV: 3000`.
//!
//! Servers: the embedded libunftp server on loopback, and vsftpd, proftpd and pure-ftpd as
//! scripts/test-servers.sh starts them, each plain and over explicit FTPS (`AT+FTPSSL=2` with
//! the test CA converted; curl with `--ssl-reqd --cacert`; the read-on-request rows are left
//! out there, bound by their round trips either way, and the L610 has no FTPS). Run
//! `scripts/test-servers.sh start` first.
//!
//! Method: [`DEFAULT_RUNS`] rounds (`VMODEM_BENCH_RUNS`); in each round every row runs its
//! vmodem client and its reference back to back, the order swapped every other round. The
//! table gives minimum, median and maximum seconds of each, and the vmodem/reference ratio of
//! throughput at the medians and at the minima. EXTGET, ETGET and curl move
//! `VMODEM_BENCH_MIB` MiB (default 1024: over a second a run even from vsftpd); FTPGET, FTPRECV
//! and their ceilings, bound by one round trip per read, move `VMODEM_BENCH_FTPGET_MIB`
//! (default 32, about a second a run). The machine's load average and busy share are printed
//! before and after. What the ETGET stream costs apart from the download is measured in the
//! same run: escaping and unescaping in memory, and the line's own hop (the same bytes through
//! a loopback TCP socket between two threads).
//!
//! Every vmodem download and every ceiling run is checked byte for byte against the file
//! (streamed, never held whole), each curl download by its size. For the read-on-request rows
//! the time on a CPU of the host's thread and of the process's other threads (the modem's
//! runtime, or the canned responder's) is printed per read
//! (/proc/self/task/*/schedstat). Memory: the modems run in this process; before each
//! vmodem download /proc/self/clear_refs resets VmHWM to the current resident size, and after
//! it VmHWM minus that size is the peak growth of the process during the download (the host's
//! own buffers are a few hundred KiB; the file's bytes are resident before, in the test data).
//!
//! An EXTGET or ETGET download is timed from sending its first command to reading its final
//! URC, so like curl's (spawn to exit) it includes the login and the data connection. A read on
//! request is timed as its ceiling is, over the host loop alone: from the URC that says data
//! is ready (`+FTPGET: 1,1`, the L610's first `+FTPGET: 2`) to the final URC. Opening its session
//! before (login, `RETR`, the first data) is the server's pace, not the loop's: curl's own
//! logins take 35-60 ms on vsftpd, and proftpd's master pauses up to 0.4 s after a session ends
//! before it greets the next. Those times are printed apart, beside each row's runs.
//!
//! `VMODEM_BENCH_ONLY=extget,etget,ftpget,ftprecv` picks rows, `VMODEM_BENCH_SERVERS=vsftpd`
//! servers (a substring of the name), for a quick before/after.

#[path = "support/proc.rs"]
mod proc;
mod support;
#[path = "support/vsftpd.rs"]
mod vsftpd;

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use support::{Host, OK, random_bytes};
use vmodem::config::ModuleConfig;
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::family::Family;
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem_at::dle::Unescaper;
use vsftpd::Vsftpd;

/// The large file's size in MiB unless `VMODEM_BENCH_MIB` says otherwise.
const DEFAULT_MIB: usize = 1024;
/// The FTPGET file's size in MiB unless `VMODEM_BENCH_FTPGET_MIB` says otherwise.
const DEFAULT_FTPGET_MIB: usize = 32;
/// Rounds unless `VMODEM_BENCH_RUNS` says otherwise.
const DEFAULT_RUNS: usize = 10;
/// Bytes the host asks for per `AT+FTPGET=2`: the most the SIM7080 allows.
const CHUNK: usize = 1460;
/// The host's read command, for [`CHUNK`] bytes.
const REQUEST: &[u8] = b"AT+FTPGET=2,1460\r";
/// Bytes an L610 host asks for per `AT+FTPRECV`: the most the L610 allows.
const RECV_CHUNK: usize = 3000;
/// The L610 host's read command, for [`RECV_CHUNK`] bytes.
const RECV_REQUEST: &[u8] = b"AT+FTPRECV=3000\r";
/// The longest one download may take, through vmodem or curl.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(900);
/// The large remote file's name.
const FILE_NAME: &str = "vmodem-bench.bin";
/// The FTPGET remote file's name (the large file's first bytes).
const SMALL_NAME: &str = "vmodem-bench-small.bin";
/// The bound on a vmodem download's peak growth of resident memory (VmHWM): the file is
/// never held, only a few buffers of at most 256 KiB.
const PEAK_BOUND: u64 = 16 << 20;
/// The embedded server's login.
const EMBEDDED_LOGIN: (&str, &str) = ("bench", "bench");

/// An FTP server to download from.
struct Server {
    /// Its name in the table.
    name: &'static str,
    /// The name the host gives in `AT+FTPSERV`, redirected to `addr`.
    host: &'static str,
    addr: SocketAddr,
    user: String,
    password: String,
    /// For explicit FTPS: the CA certificate that issued the server's (PEM).
    ca: Option<PathBuf>,
}

/// One client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Client {
    /// vmodem, `AT+FTPGET=2,1460` until `+FTPGET: 1,0`.
    FtpGet,
    /// vmodem, `AT+FTPEXTGET=2` into the module file system.
    ExtGetToFs,
    /// vmodem, the `AT+FTPETGET` DLE/ETX stream.
    EtGet,
    /// vmodem as an L610: `AT+FTPGET="<file>"` into the module's buffer, then
    /// `AT+FTPRECV=3000` until the whole file has come.
    FtpRecv,
    /// curl into /dev/null.
    CurlNull,
    /// curl into a file beside the module file system's.
    CurlFile,
    /// The host loop against the canned responder.
    Ceiling,
    /// The `AT+FTPRECV` host loop against its canned responder.
    RecvCeiling,
}

impl Client {
    /// The vmodem clients, each the first of a row.
    const VMODEM: [Client; 4] = [Client::ExtGetToFs, Client::EtGet, Client::FtpGet, Client::FtpRecv];

    fn key(self) -> &'static str {
        match self {
            Client::FtpGet => "ftpget",
            Client::ExtGetToFs => "extget",
            Client::EtGet => "etget",
            Client::FtpRecv => "ftprecv",
            _ => "",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Client::FtpGet => "vmodem `AT+FTPGET=2,1460`",
            Client::ExtGetToFs => "vmodem `AT+FTPEXTGET=2` (to the module file system)",
            Client::EtGet => "vmodem `AT+FTPETGET` (DLE/ETX stream)",
            Client::FtpRecv => "vmodem L610 `AT+FTPRECV=3000`",
            Client::CurlNull => "curl → /dev/null",
            Client::CurlFile => "curl → file",
            Client::Ceiling | Client::RecvCeiling => "host loop, canned responder (ceiling)",
        }
    }

    /// The reference a vmodem client is compared with.
    fn reference(self) -> Client {
        match self {
            Client::FtpGet => Client::Ceiling,
            Client::FtpRecv => Client::RecvCeiling,
            Client::EtGet => Client::CurlNull,
            _ => Client::CurlFile,
        }
    }

    /// Whether this vmodem client runs against `server`: the read-on-request loops only on
    /// plain FTP (their round trips bound them either way; the L610 has no FTPS).
    fn runs_on(self, server: &Server) -> bool {
        server.ca.is_none() || !self.reads_on_request()
    }

    /// Whether the host reads piece by piece on request (the small file, a ceiling).
    fn reads_on_request(self) -> bool {
        matches!(self, Client::FtpGet | Client::FtpRecv)
    }

    /// The bytes a read on request asks for.
    fn piece(self) -> usize {
        if self == Client::FtpRecv { RECV_CHUNK } else { CHUNK }
    }
}

/// The runs of one client in one row.
#[derive(Default)]
struct Runs {
    times: Vec<Duration>,
    /// The largest growth of VmHWM over one run (vmodem clients only), bytes.
    peak_growth: u64,
    /// Reads that found nothing buffered over all runs (`+FTPGET: 2,0`, `+FTPRECV: 0`).
    empty_reads: u64,
    /// How long opening the session took before each timed read loop (read-on-request clients).
    opening: Vec<Duration>,
    /// Time on a CPU over each run: the host's thread, and every other thread of the process
    /// (the modems' runtime with the canned responders, the embedded server).
    cpu: Vec<(Duration, Duration)>,
}

impl Runs {
    fn sorted(&self) -> Vec<Duration> {
        let mut v = self.times.clone();
        v.sort_unstable();
        v
    }
    fn min(&self) -> Duration {
        self.sorted()[0]
    }
    /// The median (the mean of the middle two of an even count).
    fn median(&self) -> Duration {
        let v = self.sorted();
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 }
    }
    fn max(&self) -> Duration {
        *self.sorted().last().unwrap()
    }
}

/// Where the benchmark's threads run during a row's downloads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Placement {
    /// Wherever the scheduler puts them.
    Free,
    /// The host (this process's main thread) on CPU 0, everything else (the modems' and the
    /// canned responder's runtime) on CPU 1: every request and response crosses cores.
    Apart,
    /// Every thread on CPU 0: a request costs what its code and system calls cost, with no
    /// wake-up across cores.
    OneCore,
}

impl Placement {
    fn label(self) -> &'static str {
        match self {
            Placement::Free => "",
            Placement::Apart => ", host and modem on two cores",
            Placement::OneCore => ", one core",
        }
    }

    /// Pins every thread of this process as the placement says (servers and curl, separate
    /// processes, stay free).
    fn apply(self) -> anyhow::Result<()> {
        use rustix::thread::{CpuSet, Pid, sched_setaffinity};
        // Counted once, before any pinning narrows what this thread may use.
        static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let cpus = *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        ensure!(cpus >= 2 || self != Placement::Apart, "two cores are needed to put the host and the modem apart");
        let set = |cpu: Option<usize>| {
            let mut set = CpuSet::new();
            match cpu {
                Some(cpu) => set.set(cpu),
                None => (0..cpus).for_each(|c| set.set(c)),
            }
            set
        };
        let (host, rest) = match self {
            Placement::Free => (set(None), set(None)),
            Placement::Apart => (set(Some(0)), set(Some(1))),
            Placement::OneCore => (set(Some(0)), set(Some(0))),
        };
        let me = std::process::id();
        for task in std::fs::read_dir("/proc/self/task")? {
            let Some(tid) = task?.file_name().to_str().and_then(|t| t.parse::<i32>().ok()) else { continue };
            let cpus = if tid as u32 == me { &host } else { &rest };
            // A thread may have ended since the listing.
            if let Some(pid) = Pid::from_raw(tid) {
                sched_setaffinity(Some(pid), cpus).ok();
            }
        }
        Ok(())
    }
}

/// One vmodem client against one server, beside its reference.
struct Row {
    server: &'static str,
    client: Client,
    placement: Placement,
    bytes: usize,
    vmodem: Runs,
    reference: Runs,
}

fn main() -> anyhow::Result<()> {
    support::require_curl()?;
    let mib = support::file_mib(DEFAULT_MIB)?;
    let small_mib: usize = proc::env_number("VMODEM_BENCH_FTPGET_MIB", DEFAULT_FTPGET_MIB)?;
    let rounds: usize = proc::env_number("VMODEM_BENCH_RUNS", DEFAULT_RUNS)?;
    ensure!(rounds >= 1, "VMODEM_BENCH_RUNS must be at least 1");
    let only = std::env::var("VMODEM_BENCH_ONLY").unwrap_or_default();
    let clients: Vec<Client> = Client::VMODEM
        .into_iter()
        .filter(|c| only.is_empty() || only.split(',').any(|k| k.trim() == c.key()))
        .collect();
    let server_filter = std::env::var("VMODEM_BENCH_SERVERS").unwrap_or_default();

    let data = random_bytes(mib << 20);
    let small_len = (small_mib << 20).min(data.len());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;

    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join(FILE_NAME), &data)?;
    std::fs::write(dir.path().join(SMALL_NAME), &data[..small_len])?;
    let (user, password) = EMBEDDED_LOGIN;
    let embedded = runtime.block_on(EmbeddedFtp::start(EmbeddedFtpConfig {
        root: dir.path().to_path_buf(),
        user: user.into(),
        password: password.into(),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
    }))?;
    let mut servers = vec![Server {
        name: "libunftp (embedded)",
        host: "embedded.bench.invalid",
        addr: embedded.addr(),
        user: user.into(),
        password: password.into(),
        ca: None,
    }];
    let vsftpd = Vsftpd::find()?;
    let debian = debian_servers(vsftpd)?;
    // The copies in the servers' roots go away when these are dropped.
    let mut _served = Vec::new();
    for (name, bytes) in [(FILE_NAME, &data[..]), (SMALL_NAME, &data[..small_len])] {
        let first = debian[0].root.join(name);
        _served.push(RemoveOnDrop(first.clone()));
        std::fs::write(&first, bytes)?;
        // The servers read it as the FTP user.
        std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o644))?;
        for other in debian.iter().map(|d| d.root.join(name)).filter(|p| *p != first) {
            std::fs::remove_file(&other).ok();
            _served.push(RemoveOnDrop(other.clone()));
            // One copy on the disk: the roots share a file system.
            std::fs::hard_link(&first, &other).or_else(|_| std::fs::write(&other, bytes))?;
        }
    }
    servers.extend(debian.into_iter().flat_map(|d| d.servers));
    servers.retain(|s| server_filter.is_empty() || s.name.contains(server_filter.as_str()));

    let redirects = servers.iter().map(|s| Redirect::new(s.host, Some(21), s.addr)).collect();
    let mut config = ModuleConfig::default();
    let fs_dir = tempfile::tempdir()?;
    config.fs.root = Some(fs_dir.path().to_path_buf());
    config.fs.quota = u64::MAX;
    let net = Net::new(NetConfig::redirecting(redirects));
    let l610_config = ModuleConfig { family: Family::L610, ..ModuleConfig::default() };
    let addr = support::start_modem(&runtime, config, net.clone())?;
    let mut host = Host::connect(addr)?.failing_on(is_failure_urc);
    let mut l610 = Host::connect(support::start_modem(&runtime, l610_config, net)?)?.failing_on(is_failure_urc);
    l610.command("ATE0")?;
    l610.command("AT+MIPCALL=1,\"CMNET\"")?;
    l610.wait_for_prefix("+MIPCALL: ")?;
    host.command("ATE0")?;
    host.command("AT+CNACT=0,1")?;
    host.wait_for("+APP PDP: 0,ACTIVE")?;
    for cmd in ["AT+FTPCID=0", "AT+FTPMODE=1", "AT+FTPTYPE=\"I\"", "AT+FTPGETPATH=\"/\""] {
        host.command(cmd)?;
    }
    let in_module_fs = fs_dir.path().join("fota").join(FILE_NAME);
    let curl_file = fs_dir.path().join("curl.bin");
    let ceiling_len = |client: Client| small_len - small_len % client.piece();
    let canned = |header: String, client: Client| {
        let file = Arc::new(data[..ceiling_len(client)].to_vec());
        anyhow::Ok(Host::connect(runtime.block_on(canned_responder(header, client.piece(), file))?)?)
    };
    let mut canned_get = canned(format!("+FTPGET: 2,{CHUNK}"), Client::FtpGet)?;
    let mut canned_recv = canned(format!("+FTPRECV: {RECV_CHUNK}"), Client::FtpRecv)?;

    let load_before = proc::loadavg();
    let busy_before = proc::busy_share(Duration::from_secs(2))?;
    let started = Instant::now();
    let mut rows = Vec::new();
    for server in &servers {
        host.command(&format!("AT+FTPSERV=\"{}\"", server.host))?;
        host.command(&format!("AT+FTPUN=\"{}\"", server.user))?;
        host.command(&format!("AT+FTPPW=\"{}\"", server.password))?;
        let tls = match &server.ca {
            Some(ca) => {
                host.use_ca(&std::fs::read(ca)?)?;
                "AT+FTPSSL=2,0,\"ca.pem\",\"\""
            }
            None => "AT+FTPSSL=0",
        };
        host.command(tls)?;
        let first = rows.len();
        for &client in clients.iter().filter(|c| c.runs_on(server)) {
            let (bytes, placements) = if client.reads_on_request() {
                (small_len, &[Placement::Apart, Placement::OneCore][..])
            } else {
                (data.len(), &[Placement::Free][..])
            };
            for &placement in placements {
                let (vmodem, reference) = (Runs::default(), Runs::default());
                rows.push(Row { server: server.name, client, placement, bytes, vmodem, reference });
            }
        }
        for round in 0..rounds {
            for row in &mut rows[first..] {
                let order = if round % 2 == 0 { [true, false] } else { [false, true] };
                row.placement.apply()?;
                for vmodem in order {
                    let cpu_before = proc::threads_cpu()?;
                    if vmodem {
                        let host = if row.client == Client::FtpRecv { &mut l610 } else { &mut host };
                        let (time, growth, empty, opening) =
                            run_vmodem(host, server, row.client, &data[..row.bytes], &in_module_fs)?;
                        row.vmodem.times.push(time);
                        row.vmodem.opening.extend(opening);
                        row.vmodem.peak_growth = row.vmodem.peak_growth.max(growth);
                        row.vmodem.empty_reads += empty;
                    } else {
                        let start = Instant::now();
                        match row.client.reference() {
                            Client::Ceiling | Client::RecvCeiling => {
                                let len = ceiling_len(row.client);
                                let mut check = Check::new(&data[..len]);
                                while check.at() < len {
                                    let room = len - check.at();
                                    if row.client == Client::FtpRecv {
                                        canned_recv.recv_chunk(&mut check, room)?;
                                    } else {
                                        canned_get.chunk(&mut check, room)?;
                                    }
                                }
                            }
                            Client::CurlNull => curl_download(server, data.len(), Path::new("/dev/null"))?,
                            _ => curl_download(server, data.len(), &curl_file)?,
                        }
                        row.reference.times.push(start.elapsed());
                        std::fs::remove_file(&curl_file).ok();
                    }
                    let runs = if vmodem { &mut row.vmodem } else { &mut row.reference };
                    runs.cpu.push(proc::threads_cpu_since(&cpu_before)?);
                }
            }
        }
    }
    Placement::Free.apply()?;
    let took = started.elapsed();
    let load_after = proc::loadavg();
    let (escape, unescape, growth) = escaping_cost(&data)?;
    let hop = line_hop(&data)?;
    let busy_after = proc::busy_share(Duration::from_secs(2))?;

    println!(
        "FTP download through vmodem (sim7080 on TCP, no pacing, `instant` profile), each row interleaved with its \
         reference"
    );
    println!(
        "{rounds} rounds; {mib} MiB for EXTGET/ETGET/curl, {small_mib} MiB for FTPGET, FTPRECV and their ceilings; {:.0} \
         s in all",
        took.as_secs_f64()
    );
    println!(
        "load average before {load_before}, after {load_after}; machine busy (2 s idle sample) before {:.0} %, after {:.0} %",
        busy_before * 100.0,
        busy_after * 100.0
    );
    println!();
    println!(
        "| server | client | MiB | s min / median / max | MiB/s (median) | reference: s min / median / max | MiB/s \
         (median) | ratio of medians | ratio of minima | peak RSS growth |"
    );
    println!("| --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for row in &rows {
        let (v, r) = (&row.vmodem, &row.reference);
        let bytes_ref = if row.client.reads_on_request() { ceiling_len(row.client) } else { row.bytes };
        let v_rate = support::rate(row.bytes, v.median());
        let r_rate = support::rate(bytes_ref, r.median());
        let ratio_min = support::rate(row.bytes, v.min()) / support::rate(bytes_ref, r.min());
        let extra = match row.client {
            Client::FtpGet => format!(" ({} × `+FTPGET: 2,0`{})", v.empty_reads, row.placement.label()),
            Client::FtpRecv => format!(" ({} × `+FTPRECV: 0`{})", v.empty_reads, row.placement.label()),
            _ => String::new(),
        };
        println!(
            "| {} | {}{extra} | {} | {} | {v_rate:.1} | {}: {} | {r_rate:.1} | {:.3} | {ratio_min:.3} | {:.1} MiB |",
            row.server,
            row.client.label(),
            row.bytes >> 20,
            three(v),
            row.client.reference().label(),
            three(r),
            v_rate / r_rate,
            v.peak_growth as f64 / f64::from(1 << 20),
        );
    }
    println!();
    println!(
        "The cost of escaping (ETGET), in memory on one core, 64 KiB at a time: DLE/ETX escaping {escape:.0} MiB/s, \
         unescaping {unescape:.0} MiB/s; the escaped stream is {:.2} % longer",
        growth * 100.0
    );
    println!(
        "The line's own hop (ETGET): {mib} MiB written 64 KiB at a time into a loopback TCP socket and read by another \
         thread 64 KiB at a time, as the modem and the host move the stream: {:.3} s ({:.0} MiB/s), best of three",
        hop.as_secs_f64(),
        support::rate(data.len(), hop)
    );
    println!();
    for row in &rows {
        let opening = match row.vmodem.opening.as_slice() {
            [] => String::new(),
            times => {
                let ms: Vec<String> = times.iter().map(|t| format!("{:.0}", t.as_secs_f64() * 1e3)).collect();
                format!("; opening the session before the loop, ms: {}", ms.join(", "))
            }
        };
        let cpu = if row.client.reads_on_request() {
            let reads = (row.bytes / row.client.piece()) as f64;
            let per_read = |runs: &Runs| {
                let us = |f: fn(&(Duration, Duration)) -> Duration| {
                    proc::median_f64(runs.cpu.iter().map(|c| f(c).as_secs_f64() * 1e6 / reads).collect())
                };
                format!("host {:.2}, the rest {:.2}", us(|c| c.0), us(|c| c.1))
            };
            format!(
                "; CPU per read, µs (medians): vmodem {}; reference {}",
                per_read(&row.vmodem),
                per_read(&row.reference)
            )
        } else {
            String::new()
        };
        println!(
            "- {} / {}{}: vmodem {}; reference {}{opening}{cpu}",
            row.server,
            row.client.key(),
            row.placement.label(),
            support::runs(&row.vmodem.times),
            support::runs(&row.reference.times)
        );
    }
    let peak = rows.iter().map(|r| r.vmodem.peak_growth).max().unwrap_or(0);
    println!();
    println!(
        "Peak growth of resident memory over any one vmodem download: {:.1} MiB (bound {} MiB)",
        peak as f64 / f64::from(1 << 20),
        PEAK_BOUND >> 20
    );
    ensure!(peak <= PEAK_BOUND, "a download grew resident memory by {peak} bytes, beyond {PEAK_BOUND}");
    drop(embedded);
    Ok(())
}

/// What escaping costs on its own: MiB/s of `vmodem_at::dle::escape_into` and of the host's
/// `Unescaper` over `data`, 64 KiB at a time (the modem's pump escapes pipe-loads of that
/// order), best of three, and how much longer the escaped stream is.
fn escaping_cost(data: &[u8]) -> anyhow::Result<(f64, f64, f64)> {
    const PIECE: usize = 64 * 1024;
    let (mut escape, mut unescape) = (Duration::MAX, Duration::MAX);
    let mut escaped_len = 0;
    let mut escaped = Vec::with_capacity(PIECE * 2);
    let mut plain = Vec::with_capacity(PIECE * 2);
    for _ in 0..3 {
        let (mut e, mut u) = (Duration::ZERO, Duration::ZERO);
        let mut unescaper = Unescaper::default();
        escaped_len = 0;
        for piece in data.chunks(PIECE) {
            escaped.clear();
            let t = Instant::now();
            vmodem_at::dle::escape_into(piece, &mut escaped);
            e += t.elapsed();
            escaped_len += escaped.len();
            plain.clear();
            let t = Instant::now();
            let r = unescaper.push(&escaped, &mut plain);
            u += t.elapsed();
            ensure!(!r.ended && plain == piece, "escaping does not round-trip");
        }
        escape = escape.min(e);
        unescape = unescape.min(u);
    }
    Ok((
        support::rate(data.len(), escape),
        support::rate(data.len(), unescape),
        escaped_len as f64 / data.len() as f64 - 1.0,
    ))
}

/// What the line's own hop costs: `data` written 64 KiB at a time into a loopback TCP socket
/// and read 64 KiB at a time by another thread (as the modem writes the ETGET stream and the
/// host reads it), best of three.
fn line_hop(data: &[u8]) -> anyhow::Result<Duration> {
    use std::io::Write;
    const PIECE: usize = 64 * 1024;
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let start = Instant::now();
        let read = std::thread::scope(|s| -> anyhow::Result<usize> {
            let reader = s.spawn(move || -> anyhow::Result<usize> {
                let (mut stream, _) = listener.accept()?;
                let mut buf = vec![0u8; PIECE];
                let mut n = 0;
                loop {
                    match stream.read(&mut buf)? {
                        0 => return Ok(n),
                        k => n += k,
                    }
                }
            });
            let mut stream = std::net::TcpStream::connect(addr)?;
            for piece in data.chunks(PIECE) {
                stream.write_all(piece)?;
            }
            drop(stream);
            reader.join().expect("the reader does not panic")
        })?;
        best = best.min(start.elapsed());
        ensure!(read == data.len(), "the hop carried {read} bytes of {}", data.len());
    }
    Ok(best)
}

/// "min / median / max" in seconds.
fn three(r: &Runs) -> String {
    format!("{:.3} / {:.3} / {:.3}", r.min().as_secs_f64(), r.median().as_secs_f64(), r.max().as_secs_f64())
}

/// One vmodem download of `data`: its time, the growth of VmHWM over it, the empty reads, and
/// for a read on request the time its session took to open (outside the timed loop).
fn run_vmodem(
    host: &mut Host,
    server: &Server,
    client: Client,
    data: &[u8],
    in_module_fs: &Path,
) -> anyhow::Result<(Duration, u64, u64, Option<Duration>)> {
    let name = if client.reads_on_request() { SMALL_NAME } else { FILE_NAME };
    if client != Client::FtpRecv {
        host.command(&format!("AT+FTPGETNAME=\"{name}\""))?;
    }
    let base = reset_hwm()?;
    let mut check = Check::new(data);
    let (mut empty, mut ready) = (0, None);
    let start = Instant::now();
    match client {
        Client::FtpGet => (empty, ready) = host.download(&mut check, data.len()).map(|(e, r)| (e, Some(r)))?,
        Client::ExtGetToFs => host.extget_to_fs()?,
        Client::EtGet => host.etget(&mut check, data.len())?,
        Client::FtpRecv => (empty, ready) = host.ftprecv(server, &mut check, data.len()).map(|(e, r)| (e, Some(r)))?,
        _ => unreachable!(),
    }
    let time = ready.unwrap_or(start).elapsed();
    let opening = ready.map(|ready| ready - start);
    if client == Client::FtpRecv {
        host.command("AT+FTPCLOSE")?;
        host.wait_for("+FTPCLOSE: 1")?;
    }
    let growth = status_kib("VmHWM")?.saturating_sub(base) * 1024;
    match client {
        Client::ExtGetToFs => {
            ensure!(same_file(in_module_fs, data)?, "{}: the module file system's copy differs", client.label());
            std::fs::remove_file(in_module_fs)?;
        }
        _ => ensure!(check.at() == data.len(), "{}: {} bytes of {}", client.label(), check.at(), data.len()),
    }
    Ok((time, growth, empty, opening))
}

/// Resets this process's VmHWM to its resident size and returns that size, KiB.
fn reset_hwm() -> anyhow::Result<u64> {
    std::fs::write("/proc/self/clear_refs", "5").context("resetting VmHWM (/proc/self/clear_refs)")?;
    status_kib("VmRSS")
}

/// A `kB` field of /proc/self/status.
fn status_kib(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field}"))?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

/// Whether the file at `path` holds `data`, read in pieces.
fn same_file(path: &Path, data: &[u8]) -> anyhow::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    if file.metadata()?.len() != data.len() as u64 {
        return Ok(false);
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(at == data.len());
        }
        if buf[..n] != data[at..at + n] {
            return Ok(false);
        }
        at += n;
    }
}

/// Where the host puts received bytes: compared on the fly with the file.
struct Check<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Check<'a> {
    /// A check of bytes against `data`, from its start.
    fn new(data: &'a [u8]) -> Self {
        Check { data, at: 0 }
    }

    /// Takes `bytes`, failing on any that differ from the file's.
    fn push(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let at = self.at;
        ensure!(at + bytes.len() <= self.data.len(), "more bytes than the file holds");
        ensure!(self.data[at..at + bytes.len()] == *bytes, "different bytes than the file holds after {at}");
        self.at += bytes.len();
        Ok(())
    }

    /// How many bytes have been taken.
    fn at(&self) -> usize {
        self.at
    }
}

/// A loopback TCP task that answers each `\r`-terminated request at once with a full read
/// response (`header`, the next `len` bytes of `file`, OK), as to `AT+FTPGET=2,1460` or
/// `AT+FTPRECV=3000`: the fastest modem such a host loop could talk to. It serves `file`
/// (whole pieces of `len`) from the start again after its last piece, so that the host checks
/// every ceiling run against the file as it checks vmodem's.
async fn canned_responder(header: String, len: usize, file: Arc<Vec<u8>>) -> std::io::Result<SocketAddr> {
    let header = format!("\r\n{header}\r\n").into_bytes();
    let pieces = file.len() / len;
    assert!(pieces > 0, "a file of at least one piece");
    let mut next = 0;
    support::loopback_responder(move |read, out| {
        for _ in read.iter().filter(|&&b| b == b'\r') {
            out.extend_from_slice(&header);
            out.extend_from_slice(&file[next * len..][..len]);
            out.extend_from_slice(OK);
            next = (next + 1) % pieces;
        }
    })
    .await
}

/// A Debian FTP server from scripts/test-servers.sh: its root, and the two servers it is in
/// the table (plain, and with explicit FTPS on the same port).
struct Debian {
    root: PathBuf,
    servers: [Server; 2],
}

/// vsftpd, proftpd and pure-ftpd as scripts/test-servers.sh runs them (one login, one CA).
fn debian_servers(vsftpd: Vsftpd) -> anyhow::Result<Vec<Debian>> {
    let (_, env) = vsftpd::servers_env()?;
    let get = |k: &str| env.get(k).with_context(|| format!("{k} missing from servers.env"));
    let port = |k: &str| -> anyhow::Result<SocketAddr> {
        let port: u16 = get(k)?.parse().with_context(|| format!("{k} is not a port"))?;
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    };
    let pair = |name: &'static str, tls: &'static str, host: &'static str, tls_host: &'static str, addr| {
        let plain = Server { name, host, addr, user: vsftpd.user.clone(), password: vsftpd.password.clone(), ca: None };
        let tls = Server {
            name: tls,
            host: tls_host,
            ca: Some(vsftpd.ca.clone()),
            user: plain.user.clone(),
            password: plain.password.clone(),
            ..plain
        };
        [plain, tls]
    };
    Ok(vec![
        Debian {
            root: vsftpd.root.clone(),
            servers: pair(
                "vsftpd",
                "vsftpd (explicit FTPS)",
                "vsftpd.bench.invalid",
                "vsftpd-tls.bench.invalid",
                vsftpd.addr,
            ),
        },
        Debian {
            root: PathBuf::from(get("PROFTPD_ROOT")?),
            servers: pair(
                "proftpd",
                "proftpd (explicit FTPS)",
                "proftpd.bench.invalid",
                "proftpd-tls.bench.invalid",
                port("PROFTPD_PORT")?,
            ),
        },
        Debian {
            root: PathBuf::from(get("PUREFTPD_ROOT")?),
            servers: pair(
                "pure-ftpd",
                "pure-ftpd (explicit FTPS)",
                "pure-ftpd.bench.invalid",
                "pure-ftpd-tls.bench.invalid",
                port("PUREFTPD_PORT")?,
            ),
        },
    ])
}

/// Deletes a file when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

/// Fetches the large file with curl (passive mode, as vmodem is set to) into `output`.
fn curl_download(server: &Server, len: usize, output: &Path) -> anyhow::Result<()> {
    let url = format!("ftp://{}/{FILE_NAME}", server.addr);
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--write-out", "%{size_download}", "--output"])
        .arg(output)
        .args(server.ca.iter().flat_map(|ca| [std::ffi::OsStr::new("--ssl-reqd"), "--cacert".as_ref(), ca.as_os_str()]))
        .args(["--max-time", &DOWNLOAD_LIMIT.as_secs().to_string()])
        .arg("--user")
        .arg(format!("{}:{}", server.user, server.password))
        .arg(&url)
        .output()?;
    ensure!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr).trim());
    let size = String::from_utf8_lossy(&out.stdout);
    ensure!(size.trim() == len.to_string(), "curl {url}: {size} bytes instead of {len}");
    Ok(())
}

/// Whether `line` ends an FTP session or download in failure (`+FTPGET: 1,72`,
/// `+FTPEXTGETFILE: 1,79`; the L610's `+FTPGET: 0`).
fn is_failure_urc(line: &str) -> bool {
    line == "+FTPGET: 0"
        || ["+FTPGET: 1,", "+FTPEXTGETFILE: 1,", "+FTPETGET: 1,"]
            .iter()
            .any(|p| line.strip_prefix(p).is_some_and(|code| code != "0" && code != "1"))
}

/// The FTP side of the host: the read loops and the FS set-up.
impl Host {
    /// One `AT+FTPGET=2,1460` and its response: pushes the data into `out` (at most `room`
    /// bytes) and returns its length. `+FTPGET: 1,1` URCs before the response are skipped.
    fn chunk(&mut self, out: &mut Check, room: usize) -> anyhow::Result<usize> {
        Ok(self.read_on_request(REQUEST, "+FTPGET: 2,", &["+FTPGET: 1,1"], out, room)?.0)
    }

    /// One `AT+FTPRECV=3000` and its response: pushes the data into `out` (at most `room`
    /// bytes) and returns its length, and whether `+FTPGET: 1` (the whole file is in the
    /// buffer) came before it. `+FTPGET: 2` URCs are skipped.
    fn recv_chunk(&mut self, out: &mut Check, room: usize) -> anyhow::Result<(usize, bool)> {
        let (n, urcs) = self.read_on_request(RECV_REQUEST, "+FTPRECV: ", &["+FTPGET: 2", "+FTPGET: 1"], out, room)?;
        Ok((n, urcs.iter().any(|u| u == "+FTPGET: 1")))
    }

    /// Sends `request` and reads its response, `<header><n>`, n bytes of data and OK: pushes
    /// the data into `out` (at most `room` bytes), and returns n and the URCs among `urcs`
    /// that came before the response; any other line fails.
    fn read_on_request(
        &mut self,
        request: &[u8],
        header: &str,
        urcs: &[&str],
        out: &mut Check,
        room: usize,
    ) -> anyhow::Result<(usize, Vec<String>)> {
        self.send(request)?;
        let mut seen = Vec::new();
        let n = loop {
            match self.line()? {
                line if urcs.contains(&line.as_str()) => seen.push(line),
                line => match line.strip_prefix(header).map(str::parse::<usize>) {
                    Some(Ok(n)) => break n,
                    _ => bail!("after {} bytes: {line:?}", out.at()),
                },
            }
        };
        ensure!(n <= room, "more bytes than the file holds");
        let mut bytes = Vec::with_capacity(n);
        self.take(n, &mut bytes)?;
        out.push(&bytes)?;
        self.expect_bytes(OK).with_context(|| format!("after {n} bytes of data"))?;
        Ok((n, seen))
    }

    /// As an L610 host: opens a session with `server`, `AT+FTPGET` of the small file into the
    /// module's buffer, waits for `+FTPGET: 2`, and `AT+FTPRECV=3000` until `len` bytes and
    /// `+FTPGET: 1` have come. Returns how many reads found the buffer empty, and when the
    /// read loop began.
    fn ftprecv(&mut self, server: &Server, out: &mut Check, len: usize) -> anyhow::Result<(u64, Instant)> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.command(&format!("AT+FTPOPEN=\"{}\",\"{}\",\"{}\"", server.host, server.user, server.password))?;
        self.wait_for("+FTPOPEN: 1")?;
        self.command(&format!("AT+FTPGET=\"{SMALL_NAME}\""))?;
        // As L610 hosts do: data can be read once "+FTPGET: 2" says the buffer has some.
        self.wait_for("+FTPGET: 2")?;
        let ready = Instant::now();
        let (mut empty, mut complete) = (0, false);
        while out.at() < len {
            ensure!(Instant::now() < deadline, "the download took longer than {DOWNLOAD_LIMIT:?}");
            let (n, ended) = self.recv_chunk(out, len - out.at())?;
            complete |= ended;
            if n == 0 {
                empty += 1;
            }
        }
        if !complete {
            self.wait_for("+FTPGET: 1").context("after the last byte")?;
        }
        Ok((empty, ready))
    }

    /// Reads lines until one starts with `prefix`, failing as [`Host::wait_for`] does.
    fn wait_for_prefix(&mut self, prefix: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + support::READ_TIMEOUT;
        while Instant::now() < deadline {
            match self.line()? {
                line if line.starts_with(prefix) => return Ok(()),
                line if line == "ERROR" || line.starts_with("+CME ERROR") => bail!("{line}"),
                _ => {}
            }
        }
        bail!("no {prefix:?}... within {:?}", support::READ_TIMEOUT)
    }

    /// Stores `ca` as /customer/ca.pem, converts it, and names the server `localhost` (the
    /// test certificate's name) in SSL context 0, as a host setting up FTPS does.
    fn use_ca(&mut self, ca: &[u8]) -> anyhow::Result<()> {
        self.command("AT+CFSINIT")?;
        self.send(format!("AT+CFSWFILE=3,\"ca.pem\",0,{},5000\r", ca.len()).as_bytes())?;
        self.wait_for("DOWNLOAD")?;
        self.send(ca)?;
        self.wait_for("OK")?;
        self.command("AT+CFSTERM")?;
        self.command("AT+CSSLCFG=\"convert\",2,\"ca.pem\"")?;
        self.command("AT+CSSLCFG=\"SNI\",0,\"localhost\"")
    }

    /// `AT+FTPEXTGET=2` of the file into /fota/, up to `+FTPEXTGETFILE: 1,0`.
    fn extget_to_fs(&mut self) -> anyhow::Result<()> {
        self.command(&format!("AT+FTPEXTGET=2,1,\"{FILE_NAME}\""))?;
        self.wait_for("+FTPEXTGETFILE: 1,0")
    }

    /// The `AT+FTPETGET` stream of the file, unescaped into `out`, expecting `len` bytes.
    fn etget(&mut self, out: &mut Check, len: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.command("AT+FTPETGET=1")?;
        self.wait_for("+FTPETGET: 1,1")?;
        let mut unescaper = Unescaper::default();
        let mut piece = Vec::with_capacity(256 * 1024);
        loop {
            ensure!(Instant::now() < deadline, "the stream took longer than {DOWNLOAD_LIMIT:?}");
            piece.clear();
            let r = unescaper.push(self.pending(), &mut piece);
            self.consume(r.consumed);
            out.push(&piece)?;
            ensure!(out.at() <= len, "more bytes than the file holds");
            if r.ended {
                break;
            }
            self.fill()?;
        }
        self.wait_for("+FTPETGET: 1,0").context("after the stream's ETX")
    }

    /// Downloads the file set up by the FTP parameters into `out`, expecting `len` bytes.
    /// Returns how many reads found nothing buffered, and when the read loop began.
    fn download(&mut self, out: &mut Check, len: usize) -> anyhow::Result<(u64, Instant)> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.command("AT+FTPGET=1")?;
        self.wait_for("+FTPGET: 1,1")?;
        let ready = Instant::now();
        let mut empty = 0;
        while out.at() < len {
            ensure!(Instant::now() < deadline, "the download took longer than {DOWNLOAD_LIMIT:?}");
            if self.chunk(out, len - out.at())? == 0 {
                empty += 1;
            }
        }
        self.wait_for("+FTPGET: 1,0").context("after the last byte")?;
        Ok((empty, ready))
    }
}
