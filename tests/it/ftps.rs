//! FTPS end to end: vmodem's FTP client (the service layer, no modem) with explicit and
//! implicit TLS against real servers: the in-process libunftp server (explicit, certificates
//! made by the test), and Debian's vsftpd and proftpd as `scripts/test-servers.sh` starts them
//! (ports, login and the test CA come from its servers.env, read by the scenario rig's
//! reader; a missing server fails the test, it never skips). Both Debian servers insist on TLS session reuse on the data connection, so
//! every transfer here also proves that a session's data connections resume its control
//! connection's TLS session.
//!
//! Scripted fake servers cover what no real server does on demand: a refused PBSZ or PROT,
//! bytes injected after `234`, and data connections closed without `close_notify`.
//!
//! Every test works in a fresh subdirectory of the server's root (mode 0777), so tests running
//! in parallel never meet, and checks the bytes by SHA-256 on both ends.

use crate::support::{fake_ftp, pki, rig, transfers};

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_ftp::{Conn, accept};
use pki::{Pki, openssl};
use rcgen::KeyPair;
use rig::{ServersEnv, every_byte, hex, sha256};
use rustls::{AlertDescription, CertificateError};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use transfers::{get, pattern, put};
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::net::Net;
use vmodem::service::ftp::{
    Channel, DataMode, Direction, FtpConfig, FtpError, FtpSession, FtpTimeouts, FtpTls, FtpsMode, HandshakeFailure,
    Step, StoreMode, TraceLine, TransferFault,
};
use vmodem::service::tls::{ClientIdentity, TlsSettings, TlsVersions, Verification};

/// The login of the embedded server.
const EMBEDDED_USER: &str = "ftpstest";
const EMBEDDED_PASS: &str = "Secr3t!";
/// Consecutive sessions against each server that insists on session reuse.
const CONSECUTIVE: usize = 20;

// ---------------------------------------------------------------------------------------------
// The servers

/// One FTPS server and this test's folder on it.
struct Server {
    /// For messages.
    name: String,
    /// The host vmodem connects to; `localhost` is the name the certificates carry.
    host: String,
    port: u16,
    mode: FtpsMode,
    user: String,
    password: String,
    /// The CA that signed the server's certificate (PEM).
    ca: Vec<u8>,
    /// This test's folder, on disk (inside the server's root).
    dir: TempDir,
    /// The same folder as the server names it (`/ftps-XXXX`).
    remote: String,
    /// Keeps the embedded server, its root and its certificate files alive.
    _embedded: Option<(EmbeddedFtp, TempDir, TempDir)>,
}

impl Server {
    /// The embedded libunftp server with explicit FTPS, its certificate from a CA made here.
    /// With `client_ca`, it requires client certificates from that CA.
    async fn libunftp(client_ca: Option<&Pki>) -> Server {
        let pki = Pki::new("libunftp test CA");
        let (files, ftps) = pki.embedded_ftps(client_ca);
        let root = tempfile::tempdir().expect("a root folder");
        let ftp =
            EmbeddedFtp::start_ftps(embedded_config(root.path()), ftps).await.expect("the embedded FTPS server starts");
        let (dir, remote) = folder(root.path());
        Server {
            name: "libunftp explicit".into(),
            host: "localhost".into(),
            port: ftp.addr().port(),
            mode: FtpsMode::Explicit,
            user: EMBEDDED_USER.into(),
            password: EMBEDDED_PASS.into(),
            ca: pki.ca_pem.into_bytes(),
            dir,
            remote,
            _embedded: Some((ftp, root, files)),
        }
    }

    /// vsftpd or proftpd (`key` VSFTPD or PROFTPD) from scripts/test-servers.sh.
    fn real(key: &str, mode: FtpsMode) -> Server {
        let env = ServersEnv::load();
        let port_key = match mode {
            FtpsMode::Explicit => format!("{key}_PORT"),
            FtpsMode::Implicit => format!("{key}_IMPLICIT_PORT"),
        };
        let port: u16 =
            env.get(&port_key).parse().unwrap_or_else(|_| panic!("{port_key} in servers.env is not a port"));
        let ca_path = env.get("CA_PEM");
        let ca = std::fs::read(&ca_path).unwrap_or_else(|e| panic!("{ca_path}: {e}"));
        let (dir, remote) = folder(Path::new(&env.get(&format!("{key}_ROOT"))));
        Server {
            name: format!("{} {mode:?}", key.to_ascii_lowercase()),
            host: "localhost".into(),
            port,
            mode,
            user: env.get("FTP_USER"),
            password: env.get("FTP_PASS"),
            ca,
            dir,
            remote,
            _embedded: None,
        }
    }

    fn vsftpd(mode: FtpsMode) -> Server {
        Server::real("VSFTPD", mode)
    }

    fn proftpd(mode: FtpsMode) -> Server {
        Server::real("PROFTPD", mode)
    }

    /// TLS settings that trust the server's CA.
    fn settings(&self) -> TlsSettings {
        TlsSettings { ca: self.ca.clone(), ..TlsSettings::default() }
    }

    /// A session configuration with `settings`.
    fn config_with(&self, data: DataMode, settings: &TlsSettings) -> FtpConfig {
        let tls = FtpTls::new(self.mode, settings, &self.host).expect("a TLS configuration");
        FtpConfig {
            mode: data,
            timeouts: timeouts(),
            tls: Some(tls),
            ..FtpConfig::new(&self.host, self.port, &self.user, &self.password)
        }
    }

    async fn login_with(&self, data: DataMode, settings: &TlsSettings) -> Result<FtpSession, FtpError> {
        FtpSession::connect(&Net::default(), &self.config_with(data, settings)).await
    }

    async fn login(&self, data: DataMode) -> FtpSession {
        let session = self.login_with(data, &self.settings()).await;
        session.unwrap_or_else(|e| panic!("{}: FTPS login: {e}", self.name))
    }

    /// `name` in this test's folder, as the server names it.
    fn remote(&self, name: &str) -> String {
        format!("{}/{name}", self.remote)
    }

    /// Puts a fixture file (mode 0644, so every server may read it).
    fn write(&self, name: &str, bytes: &[u8]) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    }

    /// A file of this test's folder as the server stored it.
    fn read(&self, name: &str) -> Vec<u8> {
        let path = self.dir.path().join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// The embedded server serving `root` on a free loopback port.
fn embedded_config(root: &Path) -> EmbeddedFtpConfig {
    EmbeddedFtpConfig {
        root: root.to_path_buf(),
        user: EMBEDDED_USER.into(),
        password: EMBEDDED_PASS.into(),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
    }
}

/// A fresh folder (mode 0777) in a server's root, and its name as the server sees it.
fn folder(root: &Path) -> (TempDir, String) {
    let dir = tempfile::Builder::new().prefix("ftps-").tempdir_in(root).expect("a folder in the server root");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod 0777");
    let name = dir.path().file_name().and_then(|n| n.to_str()).expect("a UTF-8 folder name");
    let remote = format!("/{name}");
    (dir, remote)
}

fn timeouts() -> FtpTimeouts {
    FtpTimeouts {
        connect: Duration::from_secs(10),
        reply: Duration::from_secs(15),
        data_connect: Duration::from_secs(10),
        idle: Duration::from_secs(15),
    }
}

// ---------------------------------------------------------------------------------------------
// Transfers against every server

/// In passive and active mode: downloads a fixture of every byte value written on the
/// server's disk, uploads other bytes and finds them on the disk, then downloads the upload
/// again; SHA-256 on both ends each time.
async fn round_trips(server: &Server, settings: &TlsSettings) {
    let fixture = every_byte(1024);
    server.write("every-byte.bin", &fixture);
    for data in [DataMode::Passive, DataMode::Active] {
        let what = format!("{} {data:?}", server.name);
        let mut s = server.login_with(data, settings).await.unwrap_or_else(|e| panic!("{what}: login: {e}"));
        let got =
            get(&mut s, &server.remote("every-byte.bin"), 0).await.unwrap_or_else(|e| panic!("{what}: RETR: {e}"));
        assert_eq!(sha256(&got), sha256(&fixture), "{what}: download");
        let upload = pattern(300_000 + data as usize);
        let name = format!("up-{data:?}.bin");
        let done = put(&mut s, &server.remote(&name), StoreMode::Stor, &upload)
            .await
            .unwrap_or_else(|e| panic!("{what}: STOR: {e}"));
        assert_eq!(done.bytes, upload.len() as u64, "{what}");
        assert_eq!(sha256(&server.read(&name)), sha256(&upload), "{what}: upload on the server's disk");
        let back = get(&mut s, &server.remote(&name), 0).await.unwrap_or_else(|e| panic!("{what}: RETR again: {e}"));
        assert_eq!(sha256(&back), sha256(&upload), "{what}: upload downloaded again");
        s.quit().await.unwrap_or_else(|e| panic!("{what}: QUIT: {e}"));
    }
}

/// One test per server of [`round_trips`] with the default settings.
macro_rules! round_trip_tests {
    ($($(#[$attr:meta])* $name:ident: $server:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            let server = $server;
            round_trips(&server, &server.settings()).await;
        }
    )*};
}

round_trip_tests! {
    libunftp_explicit_round_trips: Server::libunftp(None).await;
    #[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
    vsftpd_explicit_round_trips: Server::vsftpd(FtpsMode::Explicit);
    #[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
    vsftpd_implicit_round_trips: Server::vsftpd(FtpsMode::Implicit);
    #[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
    proftpd_explicit_round_trips: Server::proftpd(FtpsMode::Explicit);
    #[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
    proftpd_implicit_round_trips: Server::proftpd(FtpsMode::Implicit);
}

/// TLS 1.3 only (the client offers nothing else, so a session that works is TLS 1.3), against
/// proftpd, which offers TLS 1.2 and 1.3.
///
/// A session here makes three data connections. More would meet a proftpd limit: rustls uses
/// each TLS 1.3 ticket once, the control connection brings two, a download's data connection
/// brings one more, an upload's none; once they are spent, a data connection makes a full
/// handshake and proftpd refuses it (425). TLS 1.2 sessions resume without limit, which is one
/// reason TLS 1.2 is the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn tls13_against_proftpd() {
    for mode in [FtpsMode::Explicit, FtpsMode::Implicit] {
        let server = Server::proftpd(mode);
        let settings = TlsSettings { versions: TlsVersions::Tls13, ..server.settings() };
        round_trips(&server, &settings).await;
    }
}

/// The default offers TLS 1.2 only; libunftp, which speaks only TLS 1.2, then works, and a
/// client that offers only TLS 1.3 hears the server's `protocol_version` alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_by_default_and_an_alert_for_a_version_the_server_lacks() {
    let server = Server::libunftp(None).await;
    assert_eq!(server.settings().versions, TlsVersions::Tls12);
    server.login(DataMode::Passive).await.quit().await.unwrap();
    let tls13 = TlsSettings { versions: TlsVersions::Tls13, ..server.settings() };
    match server.login_with(DataMode::Passive, &tls13).await {
        Err(FtpError::TlsAlert { channel: Channel::Control, alert: AlertDescription::ProtocolVersion }) => {}
        other => panic!("expected a protocol_version alert, got {other:?}"),
    }
}

/// 64 MiB over implicit FTPS from vsftpd, hashed as it streams in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_64_mib_download_from_vsftpd_implicit() {
    const SIZE: usize = 64 << 20;
    let server = Server::vsftpd(FtpsMode::Implicit);
    let data = pattern(SIZE);
    server.write("big.bin", &data);
    let mut s = server.login(DataMode::Passive).await;
    let mut stream = s.retrieve(server.remote("big.bin"), 0).await.unwrap();
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| s.broken(e)).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        total += n;
    }
    let done = s.finish(stream).await.unwrap();
    assert_eq!((total, done.bytes), (SIZE, SIZE as u64));
    let got = hex(&hash.finalize());
    assert_eq!(got, sha256(&data));
    s.quit().await.unwrap();
}

/// `CONSECUTIVE` sessions in a row (explicit and implicit, passive and active in turn), each a
/// download and an upload, against a server that refuses data connections that do not resume
/// the control connection's TLS session. The four configurations are built once and reused,
/// as a modem reuses its settings: every session must still start from an empty session store
/// (with a shared one, later sessions offer the tickets of earlier ones, and proftpd refuses
/// their data connections).
async fn consecutive_sessions(key: &str) {
    let explicit = Server::real(key, FtpsMode::Explicit);
    let implicit = Server::real(key, FtpsMode::Implicit);
    let configs: Vec<(&Server, DataMode, FtpConfig)> = [&explicit, &implicit]
        .into_iter()
        .flat_map(|server| {
            [DataMode::Passive, DataMode::Active]
                .map(|data| (server, data, server.config_with(data, &server.settings())))
        })
        .collect();
    let fixture = pattern(100_000);
    explicit.write("fixture.bin", &fixture);
    for i in 0..CONSECUTIVE {
        let (server, data, config) = &configs[i % configs.len()];
        let what = format!("session {i}: {} {data:?}", server.name);
        let mut s = FtpSession::connect(&Net::default(), config).await.unwrap_or_else(|e| panic!("{what}: login: {e}"));
        let got = get(&mut s, &explicit.remote("fixture.bin"), 0).await.unwrap_or_else(|e| panic!("{what}: RETR: {e}"));
        assert_eq!(sha256(&got), sha256(&fixture), "{what}");
        let upload = every_byte(64 + i);
        let name = format!("up-{i}.bin");
        put(&mut s, &explicit.remote(&name), StoreMode::Stor, &upload)
            .await
            .unwrap_or_else(|e| panic!("{what}: STOR: {e}"));
        assert_eq!(sha256(&explicit.read(&name)), sha256(&upload), "{what}");
        s.quit().await.unwrap_or_else(|e| panic!("{what}: QUIT: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn consecutive_sessions_against_vsftpd() {
    consecutive_sessions("VSFTPD").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn consecutive_sessions_against_proftpd() {
    consecutive_sessions("PROFTPD").await;
}

/// TLS 1.3 uploads to vsftpd, `CONSECUTIVE` sessions of them. vsftpd sends TLS 1.3 session
/// tickets on an upload's data connection, which the uploading client never reads; closing a
/// socket with unread bytes makes the kernel reset the connection, and the reset destroys the
/// upload's last bytes at the server ("426 Failure reading network stream", 27 of 30 uploads
/// when vmodem did not read them; curl has the same bug). vmodem reads the data connection to
/// its end after its `close_notify`, so every upload arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn tls13_uploads_to_vsftpd_arrive_whole() {
    let explicit = Server::vsftpd(FtpsMode::Explicit);
    let implicit = Server::vsftpd(FtpsMode::Implicit);
    for i in 0..CONSECUTIVE {
        let server = if i % 2 == 0 { &explicit } else { &implicit };
        let settings = TlsSettings { versions: TlsVersions::Tls13, ..server.settings() };
        let what = format!("upload {i}: {}", server.name);
        let mut s = server.login_with(DataMode::Passive, &settings).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let data = pattern(200_000 * (i % 5 + 1));
        let name = format!("tls13-{i}.bin");
        put(&mut s, &explicit.remote(&name), StoreMode::Stor, &data).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(sha256(&explicit.read(&name)), sha256(&data), "{what}");
        s.quit().await.unwrap_or_else(|e| panic!("{what}: QUIT: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Protection really applied

/// vsftpd's implicit instance (force_local_data_ssl) and proftpd's (TLSRequired on) refuse
/// clear-text data connections: the session's transfers work, so PROT P was applied, and
/// after a `PROT C` sent by hand they are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn servers_that_require_protected_data_accept_ours() {
    for server in [Server::vsftpd(FtpsMode::Implicit), Server::proftpd(FtpsMode::Implicit)] {
        server.write("f.txt", b"protected\n");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let config = FtpConfig {
            trace: Some(Arc::new(move |l: TraceLine| seen.lock().unwrap().push(l))),
            ..server.config_with(DataMode::Passive, &server.settings())
        };
        let mut s = FtpSession::connect(&Net::default(), &config).await.unwrap();
        assert_eq!(get(&mut s, &server.remote("f.txt"), 0).await.unwrap(), b"protected\n", "{}", server.name);
        let sent: Vec<String> =
            lines.lock().unwrap().iter().filter(|l| l.direction == Direction::Sent).map(|l| l.text.clone()).collect();
        assert_eq!(&sent[2..4], ["PBSZ 0", "PROT P"], "{}: {sent:?}", server.name);
        let prot_c = s.command("PROT", "C").await.unwrap();
        if prot_c.is_completion() {
            match get(&mut s, &server.remote("f.txt"), 0).await {
                Err(FtpError::Rejected { step: Step::Retr, reply }) => assert_eq!(reply.code, 522, "{}", server.name),
                other => panic!("{}: a clear-text transfer: {other:?}", server.name),
            }
        } else {
            assert!(prot_c.code >= 500, "{}: {prot_c}", server.name);
        }
    }
}

/// A server certificate from a CA the session does not trust is a handshake failure that
/// says so (and that a dialect maps like any handshake failure); the ignore-certificate mode
/// with the same wrong CA works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn a_certificate_from_another_ca() {
    let other = Pki::new("another test CA");
    for server in [Server::vsftpd(FtpsMode::Explicit), Server::proftpd(FtpsMode::Implicit)] {
        let wrong = TlsSettings { ca: other.ca_pem.clone().into_bytes(), ..TlsSettings::default() };
        match server.login_with(DataMode::Passive, &wrong).await {
            Err(FtpError::TlsHandshake { channel: Channel::Control, failure }) => {
                assert!(failure.is_certificate(), "{}: {failure}", server.name);
                assert!(
                    matches!(
                        failure,
                        HandshakeFailure::Tls(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                    ),
                    "{}: {failure:?}",
                    server.name
                );
            }
            other => panic!("{}: expected a rejected certificate, got {other:?}", server.name),
        }
        let ignore = TlsSettings { verification: Verification::IgnoreCertificate, ..wrong };
        server.write("f.txt", b"anyway\n");
        let mut s = server.login_with(DataMode::Passive, &ignore).await.unwrap();
        assert_eq!(get(&mut s, &server.remote("f.txt"), 0).await.unwrap(), b"anyway\n");
        s.quit().await.unwrap();
    }
}

/// The certificate must name the server: 127.0.0.1 is in it (an IP server name), a name sent
/// by SNI that is not fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian test servers (scripts/test.sh starts them)"]
async fn the_certificate_must_name_the_server() {
    let mut server = Server::vsftpd(FtpsMode::Explicit);
    server.host = "127.0.0.1".into();
    server.login(DataMode::Passive).await.quit().await.unwrap();
    let sni = TlsSettings { sni: Some("ftp.example.com".into()), ..server.settings() };
    match server.login_with(DataMode::Passive, &sni).await {
        Err(FtpError::TlsHandshake {
            failure: HandshakeFailure::Tls(rustls::Error::InvalidCertificate(e)), ..
        }) => {
            assert!(matches!(e, CertificateError::NotValidForNameContext { .. }), "{e:?}")
        }
        other => panic!("expected a name mismatch, got {other:?}"),
    }
}

/// A server that requires client certificates: a session with one from the CA it trusts works,
/// whatever the key's format (PKCS#8, PKCS#1 RSA, SEC1 EC); one without is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates() {
    let clients = Pki::new("client test CA");
    let server = Server::libunftp(Some(&clients)).await;
    let pkcs8 = KeyPair::generate().unwrap();
    let mut identities = vec![("PKCS#8", clients.sign(&["client"], &pkcs8), pkcs8.serialize_pem())];
    for (format, genkey) in [
        ("PKCS#1", &["genrsa", "-traditional", "2048"][..]),
        ("SEC1", &["ecparam", "-name", "prime256v1", "-genkey", "-noout"][..]),
    ] {
        let key = String::from_utf8(openssl(genkey, b"")).unwrap();
        assert!(key.contains(if format == "SEC1" { "EC PRIVATE KEY" } else { "RSA PRIVATE KEY" }), "{key}");
        // The same key as PKCS#8, which rcgen reads, to sign its certificate.
        let pkcs8 = String::from_utf8(openssl(&["pkcs8", "-topk8", "-nocrypt"], key.as_bytes())).unwrap();
        let pair = KeyPair::from_pem(&pkcs8).unwrap();
        identities.push((format, clients.sign(&["client"], &pair), key));
    }
    server.write("f.txt", b"for clients\n");
    for (format, chain, key) in identities {
        let identity = ClientIdentity { chain: chain.into_bytes(), key: key.into_bytes() };
        let settings = TlsSettings { identity: Some(identity), ..server.settings() };
        let mut s = server.login_with(DataMode::Passive, &settings).await.unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(get(&mut s, &server.remote("f.txt"), 0).await.unwrap(), b"for clients\n", "{format}");
        s.quit().await.unwrap();
    }
    // The server's alert; when its close overtakes the alert, a failed handshake instead.
    match server.login_with(DataMode::Passive, &server.settings()).await {
        Err(
            FtpError::TlsAlert { channel: Channel::Control, .. }
            | FtpError::TlsHandshake { channel: Channel::Control, .. },
        ) => {}
        other => panic!("expected the server's refusal of a missing client certificate, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals

/// A server without TLS refuses AUTH TLS: the AUTH failure, before any login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_tls_refused() {
    let root = tempfile::tempdir().unwrap();
    let plain = EmbeddedFtp::start(embedded_config(root.path())).await.unwrap();
    let settings = TlsSettings { verification: Verification::IgnoreCertificate, ..TlsSettings::default() };
    let config = FtpConfig {
        timeouts: timeouts(),
        tls: Some(FtpTls::new(FtpsMode::Explicit, &settings, "127.0.0.1").unwrap()),
        ..FtpConfig::new("127.0.0.1", plain.addr().port(), EMBEDDED_USER, EMBEDDED_PASS)
    };
    match FtpSession::connect(&Net::default(), &config).await {
        Err(FtpError::Rejected { step: Step::Auth, reply }) => assert!(reply.code >= 500, "{reply}"),
        other => panic!("expected AUTH refused, got {other:?}"),
    }
}

/// A fake implicit-FTPS server: it runs `script` on the first connection after the TLS
/// handshake (certificate from `pki`), handing it the acceptor for data connections.
async fn fake_ftps<F, Fut>(pki: &Pki, script: F) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    F: FnOnce(Conn, TlsAcceptor) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let acceptor = TlsAcceptor::from(pki.server_config());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("fake FTPS: accept");
        let tls = acceptor.accept(tcp).await.expect("fake FTPS: handshake");
        let (read, write) = tokio::io::split(tls);
        script(Conn::new(read, write), acceptor).await;
    });
    (addr, task)
}

/// A session with a fake implicit-FTPS server that trusts `pki`.
fn fake_config(pki: &Pki, addr: SocketAddr) -> FtpConfig {
    let settings = TlsSettings { ca: pki.ca_pem.clone().into_bytes(), ..TlsSettings::default() };
    FtpConfig {
        timeouts: FtpTimeouts { reply: Duration::from_secs(2), idle: Duration::from_secs(2), ..timeouts() },
        tls: Some(FtpTls::new(FtpsMode::Implicit, &settings, "localhost").unwrap()),
        ..FtpConfig::new("localhost", addr.port(), "u", "p")
    }
}

/// Greeting and login over the fake's TLS control connection.
async fn fake_login(c: &mut Conn) {
    c.reply("220 fake FTPS").await;
    c.expect("USER u").await;
    c.reply("331 password").await;
    c.expect("PASS p").await;
    c.reply("230 in").await;
}

/// Commands a fake server expects, each with its reply.
type Exchanges = &'static [(&'static str, &'static str)];

/// Plays `exchanges` (command expected, reply) after the login.
async fn fake_exchanges(c: &mut Conn, exchanges: Exchanges) {
    for (cmd, reply) in exchanges {
        c.expect(cmd).await;
        c.reply(reply).await;
    }
}

#[tokio::test]
async fn pbsz_and_prot_refused() {
    let pki = Pki::new("fake test CA");
    let cases: [(Exchanges, Step, u16); 2] = [
        (&[("PBSZ 0", "501 no buffer for you")], Step::Pbsz, 501),
        (&[("PBSZ 0", "200 PBSZ=0"), ("PROT P", "536 not P")], Step::Prot, 536),
    ];
    for (exchanges, step, code) in cases {
        let (addr, fake) = fake_ftps(&pki, move |mut c, _| async move {
            fake_login(&mut c).await;
            fake_exchanges(&mut c, exchanges).await;
        })
        .await;
        match FtpSession::connect(&Net::default(), &fake_config(&pki, addr)).await {
            Err(FtpError::Rejected { step: got, reply }) => assert_eq!((got, reply.code), (step, code)),
            other => panic!("expected {step} refused, got {other:?}"),
        }
        fake.await.unwrap();
    }
}

/// Replies sent after `234` in clear text, before the handshake, are not taken for protected
/// ones (STARTTLS command injection).
#[tokio::test]
async fn bytes_after_234_are_refused() {
    let fake = fake_ftp::FakeFtp::start(|mut c| async move {
        c.reply("220 fake").await;
        c.expect("AUTH TLS").await;
        c.raw(b"234 go ahead\r\n230 logged in, honest\r\n").await;
    })
    .await;
    let settings = TlsSettings { verification: Verification::IgnoreCertificate, ..TlsSettings::default() };
    let config = FtpConfig {
        timeouts: timeouts(),
        tls: Some(FtpTls::new(FtpsMode::Explicit, &settings, "127.0.0.1").unwrap()),
        ..FtpConfig::new("127.0.0.1", fake.addr.port(), "u", "p")
    };
    match FtpSession::connect(&Net::default(), &config).await {
        Err(FtpError::Malformed(text)) => assert!(text.contains("AUTH TLS"), "{text}"),
        other => panic!("expected the injected reply refused, got {other:?}"),
    }
    fake.done().await;
}

// ---------------------------------------------------------------------------------------------
// Data connections closed without close_notify

/// A fake download of `send` of the 100 bytes the 150 announces, over a TLS data connection
/// that the server closes without `close_notify`, then `final_reply`.
async fn unclean_download(send: usize, final_reply: &'static str) -> Result<Vec<u8>, FtpError> {
    let pki = Pki::new("fake test CA");
    let (addr, fake) = fake_ftps(&pki, move |mut c, acceptor| async move {
        fake_login(&mut c).await;
        fake_exchanges(
            &mut c,
            &[("PBSZ 0", "200 PBSZ=0"), ("PROT P", "200 PROT now Private"), ("TYPE I", "200 binary")],
        )
        .await;
        let listener = c.epsv().await;
        c.expect("RETR f").await;
        c.reply("150 Opening BINARY mode data connection for f (100 bytes)").await;
        let mut data = acceptor.accept(accept(&listener).await).await.expect("fake FTPS: data handshake");
        data.write_all(&[7u8; 100][..send]).await.unwrap();
        data.flush().await.unwrap();
        // The TCP connection closes under TLS: no close_notify.
        drop(data.into_inner().0);
        c.reply(final_reply).await;
    })
    .await;
    let mut s = FtpSession::connect(&Net::default(), &fake_config(&pki, addr)).await.unwrap();
    let result = get(&mut s, "f", 0).await;
    drop(s);
    fake.await.unwrap();
    result
}

#[tokio::test]
async fn a_download_closed_without_close_notify_counts_only_if_complete() {
    // All announced bytes and 226: complete.
    assert_eq!(unclean_download(100, "226 Transfer complete").await.unwrap(), [7u8; 100]);
    // Fewer bytes than announced: broken, whatever the server's reply says.
    match unclean_download(60, "226 Transfer complete").await {
        Err(FtpError::TransferBroken { step: Step::Retr, fault: TransferFault::Data(e) }) => {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof)
        }
        other => panic!("expected a truncated download, got {other:?}"),
    }
    // The server's failure reply: broken.
    match unclean_download(60, "426 Connection closed; transfer aborted").await {
        Err(FtpError::TransferBroken { fault: TransferFault::Reply(reply), .. }) => assert_eq!(reply.code, 426),
        other => panic!("expected a broken download, got {other:?}"),
    }
}
