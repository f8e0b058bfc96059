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
