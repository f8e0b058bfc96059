//! Posting an approved quota batch: maker-checker, then every creditable line loaded from the
//! program's funding account onto the household's entitlement, in one transaction or not at all.
//! The rules are here; each step is one set statement of the store's over the batch's lines.

use async_trait::async_trait;
use serde_json::json;

use crate::{
    domain::ids::{QuotaBatchId, UserId},
    ledger::{tx::AccountOwner, AccountKind, TransferKind},
    model::quota::BatchReport,
    store::{
        run_quota_posting_job, QuotaPostingJob, QuotaPostingTx, Store, StoreError, StoreResult,
    },
};

/// Tries of a posting that lost a race with another transaction (PostgreSQL's serialization
/// failures and deadlocks; SQLite's writer never loses one).
const ATTEMPTS: u32 = 4;

/// Maker-checker approval of a validated batch by `approver` (never its uploader): posts every
/// creditable line, or nothing.
pub async fn approve(
    store: &dyn Store,
    batch: QuotaBatchId,
    approver: UserId,
) -> StoreResult<BatchReport> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match run_quota_posting_job(store, Post { batch, approver }).await {
            Err(error) if error.is_retryable() && attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

struct Post {
    batch: QuotaBatchId,
    approver: UserId,
}

#[async_trait]
impl QuotaPostingJob for Post {
    type Output = BatchReport;

    async fn run(&self, tx: &mut dyn QuotaPostingTx) -> StoreResult<BatchReport> {
        let batch = self.batch;
        let not_found = || StoreError::NotFound {
            entity: "quota batch",
        };
        let record = tx.batch(batch).await?.ok_or_else(not_found)?;
        if record.uploaded_by == self.approver {
            return Err(StoreError::SameApprover(
                "a batch must be approved by a different office user than the one who uploaded it",
            ));
        }
        let now = crate::store::now();
        // Claimed first: a second approval of the same batch finds it posted and stops here.
        if !tx.mark_posted(batch, self.approver, now).await? {
            return Err(StoreError::StateConflict {
                entity: "quota batch",
                actual: record.status.to_string(),
            });
        }
        // Outcomes are decided again now: the registry may have changed since the upload.
        tx.classify_lines(batch).await?;
        for program in tx.credited_programs(batch).await? {
            let mut ledger = tx.ledger().await?;
            ledger
                .ensure_account(AccountKind::ProgramFunding, program, AccountOwner::Program)
                .await?;
        }
        tx.open_entitlements(batch, now).await?;
        // Funding runs "negative" by what is out on cards; entitlements gain the lines.
        tx.insert_transfers(
            batch,
            TransferKind::QuotaLoad,
            AccountKind::ProgramFunding,
            AccountKind::Entitlement,
            now,
        )
        .await?;
        tx.record_credits(batch).await?;
        tx.add_transfers_to_balances(batch).await?;
        tx.keep_outcomes(batch).await?;
        let report = tx.report(batch).await?.ok_or_else(not_found)?;
        let credited = report.outcomes.iter().find(|o| o.outcome == "credited");
        let detail = json!({
            "credited_rows": credited.map_or(0, |o| o.rows),
            "credited_minor": credited.map_or(0, |o| o.amount_minor),
        });
        tx.audit(
            self.approver,
            "quota.posted",
            ("quota_batch", batch.to_string()),
            detail,
        )
        .await?;
        Ok(report)
    }
}
