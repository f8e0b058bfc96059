//! What the web application's pages show that no single record holds: counts and sums the
//! store computes (`store::ViewStore`).

use chrono::{DateTime, Utc};

/// The city office's overview of a month.
#[derive(Debug, Clone, Default)]
pub struct MonthOverview {
    /// Households per status (`active`, `suspended`, …), every status present.
    pub households: Vec<(String, i64)>,
    /// Cards per status.
    pub cards: Vec<(String, i64)>,
    /// Quota credited for the month's period (`YYYY-MM`).
    pub loaded_minor: i64,
    /// Completed purchases of the month's business dates, less refunds of them.
    pub spent_minor: i64,
    /// Held by purchases not yet completed.
    pub held_minor: i64,
    /// What households can still spend, all programs.
    pub left_minor: i64,
    /// Of that, what expires when the next month begins (credits older than each program's
    /// carry-over, as `POST /v1/quota/expire` would return them).
    pub expiring_minor: i64,
}

/// One terminal's completed sales of a business date.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TerminalSales {
    pub terminal_id: String,
    pub purchases: i64,
    pub amount_minor: i64,
}

/// A terminal request as an operator reads it in a list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentRequest {
    pub created_at: DateTime<Utc>,
    pub terminal_id: String,
    pub stan: String,
    /// The terminal's date of the request (what a void names).
    pub local_date: String,
    pub kind: String,
    pub response_code: String,
    pub state: Option<String>,
    pub amount_minor: Option<i64>,
}

/// A household's entitlement in one programme.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProgramBalance {
    pub program_code: String,
    pub program_name: String,
    /// What the household can spend now.
    pub available_minor: i64,
    /// Held by purchases not yet completed.
    pub held_minor: i64,
}

/// One quota credited to a household: the program, the period (`YYYY-MM`) and the amount.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuotaCredit {
    pub program_code: String,
    pub period: String,
    pub amount_minor: i64,
}

/// A household's purchase as the office reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HouseholdPurchase {
    pub id: crate::domain::ids::RedemptionId,
    pub created_at: DateTime<Utc>,
    pub ewarung_name: String,
    pub terminal_id: String,
    /// The last four digits of the card it was bought with.
    pub card_last4: Option<String>,
    /// Whose card it was when a representative's: the representative's name.
    pub representative_name: Option<String>,
    pub state: Option<String>,
    pub amount_minor: Option<i64>,
    /// Its retrieval reference number, as on the receipt.
    pub rrn: Option<String>,
    /// What it bought, line by line.
    #[sqlx(skip)]
    pub lines: Vec<PurchasedLine>,
}

/// One line of a purchase as its receipt said.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PurchasedLine {
    pub redemption_id: crate::domain::ids::RedemptionId,
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// Which audit entries to list (every field optional; dates are instants in UTC).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The actor's username.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// An audit entry with its actor's username.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditLine {
    #[sqlx(flatten)]
    pub record: crate::model::records::AuditRecord,
    pub actor_name: Option<String>,
}

/// A terminal as its E-Warung's operator watches it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TerminalState {
    pub terminal_id: String,
    pub status: String,
    /// The last request it sent within the business dates looked at (filled in by the
    /// store after the row is read).
    #[sqlx(default)]
    pub last_request_at: Option<DateTime<Utc>>,
    /// Its last batch totals: the date, what it counted, and whether the host agreed.
    pub batch_date: Option<String>,
    pub batch_purchases: Option<i64>,
    pub batch_purchases_minor: Option<i64>,
    pub batch_matched: Option<bool>,
}
