//! `AT+CMUX`: the host starts 3GPP TS 27.010 multiplexing on the line (basic option, UIH
//! frames). After the `OK` the line carries frames: the control channel and up to four AT
//! channels (the modem core runs them, `crate::core`'s channels). Each family has its ranges:
//!
//! | parameter | SIM7080 (manual V1.05 §3.2.24) | SIM800 (manual V1.09 §3.2.38) |
//! | --- | --- | --- |
//! | `<mode>` | 0 basic | 0 basic |
//! | `<subset>` | 0 UIH | 0 UIH |
//! | `<port_speed>` | 1-8 | 1-7 |
//! | `<N1>` | 1-1500, default 118 | 1-255, default 127 |
//! | `<T1>` | 0 only | 1-255, default 10 |
//! | `<N2>` | 0 only | 0-100, default 3 |
//! | `<T2>` | 2-1000, default 600 | 2-255, default 30 |
//! | `<T3>`, `<k>` | none | 1-255 default 10, 1-7 default 2 |
//!
//! So Zephyr's `AT+CMUX=0,0,5,127` and esp-modem's `AT+CMUX=0` pass on both, and the nine
//! values some Zephyr entries send pass only on the SIM800. The modem's frames carry at most
//! N1 octets of information. The SIM7000 has the SIM7080's row and the L610 the SIM800's (their
//! manuals show no `AT+CMUX`; chosen as the module of the same line, and as 27.007's ranges).

use std::ops::RangeInclusive;

use vmodem_at::{Command, Reply};

use super::args::Args;
use super::cellular::{Cellular, info};
use super::{Ctx, Outcome};

/// A family's `AT+CMUX`.
#[derive(Debug)]
pub struct CmuxProfile {
    /// What `AT+CMUX=?` prints.
    pub test: &'static str,
    /// The range of each parameter the family takes, in order from `<mode>`.
    pub ranges: &'static [RangeInclusive<u32>],
    /// Each parameter's value when not given, and what `AT+CMUX?` prints before any write.
    pub defaults: &'static [u32],
}

/// The index of `<N1>` among the parameters.
const N1: usize = 3;

/// SIM7080, SIM7070, SIM7090 and SIM7000.
pub const LTE: CmuxProfile = CmuxProfile {
    test: "+CMUX: (0),(0),(1-8),(1-1500),(0),(0),(2-1000)",
    ranges: &[0..=0, 0..=0, 1..=8, 1..=1500, 0..=0, 0..=0, 2..=1000],
    defaults: &[0, 0, 5, 118, 0, 0, 600],
};

/// SIM800, SIM900 and the L610.
pub const GSM: CmuxProfile = CmuxProfile {
    test: "+CMUX: (0),(0),(1-7),(1-255),(1-255),(0-100),(2-255),(1-255),(1-7)",
    ranges: &[0..=0, 0..=0, 1..=7, 1..=255, 1..=255, 0..=100, 2..=255, 1..=255, 1..=7],
    defaults: &[0, 0, 5, 127, 10, 3, 30, 10, 2],
};

/// `AT+CMUX=?`.
pub fn test<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    info(ctx, s.cmux_profile().test)
}

/// `AT+CMUX?`: the parameters last set, or the defaults.
pub fn read<S: Cellular>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let values = s.radio().cmux.clone().unwrap_or_else(|| s.cmux_profile().defaults.to_vec());
    let values: Vec<String> = values.iter().map(u32::to_string).collect();
    info(ctx, &format!("+CMUX: {}", values.join(",")))
}

/// `AT+CMUX=<mode>[,<subset>[,...]]`: every value in the family's range, then `OK`, and the
/// line is multiplexed.
pub fn write<S: Cellular>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let profile = s.cmux_profile();
    let a = Args::of(cmd, s.bad());
    a.count(1..=profile.ranges.len())?;
    let mut values = profile.defaults.to_vec();
    for (i, range) in profile.ranges.iter().enumerate() {
        let range = u64::from(*range.start())..=u64::from(*range.end());
        if let Some(v) = a.opt_uint(i, range)? {
            values[i] = v as u32;
        }
    }
    ctx.io.multiplex(values[N1] as usize);
    s.radio_mut().cmux = Some(values);
    Ok(Reply::Ok)
}
