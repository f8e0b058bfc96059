//! What reconciliation reads, decides and records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ids::{EwarungId, ProgramId, UserId};

/// The bank file's `type` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    Sale,
    Void,
    Refund,
}

impl EntryType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "SALE" => Some(Self::Sale),
            "VOID" => Some(Self::Void),
            "REFUND" => Some(Self::Refund),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "SALE",
            Self::Void => "VOID",
            Self::Refund => "REFUND",
        }
    }

    /// Which way the money goes: a sale owes the E-Warung; a void or refund takes it back.
    pub fn direction(self) -> Direction {
        match self {
            Self::Sale => Direction::Sale,
            Self::Void | Self::Refund => Direction::MoneyBack,
        }
    }
}

/// A sale or money going back; a bank VOID and REFUND both match a host refund of the purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Sale,
    MoneyBack,
}

/// Where a line of either side ended up. Every line ends in exactly one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Matched,
    AmountMismatch,
    /// Approved by the host, absent from the bank's file.
    HostOnly,
    /// In the bank's file, unknown to the host or declined or reversed here.
    BankOnly,
    /// A second bank line for what an earlier line already claimed.
    Duplicate,
    /// A bank line that could not be read.
    Malformed,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Matched,
        Category::AmountMismatch,
        Category::HostOnly,
        Category::BankOnly,
        Category::Duplicate,
        Category::Malformed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matched => "matched",
            Self::AmountMismatch => "amount_mismatch",
            Self::HostOnly => "host_only",
            Self::BankOnly => "bank_only",
            Self::Duplicate => "duplicate",
            Self::Malformed => "malformed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A host-side entry of the date as the store hands it over (borrowed from the row).
#[derive(Debug, Clone, Copy)]
pub struct HostRow<'a> {
    pub redemption_id: uuid::Uuid,
    pub terminal_id: &'a str,
    pub stan: &'a str,
    pub rrn: Option<&'a str>,
    pub approval_code: Option<&'a str>,
    pub amount_minor: i64,
    /// None: the E-Warung the terminal belongs to.
    pub ewarung_id: Option<EwarungId>,
    pub program_id: ProgramId,
    pub direction: Direction,
}

/// One exception line, to record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct ReconException {
    pub id: uuid::Uuid,
    pub run_id: uuid::Uuid,
    pub category: String,
    /// The bank file's line number (none for host-only entries).
    pub line_no: Option<i64>,
    pub terminal_id: Option<String>,
    pub stan: Option<String>,
    pub rrn: Option<String>,
    pub approval_code: Option<String>,
    /// SALE, VOID or REFUND.
    pub entry_type: Option<String>,
    pub bank_amount_minor: Option<i64>,
    pub host_amount_minor: Option<i64>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub ewarung_id: Option<EwarungId>,
    pub redemption_id: Option<uuid::Uuid>,
    /// What happened, in English.
    pub detail: String,
    /// For a malformed line, why, as a stable code: `line_too_long`, `line_unreadable`,
    /// `field_count`, `not_utf8`, `control_characters`, `not_a_date`, `other_date`,
    /// `terminal_id`, `stan`, `rrn_too_long`, `amount`, `entry_type` (none for other
    /// categories, and for lines recorded before codes were).
    pub detail_code: Option<String>,
    /// The values the detail quotes, as a JSON object of strings (for words in other languages).
    #[serde(skip)]
    #[schema(ignore)]
    pub detail_args: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

/// Count and amounts of one category (bank amounts for lines of the file, host amounts for
/// entries of the host).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryTotal {
    pub count: i64,
    pub bank_amount_minor: i64,
    pub host_amount_minor: i64,
}

/// Totals per category, keyed by the category's name.
pub type CategoryTotals = std::collections::BTreeMap<Category, CategoryTotal>;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EwarungRecon {
    /// None for bank lines whose terminal the host does not know.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub ewarung_id: Option<EwarungId>,
    pub name: String,
    #[schema(value_type = Object)]
    pub categories: CategoryTotals,
    /// Matched sales less matched refunds: what settlement moves.
    pub payable_minor: i64,
}

/// What a run found. Stored with the run and returned unchanged when the run is fetched again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReconReport {
    pub business_date: String,
    pub file_name: String,
    pub file_sha256: String,
    /// Data lines in the bank file (after the header).
    pub bank_lines: i64,
    /// Of those, lines that could not be used (malformed).
    pub unusable_lines: i64,
    /// Host entries of the date: completed purchases and refunds.
    pub host_entries: i64,
    #[schema(value_type = Object)]
    pub categories: CategoryTotals,
    pub ewarungs: Vec<EwarungRecon>,
    /// Exceptions still open (all of them, at the end of the run).
    pub exceptions: i64,
    /// The bank stated it had no activity that day: the file had a header and no lines.
    #[serde(default)]
    pub no_activity: bool,
}

/// Why a run waits for a second bank user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Settling after the run would take money back from an E-Warung: it matches less than
    /// was already paid.
    TakesMoneyBack,
    /// The run matches less for an E-Warung than the date's authoritative run does.
    LowersDue,
    /// More than the threshold of the file's lines could not be read.
    MalformedShare,
    /// More than the threshold of the file's lines match no approval of the host.
    UnmatchedShare,
}

impl ReviewReason {
    pub const ALL: [ReviewReason; 4] = [
        Self::TakesMoneyBack,
        Self::LowersDue,
        Self::MalformedShare,
        Self::UnmatchedShare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TakesMoneyBack => "takes_money_back",
            Self::LowersDue => "lowers_due",
            Self::MalformedShare => "malformed_share",
            Self::UnmatchedShare => "unmatched_share",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Where a run's review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a second bank user.
    Pending,
    /// A second bank user confirmed it: it became the date's authoritative run.
    Confirmed,
    /// A second bank user rejected it: it never settles.
    Rejected,
    /// A newer upload of the date came before anyone decided.
    Superseded,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Confirmed,
            Self::Rejected,
            Self::Superseded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A run's review as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunReview {
    pub status: ReviewStatus,
    pub reasons: Vec<ReviewReason>,
    /// Who uploaded the run; someone else decides.
    #[schema(value_type = String, format = Uuid)]
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// A recorded run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReconRun {
    pub id: uuid::Uuid,
    pub business_date: String,
    pub file_name: String,
    pub status: String,
    #[schema(value_type = String, format = Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub report: Option<ReconReport>,
    /// Exceptions of this run still waiting for a resolution.
    pub open_exceptions: i64,
    /// Whether settlement of the date pays from this run: the newest upload of the date
    /// (a new file's run, or an earlier run whose file was sent again) becomes authoritative
    /// when it finishes, unless it waits for a second bank user (`review`).
    pub authoritative: bool,
    /// Four eyes: present when the run had to wait for a second bank user's confirmation.
    pub review: Option<RunReview>,
}

/// What a run found payable for one E-Warung and program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payable {
    pub ewarung_id: EwarungId,
    pub program_id: ProgramId,
    pub items: i64,
    pub amount_minor: i64,
}
