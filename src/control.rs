//! The run-time control socket (`vmodem serve --control PATH`): a Unix socket where a test
//! script or a person (`socat - UNIX-CONNECT:PATH`) changes the link and injects faults while a
//! host talks to the modem. One command a line; each answered with `OK` or `ERROR: <why>`:
//!
//! ```text
//! profile nbiot                                   the link profile (a name of net::PROFILES)
//! kind = "reset", on = "data", after = 40000      any fault plan entry, as in [[faults]]
//! kind = "freeze", seconds = 5                    (modem faults strike now, or `at` seconds
//! kind = "drop_bearer", when = "AT+FTPGET=1"       from now, or after their command)
//! release | deregister | register                 a network event, at once
//! clear                                           lift every fault and URC rule
//! ```
//!
//! The socket is the user's: vmodem creates it (replacing a stale socket file, refusing any
//! other file) and removes it when the modem stops. Lines longer than [`MAX_LINE`] are refused.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::modem::ModemHandle;
use crate::net::{LinkProfile, Net};
use crate::network::NetworkEvent;
use crate::plan::PlanEntry;

/// The longest command line.
pub const MAX_LINE: usize = 4096;

/// The control socket of one modem; removes its file when dropped.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    /// Listens at `path` and carries out commands on `modem` and its `net`.
    pub fn bind(path: &Path, modem: ModemHandle, net: Net) -> io::Result<ControlSocket> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is no socket", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, modem.clone(), net.clone()));
            }
        });
        Ok(ControlSocket { path: path.to_path_buf(), task })
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn session(stream: UnixStream, modem: ModemHandle, net: Net) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = match std::str::from_utf8(&line) {
            _ if line.len() > MAX_LINE => "ERROR: line too long\n".to_string(),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => match command(text.trim(), &modem, &net) {
                Ok(()) => "OK\n".to_string(),
                Err(e) => format!("ERROR: {}\n", e.replace('\n', " ")),
            },
            Err(_) => "ERROR: not UTF-8\n".to_string(),
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        if line.len() > MAX_LINE {
            return;
        }
    }
}

/// Carries out one command line.
fn command(text: &str, modem: &ModemHandle, net: &Net) -> Result<(), String> {
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let delivered = match word {
        "profile" => {
            net.set_profile(rest.trim().parse::<LinkProfile>()?);
            true
        }
        "clear" => modem.clear_faults(),
        "release" | "deregister" | "register" => modem.network(word.parse::<NetworkEvent>()?),
        _ => modem.fault(PlanEntry::parse(text)?),
    };
    if delivered { Ok(()) } else { Err("the modem has stopped".into()) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

    use super::*;
    use crate::config::ModuleConfig;
    use crate::modem::Modem;
    use crate::transport::Links;

    async fn ask(control: &mut BufReader<UnixStream>, line: &str) -> String {
        control.get_mut().write_all(format!("{line}\n").as_bytes()).await.unwrap();
        let mut answer = String::new();
        control.read_line(&mut answer).await.unwrap();
        answer
    }

    /// Reads what the modem says within `wait`.
    async fn heard(host: &mut tokio::io::DuplexStream, wait: Duration) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(Ok(n @ 1..)) = tokio::time::timeout(wait, host.read(&mut buf)).await {
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    #[tokio::test]
    async fn commands_change_the_link_and_strike_the_modem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let net = Net::default();
        let module = std::sync::Arc::new(ModuleConfig::default());
        let modem = Modem::new(crate::dialect::build(module).unwrap(), net.clone());
        let socket = ControlSocket::bind(&path, modem.handle(), net.clone()).unwrap();
        let (mut host, line) = tokio::io::duplex(4096);
        let running = tokio::spawn(modem.run(Links::single(Box::new(line))));
        let mut control = BufReader::new(UnixStream::connect(&path).await.unwrap());

        assert_eq!(ask(&mut control, "profile catm").await, "OK\n");
        assert_eq!(net.profile().to_string(), "catm");
        assert!(ask(&mut control, "profile 5g").await.starts_with("ERROR: no link profile \"5g\""));
        assert!(ask(&mut control, "kind = \"melt\"").await.starts_with("ERROR: "));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(ask(&mut control, &format!("kind = \"refuse\", host = \"127.0.0.1\", port = {port}")).await, "OK\n");
        let refused = net.connect("127.0.0.1", port).await;
        assert!(matches!(refused, Err(crate::net::NetError::Refused(_))), "{refused:?}");

        host.write_all(b"ATE0\rAT+CEREG=1\r").await.unwrap();
        assert!(heard(&mut host, Duration::from_millis(300)).await.ends_with("OK\r\n\r\nOK\r\n"));
        assert_eq!(ask(&mut control, "deregister").await, "OK\n");
        assert_eq!(heard(&mut host, Duration::from_millis(300)).await, "\r\n+CEREG: 2\r\n");
        assert_eq!(ask(&mut control, "register").await, "OK\n");
        assert_eq!(heard(&mut host, Duration::from_millis(300)).await, "\r\n+CEREG: 1\r\n");

        assert_eq!(ask(&mut control, "kind = \"freeze\", seconds = 1").await, "OK\n");
        tokio::time::sleep(Duration::from_millis(100)).await;
        host.write_all(b"AT+CGMI\r").await.unwrap();
        assert_eq!(heard(&mut host, Duration::from_millis(500)).await, "", "frozen: nothing heard, nothing said");
        tokio::time::sleep(Duration::from_millis(500)).await;
        host.write_all(b"AT\r").await.unwrap();
        assert_eq!(
            heard(&mut host, Duration::from_millis(300)).await,
            "\r\nOK\r\n",
            "thawed; the lost command stays lost"
        );

        assert_eq!(ask(&mut control, "clear").await, "OK\n");
        assert!(net.connect("127.0.0.1", port).await.is_ok(), "cleared");
        assert_eq!(ask(&mut control, &"x".repeat(MAX_LINE + 10)).await, "ERROR: line too long\n");
        drop(socket);
        assert!(!path.exists(), "the socket file goes with the modem's control");
        running.abort();
    }
}
