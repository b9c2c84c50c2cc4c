//! The latency of one AT command: the host writes `AT\r` and waits for `\r\nOK\r\n`, against a
//! sim7080 vmodem with echo off (`ATE0`), behind the real TCP transport and the real PTY
//! transport. Beside each, in the same run and over the same medium, a bare echo: a tokio task
//! that writes back what it reads (a TCP echo on loopback; for the PTY, a raw PTY pair whose
//! master a task echoes), timed with the same host code sending `AT\r` and waiting for it back.
//! The ratio vmodem/echo is what the modem adds to the medium's own round trip.
//!
//! `cargo bench --bench at_roundtrip` prints one Markdown table (median, p99 and mean per round
//! trip). The host is a plain thread with blocking reads, as a driver on a serial port would be;
//! the modem and the echo run on a tokio runtime configured as `vmodem serve` configures it.
//! Round trips alternate between modem and echo in batches, so drift hits both alike.

mod support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use rustix::fs::{Mode, OFlags};
use rustix::termios::{OptionalActions, SpecialCodeIndex};
use tokio::io::unix::AsyncFd;
use tokio::runtime::Runtime;
use vmodem::dialect;
use vmodem::modem::Modem;
use vmodem::net::{Net, NetConfig};
use vmodem::transport;

/// Timed round trips per target and medium.
const ROUND_TRIPS: usize = 10_000;
/// The timed round trips come in this many batches, alternating between modem and echo.
const BATCHES: usize = 10;
/// Untimed round trips per target before the timed ones.
const WARMUP: usize = 500;
/// The longest the host waits for a reply; a PTY's VTIME counts in tenths of a second.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// What the host sends.
const REQUEST: &[u8] = b"AT\r";
/// What the modem answers with echo off.
const OK: &[u8] = b"\r\nOK\r\n";
/// The most the host reads while waiting for the `ATE0` reply (boot URCs and echo included).
const HANDSHAKE_LIMIT: usize = 4096;

/// The host's end of a line: blocking reads that give up after [`READ_TIMEOUT`].
trait Line: Read + Write {}
impl<T: Read + Write> Line for T {}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let dir = tempfile::tempdir()?;

    let (links, addr) = runtime.block_on(transport::tcp::listen(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    runtime.spawn(modem()?.run(links));
    let mut modem_tcp = tcp_host(addr)?;
    echo_off(&mut modem_tcp)?;
    let mut echo_tcp =
        tcp_host(runtime.block_on(support::loopback_responder(|read, out| out.extend_from_slice(read)))?)?;
    let tcp = compare(&mut modem_tcp, &mut echo_tcp)?;

    let link = dir.path().join("ttyV0");
    let (links, _pty) = runtime.block_on(transport::pty::open(&link))?;
    runtime.spawn(modem()?.run(links));
    let mut modem_pty = pty_host(&link)?;
    echo_off(&mut modem_pty)?;
    let mut echo_pty = pty_echo(&runtime)?;
    let pty = compare(&mut modem_pty, &mut echo_pty)?;

    println!("AT round trip: `AT\\r` -> `\\r\\nOK\\r\\n` (vmodem sim7080, ATE0) beside a bare echo of `AT\\r`");
    println!("{ROUND_TRIPS} timed round trips per row after {WARMUP} warm-up, in {BATCHES} alternating batches");
    println!();
    println!("| medium | target | median | p99 | mean |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for (medium, c) in [("TCP", &tcp), ("PTY", &pty)] {
        println!(
            "| {medium} | vmodem | {} | {} | {} |",
            micros(c.modem.median),
            micros(c.modem.p99),
            micros(c.modem.mean)
        );
        println!(
            "| {medium} | bare echo | {} | {} | {} |",
            micros(c.echo.median),
            micros(c.echo.p99),
            micros(c.echo.mean)
        );
        println!(
            "| {medium} | ratio vmodem/echo | {:.2} | {:.2} | {:.2} |",
            ratio(c.modem.median, c.echo.median),
            ratio(c.modem.p99, c.echo.p99),
            ratio(c.modem.mean, c.echo.mean)
        );
    }
    // Ending the process stops the runtime's tasks; dropping `_pty` first removes the symlink.
    Ok(())
}

/// A sim7080 with the default configuration and no redirects.
fn modem() -> anyhow::Result<Modem> {
    let dialect = dialect::build(Default::default())?;
    Ok(Modem::new(dialect, Net::new(NetConfig::redirecting(vec![]))))
}

/// A host on a TCP line, with Nagle off as the modem's side has it.
fn tcp_host(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok(stream)
}

/// A host on a serial line: raw, and a read that returns nothing after [`READ_TIMEOUT`].
fn pty_host(path: &Path) -> io::Result<std::fs::File> {
    let fd = rustix::fs::open(path, OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())?;
    let file = std::fs::File::from(fd);
    let mut termios = rustix::termios::tcgetattr(&file)?;
    termios.make_raw();
    termios.special_codes[SpecialCodeIndex::VMIN] = 0;
    termios.special_codes[SpecialCodeIndex::VTIME] = u8::try_from(READ_TIMEOUT.as_millis() / 100).unwrap_or(u8::MAX);
    rustix::termios::tcsetattr(&file, OptionalActions::Now, &termios)?;
    Ok(file)
}

/// Turns echo off and waits for its `OK`, past the boot URCs.
fn echo_off(line: &mut dyn Line) -> anyhow::Result<()> {
    line.write_all(b"ATE0\r")?;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(OK) {
        ensure!(got.len() < HANDSHAKE_LIMIT, "no OK to ATE0: {:?}", String::from_utf8_lossy(&got));
        let n = read(line, &mut buf)?;
        got.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// A raw PTY pair: the host gets the slave, and a task on `runtime` echoes on the master. The
/// host opens the slave before the task starts, so the master never reads the closed state.
fn pty_echo(runtime: &Runtime) -> anyhow::Result<std::fs::File> {
    let (master, slave) = transport::pty::open_master()?;
    let host = pty_host(&slave)?;
    let master = {
        let _context = runtime.enter();
        // SAFETY: `register` needs the fd to stay open while registered. The OwnedFd moves into
        // the AsyncFd, which deregisters before dropping (and so closing) it.
        unsafe { AsyncFd::register(master)? }
    };
    runtime.spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = master.async_io(tokio::io::Interest::READABLE, |fd| read_fd(fd, &mut buf)).await {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match master.async_io(tokio::io::Interest::WRITABLE, |fd| write_fd(fd, rest)).await {
                    Ok(k) => rest = &rest[k..],
                    Err(_) => return,
                }
            }
        }
    });
    Ok(host)
}

fn read_fd(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    rustix::io::read(fd, buf).map_err(io::Error::from)
}

fn write_fd(fd: &OwnedFd, data: &[u8]) -> io::Result<usize> {
    rustix::io::write(fd, data).map_err(io::Error::from)
}

/// One read; a timeout (an error on TCP, `Ok(0)` on a PTY with VMIN 0) is an error.
fn read(line: &mut dyn Line, buf: &mut [u8]) -> anyhow::Result<usize> {
    match line.read(buf)? {
        0 => bail!("nothing to read within {READ_TIMEOUT:?}"),
        n => Ok(n),
    }
}

/// Sends `request` and waits for exactly `reply`; returns how long that took.
fn round_trip(line: &mut dyn Line, request: &[u8], reply: &[u8]) -> anyhow::Result<Duration> {
    let mut buf = [0u8; 64];
    let start = Instant::now();
    line.write_all(request)?;
    let mut got = 0;
    while got < reply.len() {
        got += read(line, &mut buf[got..])?;
    }
    let elapsed = start.elapsed();
    ensure!(&buf[..got] == reply, "expected {reply:?}, got {:?}", String::from_utf8_lossy(&buf[..got]));
    Ok(elapsed)
}

/// The modem's and the echo's figures over one medium.
struct Comparison {
    modem: Stats,
    echo: Stats,
}

/// Times [`ROUND_TRIPS`] round trips on each line, alternating in [`BATCHES`].
fn compare(modem: &mut dyn Line, echo: &mut dyn Line) -> anyhow::Result<Comparison> {
    for _ in 0..WARMUP {
        round_trip(modem, REQUEST, OK)?;
        round_trip(echo, REQUEST, REQUEST)?;
    }
    let (mut m, mut e) = (Vec::with_capacity(ROUND_TRIPS), Vec::with_capacity(ROUND_TRIPS));
    for _ in 0..BATCHES {
        for _ in 0..ROUND_TRIPS / BATCHES {
            m.push(round_trip(modem, REQUEST, OK)?);
        }
        for _ in 0..ROUND_TRIPS / BATCHES {
            e.push(round_trip(echo, REQUEST, REQUEST)?);
        }
    }
    Ok(Comparison { modem: Stats::of(m), echo: Stats::of(e) })
}

/// Median, 99th percentile and mean of a set of round trips.
struct Stats {
    median: Duration,
    p99: Duration,
    mean: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        let total: Duration = samples.iter().sum();
        Stats { median: at(0.5), p99: at(0.99), mean: total / samples.len() as u32 }
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
