//! The daily close: what a business date amounted to, per terminal and per E-Warung, the holds
//! still open when it closed, and each terminal's own batch totals against the host's. A close is
//! computed once, stored, and returned unchanged when asked again; from then on nothing lands on
//! that date (see `business_day`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        ids::{EwarungId, UserId},
        money::{Minor, Overflow},
    },
    model::records::{BatchSide, CountAndTotal},
};

/// Counts and totals of what happened on a date (minor units, sen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayTotals {
    /// Purchases completed (receipt printed) on the date.
    pub purchases: CountAndTotal,
    /// Purchases voided on the date: holds cancelled, or completed purchases returned to the card.
    pub voids: CountAndTotal,
    /// Purchases reversed on the date because the terminal never got the answer.
    pub reversals: CountAndTotal,
    /// Holds the terminal never completed, returned to the household by the sweeper.
    pub expired: CountAndTotal,
    /// Of the voids and reversals, those that returned a completed purchase (money back out of
    /// the E-Warung's payable).
    pub refunds: CountAndTotal,
    /// What the E-Warung is owed for the date: purchases less refunds.
    pub net_minor: i64,
}

impl DayTotals {
    /// Adds another terminal's or E-Warung's totals; refused (and `self` left part-added, to be
    /// thrown away) when a total leaves the range of `i64` minor units.
    pub fn add(&mut self, other: &DayTotals) -> Result<(), Overflow> {
        let add = |a: &mut CountAndTotal, b: &CountAndTotal| -> Result<(), Overflow> {
            a.count = a.count.checked_add(b.count).ok_or(Overflow)?;
            a.amount_minor = Minor::new(a.amount_minor)
                .checked_add(Minor::new(b.amount_minor))?
                .get();
            Ok(())
        };
        add(&mut self.purchases, &other.purchases)?;
        add(&mut self.voids, &other.voids)?;
        add(&mut self.reversals, &other.reversals)?;
        add(&mut self.expired, &other.expired)?;
        add(&mut self.refunds, &other.refunds)?;
        self.net_minor = Minor::new(self.net_minor)
            .checked_add(Minor::new(other.net_minor))?
            .get();
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TerminalDay {
    pub terminal_id: String,
    #[schema(value_type = String, format = Uuid)]
    pub ewarung_id: EwarungId,
    #[serde(flatten)]
    pub totals: DayTotals,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EwarungDay {
    #[schema(value_type = String, format = Uuid)]
    pub ewarung_id: EwarungId,
    pub name: String,
    #[serde(flatten)]
    pub totals: DayTotals,
}

/// An approved purchase whose hold was still waiting for the terminal when the date closed. If it
/// completes later, it lands on a later date.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct OpenHold {
    pub terminal_id: String,
    pub stan: String,
    pub local_date: String,
    pub rrn: Option<String>,
    pub amount_minor: i64,
    pub business_date: String,
    pub authorized_at: DateTime<Utc>,
}

/// How a terminal's batch totals for the date compare with the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchTotalsStatus {
    /// Purchases and refunds agree.
    Matched,
    /// They differ: recorded and reported, never accepted silently.
    Mismatch,
    /// The terminal had activity but sent no batch totals for the date.
    Missing,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchComparison {
    pub terminal_id: String,
    pub status: BatchTotalsStatus,
    /// The terminal's latest submission for the date.
    pub terminal: Option<BatchSide>,
    /// The host's figures for the same terminal and date, at close.
    pub host: BatchSide,
    pub received_at: Option<DateTime<Utc>>,
}

/// A closed business date, as reported at close and every time after.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DayClose {
    pub business_date: String,
    pub closed_at: DateTime<Utc>,
    #[schema(value_type = String, format = Uuid)]
    pub closed_by: UserId,
    /// The cut-off in force (WITA, HH:MM).
    pub cutoff: String,
    pub totals: DayTotals,
    pub ewarungs: Vec<EwarungDay>,
    pub terminals: Vec<TerminalDay>,
    pub open_holds: Vec<OpenHold>,
    pub batch_totals: Vec<BatchComparison>,
}

impl DayClose {
    /// Terminals whose batch totals disagree with the host or never arrived.
    pub fn batch_problems(&self) -> impl Iterator<Item = &BatchComparison> {
        self.batch_totals
            .iter()
            .filter(|c| c.status != BatchTotalsStatus::Matched)
    }
}
