//! The ledger's SQL, written once. [`sql`] holds the statements; [`SqlLedgerTx`] runs them
//! through sqlx on either engine (`$N` placeholders and native types on both; what differs is the
//! engine's [`Dialect`]), and SQLite's group-commit writer runs the same statements on its own
//! connection directly (`store::sqlite::direct`). A `SqlLedgerTx` wraps a connection that is
//! already inside a transaction (or a savepoint); committing is the caller's business.

/// The statements, shared by every implementation of `LedgerTx`.
pub(crate) mod sql {
    pub const TERMINAL: &str = "SELECT t.terminal_id, t.ewarung_id, t.status, e.status AS ewarung_status, t.pin_key_wrapped
         FROM terminals t JOIN ewarungs e ON e.id = t.ewarung_id
         WHERE t.terminal_id = $1";
    pub const CARD_BY_PAN_HASH: &str = "SELECT c.*, h.status AS household_status
         FROM cards c JOIN households h ON h.id = c.household_id WHERE c.pan_hash = $1";
    pub const PROGRAM_BY_CODE: &str = "SELECT * FROM programs WHERE code = $1";
    pub const PROGRAM: &str = "SELECT * FROM programs WHERE id = $1";
    pub const PIN_FAILURE: &str = "UPDATE cards SET pin_failures = pin_failures + 1,
             locked_until = CASE WHEN pin_failures + 1 >= $2 THEN $3 ELSE locked_until END,
             updated_at = $4
         WHERE id = $1 RETURNING *";
    pub const PIN_LOCKED_AUDIT: &str =
        "INSERT INTO audit_log (id, at, actor_id, action, subject_type, subject_id, detail)
         VALUES ($1, $2, NULL, 'card.pin_locked', 'card', $3, $4)";
    pub const CLEAR_PIN_FAILURES: &str = "UPDATE cards SET pin_failures = 0, locked_until = NULL
         WHERE id = $1 AND (pin_failures > 0 OR locked_until IS NOT NULL)";
    pub const ENTITLEMENTS: &str =
        "SELECT id, program_id, household_id, ewarung_id, debits_pending, debits_posted,
                credits_pending, credits_posted
         FROM accounts WHERE kind = 'entitlement' AND household_id = $1 ORDER BY id";
    pub const ACCOUNT: &str =
        "SELECT id, program_id, household_id, ewarung_id, debits_pending, debits_posted,
                credits_pending, credits_posted
         FROM accounts WHERE id = $1";
    /// A concurrent transaction may create the same account first: nothing happens then.
    pub const INSERT_ACCOUNT: &str =
        "INSERT INTO accounts (id, kind, program_id, household_id, ewarung_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
    pub const HELD_AMOUNT: &str =
        "SELECT amount_minor FROM transfers WHERE id = $1 AND kind = 'hold'";
    /// A hold's resolution: `$2` leaves pending, `$3` of it becomes posted.
    pub const RESOLVE_DEBIT: &str = "UPDATE accounts SET debits_pending = debits_pending - $2,
                             debits_posted = debits_posted + $3 WHERE id = $1";
    pub const RESOLVE_CREDIT: &str = "UPDATE accounts SET credits_pending = credits_pending - $2,
                             credits_posted = credits_posted + $3 WHERE id = $1";
    pub const TRANSFER: &str = "SELECT * FROM transfers WHERE id = $1";
    pub const FIND_REDEMPTION: &str =
        "SELECT * FROM redemptions WHERE terminal_id = $1 AND stan = $2 AND local_date = $3";
    pub const INSERT_REDEMPTION: &str = "INSERT INTO redemptions (id, terminal_id, ewarung_id, stan, local_date, request_hash, kind,
             response_code, response, card_id, household_id, program_id, amount_minor, hold_id,
             refund_id, state, rrn, approval_code, business_date, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21)";
    pub const FIND_REFUND_REQUEST: &str =
        "SELECT * FROM refund_requests WHERE terminal_id = $1 AND stan = $2 AND local_date = $3";
    pub const INSERT_REFUND_REQUEST: &str =
        "INSERT INTO refund_requests (id, terminal_id, stan, local_date, request_hash,
             redemption_id, response_code, response, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const SET_REDEMPTION_STATE: &str =
        "UPDATE redemptions SET state = $2, refund_id = COALESCE($3, refund_id), updated_at = $4,
             completed_date = CASE WHEN $2 = 'completed' THEN $5 ELSE completed_date END,
             undone_date = CASE WHEN $2 = 'completed' THEN undone_date ELSE $5 END
         WHERE id = $1 AND state = $6";
    pub const BUSINESS_CALENDAR: &str =
        "SELECT cutoff_minutes, last_closed_date FROM business_calendar WHERE id = 1";
    pub const EXPIRED_HOLDS: &str =
        "SELECT r.id, t.id FROM redemptions r JOIN transfers t ON t.id = r.hold_id
         WHERE r.state = 'held' AND t.timeout_at <= $1
           AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = t.id)
         ORDER BY t.timeout_at LIMIT $2";
    /// The unique index on pending_id lets exactly one resolution of a hold in.
    pub const INSERT_TRANSFER: &str =
        "INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id, amount_minor,
                                kind, pending_id, timeout_at, reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING";
    /// PostgreSQL: a hold (`$11` = 'pending') or a posted transfer ('posted') in one statement
    /// (one round trip instead of three): the debit with its overdraft guard, then the credit and
    /// the transfer row only if the debit happened. Answers how many rows each part touched.
    /// Both accounts are locked first, in the order of their ids, whichever is debited: a
    /// completion (entitlement → payable) and a refund (payable → entitlement) of the same
    /// accounts otherwise lock them in opposite orders and deadlock.
    pub const MOVE_VALUE_AT_ONCE: &str = "WITH locked AS (
            SELECT id FROM accounts WHERE id IN ($3, $4) ORDER BY id FOR NO KEY UPDATE),
         debit AS (
            UPDATE accounts SET
                debits_pending = debits_pending + CASE WHEN $11 = 'pending' THEN $5 ELSE 0 END,
                debits_posted = debits_posted + CASE WHEN $11 = 'pending' THEN 0 ELSE $5 END
            WHERE id = $3 AND (SELECT count(*) FROM locked) = 2
              AND (kind NOT IN ('entitlement', 'ewarung_payable')
                   OR credits_posted - debits_posted - debits_pending >= $5)
            RETURNING id),
         credit AS (
            UPDATE accounts SET
                credits_pending = credits_pending + CASE WHEN $11 = 'pending' THEN $5 ELSE 0 END,
                credits_posted = credits_posted + CASE WHEN $11 = 'pending' THEN 0 ELSE $5 END
            WHERE id = $4 AND EXISTS (SELECT 1 FROM debit)
            RETURNING id),
         moved AS (
            INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id,
                                   amount_minor, kind, pending_id, timeout_at, reference, created_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM debit)
            ON CONFLICT DO NOTHING
            RETURNING id)
         SELECT (SELECT count(*) FROM debit), (SELECT count(*) FROM credit),
                (SELECT count(*) FROM moved)";
    /// PostgreSQL: a hold's resolution in one statement (one round trip instead of four). The
    /// resolution row goes in only if the hold exists and `$11` (posted) fits it; the unique
    /// index on pending_id lets exactly one resolution in, and only the one that got in moves
    /// the balances. Answers the held amount (NULL: no such hold) and the rows touched. The
    /// accounts are locked first in the order of their ids, as in `MOVE_VALUE_AT_ONCE`.
    pub const RESOLVE_AT_ONCE: &str = "WITH locked AS (
            SELECT id FROM accounts WHERE id IN ($3, $4) ORDER BY id FOR NO KEY UPDATE),
         held AS (
            SELECT amount_minor FROM transfers WHERE id = $7 AND kind = 'hold'),
         resolved AS (
            INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id,
                                   amount_minor, kind, pending_id, timeout_at, reference, created_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM held
            WHERE (SELECT count(*) FROM locked) = 2
              AND $11 <= held.amount_minor AND ($6 = 'post' OR $5 = held.amount_minor)
            ON CONFLICT DO NOTHING
            RETURNING id),
         debit AS (
            UPDATE accounts SET debits_pending = debits_pending - held.amount_minor,
                                debits_posted = debits_posted + $11
            FROM held WHERE accounts.id = $3 AND EXISTS (SELECT 1 FROM resolved)
            RETURNING accounts.id),
         credit AS (
            UPDATE accounts SET credits_pending = credits_pending - held.amount_minor,
                                credits_posted = credits_posted + $11
            FROM held WHERE accounts.id = $4 AND EXISTS (SELECT 1 FROM resolved)
            RETURNING accounts.id)
         SELECT (SELECT amount_minor FROM held), (SELECT count(*) FROM resolved),
                (SELECT count(*) FROM debit) + (SELECT count(*) FROM credit)";

    /// SQLite's RRN counter (PostgreSQL has a sequence).
    pub const SQLITE_NEXT_RRN: &str =
        "UPDATE sequences SET value = value + 1 WHERE name = 'rrn' RETURNING value";

    /// Debits a hold (`phase` "pending") or a posted transfer ("posted"), unless that would
    /// overdraw an entitlement or payable, holds included.
    pub fn debit(phase: Phase) -> &'static str {
        match phase {
            Phase::Pending => {
                "UPDATE accounts SET debits_pending = debits_pending + $2 WHERE id = $1
                   AND (kind NOT IN ('entitlement', 'ewarung_payable')
                        OR credits_posted - debits_posted - debits_pending >= $2)"
            }
            Phase::Posted => {
                "UPDATE accounts SET debits_posted = debits_posted + $2 WHERE id = $1
                   AND (kind NOT IN ('entitlement', 'ewarung_payable')
                        OR credits_posted - debits_posted - debits_pending >= $2)"
            }
        }
    }

    pub fn credit(phase: Phase) -> &'static str {
        match phase {
            Phase::Pending => {
                "UPDATE accounts SET credits_pending = credits_pending + $2 WHERE id = $1"
            }
            Phase::Posted => {
                "UPDATE accounts SET credits_posted = credits_posted + $2 WHERE id = $1"
            }
        }
    }

    /// Whether a transfer moves value into the pending or the posted columns.
    #[derive(Debug, Clone, Copy)]
    pub enum Phase {
        Pending,
        Posted,
    }

    /// Finds the account of a kind for its program (`$1`) and owner (`$2`, in `owner_column`).
    /// The kind is spelled out (it comes from a fixed enum), so that the lookup uses the partial
    /// unique index of that kind.
    pub fn find_account(kind: &str, owner_column: Option<&str>) -> String {
        match owner_column {
            Some(column) => format!(
                "SELECT id FROM accounts WHERE kind = '{kind}' AND {column} = $2 AND program_id = $1"
            ),
            None => format!("SELECT id FROM accounts WHERE kind = '{kind}' AND program_id = $1"),
        }
    }

    pub fn catalog_items(skus: usize) -> String {
        format!(
            "SELECT * FROM catalog_items WHERE program_id = $1 AND sku IN ({})",
            crate::store::registry::placeholders(2, skus)
        )
    }
}

/// A ledger transaction over sqlx: a borrowed connection already inside a transaction (or a
/// savepoint); committing is the caller's business. PostgreSQL's ledger jobs and SQLite's jobs
/// outside the group-commit writer (closes, quota approval) run on it.
pub struct SqlLedgerTx<'c, DB: sqlx::Database> {
    pub conn: &'c mut DB::Connection,
    /// Reads fetched ahead (`LedgerTx::read_ahead`), answered once each.
    ahead: crate::store::read_ahead::ReadAhead,
}

impl<'c, DB: sqlx::Database> SqlLedgerTx<'c, DB> {
    pub fn new(conn: &'c mut DB::Connection) -> Self {
        Self {
            conn,
            ahead: Default::default(),
        }
    }

    /// Whether answers fetched by `read_ahead` still wait for their reads (for tests).
    pub fn has_unread_ahead(&self) -> bool {
        self.ahead.holds_unread()
    }
}

/// How many rows a statement changed (sqlx has this per engine only).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// What differs in the ledger's SQL between the engines.
pub trait Dialect: sqlx::Database<QueryResult: RowsAffected> {
    /// The database's clock (`None`: an embedded database's clock is this process's).
    const NOW: Option<&'static str>;
    /// The next retrieval reference number.
    const NEXT_RRN: &'static str;
    /// The business calendar's cut-off and last closed date.
    const CALENDAR: &'static str;
    /// Whether a transfer is one statement (a data-modifying CTE) rather than three.
    const ONE_STATEMENT_TRANSFERS: bool;
    /// The `n`th parameter (from 1) of a statement built at run time whose parameters are bound
    /// in order. SQLite takes `$N` and `?N` for names and looks each one up in a list when it
    /// prepares the statement, which is quadratic in a multi-row insert of thousands of values
    /// (over a second to record a day's reconciliation exceptions); a bare `?` is just the next.
    fn parameter(n: usize) -> String;
    /// Fetches the reads a job is about to make, in one statement where the engine gains by it.
    fn read_ahead(
        conn: &mut Self::Connection,
        plan: &crate::ledger::ReadAheadPlan<'_>,
    ) -> impl std::future::Future<
        Output = crate::store::StoreResult<crate::store::read_ahead::ReadAhead>,
    > + Send;
}

#[async_trait::async_trait]
impl<DB: Dialect> crate::ledger::LedgerTx for SqlLedgerTx<'_, DB>
where
    // How statements run: on the transaction's connection.
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    // The values bound (ids are uuids, states and kinds are text).
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::CardId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::HouseholdId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::EwarungId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::ProgramId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::TransferId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::RedemptionId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB>,
    str: sqlx::Type<DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q [u8]: sqlx::Encode<'q, DB>,
    [u8]: sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<chrono::DateTime<chrono::Utc>>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    // The rows read.
    for<'r> crate::ledger::tx::TerminalContext: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::tx::CardWithHousehold: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::store::ProgramRecord: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::store::CatalogItemRecord: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::store::CardRecord: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::AccountBalance: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::Transfer: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::tx::RedemptionRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::tx::RefundRequestRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (chrono::DateTime<chrono::Utc>,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<i64>,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (crate::domain::ids::AccountId,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i32, Option<String>): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, i64, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<i64>, i64, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (
        crate::domain::ids::RedemptionId,
        crate::domain::ids::TransferId,
    ): sqlx::FromRow<'r, DB::Row>,
{
    async fn db_now(&mut self) -> crate::store::StoreResult<chrono::DateTime<chrono::Utc>> {
        if let Some(clock) = self.ahead.clock() {
            use chrono::SubsecRound;
            return Ok(clock.trunc_subsecs(6));
        }
        use chrono::SubsecRound;
        let Some(sql) = DB::NOW else {
            // An embedded database's clock is this process's clock: no query needed.
            return Ok(crate::store::now());
        };
        let now: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar(sql).fetch_one(&mut *self.conn).await?;
        Ok(now.trunc_subsecs(6))
    }

    async fn next_rrn(&mut self) -> crate::store::StoreResult<i64> {
        Ok(sqlx::query_scalar(DB::NEXT_RRN)
            .fetch_one(&mut *self.conn)
            .await?)
    }

    async fn terminal(
        &mut self,
        terminal_id: &str,
    ) -> crate::store::StoreResult<Option<crate::ledger::tx::TerminalContext>> {
        if let Some(fetched) = self.ahead.terminal(terminal_id) {
            return Ok(fetched);
        }
        Ok(sqlx::query_as(crate::store::ledger_sql::sql::TERMINAL)
            .bind(terminal_id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn card_by_pan_hash(
        &mut self,
        pan_hash: &[u8],
    ) -> crate::store::StoreResult<Option<crate::ledger::tx::CardWithHousehold>> {
        if let Some(fetched) = self.ahead.card(pan_hash) {
            return Ok(fetched);
        }
        Ok(
            sqlx::query_as(crate::store::ledger_sql::sql::CARD_BY_PAN_HASH)
                .bind(pan_hash)
                .fetch_optional(&mut *self.conn)
                .await?,
        )
    }

    async fn program_by_code(
        &mut self,
        code: &str,
    ) -> crate::store::StoreResult<Option<crate::store::ProgramRecord>> {
        if let Some(fetched) = self.ahead.program(|p| p.code == code) {
            return Ok(Some(fetched));
        }
        Ok(
            sqlx::query_as(crate::store::ledger_sql::sql::PROGRAM_BY_CODE)
                .bind(code)
                .fetch_optional(&mut *self.conn)
                .await?,
        )
    }

    async fn program(
        &mut self,
        id: crate::domain::ids::ProgramId,
    ) -> crate::store::StoreResult<Option<crate::store::ProgramRecord>> {
        if let Some(fetched) = self.ahead.program(|p| p.id == id) {
            return Ok(Some(fetched));
        }
        Ok(sqlx::query_as(crate::store::ledger_sql::sql::PROGRAM)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn catalog_items(
        &mut self,
        program: crate::domain::ids::ProgramId,
        skus: &[String],
    ) -> crate::store::StoreResult<Vec<crate::store::CatalogItemRecord>> {
        if let Some(fetched) = self.ahead.catalog_items(program, skus) {
            return Ok(fetched);
        }
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let sql = crate::store::ledger_sql::sql::catalog_items(skus.len());
        let mut query = sqlx::query_as(&sql).bind(program);
        for sku in skus {
            query = query.bind(sku);
        }
        Ok(query.fetch_all(&mut *self.conn).await?)
    }

    async fn record_pin_failure(
        &mut self,
        card: crate::domain::ids::CardId,
        max_failures: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> crate::store::StoreResult<crate::store::CardRecord> {
        self.ahead.forget();
        let record: crate::store::CardRecord =
            sqlx::query_as(crate::store::ledger_sql::sql::PIN_FAILURE)
                .bind(card)
                .bind(i64::from(max_failures))
                .bind(lock_until)
                .bind(crate::store::now())
                .fetch_optional(&mut *self.conn)
                .await?
                .ok_or(crate::store::StoreError::NotFound { entity: "card" })?;
        if record.pin_failures == i32::try_from(max_failures).unwrap_or(i32::MAX) {
            sqlx::query(crate::store::ledger_sql::sql::PIN_LOCKED_AUDIT)
                .bind(uuid::Uuid::now_v7())
                .bind(crate::store::now())
                .bind(card.to_string())
                .bind(sqlx::types::Json(serde_json::json!({
                    "failures": record.pin_failures, "locked_until": lock_until
                })))
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(record)
    }

    async fn clear_pin_failures(
        &mut self,
        card: crate::domain::ids::CardId,
    ) -> crate::store::StoreResult<()> {
        self.ahead.forget();
        sqlx::query(crate::store::ledger_sql::sql::CLEAR_PIN_FAILURES)
            .bind(card)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn entitlements(
        &mut self,
        household: crate::domain::ids::HouseholdId,
    ) -> crate::store::StoreResult<Vec<crate::ledger::AccountBalance>> {
        if let Some(fetched) = self.ahead.entitlements(household) {
            return Ok(fetched);
        }
        Ok(sqlx::query_as(crate::store::ledger_sql::sql::ENTITLEMENTS)
            .bind(household)
            .fetch_all(&mut *self.conn)
            .await?)
    }

    async fn account(
        &mut self,
        id: crate::domain::ids::AccountId,
    ) -> crate::store::StoreResult<Option<crate::ledger::AccountBalance>> {
        Ok(sqlx::query_as(crate::store::ledger_sql::sql::ACCOUNT)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn ensure_account(
        &mut self,
        kind: crate::ledger::AccountKind,
        program: crate::domain::ids::ProgramId,
        owner: crate::ledger::tx::AccountOwner,
    ) -> crate::store::StoreResult<crate::domain::ids::AccountId> {
        if let (
            crate::ledger::AccountKind::EwarungPayable,
            crate::ledger::tx::AccountOwner::Ewarung(ewarung),
        ) = (kind, owner)
        {
            if let Some(fetched) = self.ahead.payable(program, ewarung) {
                return Ok(fetched);
            }
        }
        let (owner_column, owner_id) = owner.column();
        let find = crate::store::ledger_sql::sql::find_account(kind.as_str(), owner_column);
        let lookup = || {
            let query = sqlx::query_scalar::<_, crate::domain::ids::AccountId>(&find).bind(program);
            match owner_id {
                Some(id) => query.bind(id),
                None => query,
            }
        };
        if let Some(id) = lookup().fetch_optional(&mut *self.conn).await? {
            return Ok(id);
        }
        self.ahead.forget();
        let (household, ewarung) = owner.ids();
        // Another transaction may create the same account first: read whichever row won.
        sqlx::query(crate::store::ledger_sql::sql::INSERT_ACCOUNT)
            .bind(crate::domain::ids::AccountId::new())
            .bind(kind)
            .bind(program)
            .bind(household)
            .bind(ewarung)
            .bind(crate::store::now())
            .execute(&mut *self.conn)
            .await?;
        Ok(lookup().fetch_one(&mut *self.conn).await?)
    }

    async fn apply_transfer(
        &mut self,
        transfer: &crate::ledger::Transfer,
    ) -> crate::store::StoreResult<bool> {
        self.ahead.forget();
        use crate::ledger::TransferKind;
        if DB::ONE_STATEMENT_TRANSFERS {
            return Self::apply_transfer_at_once(self.conn, transfer).await;
        }
        match transfer.kind {
            TransferKind::Hold => {
                if !Self::move_value(
                    self.conn,
                    transfer,
                    crate::store::ledger_sql::sql::Phase::Pending,
                )
                .await?
                {
                    return Ok(false);
                }
            }
            TransferKind::Post | TransferKind::Void | TransferKind::HoldExpired => {
                let hold_id = transfer.pending_id.ok_or(crate::store::StoreError::Check {
                    constraint: "transfers_resolution_names_hold".into(),
                })?;
                let held: Option<i64> =
                    sqlx::query_scalar(crate::store::ledger_sql::sql::HELD_AMOUNT)
                        .bind(hold_id)
                        .fetch_optional(&mut *self.conn)
                        .await?;
                let held = held.ok_or(crate::store::StoreError::NotFound { entity: "hold" })?;
                let posted = crate::store::ledger_sql::posted_of_resolution(transfer, held)?;
                let inserted = Self::insert_transfer(self.conn, transfer).await?;
                if !inserted {
                    return Ok(false);
                }
                sqlx::query(crate::store::ledger_sql::sql::RESOLVE_DEBIT)
                    .bind(transfer.debit_account_id)
                    .bind(held)
                    .bind(posted)
                    .execute(&mut *self.conn)
                    .await?;
                sqlx::query(crate::store::ledger_sql::sql::RESOLVE_CREDIT)
                    .bind(transfer.credit_account_id)
                    .bind(held)
                    .bind(posted)
                    .execute(&mut *self.conn)
                    .await?;
            }
            _ => {
                if !Self::move_value(
                    self.conn,
                    transfer,
                    crate::store::ledger_sql::sql::Phase::Posted,
                )
                .await?
                {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    async fn transfer(
        &mut self,
        id: crate::domain::ids::TransferId,
    ) -> crate::store::StoreResult<Option<crate::ledger::tx::Transfer>> {
        if let Some(fetched) = self.ahead.transfer(id) {
            return Ok(Some(fetched));
        }
        Ok(sqlx::query_as(crate::store::ledger_sql::sql::TRANSFER)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn find_redemption(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> crate::store::StoreResult<Option<crate::ledger::tx::RedemptionRow>> {
        if let Some(fetched) = self.ahead.redemption(terminal_id, stan, local_date) {
            return Ok(fetched);
        }
        Ok(
            sqlx::query_as(crate::store::ledger_sql::sql::FIND_REDEMPTION)
                .bind(terminal_id)
                .bind(stan)
                .bind(local_date)
                .fetch_optional(&mut *self.conn)
                .await?,
        )
    }

    async fn insert_redemption(
        &mut self,
        row: &crate::ledger::tx::RedemptionRow,
    ) -> crate::store::StoreResult<()> {
        self.ahead.forget();
        sqlx::query(crate::store::ledger_sql::sql::INSERT_REDEMPTION)
            .bind(row.id)
            .bind(&row.terminal_id)
            .bind(row.ewarung_id)
            .bind(&row.stan)
            .bind(&row.local_date)
            .bind(&row.request_hash)
            .bind(row.kind)
            .bind(&row.response_code)
            .bind(&row.response)
            .bind(row.card_id)
            .bind(row.household_id)
            .bind(row.program_id)
            .bind(row.amount_minor)
            .bind(row.hold_id)
            .bind(row.refund_id)
            .bind(row.state)
            .bind(&row.rrn)
            .bind(&row.approval_code)
            .bind(&row.business_date)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn find_refund_request(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> crate::store::StoreResult<Option<crate::ledger::tx::RefundRequestRow>> {
        Ok(
            sqlx::query_as(crate::store::ledger_sql::sql::FIND_REFUND_REQUEST)
                .bind(terminal_id)
                .bind(stan)
                .bind(local_date)
                .fetch_optional(&mut *self.conn)
                .await?,
        )
    }

    async fn insert_refund_request(
        &mut self,
        row: &crate::ledger::tx::RefundRequestRow,
    ) -> crate::store::StoreResult<()> {
        self.ahead.forget();
        sqlx::query(crate::store::ledger_sql::sql::INSERT_REFUND_REQUEST)
            .bind(row.id)
            .bind(&row.terminal_id)
            .bind(&row.stan)
            .bind(&row.local_date)
            .bind(&row.request_hash)
            .bind(row.redemption_id)
            .bind(&row.response_code)
            .bind(&row.response)
            .bind(row.created_at)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn set_redemption_state(
        &mut self,
        id: crate::domain::ids::RedemptionId,
        state: crate::domain::purchase::PurchaseState,
        refund_id: Option<crate::domain::ids::TransferId>,
        business_date: &str,
        at: chrono::DateTime<chrono::Utc>,
        from: crate::domain::purchase::PurchaseState,
    ) -> crate::store::StoreResult<()> {
        self.ahead.forget();
        let changed = sqlx::query(crate::store::ledger_sql::sql::SET_REDEMPTION_STATE)
            .bind(id)
            .bind(state)
            .bind(refund_id)
            .bind(at)
            .bind(business_date)
            .bind(from)
            .execute(&mut *self.conn)
            .await?
            .rows_affected();
        if changed != 1 {
            return Err(crate::store::StoreError::LostRace("the purchase"));
        }
        Ok(())
    }

    async fn business_date(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> crate::store::StoreResult<String> {
        if let Some((cutoff, closed)) = self.ahead.calendar() {
            return Ok(crate::store::ledger_sql::open_business_date(
                at,
                cutoff,
                closed.as_deref(),
            ));
        }
        let (cutoff, closed): (i32, Option<String>) = sqlx::query_as(DB::CALENDAR)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(crate::store::ledger_sql::open_business_date(
            at,
            cutoff,
            closed.as_deref(),
        ))
    }

    async fn expired_holds(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> crate::store::StoreResult<
        Vec<(
            crate::domain::ids::RedemptionId,
            crate::domain::ids::TransferId,
        )>,
    > {
        Ok(sqlx::query_as(crate::store::ledger_sql::sql::EXPIRED_HOLDS)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn)
            .await?)
    }

    async fn read_ahead(
        &mut self,
        plan: &crate::ledger::ReadAheadPlan<'_>,
    ) -> crate::store::StoreResult<()> {
        self.ahead = DB::read_ahead(&mut *self.conn, plan).await?;
        Ok(())
    }
}

impl<DB: Dialect> SqlLedgerTx<'_, DB>
where
    // How statements run: on the transaction's connection.
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    // The values bound (ids are uuids, states and kinds are text).
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::CardId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::HouseholdId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::EwarungId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::ProgramId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::TransferId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<crate::domain::ids::RedemptionId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB>,
    str: sqlx::Type<DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q [u8]: sqlx::Encode<'q, DB>,
    [u8]: sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<chrono::DateTime<chrono::Utc>>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    // The rows read.
    for<'r> crate::ledger::tx::TerminalContext: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::tx::CardWithHousehold: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::store::ProgramRecord: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::store::CatalogItemRecord: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::store::CardRecord: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::AccountBalance: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::Transfer: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::tx::RedemptionRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> crate::ledger::tx::RefundRequestRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (chrono::DateTime<chrono::Utc>,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<i64>,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (crate::domain::ids::AccountId,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i32, Option<String>): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, i64, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<i64>, i64, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (
        crate::domain::ids::RedemptionId,
        crate::domain::ids::TransferId,
    ): sqlx::FromRow<'r, DB::Row>,
{
    /// Debits and credits a hold (pending) or a posted transfer and writes it; `false`,
    /// with nothing written, when the debit would overdraw an entitlement or payable
    /// (holds included).
    async fn move_value(
        conn: &mut DB::Connection,
        transfer: &crate::ledger::Transfer,
        phase: crate::store::ledger_sql::sql::Phase,
    ) -> crate::store::StoreResult<bool> {
        let moved = sqlx::query(crate::store::ledger_sql::sql::debit(phase))
            .bind(transfer.debit_account_id)
            .bind(transfer.amount_minor)
            .execute(&mut *conn)
            .await?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(crate::store::ledger_sql::sql::credit(phase))
            .bind(transfer.credit_account_id)
            .bind(transfer.amount_minor)
            .execute(&mut *conn)
            .await?;
        Self::insert_transfer(conn, transfer).await?;
        Ok(true)
    }

    /// [`sql::MOVE_VALUE_AT_ONCE`] and [`sql::RESOLVE_AT_ONCE`]: `apply_transfer` with the
    /// same answers, in one statement.
    async fn apply_transfer_at_once(
        conn: &mut DB::Connection,
        transfer: &crate::ledger::Transfer,
    ) -> crate::store::StoreResult<bool> {
        use crate::ledger::TransferKind;
        use crate::store::ledger_sql::{posted_of_resolution, sql};
        let resolves = matches!(
            transfer.kind,
            TransferKind::Post | TransferKind::Void | TransferKind::HoldExpired
        );
        if !resolves {
            let phase = if transfer.kind == TransferKind::Hold {
                "pending"
            } else {
                "posted"
            };
            let mut arguments = Self::transfer_arguments(transfer)?;
            Self::add(&mut arguments, phase)?;
            let (debited, credited, inserted) =
                sqlx::query_as_with::<_, (i64, i64, i64), _>(sql::MOVE_VALUE_AT_ONCE, arguments)
                    .fetch_one(&mut *conn)
                    .await?;
            return match (debited, credited, inserted) {
                (0, _, _) => Ok(false),
                (1, 1, 1) => Ok(true),
                // The caller's transaction rolls back: value never moves without its row.
                _ => Err(crate::store::StoreError::Check {
                    constraint: "transfers_balanced".into(),
                }),
            };
        }
        if transfer.pending_id.is_none() {
            return Err(crate::store::StoreError::Check {
                constraint: "transfers_resolution_names_hold".into(),
            });
        }
        let posted = if transfer.kind == TransferKind::Post {
            transfer.amount_minor
        } else {
            0
        };
        let mut arguments = Self::transfer_arguments(transfer)?;
        Self::add(&mut arguments, posted)?;
        let (held, inserted, updated) =
            sqlx::query_as_with::<_, (Option<i64>, i64, i64), _>(sql::RESOLVE_AT_ONCE, arguments)
                .fetch_one(&mut *conn)
                .await?;
        let held = held.ok_or(crate::store::StoreError::NotFound { entity: "hold" })?;
        posted_of_resolution(transfer, held)?;
        match (inserted, updated) {
            (0, _) => Ok(false),
            (1, 2) => Ok(true),
            _ => Err(crate::store::StoreError::Check {
                constraint: "transfers_balanced".into(),
            }),
        }
    }

    /// Inserts a transfer; `false` when a hold resolution lost the race to another one.
    async fn insert_transfer(
        conn: &mut DB::Connection,
        transfer: &crate::ledger::Transfer,
    ) -> crate::store::StoreResult<bool> {
        let arguments = Self::transfer_arguments(transfer)?;
        let done = sqlx::query_with(crate::store::ledger_sql::sql::INSERT_TRANSFER, arguments)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A transfer's ten columns, in `INSERT_TRANSFER`'s order (`$1`…`$10`); the one-statement
    /// forms add their own parameters after them.
    fn transfer_arguments(
        transfer: &crate::ledger::Transfer,
    ) -> crate::store::StoreResult<<DB as sqlx::Database>::Arguments<'_>> {
        let mut arguments = <DB as sqlx::Database>::Arguments::default();
        Self::add(&mut arguments, transfer.id)?;
        Self::add(&mut arguments, transfer.program_id)?;
        Self::add(&mut arguments, transfer.debit_account_id)?;
        Self::add(&mut arguments, transfer.credit_account_id)?;
        Self::add(&mut arguments, transfer.amount_minor)?;
        Self::add(&mut arguments, transfer.kind)?;
        Self::add(&mut arguments, transfer.pending_id)?;
        Self::add(&mut arguments, transfer.timeout_at)?;
        Self::add(&mut arguments, transfer.reference.as_str())?;
        Self::add(&mut arguments, transfer.created_at)?;
        Ok(arguments)
    }

    fn add<'q, T>(
        arguments: &mut <DB as sqlx::Database>::Arguments<'q>,
        value: T,
    ) -> crate::store::StoreResult<()>
    where
        T: sqlx::Encode<'q, DB> + sqlx::Type<DB> + Send + 'q,
    {
        use sqlx::Arguments;
        arguments
            .add(value)
            .map_err(|error| crate::store::StoreError::Database(sqlx::Error::Encode(error)))
    }
}

/// How much of the hold a resolution posts (all of it for `Post`, nothing for a void or expiry);
/// anything but the whole held amount, or more than held, breaks the ledger's rules.
pub(crate) fn posted_of_resolution(
    transfer: &crate::ledger::Transfer,
    held: i64,
) -> crate::store::StoreResult<i64> {
    use crate::ledger::TransferKind;
    let amount = transfer.amount_minor;
    let posted = if transfer.kind == TransferKind::Post {
        amount
    } else {
        0
    };
    if posted > held || (transfer.kind != TransferKind::Post && amount != held) {
        return Err(crate::store::StoreError::Check {
            constraint: "transfers_post_within_hold".into(),
        });
    }
    Ok(posted)
}

/// The business date activity at `at` lands on, from the calendar row's cut-off and last close.
pub(crate) fn open_business_date(
    at: chrono::DateTime<chrono::Utc>,
    cutoff_minutes: i32,
    closed: Option<&str>,
) -> String {
    use crate::business_day::{format_date, open_date, parse_date, Cutoff};
    let cutoff = Cutoff::from_minutes(i64::from(cutoff_minutes)).unwrap_or_default();
    format_date(open_date(at, cutoff, closed.and_then(parse_date)))
}
