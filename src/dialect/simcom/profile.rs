//! SIMCom family rows. Everything that differs between SIMCom modules is data here; the command
//! handlers are shared. Identity strings are those real modules print (captured logs:
//! `AT+CGMM` → `SIMCOM_SIM7080`, `AT+CGMR` → `Revision:1951B16SIM7080`, `ATI` → `R1951.07`).

use crate::dialect::data_call::{self, CallProfile};
use crate::dialect::sms::{self, SmsProfile};
use vmodem_at::v250::{SRegister, V250};
use vmodem_at::{Failure, Limits, Settings};

use super::Simcom;
use crate::dialect::Entry;
use crate::family::Family;

/// The CME codes the SIMCom handlers use (27.007 §9.2 numbering).
pub mod cme {
    /// Operation not allowed: a command in the wrong state.
    pub const NOT_ALLOWED: u16 = 3;
    /// Memory full: the file system has no room.
    pub const MEMORY_FULL: u16 = 20;
    /// Not found: no such file.
    pub const NOT_FOUND: u16 = 22;
    /// Memory failure: the file system failed.
    pub const MEMORY_FAILURE: u16 = 23;
}

/// One SIMCom module family.
#[derive(Debug)]
pub struct Profile {
    /// The family this row describes.
    pub family: Family,
    /// `AT+CGMI`.
    pub manufacturer: &'static str,
    /// `AT+CGMM`.
    pub model: &'static str,
    /// `AT+CGMR` (unless the configuration overrides it).
    pub revision: &'static str,
    /// `ATI`.
    pub ati: &'static str,
    /// `AT+SIMCOMATI` lines between the revision and the IMEI (none where the family lacks it).
    pub simcomati: &'static [&'static str],
    /// Command-line buffer limits.
    pub limits: Limits,
    /// Ranges and test texts of the shared V.250 commands.
    pub v250: V250,
    /// Line settings at power-on.
    pub settings: Settings,
    /// URCs printed at power-on and after a reset, in order.
    pub boot: &'static [&'static str],
    /// Whether URCs and responses put a space after the colon (`+FTPGET: 1,1`; SIM900 does not).
    pub colon_space: bool,
    /// What an unknown command gets.
    pub unknown: Failure,
    /// FTP differences.
    pub ftp: FtpProfile,
    /// Longest file name of the `AT+CFS*` commands.
    pub cfs_name_max: usize,
    /// The command tables the family has, searched in order.
    pub tables: &'static [&'static [Entry<Simcom>]],
    /// Commands of those tables this family does not have (they answer as unknown).
    pub lacks: &'static [&'static str],
    /// What `AT+FTPCID` (and `AT+HTTPPARA="CID"`) name.
    pub bearer: Bearer,
    /// How many `AT+HTTPACTION` methods the family has: 3 (GET, POST, HEAD), 4 with DELETE.
    pub http_methods: u8,
    /// Whether `+COPS` reports the access technology (LTE modules do; the 2G ones print only
    /// the operator).
    pub cops_act: bool,
    /// How many connections the TCP/IP application's multi-connection mode has (`AT+CIPSTART`
    /// ids from 0; none where the family has no `AT+CIPSTART`).
    pub cip_links: usize,
    /// Whether `DATA ACCEPT:` has a space after its colon (`docs/sim800.md` D25).
    pub cip_accept_space: bool,
    /// The application network's sockets (`AT+CAOPEN` ...); `None` where the family has none.
    pub ca: Option<CaProfile>,
    /// The message service's differences (`AT+CPMS` storages, `AT+CNMI` values ...).
    pub sms: &'static SmsProfile,
    /// How a packet data call (`ATD*99#`) answers and negotiates.
    pub call: CallProfile,
}

/// What differs between the families' application network sockets (`docs/sim7080.md`
/// "Sockets").
#[derive(Debug)]
pub struct CaProfile {
    /// How `AT+CAOPEN` names the peer.
    pub open: CaOpen,
    /// `AT+CAOPEN=?`.
    pub open_test: &'static str,
    /// Whether `AT+CASEND` reports `+CASEND: <cid>,<result>,<sendlen>` after its `OK`
    /// (SIM7000).
    pub send_report: bool,
    /// Whether `AT+CASSLCFG` takes the `"PROTOCOL"` key (SIM7000).
    pub ssl_protocol: bool,
}

/// The argument layouts of `AT+CAOPEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaOpen {
    /// `<cid>,<pdp_index>,<conn_type>,<server>,<port>[,<recv_mode>]` over the `AT+CNACT`
    /// context `<pdp_index>` (M7080 §12.2.3).
    Contexts,
    /// `<cid>[,<conn_type>],<server>,<port>` over the one `AT+CNACT` context (M7000 §18.2);
    /// the SIM7080 layout is taken too, with context 0.
    SingleContext,
}

/// The bearer the IP applications (FTP, HTTP) run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    /// `AT+CNACT=<pdpidx>,<action>` contexts 0-3 (SIM7080).
    AppContexts,
    /// `AT+SAPBR` bearer profiles 1-3 (SIM900, SIM800, SIM7000).
    Sapbr,
}

/// FTP differences between SIMCom families.
#[derive(Debug)]
pub struct FtpProfile {
    /// The `<maxlength>` of `+FTPPUT: 1,1,<maxlength>`.
    pub put_chunk: usize,
    /// Lowest FTPCID value.
    pub cid_min: u8,
    /// Longest FTPGETNAME / FTPPUTNAME.
    pub name_max: usize,
    /// Highest FTPCID value.
    pub cid_max: u8,
    /// FTPCID at power-on.
    pub cid_default: u8,
    /// FTPMODE at power-on (1 passive: the application notes' sessions work from behind carrier
    /// NAT, which active mode could not).
    pub mode_default: u8,
    /// The code `AT+FTPQUIT` reports (`+FTPGET: 1,80`).
    pub quit_code: u8,
    /// What `AT+FTPEXTGET=2` does.
    pub extget: ExtGet,
}

/// `AT+FTPEXTGET` mode 2 differs between the families (`docs/sim7080.md` "Extended transfers",
/// `docs/sim7000.md` D4, `docs/sim800.md` D15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtGet {
    /// `=2,<dir>,<name>` downloads into the file system (SIM7080).
    ToFileSystem,
    /// `=2,<name>` saves the RAM buffer to the file system (SIM800, SIM900).
    SaveBuffer,
    /// There is no mode 2 (SIM7000: modes 0, 1 and 3).
    RamOnly,
}

/// The rates `AT+IPR` takes on Qualcomm-based SIMCom modules (ATCoP's stock list).
const IPR_RATES: &[u32] = &[
    0, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 921600, 2000000, 2900000, 3000000,
    3200000, 3686400, 4000000,
];

const S_REGISTERS: &[SRegister] = &[
    SRegister { number: 0, min: 0, max: 255, test: "S0: (0-255)" },
    SRegister { number: 3, min: 0, max: 127, test: "S3: (0-127)" },
    SRegister { number: 4, min: 0, max: 127, test: "S4: (0-127)" },
    SRegister { number: 5, min: 0, max: 127, test: "S5: (0-127)" },
    SRegister { number: 6, min: 2, max: 10, test: "S6: (2-10)" },
    SRegister { number: 7, min: 1, max: 255, test: "S7: (1-255)" },
    SRegister { number: 8, min: 0, max: 255, test: "S8: (0-255)" },
    SRegister { number: 10, min: 1, max: 254, test: "S10: (1-254)" },
];

/// V.250 answers of the SIM70x0 (Qualcomm ATCoP formats: `S3: (0-127)`, `+IPR: (),(...)`).
const V250_SIM70X0: V250 = V250 {
    ipr_test: "+IPR: (),(300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,921600,2000000,2900000,3000000,3200000,3686400,4000000)",
    ipr_rates: IPR_RATES,
    ifc_test: "+IFC: (0-3),(0-2)",
    icf_test: "+ICF: (3),(0-3)",
    icf_formats: (3, 3),
    cmee_test: "+CMEE: (0-2)",
    s_registers: S_REGISTERS,
    bad_value: Failure::Plain,
};

/// Power-on line settings.
const SETTINGS: Settings = crate::dialect::POWER_ON;

const FTP_SIM70X0: FtpProfile = FtpProfile {
    put_chunk: 1360,
    cid_min: 0,
    name_max: 64,
    cid_max: 3,
    cid_default: 0,
    mode_default: 1,
    quit_code: 80,
    extget: ExtGet::ToFileSystem,
};

/// The FTP of the SAPBR families: bearer profiles 1-3, names up to 99 characters. SIM800
/// V1.09 lists 86 as the manual-quit code where every other source says 80 (`docs/sim800.md`
/// D4): 80 it is.
const fn ftp_sapbr(put_chunk: usize, extget: ExtGet) -> FtpProfile {
    FtpProfile {
        put_chunk,
        cid_min: 1,
        name_max: 99,
        cid_max: 3,
        cid_default: 1,
        mode_default: 1,
        quit_code: 80,
        extget,
    }
}

/// The rates `AT+IPR` takes on the SIM800 and SIM900 (0 is auto-bauding).
const IPR_RATES_2G: &[u32] = &[0, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800];

/// V.250 answers of the SIM800 and SIM900 (their own formats: `+IPR: (0,1200,...)`).
const V250_2G: V250 = V250 {
    ipr_test: "+IPR: (),(0,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800)",
    ipr_rates: IPR_RATES_2G,
    ifc_test: "+IFC: (0-2),(0-2)",
    icf_test: "+ICF: (1-6),(0-3)",
    icf_formats: (1, 6),
    cmee_test: "+CMEE: (0-2)",
    s_registers: S_REGISTERS,
    bad_value: Failure::Plain,
};

/// SIM7080 and its siblings differ only in the strings they print.
const fn sim70x0(
    family: Family,
    model: &'static str,
    revision: &'static str,
    simcomati: &'static [&'static str],
) -> Profile {
    Profile {
        family,
        manufacturer: "SIMCOM_Ltd",
        model,
        revision,
        ati: "R1951.07",
        simcomati,
        limits: Limits { line_chars: 559, commands: 39 },
        v250: V250_SIM70X0,
        settings: SETTINGS,
        boot: &["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"],
        colon_space: true,
        unknown: Failure::Plain,
        ftp: FTP_SIM70X0,
        cfs_name_max: 230,
        tables: super::SIM7080_TABLES,
        lacks: &[],
        bearer: Bearer::AppContexts,
        http_methods: 0,
        cops_act: true,
        cip_links: 0,
        cip_accept_space: false,
        ca: Some(CaProfile {
            open: CaOpen::Contexts,
            open_test: "+CAOPEN: (0-12),(0-4),(\"TCP\",\"UDP\",\"NONIP\"),64,(1-65535),(0,1)",
            send_report: false,
            ssl_protocol: false,
        }),
        sms: &sms::SIM7080,
        call: data_call::LTE,
    }
}

/// SIMCom SIM7080G.
pub static SIM7080: Profile = sim70x0(
    Family::Sim7080,
    "SIMCOM_SIM7080",
    "Revision:1951B16SIM7080",
    &["CSUB:B16V01", "APRev:1951B16SIM7080,B16V01", "QCN:SIM7080G_P1.03_20210823"],
);
/// SIMCom SIM7070G.
pub static SIM7070: Profile = sim70x0(
    Family::Sim7070,
    "SIMCOM_SIM7070",
    "Revision:1951B16SIM7070",
    &["CSUB:B16V01", "APRev:1951B16SIM7070,B16V01", "QCN:SIM7080G_P1.03_20210823"],
);
/// SIMCom SIM7090G.
pub static SIM7090: Profile = sim70x0(
    Family::Sim7090,
    "SIMCOM_SIM7090",
    "Revision:1951B16SIM7090",
    &["CSUB:B16V01", "APRev:1951B16SIM7090,B16V01", "QCN:SIM7080G_P1.03_20210823"],
);

/// SIMCom SIM7000 (Cat-M/NB-IoT, Qualcomm): SAPBR for FTP (its application note opens
/// bearer profile 1), the SIM7000 form of `AT+CNACT`, ET transfers, the CFS file system
/// (names up to 50), FTPEXTGET modes 0, 1 and 3 only, no FTPS.
pub static SIM7000: Profile = Profile {
    family: Family::Sim7000,
    manufacturer: "SIMCOM_Ltd",
    model: "SIMCOM_SIM7000E",
    revision: "Revision:1351B06SIM7000E",
    ati: "SIM7000E R1351",
    simcomati: &["CSUB:V01", "APRev:1351B06SIM7000,V01", "QCN:MDM9206_TX3.0.SIM7000E_P1.02_20180813"],
    limits: Limits { line_chars: 559, commands: 39 },
    v250: V250_SIM70X0,
    settings: SETTINGS,
    boot: &["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"],
    colon_space: true,
    unknown: Failure::Plain,
    ftp: ftp_sapbr(1360, ExtGet::RamOnly),
    cfs_name_max: 50,
    tables: super::SIM7000_TABLES,
    lacks: &["+FTPTOFSST", "+FTPSSL", "+HTTPSSL", "+SSLOPT", "+CREBOOT", "+CIPSSL"],
    bearer: Bearer::Sapbr,
    http_methods: 4,
    cops_act: true,
    cip_links: 8,
    cip_accept_space: true,
    ca: Some(CaProfile {
        open: CaOpen::SingleContext,
        open_test: "+CAOPEN: (0-12),(\"TCP\",\"UDP\"),64,(1-65535)",
        send_report: true,
        ssl_protocol: true,
    }),
    sms: &sms::CLASSIC,
    call: data_call::SIM7000,
};

/// SIMCom SIM800 (`SIM800 R14.18`, the most common firmware in the field), 2G on MediaTek:
/// SAPBR, the CIP* TCP/IP bring-up, FTP without ET transfers, FTPRENAME or FTPMDTM (manual
/// V1.09), no CFS file system.
pub static SIM800: Profile = SIM800_ROW;

/// [`SIM800`] as a constant, for the rows built on it.
const SIM800_ROW: Profile = Profile {
    family: Family::Sim800,
    manufacturer: "SIMCOM_Ltd",
    model: "SIMCOM_SIM800L",
    revision: "Revision:1418B05SIM800L24",
    ati: "SIM800 R14.18",
    simcomati: &[],
    limits: Limits { line_chars: 556, commands: 39 },
    v250: V250_2G,
    settings: SETTINGS,
    boot: &["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"],
    colon_space: true,
    unknown: Failure::Plain,
    ftp: ftp_sapbr(1360, ExtGet::SaveBuffer),
    cfs_name_max: 0,
    tables: super::GSM_TABLES,
    lacks: &["+FTPRENAME", "+FTPMDTM", "+FTPTOFSST", "+CGNAPN", "+CEREG", "+SIMCOMATI", "+CREBOOT"],
    bearer: Bearer::Sapbr,
    http_methods: 3,
    cops_act: false,
    cip_links: 6,
    cip_accept_space: false,
    ca: None,
    sms: &sms::CLASSIC,
    call: data_call::GSM,
};

/// SIMCom SIM900: the SIM800's command set but `AT+CIPSSL`; no space after the colon in its
/// application URCs (`+HTTPACTION:0,200,1000`, `docs/sim800.md` D1), 1280-byte FTPPUT chunks,
/// no `SMS Ready`, eight connections.
pub static SIM900: Profile = Profile {
    family: Family::Sim900,
    model: "SIMCOM_SIM900",
    revision: "Revision:1137B11SIM900M64_ST",
    ati: "SIM900 R11.0",
    boot: &["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready"],
    colon_space: false,
    ftp: ftp_sapbr(1280, ExtGet::SaveBuffer),
    lacks: &["+FTPRENAME", "+FTPMDTM", "+FTPTOFSST", "+CGNAPN", "+CEREG", "+SIMCOMATI", "+CREBOOT", "+CIPSSL"],
    cip_links: 8,
    ..SIM800_ROW
};

impl Profile {
    /// The row of a SIMCom family; `None` for a family of another vendor.
    pub fn of(family: Family) -> Option<&'static Profile> {
        match family {
            Family::Sim7080 => Some(&SIM7080),
            Family::Sim7070 => Some(&SIM7070),
            Family::Sim7090 => Some(&SIM7090),
            Family::Sim7000 => Some(&SIM7000),
            Family::Sim800 => Some(&SIM800),
            Family::Sim900 => Some(&SIM900),
            Family::L610 => None,
        }
    }

    /// Whether the family has the command `name`.
    pub fn has(&self, name: &str) -> bool {
        !self.lacks.contains(&name)
    }

    /// `+NAME: args`, with or without the space after the colon as the family prints it.
    pub fn line(&self, name: &str, args: impl std::fmt::Display) -> String {
        if self.colon_space { format!("{name}: {args}") } else { format!("{name}:{args}") }
    }
}
