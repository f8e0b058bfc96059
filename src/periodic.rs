//! Background jobs that repeat: the hold sweeper, the web session sweeper and the token
//! revocation refresher each run one pass every so often for as long as the server runs.

use std::{future::Future, time::Duration};

/// Runs `pass` every `period` (the first at once) until the task is aborted. A pass that runs
/// long delays the next one rather than letting passes pile up.
pub fn every<F, Fut>(period: Duration, mut pass: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            pass().await;
        }
    })
}
