//! Transports against real clients: a host opening the PTY symlink as a serial port, TCP
//! connections, and a child process whose stdin is a terminal.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::OFlags;
use rustix::termios::{ControlModes, OptionalActions, SpecialCodeIndex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use vmodem::transport::pty::{self, LineSettings};
use vmodem::transport::{Link, Links, tcp};

use crate::support::board;

use board::{T, expect_bytes};

async fn next_link(links: &mut Links) -> Link {
    timeout(T, links.next()).await.expect("no link within the timeout").expect("transport ended")
}

async fn read_n(link: &mut Link, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    timeout(T, link.read_exact(&mut buf)).await.expect("link read timed out").expect("link read failed");
    buf
}

async fn expect_eof(link: &mut Link) {
    let mut buf = [0u8; 16];
    let n = timeout(T, link.read(&mut buf)).await.expect("no EOF within the timeout").expect("read failed");
    assert_eq!(n, 0, "expected EOF, got {:?}", &buf[..n]);
}

/// A host on the slave side of the PTY, doing blocking IO on tokio's blocking pool.
struct Host {
    file: Arc<File>,
}

impl Host {
    /// Opens `path` as a serial port, raw, with reads that give up after 0.2 s of silence.
    async fn open(path: &Path) -> Host {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(OFlags::NOCTTY.bits() as i32)
                .open(&path)
                .expect("host cannot open the PTY");
            let mut t = rustix::termios::tcgetattr(&file).unwrap();
            t.make_raw();
            t.special_codes[SpecialCodeIndex::VMIN] = 0;
            t.special_codes[SpecialCodeIndex::VTIME] = 2;
            rustix::termios::tcsetattr(&file, OptionalActions::Now, &t).unwrap();
            Host { file: Arc::new(file) }
        })
        .await
        .unwrap()
    }

    fn set_line(&self, baud: u32, data: ControlModes, parity: bool, two_stop: bool) {
        let mut t = rustix::termios::tcgetattr(&*self.file).unwrap();
        t.set_speed(baud).unwrap();
        t.control_modes -= ControlModes::CSIZE | ControlModes::PARENB | ControlModes::CSTOPB;
        t.control_modes |= data;
        if parity {
            t.control_modes |= ControlModes::PARENB;
        }
        if two_stop {
            t.control_modes |= ControlModes::CSTOPB;
        }
        rustix::termios::tcsetattr(&*self.file, OptionalActions::Now, &t).unwrap();
    }

    async fn write(&self, data: &'static [u8]) {
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || (&*file).write_all(data).expect("host write failed")).await.unwrap();
    }

    /// Reads until `n` bytes have arrived or `T` has passed.
    async fn read_n(&self, n: usize) -> Vec<u8> {
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + T;
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while got.len() < n && Instant::now() < deadline {
                let k = (&*file).read(&mut buf[..(n - got.len()).min(256)]).expect("host read failed");
                got.extend_from_slice(&buf[..k]);
            }
            got
        })
        .await
        .unwrap()
    }

    /// Whatever arrives within 0.2 s.
    async fn read_pending(&self) -> Vec<u8> {
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || {
            let mut buf = [0u8; 256];
            let k = (&*file).read(&mut buf).expect("host read failed");
            buf[..k].to_vec()
        })
        .await
        .unwrap()
    }
}

fn tty_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("ttyV0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_symlink_points_at_the_slave_and_goes_away_with_the_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, handle) = pty::open(&path).await.unwrap();

    assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    let target = std::fs::read_link(&path).unwrap();
    assert_eq!(target, handle.pts_path());
    let n = target.to_str().unwrap().strip_prefix("/dev/pts/").expect("target is not under /dev/pts");
    assert!(n.parse::<u32>().is_ok(), "{target:?}");
    assert_eq!(handle.path(), path);

    drop(handle);
    assert!(std::fs::symlink_metadata(&path).is_err(), "symlink still there after the handle dropped");
    let end = timeout(T, links.next()).await.expect("link stream did not end");
    assert!(end.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_no_link_until_a_host_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, _handle) = pty::open(&path).await.unwrap();
    assert!(timeout(Duration::from_millis(400), links.next()).await.is_err(), "a link appeared with no host");
    let host = Host::open(&path).await;
    let mut link = next_link(&mut links).await;
    host.write(b"AT\r").await;
    assert_eq!(read_n(&mut link, 3).await, b"AT\r");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_round_trip_and_a_new_link_per_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, _handle) = pty::open(&path).await.unwrap();

    let host = Host::open(&path).await;
    let mut first = next_link(&mut links).await;
    host.write(b"AT\r").await;
    assert_eq!(read_n(&mut first, 3).await, b"AT\r");
    first.write_all(b"\r\nOK\r\n").await.unwrap();
    assert_eq!(host.read_n(6).await, b"\r\nOK\r\n");

    drop(host);
    expect_eof(&mut first).await;
    // Writes after the host left are dropped, not errors.
    first.write_all(b"\r\n+URC: lost\r\n").await.unwrap();
    first.flush().await.unwrap();
    expect_eof(&mut first).await;

    let host = Host::open(&path).await;
    let mut second = next_link(&mut links).await;
    host.write(b"ATI\r").await;
    assert_eq!(read_n(&mut second, 4).await, b"ATI\r");
    second.write_all(b"\r\nSIM7080\r\n").await.unwrap();
    // Nothing written to the first link reaches the second host.
    assert_eq!(host.read_n(11).await, b"\r\nSIM7080\r\n");
    assert!(host.read_pending().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_reply_the_old_host_never_read_is_not_shown_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, _handle) = pty::open(&path).await.unwrap();

    let host = Host::open(&path).await;
    let mut first = next_link(&mut links).await;
    first.write_all(b"unread while open").await.unwrap();
    drop(host);
    // The link has not noticed the hang-up yet, so these bytes still reach the kernel's queue.
    first.write_all(b"written after close").await.unwrap();
    expect_eof(&mut first).await;

    let host = Host::open(&path).await;
    let mut second = next_link(&mut links).await;
    second.write_all(b"fresh").await.unwrap();
    assert_eq!(host.read_n(5).await, b"fresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_host_reopening_before_the_link_reads_gets_a_new_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, _handle) = pty::open(&path).await.unwrap();

    let host = Host::open(&path).await;
    let mut first = next_link(&mut links).await;
    first.write_all(b"for the first host").await.unwrap();
    drop(host);
    // Let the reactor see the hang-up (had the reopen come first, the old link would simply carry
    // on with the new host, which is fine but not what this test is about).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let host = Host::open(&path).await;
    host.write(b"AT\r").await;
    // The slave is open again, but it is a new session: the old link ends without the new
    // host's bytes, and a new one begins with them.
    expect_eof(&mut first).await;
    let mut second = next_link(&mut links).await;
    assert_eq!(read_n(&mut second, 3).await, b"AT\r");
    second.write_all(b"OK").await.unwrap();
    assert_eq!(host.read_n(2).await, b"OK");
    assert!(host.read_pending().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_last_bytes_before_a_hang_up_reach_the_old_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, _handle) = pty::open(&path).await.unwrap();

    let host = Host::open(&path).await;
    let mut first = next_link(&mut links).await;
    host.write(b"ATH\r").await;
    drop(host);
    // The reactor sees the hang-up before the link reads; the slave stays closed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(read_n(&mut first, 4).await, b"ATH\r");
    expect_eof(&mut first).await;
    assert!(timeout(Duration::from_millis(300), links.next()).await.is_err(), "a link appeared with no host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_bytes_sent_just_before_close_are_delivered_then_eof() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, _handle) = pty::open(&path).await.unwrap();

    // Open, write and close before the transport's next poll: the link still gets the bytes.
    let host = Host::open(&path).await;
    host.write(b"AT+CFUN=1,1\r").await;
    drop(host);
    let mut link = next_link(&mut links).await;
    assert_eq!(read_n(&mut link, 12).await, b"AT+CFUN=1,1\r");
    expect_eof(&mut link).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_line_settings_follow_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (mut links, handle) = pty::open(&path).await.unwrap();
    assert_eq!(handle.line_settings().unwrap(), LineSettings { baud: 115_200, bits_per_char: 10 });

    let host = Host::open(&path).await;
    let _link = next_link(&mut links).await;
    host.set_line(9600, ControlModes::CS8, false, false);
    let settings = handle.line_settings().unwrap();
    assert_eq!(settings, LineSettings { baud: 9600, bits_per_char: 10 });
    assert_eq!(settings.chars_per_second(), 960);

    // 7E2 is 11 bits a character. (Linux's PTY driver stores it as 8N2, also 11 bits: see below.)
    host.set_line(9600, ControlModes::CS7, true, true);
    assert_eq!(handle.line_settings().unwrap(), LineSettings { baud: 9600, bits_per_char: 11 });

    // A non-standard speed (BOTHER), read through the cloneable source, which agrees with the
    // termios the host itself reads back.
    host.set_line(250_000, ControlModes::CS8, false, false);
    let source = handle.settings_source();
    assert_eq!(source.line_settings().unwrap(), LineSettings { baud: 250_000, bits_per_char: 10 });
    host.set_line(250_000, ControlModes::CS8, true, false);
    let host_view = rustix::termios::tcgetattr(&*host.file).unwrap();
    assert_eq!(source.line_settings().unwrap(), LineSettings::from_termios(&host_view));
}

#[test]
fn line_settings_count_start_data_parity_and_stop_bits() {
    // Linux's PTY driver forces CS8 and clears PARENB on every tcsetattr, so frames other than
    // 8N1/8N2 cannot be set on a PTY; check the arithmetic on a termios directly.
    let pty = rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY).unwrap();
    let mut t = rustix::termios::tcgetattr(&pty).unwrap();
    let mut frame = |data: ControlModes, parity: bool, two_stop: bool| {
        t.control_modes -= ControlModes::CSIZE | ControlModes::PARENB | ControlModes::CSTOPB;
        t.control_modes |= data;
        t.control_modes.set(ControlModes::PARENB, parity);
        t.control_modes.set(ControlModes::CSTOPB, two_stop);
        LineSettings::from_termios(&t).bits_per_char
    };
    assert_eq!(frame(ControlModes::CS8, false, false), 10);
    assert_eq!(frame(ControlModes::CS8, true, false), 11);
    assert_eq!(frame(ControlModes::CS8, false, true), 11);
    assert_eq!(frame(ControlModes::CS7, true, true), 11);
    assert_eq!(frame(ControlModes::CS7, true, false), 10);
    assert_eq!(frame(ControlModes::CS7, false, false), 9);
    assert_eq!(frame(ControlModes::CS6, false, false), 8);
    assert_eq!(frame(ControlModes::CS5, false, false), 7);
    assert_eq!(LineSettings { baud: 0, bits_per_char: 10 }.chars_per_second(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_refuses_to_replace_a_file_or_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ttyV0");
    std::fs::write(&file, b"precious").unwrap();
    let err = pty::open(&file).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("not a symlink"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");

    let sub = dir.path().join("ttyV1");
    std::fs::create_dir(&sub).unwrap();
    let err = pty::open(&sub).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(sub.is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_replaces_a_leftover_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    std::os::unix::fs::symlink("/dev/pts/does-not-exist", &path).unwrap();
    let (mut links, handle) = pty::open(&path).await.unwrap();
    assert_eq!(std::fs::read_link(&path).unwrap(), handle.pts_path());

    let host = Host::open(&path).await;
    let mut link = next_link(&mut links).await;
    link.write_all(b"OK").await.unwrap();
    assert_eq!(host.read_n(2).await, b"OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_handle_leaves_a_symlink_someone_else_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (_links, handle) = pty::open(&path).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/null", &path).unwrap();
    drop(handle);
    assert_eq!(std::fs::read_link(&path).unwrap(), Path::new("/dev/null"));
}

#[tokio::test]
async fn tcp_bytes_both_ways_and_a_new_link_per_connection() {
    let (mut links, addr) = tcp::listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_ne!(addr.port(), 0);

    let mut host1 = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut link1 = next_link(&mut links).await;
    host1.write_all(b"AT\r").await.unwrap();
    assert_eq!(read_n(&mut link1, 3).await, b"AT\r");
    link1.write_all(b"\r\nOK\r\n").await.unwrap();
    let mut buf = [0u8; 6];
    timeout(T, host1.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"\r\nOK\r\n");

    let mut host2 = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut link2 = next_link(&mut links).await;
    host2.write_all(b"ATE0\r").await.unwrap();
    assert_eq!(read_n(&mut link2, 5).await, b"ATE0\r");
    link2.write_all(b"\r\nOK\r\n").await.unwrap();
    timeout(T, host2.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"\r\nOK\r\n");

    // The first host is still its own connection, and its close reads as EOF.
    drop(host1);
    expect_eof(&mut link1).await;
}

#[tokio::test]
async fn tcp_listener_stops_when_links_are_dropped() {
    let (links, addr) = tcp::listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    drop(links);
    // The accept loop notices and closes the listener; connecting then fails.
    let deadline = Instant::now() + T;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "listener still accepting after Links was dropped");
    }
}

/// Set in the environment of the child process that [`stdio_raw_terminal_round_trip_and_restore`]
/// starts; [`stdio_child`] does nothing without it.
const CHILD_ENV: &str = "VMODEM_TRANSPORT_STDIO_CHILD";

/// The stdio transport in a child process (this test binary, running only [`stdio_child`]) whose
/// stdin is a PTY slave in its default cooked mode and whose stdout is a pipe.
#[test]
fn stdio_raw_terminal_round_trip_and_restore() {
    use rustix::pty::OpenptFlags;
    use std::process::{Command, Stdio};

    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .unwrap();
    let mut master = File::from(master);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["transport::stdio_child", "--exact", "--test-threads=1", "-q"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + T;
    let mut out = Vec::new();
    let mut wait_for = |marker: &[u8]| {
        while !out.windows(marker.len()).any(|w| w == marker) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(_) => return false,
            }
        }
        true
    };
    // The prompt has no newline and is not flushed: it must arrive anyway.
    let mut ok = wait_for(b"vmodem> ");
    if ok {
        // In raw mode a lone `\r` is delivered at once, unchanged (no line editing, no ICRNL).
        master.write_all(b"AT\r").unwrap();
        ok = wait_for(b"echo:AT\r|");
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    let out = String::from_utf8_lossy(&out);
    assert!(ok && status.is_some_and(|s| s.success()), "child status {status:?}\nstdout: {out:?}\nstderr: {err}");
    drop(master);
}

/// The child side of [`stdio_raw_terminal_round_trip_and_restore`].
#[tokio::test]
async fn stdio_child() {
    use rustix::termios::{InputModes, LocalModes};
    use vmodem::transport::stdio;

    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let stdin = std::io::stdin();
    let before = rustix::termios::tcgetattr(&stdin).unwrap();
    assert!(before.local_modes.contains(LocalModes::ICANON | LocalModes::ECHO));

    let (mut link, guard) = stdio::link().unwrap();
    assert!(guard.is_raw());
    let raw = rustix::termios::tcgetattr(&stdin).unwrap();
    assert!(!raw.local_modes.intersects(LocalModes::ICANON | LocalModes::ECHO | LocalModes::IEXTEN));
    assert!(raw.local_modes.contains(LocalModes::ISIG), "Ctrl-C must still interrupt");
    assert_eq!(raw.special_codes[SpecialCodeIndex::VSUSP], 0, "Ctrl-Z must be data");
    assert!(!raw.input_modes.intersects(InputModes::ICRNL | InputModes::IXON));

    link.write_all(b"vmodem> ").await.unwrap();
    let got = read_n(&mut link, 3).await;
    link.write_all(b"echo:").await.unwrap();
    link.write_all(&got).await.unwrap();
    link.write_all(b"|").await.unwrap();
    link.flush().await.unwrap();

    drop(guard);
    let after = rustix::termios::tcgetattr(&stdin).unwrap();
    assert_eq!(after.local_modes, before.local_modes);
    assert_eq!(after.input_modes, before.input_modes);
    assert_eq!(after.output_modes, before.output_modes);
    assert_eq!(after.control_modes, before.control_modes);
    assert_eq!(after.special_codes[SpecialCodeIndex::VSUSP], before.special_codes[SpecialCodeIndex::VSUSP]);
}

// ---------------------------------------------------------------------------------------------
// Unix sockets, dialling out, telnet openings

#[tokio::test]
async fn unix_socket_round_trip_and_a_leftover_socket_is_replaced() {
    use vmodem::transport::unix;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modem.sock");
    // A socket file nobody listens on, as a killed run leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let (mut links, handle) = unix::listen(&path).unwrap();

    let mut host = tokio::net::UnixStream::connect(&path).await.unwrap();
    let mut link = next_link(&mut links).await;
    host.write_all(b"AT\r").await.unwrap();
    assert_eq!(read_n(&mut link, 3).await, b"AT\r");
    link.write_all(b"\r\nOK\r\n").await.unwrap();
    expect_bytes(&mut host, b"\r\nOK\r\n").await;
    drop(host);
    expect_eof(&mut link).await;

    drop(handle);
    assert!(!path.exists(), "the socket file outlived its handle");
    std::fs::write(&path, b"precious").unwrap();
    assert_eq!(unix::listen(&path).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn connect_retries_until_the_server_is_up_and_redials_when_it_drops() {
    use vmodem::transport::connect::{self, Endpoint};

    // A port with nothing on it: the first dials are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut links = connect::connect(Endpoint::Tcp(format!("127.0.0.1:{port}")), true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();

    for round in 0..2 {
        let (mut emulator, _) = timeout(T, server.accept()).await.expect("no redial").unwrap();
        let mut link = next_link(&mut links).await;
        // A silent server: after the telnet probe the link is plain.
        emulator.write_all(b"AT\r").await.unwrap();
        assert_eq!(read_n(&mut link, 3).await, b"AT\r");
        link.write_all(&[0xff, b'0' + round]).await.unwrap();
        expect_bytes(&mut emulator, &[0xff, b'0' + round]).await;
        // The emulator restarts: the link ends, and vmodem dials again.
        drop(emulator);
        expect_eof(&mut link).await;
    }
}

#[tokio::test]
async fn connect_dials_a_unix_socket() {
    use vmodem::transport::connect::{self, Endpoint};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qemu.sock");
    let server = tokio::net::UnixListener::bind(&path).unwrap();
    let mut links = connect::connect(Endpoint::Unix(path.clone()), false);
    let (mut emulator, _) = timeout(T, server.accept()).await.unwrap().unwrap();
    let mut link = next_link(&mut links).await;
    link.write_all(b"\r\nRDY\r\n").await.unwrap();
    expect_bytes(&mut emulator, b"\r\nRDY\r\n").await;
}

#[tokio::test]
async fn telnet_opening_from_qemu_is_answered_and_0xff_is_doubled_towards_it() {
    use vmodem::transport::telnet::{self, QEMU_OPENING};

    let (near, mut qemu) = tokio::io::duplex(4096);
    qemu.write_all(&QEMU_OPENING).await.unwrap();
    qemu.write_all(b"AT\r\xff\xfb").await.unwrap();
    let mut link = telnet::open(near).await.unwrap();
    // DONT ECHO, DO SGA, DO BINARY, WILL BINARY.
    expect_bytes(&mut qemu, &[0xff, 0xfe, 1, 0xff, 0xfd, 3, 0xff, 0xfd, 0, 0xff, 0xfb, 0]).await;
    // The guest's bytes arrive as they are (QEMU does not escape them), 0xFF included.
    assert_eq!(read_n(&mut link, 5).await, b"AT\r\xff\xfb");
    // QEMU undoubles what it receives, so a data 0xFF goes out doubled.
    link.write_all(&[1, 0xff, 0xff, 2]).await.unwrap();
    link.flush().await.unwrap();
    expect_bytes(&mut qemu, &[1, 0xff, 0xff, 0xff, 0xff, 2]).await;
}

#[tokio::test]
async fn telnet_opening_from_renode_gets_nine_bytes_and_the_line_stays_binary() {
    use vmodem::transport::telnet::{self, RENODE_OPENING};

    let (near, mut renode) = tokio::io::duplex(4096);
    renode.write_all(&RENODE_OPENING).await.unwrap();
    let mut link = telnet::open(near).await.unwrap();
    // WILL BINARY, DONT ECHO, DO SGA: the 9 bytes Renode reads before it starts.
    expect_bytes(&mut renode, &[0xff, 0xfb, 0, 0xff, 0xfe, 1, 0xff, 0xfd, 3]).await;
    link.write_all(&[0xff, 0x00]).await.unwrap();
    expect_bytes(&mut renode, &[0xff, 0x00]).await;
    renode.write_all(&[0xff, 0xfd, 0x01]).await.unwrap();
    assert_eq!(read_n(&mut link, 3).await, [0xff, 0xfd, 0x01], "data after the opening is not negotiation");
}

#[tokio::test]
async fn telnet_probe_passes_a_plain_host_through() {
    use vmodem::transport::telnet;

    let (near, mut host) = tokio::io::duplex(4096);
    host.write_all(b"ATI\r").await.unwrap();
    let mut link = telnet::open(near).await.unwrap();
    assert_eq!(read_n(&mut link, 4).await, b"ATI\r");
    link.write_all(&[0xff]).await.unwrap();
    expect_bytes(&mut host, &[0xff]).await;
}

// ---------------------------------------------------------------------------------------------
// Pacing

mod pacing {
    use tokio::io::DuplexStream;
    use vmodem::dialect;
    use vmodem::modem::Modem;
    use vmodem::net::{Net, NetConfig};
    use vmodem::transport::line::{self, Line, LineOptions};
    use vmodem::transport::pacing::{AHEAD, CATCH_UP, LineSpeed, Pacing, RECHECK, Speed};

    use super::*;
    use crate::support::board::{BOOT, board_read, board_write};

    /// The wire time of `n` characters at `baud`, 8N1.
    fn wire(n: usize, baud: u32) -> Duration {
        Duration::from_secs_f64(n as f64 * 10.0 / f64::from(baud))
    }

    /// A SIM7080 on an in-memory line paced at `baud`, and the host's end of it.
    fn modem_at(baud: u32) -> (DuplexStream, LineSpeed) {
        let speed = LineSpeed::new();
        let pacing = Pacing::new(Speed::Fixed(LineSettings { baud, bits_per_char: 10 }), speed.clone());
        let (near, host) = tokio::io::duplex(1 << 16);
        let links = Links::single(Box::new(near)).map(move |link| pacing.wrap(link));
        let dialect = dialect::build(Default::default()).unwrap();
        let modem = Modem::new(dialect, Net::new(NetConfig::redirecting(vec![]))).with_line_speed(speed.clone());
        tokio::spawn(modem.run(links));
        (host, speed)
    }

    #[tokio::test(start_paused = true)]
    async fn at_ipr_answers_at_the_old_rate_then_paces_at_the_new() {
        let (mut host, speed) = modem_at(115_200);
        expect_bytes(&mut host, BOOT).await;
        host.write_all(b"ATE0\r").await.unwrap();
        expect_bytes(&mut host, b"ATE0\r\r\nOK\r\n").await;

        let start = tokio::time::Instant::now();
        host.write_all(b"AT+IPR=9600\r").await.unwrap();
        expect_bytes(&mut host, b"\r\nOK\r\n").await;
        // At 115200 the 18 bytes take 1.6 ms; the OK alone would take 6.25 ms at 9600.
        assert!(start.elapsed() <= wire(18, 115_200), "{:?}", start.elapsed());
        assert_eq!(speed.requested(), Some(LineSettings { baud: 9600, bits_per_char: 10 }));

        let answer: &[u8] = b"\r\n+IPR: (),(300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,921600,2000000,2900000,3000000,3200000,3686400,4000000)\r\n\r\nOK\r\n";
        let start = tokio::time::Instant::now();
        host.write_all(b"AT+IPR=?\r").await.unwrap();
        expect_bytes(&mut host, answer).await;
        // 9 characters in, then the answer out, at 960 characters a second; each direction may
        // run up to AHEAD early.
        let theory = wire(9 + answer.len(), 9600);
        let elapsed = start.elapsed();
        assert!(elapsed + 2 * AHEAD >= theory && elapsed <= theory + Duration::from_millis(1), "{elapsed:?}");

        // Auto-bauding goes back to the line's own speed.
        host.write_all(b"AT+IPR=0\r").await.unwrap();
        expect_bytes(&mut host, b"\r\nOK\r\n").await;
        let start = tokio::time::Instant::now();
        host.write_all(b"AT+IPR=?\r").await.unwrap();
        expect_bytes(&mut host, answer).await;
        assert!(start.elapsed() <= wire(9 + answer.len(), 115_200), "{:?}", start.elapsed());
    }

    /// Real time: the PTY is a kernel device. Bytes from the modem to a host that has set 9600,
    /// then 19200 with stty in the same session, and bytes from the host at 19200.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pty_paces_at_the_speed_the_host_sets() {
        let dir = tempfile::tempdir().unwrap();
        let path = tty_path(&dir);
        let mut open = line::open(&Line::Pty(path.clone()), LineOptions::default(), LineSpeed::new()).await.unwrap();
        let host = Host::open(&path).await;
        host.set_line(9600, ControlModes::CS8, false, false);
        let mut link = next_link(&mut open.links).await;

        for (baud, n) in [(9600, 960), (19_200, 960)] {
            host.set_line(baud, ControlModes::CS8, false, false);
            // The pacer re-reads the termios at most every RECHECK while bytes flow.
            tokio::time::sleep(RECHECK).await;
            let data = vec![b'x'; n];
            let start = Instant::now();
            let (_, got) = tokio::join!(link.write_all(&data), host.read_n(n));
            let elapsed = start.elapsed();
            assert_eq!(got.len(), n);
            assert_real_time(elapsed, wire(n, baud));
        }
        // The other way: the host writes 480 bytes at once; the modem sees them over 0.25 s.
        let start = Instant::now();
        let data: &'static [u8] = &[b'A'; 480];
        host.write(data).await;
        assert_eq!(read_n(&mut link, 480).await, data);
        assert_real_time(start.elapsed(), wire(480, 19_200));
    }

    /// On real time: never faster than theory (less what may run ahead), and within 2 % of it
    /// plus what a busy machine may add at the end. The pacer makes up for late wake-ups up to
    /// CATCH_UP, but not for the last one. (The exact figures come from paused time, in the
    /// pacer's unit tests, and from the pacing benchmark.)
    fn assert_real_time(elapsed: Duration, theory: Duration) {
        assert!(elapsed + AHEAD >= theory, "{elapsed:?} for {theory:?} of data");
        assert!(elapsed <= theory.mul_f64(1.02) + CATCH_UP, "{elapsed:?} for {theory:?} of data");
    }

    /// A PTY pair stands in for a USB-serial adapter: vmodem serves on the slave, the board is
    /// the master.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serve_on_a_serial_device() {
        let (board, device) = vmodem::transport::pty::open_master().unwrap();
        let speed = LineSpeed::new();
        let options = LineOptions { baud: Some(115_200), ..LineOptions::default() };
        let open = line::open(&Line::Serial(device), options, speed.clone()).await.unwrap();
        let dialect = dialect::build(Default::default()).unwrap();
        let modem = Modem::new(dialect, Net::new(NetConfig::redirecting(vec![]))).with_line_speed(speed);
        let task = tokio::spawn(modem.run(open.links));
        assert_eq!(board_read(&board, BOOT.len()).await, BOOT);
        board_write(&board, b"AT\r").await;
        assert_eq!(board_read(&board, 9).await, b"AT\r\r\nOK\r\n");
        task.abort();
    }
}

/// A host that closes the PTY and opens it again at once, hundreds of times, and sends one
/// command each session: every session hears its own echo and answer, and nothing else. The
/// pause before each reopen varies from none to 0.45 ms, so that some hang-ups reach the modem
/// before the reopen and some after the new host's first bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_reopened_at_once_answers_every_first_command() {
    use vmodem::dialect;
    use vmodem::modem::Modem;
    use vmodem::net::{Net, NetConfig};

    const CYCLES: u64 = 600;
    let dir = tempfile::tempdir().unwrap();
    let path = tty_path(&dir);
    let (links, _handle) = pty::open(&path).await.unwrap();
    let modem = Modem::new(dialect::build(Default::default()).unwrap(), Net::new(NetConfig::redirecting(vec![])));
    let running = tokio::spawn(modem.run(links));

    let host = tokio::task::spawn_blocking(move || {
        for cycle in 0..CYCLES {
            std::thread::sleep(Duration::from_micros(cycle % 10 * 50));
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(OFlags::NOCTTY.bits() as i32)
                .open(&path)
                .map_err(|e| format!("cycle {cycle}: cannot open the PTY: {e}"))?;
            let mut t = rustix::termios::tcgetattr(&file).map_err(|e| e.to_string())?;
            t.make_raw();
            // Reads give up after 0.1 s of silence.
            t.special_codes[SpecialCodeIndex::VMIN] = 0;
            t.special_codes[SpecialCodeIndex::VTIME] = 1;
            rustix::termios::tcsetattr(&file, OptionalActions::Now, &t).map_err(|e| e.to_string())?;
            file.write_all(b"AT\r").map_err(|e| e.to_string())?;
            let answer: &[u8] = b"AT\r\r\nOK\r\n";
            let want = if cycle == 0 { [board::BOOT, answer].concat() } else { answer.to_vec() };
            let deadline = Instant::now() + T;
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while got.len() < want.len() && Instant::now() < deadline {
                let k = file.read(&mut buf).map_err(|e| e.to_string())?;
                got.extend_from_slice(&buf[..k]);
            }
            if got != want {
                return Err(format!("cycle {cycle}: heard {:?}", String::from_utf8_lossy(&got)));
            }
        }
        Ok(())
    });
    let outcome = timeout(Duration::from_secs(40), host).await;
    running.abort();
    outcome.expect("the host did not finish within 40 s").unwrap().unwrap();
}
