//! Settlement entries as stored and read back: one per (date, E-Warung, program) and settle, with
//! where to pay; and what one settle did.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ids::{EwarungId, ProgramId, TransferId, UserId};

/// One settlement entry of a (date, E-Warung, program), with where to pay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct SettlementRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub business_date: String,
    #[schema(value_type = String, format = Uuid)]
    pub ewarung_id: EwarungId,
    pub ewarung_name: String,
    pub bank_code: String,
    pub bank_account_number: String,
    pub bank_account_holder: String,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: ProgramId,
    pub program_code: String,
    /// The reconciliation run this entry settled against.
    pub run_id: uuid::Uuid,
    /// The ledger transfer; none when nothing moved.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub transfer_id: Option<TransferId>,
    /// Matched lines (sales and refunds) in the run.
    pub items: i64,
    /// Matched sales less matched refunds in the run, never below zero, in minor units.
    pub matched_minor: i64,
    /// What earlier entries of the same date, E-Warung and program had settled.
    pub settled_before_minor: i64,
    /// This entry: `matched_minor - settled_before_minor`. Negative is an adjustment recovered
    /// from the E-Warung.
    pub amount_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// What one settle did, and where the date stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SettlementOutcome {
    pub business_date: String,
    /// The authoritative run settled against.
    pub run_id: uuid::Uuid,
    /// The entries this call posted (empty when everything was already settled); the payout file
    /// is made from these.
    pub posted: Vec<SettlementRecord>,
    /// Every entry of the date, oldest first.
    pub entries: Vec<SettlementRecord>,
    /// The date's signed audit head in the payout file's form (README, "Tamper-evident audit
    /// trail"), for the bank to keep; null only if it could not be signed yet.
    #[serde(default)]
    pub audit_head: Option<String>,
}

/// A new settlement entry, as the settle job writes it.
#[derive(Debug, Clone)]
pub struct NewSettlementEntry {
    pub id: uuid::Uuid,
    pub business_date: String,
    pub ewarung_id: EwarungId,
    pub program_id: ProgramId,
    pub run_id: uuid::Uuid,
    pub transfer_id: Option<TransferId>,
    pub items: i64,
    pub matched_minor: i64,
    pub settled_before_minor: i64,
    pub amount_minor: i64,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}
