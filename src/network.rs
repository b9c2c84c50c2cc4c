//! The emulated cellular network's own acts: what it does without the host asking (release the
//! packet-data contexts, lose the cell, find it again, change the signal). A fault plan, a transcript or the
//! control socket asks for them; each family reports them in its own way.

/// Something the emulated cellular network does on its own, that a family reports in its
/// own way (a fault plan or a test asks for it; a host cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkEvent {
    /// The network releases the packet-data contexts: `+SAPBR 1: DEACT`, `+APP PDP: 0,DEACTIVE`,
    /// `+MIPCALL: 0`, and the sessions over them fail. Registration stays.
    ReleaseBearers,
    /// The cell goes out of reach: registration is lost (`+CREG: 2` and the like where the
    /// host asked for them) and the bearers with it.
    LoseRegistration,
    /// The cell is back: the module registers again (`+CREG: 1`); bearers stay closed until the
    /// host opens them.
    Register,
    /// The signal changes: `AT+CSQ` reports this `<rssi>` (0 to 31, or 99 unknown) while the
    /// module is registered.
    Signal(u8),
}

impl std::str::FromStr for NetworkEvent {
    type Err = String;

    /// The names transcripts and fault plans use: `release`, `deregister`, `register`, and
    /// `signal <rssi>`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_whitespace().collect::<Vec<_>>()[..] {
            ["release"] => Ok(NetworkEvent::ReleaseBearers),
            ["deregister"] => Ok(NetworkEvent::LoseRegistration),
            ["register"] => Ok(NetworkEvent::Register),
            ["signal", rssi] => match rssi.parse::<u8>() {
                Ok(rssi) if rssi <= 31 || rssi == 99 => Ok(NetworkEvent::Signal(rssi)),
                _ => Err(format!("signal {rssi:?}: an <rssi> of 0 to 31, or 99 (unknown)")),
            },
            _ => Err(format!("unknown network event {s:?} (known: release, deregister, register, signal <rssi>)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NetworkEvent;

    #[test]
    fn events_parse_by_name_and_the_signal_is_checked() {
        assert_eq!("release".parse(), Ok(NetworkEvent::ReleaseBearers));
        assert_eq!("signal 12".parse(), Ok(NetworkEvent::Signal(12)));
        assert_eq!(" signal  99 ".parse(), Ok(NetworkEvent::Signal(99)));
        for bad in ["signal", "signal 32", "signal -1", "signal 12 13", "flood", ""] {
            assert!(bad.parse::<NetworkEvent>().is_err(), "{bad:?}");
        }
    }
}
