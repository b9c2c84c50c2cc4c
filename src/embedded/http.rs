//! The in-process HTTP server: axum over a local folder, for `vmodem serve --demo` and the
//! tests' fast tier. It answers:
//!
//! * `GET` and `HEAD` of any file under the folder, with `Range` (206) and conditional
//!   requests (tower-http's `ServeDir`);
//! * `POST /echo`: the request body back, byte for byte;
//! * `POST` to any other path: 200 with no body, the request body kept as `post-<n>.bin` in
//!   the folder (n counting from 1 for each server), so a host's form post can be looked at;
//! * `PUT /<path>`: stores the body as that file (folders made as needed; 201 for a new file,
//!   204 for a replaced one), staged and renamed into place so no reader sees half of it;
//! * `GET /redirect/<path>`: 302 to `/<path>` (so `/redirect/redirect/a.txt` is two hops).
//!
//! Optionally over TLS ([`EmbeddedHttps`]). Like the embedded FTP server it accepts the
//! connections itself, so an ephemeral port can be reported; dropping the handle closes the
//! listening socket and every open connection.

use std::io;
use std::net::SocketAddr;
use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower_http::services::ServeDir;

/// The largest body `POST /echo` and `PUT` take (as the test nginx's `client_max_body_size`).
const MAX_BODY: usize = 64 << 20;
/// How long a client may take over its TLS handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);
/// Pause after a failed accept (out of file descriptors, say) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the embedded server serves, and where.
#[derive(Debug, Clone)]
pub struct EmbeddedHttpConfig {
    /// The folder served as `/`.
    pub root: PathBuf,
    /// Where to listen; port 0 picks a free port (see [`EmbeddedHttp::addr`]).
    pub bind: SocketAddr,
    /// HTTPS instead of plain HTTP.
    pub tls: Option<EmbeddedHttps>,
}

/// HTTPS for the embedded server (TLS 1.2 and 1.3, no client certificates).
#[derive(Debug, Clone)]
pub struct EmbeddedHttps {
    /// The server's certificate chain, a PEM file.
    pub cert: PathBuf,
    /// Its private key, a PEM file.
    pub key: PathBuf,
}

/// A running embedded server; it stops when dropped.
#[derive(Debug)]
pub struct EmbeddedHttp {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EmbeddedHttp {
    /// Opens the folder, reads the certificate and key (HTTPS), binds, and starts serving in
    /// the background.
    pub async fn start(config: EmbeddedHttpConfig) -> io::Result<EmbeddedHttp> {
        let root = Arc::new(Shared {
            root: Dir::open_ambient_dir(&config.root, ambient_authority())?,
            posts: AtomicU64::new(0),
        });
        let tls = config.tls.as_ref().map(acceptor).transpose()?;
        let app = Router::new()
            .route("/echo", post(echo))
            .route("/redirect/{*path}", get(redirect))
            .route("/", post(keep).fallback_service(ServeDir::new(&config.root)))
            .route("/{*path}", put(store).post(keep).fallback_service(ServeDir::new(&config.root)))
            .fallback_service(ServeDir::new(&config.root))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(root);
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, app, tls));
        Ok(EmbeddedHttp { addr, task })
    }

    /// The address it listens on (with the real port when `bind` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EmbeddedHttp {
    fn drop(&mut self) {
        // Dropping the loop's task drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

/// A TLS acceptor for the certificate and key `https` names.
pub(crate) fn acceptor(https: &EmbeddedHttps) -> io::Result<TlsAcceptor> {
    let bad = |what: &FsPath, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", what.display()))
    };
    let chain = CertificateDer::pem_file_iter(&https.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| bad(&https.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&https.key).map_err(|e| bad(&https.key, &e))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| bad(&https.cert, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves until aborted. Each connection runs in `connections`, so aborting this task ends
/// them.
async fn accept_loop(listener: TcpListener, app: Router, tls: Option<TlsAcceptor>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let (app, tls) = (app.clone(), tls.clone());
                    connections.spawn(async move {
                        let _ = tcp.set_nodelay(true);
                        let served = match tls {
                            None => serve(tcp, app).await,
                            Some(tls) => match tokio::time::timeout(HANDSHAKE_LIMIT, tls.accept(tcp)).await {
                                Ok(Ok(stream)) => serve(stream, app).await,
                                Ok(Err(e)) => Err(e.to_string()),
                                Err(_) => Err("TLS handshake timed out".into()),
                            },
                        };
                        if let Err(e) = served {
                            tracing::debug!(target: "vmodem::embedded", "HTTP connection from {peer} ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(target: "vmodem::embedded", "embedded HTTP: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// HTTP/1.1 on one connection.
async fn serve<S>(stream: S, app: Router) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await
        .map_err(|e| e.to_string())
}

/// `POST /echo`: the body back.
async fn echo(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

/// `GET /redirect/<path>`: 302 to `/<path>`.
async fn redirect(Path(path): Path<String>) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, format!("/{path}"))]).into_response()
}

/// The folder served, and the count of kept POST bodies.
#[derive(Debug)]
struct Shared {
    root: Dir,
    posts: AtomicU64,
}

/// `POST` elsewhere than `/echo`: the body kept as `post-<n>.bin`, 200 with no body.
async fn keep(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let n = shared.posts.fetch_add(1, Ordering::Relaxed) + 1;
    let path = format!("post-{n}.bin");
    match tokio::task::spawn_blocking(move || write(&shared.root, &path, &body)).await {
        Ok(Ok(_)) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `PUT /<path>`: stores the body there.
async fn store(State(shared): State<Arc<Shared>>, Path(path): Path<String>, body: Bytes) -> Response {
    match tokio::task::spawn_blocking(move || write(&shared.root, &path, &body)).await {
        Ok(Ok(status)) => status.into_response(),
        Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidInput => {
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Writes `body` to `path` under `root` (plain names only; cap-std refuses any way out), via
/// a staged file renamed into place.
fn write(root: &Dir, path: &str, body: &[u8]) -> io::Result<StatusCode> {
    let path = FsPath::new(path);
    let name = path.file_name().filter(|_| path.components().all(|c| matches!(c, Component::Normal(_))));
    let Some(name) = name else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("cannot store {}", path.display())));
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        root.create_dir_all(folder)?;
    }
    // A name of its own per upload, so two uploads of one file never write into each other.
    static UPLOADS: AtomicU64 = AtomicU64::new(0);
    let mut stage_name = std::ffi::OsString::from(".");
    stage_name.push(name);
    stage_name.push(format!(".{}.part", UPLOADS.fetch_add(1, Ordering::Relaxed)));
    let stage = path.with_file_name(stage_name);
    let existed = root.exists(path);
    root.write(&stage, body)?;
    root.rename(&stage, root, path)?;
    Ok(if existed { StatusCode::NO_CONTENT } else { StatusCode::CREATED })
}
