//! Authorised representatives: an adult a household names to buy on its entitlement with a card
//! and PIN of their own (a neighbour or relative who shops for an elderly or sick head). The
//! rules that need no database: who counts as an adult, how long an authority may run, and the
//! state a representative is in on a given day.

use chrono::{Datelike, Days, NaiveDate};

use crate::{domain::Invalid, string_enum};

/// A household names at most this many representatives at a time.
pub const PER_HOUSEHOLD: usize = 2;

/// A person represents at most this many households at a time (theirs to stand in for and one
/// other).
pub const PER_PERSON: usize = 2;

/// The age at which an Indonesian citizen gets an identity card (KTP) and may act alone.
pub const ADULT_AGE: u32 = 17;

/// The longest an authority may run from the day it is given; it is renewed by naming again.
pub const MAX_VALID_DAYS: u64 = 731;

string_enum!(
    /// Where a representative stands on a given day.
    RepresentativeStatus, "invalid_representative_status", {
        Active => "active",
        Expired => "expired",
        Revoked => "revoked",
    }
);

string_enum!(
    /// How a representative's authority ended.
    EndKind, "invalid_end_kind", {
        Revoked => "revoked",
        Expired => "expired",
    }
);

/// The state on `today` of a representative valid until `valid_until` (inclusive), ended or not.
pub fn status_on(
    valid_until: &str,
    ended: Option<EndKind>,
    today: NaiveDate,
) -> RepresentativeStatus {
    match ended {
        Some(EndKind::Revoked) => RepresentativeStatus::Revoked,
        Some(EndKind::Expired) => RepresentativeStatus::Expired,
        None if is_past(valid_until, today) => RepresentativeStatus::Expired,
        None => RepresentativeStatus::Active,
    }
}

/// Whether an authority valid until `valid_until` (`YYYY-MM-DD`, inclusive) has run out on
/// `today`; dates are stored in that form, so a text comparison is a date comparison.
pub fn is_past(valid_until: &str, today: NaiveDate) -> bool {
    valid_until < today.format("%Y-%m-%d").to_string().as_str()
}

/// The last day of an authority as typed: a date from `today` up to [`MAX_VALID_DAYS`] ahead.
pub fn parse_valid_until(text: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let refused = || {
        Invalid::new(
            "invalid_valid_until",
            "valid_until must be a date (YYYY-MM-DD) from today up to two years ahead",
        )
    };
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| refused())?;
    let latest = today
        .checked_add_days(Days::new(MAX_VALID_DAYS))
        .ok_or_else(refused)?;
    if date < today || date > latest {
        return Err(refused());
    }
    Ok(date)
}

/// Refuses a person younger than [`ADULT_AGE`] on `today`.
pub fn check_adult(birth_date: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if years_between(birth_date, today) < ADULT_AGE {
        return Err(Invalid::new(
            "not_adult",
            "a representative must be at least 17 years old",
        ));
    }
    Ok(())
}

/// Whole years from `birth` to `day` (a birthday on 29 February counts on 1 March).
fn years_between(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn adulthood_starts_on_the_seventeenth_birthday() {
        let today = date(2026, 12, 7);
        assert!(check_adult(date(2009, 12, 7), today).is_ok());
        assert_eq!(
            check_adult(date(2009, 12, 8), today).unwrap_err().code,
            "not_adult"
        );
        assert!(check_adult(date(1950, 1, 1), today).is_ok());
    }

    #[test]
    fn an_authority_runs_from_today_up_to_two_years() {
        let today = date(2026, 12, 7);
        assert_eq!(
            parse_valid_until("2026-12-07", today).unwrap(),
            today,
            "valid for today only"
        );
        assert!(parse_valid_until("2028-12-07", today).is_ok());
        for refused in ["2026-12-06", "2028-12-08", "07-12-2026", "", "2026-02-30"] {
            assert_eq!(
                parse_valid_until(refused, today).unwrap_err().code,
                "invalid_valid_until",
                "{refused:?}"
            );
        }
    }

    #[test]
    fn the_last_valid_day_counts_and_the_next_does_not() {
        let today = date(2026, 12, 7);
        assert_eq!(
            status_on("2026-12-07", None, today),
            RepresentativeStatus::Active
        );
        assert_eq!(
            status_on("2026-12-06", None, today),
            RepresentativeStatus::Expired
        );
        assert_eq!(
            status_on("2027-01-01", Some(EndKind::Revoked), today),
            RepresentativeStatus::Revoked
        );
    }
}
