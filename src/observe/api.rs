//! The HTTP API (`--api ADDR` on `vmodem serve` and `vmodem fleet`): JSON to list the modems of
//! the process and steer them, and Prometheus metrics at `/metrics`. `--metrics ADDR` serves
//! `/metrics` alone (read-only, no secrets: for a scraper that cannot send a token).
//!
//! | Request | Body | Answer |
//! | --- | --- | --- |
//! | `GET /api/modems?offset=0&limit=100&state=connected` | | `{"total", "offset", "modems": [...]}` |
//! | `GET /api/modems/{index}` | | the modem |
//! | `PUT /api/modems/{index}/profile` | `{"profile": "nbiot"}`, or figures: `{"profile": {"down_kbps": 50}}` | the modem |
//! | `PUT /api/profile?from=0&to=99` | `{"profile": "nbiot"}` | `{"modems": n}` |
//! | `POST /api/modems/{index}/faults` | a fault plan entry: `{"kind": "drop_bearer", "at": 0}` | `{"modems": 1}` |
//! | `POST /api/faults?from=0&to=99` | a fault plan entry | `{"modems": n}` |
//! | `DELETE /api/modems/{index}/faults` | | `{"modems": 1}` |
//! | `POST /api/modems/{index}/network` | `{"event": "release"}` (`deregister`, `register`; `{"event": "signal", "rssi": 12}`) | `{"modems": 1}` |
//! | `POST /api/network?from=0&to=99` | `{"event": "deregister"}`: a cell's worth at once | `{"modems": n}` |
//! | `POST /api/modems/{index}/sms` | `{"from": "+8613900000000", "text": "Hi"}` | `{"modems": 1}` |
//! | `GET /metrics` | | Prometheus text |
//!
//! `from` and `to` are modem indices, both included; without them a request is for every modem
//! of the process. A modem in the list shows its index, family, IMEI, number, link profile,
//! `state` (`off`, `frozen`, `searching`, `registered`, `connected`), registration, bearer
//! address, the services at work, whether a host is connected, and its counters.
//!
//! Anything wrong gets a 4xx answer `{"error": "<why>"}` and changes nothing: a malformed body,
//! an unknown modem, profile or event, an out-of-range value. The API binds loopback unless
//! told otherwise; elsewhere it needs a token, which every request then carries as
//! `Authorization: Bearer <token>`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::console;
use super::metrics::{registry, state};
use super::{ModemEntry, Modems, Observed};
use crate::net::{LinkProfile, ProfileSetting};
use crate::network::NetworkEvent;
use crate::plan::PlanEntry;
use crate::sms::centre::Incoming;
use crate::sms::pdu;

/// The largest request body.
const MAX_BODY: usize = 64 * 1024;
/// The most modems one page lists.
pub const MAX_PAGE: usize = 1000;

/// Why the API did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A non-loopback address with no token.
    #[error("the API on {0} is reachable from other machines: give it a token (--api-token)")]
    NeedsToken(SocketAddr),
    /// The address could not be bound.
    #[error("the API on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running HTTP server; it stops when dropped.
#[derive(Debug)]
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the API for `modems` on `addr`; `token`, if given, is required of every request
/// (and must be given unless `addr` is loopback).
pub async fn serve(addr: SocketAddr, token: Option<String>, modems: Modems) -> Result<Server, ApiError> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(ApiError::NeedsToken(addr));
    }
    let registry = Arc::new(registry(&modems));
    let api = Router::new()
        .route("/api/modems", get(list))
        .route("/api/modems/{index}", get(one))
        .route("/api/modems/{index}/profile", put(profile_one))
        .route("/api/modems/{index}/faults", post(fault_one).delete(clear_one))
        .route("/api/modems/{index}/network", post(network_one))
        .route("/api/modems/{index}/sms", post(sms_one))
        .route("/api/profile", put(profile_many))
        .route("/api/faults", post(fault_many))
        .route("/api/network", post(network_many))
        .route("/api/stream", get(console::overview_stream))
        .route("/api/modems/{index}/stream", get(console::modem_stream))
        .route("/api/modems/{index}/transcript", get(console::transcript))
        .route("/api/modems/{index}/type", post(console::type_in))
        .route("/api/modems/{index}/files", get(console::files))
        .route("/api/modems/{index}/files/{area}/{name}", get(console::file))
        .route("/", get(console::page))
        .route("/console.js", get(console::script))
        .route("/console.css", get(console::style))
        .with_state(modems)
        .route("/metrics", get(metrics).with_state(registry))
        .fallback(|| async { failure(StatusCode::NOT_FOUND, "no such resource") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
    let api = match token {
        Some(token) => api.layer(axum::middleware::from_fn_with_state(Arc::<str>::from(token), authorise)),
        None => api,
    };
    start(addr, api).await
}

/// Serves `/metrics` alone for `modems` on `addr`: read-only, so open to a scraper.
pub async fn serve_metrics(addr: SocketAddr, modems: Modems) -> Result<Server, ApiError> {
    serve_registry(addr, registry(&modems)).await
}

/// Serves `registry` alone at `/metrics` on `addr` (`vmodem drive`'s progress).
pub async fn serve_registry(
    addr: SocketAddr,
    registry: prometheus_client::registry::Registry,
) -> Result<Server, ApiError> {
    let router = Router::new()
        .route("/metrics", get(metrics))
        .with_state(Arc::new(registry))
        .fallback(|| async { failure(StatusCode::NOT_FOUND, "only /metrics is served here") });
    start(addr, router).await
}

async fn start(addr: SocketAddr, router: Router) -> Result<Server, ApiError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ApiError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| ApiError::Bind { addr, source })?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(target: "vmodem::api", "the API stopped: {e}");
        }
    });
    Ok(Server { addr, task })
}

/// Lets a request through only with `Authorization: Bearer <token>`, or `?token=<token>` (a
/// browser's `EventSource` and links cannot set headers).
async fn authorise(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let header = header.and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string);
    let query = request.uri().query().unwrap_or_default().as_bytes();
    let query = form_urlencoded::parse(query).find(|(key, _)| key == "token").map(|(_, token)| token.into_owned());
    let given = header.or(query).unwrap_or_default();
    if !same(given.as_bytes(), token.as_bytes()) {
        return failure(StatusCode::UNAUTHORIZED, "a token is required: Authorization: Bearer <token>").into_response();
    }
    next.run(request).await
}

/// Compares in a time that does not depend on where the texts differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An answer that refuses: a 4xx (or 5xx) status and `{"error": "<why>"}`.
#[derive(Debug)]
pub(super) struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

pub(super) fn failure(status: StatusCode, why: impl std::fmt::Display) -> Refusal {
    Refusal(status, why.to_string())
}

type Answer = Result<Response, Refusal>;

/// A JSON body whose rejection is a JSON error.
pub(super) struct Body<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            // A body that is not the JSON asked for is a bad request, as any bad value is.
            Err(e @ (JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_))) => {
                Err(failure(StatusCode::BAD_REQUEST, rejection(&e)))
            }
            Err(e) => Err(failure(e.status(), rejection(&e))),
        }
    }
}

fn rejection(e: &JsonRejection) -> String {
    match e {
        JsonRejection::JsonDataError(e) => {
            format!("the body: {}", std::error::Error::source(e).map_or(e.body_text(), |s| s.to_string()))
        }
        other => other.body_text(),
    }
}

/// Query parameters whose rejection is a JSON error.
pub(super) struct Params<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Refusal> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Params(value)),
            Err(e) => Err(failure(StatusCode::BAD_REQUEST, query_rejection(&e))),
        }
    }
}

fn query_rejection(e: &QueryRejection) -> String {
    format!("the query: {}", std::error::Error::source(e).map_or(e.body_text(), |s| s.to_string()))
}

/// A modem as the API shows it.
#[derive(Serialize)]
pub(super) struct View<'a> {
    index: u64,
    family: String,
    imei: &'a str,
    number: &'a str,
    profile: String,
    /// The profile's rates, kbit/s down and up (0: unlimited).
    profile_kbps: [f64; 2],
    state: &'static str,
    /// Bytes received and sent over the network.
    network_bytes: [u64; 2],
    #[serde(flatten)]
    observed: Observed,
}

pub(super) fn view(entry: &ModemEntry) -> View<'_> {
    let observed = entry.handle.status();
    let profile = entry.handle.profile();
    let (down, up) = entry.handle.traffic();
    View {
        index: entry.index,
        family: entry.family.to_string(),
        imei: &entry.imei,
        number: &entry.number,
        profile: profile.to_string(),
        profile_kbps: [profile.down_kbps, profile.up_kbps],
        state: state(&observed),
        network_bytes: [down, up],
        observed,
    }
}

/// `GET /api/modems`'s parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
    /// One of the states, or `busy` (a job running).
    state: Option<String>,
    /// Text the index, IMEI, number or family contains.
    q: Option<String>,
    /// The token, when it comes in the URL (checked before).
    #[serde(default, rename = "token")]
    _token: Option<String>,
}

async fn list(State(modems): State<Modems>, Params(q): Params<ListQuery>) -> Answer {
    Ok(Json(page(&modems, &q)?).into_response())
}

/// The page of the modem list `q` asks for.
pub(super) fn page<'a>(modems: &'a Modems, q: &ListQuery) -> Result<Page<'a>, Refusal> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(failure(StatusCode::BAD_REQUEST, format!("limit {limit}: 1 to {MAX_PAGE}")));
    }
    const STATES: [&str; 6] = ["off", "frozen", "searching", "registered", "connected", "busy"];
    if let Some(s) = q.state.as_deref().filter(|s| !STATES.contains(s)) {
        return Err(failure(StatusCode::BAD_REQUEST, format!("state {s:?}: one of {}", STATES.join(", "))));
    }
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let wanted = |v: &View| {
        let state = match q.state.as_deref() {
            None => true,
            Some("busy") => !v.observed.status.work.is_empty(),
            Some(s) => v.state == s,
        };
        let text = text.is_none_or(|t| {
            v.index.to_string() == t || v.imei.contains(t) || v.number.contains(t) || v.family.contains(t)
        });
        state && text
    };
    let mut counts = std::collections::BTreeMap::new();
    let mut matching = Vec::new();
    for v in modems.all().iter().map(view) {
        *counts.entry(v.state).or_insert(0usize) += 1;
        if !v.observed.status.work.is_empty() {
            *counts.entry("busy").or_insert(0) += 1;
        }
        if wanted(&v) {
            matching.push(v);
        }
    }
    let total = matching.len();
    let modems: Vec<View> = matching.into_iter().skip(q.offset).take(limit).collect();
    Ok(Page { total, offset: q.offset, counts, modems })
}

/// A page of the modem list.
#[derive(Serialize)]
pub(super) struct Page<'a> {
    /// How many modems match.
    total: usize,
    /// Where the page starts among them.
    offset: usize,
    /// Every modem of the process by state (and `busy`), filter or not.
    counts: std::collections::BTreeMap<&'static str, usize>,
    modems: Vec<View<'a>>,
}

/// The modem a path names; 400 if it names none, 404 if this process has none such.
pub(super) fn entry(modems: &Modems, index: &str) -> Result<ModemEntry, Refusal> {
    let index: u64 =
        index.parse().map_err(|_| failure(StatusCode::BAD_REQUEST, format!("{index:?} is not a modem index")))?;
    modems.get(index).cloned().ok_or_else(|| failure(StatusCode::NOT_FOUND, format!("no modem {index} here")))
}

async fn one(State(modems): State<Modems>, Path(index): Path<String>) -> Answer {
    let entry = entry(&modems, &index)?;
    Ok(Json(view(&entry)).into_response())
}

/// A body naming a link profile, or giving its figures as the configuration does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    profile: ProfileSetting,
}

fn link_profile(body: &ProfileBody) -> Result<LinkProfile, Refusal> {
    body.profile.profile().map_err(|e| failure(StatusCode::BAD_REQUEST, e))
}

async fn profile_one(State(modems): State<Modems>, Path(index): Path<String>, Body(body): Body<ProfileBody>) -> Answer {
    let entry = entry(&modems, &index)?;
    entry.handle.set_profile(link_profile(&body)?);
    Ok(Json(view(&entry)).into_response())
}

/// `from` and `to`: the modems a request is for, both included.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Span {
    from: Option<u64>,
    to: Option<u64>,
}

impl Span {
    /// The modems of the span; an error if it is backwards or holds none.
    fn pick(self, modems: &Modems) -> Result<Vec<ModemEntry>, Refusal> {
        let (from, to) = (self.from.unwrap_or(0), self.to.unwrap_or(u64::MAX));
        if from > to {
            return Err(failure(StatusCode::BAD_REQUEST, format!("from {from} is after to {to}")));
        }
        let picked: Vec<ModemEntry> = modems.all().iter().filter(|e| (from..=to).contains(&e.index)).cloned().collect();
        if picked.is_empty() {
            return Err(failure(StatusCode::NOT_FOUND, format!("no modem from {from} to {to} here")));
        }
        Ok(picked)
    }
}

/// How many modems a request reached (a stopped modem is not counted).
fn reached(n: usize) -> Answer {
    Ok(Json(json!({ "modems": n })).into_response())
}

async fn profile_many(
    State(modems): State<Modems>,
    Params(span): Params<Span>,
    Body(body): Body<ProfileBody>,
) -> Answer {
    let profile = link_profile(&body)?;
    let picked = span.pick(&modems)?;
    picked.iter().for_each(|e| e.handle.set_profile(profile));
    reached(picked.len())
}

fn plan_entry(body: serde_json::Value) -> Result<PlanEntry, Refusal> {
    serde_json::from_value(body).map_err(|e| failure(StatusCode::BAD_REQUEST, format!("the fault: {e}")))
}

async fn fault_one(
    State(modems): State<Modems>,
    Path(index): Path<String>,
    Body(body): Body<serde_json::Value>,
) -> Answer {
    let entry = entry(&modems, &index)?;
    let fault = plan_entry(body)?;
    reached(usize::from(entry.handle.fault(fault)))
}

async fn fault_many(
    State(modems): State<Modems>,
    Params(span): Params<Span>,
    Body(body): Body<serde_json::Value>,
) -> Answer {
    let fault = plan_entry(body)?;
    let picked = span.pick(&modems)?;
    reached(picked.iter().filter(|e| e.handle.fault(fault.clone())).count())
}

async fn clear_one(State(modems): State<Modems>, Path(index): Path<String>) -> Answer {
    let entry = entry(&modems, &index)?;
    reached(usize::from(entry.handle.clear_faults()))
}

/// A body naming a network event (`signal` with its `rssi`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkBody {
    event: String,
    rssi: Option<u8>,
}

fn network_event(body: &NetworkBody) -> Result<NetworkEvent, Refusal> {
    let text = match (body.event.as_str(), body.rssi) {
        ("signal", Some(rssi)) => format!("signal {rssi}"),
        ("signal", None) => return Err(failure(StatusCode::BAD_REQUEST, "a signal event needs its rssi")),
        (_, Some(_)) => return Err(failure(StatusCode::BAD_REQUEST, "only a signal event takes an rssi")),
        (event, None) => event.to_string(),
    };
    text.parse().map_err(|e: String| failure(StatusCode::BAD_REQUEST, e))
}

async fn network_one(State(modems): State<Modems>, Path(index): Path<String>, Body(body): Body<NetworkBody>) -> Answer {
    let entry = entry(&modems, &index)?;
    reached(usize::from(entry.handle.network(network_event(&body)?)))
}

async fn network_many(
    State(modems): State<Modems>,
    Params(span): Params<Span>,
    Body(body): Body<NetworkBody>,
) -> Answer {
    let event = network_event(&body)?;
    let picked = span.pick(&modems)?;
    reached(picked.iter().filter(|e| e.handle.network(event)).count())
}

/// A short message to deliver.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsBody {
    from: String,
    text: String,
    /// A flash message (class 0).
    #[serde(default)]
    flash: bool,
}

async fn sms_one(State(modems): State<Modems>, Path(index): Path<String>, Body(body): Body<SmsBody>) -> Answer {
    let entry = entry(&modems, &index)?;
    let now = pdu::Timestamp::from_utc(time::OffsetDateTime::now_utc());
    let parts = crate::sms::message(&body.from, &body.text, body.flash.then_some(0), now)
        .map_err(|e| failure(StatusCode::BAD_REQUEST, e))?;
    reached(usize::from(parts.into_iter().all(|deliver| entry.handle.sms(Incoming::Deliver(deliver)))))
}

async fn metrics(State(registry): State<Arc<prometheus_client::registry::Registry>>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
            .into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, format!("encoding the metrics: {e}")).into_response(),
    }
}
