//! The FTP client against the embedded libunftp server (real protocol, real sockets, loopback)
//! and against a scripted fake server for the edge cases real servers do not produce on demand.

use crate::support::rig::free_port;
use crate::support::{fake_ftp, transfers};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fake_ftp::{FakeFtp, accept};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transfers::{get, pattern, put};
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::net::{Net, NetError};
use vmodem::service::ftp::{
    DataMode, Direction, FtpConfig, FtpError, FtpSession, FtpTimeouts, Step, StoreMode, TraceLine, TransferFault,
};

const USER: &str = "ftptest";
const PASSWORD: &str = "Secr3t!";

// ---------------------------------------------------------------------------------------------
// Helpers

struct Server {
    dir: TempDir,
    ftp: EmbeddedFtp,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let ftp = EmbeddedFtp::start(EmbeddedFtpConfig {
            root: dir.path().to_path_buf(),
            user: USER.into(),
            password: PASSWORD.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        })
        .await
        .unwrap();
        Server { dir, ftp }
    }

    fn config(&self, mode: DataMode) -> FtpConfig {
        let addr = self.ftp.addr();
        FtpConfig {
            mode,
            timeouts: short_timeouts(),
            ..FtpConfig::new(addr.ip().to_string(), addr.port(), USER, PASSWORD)
        }
    }

    async fn login(&self, mode: DataMode) -> FtpSession {
        FtpSession::connect(&Net::default(), &self.config(mode)).await.unwrap()
    }

    fn write(&self, name: &str, data: &[u8]) {
        std::fs::write(self.dir.path().join(name), data).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap()
    }
}

fn short_timeouts() -> FtpTimeouts {
    FtpTimeouts {
        connect: Duration::from_secs(5),
        reply: Duration::from_secs(10),
        data_connect: Duration::from_secs(5),
        idle: Duration::from_secs(10),
    }
}

fn fake_config(addr: SocketAddr) -> FtpConfig {
    let timeouts = FtpTimeouts {
        connect: Duration::from_secs(2),
        reply: Duration::from_millis(500),
        data_connect: Duration::from_secs(2),
        idle: Duration::from_millis(300),
    };
    FtpConfig { timeouts, ..FtpConfig::new(addr.ip().to_string(), addr.port(), "u", "p") }
}

async fn listing(session: &mut FtpSession, step: Step, path: &str) -> String {
    let mut stream = match step {
        Step::List => session.list(path).await,
        Step::Nlst => session.nlst(path).await,
        _ => session.mlsd(path).await,
    }
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    session.finish(stream).await.unwrap();
    text
}

// ---------------------------------------------------------------------------------------------
// Against libunftp

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_quit() {
    let server = Server::start().await;
    let mut s = server.login(DataMode::Passive).await;
    assert_eq!(s.noop().await.unwrap().code, 200);
    s.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_rejected_after_pass() {
    let server = Server::start().await;
    let config = FtpConfig { password: "wrong".into(), ..server.config(DataMode::Passive) };
    match FtpSession::connect(&Net::default(), &config).await {
        Err(FtpError::Rejected { step: Step::Pass, reply }) => assert_eq!(reply.code, 530),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_whole_file_and_from_offset_in_both_modes() {
    let server = Server::start().await;
    let data = pattern(100_000);
    server.write("f.bin", &data);
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut s = server.login(mode).await;
        assert_eq!(get(&mut s, "f.bin", 0).await.unwrap(), data, "{mode:?}");
        assert_eq!(get(&mut s, "f.bin", 99_000).await.unwrap(), &data[99_000..], "{mode:?}");
        assert_eq!(get(&mut s, "/f.bin", 1).await.unwrap(), &data[1..], "{mode:?}");
        s.quit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_stor_appe_stou_in_both_modes() {
    let server = Server::start().await;
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut s = server.login(mode).await;
        let done = put(&mut s, "up.txt", StoreMode::Stor, b"hello ").await.unwrap();
        assert!(done.preliminary.is_preliminary());
        assert_eq!((done.reply.code, done.bytes), (226, 6));
        put(&mut s, "up.txt", StoreMode::Appe, b"world").await.unwrap();
        assert_eq!(server.read("up.txt"), b"hello world", "{mode:?}");
        // STOR replaces.
        put(&mut s, "up.txt", StoreMode::Stor, b"again").await.unwrap();
        assert_eq!(server.read("up.txt"), b"again");

        let done = put(&mut s, "", StoreMode::Stou, b"unique bytes").await.unwrap();
        let name = done.preliminary.stou_file_name().expect("STOU names the file");
        assert_eq!(server.read(&name), b"unique bytes", "{mode:?} {:?}", done.preliminary);
        std::fs::remove_file(server.dir.path().join(&name)).unwrap();
        s.quit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_in_both_modes() {
    let server = Server::start().await;
    server.write("one.txt", b"1");
    server.write("two.txt", b"22");
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut s = server.login(mode).await;
        let list = listing(&mut s, Step::List, "").await;
        assert!(list.contains("one.txt") && list.contains("two.txt"), "{list}");
        assert!(list.ends_with("\r\n"), "listings come as the server sent them: {list:?}");
        let mut names: Vec<_> = listing(&mut s, Step::Nlst, "/").await.lines().map(str::to_string).collect();
        names.sort();
        assert_eq!(names, ["one.txt", "two.txt"]);
        let mlsd = listing(&mut s, Step::Mlsd, "").await;
        let two = mlsd.lines().find(|l| l.ends_with(" two.txt")).unwrap_or_else(|| panic!("{mlsd}"));
        assert!(two.to_ascii_lowercase().contains("size=2;"), "{two}");
        s.quit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_and_mdtm() {
    let server = Server::start().await;
    server.write("t.txt", &[7; 1234]);
    let file = std::fs::File::options().write(true).open(server.dir.path().join("t.txt")).unwrap();
    // 2023-11-14 22:13:20 UTC
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
    let mut s = server.login(DataMode::Passive).await;
    assert_eq!(s.size("t.txt").await.unwrap(), 1234);
    assert_eq!(s.mdtm("t.txt").await.unwrap(), "20231114221320");
    match s.size("missing.txt").await {
        Err(FtpError::Rejected { step: Step::Size, reply }) => assert_eq!(reply.code, 550),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dele_mkd_rmd_rename_and_directories() {
    let server = Server::start().await;
    server.write("a.txt", b"a");
    let mut s = server.login(DataMode::Passive).await;

    s.rename("a.txt", "b.txt").await.unwrap();
    assert!(!server.dir.path().join("a.txt").exists());
    assert_eq!(server.read("b.txt"), b"a");
    s.dele("b.txt").await.unwrap();
    assert!(!server.dir.path().join("b.txt").exists());
    assert!(matches!(s.dele("b.txt").await, Err(FtpError::Rejected { step: Step::Dele, .. })));
    assert!(matches!(s.rename("nothing", "x").await, Err(FtpError::Rejected { step: Step::Rnfr, .. })));

    assert_eq!(s.pwd().await.unwrap(), "/");
    s.mkd("sub").await.unwrap();
    assert!(server.dir.path().join("sub").is_dir());
    s.cwd("sub").await.unwrap();
    assert_eq!(s.pwd().await.unwrap(), "/sub");
    put(&mut s, "in-sub.txt", StoreMode::Stor, b"x").await.unwrap();
    assert_eq!(server.read("sub/in-sub.txt"), b"x");
    s.cdup().await.unwrap();
    assert_eq!(s.pwd().await.unwrap(), "/");
    assert!(matches!(s.cwd("no-such-dir").await, Err(FtpError::Rejected { step: Step::Cwd, .. })));
    s.dele("sub/in-sub.txt").await.unwrap();
    s.rmd("sub").await.unwrap();
    assert!(!server.dir.path().join("sub").exists());

    assert!(!s.syst().await.unwrap().is_empty());
    let status = s.stat("").await.unwrap();
    assert!(status.first().is_some_and(|l| l.starts_with("211")), "{status:?}");
    let feat = s.command("FEAT", "").await.unwrap();
    assert_eq!(feat.code, 211);
    assert!(feat.lines.iter().any(|l| l.trim() == "MDTM"), "{feat:?}");
    assert_eq!(s.command("XYZZY", "").await.unwrap().code / 100, 5);
    s.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_byte_value_survives_binary_mode() {
    let server = Server::start().await;
    let data: Vec<u8> = (0..=255u8).cycle().take(256 * 16).collect();
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut s = server.login(mode).await;
        put(&mut s, "all.bin", StoreMode::Stor, &data).await.unwrap();
        assert_eq!(server.read("all.bin"), data);
        assert_eq!(get(&mut s, "all.bin", 0).await.unwrap(), data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_mode_converts_line_ends() {
    // libunftp ignores TYPE A and stores and sends bytes as they are, so what arrives on
    // disk and what the client returns show the client's own conversion.
    let server = Server::start().await;
    let config = FtpConfig { ascii: true, ..server.config(DataMode::Passive) };
    let mut s = FtpSession::connect(&Net::default(), &config).await.unwrap();
    put(&mut s, "up.txt", StoreMode::Stor, b"one\ntwo\r\nthree\n\n").await.unwrap();
    assert_eq!(server.read("up.txt"), b"one\r\ntwo\r\nthree\r\n\r\n");

    // A CRLF straddling the client's 8 KiB conversion chunk.
    let mut text = vec![b'x'; 8191];
    text.extend_from_slice(b"\r\nend\r\nlone\rcr\r");
    server.write("down.txt", &text);
    let mut want = vec![b'x'; 8191];
    want.extend_from_slice(b"\nend\nlone\rcr\r");
    assert_eq!(get(&mut s, "down.txt", 0).await.unwrap(), want);
    // Binary mode leaves the same file alone.
    let mut b = server.login(DataMode::Passive).await;
    assert_eq!(get(&mut b, "down.txt", 0).await.unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_round_trip() {
    let server = Server::start().await;
    let data = pattern(16 * 1024 * 1024);
    let want = Sha256::digest(&data);
    let mut s = server.login(DataMode::Passive).await;

    let mut up = s.store("big.bin", StoreMode::Stor).await.unwrap();
    for chunk in data.chunks(64 * 1024) {
        up.write_all(chunk).await.unwrap();
    }
    assert_eq!(s.finish(up).await.unwrap().bytes, data.len() as u64);
    assert_eq!(Sha256::digest(server.read("big.bin")), want);

    let mut down = s.retrieve("big.bin", 0).await.unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = down.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n;
    }
    s.finish(down).await.unwrap();
    assert_eq!(total, data.len());
    assert_eq!(hasher.finalize(), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retr_of_a_missing_file_is_an_error() {
    // libunftp answers 150 and then 550; that must not look like an empty download.
    let server = Server::start().await;
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut s = server.login(mode).await;
        match get(&mut s, "missing.bin", 0).await {
            Err(FtpError::Rejected { step: Step::Retr, reply }) => assert_eq!(reply.code, 550),
            other => panic!("{mode:?}: {other:?}"),
        }
        // The session goes on.
        assert_eq!(s.noop().await.unwrap().code, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_shows_the_conversation_with_the_password_masked() {
    let server = Server::start().await;
    let lines = Arc::new(Mutex::new(Vec::<TraceLine>::new()));
    let sink = lines.clone();
    let config =
        FtpConfig { trace: Some(Arc::new(move |l| sink.lock().unwrap().push(l))), ..server.config(DataMode::Passive) };
    let s = FtpSession::connect(&Net::default(), &config).await.unwrap();
    s.quit().await.unwrap();
    let lines = lines.lock().unwrap();
    let sent: Vec<_> = lines.iter().filter(|l| l.direction == Direction::Sent).map(|l| l.text.as_str()).collect();
    assert_eq!(sent, ["USER ftptest", "PASS ****", "TYPE I", "QUIT"]);
    assert!(lines.iter().any(|l| l.direction == Direction::Received && l.text.starts_with("230")));
    assert!(lines.iter().all(|l| !l.text.contains(PASSWORD)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_with_cr_or_lf_are_refused_before_sending() {
    let server = Server::start().await;
    let mut s = server.login(DataMode::Passive).await;
    assert!(matches!(s.retrieve("a\r\nDELE b", 0).await, Err(FtpError::InvalidArgument(_))));
    assert!(matches!(s.dele("x\ny").await, Err(FtpError::InvalidArgument(_))));
    assert!(matches!(s.rename("ok", "bad\r").await, Err(FtpError::InvalidArgument(_))));
    // Nothing half-sent: the session still answers in step.
    assert_eq!(s.noop().await.unwrap().code, 200);
}

#[tokio::test]
async fn refused_port_and_unresolvable_host() {
    let config = FtpConfig::new("127.0.0.1", free_port(), "u", "p");
    assert!(matches!(FtpSession::connect(&Net::default(), &config).await, Err(FtpError::Net(NetError::Refused(_)))));
    let config = FtpConfig::new("ftp.example.invalid", 21, "u", "p");
    assert!(matches!(FtpSession::connect(&Net::default(), &config).await, Err(FtpError::Net(NetError::Dns(_)))));
}

// ---------------------------------------------------------------------------------------------
// Against the scripted fake server

#[tokio::test]
async fn greeting_120_then_220_and_multi_line_replies() {
    let fake = FakeFtp::start(|mut c| async move {
        c.reply("120 wait a moment").await;
        c.raw(b"220-Welcome\r\n220-to the\r\n220 fake server\r\n").await;
        c.expect("USER u").await;
        c.reply("230 no password needed").await;
        c.expect("TYPE I").await;
        c.reply("200 ok").await;
        c.expect("PWD").await;
        // The terminal line's code differs from the opening one (glFTPd does this).
        c.raw(b"257-\"/a \"\"q\"\" dir\" is current\r\n 257 padded line\r\n250 done\r\n").await;
        c.expect("SYST").await;
        c.reply("215").await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    assert_eq!(s.pwd().await.unwrap(), "/a \"q\" dir");
    assert_eq!(s.syst().await.unwrap(), "");
    fake.done().await;
}

#[tokio::test]
async fn refused_user_and_account_requests() {
    for (code, text) in [(530, "530 not allowed"), (332, "332 need account")] {
        let fake = FakeFtp::start(move |mut c| async move {
            c.reply("220 hi").await;
            c.expect("USER u").await;
            c.reply(text).await;
        })
        .await;
        match FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await {
            Err(FtpError::Rejected { step: Step::User, reply }) => assert_eq!(reply.code, code),
            other => panic!("{other:?}"),
        }
        fake.done().await;
    }
}

#[tokio::test]
async fn refused_greeting_and_type() {
    let fake = FakeFtp::start(|mut c| async move { c.reply("421 too many users").await }).await;
    let err = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap_err();
    assert!(matches!(err, FtpError::Rejected { step: Step::Greeting, .. }), "{err:?}");
    fake.done().await;

    let fake = FakeFtp::start(|mut c| async move {
        c.reply("220 hi").await;
        c.expect("USER u").await;
        c.reply("331 pw").await;
        c.expect("PASS p").await;
        c.reply("230 in").await;
        c.expect("TYPE A").await;
        c.reply("504 no ASCII here").await;
    })
    .await;
    let config = FtpConfig { ascii: true, ..fake_config(fake.addr) };
    let err = FtpSession::connect(&Net::default(), &config).await.unwrap_err();
    assert!(matches!(err, FtpError::Rejected { step: Step::Type, .. }), "{err:?}");
    fake.done().await;
}

#[tokio::test]
async fn epsv_rejected_falls_back_to_pasv_for_the_session() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        for round in 0..2 {
            if round == 0 {
                c.expect("EPSV").await;
                c.reply("500 EPSV not understood").await;
            }
            c.expect("PASV").await;
            let data = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = data.local_addr().unwrap().port();
            // An unreachable announced address: the client must use the control peer's.
            c.reply(&format!("227 Entering Passive Mode (10,255,255,1,{},{})", port >> 8, port & 0xFF)).await;
            c.expect("LIST").await;
            let mut stream = accept(&data).await;
            c.reply("150 here it comes").await;
            stream.write_all(format!("line {round}\r\n").as_bytes()).await.unwrap();
            drop(stream);
            c.reply("226 done").await;
        }
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    for round in 0..2 {
        let mut stream = s.list("").await.unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, format!("line {round}\r\n"));
        s.finish(stream).await.unwrap();
    }
    fake.done().await;
}

#[tokio::test]
async fn a_426_after_data_is_a_broken_transfer() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let data = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("150 sending").await;
        let mut stream = accept(&data).await;
        stream.write_all(b"partial").await.unwrap();
        drop(stream);
        c.reply("426 connection closed; transfer aborted").await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    match get(&mut s, "f", 0).await {
        Err(FtpError::TransferBroken { step: Step::Retr, fault: TransferFault::Reply(r) }) => assert_eq!(r.code, 426),
        other => panic!("{other:?}"),
    }
    fake.done().await;
}

#[tokio::test]
async fn rest_refused_and_425_and_150_then_550() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let _data = c.epsv().await;
        c.expect("REST 10").await;
        c.reply("502 REST not implemented").await;
        let _data = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("425 cannot open data connection").await;
        let data = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("150 opening").await;
        drop(accept(&data).await);
        c.reply("550 no such file").await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    assert!(matches!(s.retrieve("f", 10).await, Err(FtpError::Rejected { step: Step::Rest, .. })));
    let err = s.retrieve("f", 0).await.unwrap_err();
    assert!(matches!(err, FtpError::DataConnect { passive: true, .. }), "{err:?}");
    let err = get(&mut s, "f", 0).await.unwrap_err();
    assert!(matches!(&err, FtpError::Rejected { step: Step::Retr, reply } if reply.code == 550), "{err:?}");
    fake.done().await;
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let fake = FakeFtp::start(|mut c| async move {
        // Never greets; waits for the client to give up.
        assert_eq!(c.command().await, "");
    })
    .await;
    let started = tokio::time::Instant::now();
    let err = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap_err();
    assert!(matches!(err, FtpError::Timeout(Step::Greeting)), "{err:?}");
    assert!(err.is_timeout());
    assert!(started.elapsed() < Duration::from_secs(3));
    fake.done().await;

    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        c.expect("NOOP").await;
        assert_eq!(c.command().await, "");
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    assert!(matches!(s.noop().await, Err(FtpError::Timeout(Step::Noop))));
    drop(s);
    fake.done().await;
}

#[tokio::test]
async fn a_stalled_download_times_out() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let data = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("150 sending").await;
        let mut stream = accept(&data).await;
        stream.write_all(b"some").await.unwrap();
        // Stall with the data connection open until the client gives up and quits.
        c.expect("QUIT").await;
        c.reply("221 bye").await;
        drop(stream);
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    let mut stream = s.retrieve("f", 0).await.unwrap();
    let mut data = Vec::new();
    let started = tokio::time::Instant::now();
    let e = stream.read_to_end(&mut data).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(data, b"some");
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = s.broken(e);
    assert!(matches!(err, FtpError::TransferBroken { step: Step::Retr, fault: TransferFault::Stalled }), "{err:?}");
    assert!(err.is_timeout());
    // Finishing the failed stream reports the same thing without waiting for a reply.
    let err = s.finish(stream).await.unwrap_err();
    assert!(matches!(err, FtpError::TransferBroken { fault: TransferFault::Stalled, .. }), "{err:?}");
    s.quit().await.unwrap();
    fake.done().await;
}

#[tokio::test]
async fn an_abandoned_download_does_not_confuse_the_next_command() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let data = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("150 sending").await;
        let mut stream = accept(&data).await;
        // Write until the client closes the data connection.
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..1024 {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
        c.reply("426 transfer aborted").await;
        c.expect("NOOP").await;
        c.reply("200 still here").await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    let mut stream = s.retrieve("f", 0).await.unwrap();
    let mut buf = [0; 1000];
    stream.read_exact(&mut buf).await.unwrap();
    drop(stream);
    let reply = s.noop().await.unwrap();
    assert_eq!(reply.text(), "still here");
    fake.done().await;
}

#[tokio::test]
async fn downloads_are_pulled_by_the_reader() {
    const TOTAL: u64 = 64 * 1024 * 1024;
    let written = Arc::new(AtomicU64::new(0));
    let progress = written.clone();
    let fake = FakeFtp::start(move |mut c| async move {
        c.login().await;
        let data = c.epsv().await;
        c.expect("RETR big").await;
        c.reply("150 sending").await;
        let mut stream = accept(&data).await;
        let chunk = vec![0x5A; 64 * 1024];
        while progress.load(Ordering::SeqCst) < TOTAL {
            stream.write_all(&chunk).await.unwrap();
            progress.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        drop(stream);
        c.reply("226 done").await;
    })
    .await;
    let config = FtpConfig {
        timeouts: FtpTimeouts { idle: Duration::from_secs(5), ..short_timeouts() },
        ..fake_config(fake.addr)
    };
    let mut s = FtpSession::connect(&Net::default(), &config).await.unwrap();
    let mut stream = s.retrieve("big", 0).await.unwrap();
    // Not reading: the server can only fill the socket buffers, not vmodem's memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stuck = written.load(Ordering::SeqCst);
    // Socket buffers hold a few MiB; a client that buffered on its own would have taken far
    // more in this time on loopback.
    assert!(stuck < 16 * 1024 * 1024, "server wrote {stuck} bytes nobody read");
    let mut total = 0u64;
    let mut buf = vec![0; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    assert_eq!(total, TOTAL);
    assert_eq!(s.finish(stream).await.unwrap().bytes, TOTAL);
    fake.done().await;
}

#[tokio::test]
async fn an_unparseable_reply_is_malformed() {
    let fake = FakeFtp::start(|mut c| async move { c.reply("hello, this is not FTP").await }).await;
    let err = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap_err();
    assert!(matches!(err, FtpError::Malformed(_)), "{err:?}");
    fake.done().await;

    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        c.expect("SIZE f").await;
        c.reply("213 lots").await;
        c.expect("MDTM f").await;
        c.reply("213 2024-01-02").await;
        c.expect("MDTM g").await;
        c.reply("213 20240102030405.123").await;
        c.expect("EPSV").await;
        c.reply("229 Entering Extended Passive Mode").await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    assert!(matches!(s.size("f").await, Err(FtpError::Malformed(_))));
    assert!(matches!(s.mdtm("f").await, Err(FtpError::Malformed(_))));
    assert_eq!(s.mdtm("g").await.unwrap(), "20240102030405");
    assert!(matches!(s.list("").await, Err(FtpError::Malformed(_))));
    fake.done().await;
}

#[tokio::test]
async fn an_endless_reply_fails_instead_of_growing() {
    let sent = Arc::new(AtomicU64::new(0));
    let progress = sent.clone();
    let fake = FakeFtp::start(move |mut c| async move {
        c.raw(b"220-an endless banner\r\n").await;
        let line = [b"220-".as_slice(), &[b'x'; 1020], b"\r\n"].concat();
        // Until the client hangs up (bounded in case it never does).
        for _ in 0..64 * 1024 {
            if c.try_raw(&line).await.is_err() {
                break;
            }
            progress.fetch_add(line.len() as u64, Ordering::SeqCst);
        }
    })
    .await;
    let err = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap_err();
    assert!(matches!(&err, FtpError::Malformed(text) if text.contains("longer than")), "{err:?}");
    fake.done().await;
    assert!(sent.load(Ordering::SeqCst) < 16 * 1024 * 1024);
}

#[tokio::test]
async fn the_server_hanging_up_is_control_closed() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        c.expect("NOOP").await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    assert!(matches!(s.noop().await, Err(FtpError::ControlClosed)));
    fake.done().await;
}

#[tokio::test]
async fn active_mode_over_ipv6_uses_eprt() {
    let Ok(fake) = FakeFtp::start_on("::1", |mut c| async move {
        c.login().await;
        let eprt = c.command().await;
        let port: u16 = eprt
            .strip_prefix("EPRT |2|::1|")
            .and_then(|rest| rest.strip_suffix('|'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{eprt}"));
        c.reply("200 EPRT ok").await;
        c.expect("STOR up").await;
        let mut stream = tokio::net::TcpStream::connect(("::1", port)).await.unwrap();
        c.reply("150 go ahead").await;
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"over six");
        c.reply("226 stored").await;
    })
    .await
    else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let config = FtpConfig { mode: DataMode::Active, ..fake_config(fake.addr) };
    let mut s = FtpSession::connect(&Net::default(), &config).await.unwrap();
    assert_eq!(put(&mut s, "up", StoreMode::Stor, b"over six").await.unwrap().bytes, 8);
    fake.done().await;
}

#[tokio::test]
async fn active_mode_takes_the_data_connection_only_from_the_server() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let port = c.command().await;
        let (ip, port) = port_target(&port).unwrap_or_else(|| panic!("{port}"));
        c.reply("200 PORT ok").await;
        c.expect("RETR f").await;
        c.reply("150 sending").await;
        // A third party on another loopback address gets there first; the client closes its
        // connection without reading.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 2], 0))).unwrap();
        let mut intruder = socket.connect(SocketAddr::new(ip, port)).await.unwrap();
        intruder.write_all(b"injected contents").await.unwrap();
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(2), intruder.read_to_end(&mut rest)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the intruder's connection stayed open: {closed:?}");
        // The server's own connection, from the control connection's address, is taken.
        let mut stream = tokio::net::TcpStream::connect(SocketAddr::new(ip, port)).await.unwrap();
        stream.write_all(b"the real file").await.unwrap();
        drop(stream);
        c.reply("226 done").await;
    })
    .await;
    let config = FtpConfig { mode: DataMode::Active, ..fake_config(fake.addr) };
    let mut s = FtpSession::connect(&Net::default(), &config).await.unwrap();
    assert_eq!(get(&mut s, "f", 0).await.unwrap(), b"the real file");
    fake.done().await;
}

/// The address and port of a `PORT h1,h2,h3,h4,p1,p2` command.
fn port_target(command: &str) -> Option<(std::net::IpAddr, u16)> {
    let n: Vec<u8> = command.strip_prefix("PORT ")?.split(',').map(|n| n.parse().ok()).collect::<Option<_>>()?;
    let [a, b, c, d, p1, p2] = n[..] else { return None };
    Some((std::net::Ipv4Addr::new(a, b, c, d).into(), u16::from(p1) << 8 | u16::from(p2)))
}

#[tokio::test]
async fn a_stalled_upload_times_out() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let data = c.epsv().await;
        c.expect("STOR f").await;
        c.reply("150 send it").await;
        // Accept but never read, until the client hangs up.
        let _stream = accept(&data).await;
        assert_eq!(c.command().await, "");
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    let mut stream = s.store("f", StoreMode::Stor).await.unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let started = tokio::time::Instant::now();
    let mut error = None;
    for _ in 0..1024 {
        if let Err(e) = stream.write_all(&chunk).await {
            error = Some(e);
            break;
        }
    }
    assert_eq!(error.expect("writes must stop").kind(), std::io::ErrorKind::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = s.finish(stream).await.unwrap_err();
    assert!(matches!(err, FtpError::TransferBroken { step: Step::Stor, fault: TransferFault::Stalled }), "{err:?}");
    drop(s);
    fake.done().await;
}

#[tokio::test]
async fn abandoning_a_session_mid_transfer_closes_both_connections() {
    let fake = FakeFtp::start(|mut c| async move {
        c.login().await;
        let data = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("150 sending").await;
        let mut stream = accept(&data).await;
        stream.write_all(b"first part").await.unwrap();
        // Both connections close, without QUIT.
        assert_eq!(c.command().await, "");
        let mut rest = Vec::new();
        assert!(matches!(stream.read_to_end(&mut rest).await, Ok(0) | Err(_)));
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(fake.addr)).await.unwrap();
    let mut stream = s.retrieve("f", 0).await.unwrap();
    let mut buf = [0; 5];
    stream.read_exact(&mut buf).await.unwrap();
    drop(stream);
    drop(s);
    tokio::time::timeout(Duration::from_secs(2), fake.done()).await.expect("the fake server saw both closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_embedded_server_ends_its_sessions() {
    let server = Server::start().await;
    let addr = server.ftp.addr();
    let mut s = server.login(DataMode::Passive).await;
    drop(server);
    // Sessions end shortly after the drop (task cancellation is asynchronous): a command in
    // flight at that moment may still be answered, but not for long.
    let mut result = s.noop().await;
    for _ in 0..100 {
        if result.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        result = s.noop().await;
    }
    let err = result.unwrap_err();
    assert!(matches!(err, FtpError::ControlClosed | FtpError::Io(_)), "{err:?}");
    let config = FtpConfig::new(addr.ip().to_string(), addr.port(), USER, PASSWORD);
    assert!(matches!(FtpSession::connect(&Net::default(), &config).await, Err(FtpError::Net(NetError::Refused(_)))));
}
