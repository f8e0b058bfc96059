//! [`SqlStore`]: the one implementation of [`Store`](crate::store::Store), written once over
//! sqlx for both engines. What differs between SQLite and PostgreSQL (the pools, how a write
//! transaction begins, how ledger jobs are run) is the [`Engine`] it wraps.

use std::future::Future;

use crate::store::{DayStore, LedgerStore, WriteTx};

/// A database engine as the shared SQL needs it: a pool to read from and a way to begin a write
/// transaction. The ledger and the business days are the engine's own (see `sqlite`, `postgres`).
pub trait Engine: LedgerStore + DayStore + Send + Sync + 'static {
    type Db: sqlx::Database;

    /// "sqlite" or "postgres", for logs and `/readyz`.
    fn name(&self) -> &'static str;

    /// The pool reads go to.
    fn reader(&self) -> &sqlx::Pool<Self::Db>;

    /// Begins a write transaction (on SQLite in the single writer's turn).
    fn begin_write(&self) -> impl Future<Output = Result<WriteTx<Self::Db>, sqlx::Error>> + Send;
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
