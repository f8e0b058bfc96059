//! How the engines' errors become [`StoreError`]s: constraint violations keep the constraint's
//! PostgreSQL name on both engines (SQLite's messages are mapped to it).

use crate::model::error::StoreError;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        let Some(database_error) = error.as_database_error() else {
            return StoreError::Database(error);
        };
        let constraint = constraint_name(database_error);
        match database_error.kind() {
            ErrorKind::UniqueViolation => StoreError::Duplicate { constraint },
            ErrorKind::ForeignKeyViolation => StoreError::MissingReference { constraint },
            ErrorKind::CheckViolation => StoreError::Check { constraint },
            _ => StoreError::Database(error),
        }
    }
}

/// PostgreSQL names the constraint; SQLite only says `UNIQUE constraint failed: t.a, t.b`, which is
/// mapped to the PostgreSQL name of the same constraint so both backends report alike.
fn constraint_name(error: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(name) = error.constraint() {
        return name.to_string();
    }
    sqlite_constraint_name(error.message())
}

/// The PostgreSQL name of the constraint in SQLite's `… constraint failed: t.a, t.b` message.
pub(crate) fn sqlite_constraint_name(message: &str) -> String {
    let detail = message
        .split_once("constraint failed: ")
        .map(|(_, rest)| rest.trim())
        .unwrap_or(message);
    SQLITE_UNIQUE_COLUMNS
        .iter()
        .find(|(columns, _)| *columns == detail)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| detail.to_string())
}

const SQLITE_UNIQUE_COLUMNS: &[(&str, &str)] = &[
    ("users.username", "users_username_key"),
    ("programs.code", "programs_code_key"),
    (
        "catalog_items.program_id, catalog_items.sku",
        "catalog_items_pkey",
    ),
    ("households.kk_number", "households_kk_number_key"),
    ("household_members.nik", "household_members_nik_held"),
    (
        "household_members.household_id, household_members.nik",
        "household_members_nik_in_household",
    ),
    (
        "household_members.household_id",
        "household_members_one_head",
    ),
    ("change_requests.number", "change_requests_number_key"),
    ("complaints.number", "complaints_number_key"),
    (
        "change_requests.household_id",
        "change_requests_one_open_status",
    ),
    ("cards.pan", "cards_pan_key"),
    ("cards.pan_hash", "cards_pan_hash_key"),
    ("cards.household_id", "cards_one_live_card_per_household"),
    (
        "cards.representative_id",
        "cards_one_live_card_per_representative",
    ),
    (
        "household_representatives.household_id, household_representatives.slot",
        "household_representatives_slot",
    ),
    (
        "household_representatives.nik, household_representatives.nik_slot",
        "household_representatives_nik_slot",
    ),
    (
        "household_representatives.household_id, household_representatives.nik",
        "household_representatives_once",
    ),
    ("terminals.terminal_id", "terminals_pkey"),
    ("terminals.serial_number", "terminals_serial_number_key"),
    (
        "ewarungs.bank_code, ewarungs.bank_account_number",
        "ewarungs_bank_account_key",
    ),
    (
        "household_revisions.household_id, household_revisions.revision",
        "household_revisions_pkey",
    ),
    (
        "redemptions.terminal_id, redemptions.stan, redemptions.local_date",
        "redemptions_request_key",
    ),
    ("redemptions.rrn", "redemptions_rrn_key"),
    (
        "quota_credits.program_id, quota_credits.household_id, quota_credits.period",
        "quota_credits_pkey",
    ),
    ("transfers.pending_id", "transfers_hold_resolves_once"),
];
