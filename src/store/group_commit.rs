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

/// Runs every job of the batch in one transaction, collecting each job's own result.
async fn run_batch(
    writer: &SqlitePool,
    batch: &mut Vec<Queued>,
    results: &mut Vec<(oneshot::Sender<JobResult>, JobResult)>,
) -> Result<(), sqlx::Error> {
    let mut conn = writer.acquire().await?;
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
