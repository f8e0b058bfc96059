//! E-Warungs and their EDC terminals.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::{domain::Invalid, string_enum};

string_enum!(
    /// Whether an E-Warung may sell against cards.
    EwarungStatus, "invalid_ewarung_status", {
        Active => "active",
        Suspended => "suspended",
        Closed => "closed",
    }
);

string_enum!(
    /// Whether a terminal may send transactions.
    TerminalStatus, "invalid_terminal_status", {
        Active => "active",
        Suspended => "suspended",
        Retired => "retired",
    }
);

impl TerminalStatus {
    /// A retired terminal is retired for good: its id and PIN key went with a device that left
    /// service, so it never trades again (a replacement device gets a terminal of its own).
    pub fn may_become(self, next: TerminalStatus) -> bool {
        self != TerminalStatus::Retired || next == TerminalStatus::Retired
    }

    /// Every state a terminal may move to `next` from, for the conditional update in storage.
    pub fn sources_of(next: TerminalStatus) -> Vec<TerminalStatus> {
        Self::ALL
            .iter()
            .copied()
            .filter(|from| from.may_become(next))
            .collect()
    }
}

/// The 8-character terminal id (ISO 8583 field 41): upper-case letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TerminalId(String);

impl TerminalId {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok = text.len() == 8
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !ok {
            return Err(Invalid::new(
                "invalid_terminal_id",
                "terminal id must be exactly 8 characters of A-Z and 0-9",
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TerminalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TerminalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

crate::deserialize_via_parse!(TerminalId, "an 8-character terminal id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_ids_are_eight_upper_alphanumerics() {
        assert!(TerminalId::parse("SMD00001").is_ok());
        assert!(TerminalId::parse("smd00001").is_err());
        assert!(TerminalId::parse("SMD0001").is_err());
        assert!(TerminalId::parse("SMD-0001").is_err());
    }
}
