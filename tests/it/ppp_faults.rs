//! Faults during a PPP data call, end to end: a host whose PPP and TCP/IP are not vmodem's
//! ([`PppHost`]: ppproto and smoltcp) dials as its driver does, then downloads 4 MiB from
//! Debian's nginx through the modem while a fault strikes the relay's connection (a
//! `net.faults` entry `on = "socket"`, which the relay's [`Net::connect_socket`] connections
//! take) or the network takes the bearer. Each ends as a module ends it:
//!
//! - a connection reset after 100 kB: the host's TCP sees a RST (`reset`), fewer bytes than
//!   the file arrived, the link stays up (a ping, a second download) and the call ends with
//!   `NO CARRIER` when the host terminates it;
//! - a stall of 3 s after 100 kB: the host's TCP rides it out and the file arrives whole
//!   (SHA-256); a stall longer than the host waits ends its exchange with a `timeout`, and the
//!   link still carries the next one;
//! - the bearer released, or registration lost, after 100 kB: the modem's LCP
//!   Terminate-Request takes the link down under the transfer (`link down`, never complete),
//!   `NO CARRIER` follows and plain AT works; with `AT+CREG=1` the `+CREG: 2` URC comes after
//!   `NO CARRIER` (URCs wait while the line is online), and a dial then gets `NO CARRIER`;
//! - a refused connection (`refuse`) and a name that does not resolve (`dns`): a RST to the
//!   host's SYN (`refused`) and `NXDOMAIN`, while the same server and name work once lifted.
//!
//! The network events are sent from the download's own sink once 100 kB have arrived, so they
//! strike mid-transfer without a race against the transfer's speed. Every wait is bounded
//! ([`STEP`], [`TRANSFER`]). These are integration tests, not transcripts: the PPP bytes are a
//! negotiation with random elements (ppproto's magic numbers, smoltcp's sequence numbers).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tokio::io::DuplexStream;
use tokio::time::Instant;
use vmodem::limits::Seconds;
use vmodem::modem::ModemHandle;
use vmodem::net::{Direction, Fault, Role};
use vmodem::network::NetworkEvent;
use vmodem::plan::PlanEntry;

use crate::support::nginx::Nginx;
use crate::support::ppp_call::{Got, ModemLine, Running, STEP, download, read_until, v4};
use crate::support::ppp_host::PppHost;
use crate::support::rig::{pattern, sha256};

/// The longest a download may take.
const TRANSFER: Duration = Duration::from_secs(60);
/// The download.
const BIG: usize = 4 << 20;
/// Bytes of the download before the fault strikes.
const AFTER: u64 = 100_000;
/// The stall the host rides out.
const STALL: f64 = 3.0;
/// The DNS server IPCP gives the host (the default `[network] dns`).
const DNS: Ipv4Addr = Ipv4Addr::new(10, 94, 0, 53);

type Host = PppHost<DuplexStream>;

/// A modem of a family on an in-process line, nginx with the download, and how the family
/// dials.
struct Bench {
    family: &'static str,
    dial: &'static str,
    at: ModemLine,
    nginx: Nginx,
    /// The download's bytes.
    big: Vec<u8>,
}

impl Bench {
    /// A fresh `family` modem (dialling with `dial`); nginx serving `hello.txt` and the 4 MiB
    /// `big.bin`.
    async fn start(family: &'static str, dial: &'static str) -> Bench {
        let nginx = Nginx::start("pppfault");
        let big = pattern(BIG, 7);
        nginx.write("hello.txt", b"Hello over PPP\n");
        nginx.write("big.bin", &big);
        Bench { family, dial, at: ModemLine::start(family).await, nginx, big }
    }

    /// Sends `cmd` and expects exactly `answer`.
    async fn command(&mut self, cmd: &str, answer: &str) {
        self.at.command(cmd, answer).await;
    }

    /// Dials: the call up, the line the host's.
    async fn call(self) -> (Call, Host) {
        let Bench { family, dial, at: ModemLine { line, handle, modem }, nginx, big } = self;
        let host = PppHost::dial(line, dial, STEP).await.unwrap_or_else(|e| panic!("{family}: {dial}: {e}"));
        (Call { family, dial, handle, nginx, big, modem }, host)
    }
}

/// A bench whose line is with the host.
struct Call {
    family: &'static str,
    dial: &'static str,
    handle: ModemHandle,
    nginx: Nginx,
    big: Vec<u8>,
    modem: Running,
}

impl Call {
    /// The line back from the host.
    fn hang(self, line: DuplexStream) -> Bench {
        let Call { family, dial, handle, nginx, big, modem } = self;
        Bench { family, dial, at: ModemLine { line, handle, modem }, nginx, big }
    }

    /// Injects `fault` into the connections opened from now on.
    fn fault(&self, fault: Fault) {
        assert!(self.handle.fault(PlanEntry::Net(fault)), "{}: the modem took the fault", self.family);
    }

    fn web(&self) -> SocketAddrV4 {
        v4(self.nginx.http_addr())
    }

    /// `GET big.bin` within `within`; `at(received)` is called as body bytes arrive.
    async fn download(&self, host: &mut Host, within: Duration, at: impl FnMut(u64)) -> (Result<u64, String>, Got) {
        download(host, self.web(), &format!("/{}/big.bin", self.nginx.folder()), within, at).await
    }

    /// A download that must arrive whole, with the file's SHA-256.
    async fn whole_download(&self, host: &mut Host, within: Duration) {
        let family = self.family;
        let (result, got) = self.download(host, within, |_| {}).await;
        let total = result.unwrap_or_else(|e| panic!("{family}: the download: {e}"));
        assert!(got.head.starts_with(b"HTTP/1.1 200"), "{family}: {:?}", String::from_utf8_lossy(&got.head));
        assert_eq!((total, got.body), ((got.head.len() + BIG) as u64, BIG as u64), "{family}: every byte");
        assert_eq!(got.sha256(), sha256(&self.big), "{family}: the download's SHA-256");
    }

    /// `GET hello.txt` answers 200 with its text.
    async fn small_download(&self, host: &mut Host) {
        let path = format!("/{}/hello.txt", self.nginx.folder());
        let (status, body) = host
            .http_get(self.web(), "localhost", &path, STEP)
            .await
            .unwrap_or_else(|e| panic!("{}: GET hello.txt: {e}", self.family));
        assert_eq!((status, body.as_slice()), (200, b"Hello over PPP\n".as_slice()), "{}", self.family);
    }

    /// The host ends the call: its Terminate-Request is acked, `NO CARRIER` follows, and the
    /// line takes AT again.
    async fn terminate(self, host: Host) {
        let family = self.family;
        let mut line = host.terminate(STEP).await.unwrap_or_else(|e| panic!("{family}: terminate: {e}"));
        read_until(&mut line, "\r\nNO CARRIER").await;
        let mut bench = self.hang(line);
        bench.command("AT", "\r\nOK\r\n").await;
    }
}

/// The relay's connection to nginx breaks after 100 kB: the host's TCP sees the RST, with
/// fewer bytes than the file; the link stays up (a ping, a second download once the fault is
/// lifted), and the host's Terminate-Request ends the call with `NO CARRIER`.
async fn data_reset_mid_transfer(bench: Bench) {
    let (call, mut host) = bench.call().await;
    let family = call.family;
    call.fault(Fault::Reset { on: Role::Socket, after: AFTER });
    let (result, got) = call.download(&mut host, TRANSFER, |_| {}).await;
    assert!(result.as_ref().is_err_and(|e| e.starts_with("reset")), "{family}: {result:?}");
    assert!(got.head.starts_with(b"HTTP/1.1 200"), "{family}: {:?}", String::from_utf8_lossy(&got.head));
    assert!(got.body < AFTER && got.body < BIG as u64, "{family}: {} body bytes through a reset at {AFTER}", got.body);
    assert!(host.is_up(), "{family}: the link went down with the connection: {:?}", host.down_reason());
    host.ping(Ipv4Addr::LOCALHOST, STEP).await.unwrap_or_else(|e| panic!("{family}: ping after the reset: {e}"));
    assert!(call.handle.clear_faults(), "{family}");
    call.small_download(&mut host).await;
    call.terminate(host).await;
}

/// The relay's connection stalls for 3 s after 100 kB: the host's TCP waits it out (it has no
/// idle timeout) and the whole file arrives, a stall's length late; the link is up after it.
async fn stall_mid_transfer(bench: Bench) {
    let (call, mut host) = bench.call().await;
    let family = call.family;
    call.fault(Fault::Stall {
        on: Role::Socket,
        direction: Direction::Down,
        after: AFTER,
        seconds: Seconds::of(STALL),
    });
    let start = Instant::now();
    let mut stalled_at = None;
    let (result, got) = call
        .download(&mut host, TRANSFER, |body| {
            if body >= AFTER / 2 {
                stalled_at.get_or_insert_with(Instant::now);
            }
        })
        .await;
    let total = result.unwrap_or_else(|e| panic!("{family}: the stalled download: {e}"));
    let took = start.elapsed();
    assert_eq!((total, got.body), ((got.head.len() + BIG) as u64, BIG as u64), "{family}: every byte");
    assert_eq!(got.sha256(), sha256(&call.big), "{family}: the download's SHA-256");
    let stalled_at = stalled_at.expect("half the allowance arrived");
    assert!(
        stalled_at.elapsed() >= Duration::from_secs_f64(STALL),
        "{family}: the download finished {:?} after 50 kB (in {took:?}): no stall of {STALL} s",
        stalled_at.elapsed()
    );
    assert!(host.is_up(), "{family}: {:?}", host.down_reason());
    host.ping(Ipv4Addr::LOCALHOST, STEP).await.unwrap_or_else(|e| panic!("{family}: ping after the stall: {e}"));
    call.terminate(host).await;
}

/// A stall (30 s) longer than the host waits (4 s): the host's exchange times out and it
/// resets the connection (the relay drops its side); the link is up (a ping while the stall
/// would still last), and the next download (the fault lifted) is whole.
async fn stall_beyond_the_host_s_patience(bench: Bench) {
    let (call, mut host) = bench.call().await;
    let family = call.family;
    call.fault(Fault::Stall { on: Role::Socket, direction: Direction::Down, after: AFTER, seconds: Seconds::of(30.0) });
    let (result, got) = call.download(&mut host, Duration::from_secs(4), |_| {}).await;
    assert!(result.as_ref().is_err_and(|e| e.starts_with("timeout")), "{family}: {result:?}");
    assert!(got.body < AFTER, "{family}: {} body bytes through a stall at {AFTER}", got.body);
    assert!(host.is_up(), "{family}: {:?}", host.down_reason());
    host.ping(Ipv4Addr::LOCALHOST, STEP).await.unwrap_or_else(|e| panic!("{family}: ping while the stall lasts: {e}"));
    assert!(call.handle.clear_faults(), "{family}");
    call.whole_download(&mut host, TRANSFER).await;
    call.terminate(host).await;
}

/// The network takes the bearer (or the registration, `event`) once 100 kB have arrived: the
/// modem's LCP Terminate-Request takes the link down under the transfer, which never
/// completes; `NO CARRIER` follows on the line.
async fn lost_mid_transfer(call: &Call, host: &mut Host, event: NetworkEvent) {
    let family = call.family;
    let mut sent = false;
    let (result, got) = call
        .download(host, TRANSFER, |body| {
            if body >= AFTER && !sent {
                sent = true;
                assert!(call.handle.network(event), "{family}: the modem took the event");
            }
        })
        .await;
    assert!(sent, "{family}: {} body bytes and no event sent: {result:?}", got.body);
    assert!(result.as_ref().is_err_and(|e| e.starts_with("link down")), "{family}: {result:?}");
    assert!(got.body < BIG as u64, "{family}: the whole file arrived before the link went down");
    let why = host.down_reason().unwrap_or_default().to_string();
    assert!(why.contains("Terminate-Request"), "{family}: the link went down by {why:?}");
    host.wait_text("\r\nNO CARRIER\r\n", STEP).await.unwrap_or_else(|e| panic!("{family}: after {why}: {e}"));
}

/// The bearer is released mid-transfer: Terminate-Request, `link down`, `NO CARRIER`, and AT
/// answers `OK` (no other line came); a new call can be made.
async fn bearer_lost_mid_transfer(bench: Bench) {
    let (call, mut host) = bench.call().await;
    let family = call.family;
    lost_mid_transfer(&call, &mut host, NetworkEvent::ReleaseBearers).await;
    let text = host.line_text();
    assert!(text.ends_with("\r\nNO CARRIER\r\n"), "{family}: the line after the link: {text:?}");
    let mut bench = call.hang(host.into_line());
    bench.command("AT", "\r\nOK\r\n").await;
    // The network is still there: the host dials again.
    let (call, mut host) = bench.call().await;
    host.ping(Ipv4Addr::LOCALHOST, STEP).await.unwrap_or_else(|e| panic!("{family}: ping on the new call: {e}"));
    call.terminate(host).await;
}

/// Registration is lost mid-transfer, with `AT+CREG=1`: Terminate-Request, `link down`, `NO
/// CARRIER`, then `+CREG: 2` (the URC waited for the line to leave online data); AT answers
/// `OK`, a dial `NO CARRIER` until the cell is back (`+CREG: 1`), and then a call is made.
async fn registration_lost_mid_transfer(mut bench: Bench) {
    let family = bench.family;
    bench.command("AT+CREG=1", "\r\nOK\r\n").await;
    let (call, mut host) = bench.call().await;
    lost_mid_transfer(&call, &mut host, NetworkEvent::LoseRegistration).await;
    host.wait_text("+CREG: 2\r\n", STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    let text = host.line_text();
    let tail = &text[text.find("\r\nNO CARRIER\r\n").expect("NO CARRIER")..];
    assert_eq!(tail, "\r\nNO CARRIER\r\n\r\n+CREG: 2\r\n", "{family}: the line after the link");
    let mut bench = call.hang(host.into_line());
    bench.command("AT", "\r\nOK\r\n").await;
    bench.command("AT+CREG?", "\r\n+CREG: 1,2\r\n\r\nOK\r\n").await;
    bench.command(bench.dial, "\r\nNO CARRIER\r\n").await;
    assert!(bench.at.handle.network(NetworkEvent::Register), "{family}");
    read_until(&mut bench.at.line, "\r\n+CREG: 1").await;
    let (call, mut host) = bench.call().await;
    host.ping(Ipv4Addr::LOCALHOST, STEP).await.unwrap_or_else(|e| panic!("{family}: ping on the new call: {e}"));
    call.terminate(host).await;
}

/// A refused connection to a server that is there (`refuse`): the relay answers the host's
/// SYN with a RST (`refused`); lifted, the same server answers.
async fn refused_through_ppp(bench: Bench) {
    let (call, mut host) = bench.call().await;
    let family = call.family;
    call.fault(Fault::Refuse { host: Some("127.0.0.1".into()), port: Some(call.nginx.http) });
    let (result, got) = call.download(&mut host, STEP, |_| {}).await;
    assert!(result.as_ref().is_err_and(|e| e.starts_with("refused")), "{family}: {result:?}");
    assert!(got.head.is_empty(), "{family}");
    assert!(host.is_up(), "{family}: {:?}", host.down_reason());
    assert!(call.handle.clear_faults(), "{family}");
    call.small_download(&mut host).await;
    call.terminate(host).await;
}

/// A name that does not resolve (`dns`): the network's DNS server answers `NXDOMAIN`; lifted,
/// the name resolves.
async fn dns_failure_through_ppp(bench: Bench) {
    let (call, mut host) = bench.call().await;
    let family = call.family;
    call.fault(Fault::Dns { name: Some("localhost".into()) });
    let failed = host.dns_query(DNS, "localhost", STEP).await;
    assert!(failed.as_ref().is_err_and(|e| e.starts_with("NXDOMAIN")), "{family}: {failed:?}");
    assert!(call.handle.clear_faults(), "{family}");
    let found = host.dns_query(DNS, "localhost", STEP).await.unwrap_or_else(|e| panic!("{family}: {e}"));
    assert!(found.contains(&Ipv4Addr::LOCALHOST), "{family}: localhost is {found:?}");
    call.terminate(host).await;
}

/// One test per scenario and family: `ppp_faults::<family>::<scenario>`, each dialling as the
/// family's drivers do (Zephyr's `ATD*99***1#` on the SIM7080, `AT+CGDATA="PPP",1` on the
/// L610, `ATD*99#` on the SIM800).
macro_rules! ppp_fault_tests {
    ($($family:ident: $dial:expr;)*) => {
        $(
            mod $family {
                ppp_fault_tests!(@each $family, $dial;
                    data_reset_mid_transfer,
                    stall_mid_transfer,
                    stall_beyond_the_host_s_patience,
                    bearer_lost_mid_transfer,
                    registration_lost_mid_transfer,
                    refused_through_ppp,
                    dns_failure_through_ppp
                );
            }
        )*
    };
    (@each $family:ident, $dial:expr; $($scenario:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
            async fn $scenario() {
                super::$scenario(super::Bench::start(stringify!($family), $dial).await).await;
            }
        )*
    };
}

ppp_fault_tests! {
    sim7080: "ATD*99***1#";
    sim800: "ATD*99#";
    l610: "AT+CGDATA=\"PPP\",1";
}
