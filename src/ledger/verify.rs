//! `ssn ledger verify`: every balance recomputed from the transfers and every invariant checked.
//! A violation names the account (or transfer, or purchase) and the rule it breaks.

use serde::Serialize;

/// One broken rule.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Violation {
    /// `balance_mismatch`, `overdraft`, `unbalanced_program`, `hold_resolved_twice`,
    /// `post_exceeds_hold`, `resolution_mismatch`, `foreign_account`, `purchase_state`,
    /// `refunded_twice`, `purchase_lines` (an approved purchase's lines do not add up to its
    /// amount), `settlement_sum`, `settlement_transfer`, `out_of_range` (an account's sums do not
    /// fit in 64 bits).
    pub rule: &'static str,
    /// The account, transfer, program or purchase concerned.
    pub subject: String,
    pub detail: String,
}

/// What the check looked at and what it found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LedgerCheck {
    pub accounts: i64,
    pub transfers: i64,
    pub violations: Vec<Violation>,
}

impl LedgerCheck {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// An account's stored totals next to the totals its transfers add up to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecomputedAccount {
    pub id: crate::domain::ids::AccountId,
    pub kind: String,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
    pub sum_debits_pending: i64,
    pub sum_debits_posted: i64,
    pub sum_credits_pending: i64,
    pub sum_credits_posted: i64,
}

impl RecomputedAccount {
    /// The per-account rules: stored equals recomputed; no overdraft where balances must not go
    /// below zero (holds counted).
    pub fn violations(&self) -> Vec<Violation> {
        let mut found = Vec::new();
        let stored = (
            self.debits_pending,
            self.debits_posted,
            self.credits_pending,
            self.credits_posted,
        );
        let summed = (
            self.sum_debits_pending,
            self.sum_debits_posted,
            self.sum_credits_pending,
            self.sum_credits_posted,
        );
        if stored != summed {
            found.push(Violation {
                rule: "balance_mismatch",
                subject: format!("account {} ({})", self.id, self.kind),
                detail: format!(
                    "stored (debits pending, posted; credits pending, posted) = {stored:?}, transfers add up to {summed:?}"
                ),
            });
        }
        let guarded = matches!(self.kind.as_str(), "entitlement" | "ewarung_payable");
        let debits = self.sum_debits_pending.checked_add(self.sum_debits_posted);
        if debits.is_none() {
            found.push(Violation {
                rule: "out_of_range",
                subject: format!("account {} ({})", self.id, self.kind),
                detail: format!(
                    "debits pending {} + posted {} do not fit in 64 bits",
                    self.sum_debits_pending, self.sum_debits_posted
                ),
            });
        }
        if guarded && debits.is_some_and(|debits| debits > self.sum_credits_posted) {
            found.push(Violation {
                rule: "overdraft",
                subject: format!("account {} ({})", self.id, self.kind),
                detail: format!(
                    "debits pending {} + posted {} exceed credits posted {}",
                    self.sum_debits_pending, self.sum_debits_posted, self.sum_credits_posted
                ),
            });
        }
        found
    }
}
