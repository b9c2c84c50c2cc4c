//! FTP scenarios end to end: a host drives a real [`Modem`] (SIM7080 dialect) with AT commands
//! over an in-process line, and the modem does real FTP against three real servers: the
//! in-process libunftp server, and Debian's vsftpd and proftpd as `scripts/test-servers.sh`
//! starts them (their ports, roots and login come from its servers.env; a missing file fails
//! every vsftpd/proftpd test, it never skips them).
//!
//! Each scenario is one function taking a [`Server`]; [`scenarios!`] turns it into one test per
//! server (`libunftp::get_text`, `vsftpd::get_text`, `proftpd::get_text`), so nextest runs each
//! pair in its own process. Every test works in a fresh subdirectory of the server's root
//! (mode 0777), so tests running in parallel never meet, and checks what arrived byte for byte
//! (SHA-256) or what the server wrote on its disk.
//!
//! The modem is told the application notes' server address ([`FTP_HOST`]); a net redirect sends it to the
//! test server, so nothing but loopback is ever contacted.

use crate::support::{at_host, rig};

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use at_host::SessionEnd;
use rig::*;
use sha2::{Digest, Sha256};
use vmodem::net::Redirect;

// ---------------------------------------------------------------------------------------------
// Scenarios

/// GET of a text file.
async fn get_text(server: Server) {
    let text: String = (1..=200).map(|i| format!("line {i}: the quick brown fox, OK?\r\n")).collect();
    server.write("simftp.txt", text.as_bytes());
    let mut m = server.modem().await;
    let (code, data) = get(&mut m, "simftp.txt").await;
    assert_eq!(code, 0);
    assert_eq!(sha256(&data), sha256(text.as_bytes()), "{} of {} bytes", data.len(), text.len());
    assert_idle(&mut m).await;
}

/// GET of a binary file holding every byte value, read with `AT+FTPGET=2,1460` until
/// `+FTPGET: 1,0`.
async fn get_binary(server: Server) {
    let bytes = every_byte(1024);
    server.write("all.bin", &bytes);
    let mut m = server.modem().await;
    let (code, data) = get(&mut m, "all.bin").await;
    assert_eq!(code, 0);
    assert_eq!(data.len(), bytes.len());
    assert_eq!(sha256(&data), sha256(&bytes));
    // Reading after the end is an error: the session is over.
    m.error("AT+FTPGET=2,1460").await;
    assert_idle(&mut m).await;
}

/// PUT with FTPPUTOPT "STOR" replaces an existing file.
async fn put_stor(server: Server) {
    server.write_writable("up.bin", &pattern(50_000, 1));
    let bytes = every_byte(400);
    let mut m = server.modem().await;
    m.ok("AT+FTPPUTOPT=\"STOR\"").await;
    assert_eq!(put(&mut m, "up.bin", &bytes).await.code, 0);
    assert_eq!(sha256(&server.read("up.bin")), sha256(&bytes));
    assert_idle(&mut m).await;
}

/// PUT with FTPPUTOPT "APPE" appends to an existing file.
async fn put_appe(server: Server) {
    let first = pattern(3000, 2);
    let second = every_byte(20);
    server.write_writable("log.bin", &first);
    let mut m = server.modem().await;
    m.ok("AT+FTPPUTOPT=\"APPE\"").await;
    assert_eq!(m.ok("AT+FTPPUTOPT?").await, ["+FTPPUTOPT: \"APPE\""]);
    assert_eq!(put(&mut m, "log.bin", &second).await.code, 0);
    assert_eq!(server.read("log.bin"), [first.as_slice(), second.as_slice()].concat());
    // Appending to a file that does not exist yet creates it.
    assert_eq!(put(&mut m, "new.bin", &second).await.code, 0);
    assert_eq!(server.read("new.bin"), second);
}

/// PUT with FTPPUTOPT "STOU" stores under a name the server makes up, in the FTPPUTPATH
/// folder, and leaves the file of FTPPUTNAME alone.
async fn put_stou(server: Server) {
    let old = b"already here\n".to_vec();
    server.write("same.txt", &old);
    let bytes = pattern(20_000, 3);
    let mut m = server.modem().await;
    m.ok("AT+FTPPUTOPT=\"STOU\"").await;
    for round in 0..2 {
        assert_eq!(put(&mut m, "same.txt", &bytes).await.code, 0, "round {round}");
    }
    assert_eq!(server.read("same.txt"), old, "STOU must not touch the named file");
    let mut made: Vec<String> = std::fs::read_dir(server.dir.path())
        .expect("the test folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "same.txt")
        .collect();
    made.sort();
    assert_eq!(made.len(), 2, "two uploads, two unique files in the FTPPUTPATH folder: {made:?}");
    for name in &made {
        assert_eq!(sha256(&server.read(name)), sha256(&bytes), "{name}");
    }
}

/// `AT+FTPREST=<n>` then GET returns the file from byte n.
async fn rest(server: Server) {
    let bytes = pattern(100_000, 4);
    server.write("simftp.bin", &bytes);
    let mut m = server.modem().await;
    m.ok("AT+FTPREST=12345").await;
    assert_eq!(m.ok("AT+FTPREST?").await, ["+FTPREST: 12345"]);
    let (code, data) = get(&mut m, "simftp.bin").await;
    assert_eq!(code, 0);
    assert_eq!(data.len(), bytes.len() - 12345);
    assert_eq!(sha256(&data), sha256(&bytes[12345..]));
}

/// `AT+FTPLIST=1`, then `AT+FTPLIST=2,<n>` in small reads: the folder's entries are listed.
async fn list(server: Server) {
    let names = ["alpha.txt", "beta.bin", "gamma with space.dat"];
    for (i, name) in names.iter().enumerate() {
        server.write(name, &pattern(100 * (i + 1), 5));
    }
    std::fs::create_dir(server.path("delta")).expect("a subfolder");
    let mut m = server.modem().await;
    m.ok("AT+FTPLIST=1").await;
    let mut listing = Vec::new();
    let got = m.download("+FTPLIST", 100, |b| listing.extend_from_slice(b)).await;
    assert_eq!(got.code, 0);
    let text = String::from_utf8(listing).expect("a text listing");
    assert!(got.reads > 2, "small reads page the listing ({} reads): {text}", got.reads);
    assert!(text.ends_with("\r\n"), "{text:?}");
    for name in names.iter().chain(&["delta"]) {
        assert!(text.lines().any(|l| l.ends_with(&format!(" {name}"))), "{name} not in the listing:\n{text}");
    }
    let beta = text.lines().find(|l| l.ends_with(" beta.bin")).expect("beta.bin");
    assert!(beta.split_whitespace().any(|f| f == "200"), "beta.bin's size is 200: {beta}");
    assert!(text.lines().any(|l| l.starts_with('d') && l.ends_with(" delta")), "delta is a folder:\n{text}");
    assert_idle(&mut m).await;
}

/// `AT+FTPSIZE`: `+FTPSIZE: 1,0,<size>`; a missing file is an operate error (77).
async fn size(server: Server) {
    server.write("sized.bin", &pattern(123_457, 6));
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"sized.bin\"").await;
    assert_eq!(one_shot(&mut m, "+FTPSIZE").await, SessionEnd { code: 0, values: vec!["123457".into()] });
    m.ok("AT+FTPGETNAME=\"missing.bin\"").await;
    assert_eq!(one_shot(&mut m, "+FTPSIZE").await, SessionEnd { code: 77, values: vec!["0".into()] });
    assert_idle(&mut m).await;
}

/// `AT+FTPMDTM`: the file's modification time, UTC, `YYYYMMDDHHMMSS`.
async fn mdtm(server: Server) {
    server.write("dated.txt", b"dated\n");
    let file = std::fs::File::options().write(true).open(server.path("dated.txt")).expect("the fixture");
    // 2014-04-09 06:09:51 UTC, the time in AN7080 §5.18.
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_397_023_791)).expect("set mtime");
    drop(file);
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"dated.txt\"").await;
    assert_eq!(one_shot(&mut m, "+FTPMDTM").await, SessionEnd { code: 0, values: vec!["20140409060951".into()] });
    m.ok("AT+FTPGETNAME=\"missing.txt\"").await;
    assert_eq!(one_shot(&mut m, "+FTPMDTM").await.code, 77);
}

/// `AT+FTPDELE` deletes the file; deleting it again is an operate error.
async fn dele(server: Server) {
    server.write("doomed.txt", b"bye\n");
    server.write("kept.txt", b"stay\n");
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"doomed.txt\"").await;
    assert_eq!(one_shot(&mut m, "+FTPDELE").await.code, 0);
    assert!(!server.path("doomed.txt").exists());
    assert!(server.path("kept.txt").exists());
    assert_eq!(one_shot(&mut m, "+FTPDELE").await.code, 77);
}

/// `AT+FTPMKD` / `AT+FTPRMD` on FTPGETPATH.
async fn mkd_rmd(server: Server) {
    let mut m = server.modem().await;
    m.ok(&format!("AT+FTPGETPATH=\"{}/made\"", server.remote)).await;
    assert_eq!(one_shot(&mut m, "+FTPMKD").await.code, 0);
    assert!(server.path("made").is_dir());
    assert_eq!(one_shot(&mut m, "+FTPMKD").await.code, 77, "the folder exists already");
    assert_eq!(one_shot(&mut m, "+FTPRMD").await.code, 0);
    assert!(!server.path("made").exists());
    assert_eq!(one_shot(&mut m, "+FTPRMD").await.code, 77, "the folder is gone");
}

/// `AT+FTPRENAME`: FTPGETPATH/FTPGETNAME becomes FTPPUTPATH/FTPPUTNAME.
async fn rename(server: Server) {
    let bytes = pattern(5000, 7);
    server.write("old.bin", &bytes);
    std::fs::create_dir(server.path("sub")).expect("a subfolder");
    std::fs::set_permissions(server.path("sub"), std::fs::Permissions::from_mode(0o777)).expect("chmod 0777");
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"old.bin\"").await;
    m.ok("AT+FTPPUTNAME=\"new.bin\"").await;
    assert_eq!(one_shot(&mut m, "+FTPRENAME").await.code, 0);
    assert!(!server.path("old.bin").exists());
    assert_eq!(server.read("new.bin"), bytes);
    // Into another folder.
    m.ok("AT+FTPGETNAME=\"new.bin\"").await;
    m.ok(&format!("AT+FTPPUTPATH=\"{}/sub\"", server.remote)).await;
    m.ok("AT+FTPPUTNAME=\"moved.bin\"").await;
    assert_eq!(one_shot(&mut m, "+FTPRENAME").await.code, 0);
    assert_eq!(server.read("sub/moved.bin"), bytes);
    // The source is gone now.
    assert_eq!(one_shot(&mut m, "+FTPRENAME").await.code, 77);
}

/// Active mode (`AT+FTPMODE=0`): PUT then GET. Every connection the modem opens to
/// 127.0.0.1 other than the control connection is sent to 127.0.0.2, where nothing listens,
/// so a passive data connection would fail: the transfers work only if the server connects.
async fn active(server: Server) {
    let block_passive = Redirect::new("127.0.0.1", None, SocketAddr::from(([127, 0, 0, 2], 9)));
    let mut m = server.modem_with(server.addr, vec![block_passive]).await;
    m.ok("AT+FTPMODE=0").await;
    assert_eq!(m.ok("AT+FTPMODE?").await, ["+FTPMODE: 0"]);
    transfer_both_ways(&server, &mut m).await;
    // The same modem in passive mode cannot get a data connection: the check above is real.
    m.ok("AT+FTPMODE=1").await;
    assert_eq!(get(&mut m, "back.bin").await.0, 75, "passive data connection refused");
}

/// Passive mode (`AT+FTPMODE=1`): PUT then GET.
async fn passive(server: Server) {
    let mut m = server.modem().await;
    m.ok("AT+FTPMODE=1").await;
    assert_eq!(m.ok("AT+FTPMODE?").await, ["+FTPMODE: 1"]);
    transfer_both_ways(&server, &mut m).await;
}

async fn transfer_both_ways(server: &Server, m: &mut Rig) {
    let bytes = [every_byte(300), pattern(40_000, 8)].concat();
    assert_eq!(put(m, "back.bin", &bytes).await.code, 0);
    assert_eq!(sha256(&server.read("back.bin")), sha256(&bytes));
    let (code, data) = get(m, "back.bin").await;
    assert_eq!(code, 0);
    assert_eq!(sha256(&data), sha256(&bytes));
}

/// A user name the server does not know. Every server here answers `USER` with 331 whatever
/// the name (so as not to tell which names exist) and refuses at `PASS`: the modem can only
/// report a password error, 72. (71 is for a server that refuses the `USER` itself.)
async fn wrong_user(server: Server) {
    server.write("simftp.txt", b"x");
    let mut m = server.modem().await;
    m.ok("AT+FTPUN=\"nosuchuser\"").await;
    m.ok("AT+FTPGETNAME=\"simftp.txt\"").await;
    m.ok("AT+FTPGET=1").await;
    assert_eq!(m.session_end("+FTPGET").await.code, 72);
    m.error("AT+FTPGET=2,1460").await;
    assert_idle(&mut m).await;
}

/// A wrong password: `+FTPGET: 1,72` (AN7080 §5.4), and the same for PUT.
async fn wrong_password(server: Server) {
    server.write("simftp.txt", b"x");
    let mut m = server.modem().await;
    m.ok("AT+FTPPW=\"3214567\"").await;
    m.ok("AT+FTPGETNAME=\"simftp.txt\"").await;
    m.ok("AT+FTPGET=1").await;
    assert_eq!(m.session_end("+FTPGET").await.code, 72);
    m.ok("AT+FTPPUTNAME=\"up.txt\"").await;
    m.ok("AT+FTPPUT=1").await;
    assert_eq!(m.session_end("+FTPPUT").await.code, 72);
    assert!(!server.path("up.txt").exists());
    assert_idle(&mut m).await;
}

/// The server address leads to a closed port: connect error, 63.
async fn refused(server: Server) {
    server.write("simftp.txt", b"x");
    let (_closed, addr) = closed_port();
    let mut m = server.modem_with(addr, Vec::new()).await;
    m.ok("AT+FTPGETNAME=\"simftp.txt\"").await;
    m.ok("AT+FTPGET=1").await;
    assert_eq!(m.session_end("+FTPGET").await.code, 63);
    assert_eq!(one_shot(&mut m, "+FTPSIZE").await.code, 63);
    assert_idle(&mut m).await;
}

/// `AT+FTPQUIT` in the middle of a download: `+FTPGET: 1,80`, reads fail, and the next
/// session starts afresh and completes.
async fn quit_mid_download(server: Server) {
    let bytes = pattern(1 << 20, 9);
    server.write("big.bin", &bytes);
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"big.bin\"").await;
    m.ok("AT+FTPGET=1").await;
    m.wait_urc("+FTPGET: 1,1").await;
    let mut first = Vec::new();
    assert_eq!(m.read_block("AT+FTPGET=2,1000", &mut first).await, Ok(1000));
    assert_eq!(first, bytes[..1000]);
    assert_eq!(m.ok("AT+FTPSTATE").await, ["+FTPSTATE: 1"]);
    m.ok("AT+FTPQUIT").await;
    assert_eq!(m.session_end("+FTPGET").await.code, 80);
    m.error("AT+FTPGET=2,1460").await;
    assert_idle(&mut m).await;
    m.error("AT+FTPQUIT").await;
    // Nothing from the quit session trickles in later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(m.next_urc(Duration::ZERO).await, None);
    let (code, data) = get(&mut m, "big.bin").await;
    assert_eq!(code, 0);
    assert_eq!(sha256(&data), sha256(&bytes));
}

/// `AT+FTPQUIT` in the middle of an upload: `+FTPPUT: 1,80`, writes fail, and the next
/// upload starts afresh and completes.
async fn quit_mid_upload(server: Server) {
    let bytes = pattern(10_000, 11);
    let mut m = server.modem().await;
    m.ok("AT+FTPPUTNAME=\"cut.bin\"").await;
    m.ok("AT+FTPPUT=1").await;
    m.wait_urc("+FTPPUT: 1,1,").await;
    assert_eq!(m.put_block(&bytes[..1000]).await, Ok(1000));
    m.wait_urc("+FTPPUT: 1,1,").await;
    m.ok("AT+FTPQUIT").await;
    assert_eq!(m.session_end("+FTPPUT").await.code, 80);
    m.error("AT+FTPPUT=2,100").await;
    assert_idle(&mut m).await;
    assert_eq!(put(&mut m, "whole.bin", &bytes).await.code, 0);
    assert_eq!(sha256(&server.read("whole.bin")), sha256(&bytes));
}

/// A 64 MiB file downloaded with `AT+FTPGET=2,1460` (about 46,000 reads), hashed on the fly.
async fn big_file(server: Server) {
    const SIZE: usize = 64 << 20;
    let bytes = pattern(SIZE, 10);
    let want = sha256(&bytes);
    server.write("big.bin", &bytes);
    drop(bytes);
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"big.bin\"").await;
    m.ok("AT+FTPGET=1").await;
    let mut hash = Sha256::new();
    let started = std::time::Instant::now();
    let got = m.download("+FTPGET", CHUNK, |b| hash.update(b)).await;
    let took = started.elapsed();
    eprintln!(
        "{:?}: {} bytes in {} reads, {took:.2?} ({:.1} MB/s)",
        server.kind,
        got.bytes,
        got.reads,
        got.bytes as f64 / took.as_secs_f64() / 1e6
    );
    assert_eq!(got.code, 0);
    assert_eq!(got.bytes, SIZE as u64);
    assert_eq!(hex(&hash.finalize()), want);
}

scenarios!(
    get_text,
    get_binary,
    put_stor,
    put_appe,
    put_stou,
    rest,
    list,
    size,
    mdtm,
    dele,
    mkd_rmd,
    rename,
    active,
    passive,
    wrong_user,
    wrong_password,
    refused,
    quit_mid_download,
    quit_mid_upload,
    big_file,
);

// The same scenarios for the SAPBR families (bearer profile 1 instead of an app context;
// the SIM900 without the space after the colon), against the embedded server and vsftpd. The
// SIM800 and SIM900 have no FTPRENAME or FTPMDTM.
family_tests!(sim7000; get_text, get_binary, put_stor, put_appe, put_stou, rest, list, size, mdtm, dele, mkd_rmd,
    rename, active, passive, wrong_user, wrong_password, refused, quit_mid_download, quit_mid_upload, big_file);
family_tests!(sim800; get_text, get_binary, put_stor, put_appe, put_stou, rest, list, size, dele, mkd_rmd, active,
    passive, wrong_user, wrong_password, refused, quit_mid_download, quit_mid_upload, big_file);
family_tests!(sim900; get_text, get_binary, put_stor, put_appe, put_stou, rest, list, size, dele, mkd_rmd, active,
    passive, wrong_user, wrong_password, refused, quit_mid_download, quit_mid_upload, big_file);

/// A server that refuses the user name itself (530 after `USER`, before any `PASS`):
/// `+FTPGET: 1,71`. vsftpd does so for the names on its user list (scripts/test-servers.sh
/// puts `FTP_DENIED_USER` there); the other servers never refuse at `USER`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn vsftpd_user_refused_at_user_is_a_user_error() {
    run(Kind::Vsftpd, |server| async move {
        let denied = ServersEnv::load().get("FTP_DENIED_USER");
        server.write("simftp.txt", b"x");
        let mut m = server.modem().await;
        m.ok(&format!("AT+FTPUN=\"{denied}\"")).await;
        m.ok("AT+FTPGETNAME=\"simftp.txt\"").await;
        m.ok("AT+FTPGET=1").await;
        assert_eq!(m.session_end("+FTPGET").await.code, 71);
        assert_idle(&mut m).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Backpressure

/// A host that stops reading holds the server back: the modem keeps at most its bounded pipe
/// of the download, not the file.
///
/// How this is observed: the embedded server runs in this process, so the file it sends is
/// open here and its read offset shows in /proc/self/fdinfo. The host reads a little of a
/// 256 MiB file, then stops. The offset must come to rest (unchanged for a full second) below
/// 64 MiB, which is what the pipe, the socket buffers of both ends (up to ~36 MiB here with
/// Linux's autotuning) and the server's own buffers can hold. If the modem buffered without
/// bound, the server would keep reading the file at loopback speed: the offset would either
/// keep moving (never at rest for a second) or reach 256 MiB (the file is closed, or the
/// offset is over 64 MiB), so the test cannot pass with an unbounded pipe. The process's
/// resident memory must not grow by 64 MiB either. Then the host reads again and the server
/// goes on from where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_a_host_that_stops_reading_stops_the_server() {
    if tokio::time::timeout(SCENARIO_LIMIT, backpressure()).await.is_err() {
        panic!("the backpressure test ran longer than {SCENARIO_LIMIT:?}");
    }
}

async fn backpressure() {
    const SIZE: u64 = 256 << 20;
    const LIMIT: u64 = 64 << 20;
    let server = Server::start(Kind::Libunftp).await;
    let path = server.path("huge.bin");
    // Sparse: made at once, and reading it costs the server no disk IO.
    std::fs::File::create(&path).and_then(|f| f.set_len(SIZE)).expect("a sparse 256 MiB file");
    let path = path.canonicalize().expect("the file's real path");
    let rss_before = vm_rss();
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"huge.bin\"").await;
    m.ok("AT+FTPGET=1").await;
    m.wait_urc("+FTPGET: 1,1").await;
    let mut head = Vec::new();
    for _ in 0..1000 {
        if head.len() >= 16 * CHUNK {
            break;
        }
        if m.read_block("AT+FTPGET=2,1460", &mut head).await == Ok(0) {
            m.wait_urc("+FTPGET: 1,1").await;
        }
    }
    assert!(head.len() >= 16 * CHUNK && head.iter().all(|&b| b == 0), "{} bytes", head.len());

    // The host stops reading; wait for the server to come to rest.
    let mut last = server_offset(&path).expect("the server has the file open");
    let mut still = 0;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = server_offset(&path)
            .unwrap_or_else(|| panic!("the server closed the file: it sent all of it (last offset {last})"));
        assert!(now < LIMIT, "the server has read {now} bytes of the file while the host read {}", head.len());
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still == 5 {
            break;
        }
    }
    assert_eq!(still, 5, "the server never stopped reading the file (offset {last})");
    let grown = vm_rss().saturating_sub(rss_before);
    assert!(grown < LIMIT, "resident memory grew by {grown} bytes during a download the host did not read");
    eprintln!("server at rest at offset {last}; resident memory grew by {grown} bytes");

    // Reading again lets the server go on.
    let mut more = Vec::new();
    let mut read = 0usize;
    for _ in 0..100_000 {
        if server_offset(&path).is_none_or(|o| o != last) {
            break;
        }
        assert!(read < (LIMIT as usize), "the server did not go on after {read} more bytes were read");
        more.clear();
        match m.read_block("AT+FTPGET=2,1460", &mut more).await {
            Ok(0) => {
                m.wait_urc("+FTPGET: 1,1").await;
            }
            Ok(n) => read += n,
            Err(rsp) => panic!("the download failed: {rsp:?}, {:?}", m.take_urcs()),
        }
        assert!(more.iter().all(|&b| b == 0));
    }
    assert_ne!(server_offset(&path), Some(last), "the server did not go on when the host read again");
    m.ok("AT+FTPQUIT").await;
    assert_eq!(m.session_end("+FTPGET").await.code, 80);
}

/// The read offset of the file at `path` in the process that has it open (this one).
fn server_offset(path: &Path) -> Option<u64> {
    std::fs::read_dir("/proc/self/fd").ok()?.flatten().find_map(|fd| {
        if std::fs::read_link(fd.path()).ok()? != path {
            return None;
        }
        let info = std::fs::read_to_string(Path::new("/proc/self/fdinfo").join(fd.file_name())).ok()?;
        info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|p| p.trim().parse().ok())
    })
}

/// This process's resident memory in bytes (VmRSS).
fn vm_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).expect("VmRSS in /proc/self/status");
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().expect("VmRSS in kB") * 1024
}
