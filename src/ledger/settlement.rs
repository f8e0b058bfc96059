//! What a date owes each E-Warung: the authoritative run's match against what earlier entries
//! settled (`differences`), and which way a difference's transfer goes (`transfer_for`). Pure
//! rules; the settle job of the settlement service runs them in the date's transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{
    domain::ids::{AccountId, EwarungId, ProgramId, TransferId},
    ledger::{Transfer, TransferKind},
};

/// What one (E-Warung, program) needs now: the run's match against what is already settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difference {
    pub ewarung_id: EwarungId,
    pub program_id: ProgramId,
    pub items: i64,
    pub matched_minor: i64,
    pub settled_before_minor: i64,
    /// Whether any entry exists yet (a first settle records a zero match too).
    pub has_entries: bool,
}

impl Difference {
    pub fn amount_minor(&self) -> Option<i64> {
        self.matched_minor.checked_sub(self.settled_before_minor)
    }

    /// Whether settling now has something to record.
    pub fn needs_entry(&self) -> bool {
        self.amount_minor() != Some(0) || !self.has_entries
    }
}

/// Pairs the run's payables `(E-Warung, program, items, matched)` with what earlier entries
/// settled `(E-Warung, program, settled)`: every pair either side names, in a fixed order. A
/// negative match (refunds of the date above its sales) pays nothing: those refunds already left
/// the payable when they happened.
pub fn differences(
    matched: &[(EwarungId, ProgramId, i64, i64)],
    settled: &[(EwarungId, ProgramId, i64)],
) -> Vec<Difference> {
    let mut by_key: BTreeMap<(EwarungId, ProgramId), Difference> = BTreeMap::new();
    fn entry(
        by_key: &mut BTreeMap<(EwarungId, ProgramId), Difference>,
        ewarung_id: EwarungId,
        program_id: ProgramId,
    ) -> &mut Difference {
        by_key
            .entry((ewarung_id, program_id))
            .or_insert(Difference {
                ewarung_id,
                program_id,
                items: 0,
                matched_minor: 0,
                settled_before_minor: 0,
                has_entries: false,
            })
    }
    for &(ewarung, program, items, amount) in matched {
        let difference = entry(&mut by_key, ewarung, program);
        difference.items = items;
        difference.matched_minor = amount.max(0);
    }
    for &(ewarung, program, amount) in settled {
        let difference = entry(&mut by_key, ewarung, program);
        difference.settled_before_minor = amount;
        difference.has_entries = true;
    }
    by_key.into_values().collect()
}

/// The transfer that settles `amount_minor` (non-zero) of `difference`: a positive difference
/// pays the kiosk (its payable to the program's settlement account); a negative one takes back
/// what an earlier run paid and this one no longer matches (the other way). `None` when the
/// amount is zero or its magnitude does not fit.
pub fn transfer_for(
    difference: &Difference,
    amount_minor: i64,
    payable: AccountId,
    settlement: AccountId,
    reference: String,
    at: DateTime<Utc>,
) -> Option<Transfer> {
    let (debit, credit) = match amount_minor.signum() {
        1 => (payable, settlement),
        -1 => (settlement, payable),
        _ => return None,
    };
    Some(Transfer {
        id: TransferId::new(),
        program_id: difference.program_id,
        debit_account_id: debit,
        credit_account_id: credit,
        amount_minor: amount_minor.checked_abs()?,
        kind: TransferKind::Settlement,
        pending_id: None,
        timeout_at: None,
        reference,
        created_at: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_pays_the_kiosk_or_takes_back_and_never_moves_nothing() {
        let difference = Difference {
            ewarung_id: EwarungId::new(),
            program_id: ProgramId::new(),
            items: 1,
            matched_minor: 0,
            settled_before_minor: 0,
            has_entries: false,
        };
        let (payable, settlement) = (AccountId::new(), AccountId::new());
        let at = Utc::now();
        let pay = transfer_for(&difference, 500, payable, settlement, "r".into(), at).unwrap();
        assert_eq!(
            (
                pay.debit_account_id,
                pay.credit_account_id,
                pay.amount_minor
            ),
            (payable, settlement, 500)
        );
        let back = transfer_for(&difference, -500, payable, settlement, "r".into(), at).unwrap();
        assert_eq!(
            (
                back.debit_account_id,
                back.credit_account_id,
                back.amount_minor
            ),
            (settlement, payable, 500)
        );
        assert!(transfer_for(&difference, 0, payable, settlement, "r".into(), at).is_none());
        assert!(transfer_for(&difference, i64::MIN, payable, settlement, "r".into(), at).is_none());
    }

    #[test]
    fn differences_pair_both_sides_and_pay_only_what_is_new() {
        let (a, b) = (EwarungId::new(), EwarungId::new());
        let program = ProgramId::new();
        let matched = [(a, program, 3, 30_000), (b, program, 1, -5_000)];
        let settled = [(a, program, 10_000)];
        let found = differences(&matched, &settled);
        let of = |e| found.iter().find(|d| d.ewarung_id == e).unwrap();
        assert_eq!(of(a).amount_minor(), Some(20_000));
        assert!(of(a).needs_entry());
        assert_eq!(of(b).matched_minor, 0, "a negative day pays nothing");
        assert!(of(b).needs_entry(), "a first settle records the zero");

        let again = differences(&matched, &[(a, program, 30_000), (b, program, 0)]);
        assert!(again.iter().all(|d| !d.needs_entry()), "{again:?}");

        let less = differences(&[(a, program, 2, 25_000)], &[(a, program, 30_000)]);
        assert_eq!(less[0].amount_minor(), Some(-5_000));
        let gone = differences(&[], &[(a, program, 30_000)]);
        assert_eq!(
            gone[0].amount_minor(),
            Some(-30_000),
            "a run without the kiosk takes it all back"
        );
    }
}
