//! Quota staging on SQLite, on the ledger writer's own connection: each line is looked up and
//! staged by two prepared statements, so a million-row upload costs SQLite's own work and little
//! else. Through sqlx, every row read and
//! every statement is a hand-off to sqlx's worker thread, which cost three times what SQLite did.

use rusqlite::{Connection, OptionalExtension};

use crate::{
    domain::{
        household::HouseholdStatus,
        ids::{AccountId, HouseholdId, QuotaBatchId, TransferId},
    },
    quota::{LineError, LineOutcome, StagedLine},
    store::StoreResult,
};

/// A line's household by KK number, and whether the program already credited it for the period.
const FIND_HOUSEHOLD: &str = "SELECT h.id, h.status,
            EXISTS (SELECT 1 FROM quota_credits c WHERE c.program_id = ?2
                      AND c.household_id = h.id AND c.period = ?3)
     FROM households h WHERE h.kk_number = ?1";

/// One row a statement: SQLite runs a single-row `INSERT … VALUES` without a statement journal
/// (an `INSERT … SELECT`, or `RETURNING`, pays for one and for a temporary table, per row).
const STAGE_LINE: &str =
    "INSERT INTO quota_lines (batch_id, line_no, program_id, kk_number, household_id, period,
                                 amount_minor, outcome, transfer_id, account_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const INSERT_ERROR: &str =
    "INSERT INTO quota_errors (batch_id, line_no, field, code, message) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Stages a chunk inside the writer's open transaction; answers each line's outcome (`None`: no
/// household, recorded as an `unknown_household` error).
pub(crate) fn stage(
    db: &Connection,
    batch: QuotaBatchId,
    lines: &[StagedLine],
    errors: &[LineError],
) -> StoreResult<Vec<Option<LineOutcome>>> {
    let mut find_household = db.prepare_cached(FIND_HOUSEHOLD)?;
    let mut stage_line = db.prepare_cached(STAGE_LINE)?;
    let mut insert_error = db.prepare_cached(INSERT_ERROR)?;
    let mut refuse = |error: &LineError| {
        insert_error.execute(rusqlite::params![
            batch,
            error.line_no,
            error.field,
            error.code,
            error.message
        ])
    };
    let mut outcomes = Vec::with_capacity(lines.len());
    for line in lines {
        let found = find_household
            .query_row(
                rusqlite::params![line.kk_number, line.program_id, line.period],
                |row| {
                    let household: HouseholdId = row.get(0)?;
                    let status: HouseholdStatus = row.get(1)?;
                    let loaded: bool = row.get(2)?;
                    Ok((household, posting_outcome(status, loaded)))
                },
            )
            .optional()?;
        let Some((household, outcome)) = found else {
            refuse(&LineError {
                line_no: line.line_no,
                field: "kk_number".into(),
                code: "unknown_household".into(),
                message: format!(
                    "no household is registered with KK number {}",
                    line.kk_number
                ),
            })?;
            outcomes.push(None);
            continue;
        };
        stage_line.execute(rusqlite::params![
            batch,
            line.line_no,
            line.program_id,
            line.kk_number,
            household,
            line.period,
            line.amount_minor,
            outcome.as_str(),
            TransferId::new(),
            AccountId::new(),
        ])?;
        outcomes.push(Some(outcome));
    }
    for error in errors {
        refuse(error)?;
    }
    Ok(outcomes)
}

/// What posting does with a household's line (posting decides again with the same rules, in SQL).
fn posting_outcome(status: HouseholdStatus, already_loaded: bool) -> LineOutcome {
    match status {
        HouseholdStatus::Suspended => LineOutcome::SkippedSuspended,
        HouseholdStatus::Exited => LineOutcome::SkippedExited,
        HouseholdStatus::Active if already_loaded => LineOutcome::AlreadyLoaded,
        HouseholdStatus::Active => LineOutcome::Credited,
    }
}
