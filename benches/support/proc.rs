//! What /proc says about the machine and its processes, for the benchmarks that report CPU
//! time beside their timings: this process's CPU time and its reaped children's, a process
//! group's, the whole machine's busy time and share, the load average, and the connections
//! dropped at full accept queues.
//! CPU times come in clock ticks of 10 ms, except [`threads_cpu`]'s, in nanoseconds.
//!
//! Include with `#[path = "support/proc.rs"] mod proc;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;

/// Clock ticks a second in /proc (`USER_HZ`).
pub const TICKS: f64 = 100.0;

/// The process's user and system CPU time so far, all its threads, seconds (/proc/self/stat).
pub fn self_cpu() -> anyhow::Result<f64> {
    let fields = stat_fields("/proc/self/stat")?;
    Ok((fields[11].parse::<u64>()? + fields[12].parse::<u64>()?) as f64 / TICKS)
}

/// The user and system CPU time of the process's children that it has waited for, seconds
/// (/proc/self/stat).
pub fn children_cpu() -> anyhow::Result<f64> {
    let fields = stat_fields("/proc/self/stat")?;
    Ok((fields[13].parse::<u64>()? + fields[14].parse::<u64>()?) as f64 / TICKS)
}

/// Time on a CPU so far of each thread of this process, by thread id
/// (/proc/self/task/*/schedstat, nanoseconds: precise where the ticks of /proc/self/stat are
/// 10 ms).
pub fn threads_cpu() -> anyhow::Result<BTreeMap<u32, Duration>> {
    let mut threads = BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?;
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else { continue };
        // A thread may have ended since the listing.
        let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
        let ns: u64 = schedstat.split_whitespace().next().context("an empty schedstat")?.parse()?;
        threads.insert(tid, Duration::from_nanos(ns));
    }
    Ok(threads)
}

/// Time on a CPU since `before` (from [`threads_cpu`]) of this process's main thread, and of
/// all its other threads together. A thread that has ended since counts for nothing (its time
/// is gone with it); one started since counts whole.
pub fn threads_cpu_since(before: &BTreeMap<u32, Duration>) -> anyhow::Result<(Duration, Duration)> {
    let main = std::process::id();
    let (mut main_cpu, mut rest) = (Duration::ZERO, Duration::ZERO);
    for (tid, now) in threads_cpu()? {
        let spent = now.saturating_sub(before.get(&tid).copied().unwrap_or_default());
        if tid == main { main_cpu += spent } else { rest += spent }
    }
    Ok((main_cpu, rest))
}

/// The fields of a /proc/<pid>/stat after the command's closing parenthesis (state first,
/// utime the 12th).
fn stat_fields(path: &str) -> anyhow::Result<Vec<String>> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let rest = stat.rsplit_once(')').with_context(|| format!("no command in {path}"))?.1;
    Ok(rest.split_whitespace().map(str::to_string).collect())
}

/// The CPU time of the processes of process group `pgid` alive now, with that of the children
/// they have reaped (user, system and the children's), seconds, and how many processes there
/// are. A process that has left without being reaped by one of them is not counted.
pub fn group_cpu(pgid: u32) -> (f64, usize) {
    let (mut ticks, mut processes) = (0u64, 0usize);
    let Ok(dir) = std::fs::read_dir("/proc") else { return (0.0, 0) };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(fields) = stat_fields(&format!("/proc/{pid}/stat")) else { continue };
        // pgrp is the 5th field of the line, the 3rd after the command.
        if fields.get(2).and_then(|f| f.parse::<u32>().ok()) != Some(pgid) {
            continue;
        }
        let own: Option<u64> = fields.get(11..15).and_then(|f| f.iter().map(|t| t.parse::<u64>().ok()).sum());
        ticks += own.unwrap_or(0);
        processes += 1;
    }
    (ticks as f64 / TICKS, processes)
}

/// The busy CPU time of the whole machine so far (every state of /proc/stat's `cpu` line but
/// idle and iowait), seconds.
pub fn machine_cpu() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().find(|l| l.starts_with("cpu ")).context("no cpu line in /proc/stat")?;
    let ticks: Vec<u64> = line.split_whitespace().skip(1).map(str::parse).collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal (guest time is counted in user already).
    let busy: u64 = ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    Ok(busy as f64 / TICKS)
}

/// The share of the machine's CPUs busy over the next `over`: what else the machine is doing.
pub fn busy_share(over: Duration) -> anyhow::Result<f64> {
    let before = machine_cpu()?;
    std::thread::sleep(over);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok((machine_cpu()? - before) / over.as_secs_f64() / cpus as f64)
}

/// Connections the kernel has dropped because a listener's accept queue was full, so far
/// (`ListenOverflows` of /proc/net/netstat, every listener of the machine).
pub fn listen_overflows() -> anyhow::Result<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat")?;
    let mut tcp_ext = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (tcp_ext.next().context("no TcpExt")?, tcp_ext.next().context("no TcpExt values")?);
    let at = names.split_whitespace().position(|n| n == "ListenOverflows").context("no ListenOverflows")?;
    Ok(values.split_whitespace().nth(at).context("no ListenOverflows value")?.parse()?)
}

/// /proc/loadavg's three load averages.
pub fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Raises the soft limit on open files to the hard one (as `vmodem drive` does).
pub fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        setrlimit(Resource::Nofile, limit).ok();
    }
}

/// The number in the environment variable `name`, or `default`.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// The median of `v` (the upper one of an even count).
pub fn median_f64(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
