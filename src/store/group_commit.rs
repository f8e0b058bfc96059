//! Group commit for SQLite's single writer. `synchronous=FULL` makes every commit wait for the disk,
//! so committing each redemption alone caps throughput at the disk's flush rate. Instead one task
//! owns the writer: it takes every job waiting in the queue (up to a bound), runs each inside its
//! own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each job.
//! A job that fails rolls back to its savepoint and does not disturb the others; if the commit
//! itself fails, every job in the batch gets the error, so nothing unflushed is ever acknowledged.
//! The batch runs on a blocking thread straight on the writer's handle (see `sqlite_direct`).

use std::{any::Any, sync::Arc};

use rusqlite::Connection;
use sqlx::SqlitePool;
use tokio::{
    runtime::Handle,
    sync::{mpsc, oneshot},
};

use crate::{
    ledger::tx::ErasedJob,
    store::{
        sqlite_direct::{DirectLedgerTx, STATEMENT_CACHE},
        StoreError, StoreResult,
    },
};

pub type JobResult = StoreResult<Box<dyn Any + Send>>;

pub struct Queued {
    pub job: Arc<dyn ErasedJob>,
    pub reply: oneshot::Sender<JobResult>,
}

/// Jobs one commit may carry: enough to amortise the flush, small enough to keep latency bounded.
const MAX_BATCH: usize = 256;

/// Starts the writer task; it stops when the last sender is dropped.
pub fn spawn(writer: SqlitePool) -> mpsc::Sender<Queued> {
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    tokio::spawn(run(writer, receiver));
    sender
}

async fn run(writer: SqlitePool, mut queue: mpsc::Receiver<Queued>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // A panicking job must not take the writer down with it: if the batch's thread dies,
        // its jobs' reply channels drop and their callers see an error; nothing was committed.
        if let Err(error) =
            on_writer_handle(&writer, |db, runtime| commit_batch(db, runtime, batch)).await
        {
            tracing::error!(%error, "a write batch did not run; its jobs were not committed");
        }
    }
}

/// Runs `work` on a blocking thread with the writer connection's handle locked away from sqlx's
/// worker. A transaction `work` leaves open (an error or a panic half-way) is rolled back before
/// the connection goes back to the pool.
#[allow(unsafe_code)]
pub async fn on_writer_handle<R: Send + 'static>(
    writer: &SqlitePool,
    work: impl FnOnce(&mut Connection, &Handle) -> R + Send + 'static,
) -> StoreResult<R> {
    let mut connection = writer.acquire().await?;
    let runtime = Handle::current();
    let ran = tokio::task::spawn_blocking(move || -> StoreResult<R> {
        let mut locked = runtime.block_on(connection.lock_handle())?;
        // SAFETY: the handle is sqlx's open connection, locked away from its worker thread until
        // `locked` drops, which is after `direct` (declared later, dropped first). rusqlite
        // borrows it without closing it.
        let db = unsafe { Connection::from_handle(locked.as_raw_handle().as_ptr()) }?;
        let mut direct = RollbackOnDrop(db);
        direct
            .0
            .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(work(&mut direct.0, &runtime))
    })
    .await;
    match ran {
        Ok(result) => result,
        Err(panic) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
            "the writer's work panicked: {panic}"
        )))),
    }
}

/// Leaves no transaction open on a connection that goes back to sqlx.
struct RollbackOnDrop(Connection);

impl Drop for RollbackOnDrop {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            if let Err(error) = self.0.execute_batch("ROLLBACK") {
                tracing::error!(%error, "rolling back the writer's open transaction");
            }
        }
    }
}

/// Runs a statement without rows, prepared once per batch.
pub fn run_statement(db: &Connection, statement: &str) -> rusqlite::Result<()> {
    db.prepare_cached(statement)?.raw_execute().map(drop)
}

fn commit_batch(db: &mut Connection, runtime: &Handle, mut batch: Vec<Queued>) {
    let mut results: Vec<(oneshot::Sender<JobResult>, JobResult)> = Vec::with_capacity(batch.len());
    match run_batch(db, runtime, &mut batch, &mut results) {
        Ok(()) => {
            for (reply, result) in results {
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            // Jobs that ran and jobs that never got to run are answered alike: not committed.
            let replies: Vec<_> = results
                .into_iter()
                .map(|(reply, _)| reply)
                .chain(batch.into_iter().map(|queued| queued.reply))
                .collect();
            tracing::error!(%error, jobs = replies.len(), "write batch failed; nothing in it was committed");
            for reply in replies {
                let _ = reply.send(Err(StoreError::Database(sqlx::Error::Protocol(format!(
                    "the write batch failed: {error}"
                )))));
            }
        }
    }
}

/// Runs every job of the batch in one transaction, collecting each job's own result. The fast
/// path runs the jobs back to back with no savepoints; if any job fails, the whole transaction is
/// rolled back and the jobs run again each inside its own savepoint, so one job's failure never
/// undoes another's work (nothing was answered yet, so running a job twice is invisible).
fn run_batch(
    db: &mut Connection,
    runtime: &Handle,
    batch: &mut Vec<Queued>,
    results: &mut Vec<(oneshot::Sender<JobResult>, JobResult)>,
) -> rusqlite::Result<()> {
    if batch.len() > 1 {
        run_statement(db, "BEGIN IMMEDIATE")?;
        let mut outputs = Vec::with_capacity(batch.len());
        let mut clean = true;
        for queued in batch.iter() {
            let mut ledger = DirectLedgerTx { db: &mut *db };
            match runtime.block_on(queued.job.run_erased(&mut ledger)) {
                Ok(output) => outputs.push(output),
                Err(_) => {
                    clean = false;
                    break;
                }
            }
        }
        if clean {
            run_statement(db, "COMMIT")?;
            for (queued, output) in batch.drain(..).zip(outputs) {
                results.push((queued.reply, Ok(output)));
            }
            return Ok(());
        }
        run_statement(db, "ROLLBACK")?;
    }
    run_statement(db, "BEGIN IMMEDIATE")?;
    batch.reverse();
    while let Some(Queued { job, reply }) = batch.pop() {
        run_statement(db, "SAVEPOINT job")?;
        let result = {
            let mut ledger = DirectLedgerTx { db: &mut *db };
            runtime.block_on(job.run_erased(&mut ledger))
        };
        if result.is_err() {
            run_statement(db, "ROLLBACK TO job")?;
        }
        run_statement(db, "RELEASE job")?;
        results.push((reply, result));
    }
    run_statement(db, "COMMIT")
}

/// Runs one job in a transaction of its own on the writer's handle, committed before it answers:
/// the per-commit baseline that `ssn bench redeem` compares group commit with.
pub async fn run_alone(writer: &SqlitePool, job: Arc<dyn ErasedJob>) -> JobResult {
    on_writer_handle(writer, move |db, runtime| {
        run_statement(db, "BEGIN IMMEDIATE")?;
        let output = runtime.block_on(job.run_erased(&mut DirectLedgerTx { db: &mut *db }))?;
        run_statement(db, "COMMIT")?;
        Ok(output)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use crate::{
        ledger::{LedgerJob, LedgerTx},
        store::{run_job, sqlite::SqliteStore, ConnectOptions, Store, StoreError, StoreResult},
    };

    /// Reserves an RRN (a write) and then fails, panics or not.
    struct Job {
        fail: bool,
        panic: bool,
    }

    impl Job {
        fn ok() -> Self {
            Self {
                fail: false,
                panic: false,
            }
        }
    }

    #[async_trait]
    impl LedgerJob for Job {
        type Output = i64;
        async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<i64> {
            let rrn = tx.next_rrn().await?;
            if self.fail {
                return Err(StoreError::NotFound { entity: "test" });
            }
            assert!(
                !self.panic,
                "the job panics half-way through its transaction"
            );
            Ok(rrn)
        }
    }

    async fn open_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        Arc::new(
            SqliteStore::open(&url, &ConnectOptions::default())
                .await
                .unwrap(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_commits_nothing_and_leaves_the_writer_working() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        assert_eq!(run_job(store.as_ref(), Job::ok()).await.unwrap(), 1);
        let panicking = Job {
            fail: false,
            panic: true,
        };
        assert!(run_job(store.as_ref(), panicking).await.is_err());
        // The panicking job's transaction was rolled back, and sqlx's writer connection is usable
        // again, outside any transaction: both the next job and a plain sqlx write go through.
        assert_eq!(run_job(store.as_ref(), Job::ok()).await.unwrap(), 2);
        let user = store
            .create_user(crate::store::NewUser {
                username: "after-the-panic".into(),
                password_hash: "not a real hash".into(),
                role: crate::domain::role::Role::Auditor,
                ewarung_id: None,
                actor: None,
            })
            .await;
        assert!(user.is_ok(), "{user:?}");
        assert_eq!(run_job(store.as_ref(), Job::ok()).await.unwrap(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_in_a_batch_leaves_the_others_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        // Many jobs at once, so the writer batches them; every fifth one fails.
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                let job = Job {
                    fail: i % 5 == 0,
                    panic: false,
                };
                tokio::spawn(async move { run_job(store.as_ref(), job).await })
            })
            .collect();
        let mut rrns = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok(rrn) => rrns.push(rrn),
                Err(error) => assert!(i % 5 == 0, "job {i} failed: {error}"),
            }
        }
        assert_eq!(rrns.len(), 40);
        rrns.sort_unstable();
        // The failed jobs' counter increments were rolled back, the others' kept: 1..=40.
        assert_eq!(rrns, (1..=40).collect::<Vec<_>>());
    }
}
