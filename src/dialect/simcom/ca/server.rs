//! `AT+CASERVER` (M7080 §12.2.4, AN7080-TCP §5.1.2): connection id `<cid>` becomes a TCP
//! server on `<port>`, answered as `AT+CAOPEN` is (`+CASERVER: <cid>,<result>` and `OK`, or
//! `OK` first with `AT+CACFG="ASYNCOPEN",1`), listed by `AT+CASTATE?` with state 2. Each client
//! that connects takes the lowest free id, announced by
//! `+CANEW: <server cid>,<client cid>,<ip>,<port>`, and is then a connection like one
//! `AT+CAOPEN` opened; with no id free it is refused with `+CAURC: "incoming full"`.
//! `AT+CACLOSE=<cid>` on the server stops it; its clients stay. Decisions: `docs/sim7080.md` D43.

use vmodem_at::{Command, Failure, Reply};

use super::{CIDS, Ca, Conn, State, WRONG_STATE, refused, result};
use crate::dialect::args::Args;
use crate::dialect::simcom::Simcom;
use crate::dialect::simcom::profile::CaOpen;
use crate::dialect::{Ctx, Io, Outcome, Owner};
use crate::service::socket::job::Incoming;

/// The `<conn_type>`s the test form lists; only TCP is served (D43).
const CONN_TYPES: &[&str] = &["TCP", "TCP6", "UDP", "UDP6"];

/// The families with `AT+CASERVER`: those with the contexts form of `AT+CAOPEN` (D43).
fn served(s: &Simcom) -> Result<(), Failure> {
    match s.ca_profile()?.open {
        CaOpen::Contexts => Ok(()),
        CaOpen::SingleContext => Err(Failure::Plain),
    }
}

/// `AT+CASERVER=?`.
pub(super) fn test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    served(s)?;
    ctx.rsp.line("+CASERVER: (0-12),(0-4),(\"TCP\",\"TCP6\",\"UDP\",\"UDP6\"),(1-65535),(0,1)");
    Ok(Reply::Ok)
}

/// `AT+CASERVER=<cid>,<pdp_index>,<conn_type>,<port>[,<recv_mode>]`.
pub(super) fn caserver(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    served(s)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(4..=5)?;
    let cid = Ca::cid(&a, 0)?;
    let pdp = a.uint(1, 0..=4)? as u8;
    let kind = a.choice(2, CONN_TYPES)?;
    let port = a.uint(3, 1..=65535)? as u16;
    let push = a.opt_uint(4, 0..=1)? == Some(1);
    if s.ca.conns[cid].is_some() {
        return Err(WRONG_STATE);
    }
    let sync = !s.ca.options.async_open();
    let code = if kind != 0 || push || s.ca.options.ssl(cid).is_some() {
        Some(result::NOT_SUPPORTED)
    } else if !s.bearers.app_active(pdp) {
        Some(result::NETWORK)
    } else {
        None
    };
    if let Some(code) = code {
        return Ok(refused(ctx, "+CASERVER", cid, code, sync));
    }
    s.ca.sockets.listen(cid, port, Owner::AppSocket, ctx.io);
    s.ca.opening(cid, Conn { pdp, state: State::Opening { sync }, server: true }, ctx.io)
}

impl Ca {
    /// A client of the server `server` (over context `pdp`): the lowest free id takes it
    /// (`+CANEW`), or, with none free, it is refused (`+CAURC: "incoming full"`).
    pub(super) fn accept(&mut self, server: usize, pdp: u8, incoming: Incoming, io: &mut Io) {
        let peer = incoming.peer();
        let Some(cid) = (0..CIDS).find(|c| self.conns[*c].is_none()) else {
            tracing::info!(target: "vmodem::socket", "server {server}: no id free for {peer}");
            io.urc("+CAURC: \"incoming full\"");
            return;
        };
        self.sockets.forget(cid);
        self.sockets.adopt(cid, incoming, self.options.receive_buffer(), Owner::AppSocket, io);
        self.conns[cid] = Some(Conn { pdp, state: State::Open, server: false });
        io.urc(format!("+CANEW: {server},{cid},{},{}", peer.ip(), peer.port()));
    }
}
