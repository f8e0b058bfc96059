//! Group commit for SQLite's single writer. `synchronous=FULL` makes every commit wait for the disk,
//! so committing each redemption alone caps throughput at the disk's flush rate. Instead one task
//! owns the writer: it takes every job waiting in the queue (up to a bound), runs each inside its
//! own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each job.
//! A job that fails rolls back to its savepoint and does not disturb the others; if the commit
//! itself fails, every job in the batch gets the error, so nothing unflushed is ever acknowledged.

use std::{any::Any, sync::Arc};

use sqlx::{Connection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::{
    ledger::tx::ErasedJob,
    store::{sqlite::SqliteLedgerTx, StoreError, StoreResult},
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
        // A panicking job must not take the writer down with it: run the batch as its own task;
        // if it dies, its jobs' reply channels drop and their callers see an error.
        let pool = writer.clone();
        if let Err(error) = tokio::spawn(commit_batch(pool, batch)).await {
            tracing::error!(%error, "a write batch panicked; its jobs were not committed");
        }
    }
}

async fn commit_batch(writer: SqlitePool, mut batch: Vec<Queued>) {
    let mut results: Vec<(oneshot::Sender<JobResult>, JobResult)> = Vec::with_capacity(batch.len());
    match run_batch(&writer, &mut batch, &mut results).await {
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
async fn run_batch(
    writer: &SqlitePool,
    batch: &mut Vec<Queued>,
    results: &mut Vec<(oneshot::Sender<JobResult>, JobResult)>,
) -> Result<(), sqlx::Error> {
    let mut conn = writer.acquire().await?;
    if batch.len() > 1 {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut outputs = Vec::with_capacity(batch.len());
        let mut clean = true;
        for queued in batch.iter() {
            let mut ledger = SqliteLedgerTx { conn: &mut tx };
            match queued.job.run_erased(&mut ledger).await {
                Ok(output) => outputs.push(output),
                Err(_) => {
                    clean = false;
                    break;
                }
            }
        }
        if clean {
            tx.commit().await?;
            for (queued, output) in batch.drain(..).zip(outputs) {
                results.push((queued.reply, Ok(output)));
            }
            return Ok(());
        }
        tx.rollback().await?;
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    batch.reverse();
    while let Some(Queued { job, reply }) = batch.pop() {
        sqlx::query("SAVEPOINT job").execute(&mut *tx).await?;
        let result = {
            let mut ledger = SqliteLedgerTx { conn: &mut tx };
            job.run_erased(&mut ledger).await
        };
        if result.is_err() {
            sqlx::query("ROLLBACK TO job").execute(&mut *tx).await?;
        }
        sqlx::query("RELEASE job").execute(&mut *tx).await?;
        results.push((reply, result));
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use crate::{
        ledger::{LedgerJob, LedgerTx},
        store::{run_job, sqlite::SqliteStore, ConnectOptions, Store, StoreError, StoreResult},
    };

    /// Reserves an RRN (a write) and then fails or not.
    struct Job {
        fail: bool,
    }

    #[async_trait]
    impl LedgerJob for Job {
        type Output = i64;
        async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<i64> {
            let rrn = tx.next_rrn().await?;
            if self.fail {
                return Err(StoreError::NotFound { entity: "test" });
            }
            Ok(rrn)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_in_a_batch_leaves_the_others_committed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&url, &ConnectOptions::default())
                .await
                .unwrap(),
        );
        // Many jobs at once, so the writer batches them; every fifth one fails.
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { run_job(store.as_ref(), Job { fail: i % 5 == 0 }).await })
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
