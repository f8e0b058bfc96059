//! Quota staging on SQLite through rusqlite: households are looked up on a read connection of
//! its own, and the lines appended by the ledger writer (prepared statements, one row each), so a
//! million-row upload costs SQLite's own work and little else. Through sqlx, every row read and
//! every statement is a hand-off to sqlx's worker thread, which cost three times what SQLite did.

use std::{
    path::{Path, PathBuf},
    sync::{LazyLock, Mutex},
};

use rusqlite::{types::ToSql, Connection, OpenFlags};

use crate::{
    domain::{
        household::HouseholdStatus,
        ids::{AccountId, HouseholdId, ProgramId, QuotaBatchId, TransferId},
    },
    model::quota::{LineError, LineOutcome, StagedLine},
    store::StoreResult,
};

/// The households of many lines at once, for one program and period: the lines' KK numbers
/// arrive as one JSON array and come back with their position in it (`key`); a KK number no
/// household has returns no row. One statement per chunk instead of one per line: a statement's
/// own cost (reset, bind, open the cursors, halt) was about half of a line's lookup. The covering
/// index is named because SQLite prefers the unique one, which costs a table page per line: a
/// million-row file in shuffled order took 4.2 s through the unique index and 3.4 s through the
/// covering one (`ssn-bench quota --file-order shuffled`); in registration order they are even.
const FIND_HOUSEHOLDS: &str = "SELECT j.key, h.id, h.status,
            EXISTS (SELECT 1 FROM quota_credits c WHERE c.program_id = ?2
                      AND c.household_id = h.id AND c.period = ?3)
     FROM json_each(?1) j JOIN households h INDEXED BY households_kk_lookup_idx ON h.kk_number = j.value";

/// Lines are appended `ROWS_PER_INSERT` to a statement (the remainder one at a time): per row,
/// a statement's own cost (reset, bind, step, halt) was a third of the writer's time. Measured on
/// a million rows: one row a statement 3.5 s, 50 rows 2.6 s, 100 rows 2.6 s, 200 no better.
const ROWS_PER_INSERT: usize = 100;
/// Bound for each row; the batch id, the same in every row, is bound once as `?1`.
const COLUMNS: usize = 9;

fn insert_lines(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let row: Vec<String> = (0..COLUMNS)
                .map(|column| format!("?{}", 2 + row * COLUMNS + column))
                .collect();
            format!("(?1, {})", row.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO quota_lines (batch_id, line_no, program_id, kk_number, household_id, period,
                                  amount_minor, outcome, transfer_id, account_id) VALUES {}",
        values.join(", ")
    )
}

static STAGE_LINES: LazyLock<[String; 2]> =
    LazyLock::new(|| [insert_lines(ROWS_PER_INSERT), insert_lines(1)]);

const INSERT_ERROR: &str =
    "INSERT INTO quota_errors (batch_id, line_no, field, code, message) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Read-only connections for the lookups, kept between chunks (opening one parses the schema).
/// The lookups run here, off the writer, so that the writer only appends: one chunk is looked up
/// while the one before it is written.
pub(crate) struct Lookups {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// A line found: its household, what posting would do now, and the ids posting will give its
/// transfer and (if the household has none yet) its entitlement account. The ids are made here,
/// on the lookup thread, because the writer is the upload's bottleneck.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FoundLine {
    pub household: HouseholdId,
    pub outcome: LineOutcome,
    pub transfer: TransferId,
    pub account: AccountId,
}

/// `None`: no household has the line's KK number.
pub(crate) type Found = Option<FoundLine>;

impl Lookups {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Looks up a chunk's households (blocking: run it on a blocking thread).
    pub(crate) fn find_households(&self, lines: &[StagedLine]) -> StoreResult<Vec<Found>> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let db = match idle {
            Some(db) => db,
            None => self.open()?,
        };
        let found = find_households(&db, lines);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(db);
        found
    }

    fn open(&self) -> StoreResult<Connection> {
        let db = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A bigger page cache keeps the KK index's upper levels and recent leaves in memory.
        db.execute_batch("PRAGMA cache_size = -16384;")?;
        Ok(db)
    }
}

fn find_households(db: &Connection, lines: &[StagedLine]) -> StoreResult<Vec<Found>> {
    // Lines grouped by program and period (a file usually has one of each), in order.
    let mut groups: Vec<((ProgramId, &str), Vec<usize>)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let key = (line.program_id, line.period.as_str());
        match groups.iter_mut().find(|(group, _)| *group == key) {
            Some((_, members)) => members.push(index),
            None => groups.push((key, vec![index])),
        }
    }
    let mut found = vec![None; lines.len()];
    let mut find = db.prepare_cached(FIND_HOUSEHOLDS)?;
    // One read transaction for the chunk: one snapshot, and no lock taken per statement.
    db.execute_batch("BEGIN")?;
    let looked_up = groups.iter().try_for_each(|((program, period), members)| {
        let kk_numbers: Vec<&str> = members
            .iter()
            .map(|&index| lines[index].kk_number.as_str())
            .collect();
        let kk_numbers = serde_json::to_string(&kk_numbers)
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?;
        let mut rows = find.query(rusqlite::params![kk_numbers, program, period])?;
        while let Some(row) = rows.next()? {
            let position: usize = row.get(0)?;
            let status: HouseholdStatus = row.get(2)?;
            let line = members
                .get(position)
                .copied()
                .ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, position as i64))?;
            found[line] = Some(FoundLine {
                household: row.get(1)?,
                outcome: LineOutcome::of_household(status, row.get(3)?),
                transfer: TransferId::new(),
                account: AccountId::new(),
            });
        }
        Ok::<_, rusqlite::Error>(())
    });
    db.execute_batch("COMMIT")?;
    looked_up?;
    Ok(found)
}

/// Stages a chunk inside the writer's open transaction: the lines whose household was found,
/// and a problem for each of the others and for each line that failed its row checks.
pub(crate) fn stage(
    db: &Connection,
    batch: QuotaBatchId,
    lines: &[StagedLine],
    found: &[Found],
    errors: &[LineError],
) -> StoreResult<()> {
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
    let mut staged = Vec::with_capacity(lines.len());
    for (line, found) in lines.iter().zip(found) {
        match found {
            Some(found) => staged.push((line, found)),
            None => refuse(&LineError::unknown_household(line)).map(drop)?,
        }
    }
    let [many, one] = &*STAGE_LINES;
    for part in staged.chunks(ROWS_PER_INSERT) {
        let (statement, rows_per_statement) = match part.len() {
            ROWS_PER_INSERT => (many, ROWS_PER_INSERT),
            _ => (one, 1),
        };
        let mut insert = db.prepare_cached(statement)?;
        for rows in part.chunks(rows_per_statement) {
            insert.raw_bind_parameter(1, batch)?;
            for (row, (line, found)) in rows.iter().enumerate() {
                let values: [&dyn ToSql; COLUMNS] = [
                    &line.line_no,
                    &line.program_id,
                    &line.kk_number,
                    &found.household,
                    &line.period,
                    &line.amount_minor,
                    &found.outcome.as_str(),
                    &found.transfer,
                    &found.account,
                ];
                for (column, value) in values.iter().enumerate() {
                    insert.raw_bind_parameter(2 + row * COLUMNS + column, value)?;
                }
            }
            insert.raw_execute()?;
        }
    }
    for error in errors {
        refuse(error)?;
    }
    Ok(())
}
