//! Socket download throughput: a 64 MiB file of pseudo-random bytes fetched through vmodem's AT
//! sockets on the TCP transport, no pacing (the `instant` link profile), from a plain loopback
//! TCP task of this benchmark that writes the whole file to each connection it accepts and
//! closes it. Three ways, the ways drivers read a socket:
//!
//! - SIM800 (`sim800`), several connections (`AT+CIPMUX=1`), data read on request
//!   (`AT+CIPRXGET=1` before the bring-up and `AT+CIPSTART=0,...`): `AT+CIPRXGET=2,0,1460`
//!   until the connection is closed (`0, CLOSED`) and a read finds nothing.
//! - SIM7080 (`sim7080`): `AT+CAOPEN=0,0,"TCP",...` over the `AT+CNACT=0,1` context, then
//!   `AT+CARECV=0,1460` until the socket is closed (`+CASTATE: 0,0`) and a read finds nothing
//!   (`+CARECV: 0`), then `AT+CACLOSE=0`.
//! - SIM800 transparent mode (`AT+CIPMODE=1`): `AT+CIPSTART` answers `CONNECT`, the file's
//!   bytes follow as they are, and `CLOSED` once the server has closed.
//!
//! The two read-on-request loops are set beside their *host-loop ceiling*: the same host loop
//! against a loopback task that answers every read command at once with a canned full response
//! of 1460 bytes in that family's format, a modem that costs nothing and never runs dry. Such a
//! host moves at most 1460 bytes per round trip, whatever the modem does, so the ratio to the
//! ceiling shows what vmodem adds (on a virtual machine a round trip costs much more when the
//! cores are idle than when they are busy: compare runs on an equally quiet machine).
//! Transparent mode has no round trips; its reference is a plain TCP read of the file from the
//! same server in the same run.
//!
//! `cargo bench --bench socket_download` prints one Markdown table: seconds per download
//! (median of [`RUNS`], runs alternating between the clients), MiB/s, and the ratio to the
//! reference. Each vmodem download is checked byte for byte against the file, and so is the
//! plain read. A download is timed from sending the open command (`AT+CIPSTART`, `AT+CAOPEN`;
//! the plain read: `connect`) to knowing that all has come (the empty read after the close, the
//! `CLOSED` line, the end of the stream), so each includes its connection set-up.
//!
//! The host is a plain thread with a blocking socket, as a driver would be: it sends one
//! command, reads its whole response, then sends the next. URCs between responses (data came,
//! the peer closed) are noted and skipped; a read that finds nothing buffered yet is counted
//! and the loop reads again.
//!
//! `VMODEM_BENCH_MIB` sets another file size in MiB (for a quick check).

mod support;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use support::{Host, OK, READ_TIMEOUT, median, random_bytes, rate, runs};
use tokio::io::AsyncWriteExt;
use vmodem::config::ModuleConfig;
use vmodem::family::Family;
use vmodem::net::Net;

/// The file size in MiB unless `VMODEM_BENCH_MIB` says otherwise.
const DEFAULT_MIB: usize = 64;
/// Downloads per client; the table shows the median.
const RUNS: usize = 3;
/// Bytes the host asks for per read: the most either family allows.
const CHUNK: usize = 1460;
/// The `<left>` of the canned `+CIPRXGET: 2` answer: what an 8 KiB buffer (vmodem's) holds after
/// one full read.
const CANNED_LEFT: usize = 8192 - CHUNK;
/// The longest one download may take.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(300);
/// Bytes the plain read takes from its socket at most at once (and transparent mode's host
/// from its buffer).
const PLAIN_CHUNK: usize = 64 * 1024;

/// A read-on-request loop: a family's read command and the shapes of its answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pull {
    /// SIM800, `AT+CIPRXGET=2,0,1460`: `+CIPRXGET: 2,0,<read>,<left>`, the bytes, `OK`.
    Ciprxget,
    /// SIM7080, `AT+CARECV=0,1460`: `+CARECV: <len>,<bytes>` on one line, `OK`.
    Carecv,
}

impl Pull {
    /// The read command, for [`CHUNK`] bytes.
    fn request(self) -> &'static [u8] {
        match self {
            Pull::Ciprxget => b"AT+CIPRXGET=2,0,1460\r",
            Pull::Carecv => b"AT+CARECV=0,1460\r",
        }
    }

    /// The URC that says data came into the empty buffer (skipped).
    fn arrived(self) -> &'static str {
        match self {
            Pull::Ciprxget => "+CIPRXGET: 1,0",
            Pull::Carecv => "+CADATAIND: 0",
        }
    }

    /// The URC that says the server closed.
    fn closed(self) -> &'static str {
        match self {
            Pull::Ciprxget => "0, CLOSED",
            Pull::Carecv => "+CASTATE: 0,0",
        }
    }

    /// What ends an answer after its `n` bytes.
    fn tail(self, n: usize) -> &'static [u8] {
        match (self, n) {
            (Pull::Carecv, 1..) => b"\r\n\r\nOK\r\n",
            _ => OK,
        }
    }

    /// A full answer with `data` (of [`CHUNK`] bytes), as the ceiling's responder gives it.
    fn canned(self, data: &[u8]) -> Vec<u8> {
        let mut answer = match self {
            Pull::Ciprxget => format!("\r\n+CIPRXGET: 2,0,{CHUNK},{CANNED_LEFT}\r\n"),
            Pull::Carecv => format!("\r\n+CARECV: {CHUNK},"),
        }
        .into_bytes();
        answer.extend_from_slice(data);
        answer.extend_from_slice(self.tail(data.len()));
        answer
    }
}

/// How one client fetched the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    /// vmodem sim800, `AT+CIPRXGET=2,0,1460` until closed and empty.
    Ciprxget,
    /// The same host loop against canned `+CIPRXGET: 2` answers.
    CiprxgetCeiling,
    /// vmodem sim7080, `AT+CARECV=0,1460` until closed and empty.
    Carecv,
    /// The same host loop against canned `+CARECV` answers.
    CarecvCeiling,
    /// vmodem sim800 in transparent mode, up to `CLOSED`.
    Transparent,
    /// A plain TCP read of the file from the server.
    Plain,
}

impl Client {
    const ALL: [Client; 6] = [
        Client::Ciprxget,
        Client::CiprxgetCeiling,
        Client::Carecv,
        Client::CarecvCeiling,
        Client::Transparent,
        Client::Plain,
    ];

    fn family(self) -> &'static str {
        match self {
            Client::Ciprxget | Client::Transparent => "sim800",
            Client::Carecv => "sim7080",
            Client::CiprxgetCeiling | Client::CarecvCeiling => "canned responder",
            Client::Plain => "none",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Client::Ciprxget => "vmodem `AT+CIPRXGET=2,0,1460`",
            Client::CiprxgetCeiling => "host loop `AT+CIPRXGET=2,0,1460` (ceiling)",
            Client::Carecv => "vmodem `AT+CARECV=0,1460`",
            Client::CarecvCeiling => "host loop `AT+CARECV=0,1460` (ceiling)",
            Client::Transparent => "vmodem `AT+CIPMODE=1` (transparent)",
            Client::Plain => "plain TCP read",
        }
    }

    /// The client this one is compared with.
    fn reference(self) -> Option<Client> {
        match self {
            Client::Ciprxget => Some(Client::CiprxgetCeiling),
            Client::Carecv => Some(Client::CarecvCeiling),
            Client::Transparent => Some(Client::Plain),
            _ => None,
        }
    }

    /// Whether it fetches the whole file (a ceiling reads whole chunks only).
    fn whole_file(self) -> bool {
        !matches!(self, Client::CiprxgetCeiling | Client::CarecvCeiling)
    }
}

/// The hosts of every client, each on its own line.
struct Hosts {
    ciprxget: Host,
    ciprxget_ceiling: Host,
    carecv: Host,
    carecv_ceiling: Host,
    transparent: Host,
}

fn main() -> anyhow::Result<()> {
    let mib = support::file_mib(DEFAULT_MIB)?;
    let data = Arc::new(random_bytes(mib << 20));
    let len = data.len();
    let ceiling_len = len - len % CHUNK;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let server = runtime.block_on(file_server(data.clone()))?;
    let modem = |family| support::start_modem(&runtime, ModuleConfig { family, ..Default::default() }, Net::default());
    let canned = |pull: Pull| {
        let answer = pull.canned(&random_bytes(CHUNK));
        runtime.block_on(support::loopback_responder(move |read, out| {
            for _ in read.iter().filter(|&&b| b == b'\r') {
                out.extend_from_slice(&answer);
            }
        }))
    };
    let mut hosts = Hosts {
        ciprxget: Host::connect(modem(Family::Sim800)?)?.failing_on(is_failure),
        ciprxget_ceiling: Host::connect(canned(Pull::Ciprxget)?)?,
        carecv: Host::connect(modem(Family::Sim7080)?)?.failing_on(is_failure),
        carecv_ceiling: Host::connect(canned(Pull::Carecv)?)?,
        transparent: Host::connect(modem(Family::Sim800)?)?.failing_on(is_failure),
    };
    hosts.ciprxget.bring_up_cip(&["AT+CIPMUX=1", "AT+CIPRXGET=1"])?;
    hosts.transparent.bring_up_cip(&["AT+CIPMODE=1"])?;
    hosts.carecv.command("ATE0")?;
    hosts.carecv.command("AT+CNACT=0,1")?;
    hosts.carecv.wait_for("+APP PDP: 0,ACTIVE")?;

    let mut times: Vec<(Client, Duration)> = Vec::new();
    let mut empty_reads = [0u64; 2];
    let mut received = Vec::with_capacity(len);
    for _ in 0..RUNS {
        for client in Client::ALL {
            received.clear();
            let start = Instant::now();
            match client {
                Client::Ciprxget => {
                    empty_reads[0] += hosts.ciprxget.pull_download(Pull::Ciprxget, server, &mut received, len)?
                }
                Client::CiprxgetCeiling => {
                    hosts.ciprxget_ceiling.ceiling(Pull::Ciprxget, &mut received, ceiling_len)?
                }
                Client::Carecv => {
                    empty_reads[1] += hosts.carecv.pull_download(Pull::Carecv, server, &mut received, len)?
                }
                Client::CarecvCeiling => hosts.carecv_ceiling.ceiling(Pull::Carecv, &mut received, ceiling_len)?,
                Client::Transparent => hosts.transparent.transparent(server, &mut received, len)?,
                Client::Plain => plain_read(server, &mut received, len)?,
            }
            times.push((client, start.elapsed()));
            if client.whole_file() {
                ensure!(received == *data, "{} delivered different bytes than the file holds", client.label());
            }
        }
    }

    let of = |client: Client| times.iter().filter(|(c, _)| *c == client).map(|(_, d)| *d).collect::<Vec<_>>();
    let bytes = |client: Client| if client.whole_file() { len } else { ceiling_len };
    println!("Socket download of {mib} MiB through vmodem (TCP transport, no pacing) from a loopback TCP server");
    println!("{RUNS} runs of each client, in turn; median shown, every run in the last column");
    println!();
    println!("| family | client | seconds | MiB/s | ratio | runs (s) |");
    println!("| --- | --- | ---: | ---: | ---: | --- |");
    for client in Client::ALL {
        let m = median(&of(client));
        let m_rate = rate(bytes(client), m);
        let ratio = match client.reference() {
            Some(r) => format!("{:.3} of {}", m_rate / rate(bytes(r), median(&of(r))), r.label()),
            None => String::new(),
        };
        let mut all = runs(&of(client));
        match client {
            Client::Ciprxget => all = format!("{all} ({} × `+CIPRXGET: 2,0,0,0` before the end)", empty_reads[0]),
            Client::Carecv => all = format!("{all} ({} × `+CARECV: 0` before the end)", empty_reads[1]),
            _ => {}
        }
        println!(
            "| {} | {} | {:.2} | {m_rate:.1} | {ratio} | {all} |",
            client.family(),
            client.label(),
            m.as_secs_f64()
        );
    }
    Ok(())
}

/// A loopback TCP task that writes the whole of `data` to every connection it accepts, then
/// closes it.
async fn file_server(data: Arc<Vec<u8>>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let data = data.clone();
            tokio::spawn(async move {
                if stream.write_all(&data).await.is_ok() {
                    stream.shutdown().await.ok();
                }
            });
        }
    });
    Ok(addr)
}

/// Reads the file straight from the server into `out`, expecting `len` bytes.
fn plain_read(server: SocketAddr, out: &mut Vec<u8>, len: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + DOWNLOAD_LIMIT;
    let mut stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut buf = vec![0; PLAIN_CHUNK];
    loop {
        ensure!(Instant::now() < deadline, "the plain read took longer than {DOWNLOAD_LIMIT:?}");
        let n = stream.read(&mut buf).context("reading from the server")?;
        if n == 0 {
            return Ok(());
        }
        ensure!(out.len() + n <= len, "more bytes than the file holds");
        out.extend_from_slice(&buf[..n]);
    }
}

/// Whether `line` ends a wait in failure: a connection that did not open.
fn is_failure(line: &str) -> bool {
    line.ends_with("CONNECT FAIL") || line.strip_prefix("+CAOPEN: 0,").is_some_and(|code| code != "0")
}

/// The socket side of the host: bring-up, the read loops, transparent mode.
impl Host {
    /// Echo off, `settings` (in `IP INITIAL`), then the SIM800's context: `AT+CSTT`,
    /// `AT+CIICR`, `AT+CIFSR` (which answers the address alone).
    fn bring_up_cip(&mut self, settings: &[&str]) -> anyhow::Result<()> {
        self.command("ATE0")?;
        for cmd in settings {
            self.command(cmd)?;
        }
        self.command("AT+CSTT=\"CMNET\"")?;
        self.command("AT+CIICR")?;
        self.send(b"AT+CIFSR\r")?;
        let ip = self.line()?;
        ensure!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "AT+CIFSR: {ip:?}");
        Ok(())
    }

    /// Opens connection 0 to `server` for a read-on-request loop.
    fn pull_open(&mut self, pull: Pull, server: SocketAddr) -> anyhow::Result<()> {
        let (ip, port) = (server.ip(), server.port());
        match pull {
            Pull::Ciprxget => {
                self.command(&format!("AT+CIPSTART=0,\"TCP\",\"{ip}\",{port}"))?;
                self.wait_for("0, CONNECT OK")
            }
            Pull::Carecv => {
                self.send(format!("AT+CAOPEN=0,0,\"TCP\",\"{ip}\",{port}\r").as_bytes())?;
                self.wait_for("+CAOPEN: 0,0")?;
                self.wait_for("OK")
            }
        }
    }

    /// Downloads the file from `server` into `out`, expecting `len` bytes: opens connection 0,
    /// reads until the server has closed and a read finds nothing, and frees the connection.
    /// Returns how many reads found nothing before that.
    fn pull_download(&mut self, pull: Pull, server: SocketAddr, out: &mut Vec<u8>, len: usize) -> anyhow::Result<u64> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.pull_open(pull, server)?;
        let (mut closed, mut empty) = (false, 0);
        loop {
            ensure!(Instant::now() < deadline, "the download took longer than {DOWNLOAD_LIMIT:?}");
            if self.read_chunk(pull, out, len, &mut closed)? == 0 {
                if closed {
                    break;
                }
                empty += 1;
            }
        }
        ensure!(out.len() == len, "{} of {len} bytes came before the end", out.len());
        if pull == Pull::Carecv {
            self.command("AT+CACLOSE=0")?;
        }
        Ok(empty)
    }

    /// The ceiling: the same reads against the canned responder, up to `len` bytes.
    fn ceiling(&mut self, pull: Pull, out: &mut Vec<u8>, len: usize) -> anyhow::Result<()> {
        let mut closed = false;
        while out.len() < len {
            ensure!(self.read_chunk(pull, out, len, &mut closed)? == CHUNK, "a short canned answer");
        }
        Ok(())
    }

    /// One read command and its answer: appends the data to `out` (which must not grow beyond
    /// `len`) and returns its length. URCs before the answer are skipped; `closed` is set when
    /// one says the server closed.
    fn read_chunk(&mut self, pull: Pull, out: &mut Vec<u8>, len: usize, closed: &mut bool) -> anyhow::Result<usize> {
        self.send(pull.request())?;
        let n = loop {
            if let Some(n) = self.answer_head(pull)? {
                break n;
            }
            match self.line()? {
                urc if urc == pull.closed() => *closed = true,
                urc if urc == pull.arrived() => {}
                line => bail!("after {} of {len} bytes: {line:?}", out.len()),
            }
        };
        ensure!(out.len() + n <= len, "more bytes than the file holds");
        self.take(n, out)?;
        self.expect_bytes(pull.tail(n)).with_context(|| format!("after {n} bytes of data"))?;
        Ok(n)
    }

    /// If the next line is the head of `pull`'s answer, uses it up to the data and returns the
    /// data's length; otherwise uses nothing (but empty lines).
    fn answer_head(&mut self, pull: Pull) -> anyhow::Result<Option<usize>> {
        match pull {
            Pull::Ciprxget => {
                const HEAD: &str = "+CIPRXGET: 2,0,";
                if !self.next_starts_with(HEAD.as_bytes())? {
                    return Ok(None);
                }
                let line = self.line()?;
                let read = line[HEAD.len()..].split(',').next().and_then(|n| n.parse().ok());
                read.map(Some).with_context(|| format!("{line:?}"))
            }
            Pull::Carecv => {
                const HEAD: &[u8] = b"+CARECV: ";
                if !self.next_starts_with(HEAD)? {
                    return Ok(None);
                }
                self.consume(HEAD.len());
                let (text, stop) = self.until_any(b",\r")?;
                let n = text.parse().with_context(|| format!("+CARECV: {text:?}"))?;
                match (n, stop) {
                    (0, b'\r') => self.expect_bytes(b"\n")?,
                    (1.., b',') => {}
                    _ => bail!("+CARECV: {text}{:?}", stop as char),
                }
                Ok(Some(n))
            }
        }
    }

    /// Downloads the file from `server` in transparent mode into `out`, expecting `len` bytes:
    /// `AT+CIPSTART`, `CONNECT`, the bytes, `CLOSED`.
    fn transparent(&mut self, server: SocketAddr, out: &mut Vec<u8>, len: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.command(&format!("AT+CIPSTART=\"TCP\",\"{}\",{}", server.ip(), server.port()))?;
        self.expect_line("CONNECT")?;
        while out.len() < len {
            ensure!(Instant::now() < deadline, "the download took longer than {DOWNLOAD_LIMIT:?}");
            self.take((len - out.len()).min(PLAIN_CHUNK), out)?;
        }
        self.expect_line("CLOSED").context("after the file's bytes")
    }
}
