//! The web console, served by the API at `/`: one page (HTML, a script and a style sheet,
//! embedded in the binary: no front-end build) over the API and two Server-Sent Event streams.
//!
//! - `GET /api/stream?offset&limit&state&q` sends the overview every second (`event: page`: a
//!   page of the modem list, filtered and paged on the server, with counts by state), so a
//!   fleet of 10,000 costs one page a second per open console.
//! - `GET /api/modems/{index}/stream` sends the modem's line as transcript text (`event:
//!   transcript`, what passed since the console first looked; then `event: lines` as it
//!   passes; `event: missed` if the console fell behind) and its state twice a second (`event:
//!   status`, with the network's byte counts for the throughput chart).
//! - `GET /api/modems/{index}/transcript` downloads the transcript (replay it with `vmodem chat`).
//! - `GET /api/modems/{index}/files` lists the module file system, and
//!   `GET /api/modems/{index}/files/{folder}/{name}` downloads one file.
//! - `POST /api/modems/{index}/type` types into the modem as a host would, only while no host
//!   is connected (409 otherwise): a module has one UART, and the console never writes on the
//!   host's line.
//!
//! The text is the recorder's ([`crate::record`]): secrets are variables, never values.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::Modems;
use super::api::{Body, ListQuery, Params, Refusal, entry, failure, page as list_page, view};

/// How often the overview is sent.
const OVERVIEW_EVERY: Duration = Duration::from_secs(1);
/// How often a modem's state is sent.
const STATUS_EVERY: Duration = Duration::from_millis(500);
/// The most a person types at once.
const MAX_TYPED: usize = 4096;

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// `/`: the page.
pub(super) async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

/// `/console.js`.
pub(super) async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}

/// `/console.css`.
pub(super) async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

type EventStream = std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;
type Events = Sse<axum::response::sse::KeepAliveStream<EventStream>>;

fn json_event(name: &str, value: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(value)
        .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

/// `GET /api/stream`: the overview, every second.
pub(super) async fn overview_stream(
    State(modems): State<Modems>,
    Params(q): Params<ListQuery>,
) -> Result<Events, Refusal> {
    list_page(&modems, &q)?;
    let mut tick = tokio::time::interval(OVERVIEW_EVERY);
    let stream = async_stream(move |tx| async move {
        loop {
            tick.tick().await;
            let event = match list_page(&modems, &q) {
                Ok(page) => json_event("page", &page),
                Err(_) => return,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The query a modem's stream takes (the token, if it comes in the URL).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamQuery {
    #[serde(default, rename = "token")]
    _token: Option<String>,
}

/// `GET /api/modems/{index}/stream`: the line's text and the modem's state.
pub(super) async fn modem_stream(
    State(modems): State<Modems>,
    Path(index): Path<String>,
    Params(_): Params<StreamQuery>,
) -> Result<Events, Refusal> {
    let entry = entry(&modems, &index)?;
    let (so_far, mut live) = entry.tap.watch(entry.family);
    let mut tick = tokio::time::interval(STATUS_EVERY);
    let stream = async_stream(move |tx| async move {
        if tx.send(json_event("transcript", &so_far)).await.is_err() {
            return;
        }
        loop {
            let event = tokio::select! {
                _ = tick.tick() => {
                    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
                    json_event("status", &serde_json::json!({ "at_ms": now as i64, "modem": view(&entry) }))
                }
                text = live.recv() => match text {
                    Ok(text) => json_event("lines", &text),
                    Err(broadcast::error::RecvError::Lagged(n)) => json_event("missed", &n),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A stream of what `produce` sends, ending when it returns or the client goes; the channel
/// holds a few events, so a slow client slows its own producer and nothing else.
fn async_stream<F, Fut>(produce: F) -> EventStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(produce(tx));
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) }))
}

/// `GET /api/modems/{index}/transcript`: the transcript so far, to download.
pub(super) async fn transcript(State(modems): State<Modems>, Path(index): Path<String>) -> Result<Response, Refusal> {
    let entry = entry(&modems, &index)?;
    let text = entry.tap.transcript().unwrap_or_else(|| entry.tap.watch(entry.family).0);
    let name = format!("attachment; filename=\"modem-{}.at\"", entry.index);
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)], text)
        .into_response())
}

/// One file of the module file system, as the console lists it.
#[derive(serde::Serialize)]
struct File {
    /// The folder (`customer`, `datatx`, ...).
    area: &'static str,
    name: String,
    size: u64,
}

/// `GET /api/modems/{index}/files`: the module file system's files.
pub(super) async fn files(State(modems): State<Modems>, Path(index): Path<String>) -> Result<Response, Refusal> {
    let entry = entry(&modems, &index)?;
    let fs = entry.handle.fs().ok_or_else(|| failure(StatusCode::NOT_FOUND, "this family has no file system"))?;
    let files = fs.list().map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let files: Vec<File> =
        files.into_iter().map(|(area, name, size)| File { area: area.folder(), name, size }).collect();
    Ok(axum::Json(files).into_response())
}

/// `GET /api/modems/{index}/files/{area}/{name}`: one file's bytes, to download.
pub(super) async fn file(
    State(modems): State<Modems>,
    Path((index, area, name)): Path<(String, String, String)>,
) -> Result<Response, Refusal> {
    let entry = entry(&modems, &index)?;
    let fs = entry.handle.fs().ok_or_else(|| failure(StatusCode::NOT_FOUND, "this family has no file system"))?;
    let area = crate::service::fs::Area::ALL
        .into_iter()
        .find(|a| a.folder() == area)
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, format!("no folder {area:?}")))?;
    // The file system checks the name: nothing outside its folders is reachable.
    let bytes = fs.read_all(area, &name).map_err(|e| failure(StatusCode::NOT_FOUND, e))?;
    let disposition = format!("attachment; filename=\"{}\"", name.replace(['"', '\\'], "_"));
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}

/// What a person typed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Typed {
    text: String,
}

/// `POST /api/modems/{index}/type`: into the modem, while no host is connected.
pub(super) async fn type_in(
    State(modems): State<Modems>,
    Path(index): Path<String>,
    Body(typed): Body<Typed>,
) -> Result<Response, Refusal> {
    let entry = entry(&modems, &index)?;
    if typed.text.len() > MAX_TYPED {
        return Err(failure(StatusCode::BAD_REQUEST, format!("at most {MAX_TYPED} bytes at once")));
    }
    // The console watches the line it types on.
    entry.tap.watch(entry.family);
    match entry.handle.type_in(typed.text.into_bytes()) {
        Ok(true) => Ok(axum::Json(serde_json::json!({ "modems": 1 })).into_response()),
        Ok(false) => {
            Err(failure(StatusCode::SERVICE_UNAVAILABLE, "the modem has stopped, or takes no more requests now"))
        }
        Err(why) => Err(failure(StatusCode::CONFLICT, why)),
    }
}
