//! What a request brings back, and reading a response body into it.

use http::header;
use http_body_util::BodyExt;

use super::exchange::Exchange;
use super::{HttpError, HttpMethod, HttpProgress};

/// A complete response. Any status the server sends (200, 206, 302, 404, 500, ...) is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The head as received, for `AT+HTTPHEAD`: the status line and the header lines, each
    /// ending in CRLF, without the blank line that ends the head.
    pub head: String,
    /// The body, cut to the request's `body_limit`.
    pub body: Vec<u8>,
    /// The body's real length: every byte received, however many were kept; for a HEAD
    /// request, the `Content-Length` the server announced (0 without one).
    pub length: u64,
}

/// Reads the body of `exchange` to its end, keeping at most `limit` bytes and counting all.
/// A body that ends early (a reset, fewer bytes than its `Content-Length`) is an error,
/// never a short response.
pub(super) async fn receive(
    exchange: Exchange,
    method: HttpMethod,
    limit: usize,
    progress: Option<&HttpProgress>,
) -> Result<HttpResponse, HttpError> {
    let Exchange { status, head, headers, mut body, .. } = exchange;
    let announced =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(p) = progress {
        p.received.set(0);
        p.total.set(announced.unwrap_or(0));
    }
    let mut kept = Vec::new();
    let mut length = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(HttpError::exchange)?.into_data() else { continue };
        length += data.len() as u64;
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&data[..data.len().min(room)]);
        if let Some(p) = progress {
            p.received.set(length);
        }
    }
    if method == HttpMethod::Head {
        length = announced.unwrap_or(0);
    }
    Ok(HttpResponse { status, head, body: kept, length })
}
