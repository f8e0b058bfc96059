//! The settle job: in one transaction on the bank's day, what the date's authoritative run
//! matched is compared with what earlier entries settled, and each difference becomes an entry
//! and (when not zero) a transfer between the E-Warung's payable and the program's settlement
//! account. The rules are here and in `ledger::settlement`; the store only reads and writes.

use async_trait::async_trait;

use crate::{
    domain::{ids::UserId, money::format_minor},
    ledger::{
        settlement::{differences, transfer_for},
        tx::AccountOwner,
        AccountKind,
    },
    model::settlement::{NewSettlementEntry, SettlementOutcome},
    store::{run_day_job, DayJob, DayTx, Store, StoreError, StoreResult},
};

/// Settles the difference between what `date`'s authoritative run matched and what was settled
/// before, per E-Warung and program; settling again with nothing new posts nothing.
pub async fn settle(
    store: &dyn Store,
    date: chrono::NaiveDate,
    actor: UserId,
) -> StoreResult<SettlementOutcome> {
    run_day_job(
        store,
        Settle {
            business_date: crate::business_day::format_date(date),
            actor,
        },
    )
    .await
}

struct Settle {
    business_date: String,
    actor: UserId,
}

fn refused(code: &'static str, message: String) -> StoreError {
    StoreError::Refused { code, message }
}

#[async_trait]
impl DayJob for Settle {
    type Output = SettlementOutcome;

    async fn run(&self, tx: &mut dyn DayTx) -> StoreResult<SettlementOutcome> {
        let date = self.business_date.as_str();
        if !tx.is_closed(date).await? {
            return Err(refused(
                "business_date_not_closed",
                format!("{date} is not closed yet"),
            ));
        }
        // First, so that a run finishing meanwhile or a second settle waits for this one.
        let Some(run) = tx.lock_authority(date).await? else {
            return Err(match tx.pending_review(date).await? {
                Some(waiting) => refused(
                    "review_pending",
                    format!("{date}'s only reconciliation run ({waiting}) waits for a second bank user's confirmation"),
                ),
                None => refused(
                    "not_reconciled",
                    format!("{date} has no reconciliation run; run one with the bank's file first"),
                ),
            });
        };
        let matched: Vec<_> = tx
            .payables(run)
            .await?
            .into_iter()
            .map(|p| (p.ewarung_id, p.program_id, p.items, p.amount_minor))
            .collect();
        let settled = tx.settled(date).await?;
        let now = crate::store::now();
        let mut posted = Vec::new();
        for difference in differences(&matched, &settled) {
            if !difference.needs_entry() {
                continue;
            }
            let (ewarung, program) = (difference.ewarung_id, difference.program_id);
            let overflow = || {
                refused(
                    "amount_out_of_range",
                    format!("the settlement of {date} for E-Warung {ewarung} overflows"),
                )
            };
            let amount = difference.amount_minor().ok_or_else(overflow)?;
            let transfer_id = if amount == 0 {
                None
            } else {
                let mut ledger = tx.ledger().await?;
                let payable = ledger
                    .ensure_account(
                        AccountKind::EwarungPayable,
                        program,
                        AccountOwner::Ewarung(ewarung),
                    )
                    .await?;
                let settlement = ledger
                    .ensure_account(AccountKind::Settlement, program, AccountOwner::Program)
                    .await?;
                let reference = format!("settlement:{date}:{ewarung}");
                let transfer =
                    transfer_for(&difference, amount, payable, settlement, reference, now)
                        .ok_or_else(overflow)?;
                if !ledger.apply_transfer(&transfer).await? {
                    return Err(refused(
                        "payable_short",
                        format!(
                            "E-Warung {ewarung}'s payable holds less than the {} matched for {date}",
                            format_minor(amount)
                        ),
                    ));
                }
                Some(transfer.id)
            };
            let entry = NewSettlementEntry {
                id: uuid::Uuid::now_v7(),
                business_date: date.to_string(),
                ewarung_id: ewarung,
                program_id: program,
                run_id: run,
                transfer_id,
                items: difference.items,
                matched_minor: difference.matched_minor,
                settled_before_minor: difference.settled_before_minor,
                amount_minor: amount,
                created_by: self.actor,
                created_at: now,
            };
            tx.insert_settlement_entry(&entry).await?;
            let detail = serde_json::json!({ "business_date": date, "program_id": program, "run_id": run,
                "items": difference.items, "matched_minor": difference.matched_minor,
                "settled_before_minor": difference.settled_before_minor, "amount_minor": amount,
                "transfer_id": transfer_id });
            tx.audit(
                self.actor,
                "settlement.posted",
                ("ewarung", ewarung.to_string()),
                detail,
            )
            .await?;
            posted.push(entry.id);
        }
        let entries = tx.settlement_entries(date).await?;
        Ok(SettlementOutcome {
            business_date: date.to_string(),
            run_id: run,
            posted: entries
                .iter()
                .filter(|e| posted.contains(&e.id))
                .cloned()
                .collect(),
            entries,
            audit_head: None,
        })
    }
}
