//! What a beneficiary sees of their own household at `/saldo`, with the card number and PIN and
//! no account: balance per program, the last purchases, the latest and next quota, what expires
//! when, and who the household is. The PIN is checked exactly as at a terminal (the same count
//! of wrong PINs and lock-out); an unknown card, a wrong PIN, a locked or unusable card and a
//! household that may not spend all answer alike, so the page reveals nothing about whether a
//! card number exists beyond what a wrong PIN at a terminal does.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::{
    cards::Cards,
    domain::{expiry::next_month_start, pan::Pan, pin::Pin},
    model::views::{HouseholdPurchase, QuotaCredit},
    store::{Store, StoreError},
};

/// Why no statement was shown.
#[derive(Debug, thiserror::Error)]
pub enum SaldoError {
    /// Unknown card, wrong PIN, locked or unusable card: one answer for all.
    #[error("the card number or the PIN is wrong, or the card cannot be used")]
    Refused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One program's figures for the household.
#[derive(Debug, Clone)]
pub struct ProgramStatement {
    pub code: String,
    pub name: String,
    /// What the household can spend now.
    pub available_minor: i64,
    /// Held by purchases not yet completed at the kiosk.
    pub held_minor: i64,
    /// The latest quota loaded: its period (`YYYY-MM`) and amount.
    pub last_quota: Option<(String, i64)>,
    /// The period the next monthly quota is for.
    pub next_period: String,
    /// Value that expires at the start of the next month if not spent before: when, how much.
    pub expiring: Option<(NaiveDate, i64)>,
    /// Months a quota stays spendable after its own month.
    pub carry_over_months: i32,
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Statement {
    pub household_id: crate::domain::ids::HouseholdId,
    pub card_id: crate::domain::ids::CardId,
    pub head_name: String,
    pub card_last4: String,
    pub programs: Vec<ProgramStatement>,
    pub purchases: Vec<HouseholdPurchase>,
    /// Who may buy for the household with a card of their own today: name, last valid day.
    pub representatives: Vec<(String, NaiveDate)>,
}

/// Purchases shown.
const PURCHASES_SHOWN: u32 = 10;

/// The household's statement for the holder of `pan` and `pin`.
pub async fn statement(
    store: &dyn Store,
    cards: &Cards,
    pan: &Pan,
    pin: &Pin,
    now: DateTime<Utc>,
) -> Result<Statement, SaldoError> {
    let Some(card) = cards.find_by_number(pan).await.map_err(store_error)? else {
        // No card: nothing is counted, and the answer is a wrong PIN's.
        return Err(SaldoError::Refused);
    };
    if !card.status.can_transact() {
        return Err(SaldoError::Refused);
    }
    match cards.check_pin(&card, pin).await.map_err(store_error)? {
        Ok(()) => {}
        Err(_) => return Err(SaldoError::Refused),
    }
    let household = store
        .get_household(card.household_id)
        .await?
        .ok_or(SaldoError::Refused)?;
    if household.status == crate::domain::household::HouseholdStatus::Exited {
        return Err(SaldoError::Refused);
    }
    let today = crate::business_day::local_today(now);
    let active = crate::domain::representative::RepresentativeStatus::Active;
    let representatives = store
        .representatives()
        .list_representatives(household.id)
        .await?;
    // A representative's card works here only while it works at the terminal.
    if let Some(own) = card.representative_id {
        let valid = representatives
            .iter()
            .any(|r| r.id == own && r.status_on(today) == active);
        if !valid {
            return Err(SaldoError::Refused);
        }
    }
    let representatives = representatives
        .into_iter()
        .filter(|r| r.status_on(today) == active)
        .filter_map(|r| {
            let until = NaiveDate::parse_from_str(&r.valid_until, "%Y-%m-%d").ok()?;
            Some((r.name, until))
        })
        .collect();
    let views = store.views();
    let balances = views.household_balances(household.id).await?;
    let credits = views.household_quota_credits(household.id).await?;
    let mut programs = Vec::new();
    for balance in balances {
        let Some(program) = store.find_program_by_code(&balance.program_code).await? else {
            continue;
        };
        let mine: Vec<&QuotaCredit> = credits
            .iter()
            .filter(|credit| credit.program_code == balance.program_code)
            .collect();
        let last_quota = mine
            .iter()
            .max_by(|a, b| a.period.cmp(&b.period))
            .map(|credit| (credit.period.clone(), credit.amount_minor));
        programs.push(ProgramStatement {
            next_period: next_period(last_quota.as_ref().map(|(p, _)| p.as_str()), today),
            expiring: expiring(
                balance.available_minor,
                &mine,
                program.carry_over_months,
                today,
            ),
            code: balance.program_code,
            name: balance.program_name,
            available_minor: balance.available_minor,
            held_minor: balance.held_minor,
            last_quota,
            carry_over_months: program.carry_over_months,
        });
    }
    Ok(Statement {
        household_id: household.id,
        card_id: card.id,
        head_name: household.head_name,
        card_last4: card.pan_last4,
        programs,
        purchases: views
            .household_purchases(household.id, PURCHASES_SHOWN)
            .await?,
        representatives,
    })
}

fn store_error(error: crate::cards::CardError) -> SaldoError {
    match error {
        crate::cards::CardError::Store(store) => SaldoError::Store(store),
        _ => SaldoError::Refused,
    }
}

/// The period after the latest one loaded, or this month's when none was (`YYYY-MM`).
fn next_period(last: Option<&str>, today: NaiveDate) -> String {
    let this_month = format!("{:04}-{:02}", today.year(), today.month());
    let after_last = last.and_then(|period| {
        let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
        let next = next_month_start(first);
        Some(format!("{:04}-{:02}", next.year(), next.month()))
    });
    match after_last {
        Some(next) if next > this_month => next,
        _ => this_month,
    }
}

/// What the next expiry run (at the start of next month) takes if nothing more is spent: the
/// balance above the credits of the periods that still count then (the ledger's own rule,
/// `LedgerStore::expire_entitlements`).
fn expiring(
    available: i64,
    credits: &[&QuotaCredit],
    carry_over_months: i32,
    today: NaiveDate,
) -> Option<(NaiveDate, i64)> {
    let on = next_month_start(today);
    let cutoff = crate::model::quota::expiry_cutoff(on, carry_over_months);
    let still_counting = credits
        .iter()
        .filter(|credit| credit.period >= cutoff)
        .try_fold(0i64, |sum, credit| sum.checked_add(credit.amount_minor))?;
    let excess = available.checked_sub(still_counting)?;
    (excess > 0).then_some((on, excess))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(period: &str, amount: i64) -> QuotaCredit {
        QuotaCredit {
            program_code: "SSN".into(),
            period: period.into(),
            amount_minor: amount,
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_next_period_follows_the_last_loaded_or_is_this_month() {
        assert_eq!(next_period(Some("2026-12"), day("2026-12-06")), "2027-01");
        assert_eq!(next_period(Some("2026-10"), day("2026-12-06")), "2026-12");
        assert_eq!(next_period(None, day("2026-12-06")), "2026-12");
    }

    #[test]
    fn what_expires_is_the_balance_above_the_credits_that_still_count() {
        // Carry-over of one month: on 2027-01-01 credits from 2026-12 on still count.
        let credits = [credit("2026-11", 200_000), credit("2026-12", 200_000)];
        let refs: Vec<&QuotaCredit> = credits.iter().collect();
        assert_eq!(
            expiring(300_000, &refs, 1, day("2026-12-06")),
            Some((day("2027-01-01"), 100_000))
        );
        assert_eq!(expiring(150_000, &refs, 1, day("2026-12-06")), None);
        assert_eq!(expiring(400_000, &refs, 2, day("2026-12-06")), None);
    }
}
