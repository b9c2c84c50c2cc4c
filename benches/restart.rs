//! Restart time: a SIM7080 vmodem (TCP transport, the `instant` link profile) restarted as
//! TinyGSM's SIM7080 client restarts it (`restart()`: the command, then `SMS Ready`, then
//! `init()`, whose first step is `AT` until it answers `OK`). Each restart is timed from sending the
//! command to the `OK` of that `AT`, in between reading the command's `OK` and the boot URCs
//! in their order (`RDY`, `+CFUN: 1`, `+CPIN: READY`, `SMS Ready`), each line checked. Two
//! commands restart: `AT+CREBOOT` and `AT+CFUN=1,1`.
//!
//! The reference is one `AT` round trip on the same line in the same run (echo on, as after a
//! restart): a restart costs two command round trips and four URCs, so anything well beyond
//! twice the round trip would be time the restart itself takes. A real module takes seconds.
//!
//! `cargo bench --bench restart` prints one Markdown table: median, fastest, slowest and mean of
//! [`RUNS`] of each, the three alternating after [`WARMUP`] untimed rounds, and the median's
//! ratio to the round trip's.

mod support;

use std::time::{Duration, Instant};

use support::{Host, median};
use vmodem::config::ModuleConfig;
use vmodem::net::Net;

/// Timed restarts per command (and round trips).
const RUNS: usize = 20;
/// Untimed rounds of all three before the timed ones: a cold line answers its first commands
/// several times slower.
const WARMUP: usize = 100;
/// The boot URCs of a SIM7080, in order, after the restart's `OK`.
const BOOT: [&str; 4] = ["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"];

/// What is timed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// `AT+CREBOOT`, boot URCs, `AT`.
    Creboot,
    /// `AT+CFUN=1,1`, boot URCs, `AT`.
    Cfun,
    /// `AT` alone.
    At,
}

impl Way {
    const ALL: [Way; 3] = [Way::Creboot, Way::Cfun, Way::At];

    fn label(self) -> &'static str {
        match self {
            Way::Creboot => "`AT+CREBOOT` → `SMS Ready` → `AT` `OK`",
            Way::Cfun => "`AT+CFUN=1,1` → `SMS Ready` → `AT` `OK`",
            Way::At => "`AT` round trip (reference)",
        }
    }
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let addr = support::start_modem(&runtime, ModuleConfig::default(), Net::default())?;
    let mut host = Host::connect(addr)?;
    // Past the power-on URCs; echo stays on, as after every restart.
    host.command("AT")?;
    let mut times: Vec<(Way, Duration)> = Vec::new();
    for round in 0..WARMUP + RUNS {
        for way in Way::ALL {
            let start = Instant::now();
            match way {
                Way::Creboot => host.restart("AT+CREBOOT")?,
                Way::Cfun => host.restart("AT+CFUN=1,1")?,
                Way::At => host.command("AT")?,
            }
            if round >= WARMUP {
                times.push((way, start.elapsed()));
            }
        }
    }

    let of = |way: Way| times.iter().filter(|(w, _)| *w == way).map(|(_, d)| *d).collect::<Vec<_>>();
    let micros = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
    let round_trip = median(&of(Way::At));
    println!("SIM7080 restart as TinyGSM does it (vmodem sim7080 on TCP, link profile `instant`)");
    println!("{RUNS} runs of each, in turn, after {WARMUP} untimed rounds");
    println!();
    println!("| what | median | fastest | slowest | mean | median / `AT` round trip |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for way in Way::ALL {
        let v = of(way);
        let m = median(&v);
        let min = v.iter().min().copied().unwrap_or_default();
        let max = v.iter().max().copied().unwrap_or_default();
        let mean = v.iter().sum::<Duration>() / v.len() as u32;
        println!(
            "| {} | {} | {} | {} | {} | {:.1} |",
            way.label(),
            micros(m),
            micros(min),
            micros(max),
            micros(mean),
            m.as_secs_f64() / round_trip.as_secs_f64()
        );
    }
    Ok(())
}

/// The restart on the host's side.
impl Host {
    /// Sends `cmd`, reads its `OK` and the boot URCs in order, then `AT` until its `OK`.
    fn restart(&mut self, cmd: &str) -> anyhow::Result<()> {
        self.command(cmd)?;
        for urc in BOOT {
            self.expect_line(urc)?;
        }
        self.command("AT")
    }
}
