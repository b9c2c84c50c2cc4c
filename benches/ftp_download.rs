//! Download throughput: a 256 MiB file fetched through a sim7080 vmodem on the TCP transport,
//! no pacing, three ways: `AT+FTPGET=1` then `AT+FTPGET=2,1460` until `+FTPGET: 1,0`;
//! `AT+FTPEXTGET=2` into the module file system; and the `AT+FTPETGET` DLE/ETX stream. Beside
//! them `curl` fetches the same file from the same server in the same run, into /dev/null and
//! into a file in the same folder as the module file system (the reference for EXTGET). vsftpd
//! serves the file twice: plain, and over explicit FTPS (`AT+FTPSSL=2` with the test CA
//! converted; curl with `--ssl-reqd --cacert`), where only EXTGET and ETGET run. The server is the embedded
//! libunftp server on loopback, and vsftpd as scripts/test-servers.sh starts it (run
//! `scripts/test-servers.sh start` first; without it the benchmark stops with that advice).
//!
//! `cargo bench --bench ftp_download` prints one Markdown table: seconds per download (median
//! of [`RUNS`], runs alternating between vmodem and curl), MiB/s, and the ratio vmodem/curl.
//! Each vmodem download is checked byte for byte against the file; each curl download by its
//! size. A vmodem download is timed from sending `AT+FTPGET=1` to reading `+FTPGET: 1,0`, so
//! like curl's it includes the login and the data connection. curl is timed from spawn to exit.
//!
//! The host is a plain thread with a blocking socket, as a driver would be: it sends one
//! command, reads its whole response, then sends the next. `+FTPGET: 1,1` URCs between
//! responses are skipped; a `+FTPGET: 2,0` (nothing buffered yet) is counted and read again.
//!
//! A third client shows the ceiling of this way of reading: the same host loop against a
//! loopback TCP task that answers every `AT+FTPGET=2,1460` at once with a canned full response
//! (`+FTPGET: 2,1460`, 1460 bytes, `OK`), a modem that costs nothing and never runs dry.
//!
//! `VMODEM_BENCH_MIB` sets another file size in MiB (for a quick check).

mod support;
#[path = "support/vsftpd.rs"]
mod vsftpd;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use support::{Host, OK, median, random_bytes, rate, runs};
use vmodem::config::ModuleConfig;
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem_at::dle::Unescaper;
use vsftpd::Vsftpd;

/// The file size in MiB unless `VMODEM_BENCH_MIB` says otherwise.
const DEFAULT_MIB: usize = 256;
/// Downloads per client and server; the table shows the median.
const RUNS: usize = 3;
/// Bytes the host asks for per `AT+FTPGET=2`: the most the SIM7080 allows.
const CHUNK: usize = 1460;
/// The host's read command, for [`CHUNK`] bytes.
const REQUEST: &[u8] = b"AT+FTPGET=2,1460\r";
/// The longest one download may take, through vmodem or curl.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(900);
/// The remote file's name.
const FILE_NAME: &str = "vmodem-bench.bin";
/// The embedded server's login.
const EMBEDDED_LOGIN: (&str, &str) = ("bench", "bench");

/// An FTP server to download from.
struct Server {
    /// Its name in the table.
    name: &'static str,
    /// The name the host gives in `AT+FTPSERV`, redirected to `addr`.
    host: &'static str,
    addr: SocketAddr,
    user: String,
    password: String,
    /// For explicit FTPS: the CA certificate that issued the server's (PEM).
    ca: Option<PathBuf>,
}

/// How one client fetched the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    /// vmodem, `AT+FTPGET=2,1460` until `+FTPGET: 1,0`.
    FtpGet,
    /// vmodem, `AT+FTPEXTGET=2` into the module file system.
    ExtGetToFs,
    /// vmodem, the `AT+FTPETGET` DLE/ETX stream.
    EtGet,
    /// curl into /dev/null.
    CurlNull,
    /// curl into a file beside the module file system's.
    CurlFile,
}

impl Client {
    const ALL: [Client; 5] = [Client::FtpGet, Client::ExtGetToFs, Client::EtGet, Client::CurlNull, Client::CurlFile];

    /// Whether this client runs against `server`: over FTPS only the transfers the FTPS
    /// benchmark is about (the `AT+FTPGET` host loop is bound by its round trips either way).
    fn runs_on(self, server: &Server) -> bool {
        server.ca.is_none() || self != Client::FtpGet
    }

    fn label(self) -> &'static str {
        match self {
            Client::FtpGet => "vmodem `AT+FTPGET=2,1460`",
            Client::ExtGetToFs => "vmodem `AT+FTPEXTGET=2` (to the module file system)",
            Client::EtGet => "vmodem `AT+FTPETGET` (DLE/ETX stream)",
            Client::CurlNull => "curl → /dev/null",
            Client::CurlFile => "curl → file",
        }
    }

    /// The curl client the vmodem one is compared with: the same destination.
    fn reference(self) -> Option<Client> {
        match self {
            Client::FtpGet | Client::EtGet => Some(Client::CurlNull),
            Client::ExtGetToFs => Some(Client::CurlFile),
            _ => None,
        }
    }
}

/// One server's results: every run of every client.
struct Row {
    server: &'static str,
    runs: Vec<(Client, Duration)>,
    /// `+FTPGET: 2,0` answers over all `AT+FTPGET` runs.
    empty_reads: u64,
}

impl Row {
    fn of(&self, client: Client) -> Vec<Duration> {
        self.runs.iter().filter(|(c, _)| *c == client).map(|(_, d)| *d).collect()
    }
}

fn main() -> anyhow::Result<()> {
    support::require_curl()?;
    let mib = support::file_mib(DEFAULT_MIB)?;
    let data = random_bytes(mib << 20);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;

    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join(FILE_NAME), &data)?;
    let (user, password) = EMBEDDED_LOGIN;
    let embedded = runtime.block_on(EmbeddedFtp::start(EmbeddedFtpConfig {
        root: dir.path().to_path_buf(),
        user: user.into(),
        password: password.into(),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
    }))?;
    let mut servers = vec![Server {
        name: "libunftp (embedded)",
        host: "embedded.bench.invalid",
        addr: embedded.addr(),
        user: user.into(),
        password: password.into(),
        ca: None,
    }];
    let vsftpd = Vsftpd::find()?;
    let vsftpd_path = vsftpd.root.join(FILE_NAME);
    // The copy in vsftpd's root goes away when this is dropped.
    let _vsftpd_file = RemoveOnDrop(vsftpd_path.clone());
    std::fs::write(&vsftpd_path, &data)?;
    // vsftpd reads it as the FTP user.
    std::fs::set_permissions(&vsftpd_path, std::fs::Permissions::from_mode(0o644))?;
    servers.extend(vsftpd_servers(vsftpd));

    let redirects = servers.iter().map(|s| Redirect::new(s.host, Some(21), s.addr)).collect();
    let mut config = ModuleConfig::default();
    let fs_dir = tempfile::tempdir()?;
    config.fs.root = Some(fs_dir.path().to_path_buf());
    config.fs.quota = u64::MAX;
    let addr = support::start_modem(&runtime, config, Net::new(NetConfig::redirecting(redirects)))?;
    let mut host = Host::connect(addr)?.failing_on(is_failure_urc);
    host.command("ATE0")?;
    host.command("AT+CNACT=0,1")?;
    host.wait_for("+APP PDP: 0,ACTIVE")?;
    for cmd in ["AT+FTPCID=0", "AT+FTPMODE=1", "AT+FTPTYPE=\"I\"", "AT+FTPGETPATH=\"/\""] {
        host.command(cmd)?;
    }
    host.command(&format!("AT+FTPGETNAME=\"{FILE_NAME}\""))?;
    let in_module_fs = fs_dir.path().join("fota").join(FILE_NAME);
    let curl_file = fs_dir.path().join("curl.bin");

    let mut rows = Vec::new();
    let mut received = Vec::with_capacity(data.len());
    for server in &servers {
        host.command(&format!("AT+FTPSERV=\"{}\"", server.host))?;
        host.command(&format!("AT+FTPUN=\"{}\"", server.user))?;
        host.command(&format!("AT+FTPPW=\"{}\"", server.password))?;
        let tls = match &server.ca {
            Some(ca) => {
                host.use_ca(&std::fs::read(ca)?)?;
                "AT+FTPSSL=2,0,\"ca.pem\",\"\""
            }
            None => "AT+FTPSSL=0",
        };
        host.command(tls)?;
        let mut row = Row { server: server.name, runs: Vec::new(), empty_reads: 0 };
        for _ in 0..RUNS {
            for client in Client::ALL.into_iter().filter(|c| c.runs_on(server)) {
                received.clear();
                let start = Instant::now();
                match client {
                    Client::FtpGet => row.empty_reads += host.download(&mut received, data.len())?,
                    Client::ExtGetToFs => host.extget_to_fs()?,
                    Client::EtGet => host.etget(&mut received, data.len())?,
                    Client::CurlNull => curl_download(server, data.len(), Path::new("/dev/null"))?,
                    Client::CurlFile => curl_download(server, data.len(), &curl_file)?,
                }
                row.runs.push((client, start.elapsed()));
                let check = match client {
                    Client::FtpGet | Client::EtGet => received == data,
                    Client::ExtGetToFs => std::fs::read(&in_module_fs)? == data,
                    Client::CurlFile => std::fs::metadata(&curl_file)?.len() == data.len() as u64,
                    Client::CurlNull => true,
                };
                ensure!(check, "{}: {} delivered different bytes than the file holds", server.name, client.label());
                std::fs::remove_file(&in_module_fs).ok();
                std::fs::remove_file(&curl_file).ok();
            }
        }
        rows.push(row);
    }

    let ceiling_len = data.len() - data.len() % CHUNK;
    let mut canned = Host::connect(runtime.block_on(canned_responder())?)?;
    let mut ceiling = Vec::new();
    for _ in 0..RUNS {
        received.clear();
        let start = Instant::now();
        while received.len() < ceiling_len {
            canned.chunk(&mut received, ceiling_len)?;
        }
        ceiling.push(start.elapsed());
    }
    let ceiling_rate = rate(ceiling_len, median(&ceiling));

    println!("FTP download of {mib} MiB through vmodem (sim7080 on TCP, no pacing) beside curl");
    println!("same server, same run; {RUNS} runs of each client, in turn; median shown, every run in the last column");
    println!();
    println!("| server | client | seconds | MiB/s | ratio | runs (s) |");
    println!("| --- | --- | ---: | ---: | ---: | --- |");
    for row in &rows {
        for client in Client::ALL.into_iter().filter(|c| !row.of(*c).is_empty()) {
            let times = row.of(client);
            let m = median(&times);
            let m_rate = rate(data.len(), m);
            let ratio = match client.reference() {
                Some(r) => format!("{:.3} of {}", m_rate / rate(data.len(), median(&row.of(r))), r.label()),
                None => String::new(),
            };
            let mut all = runs(&times);
            if client == Client::FtpGet {
                all = format!(
                    "{all} ({} × `+FTPGET: 2,0`; {:.3} of the host-loop ceiling)",
                    row.empty_reads,
                    m_rate / ceiling_rate
                );
            }
            println!(
                "| {} | {} | {:.2} | {m_rate:.1} | {ratio} | {all} |",
                row.server,
                client.label(),
                m.as_secs_f64()
            );
        }
    }
    println!(
        "| canned responder | host loop (ceiling) | {:.2} | {ceiling_rate:.1} | | {} |",
        median(&ceiling).as_secs_f64(),
        runs(&ceiling)
    );
    drop(embedded);
    Ok(())
}

/// A loopback TCP task that answers each `\r`-terminated request with a full `AT+FTPGET=2,1460`
/// response at once: the fastest modem this host loop could talk to.
async fn canned_responder() -> std::io::Result<SocketAddr> {
    let mut response = format!("\r\n+FTPGET: 2,{CHUNK}\r\n").into_bytes();
    response.extend(random_bytes(CHUNK));
    response.extend(OK);
    support::loopback_responder(move |read, out| {
        for _ in read.iter().filter(|&&b| b == b'\r') {
            out.extend_from_slice(&response);
        }
    })
    .await
}

/// vsftpd from scripts/test-servers.sh as two servers: plain, and with explicit FTPS.
fn vsftpd_servers(vsftpd: Vsftpd) -> [Server; 2] {
    let server = Server {
        name: "vsftpd",
        host: "vsftpd.bench.invalid",
        addr: vsftpd.addr,
        user: vsftpd.user,
        password: vsftpd.password,
        ca: None,
    };
    let tls = Server {
        name: "vsftpd (explicit FTPS)",
        host: "vsftpd-tls.bench.invalid",
        ca: Some(vsftpd.ca),
        user: server.user.clone(),
        password: server.password.clone(),
        ..server
    };
    [server, tls]
}

/// Deletes a file when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

/// Fetches the file with curl (passive mode, as vmodem is set to) into `output`.
fn curl_download(server: &Server, len: usize, output: &Path) -> anyhow::Result<()> {
    let url = format!("ftp://{}/{FILE_NAME}", server.addr);
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--write-out", "%{size_download}", "--output"])
        .arg(output)
        .args(server.ca.iter().flat_map(|ca| [std::ffi::OsStr::new("--ssl-reqd"), "--cacert".as_ref(), ca.as_os_str()]))
        .args(["--max-time", &DOWNLOAD_LIMIT.as_secs().to_string()])
        .arg("--user")
        .arg(format!("{}:{}", server.user, server.password))
        .arg(&url)
        .output()?;
    ensure!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr).trim());
    let size = String::from_utf8_lossy(&out.stdout);
    ensure!(size.trim() == len.to_string(), "curl {url}: {size} bytes instead of {len}");
    Ok(())
}

/// Whether `line` ends an FTP session in failure (`+FTPGET: 1,72`, `+FTPEXTGETFILE: 1,79`).
fn is_failure_urc(line: &str) -> bool {
    ["+FTPGET: 1,", "+FTPEXTGETFILE: 1,", "+FTPETGET: 1,"]
        .iter()
        .any(|p| line.strip_prefix(p).is_some_and(|code| code != "0" && code != "1"))
}

/// The FTP side of the host: the read loops and the FS set-up.
impl Host {
    /// One `AT+FTPGET=2,1460` and its response: appends the data to `out` (which must not grow
    /// beyond `len`) and returns its length. `+FTPGET: 1,1` URCs before the response are skipped.
    fn chunk(&mut self, out: &mut Vec<u8>, len: usize) -> anyhow::Result<usize> {
        self.send(REQUEST)?;
        let n = loop {
            match self.line()? {
                line if line == "+FTPGET: 1,1" => {}
                line => match line.strip_prefix("+FTPGET: 2,").map(str::parse::<usize>) {
                    Some(Ok(n)) => break n,
                    _ => bail!("after {} of {len} bytes: {line:?}", out.len()),
                },
            }
        };
        ensure!(out.len() + n <= len, "more bytes than the file holds");
        self.take(n, out)?;
        self.expect_bytes(OK).with_context(|| format!("after {n} bytes of data"))?;
        Ok(n)
    }

    /// Stores `ca` as /customer/ca.pem, converts it, and names the server `localhost` (the
    /// test certificate's name) in SSL context 0, as a host setting up FTPS does.
    fn use_ca(&mut self, ca: &[u8]) -> anyhow::Result<()> {
        self.command("AT+CFSINIT")?;
        self.send(format!("AT+CFSWFILE=3,\"ca.pem\",0,{},5000\r", ca.len()).as_bytes())?;
        self.wait_for("DOWNLOAD")?;
        self.send(ca)?;
        self.wait_for("OK")?;
        self.command("AT+CFSTERM")?;
        self.command("AT+CSSLCFG=\"convert\",2,\"ca.pem\"")?;
        self.command("AT+CSSLCFG=\"SNI\",0,\"localhost\"")
    }

    /// `AT+FTPEXTGET=2` of the file into /fota/, up to `+FTPEXTGETFILE: 1,0`.
    fn extget_to_fs(&mut self) -> anyhow::Result<()> {
        self.command(&format!("AT+FTPEXTGET=2,1,\"{FILE_NAME}\""))?;
        self.wait_for("+FTPEXTGETFILE: 1,0")
    }

    /// The `AT+FTPETGET` stream of the file, unescaped into `out`, expecting `len` bytes.
    fn etget(&mut self, out: &mut Vec<u8>, len: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.command("AT+FTPETGET=1")?;
        self.wait_for("+FTPETGET: 1,1")?;
        let mut unescaper = Unescaper::default();
        loop {
            ensure!(Instant::now() < deadline, "the stream took longer than {DOWNLOAD_LIMIT:?}");
            let r = unescaper.push(self.pending(), out);
            self.consume(r.consumed);
            ensure!(out.len() <= len, "more bytes than the file holds");
            if r.ended {
                break;
            }
            self.fill()?;
        }
        self.wait_for("+FTPETGET: 1,0").context("after the stream's ETX")
    }

    /// Downloads the file set up by the FTP parameters into `out`, expecting `len` bytes.
    /// Returns how many reads found nothing buffered.
    fn download(&mut self, out: &mut Vec<u8>, len: usize) -> anyhow::Result<u64> {
        let deadline = Instant::now() + DOWNLOAD_LIMIT;
        self.command("AT+FTPGET=1")?;
        self.wait_for("+FTPGET: 1,1")?;
        let mut empty = 0;
        while out.len() < len {
            ensure!(Instant::now() < deadline, "the download took longer than {DOWNLOAD_LIMIT:?}");
            if self.chunk(out, len)? == 0 {
                empty += 1;
            }
        }
        self.wait_for("+FTPGET: 1,0").context("after the last byte")?;
        Ok(empty)
    }
}
