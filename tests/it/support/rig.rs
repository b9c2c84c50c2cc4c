//! The rig of the FTP scenario tests: real servers (the in-process libunftp server, and
//! Debian's vsftpd and proftpd as scripts/test-servers.sh starts them), a fresh folder on the
//! server for every test, and a real [`Modem`] driven by an [`AtHost`] whose FTP server
//! address leads there. Shared by several test files, each of which uses a part of it.
#![allow(dead_code, unused_macros)]

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig, EmbeddedFtps};
use vmodem::modem::Modem;
use vmodem::net::Fault;
use vmodem::net::{LinkProfile, Net, NetConfig, Redirect};
use vmodem::record::Recorder;
use vmodem::transport::{Link, Links};

use super::at_host::{AtHost, SessionEnd};

/// The server address the host gives the modem (the application notes' server); redirected to the test's.
pub const FTP_HOST: &str = "112.74.93.163";
/// The largest read of `AT+FTPGET=2,<n>`.
pub const CHUNK: usize = 1460;
/// The login of the embedded server.
pub const EMBEDDED_USER: &str = "simcomtest";
pub const EMBEDDED_PASS: &str = "simcomtest";
/// The module file system's size in the scenarios: room for the big files.
pub const MODULE_FS_QUOTA: u64 = 1 << 30;
/// The longest one scenario may run (the 64 MiB downloads included).
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------------------------------------
// The servers

/// Which FTP server a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The in-process libunftp server (`vmodem::embedded::ftp`).
    Libunftp,
    /// Debian's vsftpd, started by scripts/test-servers.sh.
    Vsftpd,
    /// Debian's proftpd, started by scripts/test-servers.sh.
    Proftpd,
}

/// A server and this test's own folder on it.
pub struct Server {
    pub kind: Kind,
    /// The modem family [`modem`](Self::modem) builds (`sim7080` unless the test chose).
    pub family: &'static str,
    /// Where its control connection listens.
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    /// This test's folder, on disk (inside the server's root).
    pub dir: TempDir,
    /// The same folder as the server names it (`/scenario-XXXX`).
    pub remote: String,
    /// Keeps the embedded server (and its root folder) alive.
    pub _embedded: Option<(EmbeddedFtp, TempDir)>,
}

impl Server {
    pub async fn start(kind: Kind) -> Server {
        Self::start_with(kind, None).await
    }

    /// The embedded server with explicit FTPS.
    pub async fn embedded_ftps(ftps: EmbeddedFtps) -> Server {
        Self::start_with(Kind::Libunftp, Some(ftps)).await
    }

    async fn start_with(kind: Kind, ftps: Option<EmbeddedFtps>) -> Server {
        let (addr, root, user, password, embedded) = match kind {
            Kind::Libunftp => {
                let root = tempfile::tempdir().expect("temporary folder");
                let config = EmbeddedFtpConfig {
                    root: root.path().to_path_buf(),
                    user: EMBEDDED_USER.into(),
                    password: EMBEDDED_PASS.into(),
                    bind: SocketAddr::from(([127, 0, 0, 1], 0)),
                };
                let ftp = match ftps {
                    Some(ftps) => EmbeddedFtp::start_ftps(config, ftps).await,
                    None => EmbeddedFtp::start(config).await,
                }
                .expect("the embedded FTP server starts");
                let path = root.path().to_path_buf();
                (ftp.addr(), path, EMBEDDED_USER.to_string(), EMBEDDED_PASS.to_string(), Some((ftp, root)))
            }
            Kind::Vsftpd | Kind::Proftpd => {
                let env = ServersEnv::load();
                let key = if kind == Kind::Vsftpd { "VSFTPD" } else { "PROFTPD" };
                let port: u16 = env.get(&format!("{key}_PORT")).parse().expect("a port number in servers.env");
                let root = PathBuf::from(env.get(&format!("{key}_ROOT")));
                (SocketAddr::from(([127, 0, 0, 1], port)), root, env.get("FTP_USER"), env.get("FTP_PASS"), None)
            }
        };
        let dir = tempfile::Builder::new().prefix("scenario-").tempdir_in(&root).expect("a folder in the server root");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod 0777");
        let name = dir.path().file_name().and_then(|n| n.to_str()).expect("a UTF-8 folder name");
        let remote = format!("/{name}");
        Server { kind, family: "sim7080", addr, user, password, dir, remote, _embedded: embedded }
    }

    /// A file of this test's folder, on disk.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Puts a fixture file (mode 0644, so every server may read it).
    pub fn write(&self, name: &str, bytes: &[u8]) {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    }

    /// Puts a fixture file that the FTP user may also write to (mode 0666: the real servers'
    /// sessions run as their own user, the fixtures are written by the test's).
    pub fn write_writable(&self, name: &str, bytes: &[u8]) {
        self.write(name, bytes);
        std::fs::set_permissions(self.path(name), std::fs::Permissions::from_mode(0o666)).expect("chmod 0666");
    }

    /// A file of this test's folder as the server stored it.
    pub fn read(&self, name: &str) -> Vec<u8> {
        let path = self.path(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A file of this test's folder as the server stored it, empty if there is none.
    pub fn read_if_any(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_default()
    }

    /// A modem whose FTP server address leads to this server, bearer up, login and folder set:
    /// the SIMCom families' parameters (FTPSERV, FTPUN, FTPPW, the GET and PUT paths), or for
    /// the L610 its held session, logged in with the test's folder as working directory.
    pub async fn modem(&self) -> Rig {
        self.modem_with(self.addr, Vec::new()).await
    }

    /// Like [`modem`](Self::modem), with the control connection going to `target` and more
    /// redirects after the one for [`FTP_HOST`].
    pub async fn modem_with(&self, target: SocketAddr, more: Vec<Redirect>) -> Rig {
        self.rig(target, more, Vec::new(), LinkProfile::INSTANT, None).await
    }

    /// Like [`modem`](Self::modem), with `faults` injected into its connections.
    pub async fn modem_with_faults(&self, faults: Vec<Fault>) -> Rig {
        self.rig(self.addr, Vec::new(), faults, LinkProfile::INSTANT, None).await
    }

    /// Like [`modem`](Self::modem), with its connections under a link profile.
    pub async fn modem_with_profile(&self, profile: LinkProfile) -> Rig {
        self.rig(self.addr, Vec::new(), Vec::new(), profile, None).await
    }

    /// Like [`modem`](Self::modem), with the modem's line recorded by `recorder`.
    pub async fn recorded_modem(&self, recorder: &Recorder) -> Rig {
        self.rig(self.addr, Vec::new(), Vec::new(), LinkProfile::INSTANT, Some(recorder)).await
    }

    async fn rig(
        &self,
        target: SocketAddr,
        more: Vec<Redirect>,
        faults: Vec<Fault>,
        profile: LinkProfile,
        recorder: Option<&Recorder>,
    ) -> Rig {
        let mut redirects = vec![Redirect::new(FTP_HOST, Some(21), target)];
        redirects.extend(more);
        let mut config = ModuleConfig::default();
        config.fs.quota = MODULE_FS_QUOTA;
        let net = Net::new(NetConfig::redirecting(redirects)).with_faults(faults).with_profile(profile);
        let mut rig = launch_recorded(self.family, config, net, recorder).await;
        let h = &mut rig.host;
        if self.family == "l610" {
            self.l610_login(h).await;
            return rig;
        }
        if self.family == "sim900" {
            h.add_colon_space();
        }
        if self.family.starts_with("sim70") && self.family != "sim7000" {
            h.ok("AT+CNACT=0,1").await;
            h.wait_urc("+APP PDP: 0,ACTIVE").await;
            h.ok("AT+FTPCID=0").await;
        } else {
            // The SAPBR families' bring-up, as their application notes give it.
            h.ok("AT+SAPBR=3,1,\"Contype\",\"GPRS\"").await;
            h.ok("AT+SAPBR=3,1,\"APN\",\"CMNET\"").await;
            h.ok("AT+SAPBR=1,1").await;
            h.ok("AT+FTPCID=1").await;
        }
        h.ok(&format!("AT+FTPSERV=\"{FTP_HOST}\"")).await;
        h.ok(&format!("AT+FTPUN=\"{}\"", self.user)).await;
        h.ok(&format!("AT+FTPPW=\"{}\"", self.password)).await;
        h.ok(&format!("AT+FTPGETPATH=\"{}\"", self.remote)).await;
        h.ok(&format!("AT+FTPPUTPATH=\"{}\"", self.remote)).await;
        rig
    }

    /// The L610's bring-up, as its hosts do it: the bearer (`AT+MIPCALL=1,"CMNET"`, then
    /// `+MIPCALL: <ip>`), the one login of the session (`AT+FTPOPEN`, then `+FTPOPEN: 1`), and
    /// this test's folder as the working directory (`AT+FTPCWD`, then `+FTPCWD: 1`). The host
    /// reads the L610's URCs ([`is_fibocom_urc`](super::at_host::is_fibocom_urc)).
    async fn l610_login(&self, h: &mut AtHost<DuplexStream>) {
        h.urc_rule(super::at_host::is_fibocom_urc);
        h.ok("AT+MIPCALL=1,\"CMNET\"").await;
        let call = h.wait_urc("+MIPCALL: ").await;
        assert_ne!(call, "+MIPCALL: 0", "the bearer did not come up");
        h.ok(&format!("AT+FTPOPEN=\"{FTP_HOST}\",\"{}\",\"{}\"", self.user, self.password)).await;
        assert_eq!(h.outcome("+FTPOPEN").await.code, 1, "the login failed");
        h.ok(&format!("AT+FTPCWD=\"{}\"", self.remote)).await;
        assert_eq!(h.outcome("+FTPCWD").await.code, 1, "CWD to {} failed", self.remote);
    }
}

/// The KEY=VALUE lines of scripts/test-servers.sh's servers.env.
pub struct ServersEnv {
    path: PathBuf,
    text: String,
}

impl ServersEnv {
    pub fn load() -> ServersEnv {
        let base = std::env::var("VMODEM_SERVERS").unwrap_or_else(|_| "/tmp/vmodem-servers".into());
        let path = Path::new(&base).join("servers.env");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: the real FTP servers are not running (start them with scripts/test-servers.sh start)",
                path.display()
            )
        });
        ServersEnv { path, text }
    }

    pub fn get(&self, key: &str) -> String {
        self.text
            .lines()
            .find_map(|l| l.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.to_string()))
            .unwrap_or_else(|| panic!("{key} missing from {}", self.path.display()))
    }
}

/// A running modem and the host talking to it.
pub struct Rig {
    pub host: AtHost<DuplexStream>,
    /// The modem's family.
    pub family: &'static str,
    /// The module file system's folder.
    pub fs: TempDir,
    pub _modem: AbortOnDrop,
}

/// Starts a modem of `family` with `config` (its file system in a fresh folder) on `net`, and
/// synchronises the host with it (echo off); nothing else.
pub async fn launch(family: &'static str, config: ModuleConfig, net: Net) -> Rig {
    launch_recorded(family, config, net, None).await
}

/// Like [`launch`], with the modem's line recorded by `recorder` if there is one.
pub async fn launch_recorded(
    family: &'static str,
    mut config: ModuleConfig,
    net: Net,
    recorder: Option<&Recorder>,
) -> Rig {
    let fs = tempfile::tempdir().expect("a folder for the module file system");
    config.fs.root = Some(fs.path().to_path_buf());
    config.family = family.parse().expect("a family");
    let dialect = dialect::build(std::sync::Arc::new(config)).expect("the family's dialect");
    let (host, line) = tokio::io::duplex(1 << 16);
    let line: Link = Box::new(line);
    let line = match recorder {
        Some(r) => r.wrap(line),
        None => line,
    };
    let task = tokio::spawn(Modem::new(dialect, net).run(Links::single(line)));
    let mut rig = Rig { host: AtHost::new(host), family, fs, _modem: AbortOnDrop(task) };
    rig.host.init().await;
    rig
}

impl Rig {
    /// A file of the module file system on disk (`folder` is `customer`, `fota`, ...).
    pub fn module_file(&self, folder: &str, name: &str) -> PathBuf {
        self.fs.path().join(folder).join(name)
    }
}

impl std::ops::Deref for Rig {
    type Target = AtHost<DuplexStream>;
    fn deref(&self) -> &Self::Target {
        &self.host
    }
}

impl std::ops::DerefMut for Rig {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.host
    }
}

/// Stops the modem task when the test is done.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Downloads `name` from the test folder (FTPGETNAME; FTPGETPATH is the folder) with reads of
/// `CHUNK`; returns the session's end code and the bytes.
pub async fn get(m: &mut Rig, name: &str) -> (u32, Vec<u8>) {
    m.ok(&format!("AT+FTPGETNAME=\"{name}\"")).await;
    m.ok("AT+FTPGET=1").await;
    let mut data = Vec::new();
    let got = m.download("+FTPGET", CHUNK, |b| data.extend_from_slice(b)).await;
    assert_eq!(got.bytes, data.len() as u64);
    (got.code, data)
}

/// Uploads `data` as `name` into the test folder with the current FTPPUTOPT.
pub async fn put(m: &mut Rig, name: &str, data: &[u8]) -> SessionEnd {
    m.ok(&format!("AT+FTPPUTNAME=\"{name}\"")).await;
    m.ok("AT+FTPPUT=1").await;
    m.upload(data).await
}

/// Runs a one-shot command (`AT+FTPSIZE`...) and returns how its session ended.
pub async fn one_shot(m: &mut Rig, name: &str) -> SessionEnd {
    m.ok(&format!("AT{name}")).await;
    m.session_end(name).await
}

/// `AT+FTPSTATE` says no session runs.
pub async fn assert_idle(m: &mut Rig) {
    assert_eq!(m.ok("AT+FTPSTATE").await, ["+FTPSTATE: 0"]);
}

pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every byte value 0..=255, `rounds` times over (CR, LF, `OK` and `+FTPGET:` lookalikes
/// included: the payload framing must not care).
pub fn every_byte(rounds: usize) -> Vec<u8> {
    (0..=255u8).cycle().take(256 * rounds).collect()
}

/// Bytes whose every 8-byte word depends on its offset, so a lost, repeated or swapped chunk
/// shows (a file of zeros or of one repeated block would hide those).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut word = seed;
    while out.len() < len {
        word = word.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An address nothing listens on: a socket bound to it and never listening, so connections
/// are refused and no other test can take the port meanwhile (keep the socket while needed).
pub fn closed_port() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let addr = socket.local_addr().expect("local address");
    (socket, addr)
}

// ---------------------------------------------------------------------------------------------
// One test per scenario and server

/// Logs to the test's output as RUST_LOG says (nothing without it), e.g.
/// `RUST_LOG=vmodem::ftp=trace,vmodem::modem=debug`.
pub fn trace() {
    if std::env::var_os("RUST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::from_default_env();
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// Runs a scenario against a fresh server folder, within [`SCENARIO_LIMIT`].
pub async fn run<F: Future<Output = ()>>(kind: Kind, scenario: fn(Server) -> F) {
    run_family("sim7080", kind, scenario).await;
}

/// Like [`run`], with a modem of `family`.
pub async fn run_family<F: Future<Output = ()>>(family: &'static str, kind: Kind, scenario: fn(Server) -> F) {
    trace();
    let mut server = Server::start(kind).await;
    server.family = family;
    if tokio::time::timeout(SCENARIO_LIMIT, scenario(server)).await.is_err() {
        panic!("{kind:?}: the scenario ran longer than {SCENARIO_LIMIT:?}");
    }
}

/// One test per scenario against one server, each with the attribute `$attr`: a `doc` for the
/// embedded server, the `ignore` of the Debian servers for the others (scripts/test.sh runs
/// those; `cargo test` alone does not).
macro_rules! server_tests {
    ($module:ident, $kind:expr, $attr:meta; $($scenario:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[$attr]
                async fn $scenario() {
                    super::run($kind, super::$scenario).await;
                }
            )*
        }
    };
}

/// One test per scenario and server for a family other than the SIM7080:
/// `sim800::libunftp::<scenario>`, `sim800::vsftpd::<scenario>`.
macro_rules! family_tests {
    ($family:ident; $($scenario:ident),* $(,)?) => {
        mod $family {
            family_server_tests!($family, libunftp, super::super::Kind::Libunftp, doc = "the embedded server"; $($scenario),*);
            family_server_tests!($family, vsftpd, super::super::Kind::Vsftpd, ignore = "needs the Debian test servers (scripts/test.sh starts them)"; $($scenario),*);
        }
    };
}

macro_rules! family_server_tests {
    ($family:ident, $module:ident, $kind:expr, $attr:meta; $($scenario:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[$attr]
                async fn $scenario() {
                    super::super::run_family(stringify!($family), $kind, super::super::$scenario).await;
                }
            )*
        }
    };
}

/// One test per scenario and server: `libunftp::<scenario>`, `vsftpd::<scenario>`,
/// `proftpd::<scenario>`.
macro_rules! scenarios {
    ($($scenario:ident),* $(,)?) => {
        server_tests!(libunftp, super::Kind::Libunftp, doc = "the embedded server"; $($scenario),*);
        server_tests!(vsftpd, super::Kind::Vsftpd, ignore = "needs the Debian test servers (scripts/test.sh starts them)"; $($scenario),*);
        server_tests!(proftpd, super::Kind::Proftpd, ignore = "needs the Debian test servers (scripts/test.sh starts them)"; $($scenario),*);
    };
}

/// A free TCP port on loopback (bound and let go: what the test starts next takes it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A remote client of a server the modem opened on `127.0.0.1:port`: writes `data` while it
/// reads as many bytes back, and returns them with its connection, still open (a module takes
/// the peer's FIN for the connection's close).
pub fn remote_client(port: u16, data: Vec<u8>) -> tokio::task::JoinHandle<(Vec<u8>, tokio::net::TcpStream)> {
    tokio::spawn(async move {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("the modem's server");
        let (mut rd, mut wr) = stream.into_split();
        let write = async {
            wr.write_all(&data).await.expect("the client's bytes go");
            wr
        };
        let read = async {
            let mut back = vec![0u8; data.len()];
            rd.read_exact(&mut back).await.expect("the bytes come back");
            back
        };
        let (wr, back) = tokio::join!(write, read);
        (back, rd.reunite(wr).expect("the halves of one connection"))
    })
}

/// Reads `line` byte by byte up to and including `end`, within `wait`; what came. Panics with
/// what came if `end` does not.
pub async fn read_until<L: tokio::io::AsyncRead + Unpin>(line: &mut L, end: &str, wait: Duration) -> String {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    while !got.ends_with(end.as_bytes()) {
        let mut byte = [0u8; 1];
        match tokio::time::timeout_at(deadline, line.read(&mut byte)).await {
            Ok(Ok(1)) => got.push(byte[0]),
            _ => panic!("waited for {end:?}; came {:?}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `cmd` and CR on `line`, and reads its answer up to `OK`, within `wait`.
pub async fn at_ok<L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    line: &mut L,
    cmd: &str,
    wait: Duration,
) -> String {
    line.write_all(format!("{cmd}\r").as_bytes()).await.expect("the modem's line");
    read_until(line, "OK\r\n", wait).await
}
