//! The Fibocom L610's FTP end to end: a host drives a real [`Modem`](vmodem::modem::Modem)
//! with the `l610` dialect over an in-process line, and the modem does real FTP against the
//! three real servers of tests/it/support/rig.rs (the in-process libunftp server, Debian's vsftpd
//! and proftpd). The rig brings each modem up as L610 hosts do: `AT+MIPCALL=1,"CMNET"`, one
//! `AT+FTPOPEN` login held for the whole test, and `AT+FTPCWD` into the test's own folder.
//!
//! Every scenario checks what would break if its feature did: the results of the one-shot
//! commands and the server's disk after them, the DLE/ETX data mode both ways (SHA-256 of what
//! arrived, every DLE followed by DLE or ETX), passive and active data connections, the
//! 512000-byte `AT+FTPGET` buffer pausing the download when full and resuming at half,
//! `AT+FTPPUT` chunks, a refused login, and a data connection that breaks mid-file.

use crate::support::{at_host, rig};

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use at_host::{Outcome, Streamed};
use rig::*;
use tokio::time::Instant;
use vmodem::net::{Fault, Redirect, Role};

/// The L610's download buffer.
const BUFFER: usize = 512_000;
/// The most one `AT+FTPRECV` returns.
const RECV: usize = 3000;
/// The largest `AT+FTPPUT` chunk.
const PUT_CHUNK: usize = 1024;

/// Runs a scenario with an L610 (the [`scenarios!`] macro calls this `run`, which shadows the
/// rig's SIM7080 one).
async fn run<F: Future<Output = ()>>(kind: Kind, scenario: fn(Server) -> F) {
    run_family("l610", kind, scenario).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Sends `cmd`, checks its `OK`, and waits for the result URCs of `name`.
async fn done(m: &mut Rig, cmd: &str, name: &str) -> Outcome {
    m.ok(cmd).await;
    m.outcome(name).await
}

/// The result code of `cmd`.
async fn code(m: &mut Rig, cmd: &str, name: &str) -> u8 {
    let end = done(m, cmd, name).await;
    assert!(end.text.is_empty(), "{cmd}: unexpected text {:?}", end.text);
    end.code
}

/// `AT+FTPPWD`: the working directory, from `+FTPPWD: 2,"<dir>"` then `+FTPPWD: 1`.
async fn pwd(m: &mut Rig) -> String {
    let end = done(m, "AT+FTPPWD", "+FTPPWD").await;
    assert_eq!(end.code, 1, "{end:?}");
    assert_eq!(end.text.len(), 1, "one directory line: {end:?}");
    let quoted = &end.text[0];
    assert!(quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'), "{quoted:?}");
    quoted[1..quoted.len() - 1].to_string()
}

/// `AT+FTPRETR="<name>"` in data mode: how it ended and the bytes.
async fn retr(m: &mut Rig, name: &str) -> (Streamed, Vec<u8>) {
    m.ok(&format!("AT+FTPRETR=\"{name}\"")).await;
    let mut data = Vec::new();
    let end = m.data_mode_download("+FTPRETR", |b| data.extend_from_slice(b)).await;
    assert_eq!(end.bytes, data.len() as u64);
    (end, data)
}

/// `AT+FTPLIST[="<path>"]` in data mode: how it ended and the listing.
async fn list(m: &mut Rig, path: Option<&str>) -> (Streamed, String) {
    match path {
        Some(path) => m.ok(&format!("AT+FTPLIST=\"{path}\"")).await,
        None => m.ok("AT+FTPLIST").await,
    };
    let mut data = Vec::new();
    let end = m.data_mode_download("+FTPLIST", |b| data.extend_from_slice(b)).await;
    (end, String::from_utf8(data).expect("a text listing"))
}

/// `AT+FTPSTOR="<name>"`, then `data` streamed in data mode.
async fn stor(m: &mut Rig, name: &str, data: &[u8]) -> Streamed {
    m.ok(&format!("AT+FTPSTOR=\"{name}\"")).await;
    m.data_mode_upload("+FTPSTOR", data).await
}

/// `AT+FTPRECV?`: the bytes waiting in the buffer.
async fn available(m: &mut Rig) -> usize {
    let lines = m.ok("AT+FTPRECV?").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let n = lines[0].strip_prefix("+FTPRECV: ").unwrap_or_else(|| panic!("{lines:?}"));
    n.parse().unwrap_or_else(|_| panic!("{lines:?}"))
}

/// `AT+FTPRECV=3000`: appends what it returns to `out`.
async fn recv(m: &mut Rig, out: &mut Vec<u8>) -> usize {
    let cmd = format!("AT+FTPRECV={RECV}");
    let n = m.read_block_after(&cmd, "+FTPRECV: ", out).await.unwrap_or_else(|r| panic!("{cmd}: {r:?}"));
    assert!(n <= RECV, "{cmd} returned {n} bytes");
    n
}

/// Nothing unread: `AT` answers `OK` and no URC is waiting.
async fn assert_quiet(m: &mut Rig) {
    m.ok("AT").await;
    assert_eq!(m.take_urcs(), Vec::<String>::new());
}

/// Every byte value, long runs of the two bytes data mode escapes (ETX 0x03, DLE 0x10) and of
/// the pairs themselves, then `len` bytes of [`pattern`].
fn escaping_torture(len: usize) -> Vec<u8> {
    let mut data = every_byte(4);
    for run in [1, 2, 3, 1000, 5000] {
        data.extend(std::iter::repeat_n(0x03, run));
        data.extend(std::iter::repeat_n(0x10, run));
        data.extend([0x10, 0x03].repeat(run));
        data.extend([0x03, 0x10].repeat(run));
    }
    data.extend(pattern(len, 11));
    data
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// The session's one-shot commands: a CWD/PWD/CDUP walk, MKD/RMD, REN, DEL, LIST in data mode,
/// STAT, SYST, NOOP, each answered `OK` then `+FTPxxx: 1` (or `0` when the server refuses),
/// with the server's disk checked after each change; then FTPCLOSE ends the session.
async fn session_commands(server: Server) {
    let text = b"renamed, listed and deleted\r\n";
    server.write("a.txt", text);
    let mut m = server.modem().await;
    let home = server.remote.clone();
    assert_eq!(pwd(&mut m).await, home);

    // MKD, then a walk into it and back.
    assert_eq!(code(&mut m, "AT+FTPMKD=\"sub\"", "+FTPMKD").await, 1);
    assert!(server.path("sub").is_dir());
    assert_eq!(code(&mut m, "AT+FTPMKD=\"sub\"", "+FTPMKD").await, 0, "the folder exists");
    assert_eq!(code(&mut m, "AT+FTPCWD=\"sub\"", "+FTPCWD").await, 1);
    assert_eq!(pwd(&mut m).await, format!("{home}/sub"));
    assert_eq!(code(&mut m, "AT+FTPCWD=\"nosuchdir\"", "+FTPCWD").await, 0);
    assert_eq!(pwd(&mut m).await, format!("{home}/sub"), "a refused CWD leaves the directory");
    assert_eq!(code(&mut m, "AT+FTPCDUP", "+FTPCDUP").await, 1);
    assert_eq!(pwd(&mut m).await, home);
    assert_eq!(code(&mut m, &format!("AT+FTPCWD=\"{home}/sub\""), "+FTPCWD").await, 1);
    assert_eq!(pwd(&mut m).await, format!("{home}/sub"), "an absolute CWD");
    assert_eq!(code(&mut m, &format!("AT+FTPCWD=\"{home}\""), "+FTPCWD").await, 1);
    assert_eq!(pwd(&mut m).await, home);

    // REN.
    assert_eq!(code(&mut m, "AT+FTPREN=\"a.txt\",\"b.txt\"", "+FTPREN").await, 1);
    assert!(!server.path("a.txt").exists());
    assert_eq!(server.read("b.txt"), text);
    assert_eq!(code(&mut m, "AT+FTPREN=\"a.txt\",\"c.txt\"", "+FTPREN").await, 0, "a.txt is gone");
    assert!(!server.path("c.txt").exists());
    server.write("sub/inner.bin", &pattern(4321, 1));

    // LIST in data mode: the folder, a subfolder, an empty listing.
    let (end, listing) = list(&mut m, None).await;
    assert_eq!((end.announced, end.code), (true, 1), "{listing}");
    assert!(listing.ends_with("\r\n"), "{listing:?}");
    let b = listing.lines().find(|l| l.ends_with(" b.txt")).unwrap_or_else(|| panic!("no b.txt:\n{listing}"));
    assert!(b.split_whitespace().any(|f| f == text.len().to_string()), "b.txt's size: {b}");
    assert!(listing.lines().any(|l| l.starts_with('d') && l.ends_with(" sub")), "sub is a folder:\n{listing}");
    assert!(!listing.contains("a.txt"), "{listing}");
    let (end, listing) = list(&mut m, Some("sub")).await;
    assert_eq!((end.announced, end.code), (true, 1), "{listing}");
    let inner = listing.lines().find(|l| l.ends_with(" inner.bin")).unwrap_or_else(|| panic!("{listing}"));
    assert!(inner.split_whitespace().any(|f| f == "4321"), "{inner}");
    assert_eq!(listing.lines().count(), 1, "{listing}");

    // STAT, SYST, NOOP.
    let stat = done(&mut m, "AT+FTPSTAT", "+FTPSTAT").await;
    assert_eq!(stat.code, 1, "{stat:?}");
    assert!(stat.text.len() > 1, "the server's status, line by line: {stat:?}");
    assert!(stat.text.iter().all(|l| !l.starts_with("211")), "reply codes are cut: {stat:?}");
    assert!(stat.text.iter().any(|l| l.contains(&server.user)), "the status names the user: {stat:?}");
    let syst = done(&mut m, "AT+FTPSYST", "+FTPSYST").await;
    assert_eq!(syst, Outcome { code: 1, text: vec!["UNIX Type: L8".into()] });
    assert_eq!(code(&mut m, "AT+FTPNOOP", "+FTPNOOP").await, 1);

    // RMD of a folder that is not empty fails; DEL, then RMD.
    assert_eq!(code(&mut m, "AT+FTPRMD=\"sub\"", "+FTPRMD").await, 0, "sub is not empty");
    assert!(server.path("sub/inner.bin").exists());
    assert_eq!(code(&mut m, "AT+FTPDEL=\"sub/inner.bin\"", "+FTPDEL").await, 1);
    assert!(!server.path("sub/inner.bin").exists());
    assert_eq!(code(&mut m, "AT+FTPRMD=\"sub\"", "+FTPRMD").await, 1);
    assert!(!server.path("sub").exists());
    assert_eq!(code(&mut m, "AT+FTPRMD=\"sub\"", "+FTPRMD").await, 0, "sub is gone");
    assert_eq!(code(&mut m, "AT+FTPDEL=\"b.txt\"", "+FTPDEL").await, 1);
    assert!(!server.path("b.txt").exists());
    assert_eq!(code(&mut m, "AT+FTPDEL=\"b.txt\"", "+FTPDEL").await, 0, "b.txt is gone");
    let (end, listing) = list(&mut m, None).await;
    assert_eq!((end.announced, end.code, listing.as_str()), (true, 1, ""), "the folder is empty");

    // FTPCLOSE ends the session: commands are refused until the next FTPOPEN.
    assert_eq!(code(&mut m, "AT+FTPCLOSE", "+FTPCLOSE").await, 1);
    assert_eq!(m.ok("AT+FTPOPEN?").await, ["+FTPOPEN: 0"]);
    m.error("AT+FTPNOOP").await;
    assert_quiet(&mut m).await;
}

/// `AT+FTPSTOR` and `AT+FTPRETR` of a file with every byte value and long runs of 0x03 and
/// 0x10, passive (the default) then active (`AT+FTPMODE=1`). The active modem's passive data
/// connections are sent where nothing listens, so its transfers work only if the server
/// connects to it; passive mode on that modem then fails, which shows the check is real.
async fn stor_retr_passive_active(server: Server) {
    let file = escaping_torture(1 << 20);
    let mut m = server.modem().await;
    assert_eq!(m.ok("AT+FTPMODE?").await, ["+FTPMODE: 0"], "passive by default");
    store_and_retrieve(&server, &mut m, "passive.bin", &file).await;
    assert_quiet(&mut m).await;
    drop(m);

    let block_passive = Redirect::new("127.0.0.1", None, SocketAddr::from(([127, 0, 0, 2], 9)));
    let mut m = server.modem_with(server.addr, vec![block_passive]).await;
    m.ok("AT+FTPMODE=1").await;
    assert_eq!(m.ok("AT+FTPMODE?").await, ["+FTPMODE: 1"]);
    store_and_retrieve(&server, &mut m, "active.bin", &file).await;
    m.ok("AT+FTPMODE=0").await;
    let (end, data) = retr(&mut m, "active.bin").await;
    assert_eq!((end.announced, end.code, data.len()), (false, 0, 0), "no passive data connection");
    // The session survives the failed transfer.
    assert_eq!(code(&mut m, "AT+FTPNOOP", "+FTPNOOP").await, 1);
    assert_quiet(&mut m).await;
}

async fn store_and_retrieve(server: &Server, m: &mut Rig, name: &str, file: &[u8]) {
    let end = stor(m, name, file).await;
    assert_eq!((end.announced, end.code), (true, 1), "{name}");
    assert_eq!(sha256(&server.read(name)), sha256(file), "{name} on the server");
    let (end, data) = retr(m, name).await;
    assert_eq!((end.announced, end.code), (true, 1), "{name}");
    assert_eq!(data.len(), file.len(), "{name}");
    assert_eq!(sha256(&data), sha256(file), "{name} retrieved");
}

/// `AT+FTPGET` of a 5 MiB file into the 512000-byte buffer, read with `AT+FTPRECV=3000`. The
/// host first reads nothing: the buffer fills to exactly 512000 and stays there (the download
/// paused, no `+FTPGET: 1`), and other FTP commands are refused in download mode. Reading
/// 85 blocks leaves 257000 bytes: still paused; the 86th frees half, and the download
/// resumes. Then the host reads to the end; the buffer never holds more than 512000 bytes,
/// `+FTPGET: 1` comes once, and the bytes are the file's.
async fn get_recv_buffer(server: Server) {
    const SIZE: usize = 5 << 20;
    let file = escaping_torture(SIZE);
    server.write("big.bin", &file);
    let mut m = server.modem().await;
    m.ok("AT+FTPGET=\"big.bin\"").await;
    assert_eq!(m.wait_urc("+FTPGET: ").await, "+FTPGET: 2");

    // The buffer fills, and stops at 512000.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = available(&mut m).await;
        assert!(n <= BUFFER, "{n} bytes in the buffer");
        if n == BUFFER {
            break;
        }
        assert!(Instant::now() < deadline, "the buffer never filled: {n} bytes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(available(&mut m).await, BUFFER, "the download pauses when the buffer is full");
    }
    assert_eq!(m.ok("AT+FTPGET?").await, ["+FTPGET: \"big.bin\",1,0"], "not the whole file yet");
    m.error("AT+FTPNOOP").await;
    m.error("AT+FTPPWD").await;
    assert_eq!(m.ok("AT+FTPOPEN?").await, ["+FTPOPEN: 1"]);
    assert_eq!(m.take_urcs(), Vec::<String>::new(), "the download has not ended");

    // Under half free: still paused; half free: it resumes.
    let mut data = Vec::with_capacity(SIZE);
    for _ in 0..85 {
        assert_eq!(recv(&mut m, &mut data).await, RECV);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(available(&mut m).await, BUFFER - 85 * RECV, "paused until half the buffer is free");
    assert_eq!(recv(&mut m, &mut data).await, RECV);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = available(&mut m).await;
        if n > BUFFER - 86 * RECV {
            break;
        }
        assert!(Instant::now() < deadline, "the download did not resume: {n} bytes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The rest, to the end.
    let mut ended = false;
    let mut reads = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "{} of {SIZE} bytes read; ended: {ended}", data.len());
        let n = recv(&mut m, &mut data).await;
        reads += 1;
        for urc in m.take_urcs() {
            assert!(!ended, "a URC after +FTPGET: 1: {urc}");
            assert_eq!(urc, "+FTPGET: 1", "the download failed");
            ended = true;
        }
        if reads.is_multiple_of(64) {
            let n = available(&mut m).await;
            assert!(n <= BUFFER, "{n} bytes in the buffer");
        }
        if n == 0 {
            if ended {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!(data.len(), file.len());
    assert_eq!(sha256(&data), sha256(&file));
    assert_eq!(available(&mut m).await, 0);
    assert_eq!(m.ok("AT+FTPGET?").await, Vec::<String>::new(), "the buffer is empty");
    // Download mode is over.
    assert_eq!(code(&mut m, "AT+FTPNOOP", "+FTPNOOP").await, 1);
    assert_quiet(&mut m).await;
}

/// `AT+FTPPUT` of about 100 KiB in 1024-byte raw chunks (0x03 and 0x10 included, nothing
/// escaped): each `+FTPPUT: 2,<len>`, the bytes, `OK`; the last chunk (eof 1) answers
/// `+FTPPUT: 1` before its `OK`. Between chunks other FTP commands are refused. The server
/// has the file exactly.
async fn put_chunks(server: Server) {
    let file = [escaping_torture(0), pattern(100 << 10, 31)].concat();
    assert!(!file.len().is_multiple_of(PUT_CHUNK), "a short last chunk too");
    let mut m = server.modem().await;
    let chunks: Vec<&[u8]> = file.chunks(PUT_CHUNK).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let cmd = format!("AT+FTPPUT=\"up.bin\",{},{}", chunk.len(), u8::from(last));
        let prompt = format!("+FTPPUT: 2,{}", chunk.len());
        let rsp = m.send_data_answer(&cmd, &prompt, chunk).await.unwrap_or_else(|r| panic!("{cmd}: {r:?}"));
        assert!(rsp.is_ok(), "{cmd}: {rsp:?}");
        let want: &[&str] = if last { &["+FTPPUT: 1"] } else { &[] };
        assert_eq!(rsp.lines, want, "{cmd}");
        if i == 1 {
            m.error("AT+FTPNOOP").await;
            m.error("AT+FTPPUT=\"other.bin\",10,1").await;
        }
    }
    assert_eq!(sha256(&server.read("up.bin")), sha256(&file));
    assert!(!server.path("other.bin").exists());
    assert_eq!(code(&mut m, "AT+FTPNOOP", "+FTPNOOP").await, 1, "the upload is over");
    assert_quiet(&mut m).await;
}

/// A wrong password: `AT+FTPOPEN` answers `OK`, then `+FTPOPEN: 0`; `AT+FTPOPEN?` reads 0 and
/// commands are refused. The right password then logs in: the 0 was the password's.
async fn wrong_password(server: Server) {
    let mut m = server.modem().await;
    assert_eq!(code(&mut m, "AT+FTPCLOSE", "+FTPCLOSE").await, 1);
    let open = |password: &str| format!("AT+FTPOPEN=\"{FTP_HOST}\",\"{}\",\"{password}\"", server.user);
    assert_eq!(code(&mut m, &open("wrong-password"), "+FTPOPEN").await, 0);
    assert_eq!(m.ok("AT+FTPOPEN?").await, ["+FTPOPEN: 0"]);
    m.error("AT+FTPPWD").await;
    assert_eq!(code(&mut m, &open(&server.password), "+FTPOPEN").await, 1);
    assert_eq!(m.ok("AT+FTPOPEN?").await, ["+FTPOPEN: 1"]);
    assert_eq!(pwd(&mut m).await, "/", "a new session starts at the root");
    assert_quiet(&mut m).await;
}

/// The data connection breaks mid-file (an injected reset after 300000 bytes): `AT+FTPRETR`
/// still ends data mode with the ETX, having passed on only a prefix of the file, and reports
/// `+FTPRETR: 0`, never 1; `AT+FTPGET` reports `+FTPGET: 2` then `+FTPGET: 0`, its buffer
/// holds only a prefix and never says the file is complete. The session survives both.
async fn server_gone(server: Server) {
    const SIZE: usize = 4 << 20;
    const CUT: usize = 300_000;
    let file = pattern(SIZE, 41);
    server.write("big.bin", &file);
    let mut m = server.modem_with_faults(vec![Fault::Reset { on: Role::Data, after: CUT as u64 }]).await;

    let (end, data) = retr(&mut m, "big.bin").await;
    assert_eq!((end.announced, end.code), (true, 0), "after {} bytes", data.len());
    assert!(data.len() <= CUT, "{} bytes passed on", data.len());
    assert_eq!(data, file[..data.len()], "a prefix of the file");
    assert_eq!(code(&mut m, "AT+FTPNOOP", "+FTPNOOP").await, 1, "the session survives");

    m.ok("AT+FTPGET=\"big.bin\"").await;
    assert_eq!(m.wait_urc("+FTPGET: ").await, "+FTPGET: 2");
    assert_eq!(m.wait_urc("+FTPGET: ").await, "+FTPGET: 0");
    let waiting = available(&mut m).await;
    assert!((1..=CUT).contains(&waiting), "{waiting} bytes in the buffer");
    assert_eq!(m.ok("AT+FTPGET?").await, ["+FTPGET: \"big.bin\",1,0"], "never complete");
    let mut data = Vec::new();
    while recv(&mut m, &mut data).await > 0 {}
    assert_eq!(data.len(), waiting);
    assert_eq!(data, file[..data.len()], "a prefix of the file");
    assert_eq!(code(&mut m, "AT+FTPNOOP", "+FTPNOOP").await, 1, "the session survives");
    assert_quiet(&mut m).await;
}

scenarios!(session_commands, stor_retr_passive_active, get_recv_buffer, put_chunks, wrong_password, server_gone);
