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
//! signal 12                                       the signal AT+CSQ reports (0-31, 99)
//! clear                                           lift every fault and URC rule
//! sms +8613900000000 Hello there                  a message arrives from that number (7-bit,
//! sms-flash +8613900000000 Look now                 UCS2 when it needs; long: several parts;
//! sms-pdu 0791...                                   flash: class 0; or an SMS-DELIVER PDU)
//! ```
//!
//! The socket is the user's: vmodem creates it (replacing a stale socket file, refusing any
//! other file, as [`unix::bind`] does) and removes it when the modem stops. Lines longer than [`MAX_LINE`] are refused.
//! At most [`MAX_SESSIONS`] connections are served at once: one more is answered
//! `ERROR: too many control connections` and closed. A connection that sends no complete line
//! for [`IDLE_LIMIT`] is told `ERROR: idle for 300 s; closing` and closed, and one that takes no
//! answer for as long is closed, so that connections a client forgot give their places back.

use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::{debug, warn};

use crate::modem::ModemHandle;
use crate::net::{LinkProfile, Net};
use crate::network::NetworkEvent;
use crate::plan::PlanEntry;
use crate::sms::centre::Incoming;
use crate::sms::pdu;
use crate::transport::unix::{self, UnixHandle};

/// The longest command line.
pub const MAX_LINE: usize = 4096;

/// How many connections are served at once. A test script or a person needs one or two; the
/// bound stops a client that opens connections and never closes them from taking the process's
/// file descriptors and memory (each connection holds a task, a socket and up to [`MAX_LINE`]
/// bytes of line).
pub const MAX_SESSIONS: usize = 16;

/// How long a connection may go without sending a complete line, or without taking an answer,
/// before it is closed. Long enough for a person typing at `socat`; short enough that the places
/// of connections a client forgot come back while the modem runs.
pub const IDLE_LIMIT: Duration = Duration::from_secs(300);

/// How long the accept loop pauses after a failed `accept` (for example `EMFILE`), so that a
/// persistent error does not make it spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What a connection beyond [`MAX_SESSIONS`] is told.
const TOO_MANY: &str = "ERROR: too many control connections\n";

/// The control socket of one modem; removes its file when dropped.
#[derive(Debug)]
pub struct ControlSocket {
    _file: UnixHandle,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    /// Listens at `path` and carries out commands on `modem` and its `net`. Each error names
    /// the path.
    pub fn bind(path: &Path, modem: ModemHandle, net: Net) -> io::Result<ControlSocket> {
        let (listener, file) = unix::bind(path, "the control socket")?;
        let task = tokio::spawn(serve(listener, modem, net));
        Ok(ControlSocket { _file: file, task })
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        // Aborting the accept loop drops its sessions, which ends them too. The file goes with
        // its handle.
        self.task.abort();
    }
}

/// The accept loop: a session per connection, at most [`MAX_SESSIONS`] at once.
async fn serve(listener: UnixListener, modem: ModemHandle, net: Net) {
    let mut sessions = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Sessions that have ended give their places back.
                while sessions.try_join_next().is_some() {}
                if sessions.len() < MAX_SESSIONS {
                    sessions.spawn(session(stream, modem.clone(), net.clone()));
                } else {
                    refuse(stream);
                }
            }
            Err(e) => {
                warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// Tells a connection beyond [`MAX_SESSIONS`] so, and closes it. A new socket's send buffer is
/// empty, so the line goes at once, without waiting.
fn refuse(stream: UnixStream) {
    use std::io::Write;
    debug!("control socket: too many connections; one refused");
    if let Ok(mut stream) = stream.into_std() {
        stream.write_all(TOO_MANY.as_bytes()).ok();
    }
}

async fn session(stream: UnixStream, modem: ModemHandle, net: Net) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 1);
        let read = match timeout(IDLE_LIMIT, limited.read_until(b'\n', &mut line)).await {
            Ok(read) => read,
            Err(_idle) => {
                let farewell = format!("ERROR: idle for {} s; closing\n", IDLE_LIMIT.as_secs());
                send(&mut write, &farewell).await;
                return;
            }
        };
        match read {
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
        if !send(&mut write, &answer).await || line.len() > MAX_LINE {
            return;
        }
    }
}

/// Sends `text`; `false` when the client has gone or has not taken it within [`IDLE_LIMIT`].
async fn send(write: &mut OwnedWriteHalf, text: &str) -> bool {
    matches!(timeout(IDLE_LIMIT, write.write_all(text.as_bytes())).await, Ok(Ok(())))
}

/// The SMS centre's clock: now, in UTC.
fn now() -> pdu::Timestamp {
    pdu::Timestamp::from_utc(time::OffsetDateTime::now_utc())
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
        "release" | "deregister" | "register" | "signal" => modem.network(text.parse::<NetworkEvent>()?),
        "sms" | "sms-flash" => {
            let (from, body) = rest.trim().split_once(char::is_whitespace).ok_or("sms FROM TEXT")?;
            let class = (word == "sms-flash").then_some(0);
            let parts = crate::sms::message(from, body, class, now()).map_err(|e| e.to_string())?;
            parts.into_iter().all(|deliver| modem.sms(Incoming::Deliver(deliver)))
        }
        "sms-pdu" => {
            let octets = pdu::from_hex(rest.trim()).map_err(|e| e.to_string())?;
            modem.sms(Incoming::Deliver(pdu::decode_deliver(&octets).map_err(|e| e.to_string())?))
        }
        _ => modem.fault(PlanEntry::parse(text)?),
    };
    if delivered { Ok(()) } else { Err("the modem has stopped, or takes no more requests now".into()) }
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

    /// Bounds the waits of the tests on paused time.
    const WAIT: Duration = Duration::from_secs(5);

    /// The next line from `control` ("" at its end), within `wait`.
    async fn next_line(control: &mut BufReader<UnixStream>, wait: Duration) -> String {
        let mut line = String::new();
        tokio::time::timeout(wait, control.read_line(&mut line)).await.expect("no line in time").unwrap();
        line
    }

    /// A connection that is served, once a place is free: a session that ends gives its place
    /// back as soon as its task has seen the end.
    async fn served(path: &Path) -> BufReader<UnixStream> {
        for _ in 0..100 {
            let mut control = BufReader::new(UnixStream::connect(path).await.unwrap());
            match ask(&mut control, "profile catm").await.as_str() {
                "OK\n" => return control,
                answer => assert_eq!(answer, TOO_MANY),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no place came free");
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_are_capped_and_idle_ones_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let net = Net::default();
        let module = std::sync::Arc::new(ModuleConfig::default());
        let modem = Modem::new(crate::dialect::build(module).unwrap(), net.clone());
        let _socket = ControlSocket::bind(&path, modem.handle(), net).unwrap();

        let mut sessions = Vec::new();
        for _ in 0..MAX_SESSIONS {
            let mut control = BufReader::new(UnixStream::connect(&path).await.unwrap());
            assert_eq!(ask(&mut control, "profile catm").await, "OK\n");
            sessions.push(control);
        }
        let mut refused = BufReader::new(UnixStream::connect(&path).await.unwrap());
        assert_eq!(next_line(&mut refused, WAIT).await, TOO_MANY);
        assert_eq!(next_line(&mut refused, WAIT).await, "", "closed after the refusal");

        drop(sessions.pop());
        sessions.push(served(&path).await);

        // The sessions have been idle since their last command: nothing until IDLE_LIMIT, then
        // a farewell and the end. Their places come back.
        let mut idle = sessions.pop().unwrap();
        let early = tokio::time::timeout(IDLE_LIMIT - Duration::from_secs(1), idle.read_line(&mut String::new())).await;
        assert!(early.is_err(), "closed before IDLE_LIMIT: {early:?}");
        assert_eq!(next_line(&mut idle, WAIT).await, "ERROR: idle for 300 s; closing\n");
        assert_eq!(next_line(&mut idle, WAIT).await, "");
        for mut session in sessions {
            assert_eq!(next_line(&mut session, WAIT).await, "ERROR: idle for 300 s; closing\n");
        }
        let mut fresh = served(&path).await;
        assert_eq!(ask(&mut fresh, "profile lte").await, "OK\n");
    }
}
