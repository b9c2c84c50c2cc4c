//! The configuration of a modem, read from a TOML file (`vmodem serve --config FILE`) with
//! command-line flags on top. Every value has a default that matches the vendor documents'
//! examples, so the application notes' sessions answer as printed (`+CSQ: 27,99`,
//! `+COPS: 0,0,"CHN-CT",9`, `+CNACT: 0,1,"10.94.36.44"`).
//!
//! ```toml
//! dialect = "sim7080"
//!
//! [line]                   # where the host connects; a line flag (--tcp, --pty, ...) overrides it
//! tcp = "127.0.0.1:7080"   # or pty, unix, connect = "127.0.0.1:4321", serial, stdio = true
//! baud = 115200            # pace at this speed (PTY: the speed it starts with)
//! pacing = true            # false: no pacing at all (--no-pacing)
//! telnet = true            # false: connect does not answer telnet negotiation (--no-telnet)
//!
//! [demo]                   # the embedded FTP server of `--demo`
//! enabled = true
//! dir = "/tmp/vmodem-demo"
//!
//! [identity]
//! imei = "869951030012342"
//! number = "+8613800000001" # AT+CNUM, and where the SMS centre delivers this modem's messages
//!
//! [network]
//! operator = "CHN-CT"
//! rssi = 27
//! apn = "ctnb"
//! ip = "10.94.36.44"
//!
//! [ftp]
//! unread_notice = 10.0     # seconds between repeated "+FTPGET: 1,1" while data waits
//! unread_timeout = 60.0    # seconds without a read before "+FTPGET: 1,64"
//!
//! [record]                 # a transcript of the session, for `vmodem chat` to replay
//! file = "session.at"      # (passwords masked unless secrets = true)
//!
//! [sms]
//! smsc = "+8613800210500"  # the SIM's service centre (AT+CSCA?)
//! sim_capacity = 50        # messages "SM" holds; module_capacity for "ME"
//! inbox = [{ from = "+8613900000000", text = "Welcome" }]   # on the SIM at power-on
//!
//! [fs]                     # the module file system (default: a temporary folder)
//! root = "/var/lib/vmodem/fs"
//! quota = 6391808
//!
//! [fleet]                  # vmodem fleet: families and links by weight, drawn from the seed
//! seed = 42
//! profiles = [{ name = "catm", weight = 70 }, { name = "nbiot", weight = 30 }]
//!
//! [net]
//! redirects = ["112.74.93.163:21=127.0.0.1:2121"]
//! profile = "catm"         # the link: instant, gsm, gprs, edge, nbiot, catm, lte or figures
//! listen = "127.0.0.1"     # where AT+CIPSERVER / AT+CASERVER listen (at the host's port)
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::family::Family;
use crate::limits::{MAX_BUFFER, Seconds};
use crate::net::{Fault, Net, NetConfig, ProfileSetting, Redirect};
use crate::plan::PlanEntry;
use crate::transport::line::{Line, LineOptions};

/// Everything the configuration file says: what the module is, and how this process serves it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "File")]
pub struct Config {
    /// The module: shared by every modem built from it.
    pub module: ModuleConfig,
    /// How one process serves it.
    pub serve: ServeConfig,
}

/// What a module is: its family, identity, network, services and file system. Modems built
/// from one module share it (behind an `Arc`); nothing in it is per-process.
#[derive(Debug, Clone, Default)]
pub struct ModuleConfig {
    /// The family to emulate (`dialect = "sim7080"` in the file).
    pub family: Family,
    /// What the module says about itself and its SIM.
    pub identity: Identity,
    /// The cellular network it is registered on.
    pub network: Network,
    /// FTP behaviour and timers.
    pub ftp: FtpTimers,
    /// The HTTP application (`AT+HTTP*`).
    pub http: HttpSection,
    /// The module's file system (`AT+CFS*`, `AT+FTPEXTGET=2`).
    pub fs: FsSection,
    /// Short messages (`AT+CMGS` ...).
    pub sms: SmsSection,
}

/// How one process serves a module: the line, the network its services reach, the fault plan,
/// recording, the control socket and the demo.
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    /// Where the host's line is (`vmodem serve`).
    pub line: LineSection,
    /// The network the services use.
    pub net: NetSection,
    /// The fault plan: what goes wrong, and when (see [`crate::plan`]). Connection faults may
    /// also sit in `[net] faults`.
    pub faults: Vec<PlanEntry>,
    /// Recording the session (`vmodem serve --record`).
    pub record: RecordSection,
    /// The run-time control socket (`--control`; see [`crate::control`]).
    pub control: Option<PathBuf>,
    /// The embedded demo server (`vmodem serve --demo`).
    pub demo: DemoSection,
    /// The variety of a fleet's modems (`vmodem fleet`).
    pub fleet: FleetSection,
}

/// The `[fleet]` section: what differs between a fleet's modems, drawn per modem from weighted
/// choices with `seed`, so that a run can be repeated exactly.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetSection {
    /// The seed of the draws.
    pub seed: u64,
    /// The families, by weight (`[{ name = "sim800", weight = 3 }, ...]`); none: the module's.
    pub dialects: Vec<Weighted>,
    /// The link profiles, by weight; none: the network's.
    pub profiles: Vec<Weighted>,
    /// Faults that strike a share of the modems in every period (`[[fleet.faults]]`).
    pub faults: Vec<FleetFault>,
}

/// A fault that strikes a share of a fleet's modems in every period, each modem drawn from the
/// seed, at a moment drawn within the period:
///
/// ```toml
/// [[fleet.faults]]
/// rate = 0.01                     # 1 % of the modems
/// period = 3600                   # every hour
/// fault = { kind = "drop_bearer" } # a fault plan entry, as in [[faults]]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetFault {
    /// The share of the modems struck in each period, 0 to 1.
    #[serde(deserialize_with = "share")]
    pub rate: f64,
    /// The period, in seconds.
    #[serde(deserialize_with = "crate::limits::period")]
    pub period: crate::limits::Seconds,
    /// What strikes.
    pub fault: crate::plan::PlanEntry,
}

/// A share from 0 to 1.
fn share<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let rate = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(serde::de::Error::custom(format!("rate {rate}: a share from 0 to 1")))
    }
}

/// A choice and its weight.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighted {
    /// A family's or a link profile's name.
    pub name: String,
    /// Its share, relative to the others' (0 never draws it).
    pub weight: u32,
}

impl FleetSection {
    /// The name drawn for modem `index` from `choices` (`salt` tells the draws apart); `None`
    /// without choices or weights.
    pub fn draw<'a>(&self, choices: &'a [Weighted], index: u64, salt: u64) -> Option<&'a str> {
        let total: u64 = choices.iter().map(|c| u64::from(c.weight)).sum();
        if total == 0 {
            return None;
        }
        let seed = self.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
        let mut pick = fastrand::Rng::with_seed(seed).u64(0..total);
        choices
            .iter()
            .find(|c| {
                let w = u64::from(c.weight);
                if pick < w {
                    return true;
                }
                pick -= w;
                false
            })
            .map(|c| c.name.as_str())
    }
}

/// The file as it is written: one table of sections, split into [`Config`].
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    dialect: Family,
    identity: Identity,
    network: Network,
    ftp: FtpTimers,
    net: NetSection,
    line: LineSection,
    demo: DemoSection,
    fs: FsSection,
    http: HttpSection,
    sms: SmsSection,
    record: RecordSection,
    faults: Vec<PlanEntry>,
    control: Option<PathBuf>,
    fleet: FleetSection,
}

impl From<File> for Config {
    fn from(f: File) -> Self {
        Config {
            module: ModuleConfig {
                family: f.dialect,
                identity: f.identity,
                network: f.network,
                ftp: f.ftp,
                http: f.http,
                fs: f.fs,
                sms: f.sms,
            },
            serve: ServeConfig {
                line: f.line,
                net: f.net,
                faults: f.faults,
                record: f.record,
                control: f.control,
                demo: f.demo,
                fleet: f.fleet,
            },
        }
    }
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// The module's and the SIM's identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Identity {
    /// 15-digit IMEI (`AT+CGSN`, `AT+GSN`).
    pub imei: String,
    /// 15-digit IMSI (`AT+CIMI`).
    pub imsi: String,
    /// ICCID of the SIM (`AT+CCID`).
    pub iccid: String,
    /// Overrides the family's revision string (`AT+CGMR`), e.g. `Revision:1951B16SIM7080`.
    pub revision: Option<String>,
    /// Overrides the family's `ATI` answer, e.g. `SIM800 R13.08` (host libraries that look for
    /// an older firmware name recognise the module by it).
    pub ati: Option<String>,
    /// The SIM's PIN, if it asks for one at power-on (`+CPIN: SIM PIN` until `AT+CPIN="<pin>"`);
    /// none by default.
    pub sim_pin: Option<String>,
    /// The subscriber's own number (MSISDN): `AT+CNUM`, and where the SMS centre delivers
    /// messages for this modem.
    pub number: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            imei: "869951030012342".into(),
            imsi: "460115012345678".into(),
            iccid: "89860318760012345671".into(),
            revision: None,
            ati: None,
            sim_pin: None,
            number: "+8613800000001".into(),
        }
    }
}

/// The cellular network the modem reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Network {
    /// Long operator name (`AT+COPS?` format 0).
    pub operator: String,
    /// Short operator name (format 1).
    pub operator_short: String,
    /// MCC and MNC (format 2).
    pub plmn: String,
    /// Access technology in `+COPS` (0 GSM, 7 LTE-M1, 9 NB-IoT).
    pub act: u8,
    /// Received signal strength index for `+CSQ` (0..31, 99 unknown).
    pub rssi: u8,
    /// Bit error rate index for `+CSQ` (0..7, 99 unknown).
    pub ber: u8,
    /// Whether the module registers on the network at all.
    pub registered: bool,
    /// The APN the network assigns (`AT+CGNAPN`) and PDP context 1 uses.
    pub apn: String,
    /// The IP address a PDP context gets when activated; further contexts get the next ones.
    pub ip: Ipv4Addr,
    /// The DNS servers the network gives a packet data call (PPP's IPCP, RFC 1877): queries
    /// to them are answered by resolving through the modem's network.
    pub dns: [Ipv4Addr; 2],
    /// Tracking area code reported with `AT+CEREG=2`.
    pub tac: String,
    /// Cell identity reported with `AT+CEREG=2`.
    pub cell: String,
    /// The network's time zone, in quarter hours east of UTC (`+32` is UTC+8): the zone of
    /// `AT+CCLK?` once the network's time has come, and of `*PSUTTZ`; -96 to 96 (TS 27.007
    /// §8.15).
    #[serde(deserialize_with = "timezone")]
    pub timezone: i8,
    /// The operator's USSD menu (`AT+CUSD`): what each code answers.
    pub ussd: Vec<UssdEntry>,
}

/// One answer of the operator's USSD menu.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UssdEntry {
    /// What the host sends: a code (`*100#`) or, inside a session, a choice (`1`).
    pub code: String,
    /// The menu this answers within (the `code` of an entry with `more`); none for a code
    /// that starts a session.
    #[serde(default)]
    pub after: Option<String>,
    /// The network's answer.
    pub reply: String,
    /// The answer asks for more (`+CUSD: 1`): the session stays open for a choice.
    #[serde(default)]
    pub more: bool,
}

impl UssdEntry {
    fn new(code: &str, after: Option<&str>, reply: &str, more: bool) -> Self {
        UssdEntry { code: code.into(), after: after.map(Into::into), reply: reply.into(), more }
    }
}

impl Default for Network {
    fn default() -> Self {
        Network {
            operator: "CHN-CT".into(),
            operator_short: "CT".into(),
            plmn: "46011".into(),
            act: 9,
            rssi: 27,
            ber: 99,
            registered: true,
            apn: "ctnb".into(),
            ip: Ipv4Addr::new(10, 94, 36, 44),
            dns: [Ipv4Addr::new(10, 94, 0, 53), Ipv4Addr::new(10, 94, 1, 53)],
            tac: "1A2B".into(),
            cell: "0A3B4C01".into(),
            timezone: 32,
            ussd: vec![
                UssdEntry::new("*100#", None, "Balance: 12.34 CNY. Valid until 2027-01-31.", false),
                UssdEntry::new("*101#", None, "1. Data balance\n2. Top up", true),
                UssdEntry::new("1", Some("*101#"), "Data left: 512 MB.", false),
                UssdEntry::new("2", Some("*101#"), "Send the voucher code.", true),
            ],
        }
    }
}

/// FTP timers. Seconds in the file, each from 0 to a week ([`crate::limits`]); the manuals
/// leave the real values undocumented.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FtpTimers {
    /// Seconds between repeated `+FTPGET: 1,1` while downloaded data waits unread (at least
    /// [`crate::limits::MIN_PERIOD`]).
    #[serde(deserialize_with = "crate::limits::period")]
    pub unread_notice: Seconds,
    /// Seconds without a host read before the session ends with `+FTPGET: 1,64`.
    pub unread_timeout: Seconds,
    /// Seconds the module waits for the bytes of `AT+FTPPUT=2,<n>` before answering `ERROR`.
    pub data_input: Seconds,
    /// Seconds the L610's `AT+FTPGET` buffer waits unread before the session is dropped (the
    /// two minutes of L610-FTP §1.2.18).
    pub fetch_timeout: Seconds,
    /// Seconds to open the control connection.
    pub connect: Seconds,
    /// Seconds to wait for each server reply (the manuals' 75 s maximum response time).
    pub reply: Seconds,
    /// Seconds to open a data connection.
    pub data_connect: Seconds,
    /// Seconds a data connection may stall mid-transfer.
    pub idle: Seconds,
}

impl Default for FtpTimers {
    fn default() -> Self {
        FtpTimers {
            unread_notice: Seconds::of(10.0),
            unread_timeout: Seconds::of(60.0),
            data_input: Seconds::of(10.0),
            fetch_timeout: Seconds::of(120.0),
            connect: Seconds::of(30.0),
            reply: Seconds::of(75.0),
            data_connect: Seconds::of(30.0),
            idle: Seconds::of(60.0),
        }
    }
}

impl FtpTimers {
    /// The FTP client's timeouts these timers give.
    pub fn timeouts(&self) -> crate::service::ftp::FtpTimeouts {
        crate::service::ftp::FtpTimeouts {
            connect: self.connect.duration(),
            reply: self.reply.duration(),
            data_connect: self.data_connect.duration(),
            idle: self.idle.duration(),
        }
    }
}

/// The `[line]` section: at most one line (`tcp`, `pty`, `unix`, `connect`, `serial`, `stdio`),
/// and how it runs (see [`crate::transport::line`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineSection {
    /// Listen on this TCP address.
    pub tcp: Option<SocketAddr>,
    /// Create a PTY linked at this path.
    pub pty: Option<PathBuf>,
    /// Use standard input and output.
    pub stdio: bool,
    /// Listen on a Unix socket at this path.
    pub unix: Option<PathBuf>,
    /// Dial an emulator's server socket: `HOST:PORT` or `unix:PATH`.
    pub connect: Option<String>,
    /// Open this tty device (a USB-serial adapter, an emulator's PTY).
    pub serial: Option<PathBuf>,
    /// The line's speed in baud (`--baud`).
    pub baud: Option<u32>,
    /// Whether bytes are paced (`--no-pacing` turns it off).
    pub pacing: bool,
    /// Whether `connect` answers a telnet opening (`--no-telnet` turns it off).
    pub telnet: bool,
}

impl Default for LineSection {
    fn default() -> Self {
        LineSection {
            tcp: None,
            pty: None,
            stdio: false,
            unix: None,
            connect: None,
            serial: None,
            baud: None,
            pacing: true,
            telnet: true,
        }
    }
}

impl LineSection {
    /// The line the section names, if any; an error if it names more than one.
    pub fn line(&self) -> anyhow::Result<Option<Line>> {
        let connect = match &self.connect {
            Some(c) => Some(Line::Connect(c.parse().map_err(|e: String| anyhow::anyhow!("[line] connect: {e}"))?)),
            None => None,
        };
        let mut lines = [
            self.tcp.map(Line::Tcp),
            self.pty.clone().map(Line::Pty),
            self.unix.clone().map(Line::Unix),
            connect,
            self.serial.clone().map(Line::Serial),
            self.stdio.then_some(Line::Stdio),
        ]
        .into_iter()
        .flatten();
        let line = lines.next();
        if lines.next().is_some() {
            anyhow::bail!("[line] names more than one line: keep one of tcp, pty, unix, connect, serial and stdio");
        }
        Ok(line)
    }

    /// How the line runs.
    pub fn options(&self) -> LineOptions {
        LineOptions { baud: self.baud, pacing: self.pacing, telnet: self.telnet }
    }
}

/// The `[record]` section: a transcript of every session (`--record` overrides the file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordSection {
    /// The transcript file to write.
    pub file: Option<PathBuf>,
    /// Keep passwords, PINs and credentials in it instead of masking them.
    pub secrets: bool,
}

/// The `[demo]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSection {
    /// Start the embedded FTP server with the sample files.
    pub enabled: bool,
    /// The folder it serves (default: vmodem-demo in the temporary directory).
    pub dir: Option<PathBuf>,
}

/// The `[fs]` section: where the module's file system lives and how big it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FsSection {
    /// The host folder that holds it; without one, a temporary folder that is removed when
    /// vmodem exits (a module's flash outlives a power cycle, which `AT+CFUN=1,1` honours).
    pub root: Option<PathBuf>,
    /// Its size in bytes: `AT+CFSGFRS?` reports what the files leave of it. The default is the
    /// free space the SIM7080 manual's example prints.
    pub quota: u64,
}

impl Default for FsSection {
    fn default() -> Self {
        FsSection { root: None, quota: 6_391_808 }
    }
}

/// The `[http]` section: the HTTP application's buffer and the certificates it trusts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// The bytes the module holds for a request body (`AT+HTTPDATA`) or a response body
    /// (`AT+HTTPREAD`); a response beyond it fails with 602 (no memory). The SIM800 manual's
    /// 319488 by default, at most [`MAX_BUFFER`] (64 MiB).
    #[serde(deserialize_with = "buffer_size")]
    pub buffer: usize,
    /// A PEM file of the CA certificates HTTPS trusts: the module's built-in store, which a real
    /// SIM800 ships and the host cannot change. Without it nothing is trusted, and HTTPS works
    /// only with certificate checks off (`AT+SSLOPT=0,1`).
    pub trusted_ca: Option<PathBuf>,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection { buffer: 319_488, trusted_ca: None }
    }
}

/// A buffer size from the file: 1 to [`MAX_BUFFER`] bytes.
fn buffer_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let size = u64::deserialize(d)?;
    match usize::try_from(size) {
        Ok(size @ 1..=MAX_BUFFER) => Ok(size),
        _ => Err(serde::de::Error::custom(format!("{size} bytes is not a buffer size from 1 to {MAX_BUFFER}"))),
    }
}

/// The `[sms]` section: the SIM's message service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsSection {
    /// The service centre's number on the SIM (`AT+CSCA?`).
    pub smsc: String,
    /// Messages the SIM (`"SM"`) holds.
    #[serde(deserialize_with = "sms_capacity")]
    pub sim_capacity: usize,
    /// Messages the module's own storage (`"ME"`, where the family has one) holds.
    #[serde(deserialize_with = "sms_capacity")]
    pub module_capacity: usize,
    /// Messages on the SIM when the module first powers on, unread, in order.
    pub inbox: Vec<InboxMessage>,
}

/// A message on the SIM at power-on (`[[sms.inbox]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxMessage {
    /// The sender's number (or an alphanumeric name).
    pub from: String,
    /// The text (7-bit if it can be, else UCS2; in parts if long).
    pub text: String,
    /// Message class 0: a flash message.
    #[serde(default)]
    pub flash: bool,
}

impl Default for SmsSection {
    fn default() -> Self {
        // M800 §20.7's service centre; 50 places, as the manuals' `+CPMS` examples show.
        SmsSection { smsc: "+8613800210500".into(), sim_capacity: 50, module_capacity: 50, inbox: Vec::new() }
    }
}

/// A time zone in quarter hours: -96 to 96, as `AT+CCLK` writes them.
fn timezone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i8, D::Error> {
    let zone = i64::deserialize(d)?;
    match i8::try_from(zone) {
        Ok(z) if (-96..=96).contains(&z) => Ok(z),
        _ => Err(serde::de::Error::custom(format!("{zone} quarter hours: -96 to 96"))),
    }
}

/// A storage's capacity: 1 to 255 places (`AT+CPMS` prints them; indexes are 1-255).
fn sms_capacity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if (1..=255).contains(&n) { Ok(n) } else { Err(serde::de::Error::custom(format!("{n} places: 1 to 255"))) }
}

/// The `[net]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetSection {
    /// `HOST[:PORT]=ADDR:PORT` redirects, e.g. the application notes' server to a local one.
    pub redirects: Vec<String>,
    /// Faults injected into the connections services open (see [`Fault`]); the same as
    /// listing them in the top-level `faults`.
    pub faults: Vec<Fault>,
    /// The link profile: a name or custom figures (see [`crate::net::LinkProfile`]).
    pub profile: ProfileSetting,
    /// Where the module's servers (`AT+CIPSERVER`, `AT+CASERVER`) listen, at the port the host
    /// gives: loopback unless set (`listen = "0.0.0.0"` opens them to the network).
    pub listen: Option<std::net::IpAddr>,
}

impl NetSection {
    /// The parsed redirects.
    pub fn parsed(&self) -> anyhow::Result<Vec<Redirect>> {
        self.redirects.iter().map(|r| r.parse().map_err(|e: String| anyhow::anyhow!(e))).collect()
    }

    /// The network these settings describe, sending connections by `redirects` (the parsed
    /// ones and any the caller adds).
    pub fn net(&self, redirects: Vec<Redirect>) -> anyhow::Result<Net> {
        let profile = self.profile.profile().map_err(|e| anyhow::anyhow!("[net] profile: {e}"))?;
        let mut config = NetConfig::redirecting(redirects);
        config.listen = self.listen.unwrap_or(config.listen);
        Ok(Net::new(config).with_faults(self.faults.clone()).with_profile(profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_doc_example_parses() {
        let doc = include_str!("config.rs");
        let start = doc.find("```toml\n").unwrap() + 8;
        let end = start + doc[start..].find("//! ```").unwrap();
        let toml: String =
            doc[start..end].lines().map(|l| l.trim_start_matches("//!").trim_start()).collect::<Vec<_>>().join("\n");
        let cfg: Config = toml::from_str(&toml).unwrap();
        assert_eq!(cfg.module.family, Family::Sim7080);
        assert_eq!(cfg.module.network.rssi, 27);
        let cfg = cfg.serve;
        assert_eq!(cfg.net.parsed().unwrap().len(), 1);
        assert_eq!(cfg.net.net(Vec::new()).unwrap().profile().to_string(), "catm");
        assert!(cfg.demo.enabled);
        assert_eq!(cfg.line.line().unwrap(), Some(Line::Tcp(SocketAddr::from(([127, 0, 0, 1], 7080)))));
        assert_eq!(cfg.record.file.as_deref(), Some(Path::new("session.at")));
        assert!(!cfg.record.secrets);
        assert_eq!(cfg.line.options(), LineOptions { baud: Some(115_200), pacing: true, telnet: true });
    }

    #[test]
    fn the_line_section_names_one_line() {
        let line = |text: &str| toml::from_str::<Config>(text).unwrap().serve.line.line();
        assert_eq!(line("").unwrap(), None);
        let connect = line("[line]\nconnect = \"unix:/run/qemu.sock\"\n").unwrap();
        assert_eq!(connect, Some(Line::Connect("unix:/run/qemu.sock".parse().unwrap())));
        assert_eq!(line("[line]\nserial = \"/dev/ttyUSB0\"\n").unwrap(), Some(Line::Serial("/dev/ttyUSB0".into())));
        assert!(line("[line]\nconnect = \"nowhere\"\n").is_err());
        assert!(line("[line]\nunix = \"/run/m.sock\"\nstdio = true\n").is_err());
        let off = toml::from_str::<Config>("[line]\npacing = false\ntelnet = false\n").unwrap();
        assert_eq!(off.serve.line.options(), LineOptions { baud: None, pacing: false, telnet: false });
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Config>("[network]\nrsi = 3\n").is_err());
        assert!(toml::from_str::<Config>("dialect = \"sim5320\"\n").is_err());
        assert_eq!(toml::from_str::<Config>("dialect = \"SIM800L\"\n").unwrap().module.family, Family::Sim800);
    }

    #[test]
    fn extreme_zones_and_capacities_are_refused() {
        let parse = |text: &str| toml::from_str::<Config>(text);
        assert_eq!(parse("[network]\ntimezone = -96\n").unwrap().module.network.timezone, -96);
        assert!(parse("[network]\ntimezone = 97\n").is_err());
        assert!(parse("[network]\ntimezone = 100000\n").is_err());
        assert!(parse("[sms]\nsim_capacity = 0\n").is_err());
        assert!(parse("[sms]\nmodule_capacity = 1000000\n").is_err());
    }
}
