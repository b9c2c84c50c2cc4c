//! The TCP/IP application's bring-up on the SIM800, SIM900 and SIM7000 (M800 ch. 8), as host
//! libraries send it before they use SAPBR, FTP or HTTP (TinyGSM, Adafruit FONA,
//! Botletics): `AT+CIPSHUT` → `SHUT OK`, `AT+CSTT`, `AT+CIICR`, `AT+CIFSR` (the bare address,
//! no `OK`), `AT+CIPSTATUS`, and the switches `AT+CIPMUX`, `AT+CIPRXGET`, `AT+CIPQSEND`,
//! `AT+CDNSCFG`, `AT+CVHU`, which are stored and read back ([`super::switches`]).
//! No sockets are opened: the states only gate the commands as the module does.
//!
//! The states follow the manual: `IP INITIAL` → `AT+CSTT` → `IP START` → `AT+CIICR` →
//! `IP GPRSACT` → `AT+CIFSR` → `IP STATUS`; `AT+CIPSHUT` (or a network loss) goes back to
//! `IP INITIAL`. A command out of its state is `ERROR`, as on the module. `AT+CIPMUX` can only
//! change in `IP INITIAL`.

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd, switches};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};

/// Where the TCP/IP application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Nothing configured.
    #[default]
    Initial,
    /// `AT+CSTT` set the APN.
    Start,
    /// `AT+CIICR` brought the context up.
    GprsAct,
    /// `AT+CIFSR` read the address.
    Status,
}

impl State {
    fn text(self) -> &'static str {
        match self {
            State::Initial => "IP INITIAL",
            State::Start => "IP START",
            State::GprsAct => "IP GPRSACT",
            State::Status => "IP STATUS",
        }
    }
}

/// The TCP/IP application state.
#[derive(Debug, Clone)]
pub struct Gprs {
    state: State,
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
    cmd("+CIPSHUT").test_ok().exec(cipshut),
    cmd("+CSTT").test("+CSTT: \"APN\",\"USER\",\"PWD\"").read(cstt_read).write(cstt_write),
    cmd("+CIICR").test_ok().exec(ciicr),
    cmd("+CIFSR").test_ok().exec(cifsr),
    cmd("+CIPSTATUS").test_ok().exec(cipstatus),
    cmd("+CDNSCFG").test("+CDNSCFG: (\"PrimaryDNS\"),(\"SecondaryDNS\")").read(cdnscfg_read).write(cdnscfg_write),
    cmd("+CIPMUX").test("+CIPMUX: (0,1)").read(switches::read).write(cipmux_write),
    cmd("+CIPRXGET").test("+CIPRXGET: (0-4)").read(switches::read).write(switches::write),
    cmd("+CIPQSEND").test("+CIPQSEND: (0,1)").read(switches::read).write(switches::write),
    cmd("+CVHU").test("+CVHU: (0,1)").read(switches::read).write(switches::write),
];

/// `AT+CIPMUX` changes only in `IP INITIAL`.
fn cipmux_write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if s.gprs.state != State::Initial {
        return Err(Failure::Plain);
    }
    switches::write(s, cmd, ctx)
}

fn cipshut(s: &mut Simcom, _: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    s.gprs.state = State::Initial;
    Ok(Reply::Text("SHUT OK".into()))
}

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
    if matches!(s.gprs.state, State::Initial | State::Start) {
        return Err(Failure::Plain);
    }
    s.gprs.state = State::Status;
    Ok(Reply::Text(s.config.network.ip.to_string()))
}

/// `OK`, then the state (the manual's single-connection form).
fn cipstatus(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.io.urc(format!("STATE: {}", s.gprs.state.text()));
    Ok(Reply::Ok)
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
    /// The network went away: the TCP/IP application is back at the start.
    pub(super) fn gprs_network_lost(&mut self) {
        self.gprs.state = State::Initial;
    }
}
