//! `AT+HTTPACTION=<method>`: `OK`, the request through the HTTP service, then
//! `+HTTPACTION: <method>,<status>,<length>`; and `AT+HTTPSTATUS?` while and after it runs.

use std::time::Duration;

use vmodem_at::{Command, Failure, Reply};

use super::super::Simcom;
use super::{Running, on};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::service::JobId;
use crate::service::http::{HttpError, HttpMethod, HttpProgress, HttpRequest, HttpResponse};
use crate::service::tls::{TlsSettings, Verification};

/// "Stack busy": an action while one runs.
const BUSY: u16 = 604;
/// "Network error": the bearer is closed.
const NETWORK: u16 = 601;
/// "No memory": the body does not fit the buffer.
const NO_MEMORY: u16 = 602;

/// The methods by `<method>` number: GET, POST, HEAD, and DELETE where the family has it.
const METHODS: [HttpMethod; 4] = [HttpMethod::Get, HttpMethod::Post, HttpMethod::Head, HttpMethod::Delete];

pub(super) fn test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.profile.line("+HTTPACTION", format_args!("(0-{})", s.profile.http_methods - 1)));
    Ok(Reply::Ok)
}

pub(super) fn action(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let number = a.uint(0, 0..=u64::from(s.profile.http_methods) - 1)?;
    let method = METHODS[number as usize];
    if s.http.params.url.is_empty() {
        return Err(Failure::Plain);
    }
    if s.http.running.is_some() {
        s.http_failed(method, BUSY, 0, ctx.io);
        return Ok(Reply::Ok);
    }
    s.http.last_method = Some(method);
    if !s.bearer_up(s.http.params.cid) {
        s.http_failed(method, NETWORK, 0, ctx.io);
        return Ok(Reply::Ok);
    }
    let progress = HttpProgress::default();
    let request = request(s, method, progress.clone());
    let upload = request.body.len() as u64;
    let job = ctx.io.start(Owner::Http, request);
    let cid = s.http.params.cid;
    s.http.running = Some(Running { job, cid, method, upload, progress });
    Ok(Reply::Ok)
}

/// The service's request for the settings.
fn request(s: &Simcom, method: HttpMethod, progress: HttpProgress) -> HttpRequest {
    let p = &s.http.params;
    let url = match (s.http.ssl, p.url.split_once("://")) {
        (true, Some((scheme, rest))) if scheme.eq_ignore_ascii_case("http") => format!("https://{rest}"),
        (true, None) => format!("https://{}", p.url),
        _ => p.url.clone(),
    };
    let proxy = (p.proxy_ip != "0.0.0.0" && !p.proxy_ip.is_empty()).then(|| (p.proxy_ip.clone(), p.proxy_port));
    let range = match (p.break_from, p.break_end) {
        (0, 0) => None,
        (from, end) if end > from => Some((from, Some(end))),
        (from, _) => Some((from, None)),
    };
    HttpRequest {
        method,
        url,
        user_agent: p.user_agent.clone(),
        content_type: (!p.content.is_empty()).then(|| p.content.clone()),
        user_data: p.user_data.replace("\\r\\n", "\r\n"),
        body: if method == HttpMethod::Post { s.http.buffer.clone() } else { Vec::new() },
        proxy,
        follow_redirects: p.redirect,
        range,
        timeout: Duration::from_secs(p.timeout),
        tls: Some(tls(s)),
        body_limit: s.config.http.buffer,
        progress: Some(progress),
    }
}

/// The module's TLS: its built-in CA store, or no checks after `AT+SSLOPT=0,1`.
fn tls(s: &Simcom) -> TlsSettings {
    let verification = if s.http.ignore_certificate { Verification::IgnoreCertificate } else { Verification::Verify };
    TlsSettings { ca: s.trusted_ca.clone(), verification, ..TlsSettings::default() }
}

/// `+HTTPACTION: <method>,<status>,<length>`.
fn result(s: &Simcom, method: HttpMethod, status: u16, length: u64) -> String {
    let number = METHODS.iter().position(|m| *m == method).unwrap_or(0);
    s.profile.line("+HTTPACTION", format_args!("{number},{status},{length}"))
}

/// `AT+HTTPSTATUS?`: `<mode>,<status>,<finish>,<remain>`; status 2 while a POST body goes
/// out (bytes the socket has taken), then 1 while the answer comes.
pub(super) fn status(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    let method = s.http.last_method.unwrap_or(HttpMethod::Get);
    let mode = match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Head => "HEAD",
        HttpMethod::Delete => "DELETE",
    };
    let (state, finish, remain) = match &s.http.running {
        Some(r) if r.progress.sent.get() < r.upload => {
            let sent = r.progress.sent.get();
            (2, sent, r.upload - sent)
        }
        Some(r) => {
            let (got, total) = (r.progress.received.get(), r.progress.total.get());
            (1, got, total.saturating_sub(got))
        }
        None => (0, 0, 0),
    };
    ctx.rsp.line(s.profile.line("+HTTPSTATUS", format_args!("{mode},{state},{finish},{remain}")));
    Ok(Reply::Ok)
}

impl Simcom {
    /// The bearer `cid` went down: a request over it ends with 601.
    pub(super) fn http_bearer_lost(&mut self, cid: u8, io: &mut Io) {
        if let Some(running) = self.http.running.take_if(|r| r.cid == cid) {
            io.cancel(running.job);
            self.http_failed(running.method, NETWORK, 0, io);
        }
    }

    /// An action failed with the module's `status` (600 to 606): the buffer and the kept head
    /// are emptied, so that `AT+HTTPREAD` and `AT+HTTPHEAD` give nothing of an earlier request
    /// (`docs/sim800.md` D22), and the failure is reported with `length`.
    fn http_failed(&mut self, method: HttpMethod, status: u16, length: u64, io: &mut Io) {
        self.http.buffer = Vec::new();
        self.http.head = None;
        io.urc(result(self, method, status, length));
    }

    /// The running action ended: keep the response and report it.
    pub(super) fn http_done(&mut self, job: JobId, outcome: Result<HttpResponse, HttpError>, io: &mut Io) {
        let Some(running) = self.http.running.take_if(|r| r.job == job) else {
            tracing::warn!(target: "vmodem::http", "job {job} ended, but no action of it runs");
            return;
        };
        let method = running.method;
        match outcome {
            // A HEAD's length is the announced one: it brings no body to hold.
            Ok(response) if method != HttpMethod::Head && response.length > self.config.http.buffer as u64 => {
                self.http_failed(method, NO_MEMORY, response.length, io);
            }
            Ok(response) => {
                let status = response.status;
                let length = if method == HttpMethod::Head { 0 } else { response.length };
                self.http.keep(response);
                io.urc(result(self, method, status, length));
            }
            Err(e) => {
                tracing::info!(target: "vmodem::http", "HTTPACTION failed: {e}");
                self.http_failed(method, e.module_code(), 0, io);
            }
        }
    }
}
