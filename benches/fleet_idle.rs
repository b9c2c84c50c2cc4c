//! A fleet at rest: 10,000 sim7080 modems in one process, each listening on its own TCP port
//! (`vmodem fleet --tcp 127.0.0.1:20000`), measured three ways in one run:
//!
//! - the resident memory each idle modem costs: the process's RSS before and after starting the
//!   fleet, divided by the count (the budget is 64 KiB);
//! - the CPU the idle fleet uses: user and system time over 10 s of rest, as a share of one core
//!   (the budget is 2 %);
//! - the AT round trip of one modem among 10,000 (`AT\r` to `\r\nOK\r\n`, echo off, a blocking
//!   host thread as `at_roundtrip` has), beside a lone modem's measured right after the fleet
//!   has stopped (the budget is 1.5x). The lone modem is also measured first, before anything
//!   ran: on an idle virtual machine that figure is a wake-up regime of its own (see
//!   BENCHMARKS.md), so the ratio is taken against the measurement next to the fleet's.
//!
//! `cargo bench --bench fleet_idle` prints a Markdown table. Ports 20000-29999 must be free
//! (below Linux's ephemeral range); the process needs 10,000 file descriptors.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use vmodem::config::ModuleConfig;
use vmodem::fleet::{Fleet, Lines};
use vmodem::net::Net;
use vmodem::transport::line::LineOptions;

/// Modems in the fleet.
const MODEMS: u64 = 10_000;
/// The first modem's port.
const BASE_PORT: u16 = 20_000;
/// The lone modem's port, below the fleet's.
const LONE_PORT: u16 = 19_990;
/// Timed round trips per modem measured.
const ROUND_TRIPS: usize = 5_000;
/// Untimed round trips first.
const WARMUP: usize = 500;
/// How long the idle fleet is watched.
const REST: Duration = Duration::from_secs(10);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let base = ModuleConfig { family: "sim7080".parse()?, ..ModuleConfig::default() };
    let options = LineOptions { pacing: false, ..LineOptions::default() };
    let net = Net::default();

    let lone_lines = Lines::Tcp(SocketAddr::from(([127, 0, 0, 1], LONE_PORT)));
    let _lone = runtime.block_on(Fleet::start(&base, &lone_lines, 0..1, &net, options, &Default::default()))?;
    let lone = round_trips(SocketAddr::from(([127, 0, 0, 1], LONE_PORT)))?;

    let before = rss_kib()?;
    let started = Instant::now();
    let lines = Lines::Tcp(SocketAddr::from(([127, 0, 0, 1], BASE_PORT)));
    let fleet = runtime.block_on(Fleet::start(&base, &lines, 0..MODEMS, &net, options, &Default::default()))?;
    let start_time = started.elapsed();
    ensure!(fleet.len() as u64 == MODEMS);
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib()?;
    let per_modem = (after - before) as f64 / MODEMS as f64;

    let cpu_before = cpu_time()?;
    std::thread::sleep(REST);
    let cpu = (cpu_time()? - cpu_before).as_secs_f64() / REST.as_secs_f64();

    let middle = SocketAddr::from(([127, 0, 0, 1], BASE_PORT + (MODEMS / 2) as u16));
    let among = round_trips(middle)?;
    let after_use = rss_kib()?;
    drop(fleet);
    std::thread::sleep(Duration::from_secs(1));
    let lone_after = round_trips(SocketAddr::from(([127, 0, 0, 1], LONE_PORT)))?;

    println!("| measure | value | budget |");
    println!("| --- | ---: | ---: |");
    println!("| modems started | {MODEMS} in {:.2} s | |", start_time.as_secs_f64());
    println!(
        "| resident memory, whole process | {before} KiB before, {after} KiB after ({after_use} KiB after one was used) | |"
    );
    println!("| resident memory per idle modem | {per_modem:.1} KiB | 64 KiB |");
    println!("| CPU of the idle fleet over {} s | {:.3} % of one core | 2 % |", REST.as_secs(), cpu * 100.0);
    println!(
        "| AT round trip, lone modem (median; before, after the fleet) | {:.1} µs, {:.1} µs | |",
        micros(lone),
        micros(lone_after)
    );
    println!("| AT round trip, one of {MODEMS} (median) | {:.1} µs | |", micros(among));
    println!(
        "| ratio to the lone modem after the fleet | {:.2} | 1.5 |",
        among.as_secs_f64() / lone_after.as_secs_f64()
    );
    Ok(())
}

/// The median round trip of `AT\r` on the modem at `addr`, after turning echo off.
fn round_trips(addr: SocketAddr) -> anyhow::Result<Duration> {
    let mut host = support::Host::connect(addr)?;
    host.command("ATE0")?;
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..WARMUP + ROUND_TRIPS {
        let start = Instant::now();
        host.command("AT")?;
        if i >= WARMUP {
            times.push(start.elapsed());
        }
    }
    Ok(support::median(&times))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The process's resident memory, KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

/// The process's user and system CPU time so far (/proc/self/stat, clock ticks of 1/100 s).
fn cpu_time() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').context("no command")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 10))
}
