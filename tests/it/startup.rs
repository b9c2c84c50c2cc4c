//! `vmodem serve` refuses to start when a path it must open is unusable, and its error names
//! the path and says what is wrong with it: the demo folder and the module file system beside
//! it, the PTY link, the Unix socket of the line, the control socket, the recording, and the TCP
//! address of the line.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::board::T;

/// Runs `vmodem serve` with `args` and returns what it printed on stderr, once it has exited
/// with a failure (within [`T`]).
fn refused(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmodem"))
        .arg("serve")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start vmodem");
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("vmodem serve {args:?} is still running after {T:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success(), "vmodem serve {args:?} succeeded: {stderr}");
    stderr
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Checks that starting with `args` fails with an error that contains each of `wanted`.
fn fails_saying(args: &[&str], wanted: &[&str]) {
    let stderr = refused(args);
    for want in wanted {
        assert!(stderr.contains(want), "vmodem serve {args:?} said {stderr:?}, not {want:?}");
    }
}

#[test]
fn the_demo_folder_and_its_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo");
    std::fs::write(&file, b"").unwrap();
    fails_saying(&["--demo", "--demo-dir", text(&file)], &[&format!("{} exists and is not a folder", text(&file))]);
    let inside = file.join("sub");
    fails_saying(
        &["--demo", "--demo-dir", text(&inside)],
        &[&format!("cannot create the demo folder {}", text(&inside))],
    );

    // The demo keeps the module's files in <dir>-fs.
    let demo = dir.path().join("served");
    let fs = dir.path().join("served-fs");
    std::fs::write(&fs, b"").unwrap();
    fails_saying(
        &["--demo", "--demo-dir", text(&demo)],
        &[&format!("cannot open the module file system in {}", text(&fs))],
    );
}

#[test]
fn the_pty_link() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("ttyV0");
    std::fs::create_dir(&taken).unwrap();
    fails_saying(&["--pty", text(&taken)], &[&format!("{} exists and is not a symlink", text(&taken))]);
    let nowhere = dir.path().join("missing").join("ttyV0");
    fails_saying(&["--pty", text(&nowhere)], &[&format!("cannot create the PTY link {}", text(&nowhere))]);
}

#[test]
fn the_sockets_and_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, b"").unwrap();
    let missing = dir.path().join("missing");
    let in_missing = |name: &str| missing.join(name).to_str().unwrap().to_string();
    let not_a_socket = format!("{} exists and is not a socket", text(&file));

    fails_saying(&["--unix", text(&file)], &[&not_a_socket]);
    fails_saying(&["--unix", &in_missing("line.sock")], &[&in_missing("line.sock"), "No such file or directory"]);
    let tcp = ["--tcp", "127.0.0.1:0"];
    fails_saying(&[&tcp[..], &["--control", text(&file)]].concat(), &[&not_a_socket, "control socket"]);
    let control = in_missing("vmodem.ctl");
    fails_saying(&[&tcp[..], &["--control", &control]].concat(), &[&control, "No such file or directory"]);
    let record = in_missing("session.at");
    fails_saying(&[&tcp[..], &["--record", &record]].concat(), &[&record, "No such file or directory"]);

    // A TCP address another socket holds.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap().to_string();
    fails_saying(&["--tcp", &addr], &[&format!("cannot listen on {addr}")]);
}
