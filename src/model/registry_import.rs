//! Registry imports as stored and read back: the import's record with its counts, the lines
//! staged for approval, and the refused lines.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::ids::{HouseholdId, MemberId, RegistryImportId, UserId},
    string_enum,
};

string_enum!(
    /// Where an import is: being read, waiting for a second office user, or written.
    ImportStatus, "invalid_import_status", {
        Validating => "validating",
        Validated => "validated",
        Approved => "approved",
    }
);

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct ImportRecord {
    pub id: RegistryImportId,
    #[schema(value_type = String, example = "validated")]
    pub status: ImportStatus,
    pub source_name: String,
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Data rows read (one per member).
    pub row_count: i64,
    /// Refused lines (each with its number and reason at `…/errors`).
    pub error_count: i64,
    /// Households (and their members) that approval creates; after approval, those it created.
    pub households_new: i64,
    pub members_new: i64,
    /// KK numbers registered already: left as they are.
    pub households_existing: i64,
    /// KK numbers with a refused line: not imported.
    pub households_refused: i64,
}

/// A line that passed the per-line checks, with the ids it will be written under.
#[derive(Debug, Clone)]
pub struct ImportLine {
    pub line_no: i64,
    pub kk_number: String,
    pub household_id: HouseholdId,
    pub member_id: MemberId,
    pub nik: String,
    pub name: String,
    pub relation: String,
    pub sex: String,
    pub birth_date: String,
    pub street: String,
    pub rt: String,
    pub rw: String,
    pub kelurahan: String,
    pub kecamatan: String,
}

/// A refused line: its number, the KK it named (when readable), the field and why.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct ImportLineError {
    pub line_no: i64,
    pub kk_number: Option<String>,
    pub field: String,
    pub code: String,
    pub message: String,
}
