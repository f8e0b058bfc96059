//! Storage errors in terms the service understands. Constraint violations keep the constraint's
//! name (the same on both backends, see the migrations), so `http::error` can turn
//! `households_kk_number_key` into "this KK number is already registered".

/// What every store operation returns.
pub type StoreResult<T> = Result<T, StoreError>;

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
    /// Maker-checker: the user who uploaded a batch or a reconciliation run tried to approve
    /// it; the text says what needs whom.
    #[error("{0}")]
    SameApprover(&'static str),
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
