//! Field visits: what a kelurahan verifier found at a household's address, on which day, and
//! optionally a photo of the house (JPEG or PNG, recognised by its first bytes, at most
//! [`MAX_PHOTO_BYTES`]).

use chrono::NaiveDate;

use crate::{domain::Invalid, string_enum};

string_enum!(
    /// What the visit found.
    VisitOutcome, "invalid_visit_outcome", {
        Confirmed => "confirmed",
        DataDiffers => "data_differs",
        MovedAway => "moved_away",
        DeceasedHead => "deceased_head",
        NotAtHome => "not_at_home",
    }
);

/// The largest photo kept: a phone's photo, scaled down, is well below it.
pub const MAX_PHOTO_BYTES: u64 = 5 * 1024 * 1024;

/// How long after a visit it may still be recorded (a verifier records at the end of a round).
pub const RECORDED_WITHIN_DAYS: i64 = 31;

/// The kinds of photo kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoType {
    Jpeg,
    Png,
}

impl PhotoType {
    /// The type the first bytes of a file say, if it is one kept.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoType::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(PhotoType::Png)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            PhotoType::Jpeg => "image/jpeg",
            PhotoType::Png => "image/png",
        }
    }

    pub fn parse_mime(text: &str) -> Option<Self> {
        match text {
            "image/jpeg" => Some(PhotoType::Jpeg),
            "image/png" => Some(PhotoType::Png),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            PhotoType::Jpeg => "jpg",
            PhotoType::Png => "png",
        }
    }
}

/// The day of a visit: `YYYY-MM-DD`, not after `today`, and at most
/// [`RECORDED_WITHIN_DAYS`] before it.
pub fn parse_visit_date(text: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new("invalid_date", "the visit's date is YYYY-MM-DD"))?;
    if day > today {
        return Err(Invalid::new(
            "visit_in_future",
            "a visit is recorded after it happened",
        ));
    }
    if (today - day).num_days() > RECORDED_WITHIN_DAYS {
        return Err(Invalid::new(
            "visit_too_old",
            format!("a visit is recorded within {RECORDED_WITHIN_DAYS} days"),
        )
        .with("days", RECORDED_WITHIN_DAYS));
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_photo_is_known_by_its_first_bytes() {
        assert_eq!(
            PhotoType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(PhotoType::Jpeg)
        );
        assert_eq!(
            PhotoType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(PhotoType::Png)
        );
        assert_eq!(PhotoType::sniff(b"GIF89a"), None);
        assert_eq!(PhotoType::sniff(b"%PDF-1.7"), None);
        assert_eq!(PhotoType::sniff(&[]), None);
    }

    #[test]
    fn a_visit_is_dated_in_the_last_month_and_never_ahead() {
        let today = day("2026-12-06");
        assert_eq!(
            parse_visit_date("2026-12-01", today).unwrap(),
            day("2026-12-01")
        );
        assert_eq!(
            parse_visit_date("2026-12-07", today).unwrap_err().code,
            "visit_in_future"
        );
        assert_eq!(
            parse_visit_date("2026-10-01", today).unwrap_err().code,
            "visit_too_old"
        );
        assert_eq!(
            parse_visit_date("1/12/2026", today).unwrap_err().code,
            "invalid_date"
        );
    }
}
