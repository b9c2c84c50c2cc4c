//! Runs every transcript under tests/transcripts/ against an in-process vmodem, byte for byte;
//! those listed in tests/transcripts/recorded.txt also run recorded as `vmodem serve --record`
//! does, and the recording replayed against a fresh modem.
//! A transcript that names `@server ftp` gets a fresh embedded FTP server (libunftp) over a
//! temporary folder holding its `@file` fixtures, reachable at its `{ftp_host}:{ftp_port}`;
//! afterwards its `@after-file` / `@after-missing` state is checked on that folder.
//! `@server silent` is a server that accepts connections and never says a word (the "poor
//! network" of the application notes); `@server refused` is an address nothing listens on.
//! `@server echo` is the in-process echo peer (`vmodem::embedded::echo::EmbeddedEcho`): what a
//! TCP client sends comes back, and each UDP datagram goes back to its sender; the modem
//! reaches both at `{echo_host}:{echo_port}` (by default `116.228.221.51:8500`, the address
//! of the SIMCom TCP/IP application notes). `@server echo-tls` is the same peer speaking TLS
//! with a certificate for `{echo_host}` from a CA made for the run, which becomes the module's
//! built-in trust store (`[http] trusted_ca`, unless `@config` names one).
//! `{free_port}` is a loopback port free when the run starts, for a server the module opens
//! (`AT+CIPSERVER`, `AT+CASERVER`) that `@peer connect {free_port}` then reaches.
//! `@server vsftpd`, `proftpd` or `pureftpd` use the real Debian servers that
//! scripts/test-servers.sh starts (their ports, roots and login come from its servers.env; a
//! missing file fails the test): the fixtures go into a fresh subdirectory of the server's root,
//! which the transcript reaches as `{root}` (empty for the embedded server).
//! `@server http` is the embedded HTTP server (axum) over the fixture folder, reachable at
//! `{http_host}:{http_port}` (port 80 by default), or, when `@var http_proxy` is set, only at
//! `{http_proxy}:{http_proxy_port}` as a proxy would be (it takes absolute-form requests).
//! `@server ftps` is the embedded server with explicit FTPS: a CA made for the run signs its
//! certificate for `{ftp_host}`, and the CA becomes the fixture `{ftps_ca}` (default
//! `ftpbin_root_ca.cer`, AN7080-CN §5.2.1's name), padded to `{ftps_ca_size}` bytes (default 1492, the
//! size AN7080-CN §5.2.1 writes), for the host to send with `{file:...}`. `@server vsftpd-implicit` and
//! `proftpd-implicit` are those servers' implicit-FTPS ports; their certificate names the
//! application notes' address too, and the test CA becomes the same fixture.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::pki;
use crate::support::rig::free_port;

use pki::Pki;
use vmodem::config::Config;
use vmodem::dialect;
use vmodem::embedded::echo::EmbeddedEcho;
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::embedded::http::{EmbeddedHttp, EmbeddedHttpConfig, EmbeddedHttps};
use vmodem::family::Family;
use vmodem::modem::Modem;
use vmodem::net::Redirect;
use vmodem::record::{Options, Recorder};
use vmodem::script::{Content, Script, fixtures};
use vmodem::transport::{Link, Links};

// One test per transcript, `transcripts::<family>::<name>`, and for those listed in
// tests/transcripts/recorded.txt a second one, `transcripts::recorded::<family>::<name>`; the
// build script writes them (build.rs), so that a new transcript is a test without a line here.
include!(concat!(env!("OUT_DIR"), "/transcripts.rs"));

/// What a transcript trial fails with.
type Failed = Box<dyn std::error::Error + Send + Sync>;

/// The longest one transcript may run.
const TRIAL_LIMIT: Duration = Duration::from_secs(120);

/// Where `@server echo` is reached by default (the SIMCom TCP/IP application notes' server).
const ECHO_HOST: &str = "116.228.221.51";
/// Its default port.
const ECHO_PORT: &str = "8500";

/// The transcript `name` (`sim7080/an7080_5_1_get`) under tests/transcripts/.
fn transcript(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts").join(name).with_extension("at")
}

/// Logs to standard error as RUST_LOG says (nothing without it).
fn trace() {
    if std::env::var_os("RUST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::from_default_env();
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// Runs the transcript `name` against a fresh modem and servers; panics with the first
/// difference.
fn run(name: &str) {
    trace();
    if let Err(e) = run_file(&transcript(name)) {
        panic!("{name}: {e}");
    }
}

/// Records the transcript `name`'s session, then replays the recording (see
/// [`record_and_replay`]).
fn recorded(name: &str) {
    trace();
    if let Err(e) = record_and_replay(&transcript(name)) {
        panic!("recorded/{name}: {e}");
    }
}

/// A transcript variable, or its default.
fn var_of(vars: &BTreeMap<String, String>, name: &str, default: &str) -> String {
    vars.get(name).cloned().unwrap_or_else(|| default.to_string())
}

/// `pem` grown to exactly `size` bytes with a comment line after it (PEM readers skip text
/// outside the BEGIN/END lines), so that a transcript can send a certificate of the size its
/// vendor document prints.
fn padded_pem(pem: &str, size: usize) -> Result<Vec<u8>, Failed> {
    let note = "# vmodem transcript CA, padded to the document's size\n";
    let mut out = pem.as_bytes().to_vec();
    let fill =
        size.checked_sub(out.len() + note.len()).ok_or_else(|| format!("the CA needs more than {size} bytes"))?;
    out.extend_from_slice(&note.as_bytes()[..note.len() - 1]);
    out.extend(std::iter::repeat_n(b'.', fill));
    out.push(b'\n');
    Ok(out)
}

fn run_file(path: &Path) -> Result<(), Failed> {
    let script = read_script(path)?;
    runtime()?.block_on(async {
        let no_secrets = BTreeMap::new();
        let run = run_script(&script, None, &no_secrets);
        tokio::time::timeout(TRIAL_LIMIT, run).await.map_err(|_| "the transcript ran too long")?
    })
}

fn read_script(path: &Path) -> Result<Script, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Script::parse(&text)?)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// Records the transcript's session as `vmodem serve --record` would (secrets masked), then
/// replays the recording, under the original's header (servers, fixtures, variables) and with
/// the masked secrets given, against a fresh modem and server.
fn record_and_replay(path: &Path) -> Result<(), Failed> {
    let script = read_script(path)?;
    let family = family_of(&script)?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("recorded.at");
    runtime()?.block_on(async {
        let recorder = Recorder::create(&file, family, Options::default())?;
        let no_secrets = BTreeMap::new();
        let original = run_script(&script, Some(&recorder), &no_secrets);
        tokio::time::timeout(TRIAL_LIMIT, original).await.map_err(|_| "the transcript ran too long")??;
        recorder.finish();
        let text = std::fs::read_to_string(&file)?;
        let mut replay = Script::parse(&text).map_err(|e| format!("the recording does not parse: {e}\n{text}"))?;
        replay.header = script.header.clone();
        let secrets = recorder.secrets().into_iter().collect();
        let replayed = tokio::time::timeout(TRIAL_LIMIT, run_script(&replay, None, &secrets)).await;
        let replayed = replayed.map_err(|_| "the replay ran too long")?;
        replayed.map_err(|e| format!("replay: {e}\n{text}").into())
    })
}

/// Runs a transcript against a fresh modem and servers; with `recorder`, the modem's line is
/// recorded. `secrets` are variables for the transcript's lines only (the servers' logins come
/// from the header's).
async fn run_script(
    script: &Script,
    recorder: Option<&Recorder>,
    secrets: &BTreeMap<String, String>,
) -> Result<(), Failed> {
    let mut script = script.clone();
    let real = match script.header.server.as_deref() {
        Some(name @ ("vsftpd" | "proftpd" | "pureftpd" | "vsftpd-implicit" | "proftpd-implicit")) => {
            Some(RealServer::new(name)?)
        }
        _ => None,
    };
    // FTPS: the CA that issued the server's certificate for the application notes' host (made for this run
    // for the embedded server, the test servers' own otherwise) becomes a fixture the host can
    // send (see the module docs).
    let pki = (script.header.server.as_deref() == Some("ftps")).then(|| Pki::new("vmodem transcript CA"));
    let ca_pem = match (&pki, &real) {
        (Some(pki), _) => Some(pki.ca_pem.clone()),
        (None, Some(server)) => server.ca_pem.clone(),
        (None, None) => None,
    };
    if let Some(ca_pem) = ca_pem {
        let size = var_of(&script.header.vars, "ftps_ca_size", "1492").parse().map_err(|_| "bad ftps_ca_size")?;
        let ca = padded_pem(&ca_pem, size)?;
        script.header.files.push((var_of(&script.header.vars, "ftps_ca", "ftpbin_root_ca.cer"), Content::Text(ca)));
    }
    let script = &script;
    let header = &script.header;
    let Config { mut module, serve: config } = modem_config(&header.config)?;
    module.family = family_of(script)?;
    // The TLS echo peer: a CA made for the run signs its certificate for `{echo_host}`, and the
    // module's built-in trust store (`[http] trusted_ca`) holds that CA.
    let echo_pki = (header.server.as_deref() == Some("echo-tls")).then(|| Pki::new("vmodem transcript CA"));
    let trust = tempfile::tempdir()?;
    if let Some(pki) = &echo_pki {
        let path = trust.path().join("trusted_ca.pem");
        std::fs::write(&path, &pki.ca_pem)?;
        module.http.trusted_ca.get_or_insert(path);
    }
    let dialect = dialect::build(std::sync::Arc::new(module)).map_err(|e| e.to_string())?;
    let mut vars = header.vars.clone();
    let root = match &real {
        Some(server) => {
            let dir = tempfile::Builder::new().prefix("transcript-").tempdir_in(&server.root)?;
            std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
            let name = dir.path().file_name().and_then(|n| n.to_str()).unwrap_or_default();
            vars.insert("root".into(), format!("/{name}"));
            vars.insert("ftp_user".into(), server.user.clone());
            vars.insert("ftp_pass".into(), server.password.clone());
            dir
        }
        None => {
            vars.entry("root".into()).or_default();
            tempfile::tempdir()?
        }
    };
    fixtures::install(header, root.path())?;
    // A port for the module's server to listen on, free when the run starts (`@peer`).
    vars.entry("free_port".into()).or_insert_with(|| free_port().to_string());
    if matches!(header.server.as_deref(), Some("echo" | "echo-tls")) {
        vars.entry("echo_host".into()).or_insert_with(|| ECHO_HOST.into());
        vars.entry("echo_port".into()).or_insert_with(|| ECHO_PORT.into());
    }
    let mut redirects = config.net.parsed()?;
    let var = |name: &str, default: &str| vars.get(name).cloned().unwrap_or_else(|| default.to_string());
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let (_server, addr): (Option<Box<dyn Send>>, Option<SocketAddr>) = match header.server.as_deref() {
        Some(_) if real.is_some() => (None, real.as_ref().map(|s| s.addr)),
        Some("ftp") => {
            let ftp = EmbeddedFtp::start(EmbeddedFtpConfig {
                root: root.path().to_path_buf(),
                user: var("ftp_user", "simcomtest"),
                password: var("ftp_pass", "simcomtest"),
                bind: loopback,
            })
            .await?;
            let addr = ftp.addr();
            (Some(Box::new(ftp)), Some(addr))
        }
        Some("ftps") => {
            let config = EmbeddedFtpConfig {
                root: root.path().to_path_buf(),
                user: var("ftp_user", "simcomtest"),
                password: var("ftp_pass", "simcomtest"),
                bind: loopback,
            };
            let host = var("ftp_host", "112.74.93.163");
            let (files, ftps) = pki.as_ref().ok_or("no CA")?.embedded_ftps_for(&[host.as_str()], None);
            let ftp = EmbeddedFtp::start_ftps(config, ftps).await?;
            let addr = ftp.addr();
            (Some(Box::new((ftp, files))), Some(addr))
        }
        Some("http") => {
            let config = EmbeddedHttpConfig { root: root.path().to_path_buf(), bind: loopback, tls: None };
            let http = EmbeddedHttp::start(config).await?;
            let addr = http.addr();
            (Some(Box::new(http)), Some(addr))
        }
        Some("silent") => {
            let listener = tokio::net::TcpListener::bind(loopback).await?;
            let addr = listener.local_addr()?;
            let task = tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((conn, _)) = listener.accept().await {
                    held.push(conn);
                }
            });
            (Some(Box::new(AbortOnDrop(task))), Some(addr))
        }
        Some("refused") => {
            let addr = std::net::TcpListener::bind(loopback)?.local_addr()?;
            (None, Some(addr))
        }
        Some("echo") => {
            let echo = EmbeddedEcho::start(loopback, None).await?;
            let addr = echo.tcp_addr();
            (Some(Box::new(echo)), Some(addr))
        }
        Some("echo-tls") => {
            let host = var("echo_host", ECHO_HOST);
            let (files, certs) = echo_pki.as_ref().ok_or("no CA")?.embedded_ftps_for(&[host.as_str()], None);
            let tls = EmbeddedHttps { cert: certs.cert, key: certs.key };
            let echo = EmbeddedEcho::start(loopback, Some(&tls)).await?;
            let addr = echo.tcp_addr();
            (Some(Box::new((echo, files))), Some(addr))
        }
        None => (None, None),
        Some(other) => return Err(format!("unknown @server {other}").into()),
    };
    if let Some(addr) = addr {
        // What the modem is told to reach: the FTP server, the web server, or the web proxy.
        let (host, port) = match (header.server.as_deref(), vars.get("http_proxy")) {
            (Some("http"), Some(proxy)) => (proxy.clone(), var("http_proxy_port", "80")),
            (Some("http"), None) => (var("http_host", "112.74.93.163"), var("http_port", "80")),
            (Some("echo" | "echo-tls"), _) => (var("echo_host", ECHO_HOST), var("echo_port", ECHO_PORT)),
            _ => (var("ftp_host", "112.74.93.163"), var("ftp_port", "21")),
        };
        let port = port.parse().map_err(|_| "bad port variable")?;
        redirects.push(Redirect::new(host, Some(port), addr));
    }
    let program = script.compile(&vars.clone().into_iter().chain(secrets.clone()).collect())?;
    let (mut host, line) = tokio::io::duplex(1 << 16);
    let modem =
        Modem::new(dialect, config.net.net(redirects).map_err(|e| e.to_string())?).with_plan(config.faults.clone());
    let network = modem.handle();
    let line: Link = Box::new(line);
    let line = match recorder {
        Some(r) => r.wrap(line),
        None => line,
    };
    let modem = tokio::spawn(modem.run(Links::single(line)));
    let result = vmodem::script::run_with(&program, &mut host, Some(&network)).await;
    modem.abort();
    result.map_err(|m| m.to_string())?;
    fixtures::verify(header, root.path())?;
    Ok(())
}

/// The family the transcript names (`@family`), SIM7080 if none.
fn family_of(script: &Script) -> Result<Family, Failed> {
    let family = script.header.family.as_deref().map(str::parse::<Family>).transpose();
    Ok(family.map_err(|e| e.to_string())?.unwrap_or_default())
}

/// A Debian FTP server started by scripts/test-servers.sh.
struct RealServer {
    addr: SocketAddr,
    root: PathBuf,
    user: String,
    password: String,
    /// The test CA (PEM) for the implicit-FTPS ports.
    ca_pem: Option<String>,
}

impl RealServer {
    /// Reads the server's port, root and login from servers.env; `NAME-implicit` is the
    /// server's implicit-FTPS port, with the test CA.
    fn new(name: &str) -> Result<RealServer, Failed> {
        let base = std::env::var("VMODEM_SERVERS").unwrap_or_else(|_| "/tmp/vmodem-servers".into());
        let path = Path::new(&base).join("servers.env");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (start the servers with scripts/test-servers.sh)", path.display()))?;
        let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let (server, implicit) = match name.strip_suffix("-implicit") {
            Some(server) => (server, true),
            None => (name, false),
        };
        let key = server.to_ascii_uppercase();
        let get =
            |k: &str| env.get(k).map(|v| v.to_string()).ok_or_else(|| format!("{k} missing from {}", path.display()));
        let port_key = if implicit { format!("{key}_IMPLICIT_PORT") } else { format!("{key}_PORT") };
        let port: u16 = get(&port_key)?.parse().map_err(|_| "bad port in servers.env")?;
        let ca_pem = match implicit {
            true => {
                let ca = get("CA_PEM")?;
                Some(std::fs::read_to_string(&ca).map_err(|e| format!("{ca}: {e}"))?)
            }
            false => None,
        };
        Ok(RealServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            root: PathBuf::from(get(&format!("{key}_ROOT"))?),
            user: get("FTP_USER")?,
            password: get("FTP_PASS")?,
            ca_pem,
        })
    }
}

/// Stops a helper task when the transcript is done.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The modem configuration with the transcript's `@config key = value` lines on top (keys are
/// TOML dotted keys, e.g. `ftp.unread_notice = 0.5`).
fn modem_config(lines: &[(String, String)]) -> Result<Config, Failed> {
    let doc: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    toml::from_str(&doc).map_err(|e| format!("@config: {e}").into())
}
