//! vsftpd as scripts/test-servers.sh runs it, for the benchmarks that download from it: where
//! it listens, its user, its root, the CPU time of its process and sessions, a folder of random
//! files served from its root (removed when dropped) and a wait until it holds no session.
//!
//! Include with `#[path = "support/vsftpd.rs"] mod vsftpd;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use sha2::{Digest, Sha256};

/// Clock ticks a second in /proc (`USER_HZ`).
const TICKS: f64 = 100.0;

/// vsftpd as scripts/test-servers.sh runs it.
pub struct Vsftpd {
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    pub root: PathBuf,
    /// The test CA's certificate (PEM), which issued vsftpd's for explicit FTPS.
    pub ca: PathBuf,
    /// The listening process (from scripts/test-servers.sh's pid file), whose children are the
    /// sessions.
    pub pid: Option<u32>,
}

impl Vsftpd {
    /// vsftpd from scripts/test-servers.sh (its servers.env), answering; an error with advice
    /// when the servers are not up.
    pub fn find() -> anyhow::Result<Vsftpd> {
        let (base, env) = servers_env()?;
        let get = |k: &str| env.get(k).map(String::as_str).with_context(|| format!("{k} missing from servers.env"));
        let port: u16 = get("VSFTPD_PORT")?.parse().context("VSFTPD_PORT is not a port")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).with_context(|| {
            format!("vsftpd does not answer on {addr}: start the test servers first (scripts/test-servers.sh start)")
        })?;
        // "pid exe", as scripts/test-servers.sh writes it; the process must still be vsftpd.
        let pid = std::fs::read_to_string(base.join("pids").join("vsftpd-explicit.pid"))
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
            .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "vsftpd"));
        Ok(Vsftpd {
            addr,
            user: get("FTP_USER")?.into(),
            password: get("FTP_PASS")?.into(),
            root: PathBuf::from(get("VSFTPD_ROOT")?),
            ca: PathBuf::from(get("CA_PEM")?),
            pid,
        })
    }

    /// The CPU time of vsftpd and of its sessions it has reaped so far, seconds.
    pub fn cpu(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid?)).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        // utime, stime, cutime, cstime: the 14th to 17th fields of the whole line.
        let ticks: u64 = fields.get(11..15)?.iter().map(|f| f.parse::<u64>().ok()).sum::<Option<u64>>()?;
        Some(ticks as f64 / TICKS)
    }

    /// Waits (at most `limit`) until no TCP connection to vsftpd is open, so that a run does
    /// not meet the sessions of the one before.
    pub fn wait_for_quiet(&self, limit: Duration) -> anyhow::Result<()> {
        let port = self.addr.port();
        let deadline = Instant::now() + limit;
        loop {
            let open = connections_to(port)?;
            if open == 0 {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "{open} connections to port {port} still open after {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The folder scripts/test-servers.sh works in (`VMODEM_SERVERS`, by default
/// /tmp/vmodem-servers) and the settings of its servers.env; an error with advice when the
/// servers have not been started.
pub fn servers_env() -> anyhow::Result<(PathBuf, BTreeMap<String, String>)> {
    let base = PathBuf::from(std::env::var("VMODEM_SERVERS").unwrap_or_else(|_| "/tmp/vmodem-servers".into()));
    let path = base.join("servers.env");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("{} is missing: start the test servers first (scripts/test-servers.sh start)", path.display())
    })?;
    let env = text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Ok((base, env))
}

/// Established TCP connections whose server side is `port` on this machine (/proc/net/tcp).
pub fn connections_to(port: u16) -> anyhow::Result<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    let local = format!(":{port:04X}");
    Ok(table
        .lines()
        .skip(1)
        .filter(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            // local_address, rem_address, st (01: established)
            fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "01"
        })
        .count())
}

/// Files of random bytes in a folder of vsftpd's root, removed with the folder when dropped.
pub struct Served {
    /// The folder's name in vsftpd's root (the FTP path).
    pub dir_name: String,
    /// The folder.
    pub dir: PathBuf,
    /// `file_name(i)`'s SHA-256, by index.
    pub digests: Vec<[u8; 32]>,
}

impl Served {
    /// `count` files of `size` pseudo-random bytes each (`file-<index>.bin`, file `i` from the
    /// seed `0x5eed_0000 + i`), in a new folder `<prefix>-<pid>` of vsftpd's root that vsftpd's
    /// user can read.
    pub fn create(server: &Vsftpd, prefix: &str, count: usize, size: usize) -> anyhow::Result<Served> {
        let dir_name = format!("{prefix}-{}", std::process::id());
        let dir = server.root.join(&dir_name);
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let served = Served { dir_name, dir, digests: Vec::with_capacity(count) };
        served.fill(count, size)
    }

    fn fill(mut self, count: usize, size: usize) -> anyhow::Result<Served> {
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755))?;
        let mut data = vec![0u8; size];
        for index in 0..count {
            fastrand::Rng::with_seed(0x5eed_0000 + index as u64).fill(&mut data);
            let path = self.dir.join(file_name(index));
            std::fs::write(&path, &data)?;
            // vsftpd reads it as the FTP user.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
            self.digests.push(sha256(&data));
        }
        Ok(self)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// The name of file `index`.
pub fn file_name(index: usize) -> String {
    format!("file-{index}.bin")
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks that `paths[i]` holds `size` bytes whose SHA-256 is `digests[i]`, on two threads.
pub fn check(paths: &[PathBuf], digests: &[[u8; 32]], size: usize) -> anyhow::Result<()> {
    ensure!(paths.len() <= digests.len(), "{} files to check, {} digests", paths.len(), digests.len());
    let half = paths.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let halves: Vec<_> = paths
            .chunks(half)
            .zip(digests.chunks(half))
            .map(|(paths, digests)| {
                s.spawn(move || -> anyhow::Result<()> {
                    for (path, digest) in paths.iter().zip(digests) {
                        let got = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                        ensure!(
                            got.len() == size && sha256(&got) == *digest,
                            "{} differs from the file served ({} bytes)",
                            path.display(),
                            got.len()
                        );
                    }
                    Ok(())
                })
            })
            .collect();
        halves.into_iter().try_for_each(|h| h.join().expect("the check does not panic"))
    })
}
