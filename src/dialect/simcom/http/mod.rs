//! The HTTP application of the SIM900, SIM800 and SIM7000 (M800 §11.2, M7000v102 ch. 9,
//! AN900 §2): `AT+HTTPINIT`, `AT+HTTPPARA` tags, `AT+HTTPDATA` for
//! a request body, `AT+HTTPACTION` (`OK`, then `+HTTPACTION: <method>,<status>,<length>`),
//! `AT+HTTPREAD`, `AT+HTTPHEAD`, `AT+HTTPSTATUS?`, `AT+HTTPSCONT`, `AT+HTTPSSL` with
//! `AT+SSLOPT`, `AT+HTTPTERM`. The request itself is the HTTP service's
//! ([`crate::service::http`]); this module keeps the settings and the module's buffer.
//!
//! Choices where the manuals are silent (`docs/sim800.md` D6–D13, D22):
//! - Every command but `AT+HTTPINIT` needs the service initialised, otherwise `ERROR`; a
//!   second `AT+HTTPINIT` is `ERROR` (host libraries send `AT+HTTPTERM` first for that reason).
//! - `AT+HTTPACTION` without a URL is `ERROR`; while one runs, `OK` and then status 604
//!   (stack busy); with the CID's bearer closed, `OK` and then 601; a bearer that closes while
//!   the request runs ends it with 601 too.
//! - One buffer, the manual's 319488 bytes (`[http] buffer`), holds the body: `AT+HTTPDATA`
//!   fills it, a response replaces it, `AT+HTTPREAD` reads it. A response body beyond it is 602
//!   (no memory) with the real length, never a body cut short.
//! - An action that fails (600 to 606) empties the buffer and forgets the last head: then
//!   `AT+HTTPREAD` answers `+HTTPREAD: 0` and `OK`, as for any empty buffer, and `AT+HTTPHEAD`
//!   `ERROR`, as before any response; nothing of an earlier request can be taken for the
//!   answer to this one.
//! - A HEAD reports length 0 (AN900 §2.3's `+HTTPACTION:1,200,0`, method corrected); its header
//!   is there for `AT+HTTPHEAD`.
//! - `AT+HTTPPARA?` prints `+HTTPPARA:` and then the parameters one per line (`CID: 1`), as
//!   `AT+HTTPSCONT?` does on the SIM800; `AT+HTTPSCONT` (save) keeps nothing across a restart.
//! - `USERDATA` may carry several header lines: the two characters `\r\n` separate them, as
//!   host code writes them inside the quoted value.
//! - `AT+HTTPSSL=1` sends a URL without scheme (or with `http://`) over HTTPS. Certificates are
//!   checked against the module's built-in store (`[http] trusted_ca`) unless `AT+SSLOPT=0,1`
//!   ("ignore invalid certificate") is set.

mod action;
mod buffer;

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome, Owner, Service, expect};
use crate::service::JobId;
use crate::service::http::job::Event;
use crate::service::http::{HttpMethod, HttpProgress, HttpResponse};

/// The `AT+HTTPPARA` settings.
#[derive(Debug, Clone)]
struct Params {
    cid: u8,
    url: String,
    user_agent: String,
    proxy_ip: String,
    proxy_port: u16,
    redirect: bool,
    break_from: u64,
    break_end: u64,
    timeout: u64,
    content: String,
    user_data: String,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            cid: 1,
            url: String::new(),
            user_agent: "SIMCom_MODULE".into(),
            proxy_ip: "0.0.0.0".into(),
            proxy_port: 0,
            redirect: false,
            break_from: 0,
            break_end: 0,
            timeout: 120,
            content: String::new(),
            user_data: String::new(),
        }
    }
}

/// A running `AT+HTTPACTION`.
#[derive(Debug)]
struct Running {
    job: JobId,
    /// The bearer it runs over.
    cid: u8,
    method: HttpMethod,
    /// The body bytes the request sends (a POST's `AT+HTTPDATA`).
    upload: u64,
    progress: HttpProgress,
}

/// The HTTP application's state.
#[derive(Debug, Default)]
pub struct Http {
    /// Whether `AT+HTTPINIT` ran (and `AT+HTTPTERM` has not).
    on: bool,
    params: Params,
    /// `AT+HTTPSSL`.
    ssl: bool,
    /// `AT+SSLOPT=0,<n>`: ignore an invalid server certificate.
    ignore_certificate: bool,
    /// The module's buffer: the request body from `AT+HTTPDATA`, or the last response's body;
    /// empty after a failed action.
    buffer: Vec<u8>,
    /// The last response's head, for `AT+HTTPHEAD`; none after a failed action.
    head: Option<String>,
    /// The running action.
    running: Option<Running>,
    /// The method of the last action, for `AT+HTTPSTATUS?`.
    last_method: Option<HttpMethod>,
    /// An `AT+HTTPDATA` data phase in progress: the bytes so far.
    loading: Option<Vec<u8>>,
}

/// The HTTP application's service: its requests, the `AT+HTTPDATA` data phases.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::Http)
    .events(|s: &mut Simcom, job, event, io| {
        if let Some(Event::Done(outcome)) = expect(job, event) {
            s.http_done(job, outcome, io);
        }
    })
    .data(|s, payload| s.http.data(payload), |s, end, _, _| s.http.data_end(end))
    .bearer_lost(Simcom::http_bearer_lost);

pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+HTTPINIT").test_ok().exec(init),
    cmd("+HTTPTERM").test_ok().exec(term),
    cmd("+HTTPPARA").test("+HTTPPARA: \"HTTPParamTag\",\"HTTPParamValue\"").read(para_read).write(para_write),
    cmd("+HTTPDATA").test_with(buffer::data_test).write(buffer::data),
    cmd("+HTTPACTION").test_with(action::test).write(action::action),
    cmd("+HTTPREAD").test_ok().exec(buffer::read_all).write(buffer::read_part),
    cmd("+HTTPHEAD").test_ok().exec(buffer::head),
    cmd("+HTTPSTATUS").test("+HTTPSTATUS: \"mode\",\"status\",\"finish\",\"remain\"").read(action::status),
    cmd("+HTTPSCONT").test_ok().read(scont_read).exec(|s, _, _| on(s).map(|_| Reply::Ok)),
    cmd("+HTTPSSL").test("+HTTPSSL: (0,1)").read(ssl_read).write(ssl_write),
    cmd("+SSLOPT").test("+SSLOPT: (0,1),(0,1)").read(sslopt_read).write(sslopt_write),
];

/// Fails unless `AT+HTTPINIT` ran.
fn on(s: &Simcom) -> Result<(), Failure> {
    if s.http.on { Ok(()) } else { Err(Failure::Plain) }
}

fn init(s: &mut Simcom, _: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    if s.http.on {
        return Err(Failure::Plain);
    }
    s.http.on = true;
    Ok(Reply::Ok)
}

/// Ends the service: settings, buffer and any running action go.
fn term(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    if let Some(running) = s.http.running.take() {
        ctx.io.cancel(running.job);
    }
    let (ssl, ignore_certificate) = (s.http.ssl, s.http.ignore_certificate);
    s.http = Http { ssl, ignore_certificate, ..Http::default() };
    Ok(Reply::Ok)
}

/// The parameters as `AT+HTTPPARA?` and `AT+HTTPSCONT?` list them.
fn param_lines(p: &Params) -> [String; 11] {
    [
        format!("CID: {}", p.cid),
        format!("URL: {}", p.url),
        format!("UA: {}", p.user_agent),
        format!("PROIP: {}", p.proxy_ip),
        format!("PROPORT: {}", p.proxy_port),
        format!("REDIR: {}", u8::from(p.redirect)),
        format!("BREAK: {}", p.break_from),
        format!("BREAKEND: {}", p.break_end),
        format!("TIMEOUT: {}", p.timeout),
        format!("CONTENT: {}", p.content),
        format!("USERDATA: {}", p.user_data),
    ]
}

fn para_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    ctx.rsp.line("+HTTPPARA:");
    for line in param_lines(&s.http.params) {
        ctx.rsp.line(line);
    }
    Ok(Reply::Ok)
}

fn scont_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    ctx.rsp.line(s.profile.line("+HTTPSCONT", 1));
    for line in param_lines(&s.http.params) {
        ctx.rsp.line(line);
    }
    Ok(Reply::Ok)
}

/// `AT+HTTPPARA=<tag>,<value>`; tags in any case, values quoted or not.
fn para_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    on(s)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let tag = a.text(0, 16)?.to_ascii_uppercase();
    let p = &mut s.http.params;
    match tag.as_str() {
        "CID" => p.cid = a.uint(1, 1..=3)? as u8,
        "URL" => p.url = a.text(1, 1024)?.into(),
        "UA" => p.user_agent = a.text(1, 128)?.into(),
        "PROIP" => p.proxy_ip = a.text(1, 64)?.into(),
        "PROPORT" => p.proxy_port = a.uint(1, 0..=65535)? as u16,
        "REDIR" => p.redirect = a.uint(1, 0..=1)? == 1,
        "BREAK" => p.break_from = a.uint(1, 0..=u64::from(u32::MAX))?,
        "BREAKEND" => p.break_end = a.uint(1, 0..=u64::from(u32::MAX))?,
        "TIMEOUT" => p.timeout = a.uint(1, 30..=1000)?,
        "CONTENT" => p.content = a.text(1, 128)?.into(),
        "USERDATA" => p.user_data = a.text(1, 512)?.into(),
        _ => return Err(Failure::Plain),
    }
    Ok(Reply::Ok)
}

fn ssl_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(s.profile.line("+HTTPSSL", u8::from(s.http.ssl)));
    Ok(Reply::Ok)
}

fn ssl_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    s.http.ssl = Args::of(cmd, Failure::Plain).uint(0, 0..=1)? == 1;
    Ok(Reply::Ok)
}

fn sslopt_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+SSLOPT: 0,{}", u8::from(s.http.ignore_certificate)));
    ctx.rsp.line("+SSLOPT: 1,0");
    Ok(Reply::Ok)
}

/// `AT+SSLOPT=<opt>,<enable>`: option 0 ignores an invalid server certificate; option 1
/// (client authentication) is accepted and has no effect, as no client certificate can be
/// loaded on these modules here.
fn sslopt_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=2)?;
    let opt = a.uint(0, 0..=1)?;
    let enable = a.uint(1, 0..=1)? == 1;
    if opt == 0 {
        s.http.ignore_certificate = enable;
    }
    Ok(Reply::Ok)
}

impl Http {
    /// Keeps a response: its body becomes the buffer, its head is kept for `AT+HTTPHEAD`.
    fn keep(&mut self, response: HttpResponse) {
        self.buffer = response.body;
        self.head = Some(response.head);
    }
}
