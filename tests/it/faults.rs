//! Resuming a broken download, for every family and against two servers (the embedded libunftp
//! and vsftpd, which scripts/test-servers.sh starts; see tests/it/support/rig.rs): a 1 MiB file
//! of random bytes is downloaded by a modem whose data connections break after
//! [`BREAK`] bytes (a `reset` fault). That attempt must end with the family's failure code,
//! never its success code; the host keeps the bytes it read. A modem without the fault then
//! downloads the rest with the family's restart mechanism, and the two parts together hash
//! (SHA-256) to the original.
//!
//! - SIMCom (sim7080, sim7000, sim800, sim900): `+FTPGET: 1,79` ("download error", `docs/sim7080.md`
//!   "FTP result codes", as the fault matrix's `fault_data_reset.at`) ends the first attempt; the bytes not
//!   read by then are gone with the session (a read after the end is `ERROR`). The restart is
//!   `AT+FTPREST=<bytes kept>` before `AT+FTPGET=1` (M7080 §15.2.6; `docs/sim7080.md` D13).
//! - L610: `+FTPGET: 0` (L610-FTP §1.2.18) ends the first attempt, never `+FTPGET: 1`; what
//!   reached the buffer can still be read with `AT+FTPRECV`. The restart is the offset argument
//!   of `AT+FTPGET="<file>",1,<offset>` (L610-FTP §1.2.18; `docs/l610.md` "Buffered download").

use crate::support::rig;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rig::*;
use vmodem::net::{Fault, Role};

/// The size of the file.
const SIZE: usize = 1 << 20;
/// Bytes the data connection carries before it breaks (under the L610's 512000-byte buffer,
/// so the first attempt never pauses).
const BREAK: u64 = 400_000;
/// The SIMCom code of a download that broke after it started.
const DOWNLOAD_ERROR: u32 = 79;
/// The most one `AT+FTPRECV` returns.
const RECV: usize = 3000;

/// A seed for the file's bytes, different on every run (printed with any failure).
fn seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
}

/// The scenario: a broken download, then its resumption on a modem without faults.
async fn resume_after_break(server: Server) {
    let seed = seed();
    let file = pattern(SIZE, seed);
    server.write("orig.bin", &file);
    let faults = vec![Fault::Reset { on: Role::Data, after: BREAK }];
    let (kept, rest) = if server.family == "l610" {
        let mut m = server.modem_with_faults(faults).await;
        let kept = l610_get(&mut m, "AT+FTPGET=\"orig.bin\",1", 0, seed).await;
        drop(m);
        let mut m = server.modem().await;
        let cmd = format!("AT+FTPGET=\"orig.bin\",1,{}", kept.len());
        let rest = l610_get(&mut m, &cmd, 1, seed).await;
        (kept, rest)
    } else {
        let mut m = server.modem_with_faults(faults).await;
        let (code, kept) = get(&mut m, "orig.bin").await;
        assert_eq!(code, DOWNLOAD_ERROR, "seed {seed}: the broken download ended with {code}");
        assert_no_success(&mut m, seed).await;
        drop(m);
        let mut m = server.modem().await;
        m.ok(&format!("AT+FTPREST={}", kept.len())).await;
        let (code, rest) = get(&mut m, "orig.bin").await;
        assert_eq!(code, 0, "seed {seed}: the resumed download ended with {code}");
        assert_idle(&mut m).await;
        (kept, rest)
    };
    assert!(
        kept.len() as u64 <= BREAK,
        "seed {seed}: {} bytes kept from a connection that broke at {BREAK}",
        kept.len()
    );
    assert!(!kept.is_empty(), "seed {seed}: nothing was read before the break");
    assert_eq!(kept.len() + rest.len(), SIZE, "seed {seed}: {} + {} bytes", kept.len(), rest.len());
    let whole = [kept, rest].concat();
    assert_eq!(sha256(&whole), sha256(&file), "seed {seed}: the resumed file differs from the original");
}

/// After a SIMCom session ended in failure: no `+FTPGET: 1,0` follows, and the module is idle.
async fn assert_no_success(m: &mut Rig, seed: u64) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_idle(m).await;
    let late: Vec<String> =
        m.take_urcs().into_iter().filter(|u| u.replace(' ', "").starts_with("+FTPGET:1,")).collect();
    assert!(late.is_empty(), "seed {seed}: session URCs after the failure: {late:?}");
}

/// An L610 `AT+FTPGET` (`cmd`) read to its end with `AT+FTPRECV`: the end must be
/// `+FTPGET: <end>` (0 failed, 1 complete) and the other result never comes; returns every
/// byte the buffer gave, the ones left in it after the end included.
async fn l610_get(m: &mut Rig, cmd: &str, end: u8, seed: u64) -> Vec<u8> {
    m.ok(cmd).await;
    assert_eq!(m.wait_urc("+FTPGET: ").await, "+FTPGET: 2", "seed {seed}: {cmd}");
    let mut data = Vec::with_capacity(SIZE);
    let mut ended = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "seed {seed}: {cmd}: {} bytes read; ended: {ended}", data.len());
        let n = m
            .read_block_after(&format!("AT+FTPRECV={RECV}"), "+FTPRECV: ", &mut data)
            .await
            .unwrap_or_else(|r| panic!("seed {seed}: AT+FTPRECV: {r:?}"));
        for urc in m.take_urcs() {
            assert!(!ended, "seed {seed}: {cmd}: a URC after the download's end: {urc}");
            assert_eq!(urc, format!("+FTPGET: {end}"), "seed {seed}: {cmd}");
            ended = true;
        }
        if n == 0 {
            if ended {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // The end is final: nothing else is announced, and the buffer is empty.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(m.take_urcs(), Vec::<String>::new(), "seed {seed}: {cmd}: URCs after the end");
    assert_eq!(m.ok("AT+FTPRECV?").await, ["+FTPRECV: 0"], "seed {seed}: {cmd}");
    data
}

family_tests!(sim7080; resume_after_break);
family_tests!(sim7000; resume_after_break);
family_tests!(sim800; resume_after_break);
family_tests!(sim900; resume_after_break);
family_tests!(l610; resume_after_break);
