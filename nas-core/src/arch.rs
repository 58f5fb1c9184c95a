//! Architecture values and their stable identifiers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::Hash;

/// A stable 64-bit identifier of an architecture.
///
/// It is the FNV-1a hash of the architecture's canonical notation, so it is
/// identical across runs, platforms and Rust releases (unlike `DefaultHasher`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArchId(#[serde(with = "hex_u64")] pub u64);

impl ArchId {
    /// Hashes a canonical notation with 64-bit FNV-1a.
    pub fn of(notation: &str) -> Self {
        ArchId(crate::hash::fnv1a64(notation.as_bytes()))
    }

    /// Parses the 16-digit hexadecimal form written by `Display`.
    pub fn parse(s: &str) -> Option<Self> {
        u64::from_str_radix(s, 16).ok().map(ArchId)
    }
}

impl fmt::Display for ArchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for ArchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArchId({self})")
    }
}

mod hex_u64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

/// An immutable architecture value produced by a [`SearchSpace`](crate::SearchSpace).
///
/// Every architecture has one canonical, human-readable notation (for example the
/// NAS-Bench-201 string or the DARTS genotype). The notation is what trial records
/// store and what the stable [`ArchId`] is computed from, so two values that are the
/// same network must have the same notation.
pub trait Architecture: Clone + fmt::Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// The canonical notation of this architecture in its space's native format.
    fn notation(&self) -> String;

    /// The stable identifier: [`ArchId::of`] the notation.
    fn id(&self) -> ArchId {
        ArchId::of(&self.notation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        // Reference values of 64-bit FNV-1a (from the FNV specification's test suite).
        assert_eq!(ArchId::of("").0, 0xcbf2_9ce4_8422_2325);
        assert_eq!(ArchId::of("a").0, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(ArchId::of("foobar").0, 0x8594_4171_f739_67e8);
    }

    #[test]
    fn id_round_trips_through_text_and_json() {
        let id = ArchId::of("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|");
        assert_eq!(ArchId::parse(&id.to_string()), Some(id));
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, format!("\"{id}\""));
        let back: ArchId = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, id);
    }
}
