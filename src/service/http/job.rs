//! HTTP jobs: one request, one [`Event::Done`] with the response or why none came.

use super::{HttpError, HttpRequest, HttpResponse, fetch};
use crate::net::Net;

/// What an HTTP job does: one request.
pub type Request = HttpRequest;

/// An HTTP job's one event.
#[derive(Debug)]
pub enum Event {
    /// The request ended: the response (whatever its status), or why none came.
    Done(Result<HttpResponse, HttpError>),
}

impl Event {
    /// Whether this is the job's last event (it always is).
    pub fn is_final(&self) -> bool {
        true
    }
}

/// What a job that stopped on a fault of its own (a panic) reports in its place: no complete
/// response came (the families' network error).
pub fn failed(why: String) -> Event {
    Event::Done(Err(HttpError::Broken(format!("the HTTP job stopped: {why}"))))
}

/// HTTP jobs take no input once started.
#[derive(Debug)]
pub enum Input {}

/// Runs one HTTP request and reports its outcome through `job`.
pub async fn run(net: Net, request: Request, job: crate::service::Job<Event, Input>) {
    // The modem may have gone meanwhile; nobody is left to tell.
    job.report(Event::Done(fetch(&net, request).await)).await;
}
