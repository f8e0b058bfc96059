//! Settlement: what the date's authoritative reconciliation run matched moves from each E-Warung's
//! payable account to the program's settlement account; and the payout instruction file the bank
//! pays the E-Warungs from.
//!
//! A date may be reconciled more than once (a partial file, then the complete one; a corrected
//! file), so settling pays differences: each settle compares what the authoritative run matched
//! with what earlier entries settled, and posts the difference as a new entry and a new transfer.
//! A run that matches less than was paid gives a negative entry: a transfer back from settlement to
//! the payable, and a negative line in the payout file (recovered from the E-Warung). Nothing
//! already settled is ever edited.

pub mod review;

use std::{collections::BTreeMap, io::Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    ids::{EwarungId, ProgramId, TransferId},
    money::{format_minor, Minor},
};

/// One settlement entry of a (date, E-Warung, program), with where to pay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct SettlementRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub business_date: String,
    #[schema(value_type = String, format = Uuid)]
    pub ewarung_id: EwarungId,
    pub ewarung_name: String,
    pub bank_code: String,
    pub bank_account_number: String,
    pub bank_account_holder: String,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: ProgramId,
    pub program_code: String,
    /// The reconciliation run this entry settled against.
    pub run_id: uuid::Uuid,
    /// The ledger transfer; none when nothing moved.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub transfer_id: Option<TransferId>,
    /// Matched lines (sales and refunds) in the run.
    pub items: i64,
    /// Matched sales less matched refunds in the run, never below zero, in minor units.
    pub matched_minor: i64,
    /// What earlier entries of the same date, E-Warung and program had settled.
    pub settled_before_minor: i64,
    /// This entry: `matched_minor - settled_before_minor`. Negative is an adjustment recovered
    /// from the E-Warung.
    pub amount_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// What one settle did, and where the date stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SettlementOutcome {
    pub business_date: String,
    /// The authoritative run settled against.
    pub run_id: uuid::Uuid,
    /// The entries this call posted (empty when everything was already settled); the payout file
    /// is made from these.
    pub posted: Vec<SettlementRecord>,
    /// Every entry of the date, oldest first.
    pub entries: Vec<SettlementRecord>,
}

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

pub const PAYOUT_HEADER: [&str; 8] = [
    "business_date",
    "ewarung_id",
    "ewarung_name",
    "bank_code",
    "bank_account_number",
    "bank_account_holder",
    "count",
    "net_amount_idr",
];

/// One payout line per E-Warung (its programs summed) for the entries one settle posted. A
/// positive net is paid; a negative one is an adjustment the bank recovers from the E-Warung; a
/// net of zero is left out.
pub fn write_payout_file(records: &[SettlementRecord], out: impl Write) -> csv::Result<usize> {
    type Line<'a> = (&'a SettlementRecord, i64, Minor);
    let mut by_ewarung: BTreeMap<(String, EwarungId), Line<'_>> = BTreeMap::new();
    for record in records {
        let line = by_ewarung
            .entry((record.ewarung_name.clone(), record.ewarung_id))
            .or_insert((record, 0, Minor::ZERO));
        line.1 = line.1.saturating_add(record.items);
        line.2 = line
            .2
            .checked_add(Minor::new(record.amount_minor))
            .map_err(|overflow| std::io::Error::other(overflow.to_string()))?;
    }
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(PAYOUT_HEADER)?;
    let mut lines = 0;
    for (record, items, amount) in by_ewarung.into_values() {
        let amount = amount.get();
        if amount == 0 {
            continue;
        }
        csv.write_record([
            record.business_date.as_str(),
            &record.ewarung_id.to_string(),
            &record.ewarung_name,
            &record.bank_code,
            &record.bank_account_number,
            &record.bank_account_holder,
            &items.to_string(),
            &format_minor(amount),
        ])?;
        lines += 1;
    }
    csv.flush()?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

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
