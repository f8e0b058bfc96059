//! When unspent entitlement expires, and which households count as dormant. A program carries a
//! month's quota over `carry_over_months` months: on the first day of each month, the part of a
//! household's balance above the credits of the periods that still count expires (what
//! `ssn quota expire` takes back). A household is dormant in a program when it holds value, had
//! a quota before the idle window began, and bought nothing in that window.

use chrono::{Datelike, Months, NaiveDate};

use crate::domain::Invalid;

/// The idle windows an office may ask for, in months.
pub const IDLE_MONTHS: std::ops::RangeInclusive<u32> = 1..=24;

/// The window offered first: three months without a purchase.
pub const DEFAULT_IDLE_MONTHS: u32 = 3;

/// The oldest quota period whose credits still count on `as_of` for a program that carries
/// entitlement over `carry_over_months` months: credits of earlier periods expire.
pub fn expiry_cutoff(as_of: NaiveDate, carry_over_months: i32) -> String {
    let month_index = as_of.year() * 12 + as_of.month0() as i32 - carry_over_months;
    format!(
        "{:04}-{:02}",
        month_index.div_euclid(12),
        month_index.rem_euclid(12) + 1
    )
}

/// The first day of the month after `today`.
pub fn next_month_start(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first.checked_add_months(Months::new(1)).unwrap_or(today)
}

/// The first day on which part of `available` expires if nothing is spent, and how much expires
/// then, given the household's credits (`(period, amount)`); `None` when nothing would (no
/// balance) or the sum would not fit.
pub fn first_expiry(
    available: i64,
    credits: &[(String, i64)],
    carry_over_months: i32,
    today: NaiveDate,
) -> Option<(NaiveDate, i64)> {
    if available <= 0 {
        return None;
    }
    let mut day = next_month_start(today);
    // After carry-over + 1 month starts every credit loaded so far has stopped counting.
    let horizon = u32::try_from(carry_over_months.max(0)).ok()? + 2;
    for _ in 0..horizon {
        let cutoff = expiry_cutoff(day, carry_over_months);
        let still_counting = credits
            .iter()
            .filter(|(period, _)| *period >= cutoff)
            .try_fold(0i64, |sum, (_, amount)| sum.checked_add(*amount))?;
        let excess = available.checked_sub(still_counting)?;
        if excess > 0 {
            return Some((day, excess));
        }
        day = day.checked_add_months(Months::new(1))?;
    }
    None
}

/// The idle window as asked for (`months`, blank for the default).
pub fn parse_idle_months(text: &str) -> Result<u32, Invalid> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_IDLE_MONTHS);
    }
    text.parse::<u32>()
        .ok()
        .filter(|months| IDLE_MONTHS.contains(months))
        .ok_or_else(|| {
            Invalid::new(
                "invalid_idle_months",
                "months must be a whole number from 1 to 24",
            )
        })
}

/// The first day of the idle window: `months` before `today`. A purchase on or after it counts.
pub fn idle_since(today: NaiveDate, months: u32) -> NaiveDate {
    today
        .checked_sub_months(Months::new(months))
        .unwrap_or(today)
}

/// The period (`YYYY-MM`) of the idle window's first day: a household whose first quota came
/// later has not yet had the window's time to buy.
pub fn period_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn credits(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(p, a)| (p.to_string(), *a)).collect()
    }

    #[test]
    fn the_cutoff_counts_back_the_carry_over_months() {
        assert_eq!(expiry_cutoff(day("2027-01-01"), 0), "2027-01");
        assert_eq!(expiry_cutoff(day("2027-01-15"), 1), "2026-12");
        assert_eq!(expiry_cutoff(day("2027-03-01"), 14), "2026-01");
        assert_eq!(next_month_start(day("2026-12-07")), day("2027-01-01"));
        assert_eq!(next_month_start(day("2026-01-31")), day("2026-02-01"));
    }

    #[test]
    fn the_oldest_months_value_expires_first_when_it_leaves_the_carry_over() {
        // Two months carried over; October, November and December loaded, nothing spent.
        let loaded = credits(&[
            ("2026-10", 200_000),
            ("2026-11", 200_000),
            ("2026-12", 200_000),
        ]);
        let today = day("2026-12-07");
        // On 1 January the credits from November count: October's 200,000 expires.
        assert_eq!(
            first_expiry(600_000, &loaded, 2, today),
            Some((day("2027-01-01"), 200_000))
        );
        // Spent down to less than November and December: nothing in January; in February
        // only December still counts.
        assert_eq!(
            first_expiry(300_000, &loaded, 2, today),
            Some((day("2027-02-01"), 100_000))
        );
        // Carry-over 0: a month's quota is spent in its month, so all of it expires on 1 January.
        assert_eq!(
            first_expiry(250_000, &loaded, 0, today),
            Some((day("2027-01-01"), 250_000))
        );
        assert_eq!(first_expiry(0, &loaded, 2, today), None);
    }

    #[test]
    fn the_idle_window_is_one_to_twenty_four_months() {
        assert_eq!(parse_idle_months("").unwrap(), 3);
        assert_eq!(parse_idle_months(" 6 ").unwrap(), 6);
        for refused in ["0", "25", "-1", "tiga", "1.5"] {
            assert_eq!(
                parse_idle_months(refused).unwrap_err().code,
                "invalid_idle_months"
            );
        }
        assert_eq!(idle_since(day("2026-12-07"), 3), day("2026-09-07"));
        assert_eq!(period_of(day("2026-09-07")), "2026-09");
    }
}
