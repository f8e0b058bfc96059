//! Every SQL statement lives below this module. [`Store`] is the one interface the rest of the
//! service sees (with [`LedgerStore`] and [`DayStore`] behind `ledger()` and `days()`);
//! [`sql_store::SqlStore`] implements all three once, as plain generic code over sqlx, in
//! `registry.rs` (users, households, cards, E-Warungs, terminals, audit), `ledger_store.rs`
//! (jobs, quota batches, expiry, verify) and `day_sql.rs` (close, reconciliation, settlement);
//! `ledger_sql.rs` is the ledger's SQL as a [`ledger::LedgerTx`](crate::ledger::LedgerTx). What
//! truly differs between the engines sits in [`sqlite`] (its writer with group commit, the WAL
//! checkpointer, its quota staging and day reading) and [`postgres`] (its retried transactions,
//! read-ahead, quota staging), behind [`sql_store::Engine`].

pub(crate) mod audit_chain_sql;
pub(crate) mod campaign_sql;
pub(crate) mod change_request_sql;
pub(crate) mod complaint_sql;
pub(crate) mod day_sql;
pub(crate) mod dormancy_sql;
pub(crate) mod error;
mod ledger_sql;
pub(crate) mod ledger_store;
pub(crate) mod member_sql;
pub(crate) mod numbering;
pub mod postgres;
pub(crate) mod read_ahead;
pub(crate) mod registry;
pub(crate) mod registry_import_sql;
pub(crate) mod representative_sql;
pub(crate) mod session_sql;
pub mod sql_store;
pub(crate) mod sql_text;
pub mod sqlite;
pub(crate) mod view_sql;
pub(crate) mod visit_sql;
mod write_tx;

use std::{any::Any, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::model::error::{StoreError, StoreResult};
pub use crate::model::records::*;
pub use write_tx::{WriteTx, WriterTurn};

use crate::domain::{
    card::CardStatus,
    household::HouseholdStatus,
    ids::{CardId, EwarungId, HouseholdId, ProgramId, QuotaBatchId, UserId},
    terminal::{EwarungStatus, TerminalStatus},
};
use crate::ledger::{
    tx::{ErasedJob, LedgerJob},
    verify::LedgerCheck,
};
use crate::model::quota::{
    BatchReport, BatchSummary, ExpiredEntitlement, LineError, LineOutcome, QuotaBatchRecord,
    StagedLine,
};

/// Household members: the head and everyone else the family card lists.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// The household's members, the head first.
    async fn list_members(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<crate::model::members::MemberRecord>>;
    /// Applies one change at the household's expected revision (a new revision, audited) and
    /// answers the household after it. `StaleRevision` when the household moved on;
    /// `Duplicate { household_members_nik_held }` when another household holds the NIK.
    async fn change_members(
        &self,
        change: crate::model::members::MemberChange,
    ) -> StoreResult<HouseholdRecord>;
    /// The household holding `nik`, if any (an exited household holds none).
    async fn nik_holder(&self, nik: &str) -> StoreResult<Option<crate::model::members::NikHolder>>;
}

/// Complaints (see `store::complaint_sql`).
#[async_trait]
pub trait ComplaintStore: Send + Sync {
    /// Files a complaint (audited); the third about its E-Warung within six months is
    /// escalated at once.
    async fn file_complaint(
        &self,
        complaint: crate::model::complaints::NewComplaint,
    ) -> StoreResult<crate::model::complaints::ComplaintRecord>;
    /// Assigns an open complaint (audited); `StateConflict` when it is resolved.
    async fn assign_complaint(
        &self,
        id: crate::domain::ids::ComplaintId,
        assignee: UserId,
        actor: UserId,
    ) -> StoreResult<crate::model::complaints::ComplaintRecord>;
    /// Resolves an open complaint with an outcome and why (audited); `StateConflict` when it
    /// was resolved already.
    async fn resolve_complaint(
        &self,
        id: crate::domain::ids::ComplaintId,
        outcome: crate::domain::complaint::Outcome,
        reason: &str,
        actor: UserId,
    ) -> StoreResult<crate::model::complaints::ComplaintRecord>;
    async fn get_complaint(
        &self,
        id: crate::domain::ids::ComplaintId,
    ) -> StoreResult<Option<crate::model::complaints::ComplaintRecord>>;
    /// Complaints by filter, oldest first, in pages.
    async fn list_complaints(
        &self,
        filter: crate::model::complaints::ComplaintFilter,
        page: Page,
    ) -> StoreResult<Vec<crate::model::complaints::ComplaintRecord>>;
    /// The purchase an RRN names, for linking a complaint to it.
    async fn purchase_by_rrn(
        &self,
        rrn: &str,
    ) -> StoreResult<Option<crate::model::complaints::ComplainedPurchase>>;
}

/// Authorised representatives and their cards (see `store::representative_sql`).
#[async_trait]
pub trait RepresentativeStore: Send + Sync {
    /// Names a representative and issues their card, in one transaction (audited as
    /// `household.representative_named`): first ends the household's and the person's
    /// representatives past their date, then checks the household is active, the person is no
    /// E-Warung owner or operator, and a slot is free for both. A refusal is the inner `Err`.
    async fn name_representative(
        &self,
        representative: crate::model::representatives::NewRepresentative,
        card: NewCard,
    ) -> StoreResult<
        Result<
            (
                crate::model::representatives::RepresentativeRecord,
                CardRecord,
            ),
            crate::model::representatives::NamingConflict,
        >,
    >;
    /// Revokes a representative and blocks their live card, in one transaction (audited as
    /// `household.representative_revoked`); `StateConflict` when it has already ended.
    async fn revoke_representative(
        &self,
        end: crate::model::representatives::RepresentativeEnd,
    ) -> StoreResult<crate::model::representatives::RepresentativeRecord>;
    async fn get_representative(
        &self,
        id: crate::domain::ids::RepresentativeId,
    ) -> StoreResult<Option<crate::model::representatives::RepresentativeRecord>>;
    /// A household's representatives, present and past, the latest named first.
    async fn list_representatives(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<crate::model::representatives::RepresentativeRecord>>;
}

/// Registry imports (see `store::registry_import_sql`).
#[async_trait]
pub trait RegistryImportStore: Send + Sync {
    async fn create_import(
        &self,
        source_name: &str,
        uploaded_by: UserId,
    ) -> StoreResult<crate::model::registry_import::ImportRecord>;
    /// Stages a chunk's good lines and refused lines.
    async fn stage_import_chunk(
        &self,
        id: crate::domain::ids::RegistryImportId,
        lines: &[crate::model::registry_import::ImportLine],
        errors: &[crate::model::registry_import::ImportLineError],
    ) -> StoreResult<()>;
    /// Runs the whole-file checks (a NIK twice, a KK's head and address, a NIK held by another
    /// household), counts what approval would do and settles the import `validated` (audited
    /// as `registry_import.upload`).
    async fn finish_import(
        &self,
        id: crate::domain::ids::RegistryImportId,
        rows: i64,
    ) -> StoreResult<crate::model::registry_import::ImportRecord>;
    /// Removes an import still `validating` (its upload failed); true when there was one.
    async fn abandon_import(&self, id: crate::domain::ids::RegistryImportId) -> StoreResult<bool>;
    async fn get_import(
        &self,
        id: crate::domain::ids::RegistryImportId,
    ) -> StoreResult<Option<crate::model::registry_import::ImportRecord>>;
    /// Imports, the latest first, in pages.
    async fn list_imports(
        &self,
        page: Page,
    ) -> StoreResult<Vec<crate::model::registry_import::ImportRecord>>;
    /// Refused lines after `after_line`, in line order.
    async fn import_errors(
        &self,
        id: crate::domain::ids::RegistryImportId,
        after_line: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::registry_import::ImportLineError>>;
    /// Writes the import's new households with their members, in one transaction, for an
    /// office user other than the uploader (audited as `registry_import.approve`); a KK
    /// registered or a NIK taken since the upload is left out. `StateConflict` when it is not
    /// `validated`, `MakerChecker` for the uploader.
    async fn approve_import(
        &self,
        id: crate::domain::ids::RegistryImportId,
        actor: UserId,
    ) -> StoreResult<crate::model::registry_import::ImportRecord>;
}

/// Re-verification campaigns (see `store::campaign_sql`).
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Opens a campaign with the households of its scope as they are now (audited as
    /// `campaign.open`).
    async fn open_campaign(
        &self,
        campaign: crate::model::campaigns::NewCampaign,
    ) -> StoreResult<crate::model::campaigns::CampaignRecord>;
    async fn get_campaign(
        &self,
        id: crate::domain::ids::CampaignId,
    ) -> StoreResult<Option<crate::model::campaigns::CampaignRecord>>;
    /// Campaigns, the latest opened first, in pages.
    async fn list_campaigns(
        &self,
        page: Page,
    ) -> StoreResult<Vec<crate::model::campaigns::CampaignRecord>>;
    /// Households and visited households per kelurahan (only `within` for a verifier).
    async fn campaign_progress(
        &self,
        id: crate::domain::ids::CampaignId,
        within: Option<&[String]>,
    ) -> StoreResult<Vec<crate::model::campaigns::KelurahanProgress>>;
    /// A campaign's households by filter, by household id, in pages.
    async fn campaign_households(
        &self,
        id: crate::domain::ids::CampaignId,
        filter: crate::model::campaigns::CampaignHouseholdFilter,
        page: Page,
    ) -> StoreResult<Vec<crate::model::campaigns::CampaignHousehold>>;
}

/// The tamper-evident audit chain (see `store::audit_chain_sql` and `audit_trail`).
#[async_trait]
pub trait AuditChainStore: Send + Sync {
    /// Seals the next entries, up to `limit` of each source (audit entries, ledger transfers):
    /// links them after the chain's last link and moves the cursors, in one transaction.
    /// Answers how many it linked (0: nothing new); `LostRace` when another sealer moved first.
    async fn seal_next(&self, limit: u32) -> StoreResult<u64>;
    /// Links after `after_seq`, in order, at most `limit`.
    async fn links(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::audit_chain::ChainLink>>;
    async fn last_link(&self) -> StoreResult<Option<crate::model::audit_chain::ChainLink>>;
    /// The link of one entry, if it is sealed.
    async fn find_link(
        &self,
        source: crate::domain::chain::ChainSource,
        entry_id: uuid::Uuid,
    ) -> StoreResult<Option<crate::model::audit_chain::ChainLink>>;
    /// The entry hashes of links `first_seq..=last_seq`, in order.
    async fn entry_hashes(&self, first_seq: i64, last_seq: i64) -> StoreResult<Vec<Vec<u8>>>;
    /// The audit entries of `ids` that exist (any order).
    async fn audit_entries(
        &self,
        ids: &[uuid::Uuid],
    ) -> StoreResult<Vec<crate::model::audit_chain::ChainedAudit>>;
    /// The transfers of `ids` that exist (any order).
    async fn transfer_entries(
        &self,
        ids: &[uuid::Uuid],
    ) -> StoreResult<Vec<crate::model::audit_chain::ChainedTransfer>>;
    /// Entries of `source` in no link (id and time, oldest first), at most `limit`.
    async fn unchained(
        &self,
        source: crate::domain::chain::ChainSource,
        limit: u32,
    ) -> StoreResult<Vec<(uuid::Uuid, DateTime<Utc>)>>;
    /// Every signed head, in chain order.
    async fn heads(&self) -> StoreResult<Vec<crate::model::audit_chain::AuditHead>>;
    async fn head(
        &self,
        business_date: &str,
    ) -> StoreResult<Option<crate::model::audit_chain::AuditHead>>;
    /// Closed business dates that have no head yet, oldest first.
    async fn closed_dates_without_head(
        &self,
    ) -> StoreResult<Vec<crate::model::audit_chain::ClosedDate>>;
    /// Stores a signed head if its date has none and it starts where the last head ended
    /// (`false` otherwise: another server signed first).
    async fn insert_head(&self, head: crate::model::audit_chain::AuditHead) -> StoreResult<bool>;
}

/// Dormant balances and the notices printed for them (see `store::dormancy_sql`).
#[async_trait]
pub trait DormancyStore: Send + Sync {
    /// Households of `filter` that hold value, were credited before the idle window and made
    /// no approved purchase in it, by household id, in pages.
    async fn list_dormant(
        &self,
        filter: crate::model::dormancy::DormantFilter,
        page: Page,
    ) -> StoreResult<Vec<crate::model::dormancy::DormantHousehold>>;
    /// The quota credits (`household, period, amount`) of these households in a program.
    async fn quota_credits_of(
        &self,
        program: crate::domain::ids::ProgramId,
        households: &[HouseholdId],
    ) -> StoreResult<Vec<(HouseholdId, String, i64)>>;
    /// Records a printed notice (audited as `household.dormancy_notice`).
    async fn record_notice(
        &self,
        notice: crate::model::dormancy::NewNotice,
    ) -> StoreResult<crate::model::dormancy::DormancyNotice>;
    async fn get_notice(
        &self,
        id: crate::domain::ids::DormancyNoticeId,
    ) -> StoreResult<Option<crate::model::dormancy::DormancyNotice>>;
    /// A household's notices, the latest first.
    async fn list_notices(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<crate::model::dormancy::DormancyNotice>>;
}

/// Field visits to households (see `store::visit_sql`).
#[async_trait]
pub trait VisitStore: Send + Sync {
    /// Records a visit (audited as `household.visit`).
    async fn record_visit(
        &self,
        visit: crate::model::visits::NewVisit,
    ) -> StoreResult<crate::model::visits::VisitRecord>;
    /// Adds the photo's type, size and hash to a visit that has none yet (audited);
    /// `StateConflict` when it has one.
    async fn add_visit_photo(
        &self,
        photo: crate::model::visits::VisitPhoto,
    ) -> StoreResult<crate::model::visits::VisitRecord>;
    /// A household's visits, the latest first.
    async fn list_visits(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<crate::model::visits::VisitRecord>>;
    async fn get_visit(
        &self,
        id: crate::domain::ids::VisitId,
    ) -> StoreResult<Option<crate::model::visits::VisitRecord>>;
}

/// Change requests to households (see `store::change_request_sql`).
#[async_trait]
pub trait ChangeRequestStore: Send + Sync {
    /// Records a request, as a draft or submitted (audited). Its number is the next after the
    /// highest.
    async fn create_change_request(
        &self,
        request: crate::model::change_requests::NewChangeRequest,
    ) -> StoreResult<crate::model::change_requests::ChangeRequestRecord>;
    /// Rewrites a draft or returned request, by its author only; `StateConflict` otherwise.
    async fn revise_change_request(
        &self,
        revised: crate::model::change_requests::RevisedChangeRequest,
    ) -> StoreResult<crate::model::change_requests::ChangeRequestRecord>;
    /// Submits (its author only), returns or rejects a request still in `step.from`;
    /// `StateConflict` when it moved on or the author is not the one submitting.
    async fn step_change_request(
        &self,
        step: crate::model::change_requests::RequestStep,
    ) -> StoreResult<crate::model::change_requests::ChangeRequestRecord>;
    /// Marks an approved request applied whose change made no difference (the household
    /// already said what it proposes): only from `submitted`, never by its author.
    async fn mark_unchanged_applied(
        &self,
        approval: crate::model::change_requests::RequestApproval,
        household: HouseholdId,
        revision: i32,
    ) -> StoreResult<()>;
    async fn get_change_request(
        &self,
        id: crate::domain::ids::ChangeRequestId,
    ) -> StoreResult<Option<crate::model::change_requests::ChangeRequestRecord>>;
    /// Requests by filter, oldest first, in pages.
    async fn list_change_requests(
        &self,
        filter: crate::model::change_requests::ChangeRequestFilter,
        page: Page,
    ) -> StoreResult<Vec<crate::model::change_requests::ChangeRequestRecord>>;
}

/// Connections of a pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub open: u32,
    pub idle: u32,
}

/// Storage for the whole service. Methods that change anything run in one transaction each and
/// write their audit entry in that same transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which engine this is, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// A trivial round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// The read pool's connections now, open and idle (on PostgreSQL the only pool), for
    /// `/metrics`.
    fn pool_usage(&self) -> PoolUsage;
    /// Closes the read pool (on PostgreSQL, the only pool): its connections end and no new ones
    /// open. For shutting down, and for tests that need PostgreSQL's per-connection statistics
    /// flushed.
    async fn close(&self);

    async fn create_user(&self, user: NewUser) -> StoreResult<UserRecord>;
    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    async fn list_users(&self, page: Page) -> StoreResult<Vec<UserRecord>>;

    async fn create_program(
        &self,
        program: NewProgram,
        actor: UserId,
    ) -> StoreResult<ProgramRecord>;
    async fn find_program_by_code(&self, code: &str) -> StoreResult<Option<ProgramRecord>>;
    async fn list_programs(&self) -> StoreResult<Vec<ProgramRecord>>;
    async fn add_catalog_item(
        &self,
        item: NewCatalogItem,
        actor: UserId,
    ) -> StoreResult<CatalogItemRecord>;
    async fn list_catalog_items(&self, program: ProgramId) -> StoreResult<Vec<CatalogItemRecord>>;
    /// Sets a catalog item's highest unit price (prices move; purchases from now on are held
    /// to the new cap, earlier ones keep theirs), audited with the old and new cap and `reason`.
    async fn set_price_cap(
        &self,
        program: ProgramId,
        sku: &str,
        max_unit_price_minor: i64,
        reason: String,
        actor: UserId,
    ) -> StoreResult<CatalogItemRecord>;

    async fn create_household(
        &self,
        household: NewHousehold,
        actor: UserId,
    ) -> StoreResult<HouseholdRecord>;
    async fn get_household(&self, id: HouseholdId) -> StoreResult<Option<HouseholdRecord>>;
    async fn find_household_by_kk(&self, kk_number: &str) -> StoreResult<Option<HouseholdRecord>>;
    async fn list_households(
        &self,
        filter: HouseholdFilter,
        page: Page,
    ) -> StoreResult<Vec<HouseholdRecord>>;
    /// Applies `change` only if the household is still at `expected_revision` (optimistic locking:
    /// two offices editing the same family cannot silently overwrite each other).
    async fn update_household(&self, change: HouseholdChange) -> StoreResult<HouseholdRecord>;
    async fn list_household_revisions(&self, id: HouseholdId) -> StoreResult<Vec<RevisionRecord>>;

    async fn issue_card(&self, card: NewCard, actor: UserId) -> StoreResult<CardRecord>;
    async fn get_card(&self, id: CardId) -> StoreResult<Option<CardRecord>>;
    /// The card whose number has this lookup hash (`auth::pan_vault::PanVault::lookup_hash`).
    async fn find_card_by_pan_hash(&self, pan_hash: &[u8]) -> StoreResult<Option<CardRecord>>;
    /// Converts cards stored before numbers were protected (`cards.pan` in clear): each gets its
    /// hash, encrypted number and last four, and its clear number is removed. Answers how many.
    async fn protect_legacy_pans(
        &self,
        protect: &(dyn for<'p> Fn(&'p str) -> crate::auth::pan_vault::StoredPan + Send + Sync),
    ) -> StoreResult<u64>;
    /// How many cards' numbers are sealed under each key: (key id, cards), by key id.
    async fn pan_key_counts(&self) -> StoreResult<Vec<(i32, i64)>>;
    /// Up to `limit` cards after `after` (by id) whose number is sealed under a key other than
    /// `key_id`: (card, its key, the sealed number).
    async fn cards_sealed_under_other_keys(
        &self,
        key_id: i32,
        after: Option<CardId>,
        limit: u32,
    ) -> StoreResult<Vec<(CardId, i32, Vec<u8>)>>;
    /// Stores numbers sealed again, in one transaction, each only if its card is still under
    /// the key it was read with (a card replaced meanwhile is left alone). Answers how many.
    async fn reseal_pans(&self, rows: &[crate::model::records::ResealedPan]) -> StoreResult<u64>;
    /// An audit entry of a job that runs as no user (a key rotation from the command line).
    async fn audit_job(
        &self,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()>;
    async fn list_household_cards(&self, household: HouseholdId) -> StoreResult<Vec<CardRecord>>;
    /// Moves a card from one of `from` to `to`; `StoreError::StateConflict` when it was elsewhere.
    async fn change_card_status(&self, change: CardStatusChange) -> StoreResult<CardRecord>;
    /// Kills `old` (to `replaced`) and issues `new` in one transaction.
    async fn replace_card(
        &self,
        old: CardId,
        new: NewCard,
        reason: String,
        actor: UserId,
    ) -> StoreResult<CardRecord>;
    /// Stores a new PIN verification value and clears failures and any lock, if the card is in
    /// one of the states `from` (a state conflict otherwise).
    async fn set_pin(
        &self,
        card: CardId,
        pin_hash: Vec<u8>,
        from: &[CardStatus],
        actor: UserId,
    ) -> StoreResult<CardRecord>;
    /// Counts one wrong PIN atomically; on reaching `max_failures` the card locks until `lock_until`.
    async fn record_pin_failure(
        &self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord>;
    /// A right PIN: clears the failure count (only writes when there was something to clear).
    async fn clear_pin_failures(&self, card: CardId) -> StoreResult<()>;
    /// Clears a PIN lock by an office user, audited.
    async fn unlock_card(&self, card: CardId, actor: UserId) -> StoreResult<CardRecord>;

    async fn create_ewarung(
        &self,
        ewarung: NewEwarung,
        actor: UserId,
    ) -> StoreResult<EwarungRecord>;
    async fn get_ewarung(&self, id: EwarungId) -> StoreResult<Option<EwarungRecord>>;
    async fn list_ewarungs(&self, page: Page) -> StoreResult<Vec<EwarungRecord>>;
    async fn set_ewarung_status(
        &self,
        id: EwarungId,
        status: EwarungStatus,
        reason: String,
        actor: UserId,
    ) -> StoreResult<EwarungRecord>;
    /// Replaces a terminal's PIN key (provisioning or rotation), audited with its check value.
    async fn set_terminal_pin_key(
        &self,
        terminal_id: &str,
        key: WrappedPinKey,
        actor: UserId,
    ) -> StoreResult<TerminalRecord>;

    async fn create_terminal(
        &self,
        terminal: NewTerminal,
        actor: UserId,
    ) -> StoreResult<TerminalRecord>;
    async fn get_terminal(&self, terminal_id: &str) -> StoreResult<Option<TerminalRecord>>;
    /// The terminal's PIN key as wrapped for storage, if it has one (the page that follows an
    /// add or a rotation opens it to show the new key that one time).
    async fn terminal_pin_key(&self, terminal_id: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores a terminal's batch totals next to the host's for the same terminal and local date
    /// (completed purchases, refunds, reversed approvals), audited when they differ.
    async fn record_batch_totals(
        &self,
        terminal_id: &str,
        business_date: &str,
        terminal: BatchSide,
        actor: UserId,
    ) -> StoreResult<BatchTotalsRecord>;
    /// A device event a terminal reported (paper out, card read error, …), into the audit log.
    async fn record_terminal_event(
        &self,
        terminal_id: &str,
        event: &str,
        local_time: &str,
        actor: UserId,
    ) -> StoreResult<()>;
    async fn list_terminals(&self, ewarung: EwarungId) -> StoreResult<Vec<TerminalRecord>>;
    async fn set_terminal_status(
        &self,
        terminal_id: &str,
        status: TerminalStatus,
        reason: String,
        actor: UserId,
    ) -> StoreResult<TerminalRecord>;

    async fn list_audit(
        &self,
        subject_type: Option<String>,
        subject_id: Option<String>,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// The ledger side of the same database.
    fn ledger(&self) -> &dyn LedgerStore;
    /// Business dates: close, reconciliation, settlement.
    fn days(&self) -> &dyn DayStore;
    /// The web application's sessions and its users' preferences.
    fn sessions(&self) -> &dyn SessionStore;
    /// Counts and sums for the web application's pages.
    fn views(&self) -> &dyn ViewStore;
    /// The tamper-evident audit chain.
    fn audit_chain(&self) -> &dyn AuditChainStore;
    /// Household members (see `store::member_sql`).
    fn members(&self) -> &dyn MemberStore;
    /// Change requests to households (see `store::change_request_sql`).
    fn change_requests(&self) -> &dyn ChangeRequestStore;
    /// Field visits (see `store::visit_sql`).
    fn visits(&self) -> &dyn VisitStore;
    /// Authorised representatives (see `store::representative_sql`).
    fn representatives(&self) -> &dyn RepresentativeStore;
    /// Dormant balances and their notices (see `store::dormancy_sql`).
    fn dormancy(&self) -> &dyn DormancyStore;
    /// Re-verification campaigns (see `store::campaign_sql`).
    fn campaigns(&self) -> &dyn CampaignStore;
    /// Registry imports (see `store::registry_import_sql`).
    fn registry_imports(&self) -> &dyn RegistryImportStore;
    /// Complaints (see `store::complaint_sql`).
    fn complaints(&self) -> &dyn ComplaintStore;
}

/// Read models for the web application's pages (see `store::view_sql`).
#[async_trait]
pub trait ViewStore: Send + Sync + 'static {
    /// The office's overview of `month` (`YYYY-MM`); what would expire is counted against each
    /// program's cut-off period (`model::quota::expiry_cutoff`).
    async fn month_overview(
        &self,
        month: &str,
        expiry_cutoffs: &[(ProgramId, String)],
    ) -> StoreResult<crate::model::views::MonthOverview>;
    /// Completed sales per terminal of an E-Warung on a business date (`YYYY-MM-DD`).
    async fn terminal_sales(
        &self,
        ewarung: EwarungId,
        business_date: &str,
    ) -> StoreResult<Vec<crate::model::views::TerminalSales>>;
    /// A household's balance per programme.
    async fn household_balances(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<crate::model::views::ProgramBalance>>;
    /// A household's latest purchases (authorizations that moved or held value), newest first.
    async fn household_quota_credits(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<crate::model::views::QuotaCredit>>;
    async fn household_purchases(
        &self,
        household: HouseholdId,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::views::HouseholdPurchase>>;
    /// Audit entries matching `filter`, newest first; `before` pages back from an entry's id.
    async fn audit_log(
        &self,
        filter: &crate::model::views::AuditFilter,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::views::AuditLine>>;
    /// An E-Warung's purchases still held (approved, not yet completed), oldest first.
    async fn open_holds(
        &self,
        ewarung: EwarungId,
    ) -> StoreResult<Vec<crate::model::views::RecentRequest>>;
    /// An E-Warung's terminals with their last batch totals and their last request within
    /// `business_dates` (newest first; each date is one probe of the business-date index, so
    /// the redemption path carries no index for these pages).
    async fn terminal_states(
        &self,
        ewarung: EwarungId,
        business_dates: &[String],
    ) -> StoreResult<Vec<crate::model::views::TerminalState>>;
    /// An E-Warung's latest terminal requests of `business_dates`, newest first.
    async fn recent_requests(
        &self,
        ewarung: EwarungId,
        business_dates: &[String],
        limit: u32,
    ) -> StoreResult<Vec<crate::model::views::RecentRequest>>;
}

/// Browser sessions of the web application (see `store::session_sql`). Sessions are looked up
/// by the SHA-256 of the cookie's token; the token itself is never stored.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn create_session(&self, session: &WebSessionRecord) -> StoreResult<()>;
    /// The session with this token hash, whatever its state (the caller judges expiry).
    async fn find_session(&self, token_hash: &[u8]) -> StoreResult<Option<WebSessionRecord>>;
    /// Records activity, for the idle expiry.
    async fn touch_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends a session (logout, or a new login from the same browser).
    async fn revoke_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes up to `limit` sessions that can no longer sign anybody in: revoked, past their
    /// absolute expiry (`expires_at <= now`) or idle since before `idle_before`. Answers how
    /// many it deleted.
    async fn delete_ended_sessions(
        &self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64>;
    /// Keeps a refused form's flash (its errors and values as JSON) for the session's next view
    /// of `path`, replacing an older one for the same page.
    async fn put_flash(
        &self,
        token_hash: &[u8],
        path: &str,
        payload: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Takes (reads and deletes) the session's flash for `path`, if any.
    async fn take_flash(&self, token_hash: &[u8], path: &str) -> StoreResult<Option<String>>;
    /// The user with this id.
    async fn find_user(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    /// Every user whose API tokens may have been revoked: (user, token generation, disabled).
    /// Users never disabled and never given a new password or role are left out.
    async fn token_states(&self) -> StoreResult<Vec<(UserId, i64, bool)>>;
    /// Remembers the language a user chose.
    async fn set_locale(
        &self,
        user: UserId,
        locale: crate::domain::locale::Locale,
    ) -> StoreResult<()>;
    /// Disables a user and ends every session of theirs, in one transaction (audited).
    async fn disable_user(&self, user: UserId, actor: UserId) -> StoreResult<UserRecord>;
    /// Enables a disabled user again (audited).
    async fn enable_user(&self, user: UserId, actor: UserId) -> StoreResult<UserRecord>;
    /// Sets a new password hash and ends the user's sessions (audited).
    async fn set_password(
        &self,
        user: UserId,
        password_hash: String,
        actor: UserId,
    ) -> StoreResult<()>;
    /// Changes a user's role (and the E-Warung an operator is bound to, the kelurahan a
    /// verifier is) and ends their sessions, so the new role applies at once (audited).
    async fn change_role(
        &self,
        user: UserId,
        role: crate::domain::role::Role,
        ewarung: Option<EwarungId>,
        kelurahan: &[String],
        actor: UserId,
    ) -> StoreResult<UserRecord>;
    /// The kelurahan a verifier is bound to (none for every other role), in order.
    async fn kelurahan_of(&self, user: UserId) -> StoreResult<Vec<String>>;
}

/// Which exceptions of a run to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExceptionFilter {
    pub category: Option<crate::model::recon::Category>,
    pub open_only: bool,
    /// Only the exceptions of this E-Warung's terminals.
    pub ewarung: Option<EwarungId>,
}

/// The daily close, reconciliation runs and settlement (see `store::day_sql`).
#[async_trait]
pub trait DayStore: Send + Sync + 'static {
    /// Sets the time of day (WITA) from which activity belongs to the next business date.
    async fn set_cutoff(&self, cutoff: crate::business_day::Cutoff) -> StoreResult<()>;
    /// The date activity lands on now.
    async fn open_business_date(&self) -> StoreResult<String>;
    /// Closes `date`, or returns its existing close (`false`: it was closed before).
    async fn close_day(
        &self,
        date: chrono::NaiveDate,
        actor: UserId,
    ) -> StoreResult<(crate::close::DayClose, bool)>;
    async fn day_close(
        &self,
        date: chrono::NaiveDate,
    ) -> StoreResult<Option<crate::close::DayClose>>;
    /// Every terminal and its E-Warung.
    async fn terminal_owners(&self) -> StoreResult<Vec<(String, EwarungId)>>;
    /// Streams the host's entries of `date` (completed purchases, refunds) into `sink`; returns
    /// how many.
    async fn host_entries(
        &self,
        date: chrono::NaiveDate,
        sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
    ) -> StoreResult<i64>;
    /// Starts a run for a closed date.
    async fn start_recon_run(
        &self,
        date: chrono::NaiveDate,
        file_name: &str,
        actor: UserId,
    ) -> StoreResult<uuid::Uuid>;
    async fn add_recon_exceptions(
        &self,
        rows: &[crate::model::recon::ReconException],
    ) -> StoreResult<()>;
    /// Finishes a run with its report; when the same file was reconciled for the date before,
    /// this run is dropped and the earlier one returned. The run becomes the date's
    /// authoritative run, or waits for a second bank user (see [`crate::ledger::settlement_review`]).
    async fn finish_recon_run(
        &self,
        run: uuid::Uuid,
        report: &crate::model::recon::ReconReport,
        payables: &[crate::model::recon::Payable],
    ) -> StoreResult<crate::model::recon::ReconRun>;
    /// What settling after finished run `run` would change, against the date as it stands.
    async fn recon_review_preview(
        &self,
        run: uuid::Uuid,
    ) -> StoreResult<crate::ledger::settlement_review::Preview>;
    /// A second bank user confirms (the run becomes authoritative) or rejects a waiting run,
    /// audited with the preview it was decided on.
    async fn decide_recon_review(
        &self,
        decision: &crate::ledger::settlement_review::ReviewDecision,
    ) -> StoreResult<crate::model::recon::ReconRun>;
    /// Drops a run that failed part way.
    async fn abandon_recon_run(&self, run: uuid::Uuid) -> StoreResult<()>;
    async fn recon_run(&self, id: uuid::Uuid)
        -> StoreResult<Option<crate::model::recon::ReconRun>>;
    async fn list_recon_runs(
        &self,
        date: chrono::NaiveDate,
    ) -> StoreResult<Vec<crate::model::recon::ReconRun>>;
    async fn recon_exceptions(
        &self,
        run: uuid::Uuid,
        filter: &ExceptionFilter,
        page: Page,
    ) -> StoreResult<Vec<crate::model::recon::ReconException>>;
    /// Closes an exception with a reason, audited; refused when already resolved.
    async fn resolve_exception(
        &self,
        id: uuid::Uuid,
        reason: &str,
        actor: UserId,
    ) -> StoreResult<crate::model::recon::ReconException>;
    /// Runs `job` in one write transaction on the day's tables and commits it (nothing of it when
    /// it fails). Settlement's settle job runs here.
    async fn transact_day(&self, job: &dyn ErasedDayJob) -> StoreResult<Box<dyn Any + Send>>;
    async fn settlements(
        &self,
        date: chrono::NaiveDate,
    ) -> StoreResult<Vec<crate::model::settlement::SettlementRecord>>;
}

/// A write transaction on the bank's day as settlement's rules see it: reads and writes only,
/// each one statement; the decisions are the job's. The date's authority row lock, once taken,
/// is held until the commit.
#[async_trait]
pub trait DayTx: Send {
    /// Whether `date` has been closed.
    async fn is_closed(&mut self, date: &str) -> StoreResult<bool>;
    /// Takes the date's authority row lock and returns its authoritative run, if any: a run
    /// finishing, a review decided or a second settle of the date waits for this transaction.
    async fn lock_authority(&mut self, date: &str) -> StoreResult<Option<uuid::Uuid>>;
    /// A run of `date` waiting for a second bank user, if any.
    async fn pending_review(&mut self, date: &str) -> StoreResult<Option<uuid::Uuid>>;
    /// What `run` matched per (E-Warung, program).
    async fn payables(&mut self, run: uuid::Uuid)
        -> StoreResult<Vec<crate::model::recon::Payable>>;
    /// What the date's entries settled so far, per (E-Warung, program).
    async fn settled(&mut self, date: &str) -> StoreResult<Vec<(EwarungId, ProgramId, i64)>>;
    /// The ledger, in this same transaction.
    async fn ledger(&mut self) -> StoreResult<Box<dyn crate::ledger::LedgerTx + '_>>;
    async fn insert_settlement_entry(
        &mut self,
        entry: &crate::model::settlement::NewSettlementEntry,
    ) -> StoreResult<()>;
    /// An audit entry by `actor` in this transaction.
    async fn audit(
        &mut self,
        actor: UserId,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()>;
    /// Every entry of `date`, oldest first.
    async fn settlement_entries(
        &mut self,
        date: &str,
    ) -> StoreResult<Vec<crate::model::settlement::SettlementRecord>>;
}

/// Work on the bank's day, run by [`DayStore::transact_day`] in one transaction.
#[async_trait]
pub trait DayJob: Send + Sync {
    type Output: Send + 'static;
    async fn run(&self, tx: &mut dyn DayTx) -> StoreResult<Self::Output>;
}

/// [`DayJob`] with its output type erased, so that `DayStore` stays object-safe.
#[async_trait]
pub trait ErasedDayJob: Send + Sync {
    async fn run_erased(&self, tx: &mut dyn DayTx) -> StoreResult<Box<dyn Any + Send>>;
}

#[async_trait]
impl<J: DayJob> ErasedDayJob for J {
    async fn run_erased(&self, tx: &mut dyn DayTx) -> StoreResult<Box<dyn Any + Send>> {
        Ok(Box::new(self.run(tx).await?))
    }
}

/// A write transaction on a quota batch's lines as posting's rules see it: each step one set
/// statement over every line of the batch; the order and the decisions are the job's.
#[async_trait]
pub trait QuotaPostingTx: Send {
    async fn batch(&mut self, batch: QuotaBatchId) -> StoreResult<Option<QuotaBatchRecord>>;
    /// Marks a `validated` batch posted by `approver`; `false` when it is not `validated`.
    async fn mark_posted(
        &mut self,
        batch: QuotaBatchId,
        approver: UserId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Sets each line's outcome from the registry as it stands now: `skipped_suspended`,
    /// `skipped_exited` (the household's status), `already_loaded` (a credit for the program,
    /// household and period exists), else `credited`.
    async fn classify_lines(&mut self, batch: QuotaBatchId) -> StoreResult<()>;
    /// The programs the batch's credited lines load.
    async fn credited_programs(&mut self, batch: QuotaBatchId) -> StoreResult<Vec<ProgramId>>;
    /// The ledger, in this same transaction.
    async fn ledger(&mut self) -> StoreResult<Box<dyn crate::ledger::LedgerTx + '_>>;
    /// An entitlement account for each credited household the program has none for yet.
    async fn open_entitlements(
        &mut self,
        batch: QuotaBatchId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// One transfer of `kind` per credited line, from the line's account of kind `debit` to its
    /// account of kind `credit` (the accounts exist), for the line's amount.
    async fn insert_transfers(
        &mut self,
        batch: QuotaBatchId,
        kind: crate::ledger::TransferKind,
        debit: crate::ledger::AccountKind,
        credit: crate::ledger::AccountKind,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records each credited line as its household's credit for the period.
    async fn record_credits(&mut self, batch: QuotaBatchId) -> StoreResult<()>;
    /// Adds the batch's new transfers to their accounts' posted totals.
    async fn add_transfers_to_balances(&mut self, batch: QuotaBatchId) -> StoreResult<()>;
    /// Keeps the batch's rows and amount by outcome with it, for its reports.
    async fn keep_outcomes(&mut self, batch: QuotaBatchId) -> StoreResult<()>;
    async fn report(&mut self, batch: QuotaBatchId) -> StoreResult<Option<BatchReport>>;
    /// An audit entry by `actor` in this transaction.
    async fn audit(
        &mut self,
        actor: UserId,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()>;
}

/// Work on a quota batch, run by [`LedgerStore::transact_quota_posting`] in one transaction.
#[async_trait]
pub trait QuotaPostingJob: Send + Sync {
    type Output: Send + 'static;
    async fn run(&self, tx: &mut dyn QuotaPostingTx) -> StoreResult<Self::Output>;
}

/// [`QuotaPostingJob`] with its output type erased, so that `LedgerStore` stays object-safe.
#[async_trait]
pub trait ErasedQuotaPostingJob: Send + Sync {
    async fn run_erased(&self, tx: &mut dyn QuotaPostingTx) -> StoreResult<Box<dyn Any + Send>>;
}

#[async_trait]
impl<J: QuotaPostingJob> ErasedQuotaPostingJob for J {
    async fn run_erased(&self, tx: &mut dyn QuotaPostingTx) -> StoreResult<Box<dyn Any + Send>> {
        Ok(Box::new(self.run(tx).await?))
    }
}

/// Runs a typed quota posting job through [`LedgerStore::transact_quota_posting`].
pub async fn run_quota_posting_job<J: QuotaPostingJob>(
    store: &dyn Store,
    job: J,
) -> StoreResult<J::Output> {
    let output = store.ledger().transact_quota_posting(&job).await?;
    output
        .downcast::<J::Output>()
        .map(|boxed| *boxed)
        .map_err(|_| {
            StoreError::Database(sqlx::Error::Protocol(
                "quota posting job returned another type".into(),
            ))
        })
}

/// Runs a typed day job through [`DayStore::transact_day`].
pub async fn run_day_job<J: DayJob>(store: &dyn Store, job: J) -> StoreResult<J::Output> {
    let output = store.days().transact_day(&job).await?;
    output
        .downcast::<J::Output>()
        .map(|boxed| *boxed)
        .map_err(|_| {
            StoreError::Database(sqlx::Error::Protocol(
                "day job returned another type".into(),
            ))
        })
}

/// The ledger: jobs that move value, quota batches, and the checks over all of it.
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Runs `job` in one write transaction and commits it before answering (see `ledger::tx`).
    async fn transact(&self, job: Arc<dyn ErasedJob>) -> StoreResult<Box<dyn Any + Send>>;
    /// Runs `job` in a transaction of its own, never batched with others: the per-commit
    /// baseline that `ssn-bench redeem` measures group commit against (the service commits
    /// ~1.7× what this does, docs/benchmarks.md). Kept in the store because the baseline must run
    /// the very writer and statements the service runs; nothing in the service calls it.
    async fn transact_alone(&self, job: Arc<dyn ErasedJob>) -> StoreResult<Box<dyn Any + Send>>;

    /// Starts a batch in `validating`; rows arrive with [`Self::stage_quota_chunk`].
    async fn create_quota_batch(
        &self,
        source_name: &str,
        uploaded_by: UserId,
    ) -> StoreResult<QuotaBatchRecord>;
    /// Stages rows that passed the per-row checks and the problems of those that did not; a row
    /// whose KK number names no household becomes a problem too. Answers, per row, what posting
    /// it would do now (`None`: no household), for the caller's `BatchTally` (in `quota`).
    async fn stage_quota_chunk(
        &self,
        batch: QuotaBatchId,
        lines: &[StagedLine],
        errors: &[LineError],
    ) -> StoreResult<Vec<Option<LineOutcome>>>;
    /// Records the whole-file results (the same household twice, the totals) and settles the
    /// batch as `validated` or `invalid`.
    async fn finish_quota_batch(
        &self,
        batch: QuotaBatchId,
        rows: i64,
        summary: BatchSummary,
    ) -> StoreResult<BatchReport>;
    /// Removes a batch still `validating` (its upload failed or its caller went away) and its
    /// staged lines and errors; a batch in any other state is kept. Answers whether it removed one.
    async fn abandon_quota_batch(&self, batch: QuotaBatchId) -> StoreResult<bool>;
    async fn quota_batch_report(&self, batch: QuotaBatchId) -> StoreResult<Option<BatchReport>>;
    async fn list_quota_batches(&self, page: Page) -> StoreResult<Vec<QuotaBatchRecord>>;
    async fn list_quota_errors(
        &self,
        batch: QuotaBatchId,
        after_line: i64,
        limit: u32,
    ) -> StoreResult<Vec<LineError>>;
    /// Runs `job` in one write transaction and commits it (nothing of it when it fails). The
    /// quota service's posting job runs here.
    async fn transact_quota_posting(
        &self,
        job: &dyn ErasedQuotaPostingJob,
    ) -> StoreResult<Box<dyn Any + Send>>;
    /// Returns entitlement older than each program's carry-over to program funding.
    async fn expire_entitlements(
        &self,
        as_of: chrono::NaiveDate,
        actor: Option<UserId>,
    ) -> StoreResult<Vec<ExpiredEntitlement>>;
    /// Recomputes every balance from the transfers and checks every invariant.
    async fn verify_ledger(&self) -> StoreResult<LedgerCheck>;
}

/// Runs a typed ledger job through [`LedgerStore::transact`].
pub async fn run_job<J: LedgerJob>(store: &dyn Store, job: J) -> StoreResult<J::Output> {
    let output = store.ledger().transact(Arc::new(job)).await?;
    output
        .downcast::<J::Output>()
        .map(|boxed| *boxed)
        .map_err(|_| {
            StoreError::Database(sqlx::Error::Protocol(
                "ledger job returned another type".into(),
            ))
        })
}

/// The current time at the precision both backends store (PostgreSQL keeps microseconds), so a
/// value written and read back compares equal on either engine.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// Keyset pagination: rows after `after` (an id), at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: Option<uuid::Uuid>,
    pub limit: u32,
}

impl Page {
    pub const MAX_LIMIT: u32 = 500;
    pub const DEFAULT_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: limit.min(Self::MAX_LIMIT),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub status: Option<HouseholdStatus>,
    pub kecamatan: Option<String>,
    pub head_nik: Option<String>,
    /// Any member's NIK, the head's included.
    pub member_nik: Option<String>,
    pub kk_number: Option<String>,
    pub kelurahan: Option<String>,
    /// Part of the head's name, in any case.
    pub name_contains: Option<String>,
    /// Only households in one of these kelurahan (a verifier's reach).
    pub within: Option<Vec<String>>,
}

/// Card status change request: `from` lists the states the change is valid from.
#[derive(Debug, Clone)]
pub struct CardStatusChange {
    pub card: CardId,
    /// Never empty.
    pub from: Vec<CardStatus>,
    pub to: CardStatus,
    pub reason: String,
    pub actor: UserId,
}

/// Opens the store named by `url`: `sqlite://…` or `postgres://…`, migrated to the latest schema.
pub async fn open(url: &str, options: &ConnectOptions) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let engine = sqlite::SqliteStore::open(url, options).await?;
        Ok(Arc::new(sql_store::SqlStore::new(engine)))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let engine = postgres::PgStore::open(url, options).await?;
        Ok(Arc::new(sql_store::SqlStore::new(engine)))
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://… or postgres://…)")
    }
}

/// Pool settings shared by both backends.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub busy_timeout: std::time::Duration,
    /// Run pending migrations when opening (the `serve` default; `ssn migrate` does it explicitly).
    pub migrate: bool,
    /// SQLite: when and how the WAL is checkpointed (see `wal_checkpoint`).
    pub wal: sqlite::wal_checkpoint::WalPolicy,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: std::time::Duration::from_secs(5),
            migrate: true,
            wal: sqlite::wal_checkpoint::WalPolicy::default(),
        }
    }
}

/// The newest row id in a page, to pass as `after` for the next page.
pub fn next_after<T>(rows: &[T], id: impl Fn(&T) -> uuid::Uuid, limit: u32) -> Option<uuid::Uuid> {
    (rows.len() as u32 == limit)
        .then(|| rows.last().map(id))
        .flatten()
}
