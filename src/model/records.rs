//! Rows as the store returns them, and the inputs it takes. Rows serialise straight into API
//! responses, so secrets are skipped here once (password and PIN hashes) and card numbers masked.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::domain::{
    card::CardStatus,
    catalog::CommodityGroup,
    household::{Address, HouseholdStatus},
    ids::{CardId, EwarungId, HouseholdId, ProgramId, RepresentativeId, UserId},
    role::Role,
    terminal::{EwarungStatus, TerminalStatus},
};

/// A user. Its `Debug` leaves out the password hash.
#[derive(Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub ewarung_id: Option<EwarungId>,
    pub created_at: DateTime<Utc>,
    /// The language the web application speaks to this user.
    pub locale: crate::domain::locale::Locale,
    /// Set when the user was disabled: no login, no session, from then on.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Moves on at every disable, new password and new role; API tokens of an older
    /// generation are refused.
    #[serde(skip)]
    pub token_generation: i64,
    /// A verifier's kelurahan (left out for every other role).
    #[sqlx(skip)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kelurahan: Vec<String>,
    /// The person's NIK, where given (an operator's keeps them from representing a household).
    #[sqlx(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("ewarung_id", &self.ewarung_id)
            .field("created_at", &self.created_at)
            .field("locale", &self.locale)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// A signed-in browser (`store::SessionStore`). No `Debug` of the token's hash or the CSRF token.
#[derive(Clone, sqlx::FromRow)]
pub struct WebSessionRecord {
    /// SHA-256 of the cookie's token.
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    /// The token every form of this session carries.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute expiry, fixed at login.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for WebSessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSessionRecord")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A user to create. No `Debug`: it carries the password hash.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub ewarung_id: Option<EwarungId>,
    /// A verifier's kelurahan; empty for every other role.
    pub kelurahan: Vec<String>,
    /// The person's NIK where known (an operator's keeps them from representing a household).
    pub nik: Option<String>,
    /// Who created the user; `None` for the bootstrap command line.
    pub actor: Option<UserId>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct ProgramRecord {
    pub id: ProgramId,
    pub code: String,
    pub name: String,
    pub currency: String,
    #[serde(rename = "default_monthly_amount", serialize_with = "minor_as_decimal")]
    #[schema(value_type = String, example = "200000.00")]
    pub default_monthly_amount_minor: i64,
    pub carry_over_months: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewProgram {
    pub code: String,
    pub name: String,
    pub default_monthly_amount_minor: i64,
    pub carry_over_months: i32,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct CatalogItemRecord {
    #[serde(skip)]
    pub program_id: ProgramId,
    pub sku: String,
    pub name: String,
    pub unit: String,
    #[serde(rename = "group")]
    pub commodity_group: CommodityGroup,
    #[serde(rename = "max_unit_price", serialize_with = "minor_as_decimal")]
    #[schema(value_type = String, example = "14000.00")]
    pub max_unit_price_minor: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewCatalogItem {
    pub program_id: ProgramId,
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub commodity_group: CommodityGroup,
    pub max_unit_price_minor: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct HouseholdRecord {
    pub id: HouseholdId,
    pub kk_number: String,
    pub head_nik: String,
    pub head_name: String,
    #[sqlx(flatten)]
    pub address: Address,
    pub status: HouseholdStatus,
    pub status_reason: Option<String>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewHousehold {
    pub kk_number: String,
    pub head_nik: String,
    pub head_name: String,
    pub address: Address,
    /// The approved change request that proposed it, marked applied in the same transaction.
    pub request: Option<crate::model::change_requests::RequestApproval>,
}

/// A change to a household's data or status, applied only at `expected_revision`.
#[derive(Debug, Clone)]
pub struct HouseholdChange {
    pub id: HouseholdId,
    pub expected_revision: i32,
    pub head_nik: Option<String>,
    pub head_name: Option<String>,
    pub address: Option<Address>,
    pub status: Option<HouseholdStatus>,
    pub reason: String,
    pub actor: UserId,
    /// The approved change request it applies, marked applied in the same transaction.
    pub request: Option<crate::model::change_requests::RequestApproval>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct RevisionRecord {
    pub household_id: HouseholdId,
    pub revision: i32,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
    pub reason: String,
    /// `{field: {"from": old, "to": new}}` for each changed field.
    #[schema(value_type = Object)]
    pub changes: Json<serde_json::Value>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct CardRecord {
    pub id: CardId,
    pub household_id: HouseholdId,
    /// The card number's last four digits, shown masked (`************4821`); the full number is
    /// shown only when the card is issued, and the database holds it only encrypted.
    #[serde(rename = "pan", serialize_with = "masked_pan")]
    #[schema(example = "************4821")]
    pub pan_last4: String,
    /// The number, encrypted (`auth::pan_vault`); never serialised.
    #[serde(skip)]
    pub pan_encrypted: Vec<u8>,
    /// Which key `pan_encrypted` is sealed under (0: the one derived from the PIN key).
    #[serde(skip)]
    pub pan_key_id: i32,
    pub status: CardStatus,
    pub status_reason: Option<String>,
    #[serde(rename = "pin_set", serialize_with = "is_present")]
    #[schema(value_type = bool)]
    pub pin_hash: Option<Vec<u8>>,
    pub pin_failures: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub replaces: Option<CardId>,
    /// Set on a representative's card: whose it is (`GET /v1/representatives/{id}`); the value
    /// it spends is still the household's.
    pub representative_id: Option<RepresentativeId>,
    pub issued_by: UserId,
    pub issued_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CardRecord {
    pub fn is_locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// A card's number sealed again under another key (a key rotation).
#[derive(Debug, Clone)]
pub struct ResealedPan {
    pub card: CardId,
    pub from_key: i32,
    pub to_key: i32,
    pub sealed: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewCard {
    pub household_id: HouseholdId,
    /// The representative the card is made for; `None` for the household's own card.
    pub representative_id: Option<RepresentativeId>,
    /// Never the number itself (see `auth::pan_vault`).
    pub pan: crate::auth::pan_vault::StoredPan,
    pub pin_hash: Vec<u8>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct EwarungRecord {
    pub id: EwarungId,
    pub name: String,
    pub owner_name: String,
    /// The owner's NIK, where given (keeps them from representing a household).
    #[sqlx(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_nik: Option<String>,
    #[sqlx(flatten)]
    pub address: Address,
    #[sqlx(flatten)]
    pub bank_account: BankAccount,
    pub status: EwarungStatus,
    pub created_at: DateTime<Utc>,
}

/// Where the bank pays an E-Warung.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// Bank code, e.g. "124" for Bank Kaltimtara.
    pub bank_code: String,
    #[serde(rename = "number")]
    #[sqlx(rename = "bank_account_number")]
    pub account_number: String,
    #[serde(rename = "holder")]
    #[sqlx(rename = "bank_account_holder")]
    pub account_holder: String,
}

#[derive(Debug, Clone)]
pub struct NewEwarung {
    pub name: String,
    pub owner_name: String,
    /// The owner's NIK where known (keeps them from representing a household).
    pub owner_nik: Option<String>,
    pub address: Address,
    pub bank_account: BankAccount,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct TerminalRecord {
    pub terminal_id: String,
    pub ewarung_id: EwarungId,
    pub serial_number: String,
    pub status: TerminalStatus,
    pub created_at: DateTime<Utc>,
    /// Check value of the terminal's PIN key (the key itself is never shown again).
    pub pin_key_check_value: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewTerminal {
    pub terminal_id: String,
    pub ewarung_id: EwarungId,
    pub serial_number: String,
    pub pin_key: Option<WrappedPinKey>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct AuditRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    #[schema(value_type = Object)]
    pub detail: Json<serde_json::Value>,
}

fn minor_as_decimal<S: Serializer>(minor: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::domain::money::format_minor(*minor))
}

fn masked_pan<S: Serializer>(last4: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("************{last4}"))
}

fn is_present<S: Serializer>(value: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(value.is_some())
}

/// A terminal's PIN key as stored: wrapped (see `auth::terminal_keys`), with its check value.
#[derive(Debug, Clone)]
pub struct WrappedPinKey {
    pub wrapped: Vec<u8>,
    pub check_value: String,
}

/// Count and total of one kind of transaction, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct CountAndTotal {
    pub count: i64,
    pub amount_minor: i64,
}

/// Completed purchases, refunds (voids of completed purchases) and reversed approvals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct BatchSide {
    pub purchases: CountAndTotal,
    pub refunds: CountAndTotal,
    pub reversals: CountAndTotal,
}

/// A terminal's batch totals as received, with the host's for the same terminal and date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchTotalsRecord {
    pub id: uuid::Uuid,
    pub terminal_id: String,
    pub business_date: String,
    pub terminal: BatchSide,
    pub host: BatchSide,
    pub matched: bool,
    pub received_at: DateTime<Utc>,
}
