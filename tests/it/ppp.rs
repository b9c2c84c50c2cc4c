//! The packet data call end to end, with a host whose PPP and TCP/IP are not vmodem's: the
//! `ppproto` PPP client and a `smoltcp` stack ([`PppHost`]), as pppd, Zephyr or lwIP would run
//! them. Per family, the host dials as its driver does (Zephyr's `ATD*99***1#` on the SIM7080,
//! esp-modem's `ATD*99##` on the SIM7070, `AT+CGDATA="PPP",1` on the L610, `ATD*99#` on the
//! rest) and then, through the modem, fetches a page from Debian's nginx and 16 MiB checked by
//! SHA-256, asks the DNS server IPCP gave it, sends a UDP datagram to an echo peer and pings;
//! its LCP Terminate-Request ends the call with `NO CARRIER` and the line takes AT again.
//! Beside that: `+++` keeps the call and `ATO` goes back to it, `ATH` ends it; the network
//! taking the bearer ends it from the modem's side; a refused connection is refused through
//! the link; and a call needs registration.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::time::{Instant, sleep, timeout_at};
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::embedded::echo::EmbeddedEcho;
use vmodem::modem::{Modem, ModemHandle};
use vmodem::net::{Net, NetConfig};
use vmodem::network::NetworkEvent;
use vmodem::transport::{Link, Links};

use crate::support::cmux_host::CmuxHost;
use crate::support::nginx::Nginx;
use crate::support::ppp_host::PppHost;
use crate::support::rig::{closed_port, pattern, sha256, trace};

/// The longest one step may take.
const STEP: Duration = Duration::from_secs(30);
/// The big download.
const BIG: usize = 16 << 20;
/// The bearer's address IPCP gives the host (the default `[network] ip`).
const HOST_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 94, 36, 44);
/// The DNS servers IPCP gives it (the default `[network] dns`).
const DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 94, 0, 53), Ipv4Addr::new(10, 94, 1, 53)];

/// A modem of a family on an in-process line, and the host's end of that line.
struct Bench {
    line: DuplexStream,
    handle: ModemHandle,
    modem: Running,
}

/// The modem's task, stopped with the test.
struct Running(tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Bench {
    /// A fresh `family` modem, echo off, context 1 on the APN `internet`.
    async fn start(family: &str) -> Bench {
        trace();
        let fs = tempfile::tempdir().expect("a folder");
        let mut config = ModuleConfig { family: family.parse().expect("a family"), ..ModuleConfig::default() };
        config.fs.root = Some(fs.path().to_path_buf());
        let dialect = dialect::build(Arc::new(config)).expect("the family's dialect");
        let modem = Modem::new(dialect, Net::new(NetConfig::default()));
        let handle = modem.handle();
        let (line, modem_side) = tokio::io::duplex(1 << 16);
        let modem_side: Link = Box::new(modem_side);
        let modem = Running(tokio::spawn(async move {
            let _fs = fs;
            modem.run(Links::single(modem_side)).await;
        }));
        let mut bench = Bench { line, handle, modem };
        bench.until("ATE0\r", "OK\r\n").await;
        bench.command("AT+CGDCONT=1,\"IP\",\"internet\"", "\r\nOK\r\n").await;
        bench
    }

    /// Sends `cmd` and expects exactly `answer`.
    async fn command(&mut self, cmd: &str, answer: &str) {
        let got = self.until(&format!("{cmd}\r"), answer.rsplit("\r\n").nth(1).unwrap_or(answer)).await;
        assert_eq!(got, answer, "{cmd}");
    }

    /// Writes `bytes`, then reads until the text read ends with `end` and CR LF (or `end`
    /// itself when it has its CR LF).
    async fn until(&mut self, bytes: &str, end: &str) -> String {
        self.line.write_all(bytes.as_bytes()).await.expect("the line");
        read_until(&mut self.line, end).await
    }
}

/// Reads `line` until what came ends with `end` (with a CR LF after it unless `end` has one).
async fn read_until(line: &mut (impl AsyncRead + Unpin), end: &str) -> String {
    let end = if end.ends_with("\r\n") { end.to_string() } else { format!("{end}\r\n") };
    let deadline = Instant::now() + STEP;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(end.as_bytes()) {
        match timeout_at(deadline, line.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!("waiting for {end:?}: {other:?}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => panic!("{addr} is not IPv4"),
    }
}

/// Sends `cmd` on `line` and expects exactly `answer` (echo off).
async fn chat(line: &mut (impl AsyncRead + AsyncWrite + Unpin), cmd: &str, answer: &str) {
    line.write_all(format!("{cmd}\r").as_bytes()).await.expect("the line");
    let got = read_until(line, answer.rsplit("\r\n").nth(1).unwrap_or(answer)).await;
    assert_eq!(got, answer, "{cmd}");
}

/// The servers a session reaches through the modem.
struct Peers {
    nginx: Nginx,
    echo: EmbeddedEcho,
    big: Vec<u8>,
}

impl Peers {
    async fn start() -> Peers {
        let nginx = Nginx::start("ppp");
        let big = pattern(BIG, 16);
        nginx.write("hello.txt", b"Hello over PPP\n");
        nginx.write("big.bin", &big);
        let echo = EmbeddedEcho::start(SocketAddr::from(([127, 0, 0, 1], 0)), None).await.expect("the echo peer");
        Peers { nginx, echo, big }
    }

    /// A page and 16 MiB from nginx (SHA-256), DNS, a UDP datagram, a ping and a refused
    /// connection, all through the link.
    async fn traffic<S: AsyncRead + AsyncWrite + Unpin>(&self, host: &mut PppHost<S>, family: &str) {
        assert_eq!(host.address(), HOST_ADDRESS, "{family}: the bearer's address");
        assert_eq!(host.dns(), DNS.to_vec(), "{family}: the DNS servers");
        let web = v4(self.nginx.http_addr());
        let path = format!("/{}/hello.txt", self.nginx.folder());
        let (status, body) = host.http_get(web, "localhost", &path, STEP).await.expect("GET hello.txt");
        assert_eq!((status, body.as_slice()), (200, b"Hello over PPP\n".as_slice()), "{family}");
        let mut sha = Sha256::new();
        let request = format!("GET /{}/big.bin HTTP/1.0\r\nHost: localhost\r\n\r\n", self.nginx.folder());
        let mut head = Vec::new();
        let mut in_body = false;
        let got = host
            .tcp_exchange(
                web,
                request.as_bytes(),
                |bytes| {
                    if in_body {
                        sha.update(bytes);
                        return;
                    }
                    head.extend_from_slice(bytes);
                    if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        sha.update(&head[end + 4..]);
                        head.truncate(end + 4);
                        in_body = true;
                    }
                },
                Duration::from_secs(120),
            )
            .await
            .expect("16 MiB over PPP");
        assert!(head.starts_with(b"HTTP/1.1 200"), "{family}: {:?}", String::from_utf8_lossy(&head));
        assert_eq!(got, (head.len() + BIG) as u64, "{family}: every byte of the download");
        assert_eq!(crate::support::rig::hex(&sha.finalize()), sha256(&self.big), "{family}: the download's SHA-256");
        let found = host.dns_query(DNS[0], "localhost", STEP).await.expect("a DNS answer");
        assert!(found.contains(&Ipv4Addr::LOCALHOST), "{family}: localhost is {found:?}");
        let missing = host.dns_query(DNS[1], "nothing.invalid", STEP).await;
        assert!(missing.as_ref().is_err_and(|e| e.starts_with("NXDOMAIN")), "{family}: {missing:?}");
        let back = host.udp_exchange(v4(self.echo.udp_addr()), b"datagram over PPP", STEP).await.expect("UDP echo");
        assert_eq!(back, b"datagram over PPP", "{family}");
        host.ping(Ipv4Addr::LOCALHOST, STEP).await.expect("an echo reply");
        let (closed, refused) = closed_port();
        drop(closed);
        let refused = host.tcp_exchange(v4(refused), b"", |_| {}, STEP).await;
        assert!(refused.as_ref().is_err_and(|e| e.starts_with("refused")), "{family}: {refused:?}");
    }
}

/// The whole session for `family` on the plain line, dialling with `dial`.
async fn session(family: &str, dial: &str) {
    let peers = Peers::start().await;
    let Bench { line, handle, modem } = Bench::start(family).await;
    let mut host = PppHost::dial(line, dial, STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    peers.traffic(&mut host, family).await;
    let mut line = host.terminate(STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    read_until(&mut line, "\r\nNO CARRIER").await;
    let mut bench = Bench { line, handle, modem };
    bench.command("AT", "\r\nOK\r\n").await;
}

/// The whole session for `family` over CMUX, as Zephyr's `modem_cellular` and esp-modem run
/// it: `cmux` starts multiplexing; DLCI 0, 1 and 2 open; PPP dialled with `dial` on DLCI 1
/// while DLCI 2 answers `AT+CSQ` during the 16 MiB download and gets the `+CMTI` of a message
/// that arrives meanwhile; then PPP down (`NO CARRIER` on DLCI 1), DISC 1, DISC 2, the
/// close-down, and plain AT again.
async fn cmux_session(family: &str, cmux: &str, dial: &str) {
    let peers = Peers::start().await;
    let Bench { line, handle, modem } = Bench::start(family).await;
    let mut bench = Bench { line, handle, modem };
    bench.command(cmux, "\r\nOK\r\n").await;
    let Bench { line, handle, modem } = bench;
    let mux = CmuxHost::start(line, 127, STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    let data = mux.open(1, STEP).await.expect("DLCI 1");
    let mut chat_line = mux.open(2, STEP).await.expect("DLCI 2");
    chat(&mut chat_line, "AT+CMGF=1", "\r\nOK\r\n").await;
    chat(&mut chat_line, "AT+CNMI=2,1,0,0,0", "\r\nOK\r\n").await;
    chat(&mut chat_line, "AT+CREG?", "\r\n+CREG: 0,1\r\n\r\nOK\r\n").await;
    let mut host = PppHost::dial(data, dial, STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    let chat_side = async {
        chat(&mut chat_line, "AT+CSQ", "\r\n+CSQ: 27,99\r\n\r\nOK\r\n").await;
        let stamp = vmodem::sms::pdu::Timestamp::from_utc(time::OffsetDateTime::now_utc());
        for deliver in vmodem::sms::message("+8613900000001", "over the other channel", None, stamp).expect("a message") {
            assert!(handle.sms(vmodem::sms::centre::Incoming::Deliver(deliver)));
        }
        let urc = read_until(&mut chat_line, ",1").await;
        assert!(urc.starts_with("\r\n+CMTI: \"") && urc.ends_with("\",1\r\n"), "{family}: the URC on DLCI 2: {urc:?}");
    };
    tokio::join!(peers.traffic(&mut host, family), chat_side);
    let mut data = host.terminate(STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    read_until(&mut data, "\r\nNO CARRIER").await;
    chat(&mut data, "AT", "\r\nOK\r\n").await;
    mux.close(1, STEP).await.expect("DISC 1");
    mux.close(2, STEP).await.expect("DISC 2");
    let line = mux.close_down(STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    let mut bench = Bench { line, handle, modem };
    bench.command("AT", "\r\nOK\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7080_as_zephyr_dials_it() {
    session("sim7080", "ATD*99***1#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7070_as_esp_modem_dials_it() {
    session("sim7070", "ATD*99##").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7090() {
    session("sim7090", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim7000() {
    session("sim7000", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim800() {
    session("sim800", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim900() {
    session("sim900", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l610_with_cgdata() {
    session("l610", "AT+CGDATA=\"PPP\",1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_sim7080_as_zephyr_runs_it() {
    cmux_session("sim7080", "AT+CMUX=0,0,5,127", "ATD*99***1#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_sim7070_as_esp_modem_runs_it() {
    cmux_session("sim7070", "AT+CMUX=0", "ATD*99##").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_sim7090() {
    cmux_session("sim7090", "AT+CMUX=0,0,5,127", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_sim7000_as_esp_modem_runs_it() {
    cmux_session("sim7000", "AT+CMUX=0", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_sim800_as_esp_modem_runs_it() {
    cmux_session("sim800", "AT+CMUX=0", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_sim900_as_zephyr_gsm_ppp_runs_it() {
    cmux_session("sim900", "AT+CMUX=0,0,5,127", "ATD*99***1#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmux_l610() {
    cmux_session("l610", "AT+CMUX=0,0,5,127", "AT+CGDATA=\"PPP\",1").await;
}

/// `+++` after a second of silence returns to commands with the call up; `ATO` goes back with
/// `CONNECT`; `ATH` ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_resume_and_hang_up() {
    let bench = Bench::start("sim800").await;
    let Bench { line, handle, modem } = bench;
    let host = PppHost::dial(line, "ATD*99#", STEP).await.expect("the call");
    let line = host.into_line();
    let mut bench = Bench { line, handle, modem };
    sleep(Duration::from_millis(1100)).await;
    bench.line.write_all(b"+++").await.expect("the line");
    sleep(Duration::from_millis(1100)).await;
    read_until(&mut bench.line, "\r\nOK").await;
    bench.command("AT+CSQ", "\r\n+CSQ: 27,99\r\n\r\nOK\r\n").await;
    bench.until("ATO\r", "\r\nCONNECT").await;
    sleep(Duration::from_millis(1100)).await;
    bench.line.write_all(b"+++").await.expect("the line");
    sleep(Duration::from_millis(1100)).await;
    read_until(&mut bench.line, "\r\nOK").await;
    bench.command("ATH", "\r\nOK\r\n").await;
    // Nothing to resume now.
    bench.command("ATO", "\r\nERROR\r\n").await;
}

/// The network releases the bearer mid-call: the modem ends the link with its
/// Terminate-Request and says `NO CARRIER`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_taking_the_bearer_ends_the_call() {
    let bench = Bench::start("sim7080").await;
    let Bench { line, handle, modem } = bench;
    let mut host = PppHost::dial(line, "ATD*99#", STEP).await.expect("the call");
    assert!(handle.network(NetworkEvent::ReleaseBearers));
    let why = host.wait_down(STEP).await.expect("the link goes down");
    host.wait_text("NO CARRIER", STEP).await.unwrap_or_else(|e| panic!("after {why}: {e}"));
    let mut bench = Bench { line: host.into_line(), handle, modem };
    bench.command("AT", "\r\nOK\r\n").await;
}

/// Without registration there is no call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_without_registration() {
    let mut bench = Bench::start("sim800").await;
    assert!(bench.handle.network(NetworkEvent::LoseRegistration));
    bench.command("ATD*99#", "\r\nNO CARRIER\r\n").await;
    bench.command("ATD*99***7#", "\r\nERROR\r\n").await;
}
