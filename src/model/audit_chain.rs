//! The audit chain's rows: the entries as the sealer reads them (audit entries and ledger
//! transfers, with the position the sealer reads them by), the links it writes, and the signed
//! heads of closed business dates. The bytes they hash to are `domain::chain`'s.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::domain::chain::{CanonicalEntry, ChainSource};

/// An audit entry, every column that is chained.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainedAudit {
    /// Where the sealer read it (the rowid on SQLite, the writing transaction on PostgreSQL).
    pub pos: i64,
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<uuid::Uuid>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub detail: Json<serde_json::Value>,
}

impl ChainedAudit {
    pub fn canonical(&self) -> CanonicalEntry {
        let actor = self.actor_id.map(|id| id.to_string());
        // serde_json's maps are ordered by key: the same JSON encodes alike however the
        // database kept its keys.
        let detail = self.detail.0.to_string();
        let mut entry = CanonicalEntry::new(ChainSource::Audit, self.id);
        entry
            .text("at", &crate::domain::chain::timestamp(self.at))
            .optional("actor_id", actor.as_deref())
            .text("action", &self.action)
            .text("subject_type", &self.subject_type)
            .text("subject_id", &self.subject_id)
            .text("detail", &detail);
        entry
    }
}

/// A ledger transfer, every column that is chained.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainedTransfer {
    pub pos: i64,
    pub id: uuid::Uuid,
    pub program_id: uuid::Uuid,
    pub debit_account_id: uuid::Uuid,
    pub credit_account_id: uuid::Uuid,
    pub amount_minor: i64,
    pub kind: String,
    pub pending_id: Option<uuid::Uuid>,
    pub timeout_at: Option<DateTime<Utc>>,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

impl ChainedTransfer {
    pub fn canonical(&self) -> CanonicalEntry {
        use crate::domain::chain::timestamp;
        let pending = self.pending_id.map(|id| id.to_string());
        let timeout = self.timeout_at.map(timestamp);
        let mut entry = CanonicalEntry::new(ChainSource::Transfer, self.id);
        entry
            .text("program_id", &self.program_id.to_string())
            .text("debit_account_id", &self.debit_account_id.to_string())
            .text("credit_account_id", &self.credit_account_id.to_string())
            .text("amount_minor", &self.amount_minor.to_string())
            .text("kind", &self.kind)
            .optional("pending_id", pending.as_deref())
            .optional("timeout_at", timeout.as_deref())
            .text("reference", &self.reference)
            .text("created_at", &timestamp(self.created_at));
        entry
    }
}

/// How far the sealer has read a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainCursor {
    pub pos: i64,
    pub entry_id: uuid::Uuid,
}

impl ChainCursor {
    pub const START: ChainCursor = ChainCursor {
        pos: 0,
        entry_id: uuid::Uuid::nil(),
    };
}

/// A link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainLink {
    pub seq: i64,
    /// `audit` or `transfer`.
    pub source: String,
    pub entry_id: uuid::Uuid,
    /// RFC 6962 leaf hash of the entry's canonical encoding (32 bytes).
    pub entry_hash: Vec<u8>,
    /// The chain hash of the link before (32 zero bytes before the first).
    pub prev_hash: Vec<u8>,
    /// SHA-256 of `prev_hash` and `entry_hash`.
    pub chain_hash: Vec<u8>,
}

/// A closed business date's signed head.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, serde::Deserialize, ToSchema)]
pub struct AuditHead {
    pub business_date: String,
    pub first_seq: i64,
    pub last_seq: i64,
    /// Merkle root (RFC 6962) of the entry hashes of links `first_seq..=last_seq` (hex).
    pub root_hash: String,
    /// The chain hash of link `last_seq` (hex; the previous head's when the date sealed none).
    pub chain_hash: String,
    pub signed_at: DateTime<Utc>,
    /// The Ed25519 public key that signed it (hex).
    pub public_key: String,
    /// Ed25519 signature of the head's statement (base64).
    pub signature: String,
}

/// A closed date and when it closed, for signing heads in date order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosedDate {
    pub business_date: String,
    pub closed_at: DateTime<Utc>,
}
