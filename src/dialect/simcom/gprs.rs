//! The TCP/IP application's bring-up on the SIM800, SIM900 and SIM7000 (M800 ch. 8), as host
//! libraries send it before they use SAPBR, FTP or HTTP (TinyGSM, Adafruit FONA,
//! Botletics): `AT+CIPSHUT` → `SHUT OK`, `AT+CSTT`, `AT+CIICR`, `AT+CIFSR` (the bare address,
//! no `OK`), `AT+CIPSTATUS`, and the switches `AT+CIPMUX`, `AT+CIPRXGET`, `AT+CIPQSEND`,
//! `AT+CDNSCFG`, `AT+CLTS`, `AT+CSCLK`, `AT+CVHU`, `AT+CBATCHK`, which are stored and read back.
//! No sockets are opened: the states only gate the commands as the module does.
//!
//! The states follow the manual: `IP INITIAL` → `AT+CSTT` → `IP START` → `AT+CIICR` →
//! `IP GPRSACT` → `AT+CIFSR` → `IP STATUS`; `AT+CIPSHUT` (or a network loss) goes back to
//! `IP INITIAL`. A command out of its state is `ERROR`, as on the module. `AT+CIPMUX` can only
//! change in `IP INITIAL`.

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd};
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

/// A stored switch: its command, range and power-on value.
struct Switch {
    name: &'static str,
    max: u64,
    default: u64,
}

/// The switches, as the SIM800 manual gives them.
const SWITCHES: &[Switch] = &[
    Switch { name: "+CIPMUX", max: 1, default: 0 },
    Switch { name: "+CIPRXGET", max: 4, default: 0 },
    Switch { name: "+CIPQSEND", max: 1, default: 0 },
    Switch { name: "+CLTS", max: 1, default: 0 },
    Switch { name: "+CSCLK", max: 2, default: 0 },
    Switch { name: "+CVHU", max: 1, default: 1 },
    Switch { name: "+CBATCHK", max: 1, default: 0 },
];

/// The TCP/IP application state.
#[derive(Debug, Clone)]
pub struct Gprs {
    state: State,
    apn: String,
    user: String,
    password: String,
    dns: (String, String),
    switches: [u64; SWITCHES.len()],
}

impl Default for Gprs {
    fn default() -> Self {
        Gprs {
            state: State::Initial,
            apn: "CMNET".into(),
            user: String::new(),
            password: String::new(),
            dns: ("0.0.0.0".into(), "0.0.0.0".into()),
            switches: std::array::from_fn(|i| SWITCHES[i].default),
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
    cmd("+CIPMUX").test("+CIPMUX: (0,1)").read(switch_read).write(switch_write),
    cmd("+CIPRXGET").test("+CIPRXGET: (0-4)").read(switch_read).write(switch_write),
    cmd("+CIPQSEND").test("+CIPQSEND: (0,1)").read(switch_read).write(switch_write),
    cmd("+CLTS").test("+CLTS: (0,1)").read(switch_read).write(switch_write),
    cmd("+CSCLK").test("+CSCLK: (0-2)").read(switch_read).write(switch_write),
    cmd("+CVHU").test("+CVHU: (0,1)").read(switch_read).write(switch_write),
    cmd("+CBATCHK").test("+CBATCHK: (0,1)").read(switch_read).write(switch_write),
];

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

fn switch_of(name: &str) -> Result<usize, Failure> {
    SWITCHES.iter().position(|sw| sw.name == name).ok_or(Failure::Plain)
}

fn switch_read(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let i = switch_of(&cmd.name)?;
    ctx.rsp.line(format!("{}: {}", cmd.name, s.gprs.switches[i]));
    Ok(Reply::Ok)
}

fn switch_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let i = switch_of(&cmd.name)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let value = a.uint(0, 0..=SWITCHES[i].max)?;
    if SWITCHES[i].name == "+CIPMUX" && s.gprs.state != State::Initial {
        return Err(Failure::Plain);
    }
    s.gprs.switches[i] = value;
    Ok(Reply::Ok)
}

impl Simcom {
    /// The network went away: the TCP/IP application is back at the start.
    pub(super) fn gprs_network_lost(&mut self) {
        self.gprs.state = State::Initial;
    }
}
