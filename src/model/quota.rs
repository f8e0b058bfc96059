//! Quota batches as stored and reported.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        household::HouseholdStatus,
        ids::{HouseholdId, ProgramId, QuotaBatchId, UserId},
    },
    string_enum,
};

string_enum!(
    /// Where a batch is in its life: rows arriving (`validating`), refused (`invalid`, never
    /// postable), waiting for a second office user (`validated`), done (`posted`).
    BatchStatus, "invalid_batch_status", {
        Validating => "validating",
        Invalid => "invalid",
        Validated => "validated",
        Posted => "posted",
    }
);

/// A row that passed the per-row checks, ready to stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedLine {
    pub line_no: i64,
    pub program_id: ProgramId,
    pub kk_number: String,
    pub period: String,
    pub amount_minor: i64,
}

/// What posting a staged row does (decided at upload, decided again at posting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineOutcome {
    Credited,
    AlreadyLoaded,
    SkippedSuspended,
    SkippedExited,
}

impl LineOutcome {
    /// The name stored in `quota_lines.outcome` and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credited => "credited",
            Self::AlreadyLoaded => "already_loaded",
            Self::SkippedSuspended => "skipped_suspended",
            Self::SkippedExited => "skipped_exited",
        }
    }

    /// What posting does with a line of this household (posting decides again, with the same
    /// rules, in SQL: `POSTING_OUTCOME` in `store::ledger_store`).
    pub fn of_household(status: HouseholdStatus, already_loaded: bool) -> Self {
        match status {
            HouseholdStatus::Suspended => Self::SkippedSuspended,
            HouseholdStatus::Exited => Self::SkippedExited,
            HouseholdStatus::Active if already_loaded => Self::AlreadyLoaded,
            HouseholdStatus::Active => Self::Credited,
        }
    }
}

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema, sqlx::FromRow)]
pub struct LineError {
    pub line_no: i64,
    pub field: String,
    pub code: String,
    pub message: String,
}

impl LineError {
    /// A line whose KK number names no registered household (found when the line is staged).
    pub fn unknown_household(line: &StagedLine) -> Self {
        Self {
            line_no: line.line_no,
            field: "kk_number".into(),
            code: "unknown_household".into(),
            message: format!(
                "no household is registered with KK number {}",
                line.kk_number
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct QuotaBatchRecord {
    pub id: QuotaBatchId,
    pub status: BatchStatus,
    pub source_name: String,
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Data rows in the file (the header not counted).
    pub row_count: i64,
    /// Problems found; a batch with any is `invalid`.
    pub error_count: i64,
    #[serde(rename = "total_amount", serialize_with = "crate::model::quota::minor")]
    #[schema(value_type = String)]
    pub total_minor: i64,
}

/// What happens (or happened, once posted) to the batch's rows, by outcome.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct OutcomeCount {
    /// `credited`, `already_loaded`, `skipped_suspended` or `skipped_exited`.
    pub outcome: String,
    pub rows: i64,
    #[serde(rename = "amount", serialize_with = "crate::model::quota::minor")]
    #[schema(value_type = String)]
    pub amount_minor: i64,
}

/// A row that was not credited (or will not be), with why.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SkippedLine {
    pub line_no: i64,
    pub kk_number: String,
    pub household_id: Option<HouseholdId>,
    pub period: String,
    pub outcome: String,
}

/// The batch report: what the CLI prints and the API returns after upload and after approval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchReport {
    pub batch: QuotaBatchRecord,
    /// Distinct households in the file.
    pub households: i64,
    /// Before approval: what posting would do now. After: what it did.
    pub outcomes: Vec<OutcomeCount>,
    /// The first problems, by line (all of them: `GET /v1/quota/batches/{id}/errors`).
    pub errors: Vec<LineError>,
    /// The first rows not credited, with the reason.
    pub skipped: Vec<SkippedLine>,
}

/// A household whose old entitlement went back to program funding.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ExpiredEntitlement {
    pub program_code: String,
    pub household_id: HouseholdId,
    pub kk_number: String,
    #[serde(rename = "amount", serialize_with = "crate::model::quota::minor")]
    #[schema(value_type = String)]
    pub amount_minor: i64,
}

pub(crate) fn minor<S: serde::Serializer>(minor: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::domain::money::format_minor(*minor))
}

/// The whole-file results that settle a batch.
#[derive(Debug, Clone, Default)]
pub struct BatchSummary {
    /// Errors only the whole file shows: every line whose household already appeared for the
    /// same program and period, and a total out of range (line 0).
    pub file_errors: Vec<LineError>,
    /// Distinct households among the rows that found theirs.
    pub households: i64,
    /// Rows and amount by outcome, in the order of the outcome's name.
    pub outcomes: Vec<OutcomeCount>,
    /// The amount of every staged row.
    pub total_minor: i64,
}

pub use crate::domain::expiry::expiry_cutoff;

#[cfg(test)]
mod expiry_tests {
    #[test]
    fn the_cutoff_counts_back_the_carry_over_months() {
        let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        assert_eq!(super::expiry_cutoff(day("2027-01-01"), 0), "2027-01");
        assert_eq!(super::expiry_cutoff(day("2027-01-15"), 1), "2026-12");
        assert_eq!(super::expiry_cutoff(day("2027-03-01"), 14), "2026-01");
    }
}
