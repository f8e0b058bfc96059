//! SQLite's WAL checkpoints, off the writer's path. By default the connection whose commit takes
//! the WAL past 1,000 pages copies it back into the database file and syncs it, inside that
//! commit, and every few hundred redemptions a batch waited tens of milliseconds for it (in a
//! 10 s `ssn-bench redeem` run the authorize p99 fell from 37 ms to 6 ms without it). So the
//! store's connections never checkpoint (`wal_autocheckpoint = 0`), and this thread, with a
//! connection of its own, runs a passive checkpoint every second ([`WalPolicy`]), alongside the
//! writer and readers, blocking neither.
//!
//! Under steady writes a passive checkpoint never quite catches up, and SQLite only starts the WAL
//! over when a write begins with every frame already copied back, so the file would grow without
//! bound (a gigabyte in ten seconds of the bench) and every page read would search a growing WAL
//! index. When it passes 256 MiB, the checkpointer catches up with passive checkpoints until few
//! frames are left, then takes the writer's turn for one last checkpoint (a few to tens of
//! milliseconds, most of it the sync); the next write starts the WAL from its beginning. The file
//! keeps its size and is written over (cutting it back with `journal_size_limit` was tried: one
//! bench run's p99 reached 577 ms). At 1,500 redemptions/s the stall comes every two to three
//! seconds; at a normal pace the WAL starts over by itself whenever writes pause.
//!
//! SQLite syncs the database file only at the end of a checkpoint that reached the WAL's last
//! frame; under steady writes the passive ones never do (more frames were committed while they
//! copied), so the pages they write pile up unsynced and the one checkpoint that does reach the
//! end, in the writer's turn, flushed seconds of them: 20–70 ms with the writer stopped, which
//! was the redemption p99. So the checkpointer syncs the database file itself after every
//! checkpoint, outside the writer's turn, and the last one has only its own few pages to flush
//! (3–10 ms measured).

use std::{fs::File, path::Path, time::Duration};

use rusqlite::{Connection, OpenFlags};

use crate::store::WriterTurn;

/// When the checkpointer runs and when it makes the WAL start over.
#[derive(Debug, Clone, Copy)]
pub struct WalPolicy {
    /// How often the WAL is copied back into the database.
    pub interval: Duration,
    /// WAL pages after which the checkpointer makes the WAL start over.
    pub restart_pages: i64,
}

impl Default for WalPolicy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            // 256 MiB of 4 KiB pages.
            restart_pages: 65_536,
        }
    }
}

/// Frames left to copy that are few enough to copy in the writer's turn.
const CATCH_UP_PAGES: i64 = 256;

/// Starts the checkpointer on the database at `path`. It holds only a weak reference to the
/// writer's turn and stops once the store that owns the turn is gone.
pub fn spawn(path: &Path, turn: &WriterTurn, policy: WalPolicy) -> anyhow::Result<()> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_handler(Some(short_waits))?;
    let checkpointer = Checkpointer {
        db,
        db_file: File::open(path)?,
    };
    let turn = std::sync::Arc::downgrade(turn);
    std::thread::Builder::new()
        .name("ssn-wal-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(policy.interval);
            let Some(turn) = turn.upgrade() else {
                return;
            };
            if checkpointer
                .checkpoint()
                .is_some_and(|wal| wal.pages > policy.restart_pages)
            {
                checkpointer.restart(&turn);
            }
        })?;
    Ok(())
}

/// The checkpointer's connection, and the database file it flushes after each checkpoint.
struct Checkpointer {
    db: Connection,
    db_file: File,
}

impl Checkpointer {
    /// A passive checkpoint, if it ran, then a flush of the pages it wrote (see the module's doc).
    fn checkpoint(&self) -> Option<Wal> {
        let wal = checkpoint_mode(&self.db, "PASSIVE")?;
        if let Err(error) = self.db_file.sync_data() {
            tracing::warn!(%error, "syncing the database file after a WAL checkpoint");
        }
        Some(wal)
    }

    /// Catches up, then copies the last frames in the writer's turn, so that the next write finds
    /// the whole WAL copied back and starts it over.
    fn restart(&self, turn: &tokio::sync::Mutex<()>) {
        for _ in 0..8 {
            match self.checkpoint() {
                Some(wal) if wal.pages - wal.copied > CATCH_UP_PAGES => continue,
                Some(_) => break,
                None => return,
            }
        }
        let _turn = turn.blocking_lock();
        checkpoint_mode(&self.db, "RESTART");
    }
}

/// What a checkpoint reports: pages in the WAL, and how many of them are copied back.
struct Wal {
    pages: i64,
    copied: i64,
}

/// Readers hold the WAL for well under a millisecond: wait for them in steps of 100 µs (SQLite's
/// own handler sleeps 1, 2, 5, 10 ms…), and give up after 20 ms, to try again next time.
fn short_waits(tries: i32) -> bool {
    std::thread::sleep(Duration::from_micros(100));
    tries < 200
}

fn checkpoint_mode(db: &Connection, mode: &str) -> Option<Wal> {
    match db.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(Wal {
            pages: row.get(1)?,
            copied: row.get(2)?,
        })
    }) {
        Ok(wal) => Some(wal),
        Err(error) => {
            tracing::warn!(%error, "WAL checkpoint");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use async_trait::async_trait;

    use super::WalPolicy;
    use crate::{
        ledger::{LedgerJob, LedgerTx},
        store::{
            run_job, sql_store::SqlStore, sqlite::SqliteStore, ConnectOptions, Store, StoreResult,
        },
    };

    /// One small write.
    struct Rrn;

    #[async_trait]
    impl LedgerJob for Rrn {
        type Output = i64;
        async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<i64> {
            tx.next_rrn().await
        }
    }

    const JOBS: i64 = 3_000;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_steady_writes_the_wal_starts_over_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let policy = WalPolicy {
            interval: Duration::from_millis(20),
            restart_pages: 64,
        };
        let options = ConnectOptions {
            wal: policy,
            ..ConnectOptions::default()
        };
        let url = format!("sqlite://{}", path.display());
        let store: Arc<dyn Store> = Arc::new(SqlStore::new(
            SqliteStore::open(&url, &options).await.unwrap(),
        ));
        // Writers that never let the queue run dry, so the writer commits back to back and a
        // passive checkpoint alone never finds the whole WAL copied back.
        let writers: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..JOBS {
                        run_job(store.as_ref(), Rrn).await.unwrap();
                    }
                })
            })
            .collect();
        let wal = path.with_extension("db-wal");
        let mut largest = 0;
        while !writers.iter().all(|writer| writer.is_finished()) {
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(run_job(store.as_ref(), Rrn).await.unwrap(), 16 * JOBS + 1);
        // Thousands of commits of a page or more each: without restarts the WAL would pass 20 MiB.
        assert!(
            largest < 4 * 1024 * 1024,
            "the WAL grew to {largest} bytes; it should start over past {} pages",
            policy.restart_pages
        );
    }
}
