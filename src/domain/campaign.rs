//! Re-verification campaigns: what an office may open (a scope and a deadline) and where each
//! household of a campaign stands on a given day.

use chrono::{Days, NaiveDate};

use crate::{domain::Invalid, string_enum};

/// "Not visited for" a campaign may ask, in months; 12 is the program's yearly round.
pub const NOT_VISITED_MONTHS: std::ops::RangeInclusive<u32> = 1..=60;
pub const DEFAULT_NOT_VISITED_MONTHS: u32 = 12;

/// The latest deadline, counted from the opening day.
pub const MAX_DEADLINE_DAYS: u64 = 366;

string_enum!(
    /// Where a household of a campaign stands: not visited yet with the deadline to come,
    /// visited between the opening day and the deadline, or not visited by the deadline
    /// (reported, never suspended).
    VisitProgress, "invalid_visit_progress", {
        Pending => "pending",
        Visited => "visited",
        Missed => "missed",
    }
);

impl VisitProgress {
    pub fn of(visited: bool, deadline: &str, today: NaiveDate) -> Self {
        if visited {
            VisitProgress::Visited
        } else if deadline < today.format("%Y-%m-%d").to_string().as_str() {
            VisitProgress::Missed
        } else {
            VisitProgress::Pending
        }
    }
}

/// A deadline as typed: a date after `today` and at most [`MAX_DEADLINE_DAYS`] ahead.
pub fn parse_deadline(text: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let refused = || {
        Invalid::new(
            "invalid_deadline",
            "deadline must be a date (YYYY-MM-DD) after today, at most a year ahead",
        )
    };
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| refused())?;
    let latest = today
        .checked_add_days(Days::new(MAX_DEADLINE_DAYS))
        .ok_or_else(refused)?;
    if date <= today || date > latest {
        return Err(refused());
    }
    Ok(date)
}

/// "Not visited for" as asked (1 to 60 months).
pub fn check_not_visited_months(months: u32) -> Result<u32, Invalid> {
    if NOT_VISITED_MONTHS.contains(&months) {
        Ok(months)
    } else {
        Err(Invalid::new(
            "invalid_not_visited_months",
            "not_visited_months must be from 1 to 60",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_deadline_is_after_today_and_within_a_year() {
        let today = day("2026-12-07");
        assert_eq!(
            parse_deadline("2027-01-31", today).unwrap(),
            day("2027-01-31")
        );
        for refused in ["2026-12-07", "2026-12-01", "2027-12-09", "31-01-2027", ""] {
            assert_eq!(
                parse_deadline(refused, today).unwrap_err().code,
                "invalid_deadline",
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_household_not_visited_by_the_deadline_is_missed_never_before() {
        let deadline = "2027-01-31";
        assert_eq!(
            VisitProgress::of(false, deadline, day("2027-01-31")),
            VisitProgress::Pending
        );
        assert_eq!(
            VisitProgress::of(false, deadline, day("2027-02-01")),
            VisitProgress::Missed
        );
        assert_eq!(
            VisitProgress::of(true, deadline, day("2027-02-01")),
            VisitProgress::Visited
        );
        assert!(check_not_visited_months(0).is_err());
        assert_eq!(check_not_visited_months(12).unwrap(), 12);
    }
}
