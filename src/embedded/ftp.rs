//! The in-process FTP server: libunftp over a local folder, with one user and password, active
//! and passive mode, and optionally explicit FTPS ([`EmbeddedFtp::start_ftps`]). `vmodem serve
//! --demo` and the tests run it on an ephemeral port.
//!
//! libunftp's own `listen()` cannot report an ephemeral port, so this module accepts the
//! connections itself and gives each to a server built for it (`Server::service` consumes the
//! server). Dropping the handle closes the listening socket and, shortly after (task
//! cancellation is asynchronous), every open session.
//!
//! libunftp logs through `slog` to the `log` crate. vmodem does not depend on `slog`, so the
//! records cannot be discarded here; they reach tracing only if the binary bridges `log`
//! (tracing-subscriber's default `tracing-log` feature does), under the target `libunftp`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use libunftp::options::{ActivePassiveMode, FtpsClientAuth};
use libunftp::{Server, ServerBuilder};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use unftp_core::auth::DefaultUser;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};
use unftp_sbe_fs::Filesystem;

/// The greeting after `220 `.
const GREETING: &str = "vmodem embedded FTP server";

/// Pause after a failed accept (out of file descriptors, say) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the embedded server serves and to whom.
#[derive(Clone)]
pub struct EmbeddedFtpConfig {
    /// The folder served as `/`.
    pub root: PathBuf,
    /// The one login name accepted.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Where to listen; port 0 picks a free port (see [`EmbeddedFtp::addr`]).
    pub bind: SocketAddr,
}

impl fmt::Debug for EmbeddedFtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedFtpConfig")
            .field("root", &self.root)
            .field("user", &self.user)
            .field("password", &"****")
            .field("bind", &self.bind)
            .finish()
    }
}

/// Explicit FTPS for the embedded server: `AUTH TLS` on the control port, then TLS on the data
/// connections the client protects with `PROT P` (clear text stays allowed).
#[derive(Debug, Clone)]
pub struct EmbeddedFtps {
    /// The server's certificate chain, a PEM file.
    pub cert: PathBuf,
    /// Its private key, a PEM file.
    pub key: PathBuf,
    /// Mutual TLS: a PEM file of the CAs whose client certificates are accepted; clients
    /// without such a certificate are refused. `None` asks for no client certificate.
    pub client_ca: Option<PathBuf>,
}

/// A running embedded server; it stops when dropped (sessions end shortly after).
#[derive(Debug)]
pub struct EmbeddedFtp {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EmbeddedFtp {
    /// Checks that the root folder opens, binds, and starts serving plain FTP in the
    /// background.
    pub async fn start(config: EmbeddedFtpConfig) -> io::Result<EmbeddedFtp> {
        Self::launch(config, None).await
    }

    /// Like [`start`](Self::start), with explicit FTPS; the certificate and key files are
    /// checked first.
    pub async fn start_ftps(config: EmbeddedFtpConfig, ftps: EmbeddedFtps) -> io::Result<EmbeddedFtp> {
        Self::launch(config, Some(ftps)).await
    }

    async fn launch(config: EmbeddedFtpConfig, ftps: Option<EmbeddedFtps>) -> io::Result<EmbeddedFtp> {
        let auth = Arc::new(OneUser { user: config.user, password: config.password });
        let setup = Setup { root: config.root, auth, ftps };
        // Build one server now, so that a bad folder or certificate fails here rather than
        // in every session.
        setup.server()?;
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, setup));
        Ok(EmbeddedFtp { addr, task })
    }

    /// The address it listens on (with the real port when `bind` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EmbeddedFtp {
    fn drop(&mut self) {
        // Dropping the loop's task drops its JoinSet, which aborts every session.
        self.task.abort();
    }
}

/// What every session's server is built from.
struct Setup {
    root: PathBuf,
    auth: Arc<OneUser>,
    ftps: Option<EmbeddedFtps>,
}

impl Setup {
    /// A libunftp server for one control connection.
    fn server(&self) -> io::Result<Server<Filesystem, DefaultUser>> {
        // Open the folder here, where failure is an error rather than a panic in libunftp's
        // storage factory; the factory hands this one over (libunftp 0.24 calls it exactly
        // once per `Server::service`).
        let slot = Mutex::new(Some(Filesystem::new(&self.root)?));
        let factory = move || {
            slot.lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("libunftp builds one storage back-end per served connection")
        };
        let mut builder = ServerBuilder::with_authenticator(Box::new(factory), self.auth.clone())
            .greeting(GREETING)
            .active_passive_mode(ActivePassiveMode::ActiveAndPassive);
        if let Some(ftps) = &self.ftps {
            builder = builder.ftps(ftps.cert.clone(), ftps.key.clone());
            if let Some(ca) = &ftps.client_ca {
                builder = builder.ftps_client_auth(FtpsClientAuth::Require).ftps_trust_store(ca.clone());
            }
        }
        builder.build().map_err(io::Error::other)
    }
}

/// Serves until aborted. Each session runs in `sessions`, so aborting this task ends them.
async fn accept_loop(listener: TcpListener, setup: Setup) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match setup.server() {
                    Ok(server) => {
                        sessions.spawn(async move {
                            if let Err(e) = server.service(stream).await {
                                tracing::debug!("embedded FTP session ended: {e}");
                            }
                        });
                    }
                    Err(e) => tracing::warn!("embedded FTP: cannot serve {peer}: {e}"),
                },
                Err(e) => {
                    tracing::warn!("embedded FTP: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// The authenticator: one user name and password.
struct OneUser {
    user: String,
    password: String,
}

impl fmt::Debug for OneUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneUser").field("user", &self.user).finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticator for OneUser {
    async fn authenticate(&self, user: &str, creds: &Credentials) -> Result<Principal, AuthenticationError> {
        if user == self.user && creds.password.as_deref() == Some(self.password.as_str()) {
            Ok(Principal { username: user.to_string() })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}
