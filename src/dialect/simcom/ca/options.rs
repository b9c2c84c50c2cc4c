//! The connections' settings: `AT+CACID` (the current id), `AT+CASSLCFG` (TLS per id, over
//! the `AT+CSSLCFG` contexts) and `AT+CACFG` (options; M7080 §12.2.1, §12.2.2, §12.2.10).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use vmodem_at::{Command, Failure, Reply};

use super::super::Simcom;
use super::{CIDS, Ca};
use crate::dialect::args::Args;
use crate::dialect::{Ctx, Outcome};

/// The longest certificate or PSK table name of `AT+CASSLCFG`.
const NAME_MAX: usize = 50;

/// The settings.
#[derive(Debug, Default)]
pub(super) struct Options {
    /// `AT+CACID`.
    current: Option<usize>,
    /// `AT+CASSLCFG`, per id.
    ssl: [SocketSsl; CIDS],
    /// `AT+CACFG` values that differ from the power-on ones: by option, then by id for the
    /// options that have one.
    cfg: BTreeMap<(usize, Option<usize>), Vec<u64>>,
}

/// The TLS settings of one connection id.
#[derive(Debug, Clone, Default)]
pub(super) struct SocketSsl {
    /// Listed by `AT+CASSLCFG?` (set, or selected with `AT+CACID`).
    listed: bool,
    /// `"SSL"`: TLS on the next `AT+CAOPEN`.
    on: bool,
    /// `"CRINDEX"`: the `AT+CSSLCFG` context, 0-5.
    pub(super) ctx: usize,
    /// `"CACERT"`: the CA list (empty: the server's certificate is not checked, D17).
    pub(super) ca: String,
    /// `"CERT"`: the client certificate.
    pub(super) cert: String,
    /// `"PSKTABLE"`: stored, not used (D38).
    psk: String,
}

impl Options {
    /// The TLS settings of `cid` if `"SSL"` is on.
    pub(super) fn ssl(&self, cid: usize) -> Option<SocketSsl> {
        self.ssl.get(cid).filter(|s| s.on).cloned()
    }

    /// Whether `AT+CAOPEN` answers `OK` first and its result as a URC.
    pub(super) fn async_open(&self) -> bool {
        self.value("ASYNCOPEN", None)[0] == 1
    }

    /// How long `AT+CAOPEN` of `cid` waits for its socket (`"TIMEOUT"`, in ms).
    pub(super) fn open_timeout(&self, cid: usize) -> Duration {
        Duration::from_millis(self.value("TIMEOUT", Some(cid))[0])
    }

    /// The receive buffer of the sockets opened from now on (`"RCVBUF"`).
    pub(super) fn receive_buffer(&self) -> usize {
        self.value("RCVBUF", None)[0] as usize
    }

    /// The values of option `key` (for `cid`, if it has one).
    fn value(&self, key: &str, cid: Option<usize>) -> &[u64] {
        let i = OPTIONS.iter().position(|o| o.key == key).unwrap_or(0);
        self.cfg.get(&(i, cid)).map_or(OPTIONS[i].default, Vec::as_slice)
    }
}

/// `AT+CACID?`: `+CACID: <cid>` once one was set.
pub(super) fn cacid_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    if let Some(cid) = s.ca.options.current {
        ctx.rsp.line(format!("+CACID: {cid}"));
    }
    Ok(Reply::Ok)
}

/// `AT+CACID=<cid>`: the current connection id, listed by `AT+CASSLCFG?` from now on.
pub(super) fn cacid_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, Failure::Plain);
    a.count(1..=1)?;
    let cid = Ca::cid(&a, 0)?;
    s.ca.options.current = Some(cid);
    s.ca.options.ssl[cid].listed = true;
    Ok(Reply::Ok)
}

/// The `AT+CASSLCFG` keys: the SIM7080's, then the SIM7000's `"PROTOCOL"`.
const SSL_KEYS: &[&str] = &["SSL", "CRINDEX", "CACERT", "CERT", "PSKTABLE", "PROTOCOL"];

/// The keys of this family.
fn ssl_keys(s: &Simcom) -> Result<&'static [&'static str], Failure> {
    Ok(if s.ca_profile()?.ssl_protocol { SSL_KEYS } else { &SSL_KEYS[..5] })
}

/// `AT+CASSLCFG=?`: one line per key (M7080 §12.2.2).
pub(super) fn casslcfg_test(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for key in ssl_keys(s)? {
        let values = match *key {
            "SSL" | "PROTOCOL" => "(0,1)",
            "CRINDEX" => "(0-5)",
            _ => "(1-50)",
        };
        ctx.rsp.line(format!("+CASSLCFG: (0-12),\"{key}\",{values}"));
    }
    Ok(Reply::Ok)
}

/// `AT+CASSLCFG?`: `+CASSLCFG: <cid>,<ssl>,<crindex>,<ca>,<cert>,<psk>` for each id set or
/// selected, names quoted and empty ones left out (`+CASSLCFG: 0,0,0,,,`; D38).
pub(super) fn casslcfg_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let name = |n: &str| if n.is_empty() { String::new() } else { format!("\"{n}\"") };
    for (cid, c) in s.ca.options.ssl.iter().enumerate().filter(|(_, c)| c.listed) {
        let (ca, cert, psk) = (name(&c.ca), name(&c.cert), name(&c.psk));
        ctx.rsp.line(format!("+CASSLCFG: {cid},{},{},{ca},{cert},{psk}", u8::from(c.on), c.ctx));
    }
    Ok(Reply::Ok)
}

/// `AT+CASSLCFG=<cid>,<key>,<value>`; keys in any case, quoted or not (TinyGSM sends
/// `AT+CASSLCFG=0,SSL,1` and `AT+CASSLCFG=0,ssl,1`; D38).
pub(super) fn casslcfg_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let keys = ssl_keys(s)?;
    let a = Args::of(cmd, Failure::Plain);
    a.count(3..=3)?;
    let cid = Ca::cid(&a, 0)?;
    let key = keys[a.choice(1, keys)?];
    let c = &mut s.ca.options.ssl[cid];
    let name = || Some(a.text(2, NAME_MAX)?).filter(|n| !n.is_empty()).map(str::to_string).ok_or(Failure::Plain);
    match key {
        "SSL" => c.on = a.uint(2, 0..=1)? == 1,
        "CRINDEX" => c.ctx = a.uint(2, 0..=5)? as usize,
        "CACERT" => c.ca = name()?,
        "CERT" => c.cert = name()?,
        "PSKTABLE" => c.psk = name()?,
        // `"PROTOCOL"` (SIM7000), 0 TCP or 1 UDP: taken, the `AT+CAOPEN` type decides (D38).
        _ => _ = a.uint(2, 0..=1)?,
    }
    c.listed = true;
    Ok(Reply::Ok)
}

/// One `AT+CACFG` option: its key, whether it is set per connection id (`"KEY",<cid>,...`),
/// the ranges of its values (the first one required, the others optional) and their
/// power-on values. The manual names the keys and no values: ranges and power-on values are
/// vmodem's (D39).
struct Opt {
    key: &'static str,
    per_cid: bool,
    ranges: &'static [RangeInclusive<u64>],
    default: &'static [u64],
}

const fn opt(key: &'static str, ranges: &'static [RangeInclusive<u64>], default: &'static [u64]) -> Opt {
    Opt { key, per_cid: false, ranges, default }
}

const OPTIONS: &[Opt] = &[
    opt("TRANSWAITTM", &[0..=10], &[2]),
    opt("TRANSPKTSIZE", &[1..=1460], &[1320]),
    opt("SACK", &[0..=1], &[0]),
    opt("MSS", &[536..=1460], &[1460]),
    opt("ACKDELAY", &[0..=1000], &[200]),
    opt("TCPIRT", &[200..=60_000], &[1000]),
    opt("MAXRXT", &[1..=12], &[12]),
    opt("TCPOT", &[1..=600], &[75]),
    opt("KEEPALIVE", &[0..=1, 1..=7200, 1..=600, 1..=10], &[0, 7200, 75, 9]),
    opt("TCP_NODELAY", &[0..=1], &[0]),
    opt("LINGER", &[0..=1, 0..=60_000], &[0, 0]),
    opt("SNDBUF", &[1..=65_536], &[65_536]),
    opt("RCVBUF", &[1..=65_536], &[65_536]),
    opt("ATOCLOSE", &[0..=1, 0..=60], &[0, 0]),
    opt("ASYNCOPEN", &[0..=1], &[0]),
    // How long `AT+CAOPEN` waits, in ms: a SIM7080 gave up after 75 s (I-L179; D31).
    Opt { key: "TIMEOUT", per_cid: true, ranges: &[1..=75_000], default: &[75_000] },
    Opt { key: "LOCALPORT", per_cid: true, ranges: &[0..=65_535], default: &[0] },
];

/// A range as the test forms print it: `(0,1)` for two values, else `(a-b)`.
fn range(r: &RangeInclusive<u64>) -> String {
    let sep = if r.end() - r.start() == 1 { ',' } else { '-' };
    format!("({}{sep}{})", r.start(), r.end())
}

fn join(values: impl Iterator<Item = String>) -> String {
    values.collect::<Vec<_>>().join(",")
}

/// `AT+CACFG=?`: `+CACFG: "<KEY>",<ranges>` per option, `(0-12)` first for those per id.
pub(super) fn cacfg_test(_: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    for o in OPTIONS {
        let cid = if o.per_cid { "(0-12)," } else { "" };
        ctx.rsp.line(format!("+CACFG: \"{}\",{cid}{}", o.key, join(o.ranges.iter().map(range))));
    }
    Ok(Reply::Ok)
}

/// `AT+CACFG?`: `+CACFG: "<KEY>",<values>` per option, and for the options per id one line
/// `+CACFG: "<KEY>",<cid>,<values>` per id set.
pub(super) fn cacfg_read(s: &mut Simcom, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let values = |v: &[u64]| join(v.iter().map(u64::to_string));
    for (i, o) in OPTIONS.iter().enumerate() {
        if !o.per_cid {
            ctx.rsp.line(format!("+CACFG: \"{}\",{}", o.key, values(s.ca.options.value(o.key, None))));
            continue;
        }
        for ((_, cid), v) in s.ca.options.cfg.range((i, Some(0))..=(i, Some(CIDS - 1))) {
            ctx.rsp.line(format!("+CACFG: \"{}\",{},{}", o.key, cid.unwrap_or(0), values(v)));
        }
    }
    Ok(Reply::Ok)
}

/// `AT+CACFG="<KEY>",[<cid>,]<value>[,...]`: the option's values, the optional ones kept
/// as they were when left out.
pub(super) fn cacfg_write(s: &mut Simcom, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let keys: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
    let a = Args::of(cmd, Failure::Plain);
    let i = a.choice(0, &keys)?;
    let o = &OPTIONS[i];
    let (cid, first) = if o.per_cid { (Some(Ca::cid(&a, 1)?), 2) } else { (None, 1) };
    a.count(first + 1..=first + o.ranges.len())?;
    let mut values = s.ca.options.value(o.key, cid).to_vec();
    for (k, r) in o.ranges.iter().enumerate() {
        if let Some(v) = a.opt_uint(first + k, r.clone())? {
            values[k] = v;
        } else if k == 0 {
            return Err(Failure::Plain);
        }
    }
    s.ca.options.cfg.insert((i, cid), values);
    Ok(Reply::Ok)
}
