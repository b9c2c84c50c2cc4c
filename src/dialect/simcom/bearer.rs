//! Packet-data bearers (M7080 ch. 6 and 7): the application network contexts
//! `AT+CNACT` / `AT+CNCFG` (that FTP runs over on the SIM7080; the SIM7000 has a one-context
//! form of both), and the 3GPP `+CGATT`, `+CGDCONT`, `+CGACT`, `+CGNAPN`.
//!
//! Choices where the manual is silent:
//! - `AT+CNACT=<n>,1` on an active context answers a plain `ERROR` with no URC (a captured
//!   SIM7080 log shows this); deactivating an inactive context is symmetric: `ERROR`.
//! - Activation needs registration and PS attach; otherwise `ERROR`.
//! - Context `n` gets the configured IP address plus `n` in its last octet.
//! - At power-on PDP context 1 uses the network's APN and is active (LTE default bearer), and
//!   context 2 is defined but inactive, as AN7080-CN §4.1's `AT+CGACT?` shows (`docs/v250.md`
//!   D18).

use std::net::Ipv4Addr;

use vmodem_at::{Command, Failure, Reply};

use super::{Bearer, Simcom, cmd};
use crate::dialect::Machine;
use crate::dialect::args::Args;
use crate::dialect::cellular::{Cellular, PdpContext};
use crate::dialect::{Ctx, Io, Outcome};

/// Application network contexts (`AT+CNACT` indexes 0 to 3).
pub const APP_CONTEXTS: usize = 4;

/// One `AT+CNACT` context.
#[derive(Debug, Clone, Default)]
pub struct AppContext {
    /// Whether it is active.
    pub active: bool,
    /// `AT+CNCFG` values: ip type, APN, user, password, authentication.
    pub ip_type: u8,
    apn: String,
    user: String,
    password: String,
    auth: u8,
}

/// The bearer state.
#[derive(Debug, Clone)]
pub struct Bearers {
    /// PS attach (`AT+CGATT`).
    attached: bool,
    /// `AT+CNACT` contexts.
    pub apps: [AppContext; APP_CONTEXTS],
    /// `AT+CGDCONT` contexts, by cid.
    pub(super) pdp: Vec<PdpContext>,
}

impl Bearers {
    /// The power-on state: attached, PDP context 1 on the network's APN.
    pub fn new(apn: &str) -> Self {
        Bearers { attached: true, apps: Default::default(), pdp: PdpContext::power_on(apn) }
    }

    /// Whether application context `idx` is active (FTP needs its FTPCID context up).
    pub fn app_active(&self, idx: u8) -> bool {
        self.apps.get(idx as usize).is_some_and(|c| c.active)
    }
}

/// The application network: `AT+CNACT` as the SIM7080 has it (`=<pdpidx>,<action>`, URC
/// `+APP PDP: <pdpidx>,ACTIVE`) or as the SIM7000 has it (`=<mode>[,<apn>]`, one context,
/// `+APP PDP: ACTIVE`; the SAPBR families' FTP runs over SAPBR, not over this).
pub(super) const APP_NETWORK: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CNACT").test_with(cnact_test).read(cnact_read).write(cnact_write),
    cmd("+CNCFG").test_with(cncfg_test).read(cncfg_read).write(cncfg_write),
];

/// The 3GPP packet-domain commands.
pub(super) const PACKET: &[crate::dialect::Entry<Simcom>] = &[
    cmd("+CGATT").test("+CGATT: (0,1)").read(cgatt_read).write(cgatt_write),
    cmd("+CGACT").test("+CGACT: (0,1)").read(cgact_read).write(cgact_write),
    cmd("+CGNAPN").test("+CGNAPN: (0,1),120").exec(cgnapn),
];

/// Whether the family has the SIM7000's single-context `AT+CNACT`.
fn single_context(s: &Simcom) -> bool {
    s.profile.bearer == Bearer::Sapbr
}

fn cnact_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(if single_context(s) { "+CNACT: (0-2)" } else { "+CNACT: (0-3),(0-2)" });
    Ok(Reply::Ok)
}

fn cnact_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if single_context(s) {
        let (state, ip) = if s.bearers.apps[0].active { (1, s.app_ip(0)) } else { (0, Ipv4Addr::UNSPECIFIED) };
        ctx.rsp.line(format!("+CNACT: {state},\"{ip}\""));
        return Ok(Reply::Ok);
    }
    for idx in 0..APP_CONTEXTS {
        let (state, ip) = if s.bearers.apps[idx].active { (1, s.app_ip(idx)) } else { (0, Ipv4Addr::UNSPECIFIED) };
        ctx.rsp.line(format!("+CNACT: {idx},{state},\"{ip}\""));
    }
    Ok(Reply::Ok)
}

fn cnact_write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let (idx, activate) = if single_context(s) {
        a.count(1..=2)?;
        let activate = a.uint(0, 0..=2)? != 0;
        if let Some(apn) = a.opt_text(1, 64)? {
            s.bearers.apps[0].apn = apn.into();
        }
        (0, activate)
    } else {
        a.count(2..=2)?;
        (a.uint(0, 0..=APP_CONTEXTS as u64 - 1)? as usize, a.uint(1, 0..=2)? != 0)
    };
    let context = &mut s.bearers.apps[idx];
    if context.active == activate {
        return Err(Failure::Plain);
    }
    if activate {
        if !s.packet_ready() {
            return Err(Failure::Plain);
        }
        s.bearers.apps[idx].active = true;
        ctx.io.urc(s.app_pdp(idx, "ACTIVE"));
    } else {
        s.deactivate_app(idx, ctx.io);
    }
    Ok(Reply::Ok)
}

/// `AT+CNCFG`'s test form: with the context index on the SIM7080, without on the SIM7000.
fn cncfg_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(if single_context(s) {
        "+CNCFG: (0-2),64,32,32,(0-3)"
    } else {
        "+CNCFG: (0-3),(0-4),150,127,127,(0-3)"
    });
    Ok(Reply::Ok)
}

fn cncfg_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for (idx, c) in s.bearers.apps.iter().enumerate() {
        let values = format!("{},\"{}\",\"{}\",\"{}\",{}", c.ip_type, c.apn, c.user, c.password, c.auth);
        if single_context(s) {
            ctx.rsp.line(format!("+CNCFG: {values}"));
            break;
        }
        ctx.rsp.line(format!("+CNCFG: {idx},{values}"));
    }
    Ok(Reply::Ok)
}

/// `AT+CNCFG=<pdpidx>,<ip_type>[,<apn>[,<user>,<password>[,<auth>]]]` on the SIM7080;
/// the SIM7000's has no `<pdpidx>`, IP types 0-2 and shorter strings.
fn cncfg_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    let single = single_context(s);
    let (first, max_type, lens) = if single { (0, 2, (64, 32)) } else { (1, 4, (150, 127)) };
    a.count(first + 1..=first + 5)?;
    let idx = if single { 0 } else { a.uint(0, 0..=APP_CONTEXTS as u64 - 1)? as usize };
    let ip_type = a.uint(first, 0..=max_type)? as u8;
    let apn = a.opt_text(first + 1, lens.0)?.unwrap_or("");
    let user = a.opt_text(first + 2, lens.1)?.unwrap_or("");
    let password = a.opt_text(first + 3, lens.1)?.unwrap_or("");
    let auth = a.opt_uint(first + 4, 0..=3)?.unwrap_or(0) as u8;
    let c = &mut s.bearers.apps[idx];
    (c.ip_type, c.apn, c.user, c.password, c.auth) = (ip_type, apn.into(), user.into(), password.into(), auth);
    Ok(Reply::Ok)
}

fn cgatt_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    ctx.rsp.line(format!("+CGATT: {}", u8::from(s.bearers.attached && s.registered())));
    Ok(Reply::Ok)
}

fn cgatt_write(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let attach = Args::of(cmd, Failure::Plain).uint(0, 0..=1)? == 1;
    if attach && !s.registered() {
        return Err(Failure::Cme(30));
    }
    if s.bearers.attached && !attach {
        s.network_lost(ctx.io);
    }
    s.bearers.attached = attach;
    if attach {
        s.network_up();
    }
    Ok(Reply::Ok)
}

fn cgact_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for p in &s.bearers.pdp {
        ctx.rsp.line(format!("+CGACT: {},{}", p.cid, u8::from(p.active)));
    }
    Ok(Reply::Ok)
}

fn cgact_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=16)?;
    let state = a.uint(0, 0..=1)? == 1;
    if state && !s.attach() {
        return Err(Failure::Cme(30));
    }
    let cids: Vec<u8> = (1..a.len()).map(|i| a.uint(i, 1..=15).map(|c| c as u8)).collect::<Result<_, _>>()?;
    for p in s.bearers.pdp.iter_mut().filter(|p| cids.is_empty() || cids.contains(&p.cid)) {
        p.active = state;
    }
    Ok(Reply::Ok)
}

fn cgnapn(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let line =
        if s.registered() { format!("+CGNAPN: 1,\"{}\"", s.config.network.apn) } else { "+CGNAPN: 0,\"\"".to_string() };
    ctx.rsp.line(line);
    Ok(Reply::Ok)
}

impl Simcom {
    /// The IP address application context `idx` gets.
    fn app_ip(&self, idx: usize) -> Ipv4Addr {
        let [a, b, c, d] = self.config.network.ip.octets();
        Ipv4Addr::new(a, b, c, d.wrapping_add(idx as u8))
    }

    /// `+APP PDP: <idx>,<state>`, or `+APP PDP: <state>` with the SIM7000's single context.
    fn app_pdp(&self, idx: usize, state: &str) -> String {
        if single_context(self) { format!("+APP PDP: {state}") } else { format!("+APP PDP: {idx},{state}") }
    }

    /// Takes application context `idx` down: the URC, and the FTP session over it fails.
    fn deactivate_app(&mut self, idx: usize, io: &mut Io) {
        self.bearers.apps[idx].active = false;
        io.urc(self.app_pdp(idx, "DEACTIVE"));
        self.lose_bearer(idx as u8, io);
    }

    /// Registration or attach was lost: every bearer goes down.
    pub(super) fn network_lost(&mut self, io: &mut Io) {
        for idx in 0..APP_CONTEXTS {
            if self.bearers.apps[idx].active {
                self.deactivate_app(idx, io);
            }
        }
        for p in &mut self.bearers.pdp {
            p.active = false;
        }
        self.sapbr_network_lost(io);
        self.gprs_network_lost(io);
        crate::dialect::data_call::lost(self, io);
    }

    /// The address of the first open bearer: an `AT+CNACT` context, an `AT+SAPBR` profile or
    /// the `AT+CIICR` context.
    pub(super) fn bearer_ip(&self) -> Option<Ipv4Addr> {
        let app = (0..APP_CONTEXTS).find(|i| self.bearers.apps[*i].active).map(|i| self.app_ip(i));
        let sapbr =
            || (1..=super::sapbr::PROFILES as u8).find(|cid| self.sapbr.open(*cid)).map(|cid| self.sapbr_ip(cid));
        app.or_else(sapbr).or_else(|| self.gprs.state.active().then_some(self.config.network.ip))
    }

    /// Whether a bearer can open: registered and attached.
    pub(super) fn packet_ready(&self) -> bool {
        self.registered() && self.bearers.attached
    }

    /// Attaches first if need be, as 27.007 has a context activation do (`AT+CGACT`,
    /// `AT+SAPBR=1`: hosts detach with `AT+CGATT=0` and then open a bearer); whether the
    /// network is there to attach to.
    pub(super) fn attach(&mut self) -> bool {
        if self.registered() && !self.bearers.attached {
            self.bearers.attached = true;
            self.network_up();
        }
        self.packet_ready()
    }

    /// Registration and attach are back: the default bearer (PDP context 1) comes up.
    pub(super) fn network_up(&mut self) {
        if self.registered()
            && self.bearers.attached
            && let Some(p) = self.bearers.pdp.iter_mut().find(|p| p.cid == 1)
        {
            p.active = true;
        }
    }
}
