//! Complaints as stored and read back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    complaint::{Category, Channel, ComplaintState, Outcome, Severity},
    ids::{CardId, ComplaintId, EwarungId, HouseholdId, RedemptionId, UserId},
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct ComplaintRecord {
    pub id: ComplaintId,
    /// What people quote ("pengaduan #7").
    pub number: i64,
    pub household_id: HouseholdId,
    pub kk_number: String,
    pub card_id: Option<CardId>,
    pub ewarung_id: Option<EwarungId>,
    pub ewarung_name: Option<String>,
    pub redemption_id: Option<RedemptionId>,
    /// The purchase complained about, by its retrieval reference number.
    pub rrn: Option<String>,
    #[schema(value_type = String, example = "saldo")]
    pub channel: Channel,
    #[schema(value_type = String, example = "forced_package")]
    pub category: Category,
    #[schema(value_type = String, example = "high")]
    pub severity: Severity,
    pub description: String,
    #[schema(value_type = String, example = "open")]
    pub state: ComplaintState,
    pub assigned_to: Option<UserId>,
    pub assignee: Option<String>,
    /// When the office answers by: filing + 2 (high), 5 (normal) or 10 (low) days.
    pub due_at: DateTime<Utc>,
    /// Filed as the third complaint about its E-Warung within six months.
    pub repeat_escalation: bool,
    /// Open past its due date (computed when read).
    #[sqlx(skip)]
    pub overdue: bool,
    /// Repeated or overdue: the office's head sees it first.
    #[sqlx(skip)]
    pub escalated: bool,
    /// Null when the beneficiary filed it on `/saldo`.
    pub created_by: Option<UserId>,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_by: Option<UserId>,
    pub resolver: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, example = "upheld")]
    pub outcome: Option<Outcome>,
    pub outcome_reason: Option<String>,
}

impl ComplaintRecord {
    /// Fills in what depends on the moment it is read.
    pub fn as_of(mut self, now: DateTime<Utc>) -> Self {
        self.overdue = self.state == ComplaintState::Open && self.due_at < now;
        self.escalated =
            self.state == ComplaintState::Open && (self.overdue || self.repeat_escalation);
        self
    }
}

/// A complaint to file, checked.
#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub household_id: HouseholdId,
    pub card_id: Option<CardId>,
    pub ewarung_id: Option<EwarungId>,
    pub redemption_id: Option<RedemptionId>,
    pub rrn: Option<String>,
    pub channel: Channel,
    pub category: Category,
    pub severity: Severity,
    pub description: String,
    /// `None`: the beneficiary, on `/saldo`.
    pub actor: Option<UserId>,
}

/// Which complaints to list; every field optional.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    pub state: Option<ComplaintState>,
    pub ewarung_id: Option<EwarungId>,
    pub household_id: Option<HouseholdId>,
}

/// A purchase a complaint may name: whose it was and where.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComplainedPurchase {
    pub redemption_id: RedemptionId,
    pub household_id: Option<HouseholdId>,
    pub card_id: Option<CardId>,
    pub ewarung_id: EwarungId,
}
