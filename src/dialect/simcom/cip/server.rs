//! The module as a TCP server (M800 §8.2.18, TCP7000 §3.1.3): `AT+CIPSERVER=1,<port>` answers
//! `OK`, then `SERVER OK` once it listens; each client that connects takes a connection id
//! (`REMOTE IP: <ip>`, `<n>, REMOTE IP: <ip>` in multi-connection mode) and is then a
//! connection like one `AT+CIPSTART` opened. `AT+CIPSERVER=0` answers `OK`, then
//! `SERVER CLOSE`; the clients stay connected.
//!
//! The server listens on the network's listening address (loopback unless configured) at the
//! port the host gives. Choices where the documents are silent are `docs/sim800.md` D40.

use vmodem_at::{Command, Failure, Reply};

use super::{LINKS_MAX, Link, LinkState, RECEIVE_BUFFER, Simcom};
use crate::dialect::args::Args;
use crate::dialect::simcom::gprs::State as Context;
use crate::dialect::sockets::{Happened, Protocol};
use crate::dialect::{Ctx, Io, Outcome, Owner};

/// The slot the server's listening socket takes, after the connections'.
pub(super) const SLOT: usize = LINKS_MAX;

/// The server the host opened.
#[derive(Debug, Clone, Copy)]
pub(super) struct Server {
    /// The port it listens on.
    pub port: u16,
    /// Whether it listens yet (`SERVER OK` said).
    pub listening: bool,
}

/// `AT+CIPSERVER=?`.
pub(super) const TEST: &str = "+CIPSERVER: (0-CLOSE SERVER, 1-OPEN SERVER),(1-65535)";

/// `AT+CIPSERVER?`: `+CIPSERVER: 0`, or `+CIPSERVER: 1,<port>,<channel id>,<bearer>` with
/// channel and bearer 0 (D40).
pub(super) fn read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let line = match s.cip.server {
        Some(server) => format!("+CIPSERVER: 1,{},0,0", server.port),
        None => "+CIPSERVER: 0".to_string(),
    };
    ctx.rsp.line(line);
    Ok(Reply::Ok)
}

/// `AT+CIPSERVER=1,<port>` opens the server (with the context up: `IP STATUS`, or
/// `IP PROCESSING` in multi-connection mode; in single-connection mode not beside a
/// connection), `AT+CIPSERVER=0` closes it. Not in transparent mode (D40).
pub(super) fn write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let open = a.uint(0, 0..=1)? == 1;
    if !open {
        a.count(1..=1)?;
        if s.cip.server.take().is_none() {
            return Err(Failure::Plain);
        }
        s.cip.sockets.close(SLOT, ctx.io);
        ctx.io.urc("SERVER CLOSE");
        return Ok(Reply::Ok);
    }
    a.count(2..=2)?;
    let port = a.uint(1, 1..=65535)? as u16;
    let single_busy = !s.cip.settings.mux && s.cip.links[0].as_ref().is_some_and(Link::busy);
    if s.cip.server.is_some() || s.gprs.state != Context::Status || s.cip.settings.transparent || single_busy {
        return Err(Failure::Plain);
    }
    s.cip.sockets.listen(SLOT, port, Owner::Socket, ctx.io);
    s.cip.server = Some(Server { port, listening: false });
    Ok(Reply::Ok)
}

impl Simcom {
    /// What the server's socket did: it listens (`SERVER OK`), could not listen or stopped
    /// (`SERVER CLOSE`), or a client came.
    pub(super) fn server_happened(&mut self, happened: Happened, io: &mut Io) {
        match happened {
            Happened::Listening => {
                if let Some(server) = &mut self.cip.server {
                    server.listening = true;
                    io.urc("SERVER OK");
                }
            }
            Happened::Incoming(incoming) => {
                let Some(n) = self.free_link() else {
                    tracing::info!(target: "vmodem::socket", "server: no connection id free for {}", incoming.peer());
                    return;
                };
                let peer = incoming.peer();
                self.cip.sockets.forget(n);
                self.cip.sockets.adopt(n, incoming, RECEIVE_BUFFER, Owner::Socket, io);
                let host = peer.ip().to_string();
                let link = Link {
                    protocol: Protocol::Tcp,
                    host,
                    port: peer.port(),
                    state: LinkState::Connected,
                    notice: false,
                    previous: None,
                };
                self.cip.links[n] = Some(link);
                self.cip.processing |= self.cip.settings.mux;
                io.urc(self.tagged(n, &format!("REMOTE IP: {}", peer.ip())));
            }
            Happened::Failed(e) | Happened::Closed(Err(e)) => {
                tracing::info!(target: "vmodem::socket", "server: {e}");
                self.server_gone(io);
            }
            Happened::Closed(Ok(())) => self.server_gone(io),
            other => tracing::warn!(target: "vmodem::socket", "server: {other:?}"),
        }
    }

    /// The server stopped on its own (it could not listen, or failed): `SERVER CLOSE`.
    fn server_gone(&mut self, io: &mut Io) {
        self.cip.sockets.forget(SLOT);
        if self.cip.server.take().is_some() {
            io.urc("SERVER CLOSE");
        }
    }

    /// The id a client takes: the lowest free one in multi-connection mode, 0 otherwise; none
    /// while all are opening or open.
    fn free_link(&self) -> Option<usize> {
        let ids = if self.cip.settings.mux { self.links() } else { 1 };
        (0..ids).find(|n| !self.cip.links[*n].as_ref().is_some_and(Link::busy))
    }

    /// The `S:` line of `AT+CIPSTATUS` in multi-connection mode, when there is a server.
    pub(super) fn server_status(&self) -> Option<String> {
        let server = self.cip.server?;
        let state = if server.listening { "LISTENING" } else { "OPENING" };
        Some(format!("S: 0,0,\"{}\",\"{state}\"", server.port))
    }
}
