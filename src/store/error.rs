//! Storage errors in terms the service understands. Constraint violations keep the constraint's
//! name (the same on both backends, see the migrations), so `http::error` can turn
//! `households_kk_number_key` into "this KK number is already registered".

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("unique constraint {constraint} violated")]
    Duplicate { constraint: String },
    #[error("referenced row does not exist ({constraint})")]
    MissingReference { constraint: String },
    #[error("check constraint {constraint} violated")]
    Check { constraint: String },
    /// The row was not in a state the change is valid from (e.g. replacing an already replaced card).
    #[error("{entity} is {actual}, which does not allow this change")]
    StateConflict {
        entity: &'static str,
        actual: String,
    },
    /// Optimistic locking lost: somebody else changed the row first.
    #[error("{entity} was changed by someone else (now at revision {actual})")]
    StaleRevision { entity: &'static str, actual: i32 },
    /// A conditional update found the row changed by a concurrent transaction (a purchase's state
    /// moved on): running the whole transaction again sees the winner's work and answers from it.
    #[error("{0} was changed by a concurrent request")]
    LostRace(&'static str),
    /// Maker-checker: the user who uploaded a batch tried to approve it.
    #[error("the uploader of a batch cannot approve it")]
    SameApprover,
    /// A business rule refused the request as a whole (closing a date that has not begun,
    /// reconciling a date that is not closed); `code` is the stable error code.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Database(sqlx::Error),
}

impl StoreError {
    /// Failures where running the whole transaction again is the right answer: PostgreSQL (and
    /// compatible distributed engines) asking for a retry, a deadlock, or a concurrent transaction
    /// winning a race on a unique key (same request, same quota month, same hold resolved): the
    /// retry then sees the winner's work and answers from it.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(error) => error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "40001" || code == "40P01"),
            StoreError::LostRace(_) => true,
            StoreError::Duplicate { constraint } => matches!(
                constraint.as_str(),
                "redemptions_request_key"
                    | "quota_credits_pkey"
                    | "redemptions_rrn_key"
                    | "transfers_hold_resolves_once"
                    | "refund_requests_key"
                    | "refund_requests_one_approved"
            ),
            _ => false,
        }
    }
}

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
    ("cards.pan", "cards_pan_key"),
    ("cards.pan_hash", "cards_pan_hash_key"),
    ("cards.household_id", "cards_one_live_card_per_household"),
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
