//! nginx and tinyproxy as scripts/test-servers.sh runs them (ports, the test CA, the access
//! log from its servers.env; a missing file fails the test), and a fresh folder of the test's
//! own in nginx's document root (world-readable: nginx's workers run as nobody), removed when
//! dropped. Shared by the HTTP test files, each of which uses a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::rig::{ServersEnv, trace};

/// The servers, and this test's folder.
pub struct Nginx {
    /// nginx's HTTP port.
    pub http: u16,
    /// nginx's HTTPS port (its certificate names localhost, 127.0.0.1 and the notes' address).
    pub https: u16,
    /// tinyproxy's port.
    pub proxy: u16,
    /// The test CA's PEM file, which signed nginx's certificate.
    pub ca: PathBuf,
    /// nginx's access log (combined format: the request line and the User-Agent).
    pub access_log: PathBuf,
    /// This test's folder in nginx's root.
    pub dir: TempDir,
}

impl Nginx {
    /// The servers' coordinates and a fresh folder named `<prefix>XXXX`.
    pub fn start(prefix: &str) -> Nginx {
        trace();
        let env = ServersEnv::load();
        let port = |key: &str| env.get(key).parse::<u16>().unwrap_or_else(|_| panic!("{key} is not a port"));
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(env.get("NGINX_ROOT"))
            .expect("a folder in nginx's root");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod 0755");
        let ca = PathBuf::from(env.get("CA_PEM"));
        assert!(ca.is_file(), "{}: the test CA of scripts/test-servers.sh is missing", ca.display());
        Nginx {
            http: port("NGINX_HTTP_PORT"),
            https: port("NGINX_HTTPS_PORT"),
            proxy: port("TINYPROXY_PORT"),
            ca,
            access_log: Path::new(&env.get("SERVERS_BASE")).join("logs/nginx-access.log"),
            dir,
        }
    }

    /// Writes a file into this test's folder, readable by nginx.
    pub fn write(&self, name: &str, bytes: &[u8]) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    }

    /// The folder's name under nginx's root.
    pub fn folder(&self) -> String {
        self.dir.path().file_name().expect("a folder name").to_string_lossy().into_owned()
    }

    /// nginx's HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http))
    }

    /// nginx's HTTPS address.
    pub fn https_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.https))
    }
}
