//! The hold sweeper: a purchase the terminal never completed must not keep the household's money
//! held. Every few seconds it ends holds whose timeout has passed on the database's clock (so that
//! several app servers agree), in bounded batches.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::{
    ledger::{LedgerJob, LedgerTx},
    redemption::engine::expire_hold,
    store::{run_job, Store, StoreResult},
};

/// Expires up to `limit` overdue holds; the output is how many it expired.
pub struct ExpireOverdueHolds {
    pub limit: u32,
}

#[async_trait]
impl LedgerJob for ExpireOverdueHolds {
    type Output = usize;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<usize> {
        let now = tx.db_now().await?;
        let overdue = tx.expired_holds(now, self.limit).await?;
        let mut expired = 0;
        for (redemption, hold) in overdue {
            if expire_hold(tx, redemption, hold, crate::store::now()).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }
}

/// Expires every overdue hold now, batch by batch; returns how many.
pub async fn sweep_once(store: &dyn Store) -> StoreResult<usize> {
    const BATCH: u32 = 200;
    let mut total = 0;
    loop {
        let expired = run_job(store, ExpireOverdueHolds { limit: BATCH }).await?;
        total += expired;
        if expired < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Runs the sweeper every `every` until the process stops.
pub fn spawn(store: Arc<dyn Store>, every: Duration) -> tokio::task::JoinHandle<()> {
    crate::periodic::every(every, move || {
        let store = store.clone();
        async move {
            let result = sweep_once(store.as_ref()).await;
            let metrics = crate::metrics::metrics();
            metrics.sweeper_runs.inc();
            match result {
                Ok(0) => {}
                Ok(expired) => {
                    metrics.holds_expired.inc_by(expired as u64);
                    tracing::info!(expired, "expired overdue holds")
                }
                Err(error) => tracing::warn!(%error, "hold sweep failed; will retry"),
            }
        }
    })
}
