//! [`WriteTx`]: a write transaction of the registry and batch jobs. On SQLite it also holds the
//! writer's turn: SQLite has one writer at a time, and the ledger's group-commit thread (which has
//! a connection of its own, see `sqlite::group_commit`) takes the same turn, so the two never meet at
//! SQLite's file lock, where a loser would sleep and poll. On PostgreSQL there is no turn.

use std::ops::{Deref, DerefMut};

use sqlx::{Database, Transaction};
use tokio::sync::OwnedMutexGuard;

/// Whose turn it is to write to SQLite: one holder at a time, first come first served.
pub type WriterTurn = std::sync::Arc<tokio::sync::Mutex<()>>;

pub struct WriteTx<DB: Database> {
    // Declared first so that it drops (rolling back if not committed) before the turn is given up.
    tx: Transaction<'static, DB>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl<DB: Database> WriteTx<DB> {
    pub fn new(tx: Transaction<'static, DB>, turn: Option<OwnedMutexGuard<()>>) -> Self {
        Self { tx, _turn: turn }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<DB: Database> Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.tx
    }
}

impl<DB: Database> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}
