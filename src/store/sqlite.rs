//! SQLite: the zero-setup default. WAL so readers never block the writer; `synchronous=FULL` so an
//! acknowledged write survives power loss; foreign keys on; one writer connection whose transactions
//! start with `BEGIN IMMEDIATE` (taking the write lock up front, so a read-then-write transaction can
//! never fail half-way with SQLITE_BUSY), and a separate pool of read connections.

use std::{path::Path, str::FromStr};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Sqlite, SqlitePool, Transaction,
};

use std::{any::Any, sync::Arc};

use tokio::sync::{mpsc, oneshot};

use crate::{
    ledger::tx::ErasedJob,
    store::{
        group_commit::{self, Queued},
        ledger_sql::ledger_tx_impl,
        ledger_store::ledger_store_impl,
        registry::registry_store_impl,
        ConnectOptions,
    },
};

pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// The group-commit writer's queue (see `group_commit`).
    jobs: mpsc::Sender<Queued>,
}

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";

    pub async fn open(url: &str, options: &ConnectOptions) -> anyhow::Result<Self> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        if let Some(parent) = Path::new(connect.get_filename()).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await?;
        if options.migrate {
            sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        }
        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect.read_only(true))
            .await?;
        let jobs = group_commit::spawn(writer.clone());
        Ok(Self {
            writer,
            readers,
            jobs,
        })
    }

    /// Applies pending migrations (for `ssn migrate`).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    fn reader(&self) -> &SqlitePool {
        &self.readers
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// Queues a ledger job for the group-commit writer and waits until its batch is durable.
    async fn transact_job(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        let (reply, answer) = oneshot::channel();
        let stopped = || crate::store::StoreError::Database(sqlx::Error::PoolClosed);
        self.jobs
            .send(Queued { job, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Host entries per packed chunk (one text row each; about 150 bytes an entry).
const HOST_CHUNK: i64 = 8_192;

impl SqliteStore {
    /// The host's entries of a date. sqlx hands SQLite rows across threads one at a time, which
    /// costs more than reading them, so SQLite packs each chunk of entries into one text value
    /// (keyset on rowid, which the date index keeps in order) and it is split here.
    async fn load_host_entries(
        &self,
        date: &str,
        sink: &mut (dyn for<'r> FnMut(crate::recon::model::HostRow<'r>) + Send),
    ) -> crate::store::StoreResult<i64> {
        use crate::{recon::model::Direction, store::StoreError};
        let phases = [
            ("completed_date = $1", Direction::Sale),
            (
                "undone_date = $1 AND refund_id IS NOT NULL",
                Direction::MoneyBack,
            ),
        ];
        use crate::domain::ids::{EwarungId, ProgramId};
        let unreadable = |what: String| StoreError::Database(sqlx::Error::Protocol(what));
        // A terminal never changes E-Warung and programs are few: both stay out of the packed
        // text, which then costs SQLite (and this side) far less per entry.
        let owners: std::collections::HashMap<String, EwarungId> =
            sqlx::query_as::<_, (String, EwarungId)>(
                "SELECT terminal_id, ewarung_id FROM terminals",
            )
            .fetch_all(&self.readers)
            .await?
            .into_iter()
            .collect();
        let programs: Vec<ProgramId> = sqlx::query_scalar("SELECT id FROM programs")
            .fetch_all(&self.readers)
            .await?;
        let mut count = 0;
        let passes: Vec<((&str, Direction), ProgramId)> = phases
            .iter()
            .flat_map(|phase| programs.iter().map(|program| (*phase, *program)))
            .collect();
        for ((condition, direction), program) in passes {
            let (low, high): (Option<i64>, Option<i64>) = sqlx::query_as(&format!(
                "SELECT min(rowid), max(rowid) FROM redemptions WHERE {condition} AND program_id = $2"
            ))
            .bind(date)
            .bind(program)
            .fetch_one(&self.readers)
            .await?;
            let (Some(low), Some(high)) = (low, high) else {
                continue;
            };
            // Two readers pack halves of the range at once while this task unpacks.
            let middle = low + (high - low) / 2;
            let sql = Arc::new(format!(
                "SELECT CAST(count(*) AS BIGINT), max(rid), group_concat(line, char(10)) FROM (
                   SELECT rowid AS rid,
                          printf('%s,%s,%s,%s,%s,%d', hex(id), terminal_id, stan, COALESCE(rrn, ''),
                                 COALESCE(approval_code, ''), amount_minor) AS line
                   FROM redemptions WHERE {condition} AND program_id = $5
                     AND rowid > $2 AND rowid <= $3 ORDER BY rowid LIMIT $4)"
            ));
            let (sender, mut chunks) = mpsc::channel::<crate::store::StoreResult<(i64, String)>>(4);
            for (after, last) in [(low - 1, middle), (middle, high)] {
                let (sql, sender, readers, date) = (
                    sql.clone(),
                    sender.clone(),
                    self.readers.clone(),
                    date.to_string(),
                );
                tokio::spawn(async move {
                    let mut after = after;
                    loop {
                        let fetched: Result<(i64, Option<i64>, Option<String>), _> =
                            sqlx::query_as(&sql)
                                .bind(&date)
                                .bind(after)
                                .bind(last)
                                .bind(HOST_CHUNK)
                                .bind(program)
                                .fetch_one(&readers)
                                .await;
                        let (rows, next, packed) = match fetched {
                            Ok((rows, Some(next), Some(packed))) => (rows, next, packed),
                            Ok(_) => return,
                            Err(error) => {
                                let _ = sender.send(Err(error.into())).await;
                                return;
                            }
                        };
                        if sender.send(Ok((rows, packed))).await.is_err() || rows < HOST_CHUNK {
                            return;
                        }
                        after = next;
                    }
                });
            }
            drop(sender);
            while let Some(chunk) = chunks.recv().await {
                let (rows, packed) = chunk?;
                let mut parsed = 0;
                for line in packed.split('\n') {
                    let row = unpack_host_row(line, direction, program, &owners)
                        .ok_or_else(|| unreadable(format!("unreadable host entry {line:?}")))?;
                    sink(row);
                    parsed += 1;
                }
                if parsed != rows {
                    return Err(unreadable(format!(
                        "{rows} host entries in a chunk, {parsed} read"
                    )));
                }
                count += rows;
            }
        }
        Ok(count)
    }
}

/// One packed host entry: id, terminal, STAN, RRN, approval code, amount.
fn unpack_host_row<'a>(
    line: &'a str,
    direction: crate::recon::model::Direction,
    program_id: crate::domain::ids::ProgramId,
    owners: &std::collections::HashMap<String, crate::domain::ids::EwarungId>,
) -> Option<crate::recon::model::HostRow<'a>> {
    let mut fields = line.split(',');
    let mut next = || fields.next();
    let id = uuid::Uuid::try_parse(next()?).ok()?;
    let terminal_id = next()?;
    let stan = next()?;
    let rrn = next()?;
    let approval = next()?;
    let amount_minor = next()?.parse().ok()?;
    Some(crate::recon::model::HostRow {
        redemption_id: id,
        terminal_id,
        stan,
        rrn: (!rrn.is_empty()).then_some(rrn),
        approval_code: (!approval.is_empty()).then_some(approval),
        amount_minor,
        ewarung_id: *owners.get(terminal_id)?,
        program_id,
        direction,
    })
}

registry_store_impl!(SqliteStore, sqlx::Sqlite);
ledger_store_impl!(
    SqliteStore,
    sqlx::Sqlite,
    SqliteLedgerTx,
    "json_each($1) AS j"
);
crate::store::day_sql::day_store_impl!(SqliteStore, sqlx::Sqlite, SqliteLedgerTx);
ledger_tx_impl!(
    SqliteLedgerTx,
    sqlx::Sqlite,
    sqlx::SqliteConnection,
    None,
    "UPDATE sequences SET value = value + 1 WHERE name = 'rrn' RETURNING value",
    ""
);
