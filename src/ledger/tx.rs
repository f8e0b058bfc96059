//! [`LedgerTx`]: one database transaction, seen through the operations the money rules need.
//! Redemptions, the hold sweeper and refunds are written once against this trait; each backend
//! implements it with the same SQL (see `store::ledger_sql`). A [`LedgerJob`] is a unit of work the
//! store runs in one transaction: on SQLite the single writer batches many jobs into one commit
//! (each job inside its own savepoint), on PostgreSQL each job gets its own transaction, retried
//! on serialization failures.

use std::any::Any;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    domain::{
        household::HouseholdStatus,
        ids::{
            AccountId, CardId, EwarungId, HouseholdId, ProgramId, RedemptionId, RefundRequestId,
            TransferId,
        },
        purchase::{PurchaseState, RequestKind},
        terminal::{EwarungStatus, TerminalStatus},
    },
    ledger::{AccountBalance, AccountKind, TransferKind},
    model::{
        error::StoreResult,
        records::{CardRecord, CatalogItemRecord, ProgramRecord},
    },
};

/// A terminal with what decides whether it may transact.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TerminalContext {
    pub terminal_id: String,
    pub ewarung_id: EwarungId,
    pub status: TerminalStatus,
    pub ewarung_status: EwarungStatus,
    /// The terminal's PIN key, wrapped; `None` until provisioned.
    pub pin_key_wrapped: Option<Vec<u8>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CardWithHousehold {
    #[sqlx(flatten)]
    pub card: CardRecord,
    pub household_status: HouseholdStatus,
    /// An open change request (moved away, head deceased) holds the household's cards.
    pub held_by_request: bool,
    /// A representative's card: the representative's last valid day (`YYYY-MM-DD`).
    pub representative_valid_until: Option<String>,
}

/// A transfer, to write or as stored. Holds carry `timeout_at`; resolutions carry `pending_id`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Transfer {
    pub id: TransferId,
    pub program_id: ProgramId,
    pub debit_account_id: AccountId,
    pub credit_account_id: AccountId,
    pub amount_minor: i64,
    pub kind: TransferKind,
    pub pending_id: Option<TransferId>,
    pub timeout_at: Option<DateTime<Utc>>,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

impl Transfer {
    /// Resolves `hold` for its full amount: `Post`, `Void` or `HoldExpired`.
    pub fn resolving(
        hold: &Transfer,
        kind: TransferKind,
        reference: String,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: TransferId::new(),
            program_id: hold.program_id,
            debit_account_id: hold.debit_account_id,
            credit_account_id: hold.credit_account_id,
            amount_minor: hold.amount_minor,
            kind,
            pending_id: Some(hold.id),
            timeout_at: None,
            reference,
            created_at: at,
        }
    }

    /// Moves a posted hold's amount back the way it came, as a posted `Refund`.
    pub fn refunding(hold: &Transfer, reference: String, at: DateTime<Utc>) -> Self {
        Self {
            id: TransferId::new(),
            program_id: hold.program_id,
            debit_account_id: hold.credit_account_id,
            credit_account_id: hold.debit_account_id,
            amount_minor: hold.amount_minor,
            kind: TransferKind::Refund,
            pending_id: None,
            timeout_at: None,
            reference,
            created_at: at,
        }
    }
}

/// A terminal's refund request, keyed by its own terminal, STAN and date, with the answer it got.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRequestRow {
    pub id: RefundRequestId,
    pub terminal_id: String,
    pub stan: String,
    pub local_date: String,
    /// Which purchase it named (its STAN and date), so a replay with another body is told apart.
    pub request_hash: Vec<u8>,
    /// The purchase refunded or refused, when one was found.
    pub redemption_id: Option<RedemptionId>,
    pub response_code: String,
    pub response: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// One line of an approved purchase as its receipt said, with the item's name and unit as the
/// catalog had them at the sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionLine {
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// A stored redemption request and what became of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RedemptionRow {
    pub id: RedemptionId,
    pub terminal_id: String,
    pub ewarung_id: EwarungId,
    pub stan: String,
    pub local_date: String,
    pub request_hash: Vec<u8>,
    pub kind: RequestKind,
    pub response_code: String,
    pub response: Vec<u8>,
    pub card_id: Option<CardId>,
    pub household_id: Option<HouseholdId>,
    pub program_id: Option<ProgramId>,
    pub amount_minor: i64,
    pub hold_id: Option<TransferId>,
    pub refund_id: Option<TransferId>,
    pub state: PurchaseState,
    pub rrn: Option<String>,
    pub approval_code: Option<String>,
    /// The business date of authorization.
    pub business_date: String,
    /// The business date it was completed on, and the one it was undone on (voided, reversed,
    /// expired, refunded).
    pub completed_date: Option<String>,
    pub undone_date: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RedemptionRow {
    /// A request about to be recorded: everything it did not touch empty, the answer to come.
    pub fn new(
        terminal: &TerminalContext,
        stan: &str,
        local_date: &str,
        kind: RequestKind,
        business_date: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: RedemptionId::new(),
            terminal_id: terminal.terminal_id.clone(),
            ewarung_id: terminal.ewarung_id,
            stan: stan.to_string(),
            local_date: local_date.to_string(),
            request_hash: Vec::new(),
            kind,
            response_code: String::new(),
            response: Vec::new(),
            card_id: None,
            household_id: None,
            program_id: None,
            amount_minor: 0,
            hold_id: None,
            refund_id: None,
            state: PurchaseState::Declined,
            rrn: None,
            approval_code: None,
            business_date,
            completed_date: None,
            undone_date: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A transaction on the ledger. Every method runs inside the one transaction the job was given.
#[async_trait]
pub trait LedgerTx: Send {
    /// The database's own clock (hold timeouts and the sweeper agree on it across app servers).
    async fn db_now(&mut self) -> StoreResult<DateTime<Utc>>;

    /// The next retrieval reference number (a counter: unique by construction).
    async fn next_rrn(&mut self) -> StoreResult<i64>;

    async fn terminal(&mut self, terminal_id: &str) -> StoreResult<Option<TerminalContext>>;
    /// The card with that number and its household's status, in one query.
    /// The card whose number has this lookup hash (`auth::pan_vault::PanVault::lookup_hash`).
    async fn card_by_pan_hash(&mut self, pan_hash: &[u8])
        -> StoreResult<Option<CardWithHousehold>>;
    async fn program_by_code(&mut self, code: &str) -> StoreResult<Option<ProgramRecord>>;
    async fn program(&mut self, id: ProgramId) -> StoreResult<Option<ProgramRecord>>;
    async fn catalog_items(
        &mut self,
        program: ProgramId,
        skus: &[String],
    ) -> StoreResult<Vec<CatalogItemRecord>>;

    /// Counts one wrong PIN; at `max_failures` the card locks until `lock_until`.
    async fn record_pin_failure(
        &mut self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord>;
    async fn clear_pin_failures(&mut self, card: CardId) -> StoreResult<()>;

    /// A household's entitlement accounts, one per program it has ever been loaded for.
    async fn entitlements(&mut self, household: HouseholdId) -> StoreResult<Vec<AccountBalance>>;
    async fn account(&mut self, id: AccountId) -> StoreResult<Option<AccountBalance>>;
    /// The account of `kind` for its owner, created on first use.
    async fn ensure_account(
        &mut self,
        kind: AccountKind,
        program: ProgramId,
        owner: AccountOwner,
    ) -> StoreResult<AccountId>;
    /// Writes a transfer and moves the balances. Returns `false` (and writes nothing) when the
    /// debit would overdraw an entitlement or payable, or when the hold it resolves is already
    /// resolved.
    async fn apply_transfer(&mut self, transfer: &Transfer) -> StoreResult<bool>;
    async fn transfer(&mut self, id: TransferId) -> StoreResult<Option<Transfer>>;

    async fn find_redemption(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> StoreResult<Option<RedemptionRow>>;
    /// Records a request and, for an approved purchase, the lines it bought (none otherwise).
    async fn insert_redemption(
        &mut self,
        row: &RedemptionRow,
        lines: &[RedemptionLine],
    ) -> StoreResult<()>;
    async fn find_refund_request(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> StoreResult<Option<RefundRequestRow>>;
    /// Records a refund request; a second approved refund of the same purchase is refused by a
    /// unique index (`refund_requests_one_approved`).
    async fn insert_refund_request(&mut self, row: &RefundRequestRow) -> StoreResult<()>;
    /// Moves a purchase from state `from` to `state`, stamping `business_date` as its completion
    /// date (for `completed`) or the date it was undone (any other state). A purchase no longer
    /// in `from` (a concurrent request moved it first) is `StoreError::LostRace`, and the whole
    /// transaction, with whatever value it moved, is rolled back and run again.
    async fn set_redemption_state(
        &mut self,
        id: RedemptionId,
        state: PurchaseState,
        refund_id: Option<TransferId>,
        business_date: &str,
        at: DateTime<Utc>,
        from: PurchaseState,
    ) -> StoreResult<()>;
    /// The business date activity at `at` lands on: by the clock and the cut-off, and never a
    /// closed date. On PostgreSQL the calendar row is share-locked, so a concurrent close waits
    /// for this transaction and this one waits for the close.
    async fn business_date(&mut self, at: DateTime<Utc>) -> StoreResult<String>;
    /// Holds whose timeout has passed at `now` and that nothing has resolved, oldest first.
    async fn expired_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(RedemptionId, TransferId)>>;

    /// A hint: the reads a job is about to make. A backend that reaches its database over a
    /// network may fetch them all in one round trip and answer the next reads from that; the
    /// answers are the same as without the hint (see `store::read_ahead`). Others ignore it.
    async fn read_ahead(&mut self, _plan: &ReadAheadPlan<'_>) -> StoreResult<()> {
        Ok(())
    }
}

/// What a job will read next, for [`LedgerTx::read_ahead`]. Its `Debug` masks the card number.
#[derive(Clone, Copy)]
pub enum ReadAheadPlan<'a> {
    /// An authorization: the clock and business calendar, the terminal, whether its request key
    /// is taken, the card with its household, the household's entitlements with their programs,
    /// the basket's catalog items and the E-Warung's payable account in each program.
    Authorize {
        terminal_id: &'a str,
        stan: &'a str,
        local_date: &'a str,
        /// The card's lookup hash, never its number.
        pan_hash: &'a [u8],
        skus: &'a [String],
    },
    /// A completion, void or reversal: the business calendar, the original request and its hold.
    FollowUp {
        terminal_id: &'a str,
        stan: &'a str,
        local_date: &'a str,
    },
}

impl std::fmt::Debug for ReadAheadPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Authorize {
                terminal_id,
                stan,
                local_date,
                pan_hash: _,
                skus,
            } => f
                .debug_struct("Authorize")
                .field("terminal_id", terminal_id)
                .field("stan", stan)
                .field("local_date", local_date)
                .field("pan_hash", &"…")
                .field("skus", skus)
                .finish(),
            Self::FollowUp {
                terminal_id,
                stan,
                local_date,
            } => f
                .debug_struct("FollowUp")
                .field("terminal_id", terminal_id)
                .field("stan", stan)
                .field("local_date", local_date)
                .finish(),
        }
    }
}

/// Who an account belongs to, besides its program.
#[derive(Debug, Clone, Copy)]
pub enum AccountOwner {
    Program,
    Household(HouseholdId),
    Ewarung(EwarungId),
}

impl AccountOwner {
    /// The accounts column that names this owner, with the owner's id (none for the program's
    /// own funding account).
    pub fn column(self) -> (Option<&'static str>, Option<uuid::Uuid>) {
        match self {
            AccountOwner::Program => (None, None),
            AccountOwner::Household(id) => (Some("household_id"), Some(id.0)),
            AccountOwner::Ewarung(id) => (Some("ewarung_id"), Some(id.0)),
        }
    }

    /// The values of the `household_id` and `ewarung_id` columns of the owner's account.
    pub fn ids(self) -> (Option<HouseholdId>, Option<EwarungId>) {
        match self {
            AccountOwner::Program => (None, None),
            AccountOwner::Household(id) => (Some(id), None),
            AccountOwner::Ewarung(id) => (None, Some(id)),
        }
    }
}

/// Work the store runs in one transaction. `run` may be called again on a retryable failure, so it
/// takes `&self` and must not assume it runs once.
#[async_trait]
pub trait LedgerJob: Send + Sync + 'static {
    type Output: Send + 'static;
    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Self::Output>;
}

/// [`LedgerJob`] with its output type erased, so the store can queue jobs of every kind together.
#[async_trait]
pub trait ErasedJob: Send + Sync + 'static {
    async fn run_erased(&self, tx: &mut dyn LedgerTx) -> StoreResult<Box<dyn Any + Send>>;
}

#[async_trait]
impl<J: LedgerJob> ErasedJob for J {
    async fn run_erased(&self, tx: &mut dyn LedgerTx) -> StoreResult<Box<dyn Any + Send>> {
        Ok(Box::new(self.run(tx).await?))
    }
}
