//! The connection a request goes over, every socket from [`Net`]: straight to the server or
//! to the proxy, through a `CONNECT` tunnel for HTTPS behind a proxy, then TLS for `https://`.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use super::HttpError;
use super::url::Target;
use crate::net::Net;
use crate::service::tls::TlsSettings;

/// A connection's bytes: TCP, TLS over TCP, or either inside a proxy's tunnel.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open connection.
pub(super) type Stream = Box<dyn Io>;

/// The TLS client side for one `https://` target, built before any socket opens so that
/// unusable settings fail without traffic.
pub(super) struct Tls {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl Tls {
    /// TLS for `target`, or `None` for plain HTTP. Missing settings are the defaults (which
    /// verify against an empty CA list, and so fail).
    pub(super) fn for_target(target: &Target, settings: Option<&TlsSettings>) -> Result<Option<Tls>, HttpError> {
        if !target.https {
            return Ok(None);
        }
        let default = TlsSettings::default();
        let settings = settings.unwrap_or(&default);
        Ok(Some(Tls { config: settings.client_config()?, name: settings.server_name(&target.host)? }))
    }

    async fn handshake(self, stream: Stream) -> Result<Stream, HttpError> {
        let tls = TlsConnector::from(self.config).connect(self.name, stream).await.map_err(HttpError::handshake)?;
        Ok(Box::new(tls))
    }
}

/// Opens the connection for a request to `target`: to the server, or to `proxy` (with a
/// `CONNECT` tunnel when TLS goes through it), then the TLS handshake if there is `tls`.
pub(super) async fn open(
    net: &Net,
    target: &Target,
    proxy: Option<&(String, u16)>,
    tls: Option<Tls>,
) -> Result<Stream, HttpError> {
    let (host, port) = proxy.map_or((target.host.as_str(), target.port), |(host, port)| (host.as_str(), *port));
    let tcp: Stream = Box::new(net.connect(host, port).await.map_err(HttpError::connect)?);
    let Some(tls) = tls else { return Ok(tcp) };
    let stream = match proxy {
        Some(_) => tunnel(tcp, target).await?,
        None => tcp,
    };
    tls.handshake(stream).await
}

/// Asks the proxy on `stream` for a tunnel to `target` (`CONNECT host:port`); the tunnel once
/// the proxy answers 2xx.
async fn tunnel(stream: Stream, target: &Target) -> Result<Stream, HttpError> {
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(HttpError::exchange)?;
    let _driver = Driver::spawn(conn.with_upgrades());
    let authority = target.authority();
    let request = http::Request::connect(authority.as_str())
        .header(http::header::HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|e| HttpError::InvalidRequest(format!("CONNECT {authority}: {e}")))?;
    let response = sender.send_request(request).await.map_err(HttpError::exchange)?;
    if !response.status().is_success() {
        return Err(HttpError::Tunnel(response.status().as_u16()));
    }
    let tunnel = hyper::upgrade::on(response).await.map_err(HttpError::exchange)?;
    Ok(Box::new(TokioIo::new(tunnel)))
}

/// A hyper connection driven in a task of its own while an exchange needs it; dropping the
/// driver ends the connection.
pub(super) struct Driver(JoinHandle<()>);

impl Driver {
    /// Runs `conn` until it ends or the driver is dropped.
    pub(super) fn spawn<F>(conn: F) -> Driver
    where
        F: Future<Output = Result<(), hyper::Error>> + Send + 'static,
    {
        Driver(tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "vmodem::http", "connection ended: {e}");
            }
        }))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}
