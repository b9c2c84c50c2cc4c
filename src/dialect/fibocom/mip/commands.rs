//! Opening, closing and asking after sockets, their TCP settings, and name look-ups:
//! `AT+MIPOPEN`, `AT+MIPCLOSE`, `AT+MIPSTAT`, `AT+MIPCONF`, `AT+MIPDNS`.

use std::net::IpAddr;

use tokio::time::Instant;
use vmodem_at::{Command, Failure, Reply, Response};

use super::super::{Fibocom, cme};
use super::{BAD, DNS_LIMIT, HOST_MAX, Link, NOT_OPEN, RECEIVE_BUFFER, SOCKETS, slot};
use crate::dialect::args::Args;
use crate::dialect::sockets::{OpenSpec, Protocol};
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::limits::later;
use crate::service::JobId;
use crate::service::socket::SocketError;
use crate::service::socket::job::Request;

/// `AT+MIPCONF` for one socket id (G24-REF's TCP stack settings; D30). Only the ACK reports
/// change what the host sees; the rest are kept and read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Conf {
    retries: u64,
    min_timeout: u64,
    max_timeout: u64,
    close_delay: u64,
    /// `+MIPSTAT: <id>,0,<acknowledged>` whenever sent bytes have gone.
    pub(super) ack_reports: bool,
}

impl Default for Conf {
    fn default() -> Self {
        Conf { retries: 12, min_timeout: 10, max_timeout: 600, close_delay: 75, ack_reports: false }
    }
}

/// The look-up `AT+MIPDNS` waits for.
#[derive(Debug)]
pub(super) struct Lookup {
    job: JobId,
    name: String,
    /// 0 an IPv4 address, 1 an IPv6 one, 2 either.
    family: u64,
    /// When it fails if no answer has come.
    pub(super) deadline: Instant,
    /// The address found, or `None` for a failure; set once the answer is in.
    pub(super) answer: Option<Option<IpAddr>>,
}

/// `AT+MIPOPEN=<id>,[<source port>],"<host>",<port>,<protocol>`: `OK`, then `+MIPOPEN: <id>,1`
/// or `+MIPSTAT: <id>,1`.
pub(super) fn open(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(5..=5)?;
    let index = slot(a.uint(0, 1..=SOCKETS as u64)?);
    // The source port is checked and not used: the operating system picks the local port.
    a.opt_uint(1, 0..=65535)?;
    let host = a.quoted(2, HOST_MAX)?.to_string();
    let port = a.uint(3, 1..=65535)? as u16;
    let protocol = a.uint(4, 0..=2)?;
    if host.is_empty() {
        return Err(BAD);
    }
    if !s.call.active() {
        return Err(Failure::Cme(cme::NO_BEARER));
    }
    if s.mip.sockets.get(index).is_some() {
        return Err(Failure::Cme(cme::SOCKET_USED));
    }
    let spec = OpenSpec {
        host,
        port,
        protocol: if protocol == 1 { Protocol::Udp } else { Protocol::Tcp },
        tls: (protocol == 2).then(|| s.mip.tls.settings()),
        receive_buffer: RECEIVE_BUFFER,
        timeout: s.config.ftp.connect.duration(),
    };
    s.mip.sockets.open(index, spec, Owner::Socket, ctx.io);
    s.mip.links[index] = Link::default();
    Ok(Reply::Ok)
}

/// `AT+MIPOPEN?`: the ids that can be opened, or `+MIPOPEN: 0` when none can.
pub(super) fn open_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let free = (0..SOCKETS).filter(|&i| s.mip.sockets.get(i).is_none()).map(|i| i + 1);
    ctx.rsp.line(format!("+MIPOPEN: {}", ids(free)));
    Ok(Reply::Ok)
}

/// `AT+MIPCLOSE=<id>[,<mode>]`: `OK`, then `+MIPCLOSE: <id>,0`; whatever the socket held is
/// gone.
pub(super) fn close(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=2)?;
    let id = a.uint(0, 1..=SOCKETS as u64)?;
    a.opt_uint(1, 0..=1)?;
    let index = slot(id);
    if s.mip.sockets.close(index, ctx.io).is_none() {
        return Err(NOT_OPEN);
    }
    s.mip.links[index] = Link::default();
    ctx.io.urc(format!("+MIPCLOSE: {id},0"));
    Ok(Reply::Ok)
}

/// `AT+MIPCLOSE?`: the ids of the open sockets, or `+MIPCLOSE: 0` when none is.
pub(super) fn close_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let open = (0..SOCKETS).filter(|&i| s.mip_open(i)).map(|i| i + 1);
    ctx.rsp.line(format!("+MIPCLOSE: {}", ids(open)));
    Ok(Reply::Ok)
}

/// Socket ids as the read forms list them: `1,2,3`, or `0` for none.
fn ids(ids: impl Iterator<Item = usize>) -> String {
    let list: Vec<String> = ids.map(|i| i.to_string()).collect();
    if list.is_empty() { "0".into() } else { list.join(",") }
}

/// `AT+MIPSTAT=<id>`: `+MIPSTAT: <id>,<0 open|1 not open>,<bytes gone into the socket>`.
pub(super) fn stat(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=1)?;
    let id = a.uint(0, 1..=SOCKETS as u64)?;
    let index = slot(id);
    let state = u8::from(!s.mip_open(index));
    let gone = s.mip.sockets.get(index).map_or(0, |slot| slot.gone);
    ctx.rsp.line(format!("+MIPSTAT: {id},{state},{gone}"));
    Ok(Reply::Ok)
}

/// `AT+MIPCONF=<id>[,<retr_num>[,<min_TO>[,<max_TO>[,<max_close_delay>[,<is_nack_ind_req>]]]]]`:
/// empty fields keep their values.
pub(super) fn conf(s: &mut Fibocom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=6)?;
    let index = slot(a.uint(0, 1..=SOCKETS as u64)?);
    let old = s.mip.confs[index];
    let conf = Conf {
        retries: a.opt_uint(1, 1..=14)?.unwrap_or(old.retries),
        min_timeout: a.opt_uint(2, 1..=100)?.unwrap_or(old.min_timeout),
        max_timeout: a.opt_uint(3, 1..=1200)?.unwrap_or(old.max_timeout),
        close_delay: a.opt_uint(4, 1..=75)?.unwrap_or(old.close_delay),
        ack_reports: a.opt_uint(5, 0..=1)?.map_or(old.ack_reports, |v| v == 1),
    };
    if conf.min_timeout > conf.max_timeout {
        return Err(BAD);
    }
    s.mip.confs[index] = conf;
    Ok(Reply::Ok)
}

/// `AT+MIPCONF?`: every socket id's settings.
pub(super) fn conf_read(s: &mut Fibocom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for (index, c) in s.mip.confs.iter().enumerate() {
        let nack = u8::from(c.ack_reports);
        let id = index + 1;
        ctx.rsp
            .line(format!("+MIPCONF: {id},{},{},{},{},{nack}", c.retries, c.min_timeout, c.max_timeout, c.close_delay));
    }
    Ok(Reply::Ok)
}

/// `AT+MIPDNS="<name>"[,<0 IPv4|1 IPv6|2 either>]`: once the answer is in,
/// `+MIPDNS: "<name>",<address>` and `OK`, or CME 2002.
pub(super) fn dns(s: &mut Fibocom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, BAD);
    a.count(1..=2)?;
    let name = a.quoted(0, HOST_MAX)?.to_string();
    let family = a.opt_uint(1, 0..=2)?.unwrap_or(0);
    if name.is_empty() {
        return Err(BAD);
    }
    if !s.call.active() {
        return Err(Failure::Cme(cme::NO_BEARER));
    }
    let job = ctx.io.start(Owner::Socket, Request::Resolve { host: name.clone() });
    let deadline = later(ctx.io.now, DNS_LIMIT);
    s.mip.dns = Some(Lookup { job, name, family, deadline, answer: None });
    Ok(ctx.io.pending(Owner::Socket))
}

impl Fibocom {
    /// The look-up's answer: the first address of the family asked for.
    pub(super) fn dns_answer(&mut self, job: JobId, found: Result<Vec<IpAddr>, SocketError>, io: &mut Io) {
        let Some(lookup) = self.mip.dns.as_mut().filter(|d| d.job == job && d.answer.is_none()) else { return };
        let wanted = |ip: &IpAddr| match lookup.family {
            0 => ip.is_ipv4(),
            1 => ip.is_ipv6(),
            _ => true,
        };
        let found = found.map_err(|e| tracing::info!(target: "vmodem::socket", "look-up failed: {e}"));
        lookup.answer = Some(found.ok().and_then(|ips| ips.into_iter().find(wanted)));
        io.resume();
    }

    /// The look-up failed (it took too long, or the bearer went).
    pub(super) fn dns_failed(&mut self, io: &mut Io) {
        if let Some(lookup) = self.mip.dns.as_mut().filter(|d| d.answer.is_none()) {
            io.cancel(lookup.job);
            lookup.answer = Some(None);
            io.resume();
        }
    }

    /// Finishes `AT+MIPDNS`.
    pub(super) fn dns_resume(&mut self, rsp: &mut Response<'_>, _: &mut Io) -> Reply {
        match self.mip.dns.take().and_then(|d| d.answer.flatten().map(|ip| (d.name, ip))) {
            Some((name, ip)) => {
                rsp.line(format!("+MIPDNS: \"{name}\",{ip}"));
                Reply::Ok
            }
            None => Reply::Error(Failure::Cme(cme::DNS_FAILED)),
        }
    }
}
