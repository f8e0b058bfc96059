//! [`SqlStore`]: the one implementation of [`Store`](crate::store::Store),
//! [`LedgerStore`](crate::store::LedgerStore) and [`DayStore`](crate::store::DayStore), written
//! once over sqlx for both engines (`registry.rs`, `ledger_store.rs`, `day_sql.rs`). What differs
//! between SQLite and PostgreSQL (the pools, how a write transaction begins, how ledger jobs run,
//! quota staging, reading a day for reconciliation) is the [`Engine`] it wraps.

use std::{any::Any, future::Future, sync::Arc};

use crate::{
    ledger::{tx::ErasedJob, LedgerTx},
    model::quota::{LineError, LineOutcome, StagedLine},
    store::{StoreResult, WriteTx},
};

/// A database engine as the shared SQL needs it: a pool to read from, a way to begin a write
/// transaction, and the few things each engine does its own way: running ledger jobs (SQLite:
/// the group-commit writer; PostgreSQL: a transaction each, retried), staging quota lines and
/// reading a day's host entries for reconciliation.
pub trait Engine: Send + Sync + 'static {
    type Db: crate::store::ledger_sql::Dialect;

    /// "sqlite" or "postgres", for logs and `/readyz`.
    fn name(&self) -> &'static str;

    /// The pool reads go to.
    fn reader(&self) -> &sqlx::Pool<Self::Db>;

    /// Begins a write transaction (on SQLite in the single writer's turn).
    fn begin_write(&self) -> impl Future<Output = Result<WriteTx<Self::Db>, sqlx::Error>> + Send;

    /// The ledger's view of a connection inside a transaction (the engine's one `LedgerTx`).
    fn ledger_tx<'c>(
        conn: &'c mut <Self::Db as sqlx::Database>::Connection,
    ) -> impl Future<Output = StoreResult<Box<dyn LedgerTx + 'c>>> + Send + 'c;

    /// Runs a ledger job in a write transaction and commits it before answering.
    fn transact_job(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> impl Future<Output = StoreResult<Box<dyn Any + Send>>> + Send;

    /// Runs a ledger job in a transaction of its own, never batched with others.
    fn transact_job_alone(
        &self,
        job: Arc<dyn ErasedJob>,
    ) -> impl Future<Output = StoreResult<Box<dyn Any + Send>>> + Send;

    /// Stages a chunk of a quota file (see `LedgerStore::stage_quota_chunk`).
    fn stage_lines(
        &self,
        batch: crate::domain::ids::QuotaBatchId,
        lines: &[StagedLine],
        errors: &[LineError],
    ) -> impl Future<Output = StoreResult<Vec<Option<LineOutcome>>>> + Send;

    /// `store` as the web application's session store. Asked of the engine, whose database
    /// type is known, so that the generic `Store` impl need not list every type sessions bind.
    fn sessions(store: &SqlStore<Self>) -> &dyn crate::store::SessionStore
    where
        Self: Sized;

    /// `store` as the web application's read models (see `sessions`).
    fn views(store: &SqlStore<Self>) -> &dyn crate::store::ViewStore
    where
        Self: Sized;

    /// `store` as the audit chain (see `sessions`).
    fn audit_chain(store: &SqlStore<Self>) -> &dyn crate::store::AuditChainStore
    where
        Self: Sized;

    /// Streams the host's entries of a date (completed purchases, refunds) into `sink`, the way
    /// this engine reads a million rows fastest; answers how many.
    fn load_host_entries(
        &self,
        date: &str,
        sink: &mut (dyn for<'r> FnMut(crate::model::recon::HostRow<'r>) + Send),
    ) -> impl Future<Output = StoreResult<i64>> + Send;
}

/// The store: the shared SQL over an engine.
pub struct SqlStore<E> {
    pub(crate) engine: E,
}

impl<E: Engine> SqlStore<E> {
    pub fn new(engine: E) -> Self {
        Self { engine }
    }

    /// The engine, for what only it does (tests of SQLite's writer, PostgreSQL's quota path).
    pub fn engine(&self) -> &E {
        &self.engine
    }
}
