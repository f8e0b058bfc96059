//! Money and time as the people of Samarinda read them: `Rp 1.250.000` and
//! `30 Nov 2026 14.05 WITA` (Central Indonesia Time, UTC+8, no daylight saving).

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

use crate::domain::locale::Locale;

/// Rupiah with dots between thousands; sen after a comma only when there are any.
pub fn rupiah(minor: i64) -> String {
    let negative = minor < 0;
    let magnitude = minor.unsigned_abs();
    let (whole, sen) = (magnitude / 100, magnitude % 100);
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if negative { "-" } else { "" };
    if sen == 0 {
        format!("{sign}Rp {grouped}")
    } else {
        format!("{sign}Rp {grouped},{sen:02}")
    }
}

/// WITA: UTC+8.
pub fn wita() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("8 hours is a valid offset")
}

const MONTHS_ID: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `30 Nov 2026 14.05 WITA` (Indonesian writes the time with a dot; English with a colon).
pub fn time(at: DateTime<Utc>, locale: Locale) -> String {
    let local = at.with_timezone(&wita());
    let (months, separator) = match locale {
        Locale::Id => (MONTHS_ID, '.'),
        Locale::En => (MONTHS_EN, ':'),
    };
    format!(
        "{} {} {} {:02}{separator}{:02} WITA",
        local.day(),
        months[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute()
    )
}

const MONTH_NAMES_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTH_NAMES_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A calendar date as the pages write it: `6 Des 2026`.
pub fn date(day: chrono::NaiveDate, locale: Locale) -> String {
    let months = match locale {
        Locale::Id => MONTHS_ID,
        Locale::En => MONTHS_EN,
    };
    format!(
        "{} {} {}",
        day.day(),
        months[day.month0() as usize],
        day.year()
    )
}

/// A month `YYYY-MM` as the pages write it: `Desember 2026` (the text itself if it is none).
pub fn month(period: &str, locale: Locale) -> String {
    let parsed = period
        .split_once('-')
        .and_then(|(year, month)| Some((year.parse::<i32>().ok()?, month.parse::<usize>().ok()?)))
        .filter(|(_, month)| (1..=12).contains(month));
    let Some((year, month)) = parsed else {
        return period.to_string();
    };
    let names = match locale {
        Locale::Id => MONTH_NAMES_ID,
        Locale::En => MONTH_NAMES_EN,
    };
    format!("{} {year}", names[month - 1])
}

/// A date as a clerk types it, whatever the browser's language: `6-12-2026` or `06/12/2026`
/// (day first, as Indonesia writes dates), `2026-12-06`, or `6 Des 2026` as the pages show it.
pub fn typed_date(text: &str) -> Option<chrono::NaiveDate> {
    let text = text.trim();
    if let Some(day) = crate::business_day::parse_date(text) {
        return Some(day);
    }
    for format in ["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"] {
        if let Ok(day) = chrono::NaiveDate::parse_from_str(text, format) {
            return Some(day);
        }
    }
    let mut words = text.split_whitespace();
    let (day, month, year) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let month = month.to_lowercase();
    let month0 = MONTHS_ID
        .iter()
        .chain(MONTHS_EN.iter())
        .position(|name| name.to_lowercase() == month)?
        % 12;
    chrono::NaiveDate::from_ymd_opt(year.parse().ok()?, month0 as u32 + 1, day.parse().ok()?)
}

/// Money and times as a page shows them, in its user's language: templates call
/// `self.money(…)`, `self.when(…)`.
pub trait Shows {
    fn locale(&self) -> Locale;

    fn money(&self, minor: &i64) -> String {
        rupiah(*minor)
    }

    fn maybe_money(&self, minor: &Option<i64>) -> String {
        minor.map(rupiah).unwrap_or_default()
    }

    fn when(&self, at: &DateTime<Utc>) -> String {
        time(*at, self.locale())
    }

    fn day(&self, day: &chrono::NaiveDate) -> String {
        date(*day, self.locale())
    }

    /// A `YYYY-MM-DD` text as a date in words (the text itself if it is none).
    fn day_text(&self, text: &str) -> String {
        crate::business_day::parse_date(text)
            .map(|day| date(day, self.locale()))
            .unwrap_or_else(|| text.to_string())
    }

    fn month(&self, period: &str) -> String {
        month(period, self.locale())
    }
}

/// Today's calendar date in Samarinda, `YYYY-MM-DD`.
pub fn today_wita(now: DateTime<Utc>) -> String {
    now.with_timezone(&wita()).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_and_read_as_in_indonesia() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(date(day, Locale::Id), "6 Des 2026");
        assert_eq!(date(day, Locale::En), "6 Dec 2026");
        assert_eq!(month("2026-12", Locale::Id), "Desember 2026");
        assert_eq!(month("2026-05", Locale::En), "May 2026");
        assert_eq!(month("2026-13", Locale::Id), "2026-13");
        for typed in [
            "2026-12-06",
            "6-12-2026",
            "06/12/2026",
            "6.12.2026",
            "6 Des 2026",
            "6 dec 2026",
        ] {
            assert_eq!(typed_date(typed), Some(day), "{typed}");
        }
        for refused in [
            "31-12",
            "12/31/2026",
            "2026-13-01",
            "6 Foo 2026",
            "besok",
            "",
        ] {
            assert_eq!(typed_date(refused), None, "{refused}");
        }
    }

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(125_000_000), "Rp 1.250.000");
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(99_900), "Rp 999");
        assert_eq!(rupiah(100_000), "Rp 1.000");
        assert_eq!(rupiah(150), "Rp 1,50");
        assert_eq!(rupiah(-2_500_000), "-Rp 25.000");
        assert_eq!(rupiah(i64::MIN), "-Rp 92.233.720.368.547.758,08");
    }

    #[test]
    fn times_are_shown_in_wita() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T06:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time(at, Locale::Id), "30 Nov 2026 14.05 WITA");
        assert_eq!(time(at, Locale::En), "30 Nov 2026 14:05 WITA");
        let new_year = DateTime::parse_from_rfc3339("2026-12-31T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time(new_year, Locale::Id), "1 Jan 2027 01.30 WITA");
        assert_eq!(today_wita(new_year), "2027-01-01");
    }
}
