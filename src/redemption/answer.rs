//! Running a terminal request's job to its answer: the bytes the terminal gets, whatever
//! happens (the API and the operator's web page both answer this way).

use std::sync::Arc;

use crate::{
    ledger::LedgerJob,
    redemption::{response::TerminalReply, ResponseCode},
    store::{run_job, Store},
};

/// Attempts for a job that failed in a way worth repeating (a lost race on PostgreSQL is already
/// retried inside the store; this also covers a retrieval reference number drawn twice).
const ATTEMPTS: usize = 3;

/// Runs the job and answers with its bytes; a failure on our side is response code 96, which
/// tells the terminal to reverse and retry (nothing of the failed attempt was committed).
pub async fn answer<J>(store: &dyn Store, job: J, terminal: &str) -> Vec<u8>
where
    J: LedgerJob<Output = Vec<u8>>,
{
    let job = Arc::new(job);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match run_job(store, SharedJob(job.clone())).await {
            Ok(body) => return body,
            Err(error) if error.is_retryable() && attempt < ATTEMPTS => continue,
            Err(error) => {
                tracing::error!(%error, terminal, "redemption request failed");
                return TerminalReply::new(ResponseCode::SystemError, terminal)
                    .reason("the host could not process the request; reverse and try again")
                    .to_bytes();
            }
        }
    }
}

/// Lets the same job be submitted again after a retryable failure.
struct SharedJob<J>(Arc<J>);

#[async_trait::async_trait]
impl<J: LedgerJob> LedgerJob for SharedJob<J> {
    type Output = J::Output;

    async fn run(
        &self,
        tx: &mut dyn crate::ledger::LedgerTx,
    ) -> crate::store::StoreResult<J::Output> {
        self.0.run(tx).await
    }
}
