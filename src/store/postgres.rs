//! PostgreSQL: the production engine. Native `uuid`, `timestamptz`, `bigint` money and `jsonb`;
//! constraints in the schema back every rule the code enforces.

use std::time::Duration;

use sqlx::{postgres::PgPoolOptions, PgPool, Postgres, Transaction};

use crate::store::{registry::registry_store_impl, ConnectOptions};

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

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

registry_store_impl!(PgStore, sqlx::Postgres);
