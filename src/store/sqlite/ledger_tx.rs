//! SQLite's ledger transaction: the statements of [`sql`] run through rusqlite, synchronously,
//! on whichever connection holds the transaction.
//!
//! sqlx runs every SQLite statement on a worker thread of its own and hands each one (and each
//! row) across threads; a redemption is about twenty statements, and under load those hand-offs
//! cost more CPU than SQLite itself (`perf` on `ssn-bench redeem`: about 40% of the samples were
//! thread wake-ups and context switches). So the group-commit writer (`group_commit`) keeps a
//! connection of its own and runs the ledger on it directly; the jobs that run inside a sqlx
//! transaction (a close, a settlement, a quota approval) borrow that connection's handle
//! ([`LentConnection`]) and run the same code. The encodings are sqlx's (uuids as 16-byte blobs,
//! timestamps as RFC 3339 text), so the rows are indistinguishable from those sqlx writes.

use crate::ledger::contract::{self, Applied};
use std::ops::Deref;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{types::ToSql, CachedStatement, Connection, Row};

use crate::{
    domain::{
        ids::{AccountId, CardId, HouseholdId, ProgramId, RedemptionId, TransferId},
        purchase::PurchaseState,
    },
    ledger::{
        tx::{
            AccountOwner, CardWithHousehold, RedemptionLine, RedemptionRow, RefundRequestRow,
            TerminalContext, Transfer,
        },
        AccountBalance, AccountKind, LedgerTx, TransferKind,
    },
    store::{
        error::sqlite_constraint_name,
        ledger_sql::{open_business_date, sql},
        CardRecord, CatalogItemRecord, ProgramRecord, StoreError, StoreResult,
    },
};

/// A ledger transaction on a SQLite connection: the caller began it and commits it. `C` is the
/// group-commit writer's own connection (`&mut Connection`), or a sqlx connection lent for the
/// length of a transaction ([`LentConnection`]: closes, settlement, quota approval).
pub struct SqliteLedgerTx<C> {
    pub db: C,
}

/// A sqlx connection's SQLite handle, seen through rusqlite while sqlx's worker is kept off it.
/// The statements join whatever transaction sqlx began on that connection.
pub struct LentConnection<'c> {
    // Dropped first: rusqlite finalizes its prepared statements while the lock is still held.
    db: Connection,
    _lock: sqlx::sqlite::LockedSqliteHandle<'c>,
}

impl<'c> LentConnection<'c> {
    pub async fn lend(conn: &'c mut sqlx::SqliteConnection) -> StoreResult<Self> {
        let mut lock = conn.lock_handle().await?;
        // SAFETY: the handle stays open and unused by sqlx for as long as `lock` lives, which
        // outlives `db`; a connection made `from_handle` never closes the handle it was given,
        // and rusqlite (built without its `hooks` feature) installs nothing on it.
        #[allow(unsafe_code)]
        let db = unsafe { Connection::from_handle(lock.as_raw_handle().as_ptr()) }?;
        db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { db, _lock: lock })
    }
}

impl Deref for LentConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.db
    }
}

/// Prepared statements the writer keeps for its whole life: every statement of every kind of job.
pub const STATEMENT_CACHE: usize = 64;

/// `$1`, `$2`, …: the names SQLite gives the shared statements' placeholders.
const PLACEHOLDERS: [&str; 24] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24",
];

/// Prepares (or takes from the cache) `statement` and binds `params` to `$1`, `$2`, …
fn bound<'a>(
    db: &'a Connection,
    statement: &str,
    params: &[&dyn ToSql],
) -> rusqlite::Result<CachedStatement<'a>> {
    let mut prepared = db.prepare_cached(statement)?;
    for (value, name) in params.iter().zip(PLACEHOLDERS) {
        if let Some(index) = prepared.parameter_index(name)? {
            prepared.raw_bind_parameter(index, value)?;
        }
    }
    Ok(prepared)
}

fn execute(db: &Connection, statement: &str, params: &[&dyn ToSql]) -> StoreResult<usize> {
    Ok(bound(db, statement, params)?.raw_execute()?)
}

fn query_optional<T>(
    db: &Connection,
    statement: &str,
    params: &[&dyn ToSql],
    read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    let mut prepared = bound(db, statement, params)?;
    let mut rows = prepared.raw_query();
    Ok(match rows.next()? {
        Some(row) => Some(read(row)?),
        None => None,
    })
}

fn query_all<T>(
    db: &Connection,
    statement: &str,
    params: &[&dyn ToSql],
    read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut prepared = bound(db, statement, params)?;
    let mut rows = prepared.raw_query();
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(read(row)?);
    }
    Ok(all)
}

/// A timestamp as sqlx writes it to SQLite, so that text comparisons agree across both.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Reads a timestamp written by sqlx or by [`time_text`] (or SQLite's own `YYYY-MM-DD HH:MM:SS`).
fn time(row: &Row<'_>, column: &str) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(column)?;
    parse_time(&text).ok_or_else(|| bad_time(row, column, &text))
}

fn optional_time(row: &Row<'_>, column: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(column)?;
    text.map(|text| parse_time(&text).ok_or_else(|| bad_time(row, column, &text)))
        .transpose()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

fn bad_time(row: &Row<'_>, column: &str, text: &str) -> rusqlite::Error {
    let index = row.as_ref().column_index(column).unwrap_or(0);
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("'{text}' is not a timestamp").into(),
    )
}

impl From<rusqlite::Error> for StoreError {
    /// Constraint failures become the same errors as through sqlx (named as on PostgreSQL).
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(failure, Some(message)) = &error {
            let constraint = sqlite_constraint_name(message);
            match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Duplicate { constraint }
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return StoreError::MissingReference { constraint }
                }
                ffi::SQLITE_CONSTRAINT_CHECK => return StoreError::Check { constraint },
                _ => {}
            }
        }
        StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {error}")))
    }
}

fn terminal_context(row: &Row<'_>) -> rusqlite::Result<TerminalContext> {
    Ok(TerminalContext {
        terminal_id: row.get("terminal_id")?,
        ewarung_id: row.get("ewarung_id")?,
        status: row.get("status")?,
        ewarung_status: row.get("ewarung_status")?,
        pin_key_wrapped: row.get("pin_key_wrapped")?,
    })
}

fn card(row: &Row<'_>) -> rusqlite::Result<CardRecord> {
    Ok(CardRecord {
        id: row.get("id")?,
        household_id: row.get("household_id")?,
        pan_last4: row.get("pan_last4")?,
        pan_encrypted: row.get("pan_encrypted")?,
        pan_key_id: row.get("pan_key_id")?,
        status: row.get("status")?,
        status_reason: row.get("status_reason")?,
        pin_hash: row.get("pin_hash")?,
        pin_failures: row.get("pin_failures")?,
        locked_until: optional_time(row, "locked_until")?,
        replaces: row.get("replaces")?,
        representative_id: row.get("representative_id")?,
        issued_by: row.get("issued_by")?,
        issued_at: time(row, "issued_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn program(row: &Row<'_>) -> rusqlite::Result<ProgramRecord> {
    Ok(ProgramRecord {
        id: row.get("id")?,
        code: row.get("code")?,
        name: row.get("name")?,
        currency: row.get("currency")?,
        default_monthly_amount_minor: row.get("default_monthly_amount_minor")?,
        carry_over_months: row.get("carry_over_months")?,
        created_at: time(row, "created_at")?,
    })
}

fn catalog_item(row: &Row<'_>) -> rusqlite::Result<CatalogItemRecord> {
    Ok(CatalogItemRecord {
        program_id: row.get("program_id")?,
        sku: row.get("sku")?,
        name: row.get("name")?,
        unit: row.get("unit")?,
        commodity_group: row.get("commodity_group")?,
        max_unit_price_minor: row.get("max_unit_price_minor")?,
        created_at: time(row, "created_at")?,
    })
}

fn balance(row: &Row<'_>) -> rusqlite::Result<AccountBalance> {
    Ok(AccountBalance {
        id: row.get("id")?,
        program_id: row.get("program_id")?,
        household_id: row.get("household_id")?,
        ewarung_id: row.get("ewarung_id")?,
        debits_pending: row.get("debits_pending")?,
        debits_posted: row.get("debits_posted")?,
        credits_pending: row.get("credits_pending")?,
        credits_posted: row.get("credits_posted")?,
    })
}

fn transfer(row: &Row<'_>) -> rusqlite::Result<Transfer> {
    Ok(Transfer {
        id: row.get("id")?,
        program_id: row.get("program_id")?,
        debit_account_id: row.get("debit_account_id")?,
        credit_account_id: row.get("credit_account_id")?,
        amount_minor: row.get("amount_minor")?,
        kind: row.get("kind")?,
        pending_id: row.get("pending_id")?,
        timeout_at: optional_time(row, "timeout_at")?,
        reference: row.get("reference")?,
        created_at: time(row, "created_at")?,
    })
}

fn redemption(row: &Row<'_>) -> rusqlite::Result<RedemptionRow> {
    Ok(RedemptionRow {
        id: row.get("id")?,
        terminal_id: row.get("terminal_id")?,
        ewarung_id: row.get("ewarung_id")?,
        stan: row.get("stan")?,
        local_date: row.get("local_date")?,
        request_hash: row.get("request_hash")?,
        kind: row.get("kind")?,
        response_code: row.get("response_code")?,
        response: row.get("response")?,
        card_id: row.get("card_id")?,
        household_id: row.get("household_id")?,
        program_id: row.get("program_id")?,
        amount_minor: row.get("amount_minor")?,
        hold_id: row.get("hold_id")?,
        refund_id: row.get("refund_id")?,
        state: row.get("state")?,
        rrn: row.get("rrn")?,
        approval_code: row.get("approval_code")?,
        business_date: row.get("business_date")?,
        completed_date: row.get("completed_date")?,
        undone_date: row.get("undone_date")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn refund_request(row: &Row<'_>) -> rusqlite::Result<RefundRequestRow> {
    Ok(RefundRequestRow {
        id: row.get("id")?,
        terminal_id: row.get("terminal_id")?,
        stan: row.get("stan")?,
        local_date: row.get("local_date")?,
        request_hash: row.get("request_hash")?,
        redemption_id: row.get("redemption_id")?,
        response_code: row.get("response_code")?,
        response: row.get("response")?,
        created_at: time(row, "created_at")?,
    })
}

impl<C: Deref<Target = Connection> + Send> SqliteLedgerTx<C> {
    /// Inserts the transfer row; how many rows that made (0 when a resolution of the same hold
    /// is already there).
    fn insert_transfer(&self, transfer: &Transfer) -> StoreResult<u64> {
        let timeout_at = transfer.timeout_at.map(time_text);
        let inserted = execute(
            &self.db,
            sql::INSERT_TRANSFER,
            &[
                &transfer.id,
                &transfer.program_id,
                &transfer.debit_account_id,
                &transfer.credit_account_id,
                &transfer.amount_minor,
                &transfer.kind,
                &transfer.pending_id,
                &timeout_at,
                &transfer.reference,
                &time_text(transfer.created_at),
            ],
        )?;
        Ok(inserted as u64)
    }

    /// See the sqlx implementation's `move_value`: the guarded debit decides.
    fn move_value(&self, transfer: &Transfer, phase: sql::Phase) -> StoreResult<bool> {
        let amount = &transfer.amount_minor;
        let debited = execute(
            &self.db,
            sql::debit(phase),
            &[&transfer.debit_account_id, amount],
        )?;
        if debited == 0 {
            // Refused by the guard, or no such account: the contract tells them apart.
            return contract::outcome(Applied::Moved {
                accounts_found: self.accounts_found(transfer)?,
                debited: 0,
                credited: 0,
                inserted: 0,
            });
        }
        let credited = execute(
            &self.db,
            sql::credit(phase),
            &[&transfer.credit_account_id, amount],
        )? as u64;
        if credited != 1 {
            return contract::outcome(Applied::Moved {
                accounts_found: self.accounts_found(transfer)?,
                debited: debited as u64,
                credited,
                inserted: 0,
            });
        }
        let inserted = self.insert_transfer(transfer)?;
        contract::outcome(Applied::Moved {
            // Both accounts were updated: both exist.
            accounts_found: 2,
            debited: debited as u64,
            credited,
            inserted,
        })
    }

    /// How many of a transfer's two accounts exist (asked only when a step touched none).
    fn accounts_found(&self, transfer: &Transfer) -> StoreResult<u64> {
        let found: i64 = query_optional(
            &self.db,
            "SELECT count(*) FROM accounts WHERE id IN ($1, $2)",
            &[&transfer.debit_account_id, &transfer.credit_account_id],
            |row| row.get(0),
        )?
        .unwrap_or(0);
        Ok(found as u64)
    }

    fn find_account(
        &self,
        find: &str,
        program: ProgramId,
        owner: Option<uuid::Uuid>,
    ) -> StoreResult<Option<AccountId>> {
        let owner = owner.map(|id| id.into_bytes());
        match &owner {
            Some(owner) => query_optional(&self.db, find, &[&program, owner], |row| row.get(0)),
            None => query_optional(&self.db, find, &[&program], |row| row.get(0)),
        }
    }
}

#[async_trait]
impl<C: Deref<Target = Connection> + Send> LedgerTx for SqliteLedgerTx<C> {
    async fn db_now(&mut self) -> StoreResult<DateTime<Utc>> {
        // An embedded database's clock is this process's clock.
        Ok(crate::store::now())
    }

    async fn next_rrn(&mut self) -> StoreResult<i64> {
        query_optional(&self.db, sql::SQLITE_NEXT_RRN, &[], |row| row.get(0))?
            .ok_or(StoreError::NotFound { entity: "rrn" })
    }

    async fn terminal(&mut self, terminal_id: &str) -> StoreResult<Option<TerminalContext>> {
        query_optional(&self.db, sql::TERMINAL, &[&terminal_id], terminal_context)
    }

    async fn card_by_pan_hash(
        &mut self,
        pan_hash: &[u8],
    ) -> StoreResult<Option<CardWithHousehold>> {
        query_optional(&self.db, sql::CARD_BY_PAN_HASH, &[&pan_hash], |row| {
            Ok(CardWithHousehold {
                card: card(row)?,
                household_status: row.get("household_status")?,
                held_by_request: row.get("held_by_request")?,
                representative_valid_until: row.get("representative_valid_until")?,
            })
        })
    }

    async fn program_by_code(&mut self, code: &str) -> StoreResult<Option<ProgramRecord>> {
        query_optional(&self.db, sql::PROGRAM_BY_CODE, &[&code], program)
    }

    async fn program(&mut self, id: ProgramId) -> StoreResult<Option<ProgramRecord>> {
        query_optional(&self.db, sql::PROGRAM, &[&id], program)
    }

    async fn catalog_items(
        &mut self,
        program: ProgramId,
        skus: &[String],
    ) -> StoreResult<Vec<CatalogItemRecord>> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let mut params: Vec<&dyn ToSql> = vec![&program];
        params.extend(skus.iter().map(|sku| sku as &dyn ToSql));
        query_all(
            &self.db,
            &sql::catalog_items(skus.len()),
            &params,
            catalog_item,
        )
    }

    async fn record_pin_failure(
        &mut self,
        card_id: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord> {
        let record = query_optional(
            &self.db,
            sql::PIN_FAILURE,
            &[
                &card_id,
                &i64::from(max_failures),
                &time_text(lock_until),
                &time_text(crate::store::now()),
            ],
            card,
        )?
        .ok_or(StoreError::NotFound { entity: "card" })?;
        if record.pin_failures == i32::try_from(max_failures).unwrap_or(i32::MAX) {
            let detail = serde_json::json!({
                "failures": record.pin_failures, "locked_until": lock_until
            })
            .to_string();
            execute(
                &self.db,
                sql::PIN_LOCKED_AUDIT,
                &[
                    &uuid::Uuid::now_v7().into_bytes(),
                    &time_text(crate::store::now()),
                    &card_id.to_string(),
                    &detail,
                ],
            )?;
        }
        Ok(record)
    }

    async fn clear_pin_failures(&mut self, card: CardId) -> StoreResult<()> {
        execute(&self.db, sql::CLEAR_PIN_FAILURES, &[&card])?;
        Ok(())
    }

    async fn entitlements(&mut self, household: HouseholdId) -> StoreResult<Vec<AccountBalance>> {
        query_all(&self.db, sql::ENTITLEMENTS, &[&household], balance)
    }

    async fn account(&mut self, id: AccountId) -> StoreResult<Option<AccountBalance>> {
        query_optional(&self.db, sql::ACCOUNT, &[&id], balance)
    }

    async fn ensure_account(
        &mut self,
        kind: AccountKind,
        program: ProgramId,
        owner: AccountOwner,
    ) -> StoreResult<AccountId> {
        let (owner_column, owner_id) = owner.column();
        let find = sql::find_account(kind.as_str(), owner_column);
        if let Some(id) = self.find_account(&find, program, owner_id)? {
            return Ok(id);
        }
        let (household, ewarung) = owner.ids();
        execute(
            &self.db,
            sql::INSERT_ACCOUNT,
            &[
                &AccountId::new(),
                &kind,
                &program,
                &household,
                &ewarung,
                &time_text(crate::store::now()),
            ],
        )?;
        self.find_account(&find, program, owner_id)?
            .ok_or(StoreError::NotFound { entity: "account" })
    }

    async fn apply_transfer(&mut self, transfer: &Transfer) -> StoreResult<bool> {
        match transfer.kind {
            TransferKind::Hold => self.move_value(transfer, sql::Phase::Pending),
            TransferKind::Post | TransferKind::Void | TransferKind::HoldExpired => {
                let hold_id = transfer.pending_id.ok_or(StoreError::Check {
                    constraint: "transfers_resolution_names_hold".into(),
                })?;
                let held: i64 =
                    query_optional(&self.db, sql::HELD_AMOUNT, &[&hold_id], |row| row.get(0))?
                        .ok_or(StoreError::NotFound { entity: "hold" })?;
                let posted = contract::posted_of_resolution(transfer, held)?;
                let inserted = self.insert_transfer(transfer)?;
                if inserted == 0 {
                    return contract::outcome(Applied::Resolved {
                        inserted,
                        accounts_updated: 0,
                    });
                }
                let debited = execute(
                    &self.db,
                    sql::RESOLVE_DEBIT,
                    &[&transfer.debit_account_id, &held, &posted],
                )?;
                let credited = execute(
                    &self.db,
                    sql::RESOLVE_CREDIT,
                    &[&transfer.credit_account_id, &held, &posted],
                )?;
                contract::outcome(Applied::Resolved {
                    inserted,
                    accounts_updated: (debited + credited) as u64,
                })
            }
            _ => self.move_value(transfer, sql::Phase::Posted),
        }
    }

    async fn transfer(&mut self, id: TransferId) -> StoreResult<Option<Transfer>> {
        query_optional(&self.db, sql::TRANSFER, &[&id], transfer)
    }

    async fn find_redemption(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> StoreResult<Option<RedemptionRow>> {
        query_optional(
            &self.db,
            sql::FIND_REDEMPTION,
            &[&terminal_id, &stan, &local_date],
            redemption,
        )
    }

    async fn insert_redemption(
        &mut self,
        row: &RedemptionRow,
        lines: &[RedemptionLine],
    ) -> StoreResult<()> {
        execute(
            &self.db,
            sql::INSERT_REDEMPTION,
            &[
                &row.id,
                &row.terminal_id,
                &row.ewarung_id,
                &row.stan,
                &row.local_date,
                &row.request_hash,
                &row.kind,
                &row.response_code,
                &row.response,
                &row.card_id,
                &row.household_id,
                &row.program_id,
                &row.amount_minor,
                &row.hold_id,
                &row.refund_id,
                &row.state,
                &row.rrn,
                &row.approval_code,
                &row.business_date,
                &time_text(row.created_at),
                &time_text(row.updated_at),
            ],
        )?;
        for (line_no, line) in (1i64..).zip(lines) {
            execute(
                &self.db,
                sql::INSERT_REDEMPTION_LINE,
                &[
                    &row.id,
                    &line_no,
                    &line.sku,
                    &line.name,
                    &line.unit,
                    &i64::from(line.quantity),
                    &line.unit_price_minor,
                    &line.amount_minor,
                ],
            )?;
        }
        Ok(())
    }

    async fn find_refund_request(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> StoreResult<Option<RefundRequestRow>> {
        query_optional(
            &self.db,
            sql::FIND_REFUND_REQUEST,
            &[&terminal_id, &stan, &local_date],
            refund_request,
        )
    }

    async fn insert_refund_request(&mut self, row: &RefundRequestRow) -> StoreResult<()> {
        execute(
            &self.db,
            sql::INSERT_REFUND_REQUEST,
            &[
                &row.id,
                &row.terminal_id,
                &row.stan,
                &row.local_date,
                &row.request_hash,
                &row.redemption_id,
                &row.response_code,
                &row.response,
                &time_text(row.created_at),
            ],
        )?;
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
        let changed = execute(
            &self.db,
            sql::SET_REDEMPTION_STATE,
            &[
                &id,
                &state,
                &refund_id,
                &time_text(at),
                &business_date,
                &from,
            ],
        )?;
        if changed != 1 {
            return Err(StoreError::LostRace("the purchase"));
        }
        Ok(())
    }

    async fn business_date(&mut self, at: DateTime<Utc>) -> StoreResult<String> {
        let (cutoff, closed): (i32, Option<String>) =
            query_optional(&self.db, sql::BUSINESS_CALENDAR, &[], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .ok_or(StoreError::NotFound {
                entity: "business calendar",
            })?;
        Ok(open_business_date(at, cutoff, closed.as_deref()))
    }

    async fn expired_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(RedemptionId, TransferId)>> {
        query_all(
            &self.db,
            sql::EXPIRED_HOLDS,
            &[&time_text(now), &i64::from(limit)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_sqlx_writes_them_and_read_back() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:20:30.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = time_text(at);
        assert_eq!(text, "2026-11-23T10:20:30.123456+00:00");
        assert_eq!(parse_time(&text), Some(at));
        assert_eq!(
            parse_time("2026-11-23 10:20:30"),
            Some(at - chrono::Duration::microseconds(123_456))
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    /// SQLite checks `x IN (a, b, c, …)` by building a temporary B-tree (`OpenEphemeral`) each
    /// time the statement runs, which on a one-row write costs more than the write (migration 7):
    /// none of the statements a redemption or a quota posting repeats may do that.
    #[tokio::test]
    async fn the_hot_writes_build_no_temporary_tables() {
        use crate::store::{ledger_sql::sql, sqlite::SqliteStore, ConnectOptions};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let url = format!("sqlite://{}", path.display());
        SqliteStore::open(&url, &ConnectOptions::default())
            .await
            .unwrap();
        let db = rusqlite::Connection::open(&path).unwrap();
        let hot = [
            sql::INSERT_TRANSFER,
            sql::INSERT_REDEMPTION,
            sql::SET_REDEMPTION_STATE,
            sql::debit(sql::Phase::Pending),
            sql::credit(sql::Phase::Posted),
            sql::RESOLVE_DEBIT,
            sql::RESOLVE_CREDIT,
        ];
        for statement in hot {
            let mut explain = db.prepare(&format!("EXPLAIN {statement}")).unwrap();
            // EXPLAIN lists the program without running it, so the parameters stay unbound.
            let mut rows = explain.raw_query();
            let mut opcodes = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                opcodes.push(row.get::<_, String>(1).unwrap());
            }
            assert!(opcodes.len() > 5, "an EXPLAIN listing: {statement}");
            assert!(
                !opcodes.iter().any(|op| op == "OpenEphemeral"),
                "builds a temporary table on every run: {statement}"
            );
        }
    }
}
