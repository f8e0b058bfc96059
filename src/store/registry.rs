//! The registry (users, programs, households, cards, E-Warungs, terminals, the audit log): its SQL
//! written once, as [`Store`](crate::store::Store) for [`SqlStore`] on either engine.
//! Placeholders are `$N`, which both PostgreSQL and SQLite accept; every value is bound with its
//! native Rust type, so uuids, timestamps and integer money keep their types on each engine. The
//! engine supplies `reader()` (a pool for reads) and `begin_write()` (how a write transaction
//! starts: `BEGIN IMMEDIATE` in SQLite's writer's turn, a plain transaction on PostgreSQL).

/// Records `before → after` for one field when it changed.
pub(crate) fn diff_field(
    changes: &mut serde_json::Map<String, serde_json::Value>,
    field: &str,
    before: &str,
    after: &str,
) {
    if before != after {
        changes.insert(
            field.to_string(),
            serde_json::json!({ "from": before, "to": after }),
        );
    }
}

use crate::store::ledger_sql::RowsAffected;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::domain::{
    card::CardStatus,
    ids::{CardId, EwarungId, HouseholdId, ProgramId, UserId},
    terminal::{EwarungStatus, TerminalStatus},
};
use crate::store::sql_text::{contains_pattern, placeholders};
use crate::store::{
    sql_store::{Engine, SqlStore},
    AuditRecord, BatchSide, BatchTotalsRecord, CardRecord, CardStatusChange, CatalogItemRecord,
    CountAndTotal, EwarungRecord, HouseholdChange, HouseholdFilter, HouseholdRecord, NewCard,
    NewCatalogItem, NewEwarung, NewHousehold, NewProgram, NewTerminal, NewUser, Page,
    ProgramRecord, RevisionRecord, StoreError, StoreResult, TerminalRecord, UserRecord,
    WrappedPinKey, WriteTx,
};

/// Appends one audit entry inside the caller's transaction.
pub(crate) async fn audit<DB: sqlx::Database>(
    tx: &mut WriteTx<DB>,
    actor: Option<UserId>,
    action: &str,
    subject: (&str, String),
    detail: serde_json::Value,
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<UserId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB>,
    str: sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, action, subject_type, subject_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(crate::store::now())
    .bind(actor)
    .bind(action)
    .bind(subject.0)
    .bind(subject.1)
    .bind(Json(detail))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a card (active, with its first PIN) inside the caller's transaction.
pub(crate) async fn insert_card<DB: sqlx::Database>(
    tx: &mut WriteTx<DB>,
    card: &NewCard,
    replaces: Option<CardId>,
    actor: UserId,
) -> StoreResult<CardRecord>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> CardRecord: sqlx::FromRow<'r, DB::Row>,
{
    let now = crate::store::now();
    let record = sqlx::query_as::<_, CardRecord>(
        "INSERT INTO cards (id, household_id, pan_hash, pan_encrypted, pan_key_id, pan_last4, status,
                            pin_hash, pin_failures, replaces, issued_by, issued_at, updated_at,
                            representative_id)
         VALUES ($1, $2, $3, $4, $10, $5, 'active', $6, 0, $7, $8, $9, $9, $11) RETURNING *",
    )
    .bind(CardId::new().0)
    .bind(card.household_id.0)
    .bind(card.pan.hash.clone())
    .bind(card.pan.sealed.clone())
    .bind(card.pan.last4.clone())
    .bind(card.pin_hash.clone())
    .bind(replaces.map(|id| id.0))
    .bind(actor.0)
    .bind(now)
    .bind(card.pan.key_id as i32)
    .bind(card.representative_id.map(|id| id.0))
    .fetch_one(&mut **tx)
    .await?;
    Ok(record)
}

impl<E: Engine> SqlStore<E>
where
    // How statements run: on a pool (reads) or a transaction's connection (writes).
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    // The values bound (ids are uuids, states are text).
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q [u8]: sqlx::Encode<'q, E::Db>,
    [u8]: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<CardId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<EwarungId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    // The rows read.
    for<'r> UserRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ProgramRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> CatalogItemRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> HouseholdRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> RevisionRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> CardRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> EwarungRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> TerminalRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> AuditRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (CardStatus,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (CardId, String): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64, i64, i64, i64, i64, i64): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    /// Tells "no such card" from "card in the wrong state" after a conditional update
    /// matched nothing.
    async fn card_state_error(tx: &mut WriteTx<E::Db>, card: CardId) -> StoreError {
        let status: Result<Option<CardStatus>, sqlx::Error> =
            sqlx::query_scalar("SELECT status FROM cards WHERE id = $1")
                .bind(card)
                .fetch_optional(&mut **tx)
                .await;
        match status {
            Ok(Some(status)) => StoreError::StateConflict {
                entity: "card",
                actual: status.to_string(),
            },
            Ok(None) => StoreError::NotFound { entity: "card" },
            Err(error) => error.into(),
        }
    }
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::Store for SqlStore<E>
where
    // How statements run: on a pool (reads) or a transaction's connection (writes).
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    // The values bound (ids are uuids, states are text).
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q [u8]: sqlx::Encode<'q, E::Db>,
    [u8]: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<CardId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<EwarungId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    // What the ledger and the business days bind and read, so that this store is also their
    // `LedgerStore` and `DayStore` (see `ledger_store`, `day_sql`).
    for<'q> Option<i64>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::TransferId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q crate::model::recon::ReconReport>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q crate::close::DayClose>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<crate::model::recon::ReconReport>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<crate::close::DayClose>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> bool: sqlx::Decode<'r, E::Db>,
    for<'q> Option<crate::domain::ids::QuotaBatchId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    // Rows read column by column (the ledger's quota and verify queries).
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, E::Db>,
    for<'r> Vec<u8>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    // The rows read.
    for<'r> UserRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ProgramRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> CatalogItemRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> HouseholdRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> RevisionRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> CardRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> EwarungRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> TerminalRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> AuditRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (CardStatus,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (CardId, String): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64, i64, i64, i64, i64, i64): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> crate::model::members::MemberRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> crate::model::members::NikHolder: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i32>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> crate::model::change_requests::ChangeRequestRecord:
        sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> crate::model::visits::VisitRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> crate::model::complaints::ComplaintRecord:
        sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> crate::model::complaints::ComplainedPurchase:
        sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    fn backend(&self) -> &'static str {
        self.engine.name()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.engine.reader())
            .await?;
        Ok(())
    }

    fn pool_usage(&self) -> crate::store::PoolUsage {
        let pool = self.engine.reader();
        crate::store::PoolUsage {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        }
    }

    async fn close(&self) {
        self.engine.reader().close().await;
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<UserRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, UserRecord>(
            "INSERT INTO users (id, username, password_hash, role, ewarung_id, created_at, nik)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(UserId::new())
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.role)
        .bind(user.ewarung_id)
        .bind(crate::store::now())
        .bind(user.nik.clone())
        .fetch_one(&mut *tx)
        .await?;
        let mut record = record;
        crate::store::session_sql::bind_kelurahan(&mut tx, record.id, &user.kelurahan).await?;
        record.kelurahan = user.kelurahan.clone();
        let detail = json!({ "username": user.username, "role": user.role.as_str(),
                             "ewarung_id": user.ewarung_id, "kelurahan": user.kelurahan });
        audit(
            &mut tx,
            user.actor,
            "user.create",
            ("user", record.id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_users(&self, page: Page) -> StoreResult<Vec<UserRecord>> {
        Ok(
            sqlx::query_as(
                "SELECT * FROM users WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
            )
            .bind(page.after)
            .bind(i64::from(page.limit))
            .fetch_all(self.engine.reader())
            .await?,
        )
    }

    async fn create_program(
        &self,
        program: NewProgram,
        actor: UserId,
    ) -> StoreResult<ProgramRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, ProgramRecord>(
            "INSERT INTO programs (id, code, name, currency, default_monthly_amount_minor,
                                   carry_over_months, created_at)
             VALUES ($1, $2, $3, 'IDR', $4, $5, $6) RETURNING *",
        )
        .bind(ProgramId::new())
        .bind(&program.code)
        .bind(&program.name)
        .bind(program.default_monthly_amount_minor)
        .bind(program.carry_over_months)
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await?;
        let detail = json!({ "code": program.code, "name": program.name,
            "default_monthly_amount_minor": program.default_monthly_amount_minor,
            "carry_over_months": program.carry_over_months });
        audit(
            &mut tx,
            Some(actor),
            "program.create",
            ("program", record.code.clone()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn find_program_by_code(&self, code: &str) -> StoreResult<Option<ProgramRecord>> {
        Ok(sqlx::query_as("SELECT * FROM programs WHERE code = $1")
            .bind(code)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_programs(&self) -> StoreResult<Vec<ProgramRecord>> {
        Ok(sqlx::query_as("SELECT * FROM programs ORDER BY code")
            .fetch_all(self.engine.reader())
            .await?)
    }

    async fn add_catalog_item(
        &self,
        item: NewCatalogItem,
        actor: UserId,
    ) -> StoreResult<CatalogItemRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, CatalogItemRecord>(
            "INSERT INTO catalog_items (program_id, sku, name, unit, commodity_group,
                                        max_unit_price_minor, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(item.program_id)
        .bind(&item.sku)
        .bind(&item.name)
        .bind(&item.unit)
        .bind(item.commodity_group)
        .bind(item.max_unit_price_minor)
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await?;
        let detail = json!({ "name": item.name, "unit": item.unit,
            "group": item.commodity_group.as_str(),
            "max_unit_price_minor": item.max_unit_price_minor });
        let subject = ("catalog_item", format!("{}/{}", item.program_id, item.sku));
        audit(&mut tx, Some(actor), "catalog_item.create", subject, detail).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_catalog_items(&self, program: ProgramId) -> StoreResult<Vec<CatalogItemRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM catalog_items WHERE program_id = $1 ORDER BY sku")
                .bind(program)
                .fetch_all(self.engine.reader())
                .await?,
        )
    }

    async fn set_price_cap(
        &self,
        program: ProgramId,
        sku: &str,
        max_unit_price_minor: i64,
        reason: String,
        actor: UserId,
    ) -> StoreResult<CatalogItemRecord> {
        let mut tx = self.engine.begin_write().await?;
        let current: Option<(i64,)> = sqlx::query_as(
            "SELECT max_unit_price_minor FROM catalog_items WHERE program_id = $1 AND sku = $2",
        )
        .bind(program)
        .bind(sku)
        .fetch_optional(&mut *tx)
        .await?;
        let (previous,) = current.ok_or(StoreError::NotFound {
            entity: "catalog_item",
        })?;
        // Conditional on the cap just read, so the audit's "from" is the cap this replaced.
        let record = sqlx::query_as::<_, CatalogItemRecord>(
            "UPDATE catalog_items SET max_unit_price_minor = $3
             WHERE program_id = $1 AND sku = $2 AND max_unit_price_minor = $4 RETURNING *",
        )
        .bind(program)
        .bind(sku)
        .bind(max_unit_price_minor)
        .bind(previous)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::LostRace("the catalog item"))?;
        let detail = json!({ "from_minor": previous, "to_minor": max_unit_price_minor,
            "reason": reason });
        let subject = ("catalog_item", format!("{program}/{sku}"));
        audit(
            &mut tx,
            Some(actor),
            "catalog_item.price_cap",
            subject,
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn create_household(
        &self,
        household: NewHousehold,
        actor: UserId,
    ) -> StoreResult<HouseholdRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        let record = sqlx::query_as::<_, HouseholdRecord>(
            "INSERT INTO households (id, kk_number, head_nik, head_name, street, rt, rw,
                 kelurahan, kecamatan, status, status_reason, revision, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', NULL, 1, $10, $10)
             RETURNING *",
        )
        .bind(HouseholdId::new())
        .bind(&household.kk_number)
        .bind(&household.head_nik)
        .bind(&household.head_name)
        .bind(&household.address.street)
        .bind(&household.address.rt)
        .bind(&household.address.rw)
        .bind(&household.address.kelurahan)
        .bind(&household.address.kecamatan)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // The head is the household's first member; sex and birth date as the NIK encodes
        // them (unknown when it encodes none).
        let today = crate::business_day::local_today(now);
        let birth = crate::domain::identity::Nik::parse(&record.head_nik)
            .ok()
            .and_then(|nik| crate::domain::member::nik_birth(&nik, today));
        sqlx::query(
            "INSERT INTO household_members (id, household_id, nik, name, relation, sex, birth_date,
                 released_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'head', $5, $6, NULL, $7, $7)",
        )
        .bind(crate::domain::ids::MemberId::new())
        .bind(record.id)
        .bind(&record.head_nik)
        .bind(&record.head_name)
        .bind(birth.map(|birth| birth.sex.as_str()))
        .bind(birth.map(|birth| birth.birth_date.format("%Y-%m-%d").to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let changes = json!({ "registered": { "kk_number": record.kk_number,
            "head_nik": record.head_nik, "head_name": record.head_name,
            "address": record.address } });
        sqlx::query(
            "INSERT INTO household_revisions (household_id, revision, changed_by, changed_at, reason, changes)
             VALUES ($1, 1, $2, $3, 'registered', $4)",
        )
        .bind(record.id)
        .bind(actor)
        .bind(now)
        .bind(Json(changes.clone()))
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(actor),
            "household.register",
            ("household", record.id.to_string()),
            changes,
        )
        .await?;
        if let Some(approval) = household.request {
            crate::store::change_request_sql::mark_applied(&mut tx, approval, record.id, 1).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn get_household(&self, id: HouseholdId) -> StoreResult<Option<HouseholdRecord>> {
        Ok(sqlx::query_as("SELECT * FROM households WHERE id = $1")
            .bind(id)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn find_household_by_kk(&self, kk_number: &str) -> StoreResult<Option<HouseholdRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM households WHERE kk_number = $1")
                .bind(kk_number)
                .fetch_optional(self.engine.reader())
                .await?,
        )
    }

    async fn list_households(
        &self,
        filter: HouseholdFilter,
        page: Page,
    ) -> StoreResult<Vec<HouseholdRecord>> {
        // A verifier's reach: their kelurahan, one placeholder each (never more than 20).
        let Some(within) =
            crate::store::sql_text::within_kelurahan("kelurahan", filter.within.as_deref(), 10)
        else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT * FROM households
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kecamatan = $2)
               AND ($3 IS NULL OR head_nik = $3) AND ($4 IS NULL OR id > $4)
               AND ($6 IS NULL OR kk_number = $6) AND ($7 IS NULL OR kelurahan = $7)
               AND ($8 IS NULL OR lower(head_name) LIKE $8 ESCAPE '\\')
               AND ($9 IS NULL OR id IN (SELECT household_id FROM household_members
                                         WHERE nik = $9))
               {within}
             ORDER BY id LIMIT $5"
        );
        let mut query = sqlx::query_as(&sql)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.kecamatan)
            .bind(filter.head_nik)
            .bind(page.after)
            .bind(i64::from(page.limit))
            .bind(filter.kk_number)
            .bind(filter.kelurahan)
            .bind(filter.name_contains.map(|name| contains_pattern(&name)))
            .bind(filter.member_nik);
        for name in filter.within.unwrap_or_default() {
            query = query.bind(name);
        }
        Ok(query.fetch_all(self.engine.reader()).await?)
    }

    async fn update_household(&self, change: HouseholdChange) -> StoreResult<HouseholdRecord> {
        let mut tx = self.engine.begin_write().await?;
        let current: HouseholdRecord = sqlx::query_as("SELECT * FROM households WHERE id = $1")
            .bind(change.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "household",
            })?;
        if current.revision != change.expected_revision {
            return Err(StoreError::StaleRevision {
                entity: "household",
                actual: current.revision,
            });
        }
        let head_nik = change.head_nik.unwrap_or_else(|| current.head_nik.clone());
        let head_name = change
            .head_name
            .unwrap_or_else(|| current.head_name.clone());
        let address = change.address.unwrap_or_else(|| current.address.clone());
        let status = change.status.unwrap_or(current.status);
        let mut changes = serde_json::Map::new();
        diff_field(&mut changes, "head_nik", &current.head_nik, &head_nik);
        diff_field(&mut changes, "head_name", &current.head_name, &head_name);
        diff_field(
            &mut changes,
            "address.street",
            &current.address.street,
            &address.street,
        );
        diff_field(&mut changes, "address.rt", &current.address.rt, &address.rt);
        diff_field(&mut changes, "address.rw", &current.address.rw, &address.rw);
        diff_field(
            &mut changes,
            "address.kelurahan",
            &current.address.kelurahan,
            &address.kelurahan,
        );
        diff_field(
            &mut changes,
            "address.kecamatan",
            &current.address.kecamatan,
            &address.kecamatan,
        );
        diff_field(
            &mut changes,
            "status",
            current.status.as_str(),
            status.as_str(),
        );
        if changes.is_empty() {
            // Nothing changed: answer with the current state and write no empty revision.
            return Ok(current);
        }
        let status_reason = if status != current.status {
            Some(change.reason.clone())
        } else {
            current.status_reason.clone()
        };
        let now = crate::store::now();
        let updated = sqlx::query_as::<_, HouseholdRecord>(
            "UPDATE households SET head_nik = $3, head_name = $4, street = $5, rt = $6, rw = $7,
                 kelurahan = $8, kecamatan = $9, status = $10, status_reason = $11,
                 revision = revision + 1, updated_at = $12
             WHERE id = $1 AND revision = $2 RETURNING *",
        )
        .bind(change.id)
        .bind(change.expected_revision)
        .bind(&head_nik)
        .bind(&head_name)
        .bind(&address.street)
        .bind(&address.rt)
        .bind(&address.rw)
        .bind(&address.kelurahan)
        .bind(&address.kecamatan)
        .bind(status)
        .bind(status_reason)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::StaleRevision {
            entity: "household",
            actual: current.revision + 1,
        })?;
        // The head member follows the household's copy of its NIK and name.
        sqlx::query(
            "UPDATE household_members SET nik = $2, name = $3, updated_at = $4
             WHERE household_id = $1 AND relation = 'head' AND (nik <> $2 OR name <> $3)",
        )
        .bind(updated.id)
        .bind(&updated.head_nik)
        .bind(&updated.head_name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // An exited household releases its members' NIKs; one that comes back holds them again
        // (refused by the schema if another household holds one meanwhile).
        let exited = crate::domain::household::HouseholdStatus::Exited;
        if (current.status == exited) != (updated.status == exited) {
            let released = (updated.status == exited).then_some(now);
            sqlx::query("UPDATE household_members SET released_at = $2 WHERE household_id = $1")
                .bind(updated.id)
                .bind(released)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO household_revisions (household_id, revision, changed_by, changed_at, reason, changes)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(updated.id)
        .bind(updated.revision)
        .bind(change.actor)
        .bind(now)
        .bind(&change.reason)
        .bind(Json(serde_json::Value::Object(changes)))
        .execute(&mut *tx)
        .await?;
        if let Some(approval) = change.request {
            crate::store::change_request_sql::mark_applied(
                &mut tx,
                approval,
                updated.id,
                updated.revision,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    async fn list_household_revisions(&self, id: HouseholdId) -> StoreResult<Vec<RevisionRecord>> {
        Ok(sqlx::query_as(
            "SELECT * FROM household_revisions WHERE household_id = $1 ORDER BY revision",
        )
        .bind(id)
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn issue_card(&self, card: NewCard, actor: UserId) -> StoreResult<CardRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = insert_card(&mut tx, &card, None, actor).await?;
        let detail = json!({ "household_id": card.household_id, "pan_last4": &card.pan.last4 });
        audit(
            &mut tx,
            Some(actor),
            "card.issue",
            ("card", record.id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_card(&self, id: CardId) -> StoreResult<Option<CardRecord>> {
        Ok(sqlx::query_as("SELECT * FROM cards WHERE id = $1")
            .bind(id)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn find_card_by_pan_hash(&self, pan_hash: &[u8]) -> StoreResult<Option<CardRecord>> {
        Ok(sqlx::query_as("SELECT * FROM cards WHERE pan_hash = $1")
            .bind(pan_hash)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn protect_legacy_pans(
        &self,
        protect: &(dyn for<'p> Fn(&'p str) -> crate::auth::pan_vault::StoredPan + Send + Sync),
    ) -> StoreResult<u64> {
        let mut tx = self.engine.begin_write().await?;
        let legacy: Vec<(CardId, String)> =
            sqlx::query_as("SELECT id, pan FROM cards WHERE pan IS NOT NULL")
                .fetch_all(&mut *tx)
                .await?;
        for (id, pan) in &legacy {
            let stored = protect(pan);
            sqlx::query(
                "UPDATE cards SET pan = NULL, pan_hash = $2, pan_encrypted = $3, pan_last4 = $4, pan_key_id = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&stored.hash)
            .bind(&stored.sealed)
            .bind(&stored.last4)
            .bind(stored.key_id as i32)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(legacy.len() as u64)
    }

    async fn pan_key_counts(&self) -> StoreResult<Vec<(i32, i64)>> {
        Ok(sqlx::query_as(
            "SELECT pan_key_id, CAST(COUNT(*) AS BIGINT) FROM cards GROUP BY pan_key_id ORDER BY pan_key_id",
        )
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn cards_sealed_under_other_keys(
        &self,
        key_id: i32,
        after: Option<CardId>,
        limit: u32,
    ) -> StoreResult<Vec<(CardId, i32, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT id, pan_key_id, pan_encrypted FROM cards
             WHERE pan_key_id <> $1 AND pan_encrypted IS NOT NULL AND ($2 IS NULL OR id > $2)
             ORDER BY id LIMIT $3",
        )
        .bind(key_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn reseal_pans(&self, rows: &[crate::model::records::ResealedPan]) -> StoreResult<u64> {
        let mut tx = self.engine.begin_write().await?;
        let mut changed = 0;
        for row in rows {
            changed += sqlx::query(
                "UPDATE cards SET pan_encrypted = $2, pan_key_id = $3 WHERE id = $1 AND pan_key_id = $4",
            )
            .bind(row.card)
            .bind(&row.sealed)
            .bind(row.to_key)
            .bind(row.from_key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn audit_job(
        &self,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        audit(&mut tx, None, action, subject, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_household_cards(&self, household: HouseholdId) -> StoreResult<Vec<CardRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM cards WHERE household_id = $1 ORDER BY issued_at, id")
                .bind(household)
                .fetch_all(self.engine.reader())
                .await?,
        )
    }

    async fn change_card_status(&self, change: CardStatusChange) -> StoreResult<CardRecord> {
        let mut tx = self.engine.begin_write().await?;
        let sql = format!(
            "UPDATE cards SET status = $2, status_reason = $3, updated_at = $4
             WHERE id = $1 AND status IN ({}) RETURNING *",
            placeholders(5, change.from.len())
        );
        let mut query = sqlx::query_as::<_, CardRecord>(&sql)
            .bind(change.card)
            .bind(change.to)
            .bind(&change.reason)
            .bind(crate::store::now());
        for status in &change.from {
            query = query.bind(*status);
        }
        let Some(record) = query.fetch_optional(&mut *tx).await? else {
            return Err(Self::card_state_error(&mut tx, change.card).await);
        };
        let detail = json!({ "to": change.to.as_str(), "reason": change.reason });
        let action = format!("card.{}", change.to.as_str());
        audit(
            &mut tx,
            Some(change.actor),
            &action,
            ("card", record.id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn replace_card(
        &self,
        old: CardId,
        new: NewCard,
        reason: String,
        actor: UserId,
    ) -> StoreResult<CardRecord> {
        let mut tx = self.engine.begin_write().await?;
        let replaceable = CardStatus::replaceable();
        let sql = format!(
            "UPDATE cards SET status = 'replaced', status_reason = $2, updated_at = $3
             WHERE id = $1 AND household_id = $4 AND status IN ({}) RETURNING *",
            placeholders(5, replaceable.len())
        );
        let mut query = sqlx::query_as::<_, CardRecord>(&sql)
            .bind(old)
            .bind(&reason)
            .bind(crate::store::now())
            .bind(new.household_id);
        for status in replaceable {
            query = query.bind(*status);
        }
        if query.fetch_optional(&mut *tx).await?.is_none() {
            return Err(Self::card_state_error(&mut tx, old).await);
        }
        let record = insert_card(&mut tx, &new, Some(old), actor).await?;
        let detail = json!({ "replaced_by": record.id, "reason": reason,
                             "new_pan_last4": &new.pan.last4 });
        audit(
            &mut tx,
            Some(actor),
            "card.replace",
            ("card", old.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn set_pin(
        &self,
        card: CardId,
        pin_hash: Vec<u8>,
        from: &[CardStatus],
        actor: UserId,
    ) -> StoreResult<CardRecord> {
        let mut tx = self.engine.begin_write().await?;
        let sql = format!(
            "UPDATE cards SET pin_hash = $2, pin_failures = 0, locked_until = NULL, updated_at = $3
             WHERE id = $1 AND status IN ({}) RETURNING *",
            placeholders(4, from.len())
        );
        let mut query = sqlx::query_as::<_, CardRecord>(&sql)
            .bind(card)
            .bind(pin_hash)
            .bind(crate::store::now());
        for status in from {
            query = query.bind(*status);
        }
        let record = query.fetch_optional(&mut *tx).await?;
        let Some(record) = record else {
            return Err(Self::card_state_error(&mut tx, card).await);
        };
        audit(
            &mut tx,
            Some(actor),
            "card.pin_set",
            ("card", card.to_string()),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn record_pin_failure(
        &self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord> {
        let mut tx = self.engine.begin_write().await?;
        // One statement, so concurrent wrong PINs cannot both read "2" and write "3".
        let record = sqlx::query_as::<_, CardRecord>(
            "UPDATE cards SET pin_failures = pin_failures + 1,
                 locked_until = CASE WHEN pin_failures + 1 >= $2 THEN $3 ELSE locked_until END,
                 updated_at = $4
             WHERE id = $1 RETURNING *",
        )
        .bind(card)
        .bind(i64::from(max_failures))
        .bind(lock_until)
        .bind(crate::store::now())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "card" })?;
        // The failure that reached the limit is the one that locked the card.
        if record.pin_failures == i32::try_from(max_failures).unwrap_or(i32::MAX) {
            let detail = json!({ "failures": record.pin_failures, "locked_until": lock_until });
            audit(
                &mut tx,
                None,
                "card.pin_locked",
                ("card", card.to_string()),
                detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn clear_pin_failures(&self, card: CardId) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query(
            "UPDATE cards SET pin_failures = 0, locked_until = NULL
             WHERE id = $1 AND (pin_failures > 0 OR locked_until IS NOT NULL)",
        )
        .bind(card)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unlock_card(&self, card: CardId, actor: UserId) -> StoreResult<CardRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, CardRecord>(
            "UPDATE cards SET pin_failures = 0, locked_until = NULL, updated_at = $2
             WHERE id = $1 RETURNING *",
        )
        .bind(card)
        .bind(crate::store::now())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "card" })?;
        audit(
            &mut tx,
            Some(actor),
            "card.unlock",
            ("card", card.to_string()),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn create_ewarung(
        &self,
        ewarung: NewEwarung,
        actor: UserId,
    ) -> StoreResult<EwarungRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, EwarungRecord>(
            "INSERT INTO ewarungs (id, name, owner_name, street, rt, rw, kelurahan, kecamatan,
                 bank_code, bank_account_number, bank_account_holder, status, created_at, owner_nik)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $13) RETURNING *",
        )
        .bind(EwarungId::new())
        .bind(&ewarung.name)
        .bind(&ewarung.owner_name)
        .bind(&ewarung.address.street)
        .bind(&ewarung.address.rt)
        .bind(&ewarung.address.rw)
        .bind(&ewarung.address.kelurahan)
        .bind(&ewarung.address.kecamatan)
        .bind(&ewarung.bank_account.bank_code)
        .bind(&ewarung.bank_account.account_number)
        .bind(&ewarung.bank_account.account_holder)
        .bind(crate::store::now())
        .bind(ewarung.owner_nik.clone())
        .fetch_one(&mut *tx)
        .await?;
        let detail = json!({ "name": ewarung.name, "owner_name": ewarung.owner_name,
                             "bank_account": ewarung.bank_account });
        audit(
            &mut tx,
            Some(actor),
            "ewarung.create",
            ("ewarung", record.id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_ewarung(&self, id: EwarungId) -> StoreResult<Option<EwarungRecord>> {
        Ok(sqlx::query_as("SELECT * FROM ewarungs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_ewarungs(&self, page: Page) -> StoreResult<Vec<EwarungRecord>> {
        Ok(sqlx::query_as(
            "SELECT * FROM ewarungs WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(page.after)
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn set_ewarung_status(
        &self,
        id: EwarungId,
        status: EwarungStatus,
        reason: String,
        actor: UserId,
    ) -> StoreResult<EwarungRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, EwarungRecord>(
            "UPDATE ewarungs SET status = $2 WHERE id = $1 RETURNING *",
        )
        .bind(id)
        .bind(status)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "ewarung" })?;
        let detail = json!({ "to": status.as_str(), "reason": reason });
        audit(
            &mut tx,
            Some(actor),
            "ewarung.status",
            ("ewarung", id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn create_terminal(
        &self,
        terminal: NewTerminal,
        actor: UserId,
    ) -> StoreResult<TerminalRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, TerminalRecord>(
            "INSERT INTO terminals (terminal_id, ewarung_id, serial_number, status, created_at,
                                    pin_key_wrapped, pin_key_check_value)
             VALUES ($1, $2, $3, 'active', $4, $5, $6) RETURNING *",
        )
        .bind(&terminal.terminal_id)
        .bind(terminal.ewarung_id)
        .bind(&terminal.serial_number)
        .bind(crate::store::now())
        .bind(terminal.pin_key.as_ref().map(|key| key.wrapped.clone()))
        .bind(terminal.pin_key.as_ref().map(|key| key.check_value.clone()))
        .fetch_one(&mut *tx)
        .await?;
        let detail =
            json!({ "ewarung_id": terminal.ewarung_id, "serial_number": terminal.serial_number });
        audit(
            &mut tx,
            Some(actor),
            "terminal.create",
            ("terminal", terminal.terminal_id.clone()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn set_terminal_pin_key(
        &self,
        terminal_id: &str,
        key: WrappedPinKey,
        actor: UserId,
    ) -> StoreResult<TerminalRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as::<_, TerminalRecord>(
            "UPDATE terminals SET pin_key_wrapped = $2, pin_key_check_value = $3
             WHERE terminal_id = $1 RETURNING *",
        )
        .bind(terminal_id)
        .bind(&key.wrapped)
        .bind(&key.check_value)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "terminal" })?;
        // The check value identifies the key without revealing it.
        let detail = json!({ "check_value": key.check_value });
        audit(
            &mut tx,
            Some(actor),
            "terminal.pin_key",
            ("terminal", terminal_id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn record_batch_totals(
        &self,
        terminal_id: &str,
        business_date: &str,
        terminal: BatchSide,
        actor: UserId,
    ) -> StoreResult<BatchTotalsRecord> {
        let mut tx = self.engine.begin_write().await?;
        let (pc, pm, fc, fm, rc, rm): (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT
               CAST(COALESCE(sum(CASE WHEN state IN ('completed', 'refunded') THEN 1 ELSE 0 END), 0) AS BIGINT),
               CAST(COALESCE(sum(CASE WHEN state IN ('completed', 'refunded') THEN amount_minor ELSE 0 END), 0) AS BIGINT),
               CAST(COALESCE(sum(CASE WHEN state = 'refunded' THEN 1 ELSE 0 END), 0) AS BIGINT),
               CAST(COALESCE(sum(CASE WHEN state = 'refunded' THEN amount_minor ELSE 0 END), 0) AS BIGINT),
               CAST(COALESCE(sum(CASE WHEN state = 'reversed' AND hold_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
               CAST(COALESCE(sum(CASE WHEN state = 'reversed' AND hold_id IS NOT NULL THEN amount_minor ELSE 0 END), 0) AS BIGINT)
             FROM redemptions WHERE terminal_id = $1 AND local_date = $2 AND kind = 'purchase'",
        )
        .bind(terminal_id)
        .bind(business_date)
        .fetch_one(&mut *tx)
        .await?;
        let side = |count, amount_minor| CountAndTotal {
            count,
            amount_minor,
        };
        let host = BatchSide {
            purchases: side(pc, pm),
            refunds: side(fc, fm),
            reversals: side(rc, rm),
        };
        let record = BatchTotalsRecord {
            id: uuid::Uuid::now_v7(),
            terminal_id: terminal_id.to_string(),
            business_date: business_date.to_string(),
            terminal,
            host,
            // Reversals are reported, not compared: a request whose answer never reached
            // the terminal can be an approval reversed on the host and nothing at all on
            // the terminal. Purchases and refunds are what gets paid.
            matched: terminal.purchases == host.purchases && terminal.refunds == host.refunds,
            received_at: crate::store::now(),
        };
        sqlx::query(
            "INSERT INTO terminal_batch_totals (id, terminal_id, business_date,
                purchases_count, purchases_minor, refunds_count, refunds_minor, reversals_count, reversals_minor,
                host_purchases_count, host_purchases_minor, host_refunds_count, host_refunds_minor,
                host_reversals_count, host_reversals_minor, matched, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(record.id)
        .bind(terminal_id)
        .bind(business_date)
        .bind(terminal.purchases.count)
        .bind(terminal.purchases.amount_minor)
        .bind(terminal.refunds.count)
        .bind(terminal.refunds.amount_minor)
        .bind(terminal.reversals.count)
        .bind(terminal.reversals.amount_minor)
        .bind(host.purchases.count)
        .bind(host.purchases.amount_minor)
        .bind(host.refunds.count)
        .bind(host.refunds.amount_minor)
        .bind(host.reversals.count)
        .bind(host.reversals.amount_minor)
        .bind(record.matched)
        .bind(record.received_at)
        .execute(&mut *tx)
        .await
        .map_err(|error| match StoreError::from(error) {
            StoreError::MissingReference { .. } => StoreError::NotFound { entity: "terminal" },
            other => other,
        })?;
        if !record.matched {
            let detail =
                json!({ "business_date": business_date, "terminal": terminal, "host": host });
            audit(
                &mut tx,
                Some(actor),
                "terminal.batch_mismatch",
                ("terminal", terminal_id.to_string()),
                detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn record_terminal_event(
        &self,
        terminal_id: &str,
        event: &str,
        local_time: &str,
        actor: UserId,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        let detail = json!({ "event": event, "local_time": local_time });
        audit(
            &mut tx,
            Some(actor),
            "terminal.event",
            ("terminal", terminal_id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_terminal(&self, terminal_id: &str) -> StoreResult<Option<TerminalRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM terminals WHERE terminal_id = $1")
                .bind(terminal_id)
                .fetch_optional(self.engine.reader())
                .await?,
        )
    }

    async fn terminal_pin_key(&self, terminal_id: &str) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("SELECT pin_key_wrapped FROM terminals WHERE terminal_id = $1")
                .bind(terminal_id)
                .fetch_optional(self.engine.reader())
                .await?;
        Ok(row.and_then(|(wrapped,)| wrapped))
    }

    async fn list_terminals(&self, ewarung: EwarungId) -> StoreResult<Vec<TerminalRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM terminals WHERE ewarung_id = $1 ORDER BY terminal_id")
                .bind(ewarung)
                .fetch_all(self.engine.reader())
                .await?,
        )
    }

    async fn set_terminal_status(
        &self,
        terminal_id: &str,
        status: TerminalStatus,
        reason: String,
        actor: UserId,
    ) -> StoreResult<TerminalRecord> {
        let mut tx = self.engine.begin_write().await?;
        let from = TerminalStatus::sources_of(status);
        let sql = format!(
            "UPDATE terminals SET status = $2 WHERE terminal_id = $1 AND status IN ({}) RETURNING *",
            placeholders(3, from.len())
        );
        let mut query = sqlx::query_as::<_, TerminalRecord>(&sql)
            .bind(terminal_id)
            .bind(status);
        for state in &from {
            query = query.bind(*state);
        }
        let Some(record) = query.fetch_optional(&mut *tx).await? else {
            let actual: Option<TerminalRecord> =
                sqlx::query_as("SELECT * FROM terminals WHERE terminal_id = $1")
                    .bind(terminal_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match actual {
                Some(actual) => StoreError::StateConflict {
                    entity: "terminal",
                    actual: actual.status.to_string(),
                },
                None => StoreError::NotFound { entity: "terminal" },
            });
        };
        let detail = json!({ "to": status.as_str(), "reason": reason });
        audit(
            &mut tx,
            Some(actor),
            "terminal.status",
            ("terminal", terminal_id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    fn ledger(&self) -> &dyn crate::store::LedgerStore {
        self
    }

    fn days(&self) -> &dyn crate::store::DayStore {
        self
    }

    fn sessions(&self) -> &dyn crate::store::SessionStore {
        E::sessions(self)
    }

    fn views(&self) -> &dyn crate::store::ViewStore {
        E::views(self)
    }

    fn audit_chain(&self) -> &dyn crate::store::AuditChainStore {
        E::audit_chain(self)
    }

    fn members(&self) -> &dyn crate::store::MemberStore {
        self
    }

    fn change_requests(&self) -> &dyn crate::store::ChangeRequestStore {
        self
    }

    fn visits(&self) -> &dyn crate::store::VisitStore {
        self
    }

    fn complaints(&self) -> &dyn crate::store::ComplaintStore {
        self
    }

    fn representatives(&self) -> &dyn crate::store::RepresentativeStore {
        self
    }

    fn dormancy(&self) -> &dyn crate::store::DormancyStore {
        self
    }

    fn campaigns(&self) -> &dyn crate::store::CampaignStore {
        self
    }

    fn registry_imports(&self) -> &dyn crate::store::RegistryImportStore {
        self
    }

    async fn list_audit(
        &self,
        subject_type: Option<String>,
        subject_id: Option<String>,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>> {
        Ok(sqlx::query_as(
            "SELECT * FROM audit_log
             WHERE ($1 IS NULL OR subject_type = $1) AND ($2 IS NULL OR subject_id = $2)
               AND ($3 IS NULL OR id > $3)
             ORDER BY id LIMIT $4",
        )
        .bind(subject_type)
        .bind(subject_id)
        .bind(page.after)
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }
}
