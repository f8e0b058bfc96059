//! The ledger transaction on PostgreSQL: the shared statements (`store::ledger_sql::sql`) on a
//! connection already inside a transaction; committing is the caller's business. Reads a job
//! announces are fetched ahead in one statement (`read_ahead`), and a transfer is one statement
//! (a data-modifying CTE) rather than three round trips.

use crate::ledger::contract::{self, Applied};
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{postgres::PgArguments, Arguments, PgConnection, Postgres};

use crate::{
    domain::{
        ids::{AccountId, CardId, HouseholdId, ProgramId, RedemptionId, TransferId},
        purchase::PurchaseState,
    },
    ledger::{
        tx::{
            AccountOwner, CardWithHousehold, RedemptionLine, RedemptionRow, RefundRequestRow,
            TerminalContext,
        },
        AccountBalance, AccountKind, LedgerTx, ReadAheadPlan, Transfer, TransferKind,
    },
    store::{
        ledger_sql::{open_business_date, sql},
        now,
        postgres::read_ahead,
        read_ahead::ReadAhead,
        CardRecord, CatalogItemRecord, ProgramRecord, StoreError, StoreResult,
    },
};

/// The database's clock: hold timeouts and the sweeper agree on it across app servers.
const NOW: &str = "SELECT clock_timestamp()";
const NEXT_RRN: &str = "SELECT nextval('rrn_seq')";
/// Share-locked: a concurrent close waits for this transaction, and this one for the close.
const CALENDAR: &str =
    "SELECT cutoff_minutes, last_closed_date FROM business_calendar WHERE id = 1 FOR SHARE";

/// A ledger transaction on a PostgreSQL connection inside a transaction.
pub struct PgLedgerTx<'c> {
    conn: &'c mut PgConnection,
    /// Reads fetched ahead (`LedgerTx::read_ahead`), answered once each.
    ahead: ReadAhead,
}

impl<'c> PgLedgerTx<'c> {
    pub fn new(conn: &'c mut PgConnection) -> Self {
        Self {
            conn,
            ahead: ReadAhead::default(),
        }
    }

    /// Whether answers fetched by `read_ahead` still wait for their reads (for tests).
    pub fn has_unread_ahead(&self) -> bool {
        self.ahead.holds_unread()
    }
}

#[async_trait::async_trait]
impl LedgerTx for PgLedgerTx<'_> {
    async fn db_now(&mut self) -> StoreResult<DateTime<Utc>> {
        if let Some(clock) = self.ahead.clock() {
            return Ok(clock.trunc_subsecs(6));
        }
        let now: DateTime<Utc> = sqlx::query_scalar(NOW).fetch_one(&mut *self.conn).await?;
        Ok(now.trunc_subsecs(6))
    }

    async fn next_rrn(&mut self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(NEXT_RRN)
            .fetch_one(&mut *self.conn)
            .await?)
    }

    async fn terminal(&mut self, terminal_id: &str) -> StoreResult<Option<TerminalContext>> {
        if let Some(fetched) = self.ahead.terminal(terminal_id) {
            return Ok(fetched);
        }
        Ok(sqlx::query_as(sql::TERMINAL)
            .bind(terminal_id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn card_by_pan_hash(
        &mut self,
        pan_hash: &[u8],
    ) -> StoreResult<Option<CardWithHousehold>> {
        if let Some(fetched) = self.ahead.card(pan_hash) {
            return Ok(fetched);
        }
        Ok(sqlx::query_as(sql::CARD_BY_PAN_HASH)
            .bind(pan_hash)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn program_by_code(&mut self, code: &str) -> StoreResult<Option<ProgramRecord>> {
        if let Some(fetched) = self.ahead.program(|p| p.code == code) {
            return Ok(Some(fetched));
        }
        Ok(sqlx::query_as(sql::PROGRAM_BY_CODE)
            .bind(code)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn program(&mut self, id: ProgramId) -> StoreResult<Option<ProgramRecord>> {
        if let Some(fetched) = self.ahead.program(|p| p.id == id) {
            return Ok(Some(fetched));
        }
        Ok(sqlx::query_as(sql::PROGRAM)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn catalog_items(
        &mut self,
        program: ProgramId,
        skus: &[String],
    ) -> StoreResult<Vec<CatalogItemRecord>> {
        if let Some(fetched) = self.ahead.catalog_items(program, skus) {
            return Ok(fetched);
        }
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let sql = sql::catalog_items(skus.len());
        let mut query = sqlx::query_as(&sql).bind(program);
        for sku in skus {
            query = query.bind(sku);
        }
        Ok(query.fetch_all(&mut *self.conn).await?)
    }

    async fn record_pin_failure(
        &mut self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord> {
        self.ahead.forget();
        let record: CardRecord = sqlx::query_as(sql::PIN_FAILURE)
            .bind(card)
            .bind(i64::from(max_failures))
            .bind(lock_until)
            .bind(now())
            .fetch_optional(&mut *self.conn)
            .await?
            .ok_or(StoreError::NotFound { entity: "card" })?;
        if record.pin_failures == i32::try_from(max_failures).unwrap_or(i32::MAX) {
            sqlx::query(sql::PIN_LOCKED_AUDIT)
                .bind(uuid::Uuid::now_v7())
                .bind(now())
                .bind(card.to_string())
                .bind(sqlx::types::Json(serde_json::json!({
                    "failures": record.pin_failures, "locked_until": lock_until
                })))
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(record)
    }

    async fn clear_pin_failures(&mut self, card: CardId) -> StoreResult<()> {
        self.ahead.forget();
        sqlx::query(sql::CLEAR_PIN_FAILURES)
            .bind(card)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn entitlements(&mut self, household: HouseholdId) -> StoreResult<Vec<AccountBalance>> {
        if let Some(fetched) = self.ahead.entitlements(household) {
            return Ok(fetched);
        }
        Ok(sqlx::query_as(sql::ENTITLEMENTS)
            .bind(household)
            .fetch_all(&mut *self.conn)
            .await?)
    }

    async fn account(&mut self, id: AccountId) -> StoreResult<Option<AccountBalance>> {
        Ok(sqlx::query_as(sql::ACCOUNT)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn ensure_account(
        &mut self,
        kind: AccountKind,
        program: ProgramId,
        owner: AccountOwner,
    ) -> StoreResult<AccountId> {
        if let (AccountKind::EwarungPayable, AccountOwner::Ewarung(ewarung)) = (kind, owner) {
            if let Some(fetched) = self.ahead.payable(program, ewarung) {
                return Ok(fetched);
            }
        }
        let (owner_column, owner_id) = owner.column();
        let find = sql::find_account(kind.as_str(), owner_column);
        let lookup = || {
            let query = sqlx::query_scalar::<_, AccountId>(&find).bind(program);
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
        sqlx::query(sql::INSERT_ACCOUNT)
            .bind(AccountId::new())
            .bind(kind)
            .bind(program)
            .bind(household)
            .bind(ewarung)
            .bind(now())
            .execute(&mut *self.conn)
            .await?;
        Ok(lookup().fetch_one(&mut *self.conn).await?)
    }

    async fn apply_transfer(&mut self, transfer: &Transfer) -> StoreResult<bool> {
        self.ahead.forget();
        let resolves = matches!(
            transfer.kind,
            TransferKind::Post | TransferKind::Void | TransferKind::HoldExpired
        );
        if resolves {
            resolve_hold(self.conn, transfer).await
        } else {
            move_value(self.conn, transfer).await
        }
    }

    async fn transfer(&mut self, id: TransferId) -> StoreResult<Option<Transfer>> {
        if let Some(fetched) = self.ahead.transfer(id) {
            return Ok(Some(fetched));
        }
        Ok(sqlx::query_as(sql::TRANSFER)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn find_redemption(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> StoreResult<Option<RedemptionRow>> {
        if let Some(fetched) = self.ahead.redemption(terminal_id, stan, local_date) {
            return Ok(fetched);
        }
        Ok(sqlx::query_as(sql::FIND_REDEMPTION)
            .bind(terminal_id)
            .bind(stan)
            .bind(local_date)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn insert_redemption(
        &mut self,
        row: &RedemptionRow,
        lines: &[RedemptionLine],
    ) -> StoreResult<()> {
        self.ahead.forget();
        let statement = if lines.is_empty() {
            sql::INSERT_REDEMPTION
        } else {
            sql::POSTGRES_INSERT_REDEMPTION_WITH_LINES
        };
        let mut query = sqlx::query(statement)
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
            .bind(row.updated_at);
        if !lines.is_empty() {
            let line_count = i32::try_from(lines.len()).unwrap_or(i32::MAX);
            query = query
                .bind((1..=line_count).collect::<Vec<i32>>())
                .bind(lines.iter().map(|l| l.sku.clone()).collect::<Vec<_>>())
                .bind(lines.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
                .bind(lines.iter().map(|l| l.unit.clone()).collect::<Vec<_>>())
                .bind(
                    lines
                        .iter()
                        .map(|l| i32::try_from(l.quantity).unwrap_or(i32::MAX))
                        .collect::<Vec<_>>(),
                )
                .bind(lines.iter().map(|l| l.unit_price_minor).collect::<Vec<_>>())
                .bind(lines.iter().map(|l| l.amount_minor).collect::<Vec<_>>());
        }
        query.execute(&mut *self.conn).await?;
        Ok(())
    }

    async fn find_refund_request(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> StoreResult<Option<RefundRequestRow>> {
        Ok(sqlx::query_as(sql::FIND_REFUND_REQUEST)
            .bind(terminal_id)
            .bind(stan)
            .bind(local_date)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn insert_refund_request(&mut self, row: &RefundRequestRow) -> StoreResult<()> {
        self.ahead.forget();
        sqlx::query(sql::INSERT_REFUND_REQUEST)
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
        id: RedemptionId,
        state: PurchaseState,
        refund_id: Option<TransferId>,
        business_date: &str,
        at: DateTime<Utc>,
        from: PurchaseState,
    ) -> StoreResult<()> {
        self.ahead.forget();
        let changed = sqlx::query(sql::SET_REDEMPTION_STATE)
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
            return Err(StoreError::LostRace("the purchase"));
        }
        Ok(())
    }

    async fn business_date(&mut self, at: DateTime<Utc>) -> StoreResult<String> {
        if let Some((cutoff, closed)) = self.ahead.calendar() {
            return Ok(open_business_date(at, cutoff, closed.as_deref()));
        }
        let (cutoff, closed): (i32, Option<String>) =
            sqlx::query_as(CALENDAR).fetch_one(&mut *self.conn).await?;
        Ok(open_business_date(at, cutoff, closed.as_deref()))
    }

    async fn expired_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(RedemptionId, TransferId)>> {
        Ok(sqlx::query_as(sql::EXPIRED_HOLDS)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn)
            .await?)
    }

    async fn read_ahead(&mut self, plan: &ReadAheadPlan<'_>) -> StoreResult<()> {
        self.ahead = read_ahead::fetch(&mut *self.conn, plan).await?;
        Ok(())
    }
}

/// A hold or a posted transfer in one statement ([`sql::MOVE_VALUE_AT_ONCE`]); `false`, with
/// nothing written, when the debit would overdraw an entitlement or payable (holds included).
async fn move_value(conn: &mut PgConnection, transfer: &Transfer) -> StoreResult<bool> {
    let phase = if transfer.kind == TransferKind::Hold {
        "pending"
    } else {
        "posted"
    };
    let mut arguments = transfer_arguments(transfer)?;
    add(&mut arguments, phase)?;
    let (found, debited, credited, inserted) =
        sqlx::query_as_with::<_, (i64, i64, i64, i64), _>(sql::MOVE_VALUE_AT_ONCE, arguments)
            .fetch_one(&mut *conn)
            .await?;
    contract::outcome(Applied::Moved {
        accounts_found: found as u64,
        debited: debited as u64,
        credited: credited as u64,
        inserted: inserted as u64,
    })
}

/// A hold's post, void or expiry in one statement ([`sql::RESOLVE_AT_ONCE`]); `false` when
/// another resolution of the same hold got in first.
async fn resolve_hold(conn: &mut PgConnection, transfer: &Transfer) -> StoreResult<bool> {
    if transfer.pending_id.is_none() {
        return Err(StoreError::Check {
            constraint: "transfers_resolution_names_hold".into(),
        });
    }
    let posted = if transfer.kind == TransferKind::Post {
        transfer.amount_minor
    } else {
        0
    };
    let mut arguments = transfer_arguments(transfer)?;
    add(&mut arguments, posted)?;
    let (held, inserted, updated) =
        sqlx::query_as_with::<_, (Option<i64>, i64, i64), _>(sql::RESOLVE_AT_ONCE, arguments)
            .fetch_one(&mut *conn)
            .await?;
    let held = held.ok_or(StoreError::NotFound { entity: "hold" })?;
    contract::posted_of_resolution(transfer, held)?;
    contract::outcome(Applied::Resolved {
        inserted: inserted as u64,
        accounts_updated: updated as u64,
    })
}

/// A transfer's ten columns, in `INSERT_TRANSFER`'s order (`$1`…`$10`); the one-statement forms
/// add their own parameters after them.
fn transfer_arguments(transfer: &Transfer) -> StoreResult<PgArguments> {
    let mut arguments = PgArguments::default();
    add(&mut arguments, transfer.id)?;
    add(&mut arguments, transfer.program_id)?;
    add(&mut arguments, transfer.debit_account_id)?;
    add(&mut arguments, transfer.credit_account_id)?;
    add(&mut arguments, transfer.amount_minor)?;
    add(&mut arguments, transfer.kind)?;
    add(&mut arguments, transfer.pending_id)?;
    add(&mut arguments, transfer.timeout_at)?;
    add(&mut arguments, transfer.reference.clone())?;
    add(&mut arguments, transfer.created_at)?;
    Ok(arguments)
}

fn add<'q, T>(arguments: &mut PgArguments, value: T) -> StoreResult<()>
where
    T: sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + 'q,
{
    arguments
        .add(value)
        .map_err(|error| StoreError::Database(sqlx::Error::Encode(error)))
}
