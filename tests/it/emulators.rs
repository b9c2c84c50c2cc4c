//! The recipes of docs/emulators.md, end to end: the `vmodem` binary started with the recipe's
//! flags, and each emulator's side of the connection reproduced as the emulator behaves (QEMU
//! and Renode cannot run here):
//!
//! * QEMU `-serial tcp:127.0.0.1:PORT,server=on,wait=off`: a plain TCP server that accepts
//!   again after a connection ends (`vmodem serve --connect`).
//! * QEMU `-serial telnet:...` (`telnet=on`): the same, opening with QEMU's negotiation (QEMU
//!   strips the answers from what it passes to the guest).
//! * Renode `emulation CreateServerSocketTerminal PORT "name"`: opens with Renode's negotiation,
//!   reads and discards 9 bytes, then carries bytes as they are.
//! * QEMU `-serial pty` and Zephyr native_sim's UART: the emulator holds a PTY master and
//!   prints the slave's path (`vmodem serve --serial /dev/pts/N`).

use crate::support::board;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use board::{BOOT, T, board_read, board_write, expect_bytes};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use vmodem::transport::telnet::{QEMU_OPENING, RENODE_OPENING};

/// A `vmodem serve` child process, killed when the test ends.
struct Vmodem(Child);

impl Vmodem {
    fn serve(args: &[&str]) -> Vmodem {
        Vmodem::start(args, Stdio::null())
    }

    /// Serves, and passes each line vmodem logs on stderr to the returned receiver.
    fn serve_logged(args: &[&str]) -> (Vmodem, mpsc::Receiver<String>) {
        let mut vmodem = Vmodem::start(args, Stdio::piped());
        let stderr = vmodem.0.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (vmodem, rx)
    }

    fn start(args: &[&str], stderr: Stdio) -> Vmodem {
        let child = Command::new(env!("CARGO_BIN_EXE_vmodem"))
            .arg("serve")
            .args(args)
            // The default filter: warnings and errors.
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cannot start vmodem");
        Vmodem(child)
    }
}

/// The first line from `log` that contains `marker`, waiting at most [`T`].
fn log_line(log: &mpsc::Receiver<String>, marker: &str) -> String {
    let deadline = std::time::Instant::now() + T;
    loop {
        let wait = deadline.saturating_duration_since(std::time::Instant::now());
        let line = log.recv_timeout(wait).unwrap_or_else(|_| panic!("vmodem did not log {marker:?} within {T:?}"));
        if line.contains(marker) {
            return line;
        }
    }
}

impl Drop for Vmodem {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// A loopback TCP server standing in for the emulator, and its address.
async fn emulator_socket() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

async fn accept(listener: &TcpListener) -> TcpStream {
    // vmodem may still be starting, or pausing between dials.
    timeout(T, listener.accept()).await.expect("vmodem did not connect").unwrap().0
}

#[tokio::test]
async fn qemu_serial_tcp_server() {
    let (listener, addr) = emulator_socket().await;
    let _vmodem = Vmodem::serve(&["--dialect", "sim7080", "--connect", &addr]);

    let mut guest = accept(&listener).await;
    expect_bytes(&mut guest, BOOT).await;
    guest.write_all(b"ATE0\r").await.unwrap();
    expect_bytes(&mut guest, b"ATE0\r\r\nOK\r\n").await;

    // QEMU drops the connection (the chardev is reset) and accepts the next one: vmodem dials
    // again, and the modem kept its state (echo off, no second boot).
    drop(guest);
    let mut guest = accept(&listener).await;
    guest.write_all(b"AT\r").await.unwrap();
    expect_bytes(&mut guest, b"\r\nOK\r\n").await;
}

#[tokio::test]
async fn qemu_serial_telnet_server() {
    let (listener, addr) = emulator_socket().await;
    let _vmodem = Vmodem::serve(&["--dialect", "sim7080", "--connect", &addr]);

    let mut guest = accept(&listener).await;
    guest.write_all(&QEMU_OPENING).await.unwrap();
    // The answers come first (QEMU strips them: DONT ECHO, DO SGA, DO BINARY, WILL BINARY),
    // then what the guest sees.
    expect_bytes(&mut guest, &[0xff, 0xfe, 1, 0xff, 0xfd, 3, 0xff, 0xfd, 0, 0xff, 0xfb, 0]).await;
    expect_bytes(&mut guest, BOOT).await;
    guest.write_all(b"AT\r").await.unwrap();
    expect_bytes(&mut guest, b"AT\r\r\nOK\r\n").await;
}

#[tokio::test]
async fn renode_server_socket_terminal() {
    let (listener, addr) = emulator_socket().await;
    let _vmodem = Vmodem::serve(&["--dialect", "sim7080", "--connect", &addr]);

    let mut uart = accept(&listener).await;
    uart.write_all(&RENODE_OPENING).await.unwrap();
    // Renode reads 9 bytes before it starts the terminal: a telnet client's answers.
    expect_bytes(&mut uart, &[0xff, 0xfb, 0x00, 0xff, 0xfe, 0x01, 0xff, 0xfd, 0x03]).await;
    expect_bytes(&mut uart, BOOT).await;
    uart.write_all(b"AT\r").await.unwrap();
    expect_bytes(&mut uart, b"AT\r\r\nOK\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_serial_pty_and_zephyr_native_sim_uart() {
    // The emulator's PTY: it keeps the master and prints the slave's path.
    let (uart, pts) = vmodem::transport::pty::open_master().unwrap();
    let _vmodem = Vmodem::serve(&["--dialect", "sim7080", "--serial", pts.to_str().unwrap(), "--baud", "115200"]);

    assert_eq!(board_read(&uart, BOOT.len()).await, BOOT);
    board_write(&uart, b"AT+CGMM\r").await;
    let answer = b"AT+CGMM\r\r\nSIMCOM_SIM7080\r\n\r\nOK\r\n";
    assert_eq!(String::from_utf8_lossy(&board_read(&uart, answer.len()).await), String::from_utf8_lossy(answer));
}

/// A board on a USB-serial adapter that is plugged in after vmodem started: vmodem says once
/// that it waits for the device and how often it tries, and serves the board when the device
/// appears. (A PTY pair stands in for the adapter; its slave appears at the path as a symlink.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_plugged_in_after_start() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("ttyUSB0");
    let device_name = device.to_str().unwrap();
    let (_vmodem, log) = Vmodem::serve_logged(&["--dialect", "sim7080", "--serial", device_name, "--baud", "115200"]);

    let warning = log_line(&log, "waiting for it");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains(&format!("cannot open the serial device {device_name}")), "{warning}");
    assert!(warning.contains("trying again at least every 2s"), "{warning}");
    // Long enough for a few more tries, each of which stays quiet.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;

    let (board, pts) = vmodem::transport::pty::open_master().unwrap();
    std::os::unix::fs::symlink(&pts, &device).unwrap();
    assert_eq!(board_read(&board, BOOT.len()).await, BOOT);
    board_write(&board, b"AT\r").await;
    assert_eq!(board_read(&board, 9).await, b"AT\r\r\nOK\r\n");
    let again: Vec<String> = log.try_iter().filter(|line| line.contains("waiting for it")).collect();
    assert!(again.is_empty(), "the wait was announced more than once: {again:?}");
}

/// A QEMU guest under a fault plan: `--fault` entries from the command line (a dropped URC, a
/// freeze after a command), a link profile, and the control socket at run time (registration
/// lost and back, a bad profile refused), all through the real binary.
#[tokio::test]
async fn a_guest_under_a_fault_plan_and_the_control_socket() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let (listener, addr) = emulator_socket().await;
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("vmodem.ctl");
    let _vmodem = Vmodem::serve(&[
        "--dialect",
        "sim7080",
        "--connect",
        &addr,
        "--profile",
        "lte",
        "--fault",
        "kind = \"urc\", matching = \"+APP PDP: 0,ACTIVE\", drop = true",
        "--fault",
        "kind = \"freeze\", seconds = 1, when = \"AT+CSQ\"",
        "--control",
        control.to_str().unwrap(),
    ]);
    let mut guest = accept(&listener).await;
    expect_bytes(&mut guest, BOOT).await;
    guest.write_all(b"ATE0\r").await.unwrap();
    expect_bytes(&mut guest, b"ATE0\r\r\nOK\r\n").await;
    guest.write_all(b"AT+CEREG=1;+CNACT=0,1\r").await.unwrap();
    expect_bytes(&mut guest, b"\r\nOK\r\n").await;

    let mut socket = BufReader::new(tokio::net::UnixStream::connect(&control).await.expect("the control socket"));
    let mut ask = async |line: &str| {
        socket.get_mut().write_all(format!("{line}\n").as_bytes()).await.unwrap();
        let mut answer = String::new();
        timeout(T, socket.read_line(&mut answer)).await.expect("an answer").unwrap();
        answer
    };
    assert_eq!(ask("deregister").await, "OK\n");
    // The dropped +APP PDP: 0,ACTIVE never came: the first URC is the loss.
    expect_bytes(&mut guest, b"\r\n+CEREG: 2\r\n\r\n+APP PDP: 0,DEACTIVE\r\n").await;
    assert_eq!(ask("register").await, "OK\n");
    expect_bytes(&mut guest, b"\r\n+CEREG: 1\r\n").await;
    assert!(ask("profile 5g").await.starts_with("ERROR: no link profile"));

    guest.write_all(b"AT+CSQ\r").await.unwrap();
    expect_bytes(&mut guest, b"\r\n+CSQ: 27,99\r\n\r\nOK\r\n").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    guest.write_all(b"AT+CGMI\r").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    guest.write_all(b"AT\r").await.unwrap();
    expect_bytes(&mut guest, b"\r\nOK\r\n").await;
}
