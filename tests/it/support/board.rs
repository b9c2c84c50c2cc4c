//! The far end of a serial line in tests: a board (or an emulator) holding a PTY master, and
//! exact-bytes reads from any stream. Shared by the transport and emulator-recipe tests.
#![allow(dead_code)]

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

/// Upper bound for anything a test waits for.
pub const T: Duration = Duration::from_secs(5);

/// The SIM7080's power-on URCs, which a modem sends when its first host connects.
pub const BOOT: &[u8] = b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n";

/// Reads exactly `want.len()` bytes from `stream` within [`T`] and checks them.
pub async fn expect_bytes(stream: &mut (impl AsyncRead + Unpin), want: &[u8]) {
    let mut got = vec![0u8; want.len()];
    tokio::time::timeout(T, stream.read_exact(&mut got)).await.expect("read timed out").expect("read failed");
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    assert_eq!(got, want);
}

/// Writes all of `data` to a non-blocking PTY master.
pub async fn board_write(master: &OwnedFd, mut data: &[u8]) {
    let deadline = Instant::now() + T;
    while !data.is_empty() {
        match rustix::io::write(master, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::AGAIN) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("board write failed: {e}"),
        }
    }
}

/// Reads `n` bytes from a non-blocking PTY master, or what came within [`T`].
pub async fn board_read(master: &OwnedFd, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + T;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while got.len() < n && Instant::now() < deadline {
        match rustix::io::read(master, &mut buf[..(n - got.len()).min(512)]) {
            Ok(k) => got.extend_from_slice(&buf[..k]),
            // EIO: the slave is not open (yet).
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::IO) => tokio::time::sleep(Duration::from_millis(5)).await,
            Err(e) => panic!("board read failed: {e}"),
        }
    }
    got
}
