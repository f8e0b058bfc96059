//! Account and transfer kinds, and the balance arithmetic every check shares.

use serde::Serialize;

use crate::{
    domain::ids::{AccountId, EwarungId, HouseholdId, ProgramId},
    string_enum,
};

string_enum!(
    /// What an account holds. Program funding is the source of every rupiah a program loads (it
    /// runs "negative": its debits exceed its credits by what is out on cards); settlement is where
    /// the bank's payouts to E-Warungs land.
    AccountKind, "invalid_account_kind", {
        ProgramFunding => "program_funding",
        Entitlement => "entitlement",
        EwarungPayable => "ewarung_payable",
        Settlement => "settlement",
    }
);

string_enum!(
    /// Why a transfer exists. `Hold` is pending; `Post`, `Void` and `HoldExpired` resolve a hold;
    /// the rest are posted at once.
    TransferKind, "invalid_transfer_kind", {
        QuotaLoad => "quota_load",
        Hold => "hold",
        Post => "post",
        Void => "void",
        HoldExpired => "hold_expired",
        Refund => "refund",
        Expiry => "expiry",
        Settlement => "settlement",
    }
);

impl TransferKind {
    /// Kinds that move posted value by themselves (a `Post` moves posted value too, but takes its
    /// accounts from the hold it resolves).
    pub const POSTED_DIRECTLY: &'static [TransferKind] = &[
        TransferKind::QuotaLoad,
        TransferKind::Refund,
        TransferKind::Expiry,
        TransferKind::Settlement,
    ];
}

/// One account's four running totals, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct AccountBalance {
    pub id: AccountId,
    pub program_id: ProgramId,
    pub household_id: Option<HouseholdId>,
    pub ewarung_id: Option<EwarungId>,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl AccountBalance {
    /// What a household can still spend: loaded, minus spent, minus held for purchases in flight.
    /// `None` if the totals are out of range (they never are while the ledger's rules hold: the
    /// caller treats it as a failure, never as a balance).
    pub fn available(&self) -> Option<i64> {
        self.credits_posted
            .checked_sub(self.debits_posted)?
            .checked_sub(self.debits_pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balance(credits_posted: i64, debits_posted: i64, debits_pending: i64) -> AccountBalance {
        AccountBalance {
            id: AccountId(uuid::Uuid::nil()),
            program_id: ProgramId(uuid::Uuid::nil()),
            household_id: None,
            ewarung_id: None,
            debits_pending,
            debits_posted,
            credits_pending: 0,
            credits_posted,
        }
    }

    #[test]
    fn available_is_checked_arithmetic() {
        assert_eq!(balance(1_000, 300, 200).available(), Some(500));
        assert_eq!(balance(i64::MIN, 1, 0).available(), None);
        assert_eq!(balance(0, i64::MIN, 0).available(), None);
    }
}
