//! SQLite: the zero-setup default. WAL so readers never block the writer; `synchronous=FULL` so an
//! acknowledged write survives power loss; foreign keys on; one writer connection whose transactions
//! start with `BEGIN IMMEDIATE` (taking the write lock up front, so a read-then-write transaction can
//! never fail half-way with SQLITE_BUSY), and a separate pool of read connections.

pub(crate) mod group_commit;
pub(crate) mod ledger_tx;
pub(crate) mod quota;
pub mod wal_checkpoint;

use std::{path::Path, str::FromStr};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Sqlite, SqlitePool,
};

use std::{any::Any, sync::Arc};

use tokio::sync::{mpsc, oneshot};

use group_commit::{Queued, Work};

use crate::{
    ledger::tx::ErasedJob,
    store::{ConnectOptions, WriteTx, WriterTurn},
};

pub struct SqliteStore {
    /// sqlx's writer, for everything but the ledger's jobs; it writes in its turn.
    writer: SqlitePool,
    turn: WriterTurn,
    readers: SqlitePool,
    /// The group-commit writer's queue (see `group_commit`).
    jobs: mpsc::Sender<Queued>,
    /// Read connections of quota staging's own (`quota`).
    quota_lookups: Arc<crate::store::sqlite::quota::Lookups>,
}

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";

    pub async fn open(url: &str, options: &ConnectOptions) -> anyhow::Result<Self> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            // Checkpoints are the checkpointer's (`wal_checkpoint`), never a writer's commit's.
            .pragma("wal_autocheckpoint", "0");
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
            .connect_with(connect.clone().read_only(true))
            .await?;
        let turn = WriterTurn::default();
        let path = connect.get_filename();
        wal_checkpoint::spawn(path, &turn, options.wal)?;
        let jobs = group_commit::spawn(path, options, turn.clone())?;
        let quota_lookups = Arc::new(crate::store::sqlite::quota::Lookups::new(path));
        Ok(Self {
            writer,
            turn,
            readers,
            jobs,
            quota_lookups,
        })
    }

    /// Applies pending migrations (for `ssn migrate`).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let _turn = self.turn.clone().lock_owned().await;
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    async fn begin_write(&self) -> Result<WriteTx<Sqlite>, sqlx::Error> {
        let turn = self.turn.clone().lock_owned().await;
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx::new(tx, Some(turn)))
    }

    /// Queues a ledger job for the group-commit writer and waits until its batch is durable.
    async fn transact_job(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        self.queue_job(job, false).await
    }

    /// One job, one transaction, one commit: the per-commit baseline.
    async fn transact_job_alone(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        self.queue_job(job, true).await
    }

    async fn queue_job(
        &self,
        job: Arc<dyn ErasedJob>,
        alone: bool,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        self.queue_work(Work::Ledger(job), alone).await
    }

    async fn queue_work(
        &self,
        job: Work,
        alone: bool,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        let (reply, answer) = oneshot::channel();
        let stopped = || crate::store::StoreError::Database(sqlx::Error::PoolClosed);
        self.jobs
            .send(Queued {
                job,
                reply,
                alone,
                queued_at: std::time::Instant::now(),
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl SqliteStore {
    /// The host's entries of a date, a (program, terminal) slice per query, each packed by SQLite
    /// into one text value: sqlx hands SQLite rows across threads one at a time, which costs more
    /// than reading them (packed: 130 ms for 100,000 entries against 650 ms row by row; the whole
    /// reconciliation of a million purchases in 0.7 s, docs/benchmarks.md). Completed purchases come from the covering index
    /// `redemptions_completed_idx` without reading the wide rows; refunds through
    /// `redemptions_undone_date_idx`. Two readers pack while this task unpacks.
    async fn load_host_entries(
        &self,
        date: &str,
        sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
    ) -> crate::store::StoreResult<i64> {
        use crate::{domain::ids::ProgramId, model::recon::Direction, store::StoreResult};
        // A terminal never changes E-Warung (the matcher knows whose each is) and programs are
        // few: both stay out of the packed text.
        let programs: Vec<ProgramId> = sqlx::query_scalar("SELECT id FROM programs")
            .fetch_all(&self.readers)
            .await?;
        let terminals: Vec<String> =
            sqlx::query_scalar("SELECT terminal_id FROM terminals ORDER BY terminal_id")
                .fetch_all(&self.readers)
                .await?;
        let mut slices: [Vec<(ProgramId, String, Direction)>; 2] = Default::default();
        let all = programs
            .iter()
            .flat_map(|p| terminals.iter().map(move |t| (*p, t.clone())));
        for (i, (program, terminal)) in all.enumerate() {
            slices[i % 2].push((program, terminal.clone(), Direction::Sale));
            slices[(i + 1) % 2].push((program, terminal, Direction::MoneyBack));
        }
        type Packed = (ProgramId, Direction, i64, String);
        let (sender, mut chunks) = mpsc::channel::<StoreResult<Packed>>(2);
        for work in slices {
            let (sender, readers, date) = (sender.clone(), self.readers.clone(), date.to_string());
            tokio::spawn(async move {
                for (program, terminal, direction) in work {
                    let condition = match direction {
                        Direction::Sale => "completed_date = $1",
                        Direction::MoneyBack => "undone_date = $1 AND refund_id IS NOT NULL",
                    };
                    let fetched: Result<(i64, Option<String>), sqlx::Error> =
                        sqlx::query_as(&format!(
                            "SELECT CAST(count(*) AS BIGINT),
                                    group_concat(printf('%s,%s,%s,%s,%s,%d', hex(id), terminal_id, stan,
                                        COALESCE(rrn, ''), COALESCE(approval_code, ''), amount_minor), char(10))
                             FROM redemptions WHERE {condition} AND program_id = $2 AND terminal_id = $3"
                        ))
                        .bind(&date)
                        .bind(program)
                        .bind(&terminal)
                        .fetch_one(&readers)
                        .await;
                    let chunk = match fetched {
                        Ok((_, None)) => continue,
                        Ok((rows, Some(packed))) => Ok((program, direction, rows, packed)),
                        Err(error) => Err(error.into()),
                    };
                    let failed = chunk.is_err();
                    if sender.send(chunk).await.is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let mut count = 0;
        while let Some(chunk) = chunks.recv().await {
            let (program, direction, rows, packed) = chunk?;
            crate::store::day_sql::unpack_chunk(&packed, rows, direction, program, sink)?;
            count += rows;
        }
        Ok(count)
    }
}

impl SqliteStore {
    /// Quota staging (`quota`): the households are looked up on a blocking thread, then
    /// the lines are appended by the ledger writer, batched with whatever else waits to commit
    /// (committed without a flush of their own: see `group_commit::Work::Staging`).
    async fn stage_lines(
        &self,
        batch: crate::domain::ids::QuotaBatchId,
        lines: &[crate::model::quota::StagedLine],
        errors: &[crate::model::quota::LineError],
    ) -> crate::store::StoreResult<Vec<Option<crate::model::quota::LineOutcome>>> {
        let lines = Arc::new(lines.to_vec());
        let (lookups, to_find) = (self.quota_lookups.clone(), lines.clone());
        let found = Arc::new(
            tokio::task::spawn_blocking(move || lookups.find_households(&to_find))
                .await
                .map_err(|error| {
                    crate::store::StoreError::Database(sqlx::Error::Protocol(format!(
                        "quota lookups stopped: {error}"
                    )))
                })??,
        );
        let outcomes = found
            .iter()
            .map(|found| found.map(|line| line.outcome))
            .collect();
        let errors = errors.to_vec();
        let work: group_commit::DirectWork = Arc::new(move |db: &rusqlite::Connection| {
            crate::store::sqlite::quota::stage(db, batch, &lines, &found, &errors)?;
            Ok(Box::new(()) as Box<dyn Any + Send>)
        });
        self.queue_work(Work::Staging(work), false).await?;
        Ok(outcomes)
    }
}

impl crate::store::sql_store::Engine for SqliteStore {
    type Db = Sqlite;

    fn name(&self) -> &'static str {
        Self::BACKEND
    }

    fn reader(&self) -> &SqlitePool {
        &self.readers
    }

    async fn begin_write(&self) -> Result<WriteTx<Sqlite>, sqlx::Error> {
        SqliteStore::begin_write(self).await
    }

    async fn ledger_tx<'c>(
        conn: &'c mut sqlx::SqliteConnection,
    ) -> crate::store::StoreResult<Box<dyn crate::ledger::LedgerTx + 'c>> {
        let db = ledger_tx::LentConnection::lend(conn).await?;
        Ok(Box::new(ledger_tx::SqliteLedgerTx { db }))
    }

    async fn transact_job(
        &self,
        job: std::sync::Arc<dyn crate::ledger::tx::ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn std::any::Any + Send>> {
        SqliteStore::transact_job(self, job).await
    }

    async fn transact_job_alone(
        &self,
        job: std::sync::Arc<dyn crate::ledger::tx::ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn std::any::Any + Send>> {
        SqliteStore::transact_job_alone(self, job).await
    }

    async fn stage_lines(
        &self,
        batch: crate::domain::ids::QuotaBatchId,
        lines: &[crate::model::quota::StagedLine],
        errors: &[crate::model::quota::LineError],
    ) -> crate::store::StoreResult<Vec<Option<crate::model::quota::LineOutcome>>> {
        SqliteStore::stage_lines(self, batch, lines, errors).await
    }

    async fn load_host_entries(
        &self,
        date: &str,
        sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
    ) -> crate::store::StoreResult<i64> {
        SqliteStore::load_host_entries(self, date, sink).await
    }

    fn sessions(
        store: &crate::store::sql_store::SqlStore<Self>,
    ) -> &dyn crate::store::SessionStore {
        store
    }

    fn views(store: &crate::store::sql_store::SqlStore<Self>) -> &dyn crate::store::ViewStore {
        store
    }

    fn audit_chain(
        store: &crate::store::sql_store::SqlStore<Self>,
    ) -> &dyn crate::store::AuditChainStore {
        store
    }
}

impl crate::store::ledger_sql::Dialect for Sqlite {
    // The one writer commits rows in rowid order: every row below the newest is there.
    const CHAIN_POS: &'static str = "rowid";
    const CHAIN_HORIZON: &'static str = "9223372036854775807";
    // The writer's turn already keeps other writers out.
    const FOR_UPDATE: &'static str = "";

    fn parameter(_n: usize) -> String {
        "?".to_string()
    }
}
