//! Pacing accuracy: how many bytes a second cross a paced line, against the theory of its speed
//! (baud / 10 for 8N1), in both directions, over the PTY transport (the host sets the speed on
//! its end, as `vmodem serve --pty` paces by default) and the TCP transport (`--baud N`).
//!
//! `cargo bench --bench pacing` prints one Markdown table. Each run moves two seconds' worth of
//! bytes at the line's speed: the modem's side writes them all at once and the host reads them
//! (modem → host), or the host writes them all at once and the modem's side reads them (host →
//! modem). The time runs from the first write to the last byte read, on real time.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmodem::transport::pacing::{LineSpeed, Pacing, Speed};
use vmodem::transport::pty::{self, LineSettings};
use vmodem::transport::{Link, Links, serial, tcp};

/// The line speeds measured.
const RATES: [u32; 3] = [9600, 115_200, 921_600];
/// Seconds of data per run.
const SECONDS: u32 = 2;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!("| medium | baud | direction | bytes | seconds | bytes/s | theory | ratio |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for baud in RATES {
        for medium in ["PTY", "TCP"] {
            for to_host in [true, false] {
                let dir = tempfile::tempdir()?;
                let (mut modem, mut host, _keep) = match medium {
                    "PTY" => pty_line(&dir.path().join("ttyV0"), baud).await?,
                    _ => tcp_line(baud).await?,
                };
                let n = (baud / 10 * SECONDS) as usize;
                let elapsed = match to_host {
                    true => transfer(&mut modem, &mut host, n).await?,
                    false => transfer(&mut host, &mut modem, n).await?,
                };
                let rate = n as f64 / elapsed.as_secs_f64();
                let theory = f64::from(baud / 10);
                let direction = if to_host { "modem → host" } else { "host → modem" };
                println!(
                    "| {medium} | {baud} | {direction} | {n} | {:.3} | {rate:.0} | {theory:.0} | {:.4} |",
                    elapsed.as_secs_f64(),
                    rate / theory
                );
            }
        }
    }
    Ok(())
}

/// Writes `n` bytes at once on `from` and reads them on `to`; the time until the last arrived.
async fn transfer(from: &mut Link, to: &mut Link, n: usize) -> anyhow::Result<Duration> {
    let data = vec![0x5au8; n];
    let start = Instant::now();
    let write = async {
        from.write_all(&data).await?;
        from.flush().await
    };
    let read = async {
        let mut got = vec![0u8; n];
        to.read_exact(&mut got).await.map(|_| start.elapsed())
    };
    let (written, elapsed) = tokio::join!(write, read);
    written.context("write")?;
    elapsed.context("read")
}

/// A paced PTY transport and a host on it that has set `baud` on its end.
async fn pty_line(path: &std::path::Path, baud: u32) -> anyhow::Result<(Link, Link, Box<dyn Send>)> {
    let (links, handle) = pty::open(path).await?;
    let host = serial::open(path, baud)?;
    let mut links = paced(links, Speed::Host(handle.settings_source()));
    let modem = links.next().await.context("no PTY link")?;
    Ok((modem, Box::new(host), Box::new((handle, links))))
}

/// A paced TCP transport at `baud` (`--baud`) and a host connected to it.
async fn tcp_line(baud: u32) -> anyhow::Result<(Link, Link, Box<dyn Send>)> {
    let (links, addr) = tcp::listen(([127, 0, 0, 1], 0).into()).await?;
    let host = tokio::net::TcpStream::connect(addr).await?;
    host.set_nodelay(true)?;
    let mut links = paced(links, Speed::Fixed(LineSettings { baud, bits_per_char: 10 }));
    let modem = links.next().await.context("no TCP link")?;
    Ok((modem, Box::new(host), Box::new(links)))
}

fn paced(links: Links, speed: Speed) -> Links {
    let pacing = Pacing::new(speed, LineSpeed::new());
    links.map(move |link| pacing.wrap(link))
}
