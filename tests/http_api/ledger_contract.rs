//! The ledger's contract, the same cases on both engines: a transfer moves value whole or not
//! at all (`ssn::ledger::contract`). Each case is one transaction through the real store
//! (`store::run_job`); a refusal moves nothing, an error rolls the whole transaction back, and
//! the ledger verifies after each.

use async_trait::async_trait;
use ssn::{
    domain::ids::{AccountId, EwarungId, HouseholdId, TransferId},
    ledger::{tx::AccountOwner, AccountKind, LedgerJob, LedgerTx, Transfer, TransferKind},
    store::{run_job, StoreError, StoreResult},
};

use crate::common::*;

#[derive(Debug, Clone, Copy)]
enum Case {
    /// A hold of one sen more than the balance.
    Overdraft,
    /// A hold, its post, and a second post of the same hold.
    ResolvingTwice,
    /// A hold of 1,000 posted as 1,001.
    PostingMoreThanHeld,
    /// A hold whose credit account does not exist.
    MissingCreditAccount,
    /// A hold from an account that does not exist.
    MissingDebitAccount,
    /// A hold of the largest amount there is.
    LargestAmount,
    /// A hold of nothing.
    ZeroAmount,
}

struct Run {
    case: Case,
    household: HouseholdId,
    ewarung: EwarungId,
}

/// What each transfer of the case answered, in order.
type Answers = Vec<bool>;

#[async_trait]
impl LedgerJob for Run {
    type Output = Answers;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Answers> {
        let entitlement = tx.entitlements(self.household).await?[0];
        let program = entitlement.program_id;
        let payable = tx
            .ensure_account(
                AccountKind::EwarungPayable,
                program,
                AccountOwner::Ewarung(self.ewarung),
            )
            .await?;
        let now = tx.db_now().await?;
        let hold = |amount: i64, debit: AccountId, credit: AccountId| Transfer {
            id: TransferId::new(),
            program_id: program,
            debit_account_id: debit,
            credit_account_id: credit,
            amount_minor: amount,
            kind: TransferKind::Hold,
            pending_id: None,
            timeout_at: Some(now + chrono::Duration::seconds(120)),
            reference: "contract-test".into(),
            created_at: now,
        };
        let available = entitlement.available().expect("in range");
        let nowhere = AccountId(uuid::Uuid::new_v4());
        let mut answers = Vec::new();
        match self.case {
            Case::Overdraft => {
                let too_much = hold(available + 1, entitlement.id, payable);
                answers.push(tx.apply_transfer(&too_much).await?);
            }
            Case::ResolvingTwice => {
                let held = hold(1_000, entitlement.id, payable);
                answers.push(tx.apply_transfer(&held).await?);
                for _ in 0..2 {
                    let post = Transfer::resolving(&held, TransferKind::Post, "post".into(), now);
                    answers.push(tx.apply_transfer(&post).await?);
                }
            }
            Case::PostingMoreThanHeld => {
                let held = hold(1_000, entitlement.id, payable);
                answers.push(tx.apply_transfer(&held).await?);
                let mut post = Transfer::resolving(&held, TransferKind::Post, "post".into(), now);
                post.amount_minor = 1_001;
                answers.push(tx.apply_transfer(&post).await?);
            }
            Case::MissingCreditAccount => {
                answers.push(
                    tx.apply_transfer(&hold(1_000, entitlement.id, nowhere))
                        .await?,
                );
            }
            Case::MissingDebitAccount => {
                answers.push(tx.apply_transfer(&hold(1_000, nowhere, payable)).await?);
            }
            Case::LargestAmount => {
                answers.push(
                    tx.apply_transfer(&hold(i64::MAX, entitlement.id, payable))
                        .await?,
                );
            }
            Case::ZeroAmount => {
                answers.push(tx.apply_transfer(&hold(0, entitlement.id, payable)).await?);
            }
        }
        Ok(answers)
    }
}

async fn the_same_contract_holds_on_both_engines(app: TestApp) {
    let office = app.login("dinsos").await;
    let household = HouseholdId(
        app.household_id(&office, DEMO_KKS[0])
            .await
            .parse()
            .unwrap(),
    );
    let ewarung = EwarungId(
        app.ewarung_id(&office, "E-Warung Berkah")
            .await
            .parse()
            .unwrap(),
    );
    let store = app.app_state.store.clone();
    let run = |case| {
        run_job(
            store.as_ref(),
            Run {
                case,
                household,
                ewarung,
            },
        )
    };
    let transfers = app.count("transfers").await;
    // Refused whole: nothing moves, nothing is written.
    assert_eq!(run(Case::Overdraft).await.unwrap(), [false]);
    assert_eq!(run(Case::LargestAmount).await.unwrap(), [false]);
    assert_eq!(app.count("transfers").await, transfers);
    // A hold resolves once: the second post is refused.
    assert_eq!(
        run(Case::ResolvingTwice).await.unwrap(),
        [true, true, false]
    );
    assert_eq!(app.count("transfers").await, transfers + 2);
    app.assert_ledger_clean().await;
    // Broken rules are errors that roll the whole transaction back (its hold too).
    let check = |result: StoreResult<Answers>, rule: &str| match result {
        Err(StoreError::Check { constraint }) => assert_eq!(constraint, rule),
        other => panic!("{rule}: {other:?}"),
    };
    check(
        run(Case::PostingMoreThanHeld).await,
        "transfers_post_within_hold",
    );
    // An account that does not exist is a defect on both sides, never a refusal.
    check(
        run(Case::MissingCreditAccount).await,
        "transfers_accounts_exist",
    );
    check(
        run(Case::MissingDebitAccount).await,
        "transfers_accounts_exist",
    );
    assert!(run(Case::ZeroAmount).await.is_err());
    assert_eq!(app.count("transfers").await, transfers + 2);
    app.assert_ledger_clean().await;
}

crate::on_both_backends!(the_same_contract_holds_on_both_engines);
