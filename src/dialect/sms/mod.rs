//! Short messages, 3GPP TS 27.005, for every family (and USSD, `ussd`, which shares the
//! `AT+CSCS` set): the settings (`+CMGF`, `+CSCS`, `+CSCA`,
//! `+CSMP`, `+CSDH`, `+CPMS`, `+CNMI`, `+CNUM`), sending (`+CMGS`, `+CMGW`, `+CMSS`: `send`),
//! reading and deleting (`+CMGR`, `+CMGL`, `+CMGD`: `read`) in text and PDU mode, over the
//! storages of [`store`], and the indications of a message that arrives (`+CMTI`, `+CMT`,
//! `+CDS`). A family keeps an [`Sms`], implements [`Messaging`], puts [`commands`] in its
//! tables and the [`service`] row in its services, and names its differences in an
//! [`SmsProfile`] row.
//!
//! Messages go out through the SMS service ([`crate::service::sms`]) to the SMS centre
//! ([`crate::sms::centre`]), which also brings them in ([`arrived`]). SMS-layer failures are
//! `+CMS ERROR: <err>` (TS 27.005 §3.2.5), a malformed command `ERROR`. Choices where the
//! manuals are silent are the decisions of `docs/sms.md`.

mod charset;
mod read;
mod send;
pub mod store;
mod ussd;

use vmodem_at::{Command, Failure, Reply};

use self::charset::Charset;
use self::store::{Message, Status, Store, Stored};
use super::args::Args;
use super::cellular::Cellular;
use super::cellular::info;
use super::{Ctx, Entry, Io, Outcome, Owner, Service};
use crate::config::{ModuleConfig, UssdEntry};
use crate::service::JobId;
use crate::sms::centre::Incoming;
use crate::sms::pdu::{Address, Timestamp};

/// `+CMS ERROR` codes (TS 27.005 §3.2.5).
pub mod cms {
    /// Operation not allowed.
    pub const NOT_ALLOWED: u16 = 302;
    /// Operation not supported.
    pub const NOT_SUPPORTED: u16 = 303;
    /// Invalid PDU mode parameter.
    pub const BAD_PDU: u16 = 304;
    /// Invalid text mode parameter.
    pub const BAD_TEXT: u16 = 305;
    /// Invalid memory index.
    pub const BAD_INDEX: u16 = 321;
    /// Memory full.
    pub const FULL: u16 = 322;
    /// SMSC address unknown.
    pub const NO_SMSC: u16 = 330;
    /// No network service.
    pub const NO_NETWORK: u16 = 331;
    /// Unknown error.
    pub const UNKNOWN: u16 = 500;
}

/// A physical storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mem {
    /// The SIM (`"SM"`).
    Sim,
    /// The module's own storage (`"ME"`).
    Module,
}

/// What a family's SMS commands differ in.
#[derive(Debug)]
pub struct SmsProfile {
    /// `AT+CMGF=?`.
    pub cmgf_test: &'static str,
    /// The character sets `AT+CSCS` takes, as `AT+CSCS=?` lists them.
    pub charsets: &'static [&'static str],
    /// The storage names `AT+CPMS` takes and the storage each is.
    pub storages: &'static [(&'static str, Mem)],
    /// The storage names in force at power-on (`<mem1>`, `<mem2>`, `<mem3>`).
    pub default_storage: &'static str,
    /// `AT+CNMI=?`.
    pub cnmi_test: &'static str,
    /// The values each `AT+CNMI` parameter takes.
    pub cnmi_values: [&'static [u8]; 5],
    /// `AT+CNMI?` at power-on.
    pub cnmi_default: [u8; 5],
    /// `<mt>` 2 or 3 and `<ds>` 1 need `<mode>` 1, else 303 (M7080 §4.2.8).
    pub cnmi_direct_needs_mode_1: bool,
}

/// The SIM800, SIM900 and SIM7000 (M800 §3.2.12, §4.2; the storages and character sets a
/// SIM800L answers, `docs/sms.md` S2).
pub const CLASSIC: SmsProfile = SmsProfile {
    cmgf_test: "+CMGF: (0,1)",
    charsets: &["IRA", "GSM", "UCS2", "HEX", "PCCP", "PCDN", "8859-1"],
    storages: &[("SM", Mem::Sim), ("ME", Mem::Module), ("SM_P", Mem::Sim), ("ME_P", Mem::Module), ("MT", Mem::Sim)],
    default_storage: "SM_P",
    cnmi_test: "+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)",
    cnmi_values: [&[0, 1, 2, 3], &[0, 1, 2, 3], &[0, 2], &[0, 1, 2], &[0, 1]],
    cnmi_default: [2, 1, 0, 0, 0],
    cnmi_direct_needs_mode_1: false,
};

/// The SIM7070, SIM7080 and SIM7090 (M7080 §4.2: `"SM"` only, `+CMGF: (0-1)`, the `AT+CNMI`
/// test form and default of its example).
pub const SIM7080: SmsProfile = SmsProfile {
    cmgf_test: "+CMGF: (0-1)",
    charsets: &["IRA", "GSM", "UCS2"],
    storages: &[("SM", Mem::Sim)],
    default_storage: "SM",
    cnmi_test: "+CNMI: (0,1,2),(0,1,2,3),(0,2),(0,1,2),(0,1)",
    cnmi_values: [&[0, 1, 2], &[0, 1, 2, 3], &[0, 2], &[0, 1, 2], &[0, 1]],
    cnmi_default: [2, 1, 0, 0, 0],
    cnmi_direct_needs_mode_1: true,
};

/// The Fibocom L610 (`docs/sms.md` S2).
pub const L610: SmsProfile = SmsProfile {
    cmgf_test: "+CMGF: (0,1)",
    charsets: &["GSM", "IRA", "UCS2", "HEX"],
    storages: &[("SM", Mem::Sim), ("ME", Mem::Module)],
    default_storage: "SM",
    cnmi_test: "+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)",
    cnmi_values: [&[0, 1, 2], &[0, 1, 2, 3], &[0, 2], &[0, 1, 2], &[0, 1]],
    cnmi_default: [2, 1, 0, 0, 0],
    cnmi_direct_needs_mode_1: false,
};

/// The message service of one modem.
#[derive(Debug)]
pub struct Sms {
    profile: &'static SmsProfile,
    /// `AT+CMGF=1`: text mode.
    text_mode: bool,
    /// `AT+CSCS`.
    charset: Charset,
    /// `AT+CSCA`: the service centre.
    smsc: Address,
    /// `AT+CSMP`: `<fo>`, `<vp>`, `<pid>`, `<dcs>` of text-mode messages.
    csmp: [u8; 4],
    /// `AT+CSDH=1`: the full text-mode headers.
    show_header: bool,
    /// `AT+CPMS`: the names of `<mem1>` (read, delete), `<mem2>` (write, send) and `<mem3>`
    /// (where arriving messages go).
    mems: [&'static str; 3],
    /// `AT+CNMI`.
    cnmi: [u8; 5],
    sim: Store,
    module: Store,
    /// The next TP-Message-Reference (`+CMGS: <mr>`).
    next_mr: u8,
    /// The reference of the last concatenated message sent in text mode.
    next_reference: u8,
    /// The message being typed after a prompt.
    composing: Option<send::Compose>,
    /// The message handed to the centre: its job and what answers the command.
    submitting: Option<(JobId, send::Answer)>,
    /// The answer of the command waiting for the centre: its line, or the failure.
    answer: Option<Result<String, Failure>>,
    /// The subscriber's own number.
    number: String,
    /// A message went back to the centre for want of room in `<mem3>`.
    memory_full: bool,
    /// The USSD session.
    ussd: ussd::Ussd,
    /// The operator's USSD menu.
    ussd_menu: Vec<UssdEntry>,
}

impl Sms {
    /// The power-on state of a module configured by `config`, with the family's `profile`:
    /// the SIM holds the configured inbox (taken by the centre at the module's power-on time),
    /// as much of it as fits.
    pub fn new(config: &ModuleConfig, profile: &'static SmsProfile) -> Self {
        let mut sim = Store::new(config.sms.sim_capacity);
        let taken = Timestamp { year: 4, month: 1, day: 1, ..Timestamp::default() };
        for message in &config.sms.inbox {
            let class = message.flash.then_some(0);
            match crate::sms::message(&message.from, &message.text, class, taken) {
                Ok(parts) => {
                    for deliver in parts {
                        sim.put(Stored { status: Status::Unread, message: Message::Received(deliver) });
                    }
                }
                Err(e) => tracing::warn!(target: "vmodem::sms", "[sms] inbox: a message from {}: {e}", message.from),
            }
        }
        Sms {
            profile,
            text_mode: false,
            charset: Charset::Ira,
            smsc: Address::parse(&config.sms.smsc),
            csmp: [17, 167, 0, 0],
            show_header: false,
            mems: [profile.default_storage; 3],
            cnmi: profile.cnmi_default,
            sim,
            module: Store::new(config.sms.module_capacity),
            next_mr: 0,
            next_reference: 0,
            composing: None,
            submitting: None,
            answer: None,
            number: config.identity.number.clone(),
            memory_full: false,
            ussd: ussd::Ussd::default(),
            ussd_menu: config.network.ussd.clone(),
        }
    }

    /// The storage a name stands for.
    fn mem(&self, name: &str) -> Option<Mem> {
        self.profile.storages.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, m)| *m)
    }

    /// The storage of `<mem1>`, `<mem2>` or `<mem3>` (0, 1, 2).
    fn store(&self, which: usize) -> &Store {
        match self.mem(self.mems[which]) {
            Some(Mem::Module) => &self.module,
            _ => &self.sim,
        }
    }

    /// The same, to change.
    fn store_mut(&mut self, which: usize) -> &mut Store {
        match self.mem(self.mems[which]) {
            Some(Mem::Module) => &mut self.module,
            _ => &mut self.sim,
        }
    }

    /// The name a storage goes by in `+CMTI` (`"SM"`, `"ME"`).
    fn mem_name(&self, which: usize) -> &'static str {
        match self.mem(self.mems[which]) {
            Some(Mem::Module) => "ME",
            _ => "SM",
        }
    }
}

/// A family with the message service.
pub trait Messaging: Cellular {
    /// Its message service.
    fn messages(&mut self) -> &mut Sms;
}

/// The SMS commands.
pub const fn commands<S: Messaging>() -> [Entry<S>; 16] {
    [
        Entry::new("+CMGF").test_with(cmgf_test::<S>).read(cmgf_read::<S>).write(cmgf_write::<S>),
        Entry::new("+CSCS").test_with(cscs_test::<S>).read(cscs_read::<S>).write(cscs_write::<S>),
        Entry::new("+CSCA").test_ok().read(csca_read::<S>).write(csca_write::<S>),
        Entry::new("+CSMP").test("+CSMP: (0-255),(0-255),(0-255),(0-255)").read(csmp_read::<S>).write(csmp_write::<S>),
        Entry::new("+CSDH").test("+CSDH: (0,1)").read(csdh_read::<S>).write(csdh_write::<S>),
        Entry::new("+CPMS").test_with(cpms_test::<S>).read(cpms_read::<S>).write(cpms_write::<S>),
        Entry::new("+CNMI").test_with(cnmi_test::<S>).read(cnmi_read::<S>).write(cnmi_write::<S>),
        Entry::new("+CNUM").test_ok().exec(cnum::<S>),
        Entry::new("+CMGS").test_ok().write(send::cmgs::<S>),
        Entry::new("+CMGW").test_ok().write(send::cmgw::<S>).exec(send::cmgw::<S>),
        Entry::new("+CMSS").test_ok().write(send::cmss::<S>),
        Entry::new("+CMGR").test_ok().write(read::cmgr::<S>),
        Entry::new("+CMGL").test_with(read::cmgl_test::<S>).write(read::cmgl::<S>).exec(read::cmgl::<S>),
        Entry::new("+CMGD").test_with(read::cmgd_test::<S>).write(read::cmgd::<S>),
        Entry::new("+CMMS").test("+CMMS: (0-2)").read(cmms_read::<S>).write(cmms_write::<S>),
        Entry::new("+CUSD").test("+CUSD: (0-2)").read(ussd::read::<S>).write(ussd::write::<S>),
    ]
}

/// The SMS service row: the prompt's data phase, the centre's answer.
pub const fn service<S: Messaging>() -> Service<S> {
    Service::new(Owner::Sms)
        .events(send::event::<S>)
        .data(send::data::<S>, send::data_end::<S>)
        .resume(send::resume::<S>)
}

/// A 27.005 failure.
fn cms_error(code: u16) -> Failure {
    Failure::Cms(code)
}

fn cmgf_test<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    info(ctx, s.messages().profile.cmgf_test)
}

fn cmgf_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let mode = u8::from(s.messages().text_mode);
    info(ctx, &format!("+CMGF: {mode}"))
}

/// `AT+CMGF=[<mode>]`: 0 PDU (also with no value), 1 text.
fn cmgf_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(0..=1)?;
    s.messages().text_mode = a.opt_uint(0, 0..=1)? == Some(1);
    Ok(Reply::Ok)
}

fn cscs_test<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let sets: Vec<String> = s.messages().profile.charsets.iter().map(|c| format!("\"{c}\"")).collect();
    info(ctx, &format!("+CSCS: ({})", sets.join(",")))
}

fn cscs_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let name = s.messages().charset.name();
    info(ctx, &format!("+CSCS: \"{name}\""))
}

/// `AT+CSCS="<chset>"`: one the family lists; those vmodem cannot convert (`"PCCP"`,
/// `"PCDN"`) are taken as `"IRA"` (`docs/sms.md` S3).
fn cscs_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=1)?;
    let sms = s.messages();
    let i = a.choice(0, sms.profile.charsets)?;
    sms.charset = Charset::named(sms.profile.charsets[i]);
    Ok(Reply::Ok)
}

fn csca_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let sms = s.messages();
    let line = format!("+CSCA: \"{}\",{}", sms.smsc.number, sms.smsc.ton_npi);
    info(ctx, &line)
}

/// `AT+CSCA=<sca>[,<tosca>]`: the type 145 for a number with `+`, 129 otherwise, unless given.
fn csca_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=2)?;
    let number = a.text(0, 20)?;
    if !number.trim_start_matches('+').chars().all(|c| c.is_ascii_digit()) {
        return Err(Failure::Plain);
    }
    let mut smsc = Address::parse(number);
    if let Some(tosca) = a.opt_uint(1, 128..=255)? {
        smsc.ton_npi = tosca as u8;
    }
    s.messages().smsc = smsc;
    Ok(Reply::Ok)
}

fn csmp_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let [fo, vp, pid, dcs] = s.messages().csmp;
    info(ctx, &format!("+CSMP: {fo},{vp},{pid},{dcs}"))
}

/// `AT+CSMP=[<fo>[,<vp>[,<pid>[,<dcs>]]]]`: values left out keep theirs.
fn csmp_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(0..=4)?;
    let sms = s.messages();
    for i in 0..4 {
        if let Some(v) = a.opt_uint(i, 0..=255)? {
            sms.csmp[i] = v as u8;
        }
    }
    Ok(Reply::Ok)
}

fn csdh_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let show = u8::from(s.messages().show_header);
    info(ctx, &format!("+CSDH: {show}"))
}

fn csdh_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(0..=1)?;
    s.messages().show_header = a.opt_uint(0, 0..=1)? == Some(1);
    Ok(Reply::Ok)
}

/// `AT+CPMS=?`: the storage names, three times.
fn cpms_test<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let names: Vec<String> = s.messages().profile.storages.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let list = format!("({})", names.join(","));
    info(ctx, &format!("+CPMS: {list},{list},{list}"))
}

/// `<used>,<total>` of `<mem1>`, `<mem2>` or `<mem3>`.
fn usage(sms: &Sms, which: usize) -> String {
    let store = sms.store(which);
    format!("{},{}", store.used(), store.capacity())
}

fn cpms_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let sms = s.messages();
    let parts: Vec<String> = (0..3).map(|i| format!("\"{}\",{}", sms.mems[i], usage(sms, i))).collect();
    info(ctx, &format!("+CPMS: {}", parts.join(",")))
}

/// `AT+CPMS=<mem1>[,<mem2>[,<mem3>]]`: `+CPMS: <used1>,<total1>,<used2>,<total2>,<used3>,<total3>`;
/// a storage the family lacks is 302 (`docs/sms.md` S4).
fn cpms_write<S: Messaging>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=3)?;
    let sms = s.messages();
    let mut mems = sms.mems;
    for (i, mem) in mems.iter_mut().enumerate().take(a.len()) {
        let name = a.text(i, 8)?;
        let known = sms.profile.storages.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
        *mem = known.ok_or(cms_error(cms::NOT_ALLOWED))?.0;
    }
    sms.mems = mems;
    let parts: Vec<String> = (0..3).map(|i| usage(sms, i)).collect();
    info(ctx, &format!("+CPMS: {}", parts.join(",")))
}

fn cnmi_test<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    info(ctx, s.messages().profile.cnmi_test)
}

fn cnmi_read<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let [mode, mt, bm, ds, bfr] = s.messages().cnmi;
    info(ctx, &format!("+CNMI: {mode},{mt},{bm},{ds},{bfr}"))
}

/// `AT+CNMI=[<mode>[,<mt>[,<bm>[,<ds>[,<bfr>]]]]]`: values left out are 0 (TS 27.005 §3.4.1);
/// one the family does not take is 303.
fn cnmi_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(0..=5)?;
    let sms = s.messages();
    let mut cnmi = [0u8; 5];
    for (i, value) in cnmi.iter_mut().enumerate() {
        let v = a.opt_uint(i, 0..=255)?.unwrap_or(0) as u8;
        if !sms.profile.cnmi_values[i].contains(&v) {
            return Err(cms_error(cms::NOT_SUPPORTED));
        }
        *value = v;
    }
    let [mode, mt, _, ds, _] = cnmi;
    if sms.profile.cnmi_direct_needs_mode_1 && (mt >= 2 || ds == 1) && mode != 1 {
        return Err(cms_error(cms::NOT_SUPPORTED));
    }
    sms.cnmi = cnmi;
    Ok(Reply::Ok)
}

/// `AT+CNUM`: `+CNUM: "","<number>",<type>` (TS 27.007 §7.1, the alpha left empty).
fn cnum<S: Messaging>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let own = Address::parse(&s.messages().number);
    info(ctx, &format!("+CNUM: \"\",\"{}\",{}", own.number, own.ton_npi))
}

fn cmms_read<S: Messaging>(_: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    info(ctx, "+CMMS: 0")
}

/// `AT+CMMS=<n>`: taken, without effect (each message goes at once).
fn cmms_write<S: Messaging>(s: &mut S, cmd: &Command, _: &mut Ctx<'_, '_>) -> Outcome {
    Args::of(cmd, s.bad()).uint(0, 0..=2)?;
    Ok(Reply::Ok)
}

/// A message or report from the centre: stored and announced (`+CMTI: "<mem>",<index>`),
/// or routed straight to the host (`+CMT`, `+CDS`), as `AT+CNMI` says. A message for a full
/// storage goes back to the centre until a deletion makes room (`docs/sms.md` S9).
pub fn arrived<S: Messaging>(s: &mut S, incoming: Incoming, io: &mut Io) {
    read::arrived(s.messages(), incoming, io);
}

/// The power cycle: settings back to their power-on values; the storages keep their messages
/// (the SIM's and the module's memory are not volatile).
pub fn reset(sms: &mut Sms) {
    let (sim, module) =
        (std::mem::replace(&mut sms.sim, Store::new(0)), std::mem::replace(&mut sms.module, Store::new(0)));
    let number = std::mem::take(&mut sms.number);
    let memory_full = sms.memory_full;
    let ussd_menu = std::mem::take(&mut sms.ussd_menu);
    let profile = sms.profile;
    let smsc = sms.smsc.clone();
    *sms = Sms {
        profile,
        text_mode: false,
        charset: Charset::Ira,
        smsc,
        csmp: [17, 167, 0, 0],
        show_header: false,
        mems: [profile.default_storage; 3],
        cnmi: profile.cnmi_default,
        sim,
        module,
        next_mr: 0,
        next_reference: 0,
        composing: None,
        submitting: None,
        answer: None,
        number,
        memory_full,
        ussd: ussd::Ussd::default(),
        ussd_menu,
    };
}

/// Whether a status is one `AT+CMGD`'s `<delflag>` deletes (TS 27.005 §3.5.4).
fn deleted_by(flag: u64, status: Status) -> bool {
    match flag {
        1 => status == Status::Read,
        2 => matches!(status, Status::Read | Status::Sent),
        3 => status != Status::Unread,
        _ => true,
    }
}
