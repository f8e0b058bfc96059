//! Group commit for SQLite's single writer. `synchronous=FULL` makes every commit wait for the disk,
//! so committing each redemption alone caps throughput at the disk's flush rate. Instead one thread
//! owns the ledger's writes: it takes every job waiting in the queue (up to a bound), runs them in
//! one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each job. If a job
//! fails, the batch runs again with each job inside its own savepoint, so one job's failure does
//! not disturb the others; if the commit itself fails, every job in the batch gets the error, so
//! nothing unflushed is ever acknowledged.
//!
//! The thread has a SQLite connection of its own and runs the statements on it directly
//! (`ledger_tx`): through sqlx every statement is a round trip to sqlx's worker thread, and
//! with about twenty statements a redemption those hand-offs cost more CPU than SQLite itself.
//! It writes only in its [`WriterTurn`], which the registry's sqlx writes take too.
//!
//! A batch of nothing but quota staging ([`Work::Staging`]) commits without flushing: no one is
//! answered on those rows (the upload's report comes after a flushed commit of its own), and a
//! flush of the log flushes every frame written before it. A batch with anything else in it is
//! flushed as always.

use std::{
    any::Any,
    future::Future,
    path::Path,
    sync::Arc,
    task::{Context, Poll, Wake, Waker},
};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::{
    ledger::tx::ErasedJob,
    store::{
        sqlite::ledger_tx::{SqliteLedgerTx, STATEMENT_CACHE},
        ConnectOptions, StoreError, StoreResult, WriterTurn,
    },
};

pub type JobResult = StoreResult<Box<dyn Any + Send>>;

/// Statements of the store's own run on the writer's connection (quota staging). It may run twice
/// (see `run_batch`), so it is `Fn`.
pub type DirectWork = Arc<dyn Fn(&Connection) -> JobResult + Send + Sync>;

/// What the writer runs in a batch.
pub enum Work {
    /// A ledger job, through [`LedgerTx`](crate::ledger::LedgerTx).
    Ledger(Arc<dyn ErasedJob>),
    /// A chunk of a quota upload staged: its commit needs no flush of its own, because nothing is
    /// acknowledged on it until the upload finishes with a flushed commit (which flushes the log
    /// up to there, these frames with it). A crash before that loses at most an unfinished
    /// upload's lines, as it would anyway.
    Staging(DirectWork),
}

impl Work {
    /// Whether committing this work must reach the disk before its caller is answered.
    fn needs_flush(&self) -> bool {
        !matches!(self, Work::Staging(_))
    }
}

/// A job for the writer and where its answer goes. `alone` jobs get a transaction and a commit of
/// their own (the per-commit baseline `ssn-bench redeem` compares group commit with).
pub struct Queued {
    pub job: Work,
    pub reply: oneshot::Sender<JobResult>,
    pub alone: bool,
    /// When it was queued: its wait for the writer is a pool wait (`ssn_db_wait_seconds`).
    pub queued_at: std::time::Instant,
}

/// Jobs one commit may carry: enough to amortise the flush, small enough to keep latency bounded.
const MAX_BATCH: usize = 256;

/// Opens the writer's connection (the database exists and is migrated) and starts its thread,
/// which stops when the last sender is dropped.
pub fn spawn(
    path: &Path,
    options: &ConnectOptions,
    turn: WriterTurn,
) -> anyhow::Result<mpsc::Sender<Queued>> {
    let db = open(path, options)?;
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    std::thread::Builder::new()
        .name("ssn-ledger-writer".into())
        .spawn(move || run(db, receiver, turn))?;
    Ok(sender)
}

/// The same settings as sqlx's connections (`SqliteStore::open`): WAL, `synchronous=FULL`,
/// foreign keys on, checkpoints left to `wal_checkpoint`.
fn open(path: &Path, options: &ConnectOptions) -> anyhow::Result<Connection> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(options.busy_timeout)?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(db)
}

fn run(mut db: Connection, mut queue: mpsc::Receiver<Queued>, turn: WriterTurn) {
    let mut flushing = Flushing::On;
    let mut next = None;
    while let Some(first) = next.take().or_else(|| queue.blocking_recv()) {
        let mut batch = vec![first];
        while !batch[0].alone && batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(queued) if queued.alone => {
                    next = Some(queued);
                    break;
                }
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        let _turn = turn.blocking_lock();
        // A job whose caller has gone (its request timed out or its client disconnected while
        // it waited) is not run: nobody would learn its outcome but from the status endpoint.
        batch.retain(|queued| !queued.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let flush = batch.iter().any(|queued| queued.job.needs_flush());
        if let Err(error) = flushing.set(&db, flush) {
            // Never commit a batch that needs the flush without it: answer it with the error.
            tracing::error!(%error, flush, "setting the writer's synchronous mode");
            for queued in batch {
                let _ = queued
                    .reply
                    .send(Err(StoreError::Database(sqlx::Error::Protocol(format!(
                        "the write batch was not run: {error}"
                    )))));
            }
            continue;
        }
        // A panicking job must not take the writer down with it: its batch's reply channels drop
        // (their callers see an error), the transaction is rolled back, and the thread goes on.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commit_batch(&mut db, batch)
        }));
        if ran.is_err() {
            tracing::error!("a write batch panicked; its jobs were not committed");
        }
        if !db.is_autocommit() {
            if let Err(error) = db.execute_batch("ROLLBACK") {
                tracing::error!(%error, "rolling back the writer's open transaction");
            }
        }
    }
}

/// The writer connection's `synchronous` mode, changed only between transactions and only when a
/// batch needs the other one (a staging upload is hundreds of batches in a row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flushing {
    /// `synchronous = FULL`: the commit returns once the log is on disk.
    On,
    /// `synchronous = OFF`: the commit leaves the log in the OS's page cache.
    Off,
}

impl Flushing {
    fn set(&mut self, db: &Connection, flush: bool) -> rusqlite::Result<()> {
        let wanted = if flush { Flushing::On } else { Flushing::Off };
        if *self != wanted {
            // `Off` until the pragma has run: if it fails, the mode is unknown, and recording
            // `Off` makes the next batch that needs the flush set `FULL` again.
            *self = Flushing::Off;
            db.execute_batch(match wanted {
                Flushing::On => "PRAGMA synchronous = FULL",
                Flushing::Off => "PRAGMA synchronous = OFF",
            })?;
            *self = wanted;
        }
        Ok(())
    }
}

/// Runs a statement without rows, prepared once.
fn run_statement(db: &Connection, statement: &str) -> rusqlite::Result<()> {
    db.prepare_cached(statement)?.raw_execute().map(drop)
}

fn commit_batch(db: &mut Connection, mut batch: Vec<Queued>) {
    let metrics = crate::metrics::metrics();
    metrics.group_commit_jobs.observe(batch.len() as f64);
    for queued in &batch {
        metrics.db_wait("sqlite_writer", queued.queued_at.elapsed());
    }
    let mut results: Vec<(oneshot::Sender<JobResult>, JobResult)> = Vec::with_capacity(batch.len());
    match run_batch(db, &mut batch, &mut results) {
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
/// undoes another's work (nothing was answered yet, so running a job twice is invisible). A job
/// on its own (an `alone` job, or a quiet moment) needs no savepoint: its failure rolls back all.
fn run_batch(
    db: &mut Connection,
    batch: &mut Vec<Queued>,
    results: &mut Vec<(oneshot::Sender<JobResult>, JobResult)>,
) -> rusqlite::Result<()> {
    if batch.len() == 1 {
        let Queued { job, reply, .. } = batch.remove(0);
        run_statement(db, "BEGIN IMMEDIATE")?;
        let result = run_job(db, &job);
        // Pushed first, so that a failed commit answers this job with the commit's error.
        let committed = result.is_ok();
        results.push((reply, result));
        return run_statement(db, if committed { "COMMIT" } else { "ROLLBACK" });
    }
    run_statement(db, "BEGIN IMMEDIATE")?;
    let mut outputs = Vec::with_capacity(batch.len());
    let mut clean = true;
    for queued in batch.iter() {
        match run_job(db, &queued.job) {
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
    run_statement(db, "BEGIN IMMEDIATE")?;
    batch.reverse();
    while let Some(Queued { job, reply, .. }) = batch.pop() {
        run_statement(db, "SAVEPOINT job")?;
        let result = run_job(db, &job);
        if result.is_err() {
            run_statement(db, "ROLLBACK TO job")?;
        }
        run_statement(db, "RELEASE job")?;
        results.push((reply, result));
    }
    run_statement(db, "COMMIT")
}

fn run_job(db: &mut Connection, job: &Work) -> JobResult {
    match job {
        Work::Ledger(job) => block_on(job.run_erased(&mut SqliteLedgerTx { db })),
        Work::Staging(work) => work(db),
    }
}

/// Polls a job to completion on this thread. A job on the direct connection never waits for
/// anything (every statement runs synchronously), so it is ready at the first poll; the parking
/// is only there to be correct if one ever did.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use crate::{
        ledger::{LedgerJob, LedgerTx},
        store::{
            run_job, sql_store::SqlStore, sqlite::SqliteStore, ConnectOptions, Store, StoreError,
            StoreResult,
        },
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
        Arc::new(SqlStore::new(
            SqliteStore::open(&url, &ConnectOptions::default())
                .await
                .unwrap(),
        ))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_or_failing_job_commits_nothing_and_leaves_the_writer_working() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        assert_eq!(run_job(store.as_ref(), Job::ok()).await.unwrap(), 1);
        let panicking = Job {
            fail: false,
            panic: true,
        };
        assert!(run_job(store.as_ref(), panicking).await.is_err());
        // A job alone that fails gets its own error, and its write is rolled back.
        let failing = Job {
            fail: true,
            panic: false,
        };
        assert!(matches!(
            run_job(store.as_ref(), failing).await,
            Err(StoreError::NotFound { entity: "test" })
        ));
        // The panicking and the failing job's transactions were rolled back, and the writer goes
        // on: both the next job and a plain sqlx write (which takes the writer's turn) go through.
        assert_eq!(run_job(store.as_ref(), Job::ok()).await.unwrap(), 2);
        let user = store
            .create_user(crate::store::NewUser {
                nik: None,
                username: "after-the-panic".into(),
                password_hash: "not a real hash".into(),
                role: crate::domain::role::Role::Auditor,
                ewarung_id: None,
                kelurahan: Vec::new(),
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

    /// The writer's `synchronous` mode as a staging job sees it, inside its batch's transaction.
    fn staging_probe(seen: Arc<std::sync::Mutex<Vec<i64>>>) -> super::Work {
        super::Work::Staging(Arc::new(move |db: &rusqlite::Connection| {
            let mode: i64 = db.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
            seen.lock().unwrap().push(mode);
            Ok(Box::new(()) as Box<dyn std::any::Any + Send>)
        }))
    }

    /// Queues `jobs` while the writer cannot write (the test holds its turn) behind a job that runs
    /// alone, so that when the turn is given back they are all waiting and run as one batch.
    async fn run_as_one_batch(
        sender: &tokio::sync::mpsc::Sender<super::Queued>,
        turn: &crate::store::WriterTurn,
        jobs: Vec<super::Work>,
    ) -> Vec<super::JobResult> {
        let held = turn.lock().await;
        let (reply, blocker) = tokio::sync::oneshot::channel();
        let first = super::Queued {
            queued_at: std::time::Instant::now(),
            job: super::Work::Staging(Arc::new(|_: &rusqlite::Connection| {
                Ok(Box::new(()) as Box<dyn std::any::Any + Send>)
            })),
            reply,
            alone: true,
        };
        sender.send(first).await.unwrap();
        let mut answers = Vec::new();
        for job in jobs {
            let (reply, answer) = tokio::sync::oneshot::channel();
            sender
                .send(super::Queued {
                    queued_at: std::time::Instant::now(),
                    job,
                    reply,
                    alone: false,
                })
                .await
                .unwrap();
            answers.push(answer);
        }
        drop(held);
        blocker.await.unwrap().unwrap();
        let mut results = Vec::new();
        for answer in answers {
            results.push(answer.await.unwrap());
        }
        results
    }

    /// Nothing to do: a ledger job, to put in a batch with staging work.
    struct Nothing;

    #[async_trait]
    impl LedgerJob for Nothing {
        type Output = ();
        async fn run(&self, _tx: &mut dyn LedgerTx) -> StoreResult<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_a_batch_of_nothing_but_staging_commits_without_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL")
            .unwrap();
        let turn = crate::store::WriterTurn::default();
        let sender = super::spawn(&path, &ConnectOptions::default(), turn.clone()).unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        const FULL: i64 = 2;
        const OFF: i64 = 0;

        // Staging alone: no flush.
        let staging = vec![staging_probe(seen.clone()), staging_probe(seen.clone())];
        for result in run_as_one_batch(&sender, &turn, staging).await {
            result.unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), vec![OFF, OFF]);

        // Staging batched with a ledger job (a redemption, say): flushed.
        seen.lock().unwrap().clear();
        let mixed = vec![
            staging_probe(seen.clone()),
            super::Work::Ledger(Arc::new(Nothing)),
            staging_probe(seen.clone()),
        ];
        for result in run_as_one_batch(&sender, &turn, mixed).await {
            result.unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), vec![FULL, FULL]);

        // And back: staging alone again goes without.
        seen.lock().unwrap().clear();
        for result in run_as_one_batch(&sender, &turn, vec![staging_probe(seen.clone())]).await {
            result.unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), vec![OFF]);
    }
}
