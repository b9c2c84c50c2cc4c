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

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::sleep;
use vmodem::embedded::echo::EmbeddedEcho;
use vmodem::network::NetworkEvent;

use crate::support::cmux_host::CmuxHost;
use crate::support::nginx::Nginx;
use crate::support::ppp_call::{ModemLine, STEP, chat, download, read_until, v4};
use crate::support::ppp_host::PppHost;
use crate::support::rig::{closed_port, pattern, sha256};

/// The big download.
const BIG: usize = 16 << 20;
/// The bearer's address IPCP gives the host (the default `[network] ip`).
const HOST_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 94, 36, 44);
/// The DNS servers IPCP gives it (the default `[network] dns`).
const DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 94, 0, 53), Ipv4Addr::new(10, 94, 1, 53)];

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
        let path = format!("/{}/big.bin", self.nginx.folder());
        let (result, got) = download(host, web, &path, Duration::from_secs(120), |_| {}).await;
        let total = result.expect("16 MiB over PPP");
        assert!(got.head.starts_with(b"HTTP/1.1 200"), "{family}: {:?}", String::from_utf8_lossy(&got.head));
        assert_eq!((total, got.body), ((got.head.len() + BIG) as u64, BIG as u64), "{family}: every byte");
        assert_eq!(got.sha256(), sha256(&self.big), "{family}: the download's SHA-256");
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
    let ModemLine { line, handle, modem } = ModemLine::start(family).await;
    let mut host = PppHost::dial(line, dial, STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    peers.traffic(&mut host, family).await;
    let mut line = host.terminate(STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    read_until(&mut line, "\r\nNO CARRIER").await;
    let mut bench = ModemLine { line, handle, modem };
    bench.command("AT", "\r\nOK\r\n").await;
}

/// The whole session for `family` over CMUX, as Zephyr's `modem_cellular` and esp-modem run
/// it: `cmux` starts multiplexing; DLCI 0, 1 and 2 open; PPP dialled with `dial` on DLCI 1
/// while DLCI 2 answers `AT+CSQ` during the 16 MiB download and gets the `+CMTI` of a message
/// that arrives meanwhile; then PPP down (`NO CARRIER` on DLCI 1), DISC 1, DISC 2, the
/// close-down, and plain AT again.
async fn cmux_session(family: &str, cmux: &str, dial: &str) {
    let peers = Peers::start().await;
    let ModemLine { line, handle, modem } = ModemLine::start(family).await;
    let mut bench = ModemLine { line, handle, modem };
    bench.command(cmux, "\r\nOK\r\n").await;
    let ModemLine { line, handle, modem } = bench;
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
        for deliver in vmodem::sms::message("+8613900000001", "over the other channel", None, stamp).expect("a message")
        {
            assert!(handle.sms(vmodem::sms::centre::Incoming::Deliver(deliver)));
        }
        let urc = read_until(&mut chat_line, ",1").await;
        assert!(urc.starts_with("\r\n+CMTI: \"") && urc.ends_with("\",1\r\n"), "{family}: the URC on DLCI 2: {urc:?}");
    };
    tokio::join!(peers.traffic(&mut host, family), chat_side);
    // Every byte came in frames of at most N1 (127) octets.
    let frames = mux.frames().load(std::sync::atomic::Ordering::Relaxed);
    assert!(frames as usize >= BIG / 127, "{family}: 16 MiB in {frames} frames");
    let mut data = host.terminate(STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    read_until(&mut data, "\r\nNO CARRIER").await;
    chat(&mut data, "AT", "\r\nOK\r\n").await;
    mux.close(1, STEP).await.expect("DISC 1");
    mux.close(2, STEP).await.expect("DISC 2");
    let line = mux.close_down(STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    let mut bench = ModemLine { line, handle, modem };
    bench.command("AT", "\r\nOK\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim7080_as_zephyr_dials_it() {
    session("sim7080", "ATD*99***1#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim7070_as_esp_modem_dials_it() {
    session("sim7070", "ATD*99##").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim7090() {
    session("sim7090", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim7000() {
    session("sim7000", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim800() {
    session("sim800", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn sim900() {
    session("sim900", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn l610_with_cgdata() {
    session("l610", "AT+CGDATA=\"PPP\",1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_sim7080_as_zephyr_runs_it() {
    cmux_session("sim7080", "AT+CMUX=0,0,5,127", "ATD*99***1#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_sim7070_as_esp_modem_runs_it() {
    cmux_session("sim7070", "AT+CMUX=0", "ATD*99##").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_sim7090() {
    cmux_session("sim7090", "AT+CMUX=0,0,5,127", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_sim7000_as_esp_modem_runs_it() {
    cmux_session("sim7000", "AT+CMUX=0", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_sim800_as_esp_modem_runs_it() {
    cmux_session("sim800", "AT+CMUX=0", "ATD*99#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_sim900_as_zephyr_gsm_ppp_runs_it() {
    cmux_session("sim900", "AT+CMUX=0,0,5,127", "ATD*99***1#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn cmux_l610() {
    cmux_session("l610", "AT+CMUX=0,0,5,127", "AT+CGDATA=\"PPP\",1").await;
}

/// `+++` after a second of silence returns to commands with the call up; `ATO` goes back with
/// `CONNECT`; `ATH` ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_resume_and_hang_up() {
    let bench = ModemLine::start("sim800").await;
    let ModemLine { line, handle, modem } = bench;
    let host = PppHost::dial(line, "ATD*99#", STEP).await.expect("the call");
    let line = host.into_line();
    let mut bench = ModemLine { line, handle, modem };
    sleep(Duration::from_millis(1100)).await;
    bench.line.write_all(b"+++").await.expect("the line");
    sleep(Duration::from_millis(1100)).await;
    read_until(&mut bench.line, "\r\nOK").await;
    bench.command("AT+CSQ", "\r\n+CSQ: 27,99\r\n\r\nOK\r\n").await;
    bench.line.write_all(b"ATO\r").await.expect("the line");
    read_until(&mut bench.line, "\r\nCONNECT").await;
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
    let bench = ModemLine::start("sim7080").await;
    let ModemLine { line, handle, modem } = bench;
    let mut host = PppHost::dial(line, "ATD*99#", STEP).await.expect("the call");
    assert!(handle.network(NetworkEvent::ReleaseBearers));
    let why = host.wait_down(STEP).await.expect("the link goes down");
    host.wait_text("NO CARRIER", STEP).await.unwrap_or_else(|e| panic!("after {why}: {e}"));
    let mut bench = ModemLine { line: host.into_line(), handle, modem };
    bench.command("AT", "\r\nOK\r\n").await;
}

/// Without registration there is no call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_without_registration() {
    let mut bench = ModemLine::start("sim800").await;
    assert!(bench.handle.network(NetworkEvent::LoseRegistration));
    bench.command("ATD*99#", "\r\nNO CARRIER\r\n").await;
    bench.command("ATD*99***7#", "\r\nERROR\r\n").await;
}
