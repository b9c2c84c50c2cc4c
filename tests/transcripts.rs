//! Runs every transcript under tests/transcripts/ against an in-process vmodem, byte for byte.
//! A transcript that names `@server ftp` gets a fresh embedded FTP server (libunftp) over a
//! temporary folder holding its `@file` fixtures, reachable at its `{ftp_host}:{ftp_port}`;
//! afterwards its `@after-file` / `@after-missing` state is checked on that folder.
//! `@server silent` is a server that accepts connections and never says a word (the "poor
//! network" of the application notes); `@server refused` is an address nothing listens on.
//! `@server vsftpd`, `proftpd` or `pureftpd` use the real Debian servers that
//! scripts/test-servers.sh starts (their ports, roots and login come from its servers.env; a
//! missing file fails the test): the fixtures go into a fresh subdirectory of the server's root,
//! which the transcript reaches as `{root}` (empty for the embedded server).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use vmodem::config::ModemConfig;
use vmodem::dialect;
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::modem::Modem;
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem::script::{Script, fixtures};
use vmodem::transport::Links;

/// The longest one transcript may run.
const TRIAL_LIMIT: Duration = Duration::from_secs(120);

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&root).unwrap_or(&path).with_extension("").display().to_string();
            Trial::test(name, move || run_file(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "at") {
            out.push(path);
        }
    }
}

fn run_file(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let script = Script::parse(&text)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        tokio::time::timeout(TRIAL_LIMIT, run_script(&script)).await.map_err(|_| "the transcript ran too long")?
    })
}

async fn run_script(script: &Script) -> Result<(), Failed> {
    let header = &script.header;
    let mut config = modem_config(&header.config)?;
    if let Some(family) = &header.family {
        config.dialect = family.clone();
    }
    let dialect = dialect::by_name(&config.dialect, &config).map_err(|e| e.to_string())?;
    let mut vars = header.vars.clone();
    let real = match header.server.as_deref() {
        Some(name @ ("vsftpd" | "proftpd" | "pureftpd")) => Some(RealServer::new(name)?),
        _ => None,
    };
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
    let mut redirects = config.net.parsed()?;
    let var = |name: &str, default: &str| vars.get(name).cloned().unwrap_or_else(|| default.to_string());
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let (_server, addr): (Option<Box<dyn Send>>, Option<SocketAddr>) = match header.server.as_deref() {
        Some("vsftpd" | "proftpd" | "pureftpd") => (None, real.as_ref().map(|s| s.addr)),
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
        None => (None, None),
        Some(other) => return Err(format!("unknown @server {other}").into()),
    };
    if let Some(addr) = addr {
        let port = var("ftp_port", "21").parse().map_err(|_| "bad ftp_port")?;
        redirects.push(Redirect::new(var("ftp_host", "112.74.93.163"), Some(port), addr));
    }
    let program = script.compile(&vars)?;
    let (mut host, line) = tokio::io::duplex(1 << 16);
    let modem = Modem::new(dialect, Net::new(NetConfig { redirects }).with_faults(config.net.faults.clone()));
    let modem = tokio::spawn(modem.run(Links::single(Box::new(line))));
    let result = vmodem::script::run(&program, &mut host).await;
    modem.abort();
    result.map_err(|m| m.to_string())?;
    fixtures::verify(header, root.path())?;
    Ok(())
}

/// A Debian FTP server started by scripts/test-servers.sh.
struct RealServer {
    addr: SocketAddr,
    root: PathBuf,
    user: String,
    password: String,
}

impl RealServer {
    /// Reads the server's port, root and login from servers.env.
    fn new(name: &str) -> Result<RealServer, Failed> {
        let base = std::env::var("VMODEM_SERVERS").unwrap_or_else(|_| "/tmp/vmodem-servers".into());
        let path = Path::new(&base).join("servers.env");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (start the servers with scripts/test-servers.sh)", path.display()))?;
        let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let key = name.to_ascii_uppercase();
        let get =
            |k: &str| env.get(k).map(|v| v.to_string()).ok_or_else(|| format!("{k} missing from {}", path.display()));
        let port: u16 = get(&format!("{key}_PORT"))?.parse().map_err(|_| "bad port in servers.env")?;
        Ok(RealServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            root: PathBuf::from(get(&format!("{key}_ROOT"))?),
            user: get("FTP_USER")?,
            password: get("FTP_PASS")?,
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
fn modem_config(lines: &[(String, String)]) -> Result<ModemConfig, Failed> {
    let doc: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    toml::from_str(&doc).map_err(|e| format!("@config: {e}").into())
}
