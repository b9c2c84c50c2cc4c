//! One request and the head of its response, over a connection of its own (HTTP/1.1 with
//! hyper's client connection; no pooling: a module opens a connection per action).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::connect::{self, Driver, Tls};
use super::tap::Tap;
use super::url::Target;
use super::{CREDENTIALS, HttpError, HttpMethod, HttpRequest};
use crate::net::Net;

/// A response whose head has arrived; its body is still to be read from the connection.
pub(super) struct Exchange {
    /// The status code.
    pub(super) status: u16,
    /// The head as [`HttpResponse::head`](super::HttpResponse::head) carries it.
    pub(super) head: String,
    /// The parsed header fields.
    pub(super) headers: HeaderMap,
    /// The body, as it arrives.
    pub(super) body: Incoming,
    /// Keeps the connection alive until the body has been read.
    _driver: Driver,
}

impl Exchange {
    /// The `Location` of a redirect (301, 302, 303, 307, 308), if this is one.
    pub(super) fn redirect(&self) -> Option<&str> {
        match self.status {
            301 | 302 | 303 | 307 | 308 => self.headers.get(header::LOCATION)?.to_str().ok(),
            _ => None,
        }
    }
}

/// Sends `req` as `method` to `target` (`body` goes with a POST), with the host's credential
/// headers if `credentials`, and waits for the head of the response.
pub(super) async fn send(
    net: &Net,
    req: &HttpRequest,
    method: HttpMethod,
    target: &Target,
    body: Bytes,
    credentials: bool,
) -> Result<Exchange, HttpError> {
    // Plain HTTP through a proxy names the whole URL; a tunnel or a server gets the path.
    let absolute = req.proxy.is_some() && !target.https;
    // Built before connecting, so a request that cannot be made sends nothing.
    let request = build(req, method, target, absolute, body, credentials)?;
    let tls = Tls::for_target(target, req.tls.as_ref())?;
    let stream = connect::open(net, target, req.proxy.as_ref(), tls).await?;
    let (tap, head) = Tap::new(stream, req.progress.as_ref().map(|p| p.sent.clone()));
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(tap))
        .await
        .map_err(HttpError::exchange)?;
    let driver = Driver::spawn(conn);
    let response = sender.send_request(request).await.map_err(HttpError::exchange)?;
    let (parts, body) = response.into_parts();
    Ok(Exchange { status: parts.status.as_u16(), head: head.text(), headers: parts.headers, body, _driver: driver })
}

/// The request as it goes on the wire: `Host`, `User-Agent`, `Range`, for a POST
/// `Content-Type` and `Content-Length`, then the host's own header lines, which replace
/// vmodem's of the same name, less those of [`CREDENTIALS`] unless `credentials`. hyper writes
/// names in title case (`User-Agent`).
fn build(
    req: &HttpRequest,
    method: HttpMethod,
    target: &Target,
    absolute: bool,
    body: Bytes,
    credentials: bool,
) -> Result<http::Request<Full<Bytes>>, HttpError> {
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, value("Host", &target.host_header())?);
    headers.insert(header::USER_AGENT, value("User-Agent", &req.user_agent)?);
    if let Some((from, to)) = req.range {
        let to = to.map(|t| t.to_string()).unwrap_or_default();
        headers.insert(header::RANGE, value("Range", &format!("bytes={from}-{to}"))?);
    }
    let body = match method {
        HttpMethod::Post => {
            if let Some(content_type) = &req.content_type {
                headers.insert(header::CONTENT_TYPE, value("Content-Type", content_type)?);
            }
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            body
        }
        _ => Bytes::new(),
    };
    let mut user = user_headers(&req.user_data)?;
    if !credentials {
        for name in &CREDENTIALS {
            user.remove(name);
        }
    }
    for name in user.keys() {
        headers.remove(name);
    }
    headers.extend(user);
    let uri = if absolute { target.absolute() } else { target.path.clone() };
    let mut request = http::Request::builder()
        .method(method.as_http())
        .uri(uri.as_str())
        .body(Full::new(body))
        .map_err(|e| HttpError::InvalidRequest(format!("the request target cannot be sent: {e}")))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The host's header lines (`USERDATA`): `Name: value` lines separated by CRLF (or LF);
/// blank lines are skipped. An error names the line by its number, never its text: user data
/// carries credentials.
fn user_headers(text: &str) -> Result<HeaderMap, HttpError> {
    let mut headers = HeaderMap::new();
    for (i, line) in text.split('\n').map(str::trim).enumerate().filter(|(_, l)| !l.is_empty()) {
        let line_error = |problem: &str| HttpError::InvalidRequest(format!("user data line {} {problem}", i + 1));
        let (name, v) = line.split_once(':').ok_or_else(|| line_error("is not a header"))?;
        let name = HeaderName::try_from(name.trim()).map_err(|_| line_error("has a bad header name"))?;
        let v = HeaderValue::try_from(v.trim()).map_err(|_| line_error("has a bad header value"))?;
        headers.append(name, v);
    }
    Ok(headers)
}

/// `v` as the value of header `name`; an error names the header, not the value.
fn value(name: &str, v: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::try_from(v).map_err(|_| HttpError::InvalidRequest(format!("{name}: not a header value")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(method: HttpMethod, user_data: &str) -> HttpRequest {
        HttpRequest {
            method,
            url: String::new(),
            user_agent: "SIMCom_MODULE".into(),
            content_type: Some("text/plain".into()),
            user_data: user_data.into(),
            body: Vec::new(),
            proxy: None,
            follow_redirects: false,
            range: Some((2000, None)),
            timeout: Duration::from_secs(1),
            tls: None,
            body_limit: 0,
            progress: None,
        }
    }

    /// The header lines, sorted: removing a default reorders the map, and order carries no
    /// meaning between different names.
    fn names(r: &http::Request<Full<Bytes>>) -> Vec<String> {
        let mut lines: Vec<_> = r.headers().iter().map(|(n, v)| format!("{n}: {}", v.to_str().unwrap())).collect();
        lines.sort();
        lines
    }

    #[test]
    fn requests_carry_the_settings_and_the_user_lines() {
        let target = Target::parse("h:8080/p?q").unwrap();
        let get = build(&request(HttpMethod::Get, ""), HttpMethod::Get, &target, false, Bytes::from_static(b"x"), true)
            .unwrap();
        assert_eq!(get.uri(), "/p?q");
        assert_eq!(names(&get), ["host: h:8080", "range: bytes=2000-", "user-agent: SIMCom_MODULE"]);
        let user = "Authorization: Bearer t\r\nUser-Agent: mine\r\n\r\nX-A: 1\r\nX-A: 2";
        let post =
            build(&request(HttpMethod::Post, user), HttpMethod::Post, &target, true, Bytes::from_static(b"abc"), true)
                .unwrap();
        assert_eq!(post.uri(), "http://h:8080/p?q");
        assert_eq!(
            names(&post),
            [
                "authorization: Bearer t",
                "content-length: 3",
                "content-type: text/plain",
                "host: h:8080",
                "range: bytes=2000-",
                "user-agent: mine",
                "x-a: 1",
                "x-a: 2",
            ]
        );
    }

    #[test]
    fn user_lines_that_are_no_headers_are_refused_without_quoting_them() {
        let target = Target::parse("h").unwrap();
        for (bad, message) in [
            ("X-A: 1\r\nAuthorization Basic s3cret", "user data line 2 is not a header"),
            ("\r\n\r\nbad s3cret name: x", "user data line 3 has a bad header name"),
            ("Authorization: Basic s3cret\u{1}", "user data line 1 has a bad header value"),
        ] {
            let r = build(&request(HttpMethod::Get, bad), HttpMethod::Get, &target, false, Bytes::new(), true);
            let e = r.err().unwrap_or_else(|| panic!("{bad:?} was taken"));
            assert!(matches!(e, HttpError::InvalidRequest(_)), "{bad:?}");
            assert_eq!(e.to_string(), format!("invalid request: {message}"));
        }
        let bad_agent = HttpRequest { user_agent: "s3cret\u{7f}".into(), ..request(HttpMethod::Get, "") };
        let e = build(&bad_agent, HttpMethod::Get, &target, false, Bytes::new(), true).err().unwrap();
        assert_eq!(e.to_string(), "invalid request: User-Agent: not a header value");
    }

    #[test]
    fn credentials_stay_behind_when_told() {
        let target = Target::parse("h").unwrap();
        let user = "Authorization: Basic x\r\nProxy-Authorization: Basic y\r\nCookie: c=1\r\nX-Device: 42";
        let r = build(&request(HttpMethod::Get, user), HttpMethod::Get, &target, false, Bytes::new(), false).unwrap();
        assert_eq!(names(&r), ["host: h", "range: bytes=2000-", "user-agent: SIMCom_MODULE", "x-device: 42"]);
    }
}
