//! [`DayStore`](crate::store::DayStore) for both engines, SQL written once: the daily close,
//! reconciliation runs and their exceptions, and settlement. Reading a day's host entries for
//! reconciliation is the engine's own (`Engine::load_host_entries`).

/// Rows per multi-row insert of exceptions (7 columns stay well under SQLite's 32,766 parameters).
pub(crate) const EXCEPTION_CHUNK: usize = 1_000;

/// One packed host entry: hex id, terminal, STAN, RRN, approval code, amount in minor units.
pub(crate) fn unpack_host_row(
    line: &str,
    direction: crate::model::recon::Direction,
    program_id: crate::domain::ids::ProgramId,
) -> Option<crate::model::recon::HostRow<'_>> {
    let mut fields = line.split(',');
    let mut next = || fields.next();
    let id = uuid::Uuid::try_parse(next()?).ok()?;
    let terminal_id = next()?;
    let stan = next()?;
    let rrn = next()?;
    let approval = next()?;
    let amount_minor = next()?.parse().ok()?;
    Some(crate::model::recon::HostRow {
        redemption_id: id,
        terminal_id,
        stan,
        rrn: (!rrn.is_empty()).then_some(rrn),
        approval_code: (!approval.is_empty()).then_some(approval),
        amount_minor,
        ewarung_id: None,
        program_id,
        direction,
    })
}

/// Splits one packed chunk into entries for `sink`; fails when it does not hold `rows` entries.
pub(crate) fn unpack_chunk(
    packed: &str,
    rows: i64,
    direction: crate::model::recon::Direction,
    program: crate::domain::ids::ProgramId,
    sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
) -> crate::store::StoreResult<()> {
    let unreadable = |what: String| crate::store::StoreError::Database(sqlx::Error::Protocol(what));
    let mut parsed = 0;
    for line in packed.split('\n') {
        let row = unpack_host_row(line, direction, program)
            .ok_or_else(|| unreadable(format!("unreadable host entry {line:?}")))?;
        sink(row);
        parsed += 1;
    }
    if parsed != rows {
        return Err(unreadable(format!(
            "{rows} host entries in a chunk, {parsed} read"
        )));
    }
    Ok(())
}

use sqlx::types::Json;

use crate::store::ledger_sql::RowsAffected;

use crate::{
    business_day::{self, Cutoff},
    close::{
        BatchComparison, BatchTotalsStatus, DayClose, DayTotals, EwarungDay, OpenHold, TerminalDay,
    },
    domain::ids::{EwarungId, ProgramId, UserId},
    ledger::settlement_review::{self as review, Preview, ReviewDecision, ReviewFigures},
    model::recon::{
        HostRow, Payable, ReconException, ReconReport, ReconRun, ReviewReason, ReviewStatus,
        RunReview,
    },
    model::settlement::{NewSettlementEntry, SettlementRecord},
    store::{
        sql_store::{Engine, SqlStore},
        BatchSide, CountAndTotal, StoreError, StoreResult,
    },
};

/// The six count/total pairs of a terminal's day, as the close query returns them.
type DayRow = (
    String,
    EwarungId,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

const SIDE_SUMS: &str = "
    CAST(COALESCE(sum(CASE WHEN state IN ('completed', 'refunded') THEN 1 ELSE 0 END), 0) AS BIGINT),
    CAST(COALESCE(sum(CASE WHEN state IN ('completed', 'refunded') THEN amount_minor ELSE 0 END), 0) AS BIGINT),
    CAST(COALESCE(sum(CASE WHEN state = 'refunded' THEN 1 ELSE 0 END), 0) AS BIGINT),
    CAST(COALESCE(sum(CASE WHEN state = 'refunded' THEN amount_minor ELSE 0 END), 0) AS BIGINT),
    CAST(COALESCE(sum(CASE WHEN state = 'reversed' AND hold_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
    CAST(COALESCE(sum(CASE WHEN state = 'reversed' AND hold_id IS NOT NULL THEN amount_minor ELSE 0 END), 0) AS BIGINT)";

fn side(count: i64, amount_minor: i64) -> CountAndTotal {
    CountAndTotal {
        count,
        amount_minor,
    }
}

fn refused(code: &'static str, message: String) -> StoreError {
    StoreError::Refused { code, message }
}

impl<E: Engine> SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<EwarungId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::TransferId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q ReconReport>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q DayClose>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<ReconReport>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<DayClose>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> bool: sqlx::Decode<'r, E::Db>,
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
{
    /// An audit entry by `actor`, in the caller's transaction (the registry's writer).
    async fn write_audit(
        tx: &mut crate::store::WriteTx<E::Db>,
        actor: UserId,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()> {
        crate::store::registry::audit(tx, Some(actor), action, subject, detail).await
    }

    /// Computes the close of `date` inside the close's transaction.
    async fn compute_close(
        tx: &mut crate::store::WriteTx<E::Db>,
        date: &str,
        cutoff: Cutoff,
        actor: UserId,
    ) -> StoreResult<DayClose> {
        let rows: Vec<DayRow> = sqlx::query_as(
            "SELECT terminal_id, ewarung_id,
               CAST(sum(CASE WHEN completed_date = $1 THEN 1 ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN completed_date = $1 THEN amount_minor ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND state IN ('voided', 'refunded') THEN 1 ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND state IN ('voided', 'refunded') THEN amount_minor ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND state = 'reversed' THEN 1 ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND state = 'reversed' THEN amount_minor ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND state = 'expired' THEN 1 ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND state = 'expired' THEN amount_minor ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND refund_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT),
               CAST(sum(CASE WHEN undone_date = $1 AND refund_id IS NOT NULL THEN amount_minor ELSE 0 END) AS BIGINT)
             FROM redemptions WHERE completed_date = $1 OR undone_date = $1
             GROUP BY terminal_id, ewarung_id ORDER BY terminal_id",
        )
        .bind(date)
        .fetch_all(&mut **tx)
        .await?;
        let terminals: Vec<TerminalDay> = rows
            .into_iter()
            .map(
                |(terminal_id, ewarung_id, pc, pm, vc, vm, rc, rm, ec, em, fc, fm)| TerminalDay {
                    terminal_id,
                    ewarung_id,
                    totals: DayTotals {
                        purchases: side(pc, pm),
                        voids: side(vc, vm),
                        reversals: side(rc, rm),
                        expired: side(ec, em),
                        refunds: side(fc, fm),
                        net_minor: pm - fm,
                    },
                },
            )
            .collect();
        let names: Vec<(EwarungId, String)> = sqlx::query_as("SELECT id, name FROM ewarungs")
            .fetch_all(&mut **tx)
            .await?;
        let names: std::collections::HashMap<EwarungId, String> = names.into_iter().collect();
        let mut totals = DayTotals::default();
        let mut by_ewarung: std::collections::BTreeMap<EwarungId, DayTotals> = Default::default();
        let out_of_range = |_| {
            refused(
                "amount_out_of_range",
                format!("{date}'s totals exceed what this service can hold"),
            )
        };
        for terminal in &terminals {
            totals.add(&terminal.totals).map_err(out_of_range)?;
            by_ewarung
                .entry(terminal.ewarung_id)
                .or_default()
                .add(&terminal.totals)
                .map_err(out_of_range)?;
        }
        let mut ewarungs: Vec<EwarungDay> = by_ewarung
            .into_iter()
            .map(|(ewarung_id, totals)| EwarungDay {
                ewarung_id,
                name: names.get(&ewarung_id).cloned().unwrap_or_default(),
                totals,
            })
            .collect();
        ewarungs.sort_by(|a, b| a.name.cmp(&b.name));
        let open_holds: Vec<OpenHold> = sqlx::query_as(
            "SELECT terminal_id, stan, local_date, rrn, amount_minor, business_date, created_at AS authorized_at
             FROM redemptions WHERE state = 'held' AND business_date <= $1 ORDER BY created_at",
        )
        .bind(date)
        .fetch_all(&mut **tx)
        .await?;
        let batch_totals = Self::compare_batches(tx, date).await?;
        for problem in batch_totals
            .iter()
            .filter(|c| c.status != BatchTotalsStatus::Matched)
        {
            let detail = serde_json::json!({
                "business_date": date, "status": problem.status,
                "terminal": problem.terminal, "host": problem.host,
            });
            Self::write_audit(
                tx,
                actor,
                "day.batch_mismatch",
                ("terminal", problem.terminal_id.clone()),
                detail,
            )
            .await?;
        }
        Ok(DayClose {
            business_date: date.to_string(),
            closed_at: crate::store::now(),
            closed_by: actor,
            cutoff: cutoff.to_string(),
            totals,
            ewarungs,
            terminals,
            open_holds,
            batch_totals,
        })
    }

    /// Each terminal's latest batch totals for the date against the host's figures
    /// now (same rules as at batch time: by the terminal's local date).
    async fn compare_batches(
        tx: &mut crate::store::WriteTx<E::Db>,
        date: &str,
    ) -> StoreResult<Vec<BatchComparison>> {
        let day = business_day::parse_date(date).ok_or(StoreError::NotFound {
            entity: "business date",
        })?;
        let around = |d: Option<chrono::NaiveDate>| {
            d.map(business_day::format_date)
                .unwrap_or_else(|| date.to_string())
        };
        let host: Vec<(String, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT terminal_id, {SIDE_SUMS} FROM redemptions
             WHERE business_date >= $2 AND business_date <= $3 AND local_date = $1 AND kind = 'purchase'
             GROUP BY terminal_id"
        ))
        .bind(date)
        .bind(around(day.pred_opt()))
        .bind(around(day.succ_opt()))
        .fetch_all(&mut **tx)
        .await?;
        type Submitted = (
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            chrono::DateTime<chrono::Utc>,
        );
        let submitted: Vec<Submitted> = sqlx::query_as(
            "SELECT b.terminal_id, b.purchases_count, b.purchases_minor, b.refunds_count, b.refunds_minor,
                    b.reversals_count, b.reversals_minor, b.received_at
             FROM terminal_batch_totals b
             WHERE b.business_date = $1 AND b.received_at = (SELECT max(x.received_at) FROM terminal_batch_totals x
                     WHERE x.terminal_id = b.terminal_id AND x.business_date = $1)",
        )
        .bind(date)
        .fetch_all(&mut **tx)
        .await?;
        // Per terminal: what it reported (and when), and what the host has.
        type Reported = Option<(BatchSide, chrono::DateTime<chrono::Utc>)>;
        let mut by_terminal: std::collections::BTreeMap<String, (Reported, BatchSide)> =
            Default::default();
        for (terminal, pc, pm, fc, fm, rc, rm) in host {
            by_terminal.entry(terminal).or_default().1 = BatchSide {
                purchases: side(pc, pm),
                refunds: side(fc, fm),
                reversals: side(rc, rm),
            };
        }
        for (terminal, pc, pm, fc, fm, rc, rm, at) in submitted {
            by_terminal.entry(terminal).or_default().0 = Some((
                BatchSide {
                    purchases: side(pc, pm),
                    refunds: side(fc, fm),
                    reversals: side(rc, rm),
                },
                at,
            ));
        }
        Ok(by_terminal
            .into_iter()
            .filter(|(_, (sent, host))| {
                sent.is_some() || host.purchases.count > 0 || host.refunds.count > 0
            })
            .map(|(terminal_id, (sent, host))| {
                let status = match &sent {
                    None => BatchTotalsStatus::Missing,
                    Some((t, _)) if t.purchases == host.purchases && t.refunds == host.refunds => {
                        BatchTotalsStatus::Matched
                    }
                    Some(_) => BatchTotalsStatus::Mismatch,
                };
                BatchComparison {
                    terminal_id,
                    status,
                    terminal: sent.map(|(side, _)| side),
                    host,
                    received_at: sent.map(|(_, at)| at),
                }
            })
            .collect())
    }

    async fn stored_close(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
    ) -> StoreResult<Option<DayClose>> {
        let row: Option<(Json<DayClose>,)> =
            sqlx::query_as("SELECT report FROM day_closes WHERE business_date = $1")
                .bind(date)
                .fetch_optional(&mut *conn)
                .await?;
        Ok(row.map(|(Json(close),)| close))
    }

    async fn run_record(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        id: uuid::Uuid,
    ) -> StoreResult<Option<ReconRun>> {
        type Row = (
            uuid::Uuid,
            String,
            String,
            String,
            UserId,
            chrono::DateTime<chrono::Utc>,
            Option<chrono::DateTime<chrono::Utc>>,
            Option<Json<ReconReport>>,
            i64,
            bool,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT r.id, r.business_date, r.file_name, r.status, r.created_by, r.created_at, r.finished_at, r.report,
                    (SELECT CAST(count(*) AS BIGINT) FROM recon_exceptions e
                      WHERE e.run_id = r.id AND e.resolved_by IS NULL),
                    EXISTS (SELECT 1 FROM recon_authority a WHERE a.run_id = r.id)
             FROM recon_runs r WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let review = match row {
            Some(_) => Self::run_review(&mut *conn, id).await?,
            None => None,
        };
        Ok(row.map(
            |(
                id,
                business_date,
                file_name,
                status,
                created_by,
                created_at,
                finished_at,
                report,
                open_exceptions,
                authoritative,
            )| ReconRun {
                id,
                business_date,
                file_name,
                status,
                created_by,
                created_at,
                finished_at,
                report: report.map(|Json(r)| r),
                open_exceptions,
                authoritative,
                review,
            },
        ))
    }

    async fn run_review(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        run: uuid::Uuid,
    ) -> StoreResult<Option<RunReview>> {
        type Row = (
            String,
            String,
            UserId,
            chrono::DateTime<chrono::Utc>,
            Option<UserId>,
            Option<chrono::DateTime<chrono::Utc>>,
            Option<String>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT status, reasons, requested_by, requested_at, decided_by, decided_at, note
             FROM recon_reviews WHERE run_id = $1",
        )
        .bind(run)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((status, reasons, requested_by, requested_at, decided_by, decided_at, note)) = row
        else {
            return Ok(None);
        };
        let status = ReviewStatus::parse(&status).ok_or_else(|| StoreError::Check {
            constraint: format!("recon_reviews.status {status}"),
        })?;
        Ok(Some(RunReview {
            status,
            reasons: reasons.split(',').filter_map(ReviewReason::parse).collect(),
            requested_by,
            requested_at,
            decided_by,
            decided_at,
            note,
        }))
    }

    async fn payables_of(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        run: uuid::Uuid,
    ) -> StoreResult<Vec<Payable>> {
        let rows: Vec<(EwarungId, ProgramId, i64, i64)> = sqlx::query_as(
            "SELECT ewarung_id, program_id, items, amount_minor FROM recon_payables WHERE run_id = $1",
        )
        .bind(run)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(ewarung_id, program_id, items, amount_minor)| Payable {
                ewarung_id,
                program_id,
                items,
                amount_minor,
            })
            .collect())
    }

    /// What the date's settlement entries paid so far, per (E-Warung, program).
    async fn settled_of(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
    ) -> StoreResult<Vec<(EwarungId, ProgramId, i64)>> {
        Ok(sqlx::query_as(
            "SELECT ewarung_id, program_id, CAST(sum(amount_minor) AS BIGINT) FROM settlement_entries
             WHERE business_date = $1 GROUP BY ewarung_id, program_id",
        )
        .bind(date)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// What settling after `run` would change on `date`, read in the caller's transaction.
    async fn review_preview(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
        run: uuid::Uuid,
    ) -> StoreResult<Preview> {
        let authoritative: Option<(uuid::Uuid,)> =
            sqlx::query_as("SELECT run_id FROM recon_authority WHERE business_date = $1")
                .bind(date)
                .fetch_optional(&mut *conn)
                .await?;
        let authoritative = match authoritative {
            Some((id,)) => Some((id, Self::payables_of(&mut *conn, id).await?)),
            None => None,
        };
        let settled = Self::settled_of(&mut *conn, date).await?;
        let ewarung_names: Vec<(EwarungId, String)> = sqlx::query_as(
            "SELECT id, name FROM ewarungs WHERE id IN
                (SELECT ewarung_id FROM recon_payables WHERE run_id = $1
                 UNION SELECT ewarung_id FROM recon_payables WHERE run_id = $2
                 UNION SELECT ewarung_id FROM settlement_entries WHERE business_date = $3)",
        )
        .bind(run)
        .bind(authoritative.as_ref().map(|(id, _)| *id))
        .bind(date)
        .fetch_all(&mut *conn)
        .await?;
        let program_codes: Vec<(ProgramId, String)> =
            sqlx::query_as("SELECT id, code FROM programs")
                .fetch_all(&mut *conn)
                .await?;
        let figures = ReviewFigures {
            run: Self::payables_of(&mut *conn, run).await?,
            authoritative,
            settled,
            ewarung_names: ewarung_names.into_iter().collect(),
            program_codes: program_codes.into_iter().collect(),
        };
        review::preview(&figures).map_err(|out_of_range| {
            refused("amount_out_of_range", format!("{date}: {out_of_range}"))
        })
    }

    /// Takes the date's authority row lock (a no-op update), as a settle does first: a run
    /// finishing, a review decided and a settle of one date happen one after another.
    async fn lock_authority(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
    ) -> StoreResult<Option<uuid::Uuid>> {
        let run: Option<(uuid::Uuid,)> = sqlx::query_as(
            "UPDATE recon_authority SET run_id = run_id WHERE business_date = $1 RETURNING run_id",
        )
        .bind(date)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(run.map(|(id,)| id))
    }

    /// Marks the date's waiting reviews other than `except`'s as superseded.
    async fn supersede_reviews(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
        except: uuid::Uuid,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE recon_reviews SET status = 'superseded', decided_at = $3
             WHERE business_date = $1 AND status = 'pending' AND run_id <> $2",
        )
        .bind(date)
        .bind(except)
        .bind(crate::store::now())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn settlement_rows(
        conn: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
    ) -> StoreResult<Vec<SettlementRecord>> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.business_date, s.ewarung_id, e.name AS ewarung_name, e.bank_code, e.bank_account_number,
                    e.bank_account_holder, s.program_id, p.code AS program_code, s.run_id, s.transfer_id,
                    s.items, s.matched_minor, s.settled_before_minor, s.amount_minor, s.created_at
             FROM settlement_entries s JOIN ewarungs e ON e.id = s.ewarung_id JOIN programs p ON p.id = s.program_id
             WHERE s.business_date = $1 ORDER BY s.created_at, e.name, p.code",
        )
        .bind(date)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Makes `run` the date's authoritative run. The upsert takes the date's row lock,
    /// which a settle holds while it pays: a run and a settle never interleave.
    async fn make_authoritative(
        tx: &mut <E::Db as sqlx::Database>::Connection,
        date: &str,
        run: uuid::Uuid,
        actor: UserId,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO recon_authority (business_date, run_id, chosen_by, chosen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (business_date) DO UPDATE
                SET run_id = excluded.run_id, chosen_by = excluded.chosen_by, chosen_at = excluded.chosen_at",
        )
        .bind(date)
        .bind(run)
        .bind(actor)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::DayStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<EwarungId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::TransferId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q ReconReport>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q DayClose>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<ReconReport>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<DayClose>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> bool: sqlx::Decode<'r, E::Db>,
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
{
    async fn set_cutoff(&self, cutoff: Cutoff) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query("UPDATE business_calendar SET cutoff_minutes = $1 WHERE id = 1")
            .bind(cutoff.minutes() as i32)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn open_business_date(&self) -> StoreResult<String> {
        let mut tx = self.engine.begin_write().await?;
        let date = E::ledger_tx(&mut *tx)
            .await?
            .business_date(crate::store::now())
            .await?;
        tx.commit().await?;
        Ok(date)
    }

    async fn close_day(
        &self,
        date: chrono::NaiveDate,
        actor: UserId,
    ) -> StoreResult<(DayClose, bool)> {
        let text = business_day::format_date(date);
        let mut tx = self.engine.begin_write().await?;
        if let Some(close) = Self::stored_close(&mut *tx, &text).await? {
            return Ok((close, false));
        }
        // Lock the calendar first: on PostgreSQL this waits for every transaction that
        // has read the open date, and holds off new ones until the close commits.
        sqlx::query("UPDATE business_calendar SET cutoff_minutes = cutoff_minutes WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let open = E::ledger_tx(&mut *tx)
            .await?
            .business_date(crate::store::now())
            .await?;
        if text > open {
            return Err(refused(
                "business_date_not_started",
                format!("{text} has not begun; the open business date is {open}"),
            ));
        }
        let (cutoff,): (i32,) =
            sqlx::query_as("SELECT cutoff_minutes FROM business_calendar WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE business_calendar SET last_closed_date = $1
             WHERE id = 1 AND (last_closed_date IS NULL OR last_closed_date < $1)",
        )
        .bind(&text)
        .execute(&mut *tx)
        .await?;
        let cutoff = Cutoff::from_minutes(i64::from(cutoff)).unwrap_or_default();
        let close = Self::compute_close(&mut tx, &text, cutoff, actor).await?;
        sqlx::query("INSERT INTO day_closes (business_date, closed_at, closed_by, report) VALUES ($1, $2, $3, $4)")
            .bind(&text)
            .bind(close.closed_at)
            .bind(actor)
            .bind(Json(&close))
            .execute(&mut *tx)
            .await?;
        let detail = serde_json::json!({
            "totals": close.totals, "open_holds": close.open_holds.len(),
            "batch_problems": close.batch_problems().count(),
        });
        Self::write_audit(
            &mut tx,
            actor,
            "day.closed",
            ("business_date", text.clone()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok((close, true))
    }

    async fn day_close(&self, date: chrono::NaiveDate) -> StoreResult<Option<DayClose>> {
        let mut conn = self.engine.reader().acquire().await?;
        Self::stored_close(&mut *conn, &business_day::format_date(date)).await
    }

    async fn terminal_owners(&self) -> StoreResult<Vec<(String, EwarungId)>> {
        Ok(
            sqlx::query_as("SELECT terminal_id, ewarung_id FROM terminals")
                .fetch_all(self.engine.reader())
                .await?,
        )
    }

    async fn host_entries(
        &self,
        date: chrono::NaiveDate,
        sink: &mut (dyn for<'r> FnMut(HostRow<'r>) + Send),
    ) -> StoreResult<i64> {
        // Each backend reads the day its fastest way (see `load_host_entries`).
        self.engine
            .load_host_entries(&business_day::format_date(date), sink)
            .await
    }

    async fn start_recon_run(
        &self,
        date: chrono::NaiveDate,
        file_name: &str,
        actor: UserId,
    ) -> StoreResult<uuid::Uuid> {
        let text = business_day::format_date(date);
        let mut tx = self.engine.begin_write().await?;
        if Self::stored_close(&mut *tx, &text).await?.is_none() {
            return Err(refused(
                "business_date_not_closed",
                format!("{text} is not closed yet; close it before reconciling"),
            ));
        }
        // A run still `running` after an hour died with its process (a run of a million
        // lines takes seconds): it and its partial exceptions go.
        let stale = crate::store::now() - chrono::Duration::hours(1);
        let condition = "business_date = $1 AND status = 'running' AND created_at < $2";
        sqlx::query(&format!(
            "DELETE FROM recon_exceptions WHERE run_id IN (SELECT id FROM recon_runs WHERE {condition})"
        ))
        .bind(&text)
        .bind(stale)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query(&format!("DELETE FROM recon_runs WHERE {condition}"))
            .bind(&text)
            .bind(stale)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            tracing::warn!(date = %text, removed, "removed reconciliation runs that never finished");
        }
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO recon_runs (id, business_date, file_name, status, created_by, created_at)
             VALUES ($1, $2, $3, 'running', $4, $5)",
        )
        .bind(id)
        .bind(&text)
        .bind(file_name)
        .bind(actor)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn add_recon_exceptions(&self, rows: &[ReconException]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.engine.begin_write().await?;
        for chunk in rows.chunks(crate::store::day_sql::EXCEPTION_CHUNK) {
            let sql = format!(
            "INSERT INTO recon_exceptions (id, run_id, category, line_no, terminal_id, stan, rrn,
                 approval_code, entry_type, bank_amount_minor, host_amount_minor, ewarung_id,
                 redemption_id, detail, detail_code, detail_args) VALUES {}",
            crate::store::ledger_store::value_rows::<E::Db>(chunk.len(), 16)
        );
            let mut query = sqlx::query(&sql);
            for e in chunk {
                query = query
                    .bind(e.id)
                    .bind(e.run_id)
                    .bind(e.category.clone())
                    .bind(e.line_no)
                    .bind(&e.terminal_id)
                    .bind(&e.stan)
                    .bind(&e.rrn)
                    .bind(&e.approval_code)
                    .bind(&e.entry_type)
                    .bind(e.bank_amount_minor)
                    .bind(e.host_amount_minor)
                    .bind(e.ewarung_id)
                    .bind(e.redemption_id)
                    .bind(&e.detail)
                    .bind(&e.detail_code)
                    .bind(&e.detail_args);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn finish_recon_run(
        &self,
        run: uuid::Uuid,
        report: &ReconReport,
        payables: &[Payable],
    ) -> StoreResult<ReconRun> {
        let mut tx = self.engine.begin_write().await?;
        // The same file for the same date was reconciled before: that run stands,
        // and this one leaves nothing behind.
        let earlier: Option<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT id FROM recon_runs WHERE business_date = $1 AND file_sha256 = $2 AND status = 'finished'",
        )
        .bind(&report.business_date)
        .bind(&report.file_sha256)
        .fetch_optional(&mut *tx)
        .await?;
        let actor: (UserId,) = sqlx::query_as("SELECT created_by FROM recon_runs WHERE id = $1")
            .bind(run)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "recon_run",
            })?;
        let id = if let Some((earlier,)) = earlier {
            sqlx::query("DELETE FROM recon_exceptions WHERE run_id = $1")
                .bind(run)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM recon_runs WHERE id = $1")
                .bind(run)
                .execute(&mut *tx)
                .await?;
            earlier
        } else {
            for p in payables {
                sqlx::query(
                    "INSERT INTO recon_payables (run_id, ewarung_id, program_id, items, amount_minor)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(run)
                .bind(p.ewarung_id)
                .bind(p.program_id)
                .bind(p.items)
                .bind(p.amount_minor)
                .execute(&mut *tx)
                .await?;
            }
            let finished = sqlx::query(
                "UPDATE recon_runs SET status = 'finished', file_sha256 = $2, finished_at = $3, report = $4
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(run)
            .bind(&report.file_sha256)
            .bind(crate::store::now())
            .bind(Json(report))
            .execute(&mut *tx)
            .await?;
            if finished.rows_affected() != 1 {
                return Err(StoreError::NotFound {
                    entity: "recon_run",
                });
            }
            run
        };
        // Every upload, new or sent again, is audited and becomes the date's authoritative
        // run (the bank's newest word on the date is what settles), unless settling after it
        // would take money back, lower what is due, or its file is largely unreadable or
        // unmatched: then it waits for a second bank user, and the previous run stays.
        let date = report.business_date.as_str();
        let current = Self::lock_authority(&mut *tx, date).await?;
        let reasons = if current == Some(id) {
            Vec::new()
        } else {
            let preview = Self::review_preview(&mut *tx, date, id).await?;
            review::reasons(report, &preview)
        };
        Self::supersede_reviews(&mut *tx, date, id).await?;
        if reasons.is_empty() {
            Self::make_authoritative(&mut *tx, date, id, actor.0).await?;
        } else {
            let codes: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
            // A run sent again after a rejection asks again; one still waiting keeps waiting.
            sqlx::query(
                "INSERT INTO recon_reviews (run_id, business_date, reasons, status, requested_by, requested_at)
                 VALUES ($1, $2, $3, 'pending', $4, $5)
                 ON CONFLICT (run_id) DO UPDATE
                    SET reasons = excluded.reasons, status = 'pending', requested_by = excluded.requested_by,
                        requested_at = excluded.requested_at, decided_by = NULL, decided_at = NULL, note = NULL
                    WHERE recon_reviews.status <> 'pending'",
            )
            .bind(id)
            .bind(date)
            .bind(codes.join(","))
            .bind(actor.0)
            .bind(crate::store::now())
            .execute(&mut *tx)
            .await?;
        }
        let detail = serde_json::json!({
            "business_date": report.business_date, "file_name": report.file_name,
            "file_sha256": report.file_sha256, "bank_lines": report.bank_lines,
            "exceptions": report.exceptions, "no_activity": report.no_activity,
            "sent_again": id != run, "authoritative": reasons.is_empty(),
            "review_reasons": reasons,
        });
        Self::write_audit(
            &mut tx,
            actor.0,
            "recon.run",
            ("recon_run", id.to_string()),
            detail,
        )
        .await?;
        let record = Self::run_record(&mut *tx, id)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "recon_run",
            })?;
        tx.commit().await?;
        Ok(record)
    }

    async fn recon_review_preview(&self, run: uuid::Uuid) -> StoreResult<Preview> {
        let mut conn = self.engine.reader().acquire().await?;
        let date: Option<(String,)> = sqlx::query_as(
            "SELECT business_date FROM recon_runs WHERE id = $1 AND status = 'finished'",
        )
        .bind(run)
        .fetch_optional(&mut *conn)
        .await?;
        let (date,) = date.ok_or(StoreError::NotFound {
            entity: "recon_run",
        })?;
        Self::review_preview(&mut *conn, &date, run).await
    }

    async fn decide_recon_review(&self, decision: &ReviewDecision) -> StoreResult<ReconRun> {
        let mut tx = self.engine.begin_write().await?;
        let found: Option<(String, String, UserId)> = sqlx::query_as(
            "SELECT business_date, status, requested_by FROM recon_reviews WHERE run_id = $1",
        )
        .bind(decision.run)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((date, status, requested_by)) = found else {
            return Err(match Self::run_record(&mut *tx, decision.run).await? {
                Some(_) => refused(
                    "review_not_pending",
                    "this run did not wait for a confirmation".into(),
                ),
                None => StoreError::NotFound {
                    entity: "recon_run",
                },
            });
        };
        if status != ReviewStatus::Pending.as_str() {
            return Err(refused(
                "review_not_pending",
                format!("this run's review is already {status}"),
            ));
        }
        if requested_by == decision.actor {
            return Err(StoreError::SameApprover(
                "a run waiting for confirmation must be decided by a different bank user than the one who uploaded it",
            ));
        }
        Self::lock_authority(&mut *tx, &date).await?;
        let preview = Self::review_preview(&mut *tx, &date, decision.run).await?;
        if decision
            .seen_digest
            .as_ref()
            .is_some_and(|seen| *seen != preview.digest)
        {
            return Err(refused(
                "review_changed",
                "what settling after this run would change has changed since it was shown; look at it again".into(),
            ));
        }
        let (status, action) = if decision.confirm {
            (ReviewStatus::Confirmed, "recon.review_confirmed")
        } else {
            (ReviewStatus::Rejected, "recon.review_rejected")
        };
        let decided = sqlx::query(
            "UPDATE recon_reviews SET status = $2, decided_by = $3, decided_at = $4, note = $5
             WHERE run_id = $1 AND status = 'pending' AND requested_by <> $3",
        )
        .bind(decision.run)
        .bind(status.as_str())
        .bind(decision.actor)
        .bind(crate::store::now())
        .bind(decision.note.as_deref())
        .execute(&mut *tx)
        .await?;
        if decided.rows_affected() != 1 {
            return Err(StoreError::StateConflict {
                entity: "recon_review",
                actual: "decided meanwhile".into(),
            });
        }
        if decision.confirm {
            Self::make_authoritative(&mut *tx, &date, decision.run, decision.actor).await?;
        }
        let detail = serde_json::json!({
            "business_date": date, "note": decision.note, "requested_by": requested_by,
            "authoritative_before": preview.authoritative_run, "digest": preview.digest,
            "preview": preview.lines,
        });
        Self::write_audit(
            &mut tx,
            decision.actor,
            action,
            ("recon_run", decision.run.to_string()),
            detail,
        )
        .await?;
        let record =
            Self::run_record(&mut *tx, decision.run)
                .await?
                .ok_or(StoreError::NotFound {
                    entity: "recon_run",
                })?;
        tx.commit().await?;
        Ok(record)
    }

    async fn abandon_recon_run(&self, run: uuid::Uuid) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query("DELETE FROM recon_exceptions WHERE run_id = $1")
            .bind(run)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recon_runs WHERE id = $1 AND status = 'running'")
            .bind(run)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recon_run(&self, id: uuid::Uuid) -> StoreResult<Option<ReconRun>> {
        let mut conn = self.engine.reader().acquire().await?;
        Self::run_record(&mut *conn, id).await
    }

    async fn list_recon_runs(&self, date: chrono::NaiveDate) -> StoreResult<Vec<ReconRun>> {
        let ids: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT id FROM recon_runs WHERE business_date = $1 AND status = 'finished' ORDER BY finished_at DESC",
        )
        .bind(business_day::format_date(date))
        .fetch_all(self.engine.reader())
        .await?;
        let mut conn = self.engine.reader().acquire().await?;
        let mut runs = Vec::with_capacity(ids.len());
        for (id,) in ids {
            if let Some(run) = Self::run_record(&mut *conn, id).await? {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    async fn recon_exceptions(
        &self,
        run: uuid::Uuid,
        filter: &crate::store::ExceptionFilter,
        page: crate::store::Page,
    ) -> StoreResult<Vec<ReconException>> {
        Ok(sqlx::query_as(
            "SELECT * FROM recon_exceptions WHERE run_id = $1
               AND ($2 IS NULL OR category = $2)
               AND ($3 = 0 OR resolved_by IS NULL)
               AND ($4 IS NULL OR ewarung_id = $4)
               AND ($5 IS NULL OR id > $5)
             ORDER BY id LIMIT $6",
        )
        .bind(run)
        .bind(filter.category.map(|c| c.as_str()))
        .bind(i32::from(filter.open_only))
        .bind(filter.ewarung)
        .bind(page.after)
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn resolve_exception(
        &self,
        id: uuid::Uuid,
        reason: &str,
        actor: UserId,
    ) -> StoreResult<ReconException> {
        let mut tx = self.engine.begin_write().await?;
        let resolved: Option<ReconException> = sqlx::query_as(
            "UPDATE recon_exceptions SET resolved_by = $2, resolved_at = $3, resolution = $4
             WHERE id = $1 AND resolved_by IS NULL RETURNING *",
        )
        .bind(id)
        .bind(actor)
        .bind(crate::store::now())
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(resolved) = resolved else {
            let exists: Option<(uuid::Uuid,)> =
                sqlx::query_as("SELECT id FROM recon_exceptions WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                Some(_) => StoreError::StateConflict {
                    entity: "exception",
                    actual: "already resolved".into(),
                },
                None => StoreError::NotFound {
                    entity: "exception",
                },
            });
        };
        let detail = serde_json::json!({
            "run_id": resolved.run_id, "category": resolved.category, "line_no": resolved.line_no,
            "rrn": resolved.rrn, "reason": reason,
        });
        Self::write_audit(
            &mut tx,
            actor,
            "recon.exception_resolved",
            ("recon_exception", id.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(resolved)
    }

    async fn transact_day(
        &self,
        job: &dyn crate::store::ErasedDayJob,
    ) -> StoreResult<Box<dyn std::any::Any + Send>> {
        let mut tx = self.engine.begin_write().await?;
        let output = job
            .run_erased(&mut SqlDayTx::<E> {
                tx: &mut tx,
                engine: std::marker::PhantomData,
            })
            .await?;
        tx.commit().await?;
        Ok(output)
    }

    async fn settlements(&self, date: chrono::NaiveDate) -> StoreResult<Vec<SettlementRecord>> {
        let mut conn = self.engine.reader().acquire().await?;
        Self::settlement_rows(&mut *conn, &business_day::format_date(date)).await
    }
}

/// [`DayTx`](crate::store::DayTx) over a write transaction of the engine's.
struct SqlDayTx<'t, E: Engine> {
    tx: &'t mut crate::store::WriteTx<E::Db>,
    engine: std::marker::PhantomData<fn() -> E>,
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::DayTx for SqlDayTx<'_, E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<EwarungId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<crate::domain::ids::TransferId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q ReconReport>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<&'q DayClose>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<ReconReport>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> Json<DayClose>: sqlx::Decode<'r, E::Db> + sqlx::Type<E::Db>,
    for<'r> bool: sqlx::Decode<'r, E::Db>,
    for<'r> i64: sqlx::Decode<'r, E::Db>,
    for<'r> i32: sqlx::Decode<'r, E::Db>,
    for<'r> String: sqlx::Decode<'r, E::Db>,
    for<'r> &'r str: sqlx::Decode<'r, E::Db>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, E::Db>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, E::Db>,
    for<'a> &'a str: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<E::Db as sqlx::Database>::Row>,
{
    async fn is_closed(&mut self, date: &str) -> StoreResult<bool> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT business_date FROM day_closes WHERE business_date = $1")
                .bind(date)
                .fetch_optional(&mut **self.tx)
                .await?;
        Ok(found.is_some())
    }

    async fn lock_authority(&mut self, date: &str) -> StoreResult<Option<uuid::Uuid>> {
        SqlStore::<E>::lock_authority(&mut **self.tx, date).await
    }

    async fn pending_review(&mut self, date: &str) -> StoreResult<Option<uuid::Uuid>> {
        let waiting: Option<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT run_id FROM recon_reviews WHERE business_date = $1 AND status = 'pending'",
        )
        .bind(date)
        .fetch_optional(&mut **self.tx)
        .await?;
        Ok(waiting.map(|(run,)| run))
    }

    async fn payables(&mut self, run: uuid::Uuid) -> StoreResult<Vec<Payable>> {
        SqlStore::<E>::payables_of(&mut **self.tx, run).await
    }

    async fn settled(&mut self, date: &str) -> StoreResult<Vec<(EwarungId, ProgramId, i64)>> {
        SqlStore::<E>::settled_of(&mut **self.tx, date).await
    }

    async fn ledger(&mut self) -> StoreResult<Box<dyn crate::ledger::LedgerTx + '_>> {
        E::ledger_tx(&mut **self.tx).await
    }

    async fn insert_settlement_entry(&mut self, entry: &NewSettlementEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settlement_entries (id, business_date, ewarung_id, program_id, run_id, transfer_id, items,
                 matched_minor, settled_before_minor, amount_minor, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(entry.id)
        .bind(&entry.business_date)
        .bind(entry.ewarung_id)
        .bind(entry.program_id)
        .bind(entry.run_id)
        .bind(entry.transfer_id)
        .bind(entry.items)
        .bind(entry.matched_minor)
        .bind(entry.settled_before_minor)
        .bind(entry.amount_minor)
        .bind(entry.created_by)
        .bind(entry.created_at)
        .execute(&mut **self.tx)
        .await?;
        Ok(())
    }

    async fn audit(
        &mut self,
        actor: UserId,
        action: &str,
        subject: (&str, String),
        detail: serde_json::Value,
    ) -> StoreResult<()> {
        SqlStore::<E>::write_audit(self.tx, actor, action, subject, detail).await
    }

    async fn settlement_entries(&mut self, date: &str) -> StoreResult<Vec<SettlementRecord>> {
        SqlStore::<E>::settlement_rows(&mut **self.tx, date).await
    }
}
