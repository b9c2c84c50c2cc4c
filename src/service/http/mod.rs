//! vmodem's HTTP client: dialect-neutral, async, every socket through [`crate::net`]. The
//! SIMCom `AT+HTTP*` commands describe a request ([`HttpRequest`]); [`fetch`] carries it
//! out and returns the response ([`HttpResponse`]: status, head, body, length) or the failure
//! ([`HttpError`], with its SIMCom code).
//!
//! HTTP/1.1 only, one connection per request, on hyper's client connection
//! (`hyper::client::conn::http1`) over the stream [`Net::connect`] opens. reqwest was
//! considered and ruled out: it opens its sockets itself, and its extension points cannot
//! change that. Its connector layers wrap its own connector and must return its sealed
//! `Conn` type; its resolver overrides apply to host names only, never to an IP-literal URL
//! (the vendor notes' `112.74.93.163`), and cannot change the port. Going around [`Net`]
//! would lose its redirects and injected faults.
//!
//! Also here, beyond what a client library offers: the response head as it arrived on the
//! wire, for `AT+HTTPHEAD` (`head`); a body cut to the module's buffer but counted to its end
//! (`response`); URLs as hosts type them (`url`); a proxy in absolute form for plain HTTP and
//! through `CONNECT` for HTTPS (`connect`); and TLS from [`crate::service::tls`], verifying
//! unless the settings say otherwise. Proxies are never read from the environment.
//!
//! Modules: `request`, `response`, `error`, `url`, `connect` (proxy, tunnel, TLS), `tap`
//! (the response head as it arrived, the body bytes sent), `exchange` (one request and its
//! response head).

mod connect;
mod error;
mod exchange;
pub mod job;
mod request;
mod response;
mod tap;
mod url;

use bytes::Bytes;
use http::header::{self, HeaderName};

pub use error::HttpError;
pub use request::{HttpMethod, HttpProgress, HttpRequest};
pub use response::HttpResponse;

use crate::net::Net;
use url::Target;

/// Redirects followed at most; the answer after the last is reported as it is (a 302, say).
pub const MAX_REDIRECTS: usize = 10;

/// Carries out `req`: connects (through the proxy if there is one), sends the request, reads
/// the response, follows redirects if asked, all within `req.timeout`.
///
/// Whatever status the server answers is a response; an error means no complete response
/// came (see [`HttpError::module_code`] for the modules' codes). A redirect whose `Location`
/// is not a usable URL is reported as it is. 301, 302 and 303 turn a POST into a GET without
/// a body (303 any method but HEAD), as browsers do; 307 and 308 repeat the request. The
/// host's credential headers ([`CREDENTIALS`]) go only to the URL's own scheme, host and port.
pub async fn fetch(net: &Net, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let wait = req.timeout;
    tokio::time::timeout(wait, follow(net, req)).await.unwrap_or(Err(HttpError::Timeout))
}

/// The header fields of the host's user data that carry credentials.
///
/// curl's rule for redirects (`Curl_auth_allowed_to_host` in its lib/http.c): they go with a
/// request only while its scheme, host (in any case) and port are those of the URL the host
/// gave. A redirect to another origin drops them, and a later redirect back to that origin
/// sends them again. URLs carry no credentials to drop: one with user info (`user:pass@`) is
/// refused before anything is sent, in the host's URL and in a `Location` alike.
pub const CREDENTIALS: [HeaderName; 3] = [header::AUTHORIZATION, header::PROXY_AUTHORIZATION, header::COOKIE];

async fn follow(net: &Net, mut req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let body = Bytes::from(std::mem::take(&mut req.body));
    let origin = Target::parse(&req.url)?;
    let mut target = origin.clone();
    let mut method = req.method;
    let mut hops = 0;
    loop {
        let credentials = target.same_origin(&origin);
        let exchange = exchange::send(net, &req, method, &target, body.clone(), credentials).await?;
        let next = match exchange.redirect() {
            Some(location) if req.follow_redirects && hops < MAX_REDIRECTS => match target.join(location) {
                Ok(next) => Some(next),
                Err(e) => {
                    tracing::debug!(target: "vmodem::http", "not following {}: {e}", url::redact(location));
                    None
                }
            },
            _ => None,
        };
        let Some(next) = next else {
            return response::receive(exchange, method, req.body_limit, req.progress.as_ref()).await;
        };
        tracing::debug!(target: "vmodem::http", "{} redirects to {location}", exchange.status, location = next.absolute());
        method = match (exchange.status, method) {
            (301..=303, HttpMethod::Post) | (303, HttpMethod::Delete) => HttpMethod::Get,
            _ => method,
        };
        target = next;
        hops += 1;
    }
}
