//! What can go wrong with an HTTP request, classified once here, and the SIMCom code for each
//! (`+HTTPACTION: <method>,<code>,0`). A status the server sends (404, 500, ...) is a result,
//! never an error.

use std::error::Error;
use std::io;

use rustls::AlertDescription;

use crate::net::NetError;
use crate::service::tls::{HandshakeFailure, TlsConfigError, rustls_error};

/// Why an HTTP request got no complete response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request cannot be made: a URL without a host, a bad port, an unsupported scheme, a
    /// user-data line that is not a header. Nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The server's (or proxy's) name did not resolve.
    #[error("cannot resolve {0}")]
    Dns(String),
    /// The connection to the server (or proxy) could not be opened.
    #[error("cannot connect: {0}")]
    Connect(NetError),
    /// The proxy answered `CONNECT` with this status instead of opening a tunnel.
    #[error("the proxy refused the tunnel with status {0}")]
    Tunnel(u16),
    /// The TLS settings cannot be used (no CA list while verifying, a bad certificate).
    #[error("TLS settings: {0}")]
    TlsConfig(#[from] TlsConfigError),
    /// The TLS handshake failed: rustls refused it (a rejected certificate among the reasons)
    /// or the connection broke during it.
    #[error("TLS handshake failed: {0}")]
    TlsHandshake(HandshakeFailure),
    /// The server sent a fatal TLS alert, during the handshake or later.
    #[error("the server sent the TLS alert {0:?}")]
    TlsAlert(AlertDescription),
    /// The exchange (redirects included) did not end within the request's timeout.
    #[error("no complete response in time")]
    Timeout,
    /// What came back is not an HTTP/1.x response.
    #[error("not an HTTP response: {0}")]
    Malformed(String),
    /// The connection failed or closed before the response was complete (a reset, a body
    /// shorter than its `Content-Length`).
    #[error("connection broken: {0}")]
    Broken(String),
}

impl HttpError {
    /// The SIMCom module code for this failure, as `+HTTPACTION` reports it.
    ///
    /// The service never produces 602 (no memory: a body beyond the buffer is cut to
    /// [`HttpRequest::body_limit`](super::HttpRequest::body_limit) and still counted) nor 604
    /// (stack busy: an action while one runs, which only the dialect sees).
    pub fn module_code(&self) -> u16 {
        match self {
            // 600 "Not HTTP PDU": the peer answered, but not in HTTP.
            HttpError::Malformed(_) => 600,
            // 601 "Network error": the modules' catch-all for a request that found no usable
            // connection: refused, unreachable, timed out, reset or cut short. A request that
            // cannot be made at all (a bad URL) gets it too: the module has no server to talk
            // to, and the vendor notes give no other code for it. A proxy that refuses the
            // tunnel is a connection that could not be made.
            HttpError::InvalidRequest(_)
            | HttpError::Connect(_)
            | HttpError::Tunnel(_)
            | HttpError::Timeout
            | HttpError::Broken(_) => 601,
            // 603 "DNS error": the server's or the proxy's name did not resolve.
            HttpError::Dns(_) => 603,
            // 605 "SSL failed to establish channels": no TLS session came about, whether the
            // settings were unusable, the certificate was rejected or the peer hung up.
            HttpError::TlsConfig(_) | HttpError::TlsHandshake(_) => 605,
            // 606 "SSL fatal alert, connection terminated".
            HttpError::TlsAlert(_) => 606,
        }
    }

    /// A failure to open a connection: DNS failures apart, as the modules report them apart.
    pub(super) fn connect(e: NetError) -> HttpError {
        match e {
            NetError::Dns(host) => HttpError::Dns(host),
            other => HttpError::Connect(other),
        }
    }

    /// A failed TLS handshake: the server's alert, or rustls' refusal, or the connection lost.
    pub(super) fn handshake(e: io::Error) -> HttpError {
        match rustls_error(&e) {
            Some(rustls::Error::AlertReceived(alert)) => HttpError::TlsAlert(*alert),
            Some(err) => HttpError::TlsHandshake(HandshakeFailure::Tls(err.clone())),
            None => HttpError::TlsHandshake(HandshakeFailure::Io(e)),
        }
    }

    /// A failure of the exchange once connected, as hyper reports it: a response that does
    /// not parse, a TLS alert, or a connection that broke.
    pub(super) fn exchange(e: hyper::Error) -> HttpError {
        let alert = causes(&e).filter_map(|s| s.downcast_ref::<io::Error>()).find_map(|io| match rustls_error(io) {
            Some(rustls::Error::AlertReceived(alert)) => Some(*alert),
            _ => None,
        });
        match alert {
            Some(alert) => HttpError::TlsAlert(alert),
            None if e.is_parse() => HttpError::Malformed(e.to_string()),
            None => HttpError::Broken(describe(&e)),
        }
    }
}

/// The causes of `e`, nearest first.
fn causes<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(e.source(), |&s| s.source())
}

/// An error and its causes, as one line.
fn describe(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    for cause in causes(e) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    text
}
