//! The emulated cellular network's own acts: what it does without the host asking (release the
//! packet-data contexts, lose the cell, find it again). A fault plan, a transcript or the
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
}

impl std::str::FromStr for NetworkEvent {
    type Err = String;

    /// The names transcripts and fault plans use: `release`, `deregister`, `register`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "release" => Ok(NetworkEvent::ReleaseBearers),
            "deregister" => Ok(NetworkEvent::LoseRegistration),
            "register" => Ok(NetworkEvent::Register),
            other => Err(format!("unknown network event {other:?} (known: release, deregister, register)")),
        }
    }
}
