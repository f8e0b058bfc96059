//! Reads fetched ahead of a job (see [`LedgerTx::read_ahead`](crate::ledger::LedgerTx::read_ahead)).
//!
//! On PostgreSQL every statement is a round trip, and round trips, not the work behind them,
//! were most of a redemption's cost (docs/benchmarks.md). A job names what it will read; the
//! backend fetches it in one statement and keeps it here; each read then takes its answer from
//! here once, or goes to the database when nothing matching was fetched. Every write forgets
//! everything, so an answer from here is never one the job's own writes would have changed.
//!
//! Answers from here are what a read at the start of the job would have returned. Under READ
//! COMMITTED each statement already sees its own snapshot, so this only moves the reads earlier;
//! what keeps money safe (the overdraft guard in the debit, the unique request key, the share
//! lock on the calendar, which the fetch takes too) is in the writes and did not move.

use chrono::{DateTime, Utc};

use crate::{
    domain::ids::{AccountId, EwarungId, HouseholdId, ProgramId, TransferId},
    ledger::{
        tx::{CardWithHousehold, RedemptionRow, TerminalContext},
        AccountBalance, Transfer,
    },
    store::{CatalogItemRecord, ProgramRecord},
};

/// A request's key: terminal, STAN, terminal-local date.
pub type RequestKey = (String, String, String);

#[derive(Debug, Default)]
pub struct ReadAhead {
    pub clock: Option<DateTime<Utc>>,
    /// The calendar row's cut-off minutes and last closed date.
    pub calendar: Option<(i32, Option<String>)>,
    pub terminal: Option<(String, Option<TerminalContext>)>,
    pub redemption: Option<(RequestKey, Option<RedemptionRow>)>,
    pub card: Option<(Vec<u8>, Option<CardWithHousehold>)>,
    pub entitlements: Option<(HouseholdId, Vec<AccountBalance>)>,
    pub programs: Vec<ProgramRecord>,
    /// Per program: the SKUs asked for and the catalog items found for them.
    pub catalog: Vec<(ProgramId, Vec<String>, Vec<CatalogItemRecord>)>,
    /// E-Warung payable accounts by (program, E-Warung).
    pub payables: Vec<(ProgramId, EwarungId, AccountId)>,
    pub transfers: Vec<Transfer>,
}

impl ReadAhead {
    /// Whether an answer that is given once is still waiting for its read.
    pub fn holds_unread(&self) -> bool {
        self.clock.is_some()
            || self.calendar.is_some()
            || self.terminal.is_some()
            || self.redemption.is_some()
            || self.card.is_some()
            || self.entitlements.is_some()
            || !self.catalog.is_empty()
            || !self.transfers.is_empty()
    }

    /// After a write: nothing fetched before it may answer a read.
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    pub fn clock(&mut self) -> Option<DateTime<Utc>> {
        self.clock.take()
    }

    pub fn calendar(&mut self) -> Option<(i32, Option<String>)> {
        self.calendar.take()
    }

    pub fn terminal(&mut self, terminal_id: &str) -> Option<Option<TerminalContext>> {
        take_if(&mut self.terminal, |id| id == terminal_id)
    }

    pub fn redemption(
        &mut self,
        terminal_id: &str,
        stan: &str,
        local_date: &str,
    ) -> Option<Option<RedemptionRow>> {
        take_if(&mut self.redemption, |(t, s, d)| {
            t == terminal_id && s == stan && d == local_date
        })
    }

    pub fn card(&mut self, pan_hash: &[u8]) -> Option<Option<CardWithHousehold>> {
        take_if(&mut self.card, |fetched| fetched == pan_hash)
    }

    pub fn entitlements(&mut self, household: HouseholdId) -> Option<Vec<AccountBalance>> {
        take_if(&mut self.entitlements, |fetched| *fetched == household)
    }

    /// A program fetched with the entitlements; `None` means not fetched (ask the database), as
    /// a program can exist without this household having an entitlement in it.
    pub fn program(&mut self, matches: impl Fn(&ProgramRecord) -> bool) -> Option<ProgramRecord> {
        self.programs.iter().find(|p| matches(p)).cloned()
    }

    pub fn catalog_items(
        &mut self,
        program: ProgramId,
        skus: &[String],
    ) -> Option<Vec<CatalogItemRecord>> {
        let at = self
            .catalog
            .iter()
            .position(|(p, fetched, _)| *p == program && fetched.as_slice() == skus)?;
        Some(self.catalog.swap_remove(at).2)
    }

    pub fn payable(&mut self, program: ProgramId, ewarung: EwarungId) -> Option<AccountId> {
        self.payables
            .iter()
            .find(|(p, e, _)| *p == program && *e == ewarung)
            .map(|(_, _, id)| *id)
    }

    pub fn transfer(&mut self, id: TransferId) -> Option<Transfer> {
        let at = self.transfers.iter().position(|t| t.id == id)?;
        Some(self.transfers.swap_remove(at))
    }
}

/// Takes the fetched value out when its key matches; leaves it otherwise.
fn take_if<K, V>(slot: &mut Option<(K, V)>, matches: impl Fn(&K) -> bool) -> Option<V> {
    if slot.as_ref().is_some_and(|(key, _)| matches(key)) {
        slot.take().map(|(_, value)| value)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_answer_is_given_once_and_only_for_its_key() {
        let mut ahead = ReadAhead {
            card: Some((b"6001".to_vec(), None)),
            calendar: Some((0, None)),
            ..ReadAhead::default()
        };
        assert!(
            ahead.card(b"6002").is_none(),
            "another card's answer is not this one's"
        );
        assert!(
            matches!(ahead.card(b"6001"), Some(None)),
            "fetched: no such card"
        );
        assert!(
            ahead.card(b"6001").is_none(),
            "given once; the next read asks the database"
        );
        assert_eq!(ahead.calendar(), Some((0, None)));
        assert_eq!(ahead.calendar(), None);
    }

    #[test]
    fn a_plan_shows_neither_card_number_nor_its_hash() {
        let skus = ["BERAS".to_string()];
        let plan = crate::ledger::ReadAheadPlan::Authorize {
            terminal_id: "SMD00001",
            stan: "000001",
            local_date: "2026-11-23",
            pan_hash: b"not a card number",
            skus: &skus,
        };
        let shown = format!("{plan:?}");
        assert!(
            !shown.contains("not a card number"),
            "no hash either: {shown}"
        );
        assert!(
            shown.contains("pan_hash") && shown.contains("SMD00001"),
            "{shown}"
        );
    }

    #[test]
    fn a_write_forgets_everything_fetched() {
        let mut ahead = ReadAhead {
            clock: Some(Utc::now()),
            terminal: Some(("T1".into(), None)),
            ..ReadAhead::default()
        };
        ahead.forget();
        assert!(ahead.clock().is_none());
        assert!(ahead.terminal("T1").is_none());
    }
}
