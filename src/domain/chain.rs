//! The audit chain's bytes: how an entry (an audit entry or a ledger transfer) is encoded before
//! it is hashed, how each link's hash covers the one before, and what a business date's head
//! says when it is signed. Written down exactly so that an inspector can recompute any of it
//! with their own tools (README, "Tamper-evident audit trail").
//!
//! An entry's canonical encoding is the bytes `ssn-chain-v1`, then each field in a fixed order
//! as its name, a zero byte, and its value's length (4 bytes, big-endian) followed by the value
//! as UTF-8; a missing value (NULL) has the length 0xFFFFFFFF and no bytes. Lengths make the
//! encoding unambiguous: no two entries encode alike. The entry hash is RFC 6962's leaf hash of
//! those bytes (SHA-256 of 0x00 and the bytes); link n's chain hash is SHA-256 of link n-1's
//! chain hash and link n's entry hash (32 zero bytes before the first).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::merkle::{leaf_hash, Hash};

/// Where a chained entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChainSource {
    Audit,
    Transfer,
}

impl ChainSource {
    pub const ALL: [ChainSource; 2] = [ChainSource::Audit, ChainSource::Transfer];

    pub fn as_str(self) -> &'static str {
        match self {
            ChainSource::Audit => "audit",
            ChainSource::Transfer => "transfer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "audit" => Some(ChainSource::Audit),
            "transfer" => Some(ChainSource::Transfer),
            _ => None,
        }
    }
}

impl std::fmt::Display for ChainSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The chain hash before the first link.
pub const GENESIS: Hash = [0; 32];

const NULL_LENGTH: u32 = u32::MAX;

/// An entry's canonical encoding, built field by field.
#[derive(Debug, Clone)]
pub struct CanonicalEntry {
    bytes: Vec<u8>,
}

impl CanonicalEntry {
    /// Starts an entry of `source` whose id is `id`.
    pub fn new(source: ChainSource, id: uuid::Uuid) -> Self {
        let mut entry = Self {
            bytes: b"ssn-chain-v1".to_vec(),
        };
        entry.text("source", source.as_str());
        entry.text("id", &id.to_string());
        entry
    }

    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.field(name, Some(value.as_bytes()))
    }

    pub fn optional(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        self.field(name, value.map(str::as_bytes))
    }

    fn field(&mut self, name: &str, value: Option<&[u8]>) -> &mut Self {
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        match value {
            Some(value) => {
                // Fields are bounded far below 4 GiB (a row's text); saturate rather than wrap.
                let length = u32::try_from(value.len()).unwrap_or(NULL_LENGTH - 1);
                self.bytes.extend_from_slice(&length.to_be_bytes());
                self.bytes.extend_from_slice(value);
            }
            None => self.bytes.extend_from_slice(&NULL_LENGTH.to_be_bytes()),
        }
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The entry hash: RFC 6962's leaf hash of the encoding.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.bytes)
    }
}

/// A timestamp as entries encode it: UTC, microseconds (what both databases keep).
pub fn timestamp(at: DateTime<Utc>) -> String {
    // `YYYY-MM-DDTHH:MM:SS.ffffffZ`, without parsing a format string for every entry.
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The chain hash of a link: SHA-256 of the previous link's chain hash and this entry's hash.
pub fn chain_hash(previous: &Hash, entry: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(entry);
    hasher.finalize().into()
}

/// What a business date's head states, as signed: the links it covers, the Merkle root of their
/// entry hashes (RFC 6962) and the chain hash of its last link, which covers everything before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadStatement {
    pub business_date: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub root: Hash,
    pub chain: Hash,
    pub signed_at: DateTime<Utc>,
}

impl HeadStatement {
    /// The signed bytes: one `name=value` line each, in this order.
    pub fn message(&self) -> String {
        format!(
            "ssn-audit-head-v1\nbusiness_date={}\nfirst_seq={}\nlast_seq={}\ntree_size={}\nroot={}\nchain={}\nsigned_at={}\n",
            self.business_date,
            self.first_seq,
            self.last_seq,
            self.tree_size(),
            hex::encode(self.root),
            hex::encode(self.chain),
            timestamp(self.signed_at),
        )
    }

    /// How many entries the head covers.
    pub fn tree_size(&self) -> i64 {
        (self.last_seq - self.first_seq + 1).max(0)
    }
}

/// A hash from its hex text, if it is one.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).ok()?;
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoding_is_unambiguous_and_names_null_apart_from_empty() {
        let id = uuid::Uuid::nil();
        let mut a = CanonicalEntry::new(ChainSource::Audit, id);
        a.text("action", "ab").text("subject", "c");
        let mut b = CanonicalEntry::new(ChainSource::Audit, id);
        b.text("action", "a").text("subject", "bc");
        assert_ne!(a.hash(), b.hash());
        let mut empty = CanonicalEntry::new(ChainSource::Audit, id);
        empty.text("actor", "");
        let mut null = CanonicalEntry::new(ChainSource::Audit, id);
        null.optional("actor", None);
        assert_ne!(empty.hash(), null.hash());
        let transfer = CanonicalEntry::new(ChainSource::Transfer, id);
        assert_ne!(
            transfer.hash(),
            CanonicalEntry::new(ChainSource::Audit, id).hash()
        );
        // The documented layout, byte for byte.
        let mut one = CanonicalEntry::new(ChainSource::Audit, id);
        one.text("x", "é");
        let mut expected = b"ssn-chain-v1source\0\0\0\0\x05audit".to_vec();
        expected.extend_from_slice(b"id\0\0\0\0\x2400000000-0000-0000-0000-000000000000");
        expected.extend_from_slice(b"x\0\0\0\0\x02\xc3\xa9");
        assert_eq!(one.bytes(), expected.as_slice());
    }

    #[test]
    fn each_link_covers_the_one_before() {
        let entry = leaf_hash(b"x");
        let first = chain_hash(&GENESIS, &entry);
        assert_ne!(chain_hash(&first, &entry), first);
        assert_eq!(parse_hash(&hex::encode(first)), Some(first));
        assert_eq!(parse_hash("zz"), None);
    }

    #[test]
    fn a_head_message_names_every_figure() {
        let head = HeadStatement {
            business_date: "2026-12-07".into(),
            first_seq: 11,
            last_seq: 20,
            root: [1; 32],
            chain: [2; 32],
            signed_at: DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap(),
        };
        let message = head.message();
        assert!(message.contains("tree_size=10\n"), "{message}");
        assert!(
            message.contains("signed_at=2027-01-15T08:00:00.123456Z\n"),
            "{message}"
        );
        assert!(message.starts_with("ssn-audit-head-v1\nbusiness_date=2026-12-07\n"));
    }
}
