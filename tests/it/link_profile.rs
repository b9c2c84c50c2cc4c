//! Link profiles through a whole modem: the module's own answer and URC times, exactly, on
//! paused tokio time (no sockets); and an FTP download and upload under a slow profile against
//! the embedded server, where the bytes arrive intact and no sooner than the profile's rates
//! and round trips allow (a lower bound, which a loaded machine cannot break; the rates
//! themselves are measured in `cargo bench --bench link_profiles`).

use crate::support::rig;

use std::time::Duration;

use rig::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use vmodem::modem::Modem;
use vmodem::net::{LinkProfile, Net};
use vmodem::transport::Links;

/// The host's end of the line, with what it has heard and when.
struct Ear {
    host: tokio::io::DuplexStream,
    heard: String,
    /// Where the next search starts.
    from: usize,
    /// When the bytes up to each length arrived.
    arrivals: Vec<(usize, Instant)>,
}

impl Ear {
    /// When `want` arrived (after what earlier calls found), reading more as needed.
    async fn heard(&mut self, want: &str) -> Instant {
        let mut buf = [0u8; 256];
        loop {
            if let Some(at) = self.heard[self.from..].find(want) {
                let end = self.from + at + want.len();
                self.from = end;
                return self.arrivals.iter().find(|(len, _)| *len >= end).expect("an arrival").1;
            }
            let read = tokio::time::timeout(Duration::from_secs(30), self.host.read(&mut buf));
            let n = read.await.expect("an answer").unwrap();
            assert!(n > 0, "the line closed");
            self.heard.push_str(&String::from_utf8_lossy(&buf[..n]));
            self.arrivals.push((self.heard.len(), Instant::now()));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn answers_and_urcs_take_the_profiles_module_times() {
    for (profile, answer, urc) in [
        (LinkProfile::INSTANT, 0, 0),
        (LinkProfile::new(0.0, 0.0, 0.0, 0.0).module(500.0, 1200.0), 500, 1200),
        ("catm".parse().unwrap(), 20, 40),
    ] {
        let dialect = vmodem::dialect::build(Default::default()).unwrap();
        let modem = Modem::new(dialect, Net::default().with_profile(profile));
        let (host, line) = tokio::io::duplex(4096);
        let task = tokio::spawn(modem.run(Links::single(Box::new(line))));
        let mut ear = Ear { host, heard: String::new(), from: 0, arrivals: Vec::new() };
        ear.host.write_all(b"ATE0\r").await.unwrap();
        ear.heard("OK\r\n").await;
        let start = Instant::now();
        ear.host.write_all(b"AT+CNACT=0,1\r").await.unwrap();
        let ok = ear.heard("OK\r\n").await;
        let active = ear.heard("+APP PDP: 0,ACTIVE\r\n").await;
        assert_eq!(ok - start, Duration::from_millis(answer), "{profile}: the answer");
        assert_eq!(active - start, Duration::from_millis(urc), "{profile}: the URC, from its event");
        task.abort();
    }
}

/// 20 KiB down and up at 80 kbit/s (10 000 bytes a second) with 100 ms one way: each transfer
/// takes at least its bytes' time, and the login's round trips come on top.
#[tokio::test]
async fn ftp_transfers_run_at_the_profiles_rates() {
    const SIZE: usize = 20 * 1024;
    let server = Server::start(Kind::Libunftp).await;
    let data = pattern(SIZE, 3);
    server.write("slow.bin", &data);
    let profile = LinkProfile::new(80.0, 80.0, 100.0, 0.0);
    let mut m = server.modem_with_profile(profile).await;
    let started = std::time::Instant::now();
    let (code, got) = get(&mut m, "slow.bin").await;
    let took = started.elapsed();
    assert_eq!((code, sha256(&got)), (0, sha256(&data)));
    // Connect, greeting, USER, PASS, TYPE, PASV, data connect, RETR: 8 round trips of 200 ms
    // at least, and 2.048 s of bytes.
    assert!(took >= Duration::from_millis(2048 + 8 * 200), "the download took {took:?}");
    let started = std::time::Instant::now();
    assert_eq!(put(&mut m, "up.bin", &data).await.code, 0);
    let took = started.elapsed();
    assert_eq!(sha256(&server.read("up.bin")), sha256(&data));
    assert!(took >= Duration::from_millis(2048), "the upload took {took:?}");
}
