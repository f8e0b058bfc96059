//! [`LedgerStore`](crate::store::LedgerStore) for both backends: running jobs (each backend's own
//! way, see `transact_job`), quota batches, expiry and the ledger check, with SQL written once.
//! Quota posting is set-based: a million-row batch is a handful of statements, not a million.
//! Sums are cast to BIGINT because PostgreSQL widens `sum(bigint)` to `numeric`.

/// How many errors and skipped rows a report carries inline.
pub(crate) const REPORT_SAMPLE: i64 = 100;

/// `($1, $2, $3), ($4, $5, $6), …` (on SQLite `(?, ?, ?), …`): `rows` rows of `columns`
/// parameters, bound in order, for a multi-row insert (one row is an `IN` list).
pub(crate) fn value_rows<DB: Dialect>(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let first = row * columns + 1;
            let row: Vec<String> = (first..first + columns).map(|n| DB::parameter(n)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::store::ledger_sql::{Dialect, RowsAffected};

use crate::domain::ids::UserId;
use crate::store::{
    sql_store::{Engine, SqlStore},
    Page, StoreError, StoreResult,
};
use crate::{
    domain::ids::{QuotaBatchId, UserId as QuotaUserId},
    ledger::{
        tx::AccountOwner,
        verify::{LedgerCheck, RecomputedAccount, Violation},
        AccountKind, Transfer, TransferKind,
    },
    model::quota::{
        BatchReport, BatchStatus, BatchSummary, ExpiredEntitlement, LineError, LineOutcome,
        OutcomeCount, QuotaBatchRecord, SkippedLine, StagedLine,
    },
};

impl<E: Engine> SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::QuotaBatchId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    // Rows read column by column.
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
{
    /// Records problems with lines, many per statement.
    pub(crate) async fn insert_quota_errors(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        batch: QuotaBatchId,
        errors: &[LineError],
    ) -> StoreResult<()> {
        // 5 values a line: SQLite allows 32766 bound parameters a statement.
        const ERRORS_PER_STATEMENT: usize = 1_000;
        for part in errors.chunks(ERRORS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO quota_errors (batch_id, line_no, field, code, message) VALUES {}",
                value_rows::<E::Db>(part.len(), 5)
            );
            let mut insert = sqlx::query(&sql);
            for error in part {
                insert = insert
                    .bind(batch)
                    .bind(error.line_no)
                    .bind(&error.field)
                    .bind(&error.code)
                    .bind(&error.message);
            }
            insert.execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn batch_report(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        batch: QuotaBatchId,
    ) -> StoreResult<Option<BatchReport>> {
        let Some(record): Option<QuotaBatchRecord> =
            sqlx::query_as("SELECT * FROM quota_batches WHERE id = $1")
                .bind(batch)
                .fetch_optional(&mut *conn)
                .await?
        else {
            return Ok(None);
        };
        let households: i64 =
            sqlx::query_scalar("SELECT household_count FROM quota_batches WHERE id = $1")
                .bind(batch)
                .fetch_one(&mut *conn)
                .await?;
        // Before posting, outcomes are what posting would have done at upload; after, what
        // it did (posting decides again, as households and other batches may have changed).
        let has_outcomes = matches!(record.status, BatchStatus::Validated | BatchStatus::Posted);
        let outcomes: Vec<OutcomeCount> = if has_outcomes {
            sqlx::query_as(
                "SELECT outcome, row_count AS rows, amount_minor
                 FROM quota_batch_outcomes WHERE batch_id = $1 ORDER BY outcome",
            )
            .bind(batch)
            .fetch_all(&mut *conn)
            .await?
        } else {
            Vec::new()
        };
        let errors: Vec<LineError> = sqlx::query_as(
            "SELECT line_no, field, code, message FROM quota_errors WHERE batch_id = $1
             ORDER BY line_no, field LIMIT $2",
        )
        .bind(batch)
        .bind(REPORT_SAMPLE)
        .fetch_all(&mut *conn)
        .await?;
        // Looked for only when there are some: the search walks the batch's lines.
        let any_skipped = outcomes
            .iter()
            .any(|o| o.outcome != LineOutcome::Credited.as_str());
        let skipped: Vec<SkippedLine> = if any_skipped {
            sqlx::query_as(
                "SELECT line_no, kk_number, household_id, period, outcome FROM quota_lines
                 WHERE batch_id = $1 AND outcome <> 'credited' ORDER BY line_no LIMIT $2",
            )
            .bind(batch)
            .bind(REPORT_SAMPLE)
            .fetch_all(&mut *conn)
            .await?
        } else {
            Vec::new()
        };
        Ok(Some(BatchReport {
            batch: record,
            households,
            outcomes,
            errors,
            skipped,
        }))
    }

    /// Deletes a `validating` batch with its staged lines and errors, in the caller's
    /// transaction; leaves any other batch alone.
    async fn remove_validating_batch(
        tx: &mut crate::store::WriteTx<E::Db>,
        batch: QuotaBatchId,
    ) -> StoreResult<bool> {
        let validating = "SELECT id FROM quota_batches WHERE id = $1 AND status = 'validating'";
        for table in ["quota_lines", "quota_errors", "quota_batch_outcomes"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE batch_id IN ({validating})"
            ))
            .bind(batch)
            .execute(&mut **tx)
            .await?;
        }
        let removed =
            sqlx::query("DELETE FROM quota_batches WHERE id = $1 AND status = 'validating'")
                .bind(batch)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        Ok(removed == 1)
    }

    /// Keeps a batch's rows and amount by outcome with the batch, for its reports.
    async fn record_outcomes(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        batch: QuotaBatchId,
        outcomes: &[OutcomeCount],
    ) -> StoreResult<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO quota_batch_outcomes (batch_id, outcome, row_count, amount_minor) VALUES {}",
            value_rows::<E::Db>(outcomes.len(), 4)
        );
        let mut insert = sqlx::query(&sql);
        for outcome in outcomes {
            insert = insert
                .bind(batch)
                .bind(&outcome.outcome)
                .bind(outcome.rows)
                .bind(outcome.amount_minor);
        }
        insert.execute(&mut *conn).await?;
        Ok(())
    }
}

/// What posting a line does, decided again at posting time, as SQL over `quota_lines l`.
const POSTING_OUTCOME: &str = "CASE (SELECT h.status FROM households h WHERE h.id = l.household_id)
        WHEN 'suspended' THEN 'skipped_suspended'
        WHEN 'exited' THEN 'skipped_exited'
        ELSE CASE WHEN EXISTS (SELECT 1 FROM quota_credits c WHERE c.program_id = l.program_id
                                 AND c.household_id = l.household_id AND c.period = l.period)
                  THEN 'already_loaded' ELSE 'credited' END
     END";

#[async_trait::async_trait]
impl<E: Engine> crate::store::LedgerStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::QuotaBatchId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    // Rows read column by column.
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
{
    async fn transact(
        &self,
        job: std::sync::Arc<dyn crate::ledger::tx::ErasedJob>,
    ) -> StoreResult<Box<dyn std::any::Any + Send>> {
        self.engine.transact_job(job).await
    }

    async fn transact_alone(
        &self,
        job: std::sync::Arc<dyn crate::ledger::tx::ErasedJob>,
    ) -> StoreResult<Box<dyn std::any::Any + Send>> {
        self.engine.transact_job_alone(job).await
    }

    async fn create_quota_batch(
        &self,
        source_name: &str,
        uploaded_by: QuotaUserId,
    ) -> StoreResult<QuotaBatchRecord> {
        let mut tx = self.engine.begin_write().await?;
        // A batch still `validating` after an hour died with its upload (a million lines
        // take seconds) and was not cleaned up then: it and its staged rows go.
        let stale = crate::store::now() - chrono::Duration::hours(1);
        let abandoned: Vec<(QuotaBatchId,)> = sqlx::query_as(
            "SELECT id FROM quota_batches WHERE status = 'validating' AND uploaded_at < $1",
        )
        .bind(stale)
        .fetch_all(&mut *tx)
        .await?;
        for (batch,) in &abandoned {
            Self::remove_validating_batch(&mut tx, *batch).await?;
        }
        if !abandoned.is_empty() {
            tracing::warn!(
                removed = abandoned.len(),
                "removed quota batches whose upload never finished"
            );
        }
        let record = sqlx::query_as(
            "INSERT INTO quota_batches (id, status, source_name, uploaded_by, uploaded_at)
             VALUES ($1, 'validating', $2, $3, $4) RETURNING *",
        )
        .bind(QuotaBatchId::new())
        .bind(source_name)
        .bind(uploaded_by)
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn abandon_quota_batch(&self, batch: QuotaBatchId) -> StoreResult<bool> {
        let mut tx = self.engine.begin_write().await?;
        let removed = Self::remove_validating_batch(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn stage_quota_chunk(
        &self,
        batch: QuotaBatchId,
        lines: &[StagedLine],
        errors: &[LineError],
    ) -> StoreResult<Vec<Option<LineOutcome>>> {
        self.engine.stage_lines(batch, lines, errors).await
    }

    async fn finish_quota_batch(
        &self,
        batch: QuotaBatchId,
        rows: i64,
        summary: BatchSummary,
    ) -> StoreResult<BatchReport> {
        let mut tx = self.engine.begin_write().await?;
        Self::insert_quota_errors(&mut tx, batch, &summary.file_errors).await?;
        let settled = sqlx::query(
            "UPDATE quota_batches SET
                 row_count = $2,
                 error_count = (SELECT count(*) FROM quota_errors WHERE batch_id = $1),
                 total_minor = $3,
                 household_count = $4,
                 status = CASE WHEN EXISTS (SELECT 1 FROM quota_errors WHERE batch_id = $1)
                               OR $2 = 0 THEN 'invalid' ELSE 'validated' END
             WHERE id = $1 AND status = 'validating'",
        )
        .bind(batch)
        .bind(rows)
        .bind(summary.total_minor)
        .bind(summary.households)
        .execute(&mut *tx)
        .await?;
        if settled.rows_affected() == 1 {
            Self::record_outcomes(&mut tx, batch, &summary.outcomes).await?;
        }
        let record: QuotaBatchRecord = sqlx::query_as("SELECT * FROM quota_batches WHERE id = $1")
            .bind(batch)
            .fetch_one(&mut *tx)
            .await?;
        let detail = json!({
            "rows": rows, "errors": record.error_count, "status": record.status.as_str()
        });
        crate::store::registry::audit(
            &mut tx,
            Some(record.uploaded_by),
            "quota.uploaded",
            ("quota_batch", batch.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        // The report only reads: it runs on a reader, off the writer.
        let mut conn = self.engine.reader().acquire().await?;
        Self::batch_report(&mut conn, batch)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "quota batch",
            })
    }

    async fn quota_batch_report(&self, batch: QuotaBatchId) -> StoreResult<Option<BatchReport>> {
        let mut conn = self.engine.reader().acquire().await?;
        Self::batch_report(&mut conn, batch).await
    }

    async fn list_quota_batches(&self, page: Page) -> StoreResult<Vec<QuotaBatchRecord>> {
        Ok(sqlx::query_as(
            "SELECT * FROM quota_batches WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(page.after.map(QuotaBatchId))
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn list_quota_errors(
        &self,
        batch: QuotaBatchId,
        after_line: i64,
        limit: u32,
    ) -> StoreResult<Vec<LineError>> {
        Ok(sqlx::query_as(
            "SELECT line_no, field, code, message FROM quota_errors
             WHERE batch_id = $1 AND line_no > $2 ORDER BY line_no, field LIMIT $3",
        )
        .bind(batch)
        .bind(after_line)
        .bind(i64::from(limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn transact_quota_posting(
        &self,
        job: &dyn crate::store::ErasedQuotaPostingJob,
    ) -> StoreResult<Box<dyn std::any::Any + Send>> {
        let mut tx = self.engine.begin_write().await?;
        let output = job
            .run_erased(&mut SqlQuotaPostingTx::<E> {
                tx: &mut tx,
                engine: std::marker::PhantomData,
            })
            .await?;
        tx.commit().await?;
        Ok(output)
    }

    async fn expire_entitlements(
        &self,
        as_of: chrono::NaiveDate,
        actor: Option<QuotaUserId>,
    ) -> StoreResult<Vec<ExpiredEntitlement>> {
        let mut tx = self.engine.begin_write().await?;
        let programs: Vec<crate::store::ProgramRecord> =
            sqlx::query_as("SELECT * FROM programs ORDER BY code")
                .fetch_all(&mut *tx)
                .await?;
        let now = crate::store::now();
        let mut expired = Vec::new();
        for program in programs {
            // Credits for the as-of month and the carry-over months before it stay.
            let cutoff = crate::model::quota::expiry_cutoff(as_of, program.carry_over_months);
            let candidates: Vec<(
                crate::domain::ids::AccountId,
                crate::domain::ids::HouseholdId,
                String,
                i64,
            )> = sqlx::query_as(
                "SELECT a.id, a.household_id, h.kk_number,
                        a.credits_posted - a.debits_posted - a.debits_pending - CAST(COALESCE(
                            (SELECT sum(q.amount_minor) FROM quota_credits q
                             WHERE q.program_id = a.program_id AND q.household_id = a.household_id
                               AND q.period >= $2), 0) AS BIGINT) AS excess
                 FROM accounts a JOIN households h ON h.id = a.household_id
                 WHERE a.kind = 'entitlement' AND a.program_id = $1
                 ORDER BY h.kk_number",
            )
            .bind(program.id)
            .bind(&cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let mut ledger = E::ledger_tx(&mut *tx).await?;
            let funding = ledger
                .ensure_account(
                    AccountKind::ProgramFunding,
                    program.id,
                    AccountOwner::Program,
                )
                .await?;
            for (account, household, kk_number, excess) in candidates {
                if excess <= 0 {
                    continue;
                }
                let transfer = Transfer {
                    id: crate::domain::ids::TransferId::new(),
                    program_id: program.id,
                    debit_account_id: account,
                    credit_account_id: funding,
                    amount_minor: excess,
                    kind: TransferKind::Expiry,
                    pending_id: None,
                    timeout_at: None,
                    reference: format!("expiry:{as_of}:before:{cutoff}"),
                    created_at: now,
                };
                if ledger.apply_transfer(&transfer).await? {
                    expired.push(ExpiredEntitlement {
                        program_code: program.code.clone(),
                        household_id: household,
                        kk_number,
                        amount_minor: excess,
                    });
                }
            }
        }
        let total = crate::domain::money::Minor::sum(
            expired
                .iter()
                .map(|e| crate::domain::money::Minor::new(e.amount_minor)),
        )
        .map_err(|_| StoreError::Refused {
            code: "amount_out_of_range",
            message: "the expired amounts add up to more than this service can hold".into(),
        })?
        .get();
        let detail = json!({ "as_of": as_of.to_string(), "households": expired.len(), "total_minor": total });
        crate::store::registry::audit(
            &mut tx,
            actor,
            "quota.expired",
            ("ledger", as_of.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(expired)
    }

    async fn verify_ledger(&self) -> StoreResult<LedgerCheck> {
        // One read transaction, so the check sees one consistent moment.
        let mut tx = self.engine.reader().begin().await?;
        let accounts = sqlx::query_scalar("SELECT CAST(count(*) AS BIGINT) FROM accounts")
            .fetch_one(&mut *tx)
            .await?;
        let transfers = sqlx::query_scalar("SELECT CAST(count(*) AS BIGINT) FROM transfers")
            .fetch_one(&mut *tx)
            .await?;
        let mut check = LedgerCheck {
            accounts,
            transfers,
            ..LedgerCheck::default()
        };
        let recomputed: Vec<RecomputedAccount> = sqlx::query_as(
            "WITH moves AS (
                 SELECT t.debit_account_id AS account_id,
                        CASE WHEN t.kind = 'hold' AND NOT EXISTS
                             (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)
                             THEN t.amount_minor ELSE 0 END AS dpend,
                        CASE WHEN t.kind IN ('quota_load', 'refund', 'expiry', 'settlement', 'post')
                             THEN t.amount_minor ELSE 0 END AS dpost,
                        0 AS cpend, 0 AS cpost
                 FROM transfers t
                 UNION ALL
                 SELECT t.credit_account_id,
                        0, 0,
                        CASE WHEN t.kind = 'hold' AND NOT EXISTS
                             (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)
                             THEN t.amount_minor ELSE 0 END,
                        CASE WHEN t.kind IN ('quota_load', 'refund', 'expiry', 'settlement', 'post')
                             THEN t.amount_minor ELSE 0 END
                 FROM transfers t)
             SELECT a.id, a.kind, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
                    CAST(COALESCE(sum(m.dpend), 0) AS BIGINT) AS sum_debits_pending,
                    CAST(COALESCE(sum(m.dpost), 0) AS BIGINT) AS sum_debits_posted,
                    CAST(COALESCE(sum(m.cpend), 0) AS BIGINT) AS sum_credits_pending,
                    CAST(COALESCE(sum(m.cpost), 0) AS BIGINT) AS sum_credits_posted
             FROM accounts a LEFT JOIN moves m ON m.account_id = a.id
             GROUP BY a.id, a.kind, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted
             ORDER BY a.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        for account in &recomputed {
            check.violations.extend(account.violations());
        }
        let unbalanced: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.code,
                    CAST(COALESCE(sum(a.debits_posted), 0) AS BIGINT),
                    CAST(COALESCE(sum(a.credits_posted), 0) AS BIGINT),
                    CAST(COALESCE(sum(a.debits_pending), 0) AS BIGINT),
                    CAST(COALESCE(sum(a.credits_pending), 0) AS BIGINT)
             FROM accounts a JOIN programs p ON p.id = a.program_id
             GROUP BY p.code ORDER BY p.code",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (code, debits, credits, debits_pending, credits_pending) in unbalanced {
            if debits != credits || debits_pending != credits_pending {
                check.violations.push(Violation {
                    rule: "unbalanced_program",
                    subject: format!("program {code}"),
                    detail: format!(
                        "posted debits {debits} vs credits {credits}; pending debits {debits_pending} vs credits {credits_pending}"
                    ),
                });
            }
        }
        let checks: [(&'static str, &str); 11] = [
            ("hold_resolved_twice",
             "SELECT pending_id, 'resolved ' || CAST(count(*) AS TEXT) || ' times'
              FROM transfers WHERE pending_id IS NOT NULL GROUP BY pending_id HAVING count(*) > 1"),
            ("post_exceeds_hold",
             "SELECT p.id, 'posts ' || CAST(p.amount_minor AS TEXT) || ' of a hold of ' || CAST(h.amount_minor AS TEXT)
              FROM transfers p JOIN transfers h ON h.id = p.pending_id WHERE p.amount_minor > h.amount_minor"),
            ("resolution_mismatch",
             "SELECT p.id, 'resolves a ' || h.kind || ' or names other accounts than its hold'
              FROM transfers p JOIN transfers h ON h.id = p.pending_id
              WHERE h.kind <> 'hold' OR p.debit_account_id <> h.debit_account_id
                 OR p.credit_account_id <> h.credit_account_id
                 OR (p.kind <> 'post' AND p.amount_minor <> h.amount_minor)"),
            ("foreign_account",
             "SELECT t.id, 'moves value between accounts of another program'
              FROM transfers t JOIN accounts d ON d.id = t.debit_account_id JOIN accounts c ON c.id = t.credit_account_id
              WHERE d.program_id <> t.program_id OR c.program_id <> t.program_id"),
            ("purchase_state",
             "SELECT r.id, 'is held but its hold is resolved'
              FROM redemptions r WHERE r.state = 'held'
                AND EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = r.hold_id)"),
            ("purchase_state",
             "SELECT r.id, 'is ' || r.state || ' but its hold is not resolved'
              FROM redemptions r WHERE r.state IN ('completed', 'voided', 'expired', 'refunded')
                AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = r.hold_id)"),
            ("refunded_twice",
             "SELECT (SELECT x.id FROM transfers x WHERE x.kind = 'refund' AND x.reference = t.reference
                       ORDER BY x.created_at LIMIT 1),
                     t.reference || ' was refunded ' || CAST(count(*) AS TEXT) || ' times'
              FROM transfers t WHERE t.kind = 'refund' GROUP BY t.reference HAVING count(*) > 1"),
            // An approved purchase's lines are its receipt: they add up to what it held.
            ("purchase_lines",
             "SELECT r.id, 'holds ' || CAST(r.amount_minor AS TEXT) || ' but its lines add up to '
                     || CAST(COALESCE((SELECT sum(l.amount_minor) FROM redemption_lines l
                                       WHERE l.redemption_id = r.id), 0) AS TEXT)
              FROM redemptions r WHERE r.kind = 'purchase' AND r.rrn IS NOT NULL
                AND r.amount_minor <> COALESCE((SELECT sum(l.amount_minor) FROM redemption_lines l
                                                WHERE l.redemption_id = r.id), 0)"),
            // Settled + still payable = matched: each entry pays the difference between its
            // run's match and what the entries before it settled...
            ("settlement_sum",
             "SELECT s.id, 'says ' || CAST(s.settled_before_minor AS TEXT) || ' was settled before it, earlier entries add up to '
                     || CAST(COALESCE((SELECT sum(e.amount_minor) FROM settlement_entries e
                          WHERE e.business_date = s.business_date AND e.ewarung_id = s.ewarung_id
                            AND e.program_id = s.program_id AND e.created_at < s.created_at), 0) AS TEXT)
              FROM settlement_entries s
              WHERE s.settled_before_minor <> COALESCE((SELECT sum(e.amount_minor) FROM settlement_entries e
                          WHERE e.business_date = s.business_date AND e.ewarung_id = s.ewarung_id
                            AND e.program_id = s.program_id AND e.created_at < s.created_at), 0)
                 OR s.amount_minor <> s.matched_minor - s.settled_before_minor"),
            // ...and its transfer moves exactly that between the kiosk's payable and the
            // program's settlement account (back again when negative)...
            ("settlement_transfer",
             "SELECT s.id, 'settles ' || CAST(s.amount_minor AS TEXT) || ' but its transfer does not move that between the payable and settlement'
              FROM settlement_entries s
              LEFT JOIN transfers t ON t.id = s.transfer_id
              LEFT JOIN accounts p ON p.kind = 'ewarung_payable' AND p.ewarung_id = s.ewarung_id AND p.program_id = s.program_id
              LEFT JOIN accounts x ON x.kind = 'settlement' AND x.program_id = s.program_id
              WHERE (s.amount_minor = 0 AND s.transfer_id IS NOT NULL)
                 OR (s.amount_minor <> 0 AND (t.id IS NULL OR p.id IS NULL OR x.id IS NULL
                     OR t.kind <> 'settlement' OR t.program_id <> s.program_id
                     OR (s.amount_minor > 0 AND (t.debit_account_id <> p.id OR t.credit_account_id <> x.id
                                                  OR t.amount_minor <> s.amount_minor))
                     OR (s.amount_minor < 0 AND (t.debit_account_id <> x.id OR t.credit_account_id <> p.id
                                                  OR t.amount_minor <> -s.amount_minor))))"),
            // ...and no settlement transfer exists without its entry.
            ("settlement_transfer",
             "SELECT t.id, 'is a settlement transfer that no settlement entry names'
              FROM transfers t WHERE t.kind = 'settlement'
                AND NOT EXISTS (SELECT 1 FROM settlement_entries s WHERE s.transfer_id = t.id)"),
        ];
        for (rule, sql) in checks {
            let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(sql).fetch_all(&mut *tx).await?;
            check
                .violations
                .extend(rows.into_iter().map(|(subject, detail)| Violation {
                    rule,
                    subject: subject.to_string(),
                    detail,
                }));
        }
        tx.rollback().await?;
        Ok(check)
    }
}

/// [`QuotaPostingTx`](crate::store::QuotaPostingTx) over a write transaction of the engine's.
/// Every step is one set statement over the batch's lines (a join or a grouping, never a
/// per-row search), so a million lines post in seconds.
struct SqlQuotaPostingTx<'t, E: Engine> {
    tx: &'t mut crate::store::WriteTx<E::Db>,
    engine: std::marker::PhantomData<fn() -> E>,
}

/// The join that finds a line's account of `kind`: one per household and program for an
/// entitlement, one per program for funding and settlement.
fn line_account(alias: &str, kind: AccountKind) -> StoreResult<String> {
    match kind {
        AccountKind::Entitlement => Ok(format!(
            "JOIN accounts {alias} ON {alias}.kind = 'entitlement' AND {alias}.program_id = l.program_id
                                  AND {alias}.household_id = l.household_id"
        )),
        AccountKind::ProgramFunding | AccountKind::Settlement => Ok(format!(
            "JOIN accounts {alias} ON {alias}.kind = '{kind}' AND {alias}.program_id = l.program_id"
        )),
        // A quota line names no E-Warung.
        AccountKind::EwarungPayable => Err(StoreError::Check {
            constraint: "quota_transfers_accounts".into(),
        }),
    }
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::QuotaPostingTx for SqlQuotaPostingTx<'_, E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::QuotaBatchId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    // Rows read column by column.
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
{
    async fn batch(&mut self, batch: QuotaBatchId) -> StoreResult<Option<QuotaBatchRecord>> {
        Ok(sqlx::query_as("SELECT * FROM quota_batches WHERE id = $1")
            .bind(batch)
            .fetch_optional(&mut **self.tx)
            .await?)
    }

    async fn mark_posted(
        &mut self,
        batch: QuotaBatchId,
        approver: QuotaUserId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE quota_batches SET status = 'posted', approved_by = $2, approved_at = $3
             WHERE id = $1 AND status = 'validated'",
        )
        .bind(batch)
        .bind(approver)
        .bind(at)
        .execute(&mut **self.tx)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn classify_lines(&mut self, batch: QuotaBatchId) -> StoreResult<()> {
        sqlx::query(&format!(
            "UPDATE quota_lines SET outcome = (SELECT {POSTING_OUTCOME} FROM quota_lines l
                 WHERE l.batch_id = quota_lines.batch_id AND l.line_no = quota_lines.line_no)
             WHERE batch_id = $1"
        ))
        .bind(batch)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn credited_programs(
        &mut self,
        batch: QuotaBatchId,
    ) -> StoreResult<Vec<crate::domain::ids::ProgramId>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT program_id FROM quota_lines WHERE batch_id = $1 AND outcome = 'credited'",
        )
        .bind(batch)
        .fetch_all(&mut **self.tx)
        .await?)
    }

    async fn ledger(&mut self) -> StoreResult<Box<dyn crate::ledger::LedgerTx + '_>> {
        E::ledger_tx(&mut **self.tx).await
    }

    async fn open_entitlements(
        &mut self,
        batch: QuotaBatchId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // The household's first line in the file supplies the account id chosen at upload.
        sqlx::query(
            "INSERT INTO accounts (id, kind, program_id, household_id, created_at)
             SELECT l.account_id, 'entitlement', l.program_id, l.household_id, $2
             FROM (SELECT program_id, household_id, min(line_no) AS first_line FROM quota_lines
                   WHERE batch_id = $1 AND outcome = 'credited'
                   GROUP BY program_id, household_id) f
             JOIN quota_lines l ON l.batch_id = $1 AND l.line_no = f.first_line
             WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.kind = 'entitlement'
                                 AND a.program_id = l.program_id AND a.household_id = l.household_id)
             ON CONFLICT DO NOTHING",
        )
        .bind(batch)
        .bind(at)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn insert_transfers(
        &mut self,
        batch: QuotaBatchId,
        kind: TransferKind,
        debit: AccountKind,
        credit: AccountKind,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id, amount_minor,
                                    kind, reference, created_at)
             SELECT l.transfer_id, l.program_id, d.id, c.id, l.amount_minor, '{kind}',
                    'quota:' || l.period || ':line:' || CAST(l.line_no AS TEXT), $2
             FROM quota_lines l {} {}
             WHERE l.batch_id = $1 AND l.outcome = 'credited'",
            line_account("d", debit)?,
            line_account("c", credit)?
        ))
        .bind(batch)
        .bind(at)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn record_credits(&mut self, batch: QuotaBatchId) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO quota_credits (program_id, household_id, period, batch_id, transfer_id, amount_minor)
             SELECT program_id, household_id, period, batch_id, transfer_id, amount_minor
             FROM quota_lines WHERE batch_id = $1 AND outcome = 'credited'",
        )
        .bind(batch)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn add_transfers_to_balances(&mut self, batch: QuotaBatchId) -> StoreResult<()> {
        for (side, account) in [
            ("credits", "credit_account_id"),
            ("debits", "debit_account_id"),
        ] {
            sqlx::query(&format!(
                "UPDATE accounts SET {side}_posted = accounts.{side}_posted + moved.total
                 FROM (SELECT t.{account} AS account_id, CAST(sum(t.amount_minor) AS BIGINT) AS total
                       FROM quota_lines l JOIN transfers t ON t.id = l.transfer_id
                       WHERE l.batch_id = $1 AND l.outcome = 'credited'
                       GROUP BY t.{account}) moved
                 WHERE accounts.id = moved.account_id"
            ))
            .bind(batch)
            .execute(&mut **self.tx)
            .await?;
        }
        Ok(())
    }

    async fn keep_outcomes(&mut self, batch: QuotaBatchId) -> StoreResult<()> {
        let outcomes: Vec<OutcomeCount> = sqlx::query_as(
            "SELECT outcome, CAST(count(*) AS BIGINT) AS rows,
                    CAST(sum(amount_minor) AS BIGINT) AS amount_minor
             FROM quota_lines WHERE batch_id = $1 GROUP BY outcome",
        )
        .bind(batch)
        .fetch_all(&mut **self.tx)
        .await?;
        sqlx::query("DELETE FROM quota_batch_outcomes WHERE batch_id = $1")
            .bind(batch)
            .execute(&mut **self.tx)
            .await?;
        SqlStore::<E>::record_outcomes(&mut **self.tx, batch, &outcomes).await
    }

    async fn report(&mut self, batch: QuotaBatchId) -> StoreResult<Option<BatchReport>> {
        SqlStore::<E>::batch_report(&mut **self.tx, batch).await
    }

    async fn audit(
        &mut self,
        actor: QuotaUserId,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()> {
        crate::store::registry::audit(self.tx, Some(actor), action, subject, detail).await
    }
}

#[cfg(test)]
mod tests {
    use super::value_rows;

    /// SQLite gets bare `?`: it looks `$N` and `?N` up as names while preparing, which made a
    /// 14,000-parameter insert cost over a second (docs/benchmarks.md, "What we learned").
    #[test]
    fn multi_row_inserts_number_parameters_the_way_each_engine_prepares_fast() {
        assert_eq!(value_rows::<sqlx::Sqlite>(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(
            value_rows::<sqlx::Postgres>(2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
    }
}
