//! Business dates. Samarinda keeps Central Indonesia Time (WITA, UTC+8, no daylight saving); the
//! bank's day ends at a configurable cut-off (activity from the cut-off on belongs to the next
//! date), and once a date is closed nothing may land on it any more: the open date is the clock's
//! date or the day after the last closed one, whichever is later.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};

/// WITA's offset from UTC.
const WITA_OFFSET_HOURS: i64 = 8;

/// The time of day (WITA) from which activity belongs to the next business date; 00:00 means
/// the calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cutoff {
    minutes: u16,
}

impl Cutoff {
    /// From minutes after local midnight (0..1440).
    pub fn from_minutes(minutes: i64) -> Option<Self> {
        (0..1440).contains(&minutes).then_some(Self {
            minutes: minutes as u16,
        })
    }

    pub fn minutes(self) -> i64 {
        i64::from(self.minutes)
    }
}

impl std::str::FromStr for Cutoff {
    type Err = String;

    /// `HH:MM`, 24-hour clock.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let time = NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map_err(|_| format!("{text:?} is not a time of day as HH:MM (for example 23:00)"))?;
        Ok(Self {
            minutes: (time.hour() * 60 + time.minute()) as u16,
        })
    }
}

impl std::fmt::Display for Cutoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// The calendar date in Samarinda (WITA) at `at`: for birth dates and ages.
pub fn local_today(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(WITA_OFFSET_HOURS)).date_naive()
}

/// The business date the clock says `at` belongs to, ignoring closes.
pub fn clock_date(at: DateTime<Utc>, cutoff: Cutoff) -> NaiveDate {
    // Shifting by (24 h - cut-off) moves activity after the cut-off into the next day.
    let shift = match cutoff.minutes() {
        0 => Duration::zero(),
        minutes => Duration::minutes(24 * 60 - minutes),
    };
    (at + Duration::hours(WITA_OFFSET_HOURS) + shift).date_naive()
}

/// The date new activity at `at` lands on: never a closed one.
pub fn open_date(at: DateTime<Utc>, cutoff: Cutoff, last_closed: Option<NaiveDate>) -> NaiveDate {
    let by_clock = clock_date(at, cutoff);
    match last_closed.and_then(|closed| closed.succ_opt()) {
        Some(after_close) if after_close > by_clock => after_close,
        _ => by_clock,
    }
}

/// Parses a stored or requested date (`YYYY-MM-DD`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|date| date.format("%Y-%m-%d").to_string() == text)
}

/// How dates are stored and shown.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        parse_date(text).unwrap()
    }

    #[test]
    fn the_calendar_day_in_wita_by_default() {
        let midnight = Cutoff::default();
        // 15:59 UTC is 23:59 WITA; 16:00 UTC is midnight in Samarinda.
        assert_eq!(
            clock_date(utc("2026-11-23T15:59:59Z"), midnight),
            day("2026-11-23")
        );
        assert_eq!(
            clock_date(utc("2026-11-23T16:00:00Z"), midnight),
            day("2026-11-24")
        );
    }

    #[test]
    fn activity_from_the_cutoff_on_belongs_to_the_next_date() {
        let cutoff: Cutoff = "22:00".parse().unwrap();
        // 13:59 UTC = 21:59 WITA; 14:00 UTC = 22:00 WITA.
        assert_eq!(
            clock_date(utc("2026-11-23T13:59:59Z"), cutoff),
            day("2026-11-23")
        );
        assert_eq!(
            clock_date(utc("2026-11-23T14:00:00Z"), cutoff),
            day("2026-11-24")
        );
        assert_eq!(
            clock_date(utc("2026-11-24T13:59:00Z"), cutoff),
            day("2026-11-24")
        );
        assert_eq!(cutoff.to_string(), "22:00");
    }

    #[test]
    fn nothing_lands_on_a_closed_date() {
        let at = utc("2026-11-23T03:00:00Z");
        let cutoff = Cutoff::default();
        assert_eq!(open_date(at, cutoff, None), day("2026-11-23"));
        assert_eq!(
            open_date(at, cutoff, Some(day("2026-11-22"))),
            day("2026-11-23")
        );
        // Closed early today: the rest of today's activity lands tomorrow.
        assert_eq!(
            open_date(at, cutoff, Some(day("2026-11-23"))),
            day("2026-11-24")
        );
    }

    #[test]
    fn cutoffs_and_dates_parse_strictly() {
        assert!("24:00".parse::<Cutoff>().is_err());
        assert!("7pm".parse::<Cutoff>().is_err());
        assert_eq!("07:30".parse::<Cutoff>().unwrap().minutes(), 450);
        assert!(parse_date("2026-2-01").is_none());
        assert!(parse_date("2026-02-30").is_none());
        assert_eq!(format_date(day("2026-02-01")), "2026-02-01");
    }
}
