//! PPP download throughput: the host dials `ATD*99#` (sim7080), runs its own PPP and TCP/IP
//! over the modem's line (the `ppproto` client and the `smoltcp` stack of the integration
//! tests, `tests/it/support/ppp_host.rs`, as pppd or lwIP would), and fetches a file over
//! HTTP/1.0 through the modem, whose relay carries the connection out through its `Net`. The
//! file (pseudo-random bytes) comes from a plain loopback HTTP/1.0 server of this benchmark, on
//! a thread of its own, that writes the whole file to each request and closes.
//!
//! The modems run in this process on a runtime of their own (threads named `vmodem`, two
//! workers, as the binary runs on this machine), the host on the main thread (a current-thread
//! runtime, as a separate single-threaded stack would be); every network path is on loopback.
//! Each line has a modem of its own:
//!
//! - TCP line, no pacing: the host connects to the modem's TCP transport; [`DEFAULT_MIB`] MiB.
//! - PTY, pacing off (`--no-pacing`): the host opens the modem's PTY as a serial port; the
//!   same file.
//! - TCP line at `--baud 921600` (8N1, 10 bits a character: 92,160 bytes/s each way): a
//!   smaller file ([`DEFAULT_PACED_KIB`] KiB), since the line bounds it. Three ways: PPP on the
//!   line itself, and PPP on DLCI 1 of a 27.010 multiplexer (`AT+CMUX=0,0,5,<N1>`, basic
//!   option, UIH frames) with N1 = 127 (Zephyr's) and 1500 (the SIM7080's largest), the host's
//!   side of CMUX written here from the standard.
//!
//! The reference for the unpaced lines is `curl -s -o /dev/null` fetching the same URL
//! directly, in the same run: each round runs the TCP line, curl and the PTY once,
//! [`DEFAULT_RUNS`] rounds. The paced lines' reference is the line's own rate; their runs take
//! turns, [`DEFAULT_PACED_RUNS`] of each. The PPP stream the host reads (under CMUX: what DLCI
//! 1 carries) is taken apart (HDLC flags and escapes, address/control/protocol and FCS, IP and
//! TCP headers, TCP payload) and the multiplexer's frames counted, so that the table says what
//! the line carried; the goal is the line busy at least 95 % of the time, all overhead counted
//! (line bytes / elapsed ≥ 0.95 × 92,160).
//!
//! A download is timed from the host's SYN (`tcp_exchange`) to its return (the server's FIN read
//! and the host's own acked), connection set-up included; the dial (`ATD*99#` to IPCP up) comes
//! once per line before, untimed, followed by [`PINGS`] ICMP echoes over the link (the modem's
//! relay answers them), whose round trips are printed. Every body is collected and checked by
//! SHA-256 after the timing; curl by its status and size (`-w`), and curl's bytes by SHA-256
//! once, untimed, before the runs. CPU seconds of the host thread, the modems' runtime and the
//! server thread come from /proc/self/task, curl's from its reaped children's time (clock ticks
//! of 10 ms).
//!
//! `cargo bench --bench ppp_download` prints the machine's load, the dials' figures and three
//! Markdown tables. `VMODEM_BENCH_MIB` sets another size of the unpaced file,
//! `VMODEM_BENCH_PACED_KIB` of the paced one, `VMODEM_BENCH_RUNS` and `VMODEM_BENCH_PACED_RUNS`
//! other numbers of runs (0 skips that part).

#[path = "../tests/it/support/cmux_host.rs"]
#[allow(dead_code)]
mod cmux_host;
#[path = "../tests/it/support/ppp_host.rs"]
#[allow(dead_code)]
mod ppp_host;
#[path = "support/proc.rs"]
mod proc;
mod support;

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use cmux_host::CmuxHost;
use ppp_host::PppHost;
use sha2::{Digest, Sha256};
use support::{median, random_bytes, rate};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::runtime::Runtime;
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::family::Family;
use vmodem::modem::Modem;
use vmodem::net::Net;
use vmodem::transport::pacing::{LineSpeed, Pacing, Speed};
use vmodem::transport::pty::{self, LineSettings};
use vmodem::transport::{Links, serial, tcp};

/// The unpaced file in MiB unless `VMODEM_BENCH_MIB` says otherwise.
const DEFAULT_MIB: usize = 64;
/// The paced file in KiB unless `VMODEM_BENCH_PACED_KIB` says otherwise (about 12 s a run).
const DEFAULT_PACED_KIB: usize = 1024;
/// Rounds of the unpaced lines and curl.
const DEFAULT_RUNS: usize = 7;
/// Runs of each paced line.
const DEFAULT_PACED_RUNS: usize = 3;
/// The paced line's speed (`--baud`), 8N1.
const BAUD: u32 = 921_600;
const BITS_PER_CHAR: u32 = 10;
/// The N1 values of the multiplexed paced lines.
const N1S: [usize; 2] = [127, 1500];
/// The longest a dial or a chat command may take.
const STEP: Duration = Duration::from_secs(30);
/// The longest one download may take.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(600);
/// Pings after each dial.
const PINGS: usize = 50;
/// The paced lines' goal: busy at least this share of the time.
const GOAL: f64 = 0.95;

/// The lines a host downloads over.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Medium {
    Tcp,
    Pty,
    Paced,
    /// Paced, PPP on DLCI 1 of CMUX with this N1.
    PacedCmux(usize),
}

impl Medium {
    fn label(self) -> String {
        match self {
            Medium::Tcp => "TCP line, no pacing".into(),
            Medium::Pty => "PTY, pacing off".into(),
            Medium::Paced => "TCP line, `--baud 921600`".into(),
            Medium::PacedCmux(n1) => format!("TCP line, `--baud 921600`, CMUX N1 {n1}"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    support::require_curl()?;
    let mib = support::file_mib(DEFAULT_MIB)?;
    let paced_kib: usize = proc::env_number("VMODEM_BENCH_PACED_KIB", DEFAULT_PACED_KIB)?;
    let rounds: usize = proc::env_number("VMODEM_BENCH_RUNS", DEFAULT_RUNS)?;
    let paced_runs: usize = proc::env_number("VMODEM_BENCH_PACED_RUNS", DEFAULT_PACED_RUNS)?;
    let big = Arc::new(random_bytes(mib << 20));
    let small = Arc::new(big[..(paced_kib << 10).min(big.len())].to_vec());
    let (big_sha, small_sha) = (sha256(&big), sha256(&small));
    let server = start_server(vec![("/big.bin", big.clone()), ("/small.bin", small.clone())])?;
    let modem_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("vmodem").enable_all().build()?;
    let host_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let pty_dir = tempfile::tempdir()?;
    let pty_path = pty_dir.path().join("ttyV0");

    println!(
        "PPP download through vmodem (sim7080, `ATD*99#`; host: ppproto + smoltcp) from a loopback HTTP/1.0 server"
    );
    println!(
        "machine: {} CPUs, load average {}, {:.0} % busy over the second before the runs",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        proc::loadavg(),
        proc::busy_share(Duration::from_secs(1))? * 100.0
    );
    // curl's bytes, once, untimed: the server serves the file.
    let url = format!("http://{server}/big.bin");
    let fetched = Command::new("curl").args(["-s", "--max-time", "120", &url]).output()?;
    ensure!(
        sha256(&fetched.stdout) == big_sha,
        "curl fetched other bytes than the file ({} bytes)",
        fetched.stdout.len()
    );
    drop(fetched);

    let mut results: Vec<Run> = Vec::new();
    if rounds > 0 {
        let tcp_addr = start_modem(&modem_rt, None)?;
        let _pty = start_pty_modem(&modem_rt, &pty_path)?;
        let mut tcp_host = host_rt.block_on(dial_tcp(Medium::Tcp, tcp_addr))?;
        let mut pty_host = host_rt.block_on(dial_pty(&pty_path))?;
        let mut body = Vec::with_capacity(big.len());
        for round in 0..rounds {
            for medium in [Medium::Tcp, Medium::Pty] {
                let host = if medium == Medium::Tcp { &mut tcp_host } else { &mut pty_host };
                let run = host_rt.block_on(download(host, medium, server, "/big.bin", &mut body, false))?;
                ensure!(
                    sha256(&body) == big_sha,
                    "{} round {round}: the body's SHA-256 is not the file's",
                    medium.label()
                );
                results.push(run);
            }
            results.push(curl(&url, big.len())?);
        }
    }

    let mut paced: Vec<Run> = Vec::new();
    if paced_runs > 0 {
        let mut lines =
            vec![(Medium::Paced, host_rt.block_on(dial_tcp(Medium::Paced, start_modem(&modem_rt, Some(BAUD))?))?)];
        for n1 in N1S {
            let addr = start_modem(&modem_rt, Some(BAUD))?;
            lines.push((Medium::PacedCmux(n1), host_rt.block_on(dial_cmux(addr, n1))?));
        }
        let mut body = Vec::with_capacity(small.len());
        for i in 0..paced_runs {
            for (medium, host) in &mut lines {
                let run = host_rt.block_on(download(host, *medium, server, "/small.bin", &mut body, true))?;
                ensure!(sha256(&body) == small_sha, "{} run {i}: the body's SHA-256 is not the file's", medium.label());
                paced.push(run);
            }
        }
    }

    if rounds > 0 {
        unpaced_table(&results, mib, rounds);
    }
    if paced_runs > 0 {
        paced_tables(&paced, small.len());
    }
    // The modems' tasks and the PTY would be torn down with the runtimes; nothing is left to
    // check, so leave at once.
    std::process::exit(0)
}

// ---- the runs ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Client {
    Vmodem(Medium),
    Curl,
}

/// One download.
#[derive(Clone, Debug)]
struct Run {
    client: Client,
    elapsed: Duration,
    /// CPU seconds: the host thread (curl's for curl), the modems' runtime, the server thread.
    cpu: [f64; 3],
    /// The PPP stream modem → host (vmodem only).
    down: Wire,
    /// Bytes on the line itself, both ways (under CMUX, the multiplexer's frames included).
    line: [u64; 2],
    /// The multiplexer's frames modem → host.
    mux_frames: u64,
}

/// Downloads `path` from `server` through the host's PPP link on `medium` into `body` (its body
/// only); the line taken apart if `analyse`.
async fn download(
    hosted: &mut Hosted,
    medium: Medium,
    server: SocketAddr,
    path: &str,
    body: &mut Vec<u8>,
    analyse: bool,
) -> anyhow::Result<Run> {
    let SocketAddr::V4(server) = server else { bail!("the server is not on IPv4") };
    let request = format!("GET {path} HTTP/1.0\r\nHost: {server}\r\n\r\n");
    body.clear();
    let mut head = Vec::new();
    let mut in_body = false;
    hosted.ppp.lock().unwrap().reset(analyse);
    if let Some((line, mux)) = &hosted.mux {
        line.lock().unwrap().reset(false);
        mux.frames().store(0, Ordering::Relaxed);
    }
    let cpu_before = thread_cpu();
    let start = Instant::now();
    let got = hosted
        .host
        .tcp_exchange(
            SocketAddrV4::new(*server.ip(), server.port()),
            request.as_bytes(),
            |bytes| {
                if in_body {
                    body.extend_from_slice(bytes);
                    return;
                }
                head.extend_from_slice(bytes);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    body.extend_from_slice(&head[end + 4..]);
                    head.truncate(end + 4);
                    in_body = true;
                }
            },
            DOWNLOAD_LIMIT,
        )
        .await
        .map_err(|e| anyhow::anyhow!("GET {path} over PPP: {e}"))?;
    let elapsed = start.elapsed();
    let cpu_after = thread_cpu();
    let (down, up) = hosted.ppp.lock().unwrap().take();
    let (line, mux_frames) = match &hosted.mux {
        Some((line, mux)) => {
            let (d, u) = line.lock().unwrap().take();
            ([d.bytes, u.bytes], mux.frames().load(Ordering::Relaxed))
        }
        None => ([down.bytes, up.bytes], 0),
    };
    ensure!(head.starts_with(b"HTTP/1.0 200"), "GET {path}: {:?}", String::from_utf8_lossy(&head));
    ensure!(
        got == (head.len() + body.len()) as u64,
        "GET {path}: {got} bytes counted, {} kept",
        head.len() + body.len()
    );
    let cpu = [0, 1, 2].map(|i| cpu_after[i] - cpu_before[i]);
    Ok(Run { client: Client::Vmodem(medium), elapsed, cpu, down, line, mux_frames })
}

/// `curl -s -o /dev/null` of `url`, checked by status and size.
fn curl(url: &str, len: usize) -> anyhow::Result<Run> {
    let children_before = proc::children_cpu()?;
    let cpu_before = thread_cpu();
    let start = Instant::now();
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--max-time", "120", "-w", "%{http_code} %{size_download}", url])
        .output()?;
    let elapsed = start.elapsed();
    let cpu_after = thread_cpu();
    let written = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success() && written == format!("200 {len}"), "curl: {:?}, {written:?}", out.status);
    let curl_cpu = proc::children_cpu()? - children_before;
    let cpu = [curl_cpu, cpu_after[1] - cpu_before[1], cpu_after[2] - cpu_before[2]];
    Ok(Run { client: Client::Curl, elapsed, cpu, down: Wire::default(), line: [0; 2], mux_frames: 0 })
}

// ---- the modems and the hosts ----

/// A modem (sim7080) on `links`, on `runtime`.
fn spawn_modem(runtime: &Runtime, links: Links) -> anyhow::Result<()> {
    let config = ModuleConfig { family: Family::Sim7080, ..Default::default() };
    let modem = Modem::new(dialect::build(Arc::new(config))?, Net::default());
    runtime.spawn(modem.run(links));
    Ok(())
}

/// A modem behind the TCP transport on loopback, paced at `baud` (8N1) if given.
fn start_modem(runtime: &Runtime, baud: Option<u32>) -> anyhow::Result<SocketAddr> {
    let (links, addr) = runtime.block_on(async {
        let (links, addr) = tcp::listen(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let links = match baud {
            Some(baud) => {
                let pacing =
                    Pacing::new(Speed::Fixed(LineSettings { baud, bits_per_char: BITS_PER_CHAR }), LineSpeed::new());
                links.map(move |link| pacing.wrap(link))
            }
            None => links,
        };
        io::Result::Ok((links, addr))
    })?;
    spawn_modem(runtime, links)?;
    Ok(addr)
}

/// A modem behind the PTY transport at `path`, not paced; the handle keeps the PTY.
fn start_pty_modem(runtime: &Runtime, path: &std::path::Path) -> anyhow::Result<pty::PtyHandle> {
    let (links, handle) = runtime.block_on(pty::open(path))?;
    spawn_modem(runtime, links)?;
    Ok(handle)
}

/// What a host's line is: a TCP stream, a serial port, a CMUX channel.
trait Line: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Line for T {}

/// Under CMUX: the meter on the line itself, and the multiplexer (it counts the modem's frames).
type Muxed = (Arc<Mutex<Meter>>, CmuxHost<Counted<Box<dyn Line>>>);

/// A host with its PPP link up, and the meters on its line.
struct Hosted {
    host: PppHost<Counted<Box<dyn Line>>>,
    /// The PPP stream (the line itself unless multiplexed).
    ppp: Arc<Mutex<Meter>>,
    /// Under CMUX: the line itself, and the multiplexer (it counts the modem's frames).
    mux: Option<Muxed>,
}

async fn dial_tcp(what: Medium, addr: SocketAddr) -> anyhow::Result<Hosted> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut line, meter) = Counted::new(stream);
    set_up(&mut line).await?;
    dial(what, line, meter, None).await
}

async fn dial_pty(path: &std::path::Path) -> anyhow::Result<Hosted> {
    let (mut line, meter) = Counted::new(serial::open(path, 115_200)?);
    set_up(&mut line).await?;
    dial(Medium::Pty, line, meter, None).await
}

/// `AT+CMUX=0,0,5,<n1>` on a paced TCP line, DLCI 0 and 1 opened, and the PPP link on DLCI 1.
async fn dial_cmux(addr: SocketAddr, n1: usize) -> anyhow::Result<Hosted> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut line, line_meter) = Counted::new(stream);
    set_up(&mut line).await?;
    chat(&mut line, &format!("AT+CMUX=0,0,5,{n1}")).await?;
    let mux = CmuxHost::start(line, n1, STEP).await.map_err(|e| anyhow::anyhow!("CMUX: {e}"))?;
    let channel = mux.open(1, STEP).await.map_err(|e| anyhow::anyhow!("DLCI 1: {e}"))?;
    let (channel, meter) = Counted::new(channel);
    dial(Medium::PacedCmux(n1), channel, meter, Some((line_meter, mux))).await
}

/// Echo off, context 1.
async fn set_up(line: &mut Counted<Box<dyn Line>>) -> anyhow::Result<()> {
    chat(line, "ATE0").await?;
    chat(line, "AT+CGDCONT=1,\"IP\",\"internet\"").await
}

/// `ATD*99#` and PPP up to IPCP; then [`PINGS`] pings, their round trips printed.
async fn dial(
    what: Medium,
    line: Counted<Box<dyn Line>>,
    ppp: Arc<Mutex<Meter>>,
    mux: Option<Muxed>,
) -> anyhow::Result<Hosted> {
    let start = Instant::now();
    let mut host = PppHost::dial(line, "ATD*99#", STEP).await.map_err(|e| anyhow::anyhow!("ATD*99#: {e}"))?;
    let dialled = start.elapsed();
    let mut rtts = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let rtt = host.ping(std::net::Ipv4Addr::LOCALHOST, STEP).await.map_err(|e| anyhow::anyhow!("ping: {e}"))?;
        rtts.push(rtt);
    }
    rtts.sort_unstable();
    println!(
        "{}: dialled in {:.1} ms (ATD*99# to IPCP up); ICMP echo over the link (answered by the modem's relay), \
         {PINGS} in turn: min / median / max {:.0} / {:.0} / {:.0} µs",
        what.label(),
        dialled.as_secs_f64() * 1e3,
        rtts[0].as_secs_f64() * 1e6,
        median(&rtts).as_secs_f64() * 1e6,
        rtts[PINGS - 1].as_secs_f64() * 1e6
    );
    Ok(Hosted { host, ppp, mux })
}

/// Sends `cmd` and reads up to its `OK`.
async fn chat(line: &mut Counted<Box<dyn Line>>, cmd: &str) -> anyhow::Result<()> {
    line.write_all(format!("{cmd}\r").as_bytes()).await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + STEP;
    while !got.ends_with(b"OK\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, line.read(&mut buf)).await.with_context(|| format!("{cmd}: no OK"))??;
        ensure!(n > 0, "{cmd}: the line closed");
        got.extend_from_slice(&buf[..n]);
        ensure!(!got.ends_with(b"ERROR\r\n"), "{cmd}: {:?}", String::from_utf8_lossy(&got));
    }
    Ok(())
}

// ---- the line, counted and taken apart ----

/// A host's line that counts (and, when asked, takes apart) what crosses it.
struct Counted<S> {
    inner: S,
    meter: Arc<Mutex<Meter>>,
}

impl Counted<Box<dyn Line>> {
    /// `inner`, counted, and its meter.
    fn new(inner: impl Line + 'static) -> (Counted<Box<dyn Line>>, Arc<Mutex<Meter>>) {
        let meter = Arc::new(Mutex::new(Meter::default()));
        (Counted { inner: Box::new(inner), meter: meter.clone() }, meter)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            self.meter.lock().unwrap().down.feed(&buf.filled()[before..]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = result {
            self.meter.lock().unwrap().up.feed(&data[..n]);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Both directions of a line.
#[derive(Default)]
struct Meter {
    down: Scanner,
    up: Scanner,
}

impl Meter {
    fn reset(&mut self, analyse: bool) {
        self.down = Scanner { analyse, ..Scanner::default() };
        self.up = Scanner { analyse, ..Scanner::default() };
    }

    fn take(&mut self) -> (Wire, Wire) {
        (self.down.wire.clone(), self.up.wire.clone())
    }
}

/// What crossed one direction of the line, by part (octets on the wire; an escaped octet counts
/// once in `escapes` and once in its part).
#[derive(Default, Clone, Debug)]
struct Wire {
    bytes: u64,
    /// Reads (or writes) that moved at least a byte.
    calls: u64,
    /// The rest is filled only when the line was taken apart.
    flags: u64,
    escapes: u64,
    /// Of those, the escapes of control characters (the peer's ACCM asked for them).
    escaped_controls: u64,
    frames: u64,
    /// Address, control, protocol and FCS of the frames carrying IPv4.
    ppp: u64,
    ip_headers: u64,
    tcp_headers: u64,
    tcp_payload: u64,
    /// IPv4 packets.
    packets: u64,
    /// The largest TCP payload of one segment, and how many segments carried that much.
    max_segment: u64,
    full_segments: u64,
    /// Other frames (LCP, other IP protocols) and whatever did not parse.
    other: u64,
}

/// Takes one direction of a PPP line apart (RFC 1662 framing).
#[derive(Default)]
struct Scanner {
    analyse: bool,
    wire: Wire,
    frame: Vec<u8>,
    escape: bool,
}

impl Scanner {
    fn feed(&mut self, bytes: &[u8]) {
        self.wire.bytes += bytes.len() as u64;
        self.wire.calls += u64::from(!bytes.is_empty());
        if !self.analyse {
            return;
        }
        for &b in bytes {
            match b {
                0x7E => {
                    self.wire.flags += 1;
                    self.end_frame();
                }
                0x7D => {
                    self.wire.escapes += 1;
                    self.escape = true;
                }
                b if std::mem::take(&mut self.escape) => {
                    self.wire.escaped_controls += u64::from(b ^ 0x20 < 0x20);
                    self.frame.push(b ^ 0x20);
                }
                b => self.frame.push(b),
            }
        }
    }

    fn end_frame(&mut self) {
        let frame = std::mem::take(&mut self.frame);
        self.escape = false;
        if frame.is_empty() {
            return;
        }
        self.wire.frames += 1;
        let w = &mut self.wire;
        let all = frame.len() as u64;
        // Address and control (unless compressed), protocol (one octet if compressed), FCS.
        let mut at = if frame.starts_with(&[0xFF, 0x03]) { 2 } else { 0 };
        let protocol = match frame.get(at) {
            Some(p) if p & 1 == 1 => {
                at += 1;
                u16::from(*p)
            }
            Some(&hi) if frame.len() > at + 1 => {
                at += 2;
                u16::from_be_bytes([hi, frame[at - 1]])
            }
            _ => 0,
        };
        if protocol != 0x0021 || frame.len() < at + 2 + 20 {
            w.other += all;
            return;
        }
        let ip = &frame[at..frame.len() - 2];
        let ihl = usize::from(ip[0] & 0x0F) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if total != ip.len() || ihl < 20 || ip[9] != 6 || ip.len() < ihl + 20 {
            w.other += all;
            return;
        }
        let thl = usize::from(ip[ihl + 12] >> 4) * 4;
        w.packets += 1;
        w.ppp += (at + 2) as u64;
        w.ip_headers += ihl as u64;
        w.tcp_headers += thl.min(total - ihl) as u64;
        let payload = total.saturating_sub(ihl + thl) as u64;
        w.tcp_payload += payload;
        if payload > w.max_segment {
            (w.max_segment, w.full_segments) = (payload, 0);
        }
        w.full_segments += u64::from(payload == w.max_segment);
    }
}

// ---- the file server ----

/// The files served: path, bytes.
type Files = Vec<(&'static str, Arc<Vec<u8>>)>;

/// A loopback HTTP/1.0 server on a thread of its own: `GET <path>` of one of `files` answers
/// 200 with the whole file and closes; anything else 404.
fn start_server(files: Files) -> anyhow::Result<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("file-server".into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
                Ok(l) => l,
                Err(e) => {
                    tx.send(Err(e)).ok();
                    return;
                }
            };
            tx.send(listener.local_addr()).ok();
            let files = Arc::new(files);
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, files.clone()));
            }
        });
    })?;
    Ok(rx.recv()??)
}

async fn serve(mut stream: tokio::net::TcpStream, files: Arc<Files>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(n @ 1..) if head.len() < 8192 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.strip_prefix("GET ").and_then(|rest| rest.split(' ').next()).unwrap_or("");
    match files.iter().find(|(p, _)| *p == path) {
        Some((_, data)) => {
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                data.len()
            );
            if stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(data).await.is_ok() {
                stream.shutdown().await.ok();
            }
        }
        None => {
            stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n").await.ok();
        }
    }
}

// ---- measures ----

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// CPU seconds so far of the host (the main thread), the modem's runtime (threads `vmodem`) and
/// the server thread, from /proc/self/task.
fn thread_cpu() -> [f64; 3] {
    let mut cpu = [0.0; 3];
    let me = std::process::id().to_string();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return cpu };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
        let secs = ticks as f64 / proc::TICKS;
        if task.file_name().to_str() == Some(me.as_str()) {
            cpu[0] += secs;
        } else if comm.starts_with("vmodem") {
            cpu[1] += secs;
        } else if comm == "file-server" {
            cpu[2] += secs;
        }
    }
    cpu
}

fn secs(v: &[Duration]) -> String {
    let mut sorted = v.to_vec();
    sorted.sort_unstable();
    format!(
        "{:.3} / {:.3} / {:.3}",
        sorted[0].as_secs_f64(),
        median(&sorted).as_secs_f64(),
        sorted[sorted.len() - 1].as_secs_f64()
    )
}

fn median_cpu(runs: &[&Run], i: usize) -> f64 {
    proc::median_f64(runs.iter().map(|r| r.cpu[i]).collect())
}

fn unpaced_table(results: &[Run], mib: usize, rounds: usize) {
    let of = |client: Client| results.iter().filter(|r| r.client == client).collect::<Vec<_>>();
    let times = |runs: &[&Run]| runs.iter().map(|r| r.elapsed).collect::<Vec<_>>();
    let len = mib << 20;
    let curl = of(Client::Curl);
    let curl_median = median(&times(&curl));
    println!();
    println!("{mib} MiB, {rounds} rounds of: TCP line, curl, PTY (runs in order in the last column)");
    println!();
    println!(
        "| line | client | seconds (min / median / max) | MiB/s (median) | throughput ratio (vmodem ÷ curl, medians) | \
         CPU s, median: host (curl) / modems / server | line bytes per payload byte, modem → host | bytes per host \
         read (mean) | runs (s) |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for client in [Client::Vmodem(Medium::Tcp), Client::Vmodem(Medium::Pty), Client::Curl] {
        let runs = of(client);
        let t = times(&runs);
        let m = median(&t);
        let (line, who) = match client {
            Client::Vmodem(medium) => (medium.label(), "vmodem PPP (ppproto + smoltcp host)"),
            Client::Curl => ("loopback, direct".to_string(), "curl -s -o /dev/null"),
        };
        let (ratio, wire, per_read) = match client {
            Client::Curl => (String::new(), String::new(), String::new()),
            _ => (
                format!(
                    "{:.3} (time {:.1} ×)",
                    curl_median.as_secs_f64() / m.as_secs_f64(),
                    m.as_secs_f64() / curl_median.as_secs_f64()
                ),
                format!("{:.4}", proc::median_f64(runs.iter().map(|r| r.line[0] as f64 / len as f64).collect())),
                format!(
                    "{:.0}",
                    proc::median_f64(runs.iter().map(|r| r.down.bytes as f64 / r.down.calls.max(1) as f64).collect())
                ),
            ),
        };
        println!(
            "| {line} | {who} | {} | {:.1} | {ratio} | {:.2} / {:.2} / {:.2} | {wire} | {per_read} | {} |",
            secs(&t),
            rate(len, m),
            median_cpu(&runs, 0),
            median_cpu(&runs, 1),
            median_cpu(&runs, 2),
            support::runs(&t)
        );
    }
}

fn paced_tables(runs: &[Run], len: usize) {
    let line_rate = f64::from(BAUD / BITS_PER_CHAR);
    let mut media = vec![Medium::Paced];
    media.extend(N1S.map(Medium::PacedCmux));
    // Each line's median run.
    let medians: Vec<(Medium, Vec<Duration>, &Run)> = media
        .iter()
        .map(|&medium| {
            let of: Vec<&Run> = runs.iter().filter(|r| r.client == Client::Vmodem(medium)).collect();
            let t: Vec<Duration> = of.iter().map(|r| r.elapsed).collect();
            let m = median(&t);
            (medium, t, *of.iter().find(|r| r.elapsed == m).expect("the median run"))
        })
        .collect();
    println!();
    println!(
        "{} KiB over TCP lines paced at {BAUD} baud 8N1 ({line_rate:.0} bytes/s each way), {} runs of each, in turn; \
         the median run's bytes",
        len >> 10,
        runs.len() / media.len()
    );
    println!();
    println!(
        "| line | seconds (min / median / max) | payload bytes/s | line bytes, modem → host | line bytes/s | line busy \
         (÷ {line_rate:.0}) | payload ÷ line rate | payload ÷ what the line carries after the overhead | goal: busy ≥ \
         {GOAL} | runs (s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for (medium, t, mid) in &medians {
        let secs_m = mid.elapsed.as_secs_f64();
        let payload_rate = len as f64 / secs_m;
        let wire_rate = mid.line[0] as f64 / secs_m;
        let efficiency = len as f64 / mid.line[0] as f64;
        println!(
            "| {} | {} | {payload_rate:.0} | {} | {wire_rate:.0} | {:.4} | {:.4} | {:.4} | {} | {} |",
            medium.label(),
            secs(t),
            mid.line[0],
            wire_rate / line_rate,
            payload_rate / line_rate,
            payload_rate / (line_rate * efficiency),
            if wire_rate / line_rate >= GOAL { "holds" } else { "missed" },
            support::runs(t)
        );
    }
    println!();
    println!("What the line carried modem → host in the median run, by part (bytes, and share of the line):");
    println!();
    let header: Vec<String> = medians.iter().map(|(m, ..)| m.label()).collect();
    println!("| part | {} |", header.join(" | "));
    println!("| --- |{}", " ---: |".repeat(medians.len()));
    let body = len as u64;
    let row = |name: &str, part: &dyn Fn(&Run) -> u64| {
        let cells: Vec<String> = medians
            .iter()
            .map(|(_, _, r)| format!("{} ({:.2} %)", part(r), part(r) as f64 * 100.0 / r.line[0] as f64))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    };
    row("file (payload)", &|_| body);
    row("HTTP response head", &|r| r.down.tcp_payload.saturating_sub(body));
    row("TCP headers", &|r| r.down.tcp_headers);
    row("IP headers", &|r| r.down.ip_headers);
    row("PPP address, control, protocol, FCS", &|r| r.down.ppp);
    row("HDLC flags", &|r| r.down.flags);
    row("HDLC escapes (0x7D) of 0x7E and 0x7D", &|r| r.down.escapes - r.down.escaped_controls);
    row("HDLC escapes (0x7D) of control characters (ACCM)", &|r| r.down.escaped_controls);
    row("other PPP frames (LCP, non-TCP)", &|r| r.down.other);
    row("CMUX frames' flags, address, control, length, FCS", &|r| r.line[0] - r.down.bytes);
    row("all overhead", &|r| r.line[0] - body);
    let cells = |f: &dyn Fn(&Run) -> String| medians.iter().map(|(_, _, r)| f(r)).collect::<Vec<_>>().join(" | ");
    println!(
        "| PPP frames (IPv4/TCP); segments with the largest payload, and that payload | {} |",
        cells(&|r| format!(
            "{} ({}); {} of {} bytes",
            r.down.frames, r.down.packets, r.down.full_segments, r.down.max_segment
        ))
    );
    println!("| CMUX frames | {} |", cells(&|r| r.mux_frames.to_string()));
    println!("| host → modem, line bytes (ACKs, the request) | {} |", cells(&|r| r.line[1].to_string()));
    println!(
        "| host reads of the PPP stream, bytes each (mean) | {} |",
        cells(&|r| format!("{} × {:.0}", r.down.calls, r.down.bytes as f64 / r.down.calls.max(1) as f64))
    );
}
