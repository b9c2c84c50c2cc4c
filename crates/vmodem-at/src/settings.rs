//! The V.250 state that shapes the line: echo, result-code format, S-registers, error reporting
//! and the DTE interface values, plus the family limits that never change at run time.

/// How failures are reported (`AT+CMEE`, 27.007 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cmee {
    /// `0`: a plain `ERROR` result code.
    #[default]
    Off,
    /// `1`: `+CME ERROR: <n>`.
    Numeric,
    /// `2`: `+CME ERROR: <text>`.
    Verbose,
}

impl Cmee {
    /// The value `AT+CMEE?` prints and `AT+CMEE=<n>` takes.
    pub fn value(self) -> u8 {
        match self {
            Cmee::Off => 0,
            Cmee::Numeric => 1,
            Cmee::Verbose => 2,
        }
    }

    /// The mode for an `AT+CMEE=<n>` value, if `n` is one.
    pub fn from_value(n: u32) -> Option<Self> {
        match n {
            0 => Some(Cmee::Off),
            1 => Some(Cmee::Numeric),
            2 => Some(Cmee::Verbose),
            _ => None,
        }
    }
}

/// The DTE serial interface as the host configured it (`AT+IPR`, `AT+ICF`, `AT+IFC`, `AT&C`,
/// `AT&D`). vmodem keeps them so the read forms answer truthfully and pacing can use the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dte {
    /// `AT+IPR`: bits per second; 0 means autobaud.
    pub rate: u32,
    /// `AT+ICF` format (3 = 8 data bits, no parity, 1 stop bit).
    pub format: u8,
    /// `AT+ICF` parity (0 odd, 1 even, 2 mark, 3 space).
    pub parity: u8,
    /// `AT+IFC` DCE-by-DTE flow control (0 none, 1 XON/XOFF, 2 RTS/CTS).
    pub flow_dce_by_dte: u8,
    /// `AT+IFC` DTE-by-DCE flow control.
    pub flow_dte_by_dce: u8,
    /// `AT&C`: 0 DCD always on, 1 DCD follows the data carrier.
    pub dcd: u8,
    /// `AT&D`: DTR handling, 0 to 2.
    pub dtr: u8,
}

impl Default for Dte {
    fn default() -> Self {
        Dte { rate: 115_200, format: 3, parity: 3, flow_dce_by_dte: 0, flow_dte_by_dce: 0, dcd: 1, dtr: 1 }
    }
}

/// The settings one `AT&W` profile holds. `ATZ` restores the stored copy, `AT&F` the factory one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `ATE`: echo the command line back to the host.
    pub echo: bool,
    /// `ATV`: verbose (`OK`) or numeric (`0`) result codes.
    pub verbose: bool,
    /// `ATQ`: suppress result codes.
    pub quiet: bool,
    /// S-registers `S0` to `S12`; `S3` (terminator), `S4` (formatting character) and `S5`
    /// (backspace) shape the line, the others are kept for their read forms.
    pub s: [u8; 13],
    /// `AT+CMEE`.
    pub cmee: Cmee,
    /// The serial interface values.
    pub dte: Dte,
}

impl Settings {
    /// The command-line terminator (S3).
    pub fn s3(&self) -> u8 {
        self.s[3]
    }

    /// The response formatting character (S4).
    pub fn s4(&self) -> u8 {
        self.s[4]
    }

    /// The backspace character (S5).
    pub fn s5(&self) -> u8 {
        self.s[5]
    }
}

impl Default for Settings {
    /// V.250 factory defaults: echo on, verbose, S3 CR, S4 LF, S5 BS, CMEE 0.
    fn default() -> Self {
        Settings {
            echo: true,
            verbose: true,
            quiet: false,
            s: [0, 0, 43, b'\r', b'\n', 0x08, 2, 60, 2, 0, 15, 0, 50],
            cmee: Cmee::Off,
            dte: Dte::default(),
        }
    }
}

/// Limits of a family's command-line buffer. Exceeding one answers `ERROR` and runs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters after the `AT` prefix, terminator excluded (559 on SIM7080, 556 on SIM800).
    pub line_chars: usize,
    /// Commands on one line (39 on SIM7000/SIM7080).
    pub commands: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { line_chars: 1024, commands: 64 }
    }
}
