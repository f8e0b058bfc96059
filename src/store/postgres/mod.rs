//! PostgreSQL: the production engine. Native `uuid`, `timestamptz`, `bigint` money and `jsonb`;
//! constraints in the schema back every rule the code enforces.

use std::time::Duration;

mod ledger_tx;
pub(crate) mod quota;
pub(crate) mod read_ahead;

pub use ledger_tx::PgLedgerTx;

use sqlx::{postgres::PgPoolOptions, PgPool, Postgres};

use std::{any::Any, sync::Arc};

use crate::{ledger::tx::ErasedJob, store::ConnectOptions};

/// How often a transaction that PostgreSQL asked to retry (40001, 40P01) is run again before the
/// error reaches the caller.
const MAX_RETRIES: u32 = 8;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";

    pub async fn open(url: &str, options: &ConnectOptions) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        let store = Self { pool };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies pending migrations (for `ssn migrate`).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) fn reader(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn begin_write(&self) -> Result<crate::store::WriteTx<Postgres>, sqlx::Error> {
        Ok(crate::store::WriteTx::new(self.begin_timed().await?, None))
    }

    /// A transaction on a pooled connection, the wait for the connection counted
    /// (`ssn_db_wait_seconds{pool="postgres"}`).
    async fn begin_timed(&self) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        let asked = std::time::Instant::now();
        let tx = self.pool.begin().await;
        crate::metrics::metrics().db_wait("postgres", asked.elapsed());
        tx
    }

    /// Runs a ledger job in its own transaction, again on a retryable failure (with a short,
    /// jittered pause so that contenders spread out).
    async fn transact_job(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        let mut attempt = 0;
        loop {
            let mut tx = self.begin_timed().await?;
            let result = match job.run_erased(&mut PgLedgerTx::new(&mut tx)).await {
                Ok(output) => tx.commit().await.map(|()| output).map_err(Into::into),
                Err(error) => {
                    let _ = tx.rollback().await;
                    Err(error)
                }
            };
            match result {
                Err(error) if error.is_retryable() && attempt < MAX_RETRIES => {
                    attempt += 1;
                    crate::metrics::metrics().pg_retry(&retry_reason(&error));
                    let pause = rand::random::<u64>() % (2u64 << attempt.min(6));
                    tracing::debug!(attempt, %error, "retrying ledger transaction");
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                other => return other,
            }
        }
    }

    /// On PostgreSQL every job already has a transaction and a commit of its own.
    async fn transact_job_alone(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn Any + Send>> {
        self.transact_job(job).await
    }
}

impl PgStore {
    /// The host's entries of a date, streamed row by row per program and direction, with only
    /// the columns matching needs (the E-Warung follows from the terminal). Tried and slower on
    /// this machine: text packed by `format`/`string_agg`, `COPY … TO STDOUT`, two connections
    /// splitting the terminals, and forcing a bitmap heap scan (docs/benchmarks.md).
    async fn load_host_entries(
        &self,
        date: &str,
        sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
    ) -> crate::store::StoreResult<i64> {
        use crate::{
            domain::ids::ProgramId,
            model::recon::{Direction, HostRow},
        };
        use futures_util::TryStreamExt;
        use sqlx::Row;
        let programs: Vec<ProgramId> = sqlx::query_scalar("SELECT id FROM programs")
            .fetch_all(&self.pool)
            .await?;
        let mut count = 0;
        for program_id in programs {
            for direction in [Direction::Sale, Direction::MoneyBack] {
                let condition = match direction {
                    Direction::Sale => "completed_date = $1",
                    Direction::MoneyBack => "undone_date = $1 AND refund_id IS NOT NULL",
                };
                let sql = format!(
                    "SELECT id, terminal_id, stan, rrn, approval_code, amount_minor FROM redemptions
                     WHERE {condition} AND program_id = $2"
                );
                let mut rows = sqlx::query(&sql)
                    .bind(date)
                    .bind(program_id)
                    .fetch(&self.pool);
                while let Some(row) = rows.try_next().await? {
                    sink(HostRow {
                        redemption_id: row.try_get(0)?,
                        terminal_id: row.try_get(1)?,
                        stan: row.try_get(2)?,
                        rrn: row.try_get(3)?,
                        approval_code: row.try_get(4)?,
                        amount_minor: row.try_get(5)?,
                        ewarung_id: None,
                        program_id,
                        direction,
                    });
                    count += 1;
                }
            }
        }
        Ok(count)
    }
}

impl crate::store::sql_store::Engine for PgStore {
    type Db = Postgres;

    fn name(&self) -> &'static str {
        Self::BACKEND
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<crate::store::WriteTx<Postgres>, sqlx::Error> {
        PgStore::begin_write(self).await
    }

    async fn ledger_tx<'c>(
        conn: &'c mut sqlx::PgConnection,
    ) -> crate::store::StoreResult<Box<dyn crate::ledger::LedgerTx + 'c>> {
        Ok(Box::new(PgLedgerTx::new(conn)))
    }

    async fn transact_job(
        &self,
        job: std::sync::Arc<dyn crate::ledger::tx::ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn std::any::Any + Send>> {
        PgStore::transact_job(self, job).await
    }

    async fn transact_job_alone(
        &self,
        job: std::sync::Arc<dyn crate::ledger::tx::ErasedJob>,
    ) -> crate::store::StoreResult<Box<dyn std::any::Any + Send>> {
        PgStore::transact_job_alone(self, job).await
    }

    async fn stage_lines(
        &self,
        batch: crate::domain::ids::QuotaBatchId,
        lines: &[crate::model::quota::StagedLine],
        errors: &[crate::model::quota::LineError],
    ) -> crate::store::StoreResult<Vec<Option<crate::model::quota::LineOutcome>>> {
        PgStore::stage_lines(self, batch, lines, errors).await
    }

    async fn load_host_entries(
        &self,
        date: &str,
        sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
    ) -> crate::store::StoreResult<i64> {
        PgStore::load_host_entries(self, date, sink).await
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

impl crate::store::ledger_sql::Dialect for Postgres {
    // The writing transaction's id (migration 28): transactions commit out of order, so rows
    // are read only below the oldest one still running, where none can appear any more.
    const CHAIN_POS: &'static str = "chain_tx";
    const CHAIN_HORIZON: &'static str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
    const FOR_UPDATE: &'static str = " FOR UPDATE";

    fn parameter(n: usize) -> String {
        format!("${n}")
    }
}

/// What a retry is counted under: the SQLSTATE, or what the store saw instead.
fn retry_reason(error: &crate::store::StoreError) -> String {
    use crate::store::StoreError;
    match error {
        StoreError::Database(database) => database
            .as_database_error()
            .and_then(|e| e.code())
            .map_or_else(|| "other".to_string(), |code| code.into_owned()),
        StoreError::LostRace(_) => "lost_race".to_string(),
        StoreError::Duplicate { .. } => "unique_race".to_string(),
        _ => "other".to_string(),
    }
}
