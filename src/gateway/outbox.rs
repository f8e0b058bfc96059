//! Store-and-forward: completion advices and reversals the host has not acknowledged yet, in a
//! local SQLite file (`synchronous=FULL`: once the terminal is told "stored", a power cut does not
//! lose it). Items go to the host in the order they were stored, before any new purchase, with
//! bounded retries and backoff; an item that cannot be delivered is parked with an alarm.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

/// What the host is asked to do with a request the terminal already made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdviceAction {
    Complete,
    Reverse,
}

impl AdviceAction {
    fn as_str(self) -> &'static str {
        match self {
            AdviceAction::Complete => "complete",
            AdviceAction::Reverse => "reversal",
        }
    }

    /// The redemption API path.
    pub fn path(self) -> &'static str {
        match self {
            AdviceAction::Complete => "/v1/redemptions/complete",
            AdviceAction::Reverse => "/v1/redemptions/reversal",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub action: String,
    pub terminal_id: String,
    pub stan: String,
    pub local_date: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
}

impl Item {
    pub fn action(&self) -> AdviceAction {
        if self.action == "complete" {
            AdviceAction::Complete
        } else {
            AdviceAction::Reverse
        }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "terminal_id": self.terminal_id, "stan": self.stan, "local_date": self.local_date,
        })
    }
}

/// An item as `ssn terminal outbox` lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    #[sqlx(flatten)]
    pub item: Item,
    pub parked: bool,
    pub last_error: Option<String>,
}

pub struct Outbox {
    pool: SqlitePool,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    action          TEXT NOT NULL CHECK (action IN ('complete', 'reversal')),
    terminal_id     TEXT NOT NULL,
    stan            TEXT NOT NULL,
    local_date      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    parked          INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (action, terminal_id, stan, local_date)
)";

impl Outbox {
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::query(SCHEMA).execute(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores an advice durably; the same advice twice is stored once.
    pub async fn push(
        &self,
        action: AdviceAction,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO outbox (action, terminal_id, stan, local_date, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (action, terminal_id, stan, local_date) DO NOTHING",
        )
        .bind(action.as_str())
        .bind(terminal_id)
        .bind(stan)
        .bind(local_date)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Items not parked, oldest first.
    pub async fn pending(&self) -> anyhow::Result<Vec<Item>> {
        Ok(sqlx::query_as(
            "SELECT id, action, terminal_id, stan, local_date, attempts, next_attempt_ms
             FROM outbox WHERE parked = 0 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn pending_count(&self) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE parked = 0")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn parked_count(&self) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE parked = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn done(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed try and when to try next.
    pub async fn failed(&self, id: i64, error: &str, retry_in: Duration) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_ms = $3
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(now_ms() + retry_in.as_millis() as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every item, parked ones included, oldest first, with whether it is parked and why it last
    /// failed.
    pub async fn all(&self) -> anyhow::Result<Vec<Listed>> {
        Ok(sqlx::query_as(
            "SELECT id, action, terminal_id, stan, local_date, attempts, next_attempt_ms,
                    parked = 1 AS parked, last_error
             FROM outbox ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Puts parked items back in line with a fresh count of tries (after a person fixed the cause);
    /// the running gateway sends them at its next look. Returns how many.
    pub async fn unpark_all(&self) -> anyhow::Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET parked = 0, attempts = 0, next_attempt_ms = 0 WHERE parked = 1",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Gives up on an item: it stays in the file for a person to look at.
    pub async fn park(&self, id: i64, error: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE outbox SET parked = 1, last_error = $2 WHERE id = $1")
            .bind(id)
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
