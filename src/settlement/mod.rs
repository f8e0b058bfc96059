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

pub mod settle;

// The rules and records live below the store (which reads and writes them); here under their
// service's name too.
pub use crate::ledger::settlement_review as review;
pub use crate::model::settlement::{SettlementOutcome, SettlementRecord};
pub use settle::settle;

use std::{collections::BTreeMap, io::Write};

use crate::domain::{
    ids::EwarungId,
    money::{format_minor, Minor},
};

pub const PAYOUT_HEADER: [&str; 9] = [
    "business_date",
    "ewarung_id",
    "ewarung_name",
    "bank_code",
    "bank_account_number",
    "bank_account_holder",
    "count",
    "net_amount_idr",
    "audit_head",
];

/// One payout line per E-Warung (its programs summed) for the entries one settle posted. A
/// positive net is paid; a negative one is an adjustment the bank recovers from the E-Warung; a
/// net of zero is left out. Every line carries the date's signed audit head (empty when there is
/// none yet), so the bank keeps a copy of it.
pub fn write_payout_file(
    records: &[SettlementRecord],
    audit_head: Option<&str>,
    out: impl Write,
) -> csv::Result<usize> {
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
            audit_head.unwrap_or(""),
        ])?;
        lines += 1;
    }
    csv.flush()?;
    Ok(lines)
}
