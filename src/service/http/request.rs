//! What the host asks for: one HTTP request as a SIMCom module's `AT+HTTPPARA` settings,
//! `AT+HTTPDATA` body and `AT+HTTPACTION=<method>` describe it.

use std::time::Duration;

use crate::service::sink::Progress;
use crate::service::tls::TlsSettings;

/// The request methods the modules offer (`AT+HTTPACTION`: 0 GET, 1 POST, 2 HEAD, 3 DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET: fetch the body.
    Get,
    /// POST: send [`HttpRequest::body`], fetch the answer.
    Post,
    /// HEAD: the response head only.
    Head,
    /// DELETE.
    Delete,
}

impl HttpMethod {
    /// The method on the wire.
    pub(super) fn as_http(self) -> http::Method {
        match self {
            HttpMethod::Get => http::Method::GET,
            HttpMethod::Post => http::Method::POST,
            HttpMethod::Head => http::Method::HEAD,
            HttpMethod::Delete => http::Method::DELETE,
        }
    }
}

/// One HTTP request, dialect-neutral: what [`fetch`](super::fetch) sends, and how.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: HttpMethod,
    /// The URL as the host typed it: `http://` or `https://` or no scheme (plain HTTP), a
    /// host name or IP address (IPv6 in brackets), an optional port, a path and query.
    /// Only an `https://` URL uses TLS: a dialect whose SSL switch is on rewrites a URL
    /// without scheme to `https://` itself.
    pub url: String,
    /// The `User-Agent` header (the modules' default is `SIMCom_MODULE`).
    pub user_agent: String,
    /// The `Content-Type` header of the body a POST sends, if any.
    pub content_type: Option<String>,
    /// Extra header lines the host supplies (`AT+HTTPPARA="USERDATA"`), `\r\n`-separated;
    /// may be empty. A header named here replaces vmodem's own of that name. Names go out in
    /// title case (`X-Api-Key`), as hyper writes them; servers read names in any case.
    pub user_data: String,
    /// The body a POST sends (`AT+HTTPDATA`); other methods send none.
    pub body: Vec<u8>,
    /// An HTTP proxy (`PROIP`, `PROPORT`): plain HTTP goes through it in absolute form,
    /// HTTPS through a `CONNECT` tunnel. Proxies are never read from the environment.
    pub proxy: Option<(String, u16)>,
    /// Whether 301, 302, 303, 307 and 308 answers are followed (`REDIR`), for at most
    /// [`MAX_REDIRECTS`](super::MAX_REDIRECTS) hops.
    pub follow_redirects: bool,
    /// `Range: bytes=<from>-[<to>]` (`BREAK`, `BREAKEND`), both ends inclusive.
    pub range: Option<(u64, Option<u64>)>,
    /// The whole exchange, redirects included, must end within this (`TIMEOUT`).
    pub timeout: Duration,
    /// TLS for `https://` URLs: the CA list, verification, versions, SNI of an SSL context.
    /// `None` stands for the default settings, which verify against an empty CA list and so
    /// fail; pass settings with [`Verification::IgnoreCertificate`] to skip the check.
    ///
    /// [`Verification::IgnoreCertificate`]: crate::service::tls::Verification::IgnoreCertificate
    pub tls: Option<TlsSettings>,
    /// The most body bytes kept (the SIM800's buffer holds 319488); the rest is read and
    /// counted, so [`HttpResponse::length`](super::HttpResponse::length) stays the real length.
    pub body_limit: usize,
    /// Counters the dialect reads while the request runs (`AT+HTTPSTATUS?`).
    pub progress: Option<HttpProgress>,
}

/// How far a request body and its response body have come, shared with the dialect that
/// started the request.
#[derive(Debug, Clone, Default)]
pub struct HttpProgress {
    /// Request body bytes the socket has taken so far (of the last request sent; a 307 or
    /// 308 redirect sends the body again, counted from 0).
    pub sent: Progress,
    /// Body bytes received so far (of the final response, after any redirects).
    pub received: Progress,
    /// The body's announced length (`Content-Length`); 0 while unknown.
    pub total: Progress,
}
