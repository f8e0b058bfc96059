//! Settlement: what reconciliation matched moves from each E-Warung's payable account to the
//! program's settlement account, once per date, E-Warung and program; and the payout instruction
//! file the bank pays the E-Warungs from.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    ids::{EwarungId, ProgramId, TransferId},
    money::format_minor,
};

/// One settled (date, E-Warung, program), with where to pay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct SettlementRecord {
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
    pub run_id: uuid::Uuid,
    /// The ledger transfer; none when nothing was owed (refunds ate the day's sales).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub transfer_id: Option<TransferId>,
    /// Matched lines (sales and refunds).
    pub items: i64,
    /// Matched sales less matched refunds, in minor units.
    pub amount_minor: i64,
    pub created_at: DateTime<Utc>,
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

/// One payout line per E-Warung (its programs summed); a net of zero or less pays nothing and is
/// left out.
pub fn write_payout_file(records: &[SettlementRecord], out: impl Write) -> csv::Result<usize> {
    let mut by_ewarung: std::collections::BTreeMap<
        (String, EwarungId),
        (&SettlementRecord, i64, i64),
    > = Default::default();
    for record in records {
        let entry = by_ewarung
            .entry((record.ewarung_name.clone(), record.ewarung_id))
            .or_insert((record, 0, 0));
        entry.1 += record.items;
        entry.2 += record.amount_minor;
    }
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(PAYOUT_HEADER)?;
    let mut lines = 0;
    for (record, items, amount) in by_ewarung.into_values() {
        if amount <= 0 {
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
