//! The TCP/IP application's bring-up on the SIM800, SIM900 and SIM7000 (M800 ch. 8), as host
//! libraries send it before they open sockets or use SAPBR, FTP or HTTP (TinyGSM, Adafruit
//! FONA, Botletics): `AT+CSTT`, `AT+CIICR`, `AT+CIFSR` (the bare address, no `OK`), and
//! `AT+CDNSCFG` and `AT+CVHU`, which are stored and read back. The sockets over the context
//! this brings up, `AT+CIPSTATUS` and `AT+CIPSHUT` are in [`super::cip`].
//!
//! The states follow the manual: `IP INITIAL` → `AT+CSTT` → `IP START` → `AT+CIICR` →
//! `IP GPRSACT` → `AT+CIFSR` → `IP STATUS`; `AT+CIPSHUT` goes back to `IP INITIAL`. The
//! network taking the context away leaves `PDP DEACT` (with `+PDP: DEACT`) until the host
//! shuts the application down; before `AT+CIICR` it goes back to `IP INITIAL`. A command out of
//! its state is `ERROR`, as on the module.

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd, switches};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome};

/// Where the TCP/IP application's context is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Nothing configured.
    #[default]
    Initial,
    /// `AT+CSTT` set the APN.
    Start,
    /// `AT+CIICR` brought the context up.
    GprsAct,
    /// `AT+CIFSR` read the address: sockets may open.
    Status,
    /// The network took the context away; `AT+CIPSHUT` clears it.
    PdpDeact,
}

impl State {
    /// The text `AT+CIPSTATUS` prints for it.
    pub fn text(self) -> &'static str {
        match self {
            State::Initial => "IP INITIAL",
            State::Start => "IP START",
            State::GprsAct => "IP GPRSACT",
            State::Status => "IP STATUS",
            State::PdpDeact => "PDP DEACT",
        }
    }

    /// Whether the context is up (after `AT+CIICR`).
    pub fn active(self) -> bool {
        matches!(self, State::GprsAct | State::Status)
    }
}

/// The TCP/IP application state.
#[derive(Debug, Clone)]
pub struct Gprs {
    /// Where the context is.
    pub state: State,
    apn: String,
    user: String,
    password: String,
    dns: (String, String),
}

impl Default for Gprs {
    fn default() -> Self {
        Gprs {
            state: State::Initial,
            apn: "CMNET".into(),
            user: String::new(),
            password: String::new(),
            dns: ("0.0.0.0".into(), "0.0.0.0".into()),
        }
    }
}

pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CSTT").test("+CSTT: \"APN\",\"USER\",\"PWD\"").read(cstt_read).write(cstt_write),
    cmd("+CIICR").test_ok().exec(ciicr),
    cmd("+CIFSR").test_ok().exec(cifsr),
    cmd("+CDNSCFG").test("+CDNSCFG: (\"PrimaryDNS\"),(\"SecondaryDNS\")").read(cdnscfg_read).write(cdnscfg_write),
    cmd("+CVHU").test("+CVHU: (0,1)").read(switches::read).write(switches::write),
];

fn cstt_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let g = &s.gprs;
    ctx.rsp.line(format!("+CSTT: \"{}\",\"{}\",\"{}\"", g.apn, g.user, g.password));
    Ok(Reply::Ok)
}

fn cstt_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=3)?;
    if s.gprs.state != State::Initial {
        return Err(Failure::Plain);
    }
    s.gprs.apn = a.text(0, 50)?.into();
    s.gprs.user = a.opt_text(1, 50)?.unwrap_or("").into();
    s.gprs.password = a.opt_text(2, 50)?.unwrap_or("").into();
    s.gprs.state = State::Start;
    Ok(Reply::Ok)
}

fn ciicr(s: &mut Simcom, _: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    if s.gprs.state != State::Start || !s.packet_ready() {
        return Err(Failure::Plain);
    }
    s.gprs.state = State::GprsAct;
    Ok(Reply::Ok)
}

fn cifsr(s: &mut Simcom, _: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    if !s.gprs.state.active() {
        return Err(Failure::Plain);
    }
    s.gprs.state = State::Status;
    Ok(Reply::Text(s.config.network.ip.to_string()))
}

fn cdnscfg_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("PrimaryDns: {}", s.gprs.dns.0));
    ctx.rsp.line(format!("SecondaryDns: {}", s.gprs.dns.1));
    Ok(Reply::Ok)
}

fn cdnscfg_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=2)?;
    let primary: std::net::Ipv4Addr = a.text(0, 15)?.parse().map_err(|_| Failure::Plain)?;
    let secondary = match a.opt_text(1, 15)? {
        Some(text) => text.parse::<std::net::Ipv4Addr>().map_err(|_| Failure::Plain)?.to_string(),
        None => "0.0.0.0".into(),
    };
    s.gprs.dns = (primary.to_string(), secondary);
    Ok(Reply::Ok)
}

impl Simcom {
    /// The network went away: an active context is gone (`+PDP: DEACT`, its sockets closed,
    /// `PDP DEACT` until `AT+CIPSHUT`); one not yet activated is back at the start.
    pub(super) fn gprs_network_lost(&mut self, io: &mut Io) {
        if self.gprs.state.active() {
            self.cip_context_lost(io);
            self.gprs.state = State::PdpDeact;
            io.urc("+PDP: DEACT");
        } else if self.gprs.state != State::PdpDeact {
            self.gprs.state = State::Initial;
        }
    }
}
