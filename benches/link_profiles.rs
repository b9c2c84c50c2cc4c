//! Link profiles, measured: for each named profile, the rate a transfer of about ten seconds
//! gets through the net layer, each way, beside the profile's figure. The transfers are HTTP
//! exchanges of vmodem's HTTP service (every socket the services open goes through the same
//! shaping) against the embedded axum server on loopback: a GET of `rate × 10 s` bytes for the
//! downlink, a POST of as many to a path that keeps them for the uplink.
//!
//! Each transfer also pays the round trips of setting up (the connection, the request and its
//! answer), so the same exchange with a 1-byte body is timed just before and subtracted:
//! rate = (bytes − 1) / (t(bytes) − t(1 byte)). The jitter of the two exchanges differs, which
//! the error column includes.
//! The last column is that 1-byte exchange: a connection set up and one request answered, two
//! round trips plus jitter.
//!
//! `cargo bench --bench link_profiles` prints one Markdown table. No servers are needed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::ensure;
use vmodem::embedded::http::{EmbeddedHttp, EmbeddedHttpConfig};
use vmodem::net::{Net, PROFILES};
use vmodem::service::http::{HttpMethod, HttpRequest, fetch};

/// How long each measured transfer is meant to take.
const TRANSFER: Duration = Duration::from_secs(10);

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let dir = tempfile::tempdir()?;
    let server = runtime.block_on(EmbeddedHttp::start(EmbeddedHttpConfig {
        root: dir.path().to_path_buf(),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: None,
    }))?;
    let base = format!("http://{}", server.addr());
    println!("Link profiles through vmodem's net layer: HTTP over loopback to the embedded server, ~10 s per transfer");
    println!();
    println!("| profile | way | profile kbit/s | measured kbit/s | error | bytes | setup (1-byte exchange) s |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, profile) in PROFILES.iter().skip(1) {
        let net = Net::default().with_profile(*profile);
        for (way, rate) in [("down", profile.down_rate()), ("up", profile.up_rate())] {
            let rate = rate.expect("named profiles have rates");
            let len = (rate * TRANSFER.as_secs_f64()) as usize;
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let name_of = |n: usize| format!("{way}-{n}.bin");
            for n in [1, len] {
                std::fs::write(dir.path().join(name_of(n)), &data[..n])?;
            }
            let exchange = |n: usize| {
                let req = match way {
                    "down" => request(HttpMethod::Get, format!("{base}/{}", name_of(n)), Vec::new()),
                    _ => request(HttpMethod::Post, format!("{base}/keep"), data[..n].to_vec()),
                };
                let net = net.clone();
                runtime.block_on(async move {
                    let start = Instant::now();
                    let response = fetch(&net, req).await?;
                    ensure!(response.status == 200, "status {}", response.status);
                    if way == "down" {
                        ensure!(response.length == n as u64, "{} of {n} bytes", response.length);
                    }
                    Ok(start.elapsed())
                })
            };
            let setup = exchange(1)?;
            let whole = exchange(len)?;
            let measured = (len - 1) as f64 / (whole - setup).as_secs_f64();
            println!(
                "| {name} | {way} | {:.1} | {:.1} | {:+.2} % | {len} | {:.3} |",
                rate * 8.0 / 1000.0,
                measured * 8.0 / 1000.0,
                (measured / rate - 1.0) * 100.0,
                setup.as_secs_f64(),
            );
        }
    }
    drop(server);
    Ok(())
}

fn request(method: HttpMethod, url: String, body: Vec<u8>) -> HttpRequest {
    HttpRequest {
        method,
        url,
        user_agent: "vmodem-bench".into(),
        content_type: None,
        user_data: String::new(),
        body,
        proxy: None,
        follow_redirects: false,
        range: None,
        timeout: Duration::from_secs(600),
        tls: None,
        body_limit: usize::MAX,
        progress: None,
    }
}
