//! `vmodem drive`: one transcript run against every modem of a fleet, as a load generator with
//! no firmware. Each modem runs in this process on an in-memory line, or is one of a fleet's
//! lines elsewhere (`--tcp`, `--unix`, as `vmodem fleet` serves them); the script sees the
//! modem's own variables (`{index}`, `{imei}`, `{imsi}`, `{iccid}`, `{number}`) besides the
//! given ones. At most `concurrency` run at once, started no faster than `rate` a second. The
//! summary counts passes and failures, gives the run times' percentiles and the first failure
//! of each kind with the modem that had it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{FleetError, module_of};
use crate::config::ModuleConfig;
use crate::dialect;
use crate::modem::Modem;
use crate::net::Net;
use crate::observe::JobMetrics;
use crate::script::{Mismatch, Outcome, Program, Script, StepTime, Timed, run_timed};
use crate::transport::line::Line;
use crate::transport::{Link, Links};

/// How a drive runs.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// How many modems run the script at once, at most.
    pub concurrency: usize,
    /// Modems started a second, at most (0: no limit).
    pub rate: u32,
    /// Variables every modem's run sees.
    pub vars: BTreeMap<String, String>,
    /// Where the modems time their jobs.
    pub metrics: JobMetrics,
    /// The lines of a fleet that runs elsewhere (`vmodem fleet`, on TCP or Unix sockets) to
    /// drive instead of modems in this process; `None`: modems here. Over a line the script
    /// has no hold on the modem: `@network` and `@sms` steps fail.
    pub lines: Option<super::Lines>,
}

/// One modem's result.
#[derive(Debug, Clone)]
pub struct DriveResult {
    /// The modem.
    pub index: u64,
    /// How long its run took.
    pub took: Duration,
    /// `None` when it went as the script says; else the first difference, with its line.
    pub failure: Option<String>,
    /// Bytes the host sent and received.
    pub outcome: Outcome,
    /// Its steps, up to the one that differed.
    pub steps: Vec<StepTime>,
}

/// One step of the script over every modem that reached it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepSummary {
    /// What the step sends (the command line, or `<N bytes>` of data).
    pub command: String,
    /// Modems for which it went as the script says.
    pub passed: usize,
    /// Modems for which it did not.
    pub failed: usize,
    /// Its time percentiles, ms: 50th, 90th, 99th and the longest.
    pub millis: [f64; 4],
}

/// What a drive did, in all.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Modems driven.
    pub modems: usize,
    /// Runs that went as the script says.
    pub passed: usize,
    /// Runs that did not.
    pub failed: usize,
    /// Run time percentiles, ms: 50th, 90th, 99th and the longest.
    pub millis: [f64; 4],
    /// Bytes the hosts sent, in all.
    pub bytes_sent: u64,
    /// Bytes the hosts received, in all.
    pub bytes_received: u64,
    /// Each step, in the script's order.
    pub steps: Vec<StepSummary>,
    /// The first failure of each kind (its reason) and the modem that had it.
    pub first_failures: Vec<(String, u64)>,
}

/// The 50th, 90th and 99th percentiles and the longest of `times`, in ms.
fn percentiles(mut times: Vec<Duration>) -> [f64; 4] {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    [at(0.5), at(0.9), at(0.99), at(1.0)]
}

impl Summary {
    /// The summary of `results`.
    pub fn of(results: &[DriveResult]) -> Summary {
        // Steps by position: a script sends the same commands in the same order on every modem.
        let mut steps: Vec<(String, usize, Vec<Duration>)> = Vec::new();
        for r in results {
            for (i, step) in r.steps.iter().enumerate() {
                if steps.len() <= i {
                    steps.push((step.command.clone(), 0, Vec::new()));
                }
                steps[i].1 += usize::from(!step.passed);
                steps[i].2.push(step.took);
            }
        }
        let steps = steps
            .into_iter()
            .map(|(command, failed, times)| StepSummary {
                command,
                passed: times.len() - failed,
                failed,
                millis: percentiles(times),
            })
            .collect();
        let mut first_failures: Vec<(String, u64)> = Vec::new();
        for r in results {
            let Some(failure) = &r.failure else { continue };
            let kind = failure.lines().next().unwrap_or_default().to_string();
            if !first_failures.iter().any(|(k, _)| *k == kind) {
                first_failures.push((kind, r.index));
            }
        }
        let failed = results.iter().filter(|r| r.failure.is_some()).count();
        Summary {
            modems: results.len(),
            passed: results.len() - failed,
            failed,
            millis: percentiles(results.iter().map(|r| r.took).collect()),
            bytes_sent: results.iter().map(|r| r.outcome.sent).sum(),
            bytes_received: results.iter().map(|r| r.outcome.received).sum(),
            steps,
            first_failures,
        }
    }
}

/// The modem a run drives.
enum Target {
    /// A modem in this process, on an in-memory line.
    Here(Box<Modem>),
    /// A fleet's line elsewhere.
    Line(Line),
}

impl Target {
    /// Runs `program` on the modem.
    async fn run(self, program: &Program) -> Timed {
        match self {
            Target::Here(modem) => {
                let (mut host, line) = tokio::io::duplex(1 << 16);
                let line: Link = Box::new(line);
                let handle = modem.handle();
                let running = tokio::spawn(modem.run(Links::single(line)));
                let timed = run_timed(program, &mut host, Some(&handle)).await;
                running.abort();
                timed
            }
            Target::Line(Line::Tcp(addr)) => match tokio::net::TcpStream::connect(addr).await {
                Ok(mut host) => run_timed(program, &mut host, None).await,
                Err(e) => unreachable_line(&format!("tcp {addr}"), &e),
            },
            Target::Line(Line::Unix(path)) => match tokio::net::UnixStream::connect(&path).await {
                Ok(mut host) => run_timed(program, &mut host, None).await,
                Err(e) => unreachable_line(&path.display().to_string(), &e),
            },
            Target::Line(other) => unreachable_line(&format!("{other:?}"), &"drive dials TCP and Unix lines only"),
        }
    }
}

/// The run of a modem whose line could not be reached.
fn unreachable_line(line: &str, why: &dyn std::fmt::Display) -> Timed {
    let reason = format!("cannot reach the modem's line {line}: {why}");
    let mismatch = Mismatch { line: 0, reason, expected: String::new(), received: String::new() };
    Timed { result: Err(mismatch), outcome: Outcome { sent: 0, received: 0 }, steps: Vec::new() }
}

/// What a drive tells its observer as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// This modem has started its run.
    Started(u64),
    /// This modem's run has ended.
    Ended(&'a DriveResult),
}

/// Runs `script` on modems `indices` of the fleet `base` describes, all on `net`; their
/// results in index order. `progress` hears of each modem that starts and ends.
pub async fn drive(
    base: &ModuleConfig,
    indices: std::ops::Range<u64>,
    net: &Net,
    script: &Script,
    options: &DriveOptions,
    progress: impl Fn(Progress<'_>) + Send + Sync + 'static,
) -> Result<Vec<DriveResult>, FleetError> {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let progress = Arc::new(progress);
    let interval = (options.rate > 0).then(|| Duration::from_secs_f64(1.0 / f64::from(options.rate)));
    let mut tasks = Vec::new();
    for index in indices {
        let module = module_of(base, index);
        let mut vars = options.vars.clone();
        vars.insert("index".into(), index.to_string());
        vars.insert("imei".into(), module.identity.imei.clone());
        vars.insert("imsi".into(), module.identity.imsi.clone());
        vars.insert("iccid".into(), module.identity.iccid.clone());
        vars.insert("number".into(), module.identity.number.clone());
        let program = script.compile(&vars).map_err(|message| FleetError::Script { index, message })?;
        let target = match &options.lines {
            Some(lines) => Target::Line(lines.line(index).map_err(|message| FleetError::Line { index, message })?),
            None => {
                let dialect = dialect::build_deferred(module).map_err(|source| FleetError::Build { index, source })?;
                Target::Here(Box::new(Modem::new(dialect, net.clone()).with_metrics(options.metrics.clone())))
            }
        };
        let permit = permits.clone().acquire_owned().await.expect("the semaphore stays open");
        let (progress, started) = (progress.clone(), Instant::now());
        progress(Progress::Started(index));
        tasks.push(tokio::spawn(async move {
            let timed = target.run(&program).await;
            drop(permit);
            let failure = timed.result.err().map(|m| m.to_string());
            let result =
                DriveResult { index, took: started.elapsed(), failure, outcome: timed.outcome, steps: timed.steps };
            progress(Progress::Ended(&result));
            result
        }));
        if let Some(interval) = interval {
            tokio::time::sleep(interval).await;
        }
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(result) = task.await {
            results.push(result);
        }
    }
    Ok(results)
}
