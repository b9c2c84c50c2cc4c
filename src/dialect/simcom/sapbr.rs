//! `AT+SAPBR`, the bearer of the IP applications on the SIM900, SIM800 and SIM7000 (M800
//! §9.2.1, M7000 §7.2.1, AN900 §1, AN7000 §3.1): three bearer profiles whose
//! parameters are set with `=3`, opened with `=1`, queried with `=2`, closed with `=0` and
//! listed with `=4`. FTP and HTTP name one with their CID.
//!
//! Choices where the manuals are silent:
//! - Tags match in any case (`"Contype"` and `"CONTYPE"` both appear in host code); `CONTYPE`
//!   takes `GPRS` or `CSD`, `RATE` 0-3; `APN` up to 64 characters, `USER` and `PWD` up to 32.
//! - Opening an open bearer or closing a closed one is `ERROR` (seen on real modules); opening
//!   needs registration (and attaches if the host detached), otherwise `ERROR`.
//! - `=2` on a closed bearer prints `+SAPBR: <cid>,3,"0.0.0.0"` (seen on a SIM900).
//! - `=4` prints `+SAPBR:` and then one `<TAG>: <value>` line per parameter, in the manual's
//!   order (the manual leaves the layout open, `docs/sim800.md` D5; this is what SIM800 logs
//!   show).
//! - Bearer profile `n` gets the configured IP address plus `n - 1` in its last octet.
//! - A network loss closes every open bearer with `+SAPBR <cid>: DEACT`.

use std::net::Ipv4Addr;

use vmodem_at::{Command, Failure, Reply};

use super::{Simcom, cmd};
use crate::dialect::Machine;
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Io, Outcome};

/// Bearer profiles (cids 1 to 3).
pub(super) const PROFILES: usize = 3;

/// One bearer profile.
#[derive(Debug, Clone)]
pub struct Profile {
    open: bool,
    contype: &'static str,
    apn: String,
    user: String,
    password: String,
    phone: String,
    rate: u8,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            open: false,
            contype: "GPRS",
            apn: String::new(),
            user: String::new(),
            password: String::new(),
            phone: String::new(),
            rate: 2,
        }
    }
}

/// The three bearer profiles.
#[derive(Debug, Clone, Default)]
pub struct Sapbr {
    profiles: [Profile; PROFILES],
}

impl Sapbr {
    /// Whether bearer `cid` is open (FTP and HTTP need their CID's bearer).
    pub fn open(&self, cid: u8) -> bool {
        cid.checked_sub(1).and_then(|i| self.profiles.get(i as usize)).is_some_and(|p| p.open)
    }
}

pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] =
    &[cmd("+SAPBR").test("+SAPBR: (0-4),(1-3),\"ConParamTag\",\"ConParamValue\"").write(sapbr)];

/// `AT+SAPBR=<cmd_type>,<cid>[,<tag>,<value>]`.
fn sapbr(s: &mut Simcom, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(2..=4)?;
    let cmd_type = a.uint(0, 0..=4)?;
    let cid = a.uint(1, 1..=PROFILES as u64)? as u8;
    let i = usize::from(cid - 1);
    if cmd_type != 3 {
        a.count(2..=2)?;
    }
    match cmd_type {
        0 => {
            if !s.sapbr.profiles[i].open {
                return Err(Failure::Plain);
            }
            s.sapbr.profiles[i].open = false;
            s.lose_bearer(cid, ctx.io);
        }
        1 => {
            if s.sapbr.profiles[i].open || !s.attach() {
                return Err(Failure::Plain);
            }
            s.sapbr.profiles[i].open = true;
        }
        2 => {
            let (status, ip) = if s.sapbr.profiles[i].open { (1, s.sapbr_ip(cid)) } else { (3, Ipv4Addr::UNSPECIFIED) };
            // With the space even on the SIM900 (a captured SIM900 log shows it).
            ctx.rsp.line(format!("+SAPBR: {cid},{status},\"{ip}\""));
        }
        3 => set(&mut s.sapbr.profiles[i], &a)?,
        _ => {
            let p = &s.sapbr.profiles[i];
            ctx.rsp.line("+SAPBR:");
            for (tag, value) in [
                ("CONTYPE", p.contype.to_string()),
                ("APN", p.apn.clone()),
                ("PHONENUM", p.phone.clone()),
                ("USER", p.user.clone()),
                ("PWD", p.password.clone()),
                ("RATE", p.rate.to_string()),
            ] {
                ctx.rsp.line(format!("{tag}: {value}"));
            }
        }
    }
    Ok(Reply::Ok)
}

/// `AT+SAPBR=3,<cid>,<tag>,<value>`.
fn set(p: &mut Profile, a: &Args<'_>) -> Result<(), Failure> {
    a.count(4..=4)?;
    let tag = a.text(2, 16)?.to_ascii_uppercase();
    match tag.as_str() {
        "CONTYPE" => p.contype = ["GPRS", "CSD"][a.choice(3, &["GPRS", "CSD"])?],
        "APN" => p.apn = a.text(3, 64)?.into(),
        "USER" => p.user = a.text(3, 32)?.into(),
        "PWD" => p.password = a.text(3, 32)?.into(),
        "PHONENUM" => p.phone = a.text(3, 40)?.into(),
        "RATE" => p.rate = a.uint(3, 0..=3)? as u8,
        _ => return Err(Failure::Plain),
    }
    Ok(())
}

impl Simcom {
    /// The address bearer profile `cid` gets.
    pub(super) fn sapbr_ip(&self, cid: u8) -> Ipv4Addr {
        let [a, b, c, d] = self.config.network.ip.octets();
        Ipv4Addr::new(a, b, c, d.wrapping_add(cid - 1))
    }

    /// The network went away: every open bearer closes with `+SAPBR <cid>: DEACT`.
    pub(super) fn sapbr_network_lost(&mut self, io: &mut Io) {
        for i in 0..PROFILES {
            if self.sapbr.profiles[i].open {
                self.sapbr.profiles[i].open = false;
                let cid = i as u8 + 1;
                io.urc(format!("+SAPBR {cid}: DEACT"));
                self.lose_bearer(cid, io);
            }
        }
    }
}
