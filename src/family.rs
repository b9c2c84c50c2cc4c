//! The module families vmodem emulates: the one list of them. Parsing (with aliases), names,
//! and which vendor's dialect serves each; the per-family data lives in the dialects' profile
//! rows, found from here.

use std::fmt;
use std::str::FromStr;

/// A module family: a set of modules that answer the same AT dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Family {
    /// SIMCom SIM7080G (Cat-M/NB-IoT).
    #[default]
    Sim7080,
    /// SIMCom SIM7070G: the SIM7080's dialect, its own identity strings.
    Sim7070,
    /// SIMCom SIM7090G: the SIM7080's dialect, its own identity strings.
    Sim7090,
    /// SIMCom SIM7000 (Cat-M/NB-IoT).
    Sim7000,
    /// SIMCom SIM800 (GSM/GPRS).
    Sim800,
    /// SIMCom SIM900 (GSM/GPRS).
    Sim900,
    /// Fibocom L610 (Cat-1).
    L610,
}

/// Which vendor's dialect a family speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// SIMCom: one dialect, a profile row per family.
    Simcom,
    /// Fibocom.
    Fibocom,
}

/// Other names a family is known by (module variants and order codes), lower case.
const ALIASES: &[(&str, Family)] = &[
    ("sim7080g", Family::Sim7080),
    ("sim7070g", Family::Sim7070),
    ("sim7090g", Family::Sim7090),
    ("sim7000e", Family::Sim7000),
    ("sim7000g", Family::Sim7000),
    ("sim800l", Family::Sim800),
    ("sim800c", Family::Sim800),
    ("sim900a", Family::Sim900),
    ("l610-cn", Family::L610),
];

impl Family {
    /// Every family, in the order they are listed to users.
    pub const ALL: [Family; 7] = [
        Family::Sim7080,
        Family::Sim7070,
        Family::Sim7090,
        Family::Sim7000,
        Family::Sim800,
        Family::Sim900,
        Family::L610,
    ];

    /// The name `--dialect`, configurations and transcripts use (`sim7080`, `l610`).
    pub const fn name(self) -> &'static str {
        match self {
            Family::Sim7080 => "sim7080",
            Family::Sim7070 => "sim7070",
            Family::Sim7090 => "sim7090",
            Family::Sim7000 => "sim7000",
            Family::Sim800 => "sim800",
            Family::Sim900 => "sim900",
            Family::L610 => "l610",
        }
    }

    /// The vendor whose dialect serves this family.
    pub const fn vendor(self) -> Vendor {
        match self {
            Family::L610 => Vendor::Fibocom,
            _ => Vendor::Simcom,
        }
    }

    /// Every name and alias a family is parsed from, names first.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Family::ALL.iter().map(|f| f.name()).chain(ALIASES.iter().map(|(alias, _)| *alias))
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name no family has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown family {0:?} (known: {known})", known = Family::ALL.map(Family::name).join(", "))]
pub struct UnknownFamily(pub String);

impl FromStr for Family {
    type Err = UnknownFamily;

    /// A family's name or alias, in any case.
    fn from_str(s: &str) -> Result<Self, UnknownFamily> {
        let lower = s.to_ascii_lowercase();
        Family::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .or_else(|| ALIASES.iter().find(|(alias, _)| *alias == lower).map(|(_, f)| *f))
            .ok_or_else(|| UnknownFamily(s.to_string()))
    }
}

impl<'de> serde::Deserialize<'de> for Family {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_parse_in_any_case() {
        for family in Family::ALL {
            assert_eq!(family.name().parse::<Family>(), Ok(family));
            assert_eq!(family.name().to_ascii_uppercase().parse::<Family>(), Ok(family));
        }
        assert_eq!("SIM800L".parse::<Family>(), Ok(Family::Sim800));
        assert_eq!("sim7080g".parse::<Family>(), Ok(Family::Sim7080));
        let err = "sim5320".parse::<Family>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown family \"sim5320\" (known: sim7080, sim7070, sim7090, sim7000, sim800, sim900, l610)"
        );
    }

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<_> = Family::names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
