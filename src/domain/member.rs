//! Household members as the civil registry's family card (KK) lists them: NIK, name, relation to
//! the head, sex, birth date. A NIK carries its holder's birth date and sex in digits 7–12
//! (DDMMYY, with 40 added to the day for women), which is how a mistyped NIK, or a row whose
//! NIK belongs to someone else, is caught.

use chrono::{Datelike, NaiveDate};

use crate::{
    domain::{identity::Nik, Invalid},
    string_enum,
};

string_enum!(
    /// A member's relation to the head of the household, as the KK lists it (Kepala Keluarga,
    /// Suami/Istri, Anak, Menantu, Cucu, Orang Tua, Mertua, Famili Lain, Lainnya).
    Relation, "invalid_relation", {
        Head => "head",
        Spouse => "spouse",
        Child => "child",
        ChildInLaw => "child_in_law",
        Grandchild => "grandchild",
        Parent => "parent",
        ParentInLaw => "parent_in_law",
        OtherRelative => "other_relative",
        Other => "other",
    }
);

string_enum!(
    /// Sex as the KK records it (L/P).
    Sex, "invalid_sex", {
        Male => "male",
        Female => "female",
    }
);

/// What a NIK says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NikBirth {
    pub sex: Sex,
    pub birth_date: NaiveDate,
}

/// The birth date and sex a NIK encodes, or `None` when digits 7–12 are not a date. The year
/// has two digits: the latest century that does not put the birth after `today`.
pub fn nik_birth(nik: &Nik, today: NaiveDate) -> Option<NikBirth> {
    let digits = nik.as_str().as_bytes();
    let two =
        |at: usize| -> u32 { u32::from(digits[at] - b'0') * 10 + u32::from(digits[at + 1] - b'0') };
    let (raw_day, month, year) = (two(6), two(8), two(10) as i32);
    let (sex, day) = if raw_day > 40 {
        (Sex::Female, raw_day - 40)
    } else {
        (Sex::Male, raw_day)
    };
    let century = today.year() / 100 * 100;
    let year = if century + year > today.year() {
        century - 100 + year
    } else {
        century + year
    };
    let birth_date = NaiveDate::from_ymd_opt(year, month, day)?;
    (birth_date <= today).then_some(NikBirth { sex, birth_date })
}

/// A member's NIK, sex and birth date, checked against each other: the NIK must encode a date,
/// and the sex and birth date given must be the ones it encodes (day and month exactly; the
/// year's last two digits).
pub fn check_identity(
    nik: &Nik,
    sex: Sex,
    birth_date: NaiveDate,
    today: NaiveDate,
) -> Result<(), Invalid> {
    let Some(encoded) = nik_birth(nik, today) else {
        return Err(Invalid::new(
            "invalid_nik",
            "the NIK's digits 7 to 12 are not a birth date (DDMMYY, 40 added to the day for women)",
        ));
    };
    let same_date = encoded.birth_date.day() == birth_date.day()
        && encoded.birth_date.month() == birth_date.month()
        && encoded.birth_date.year() % 100 == birth_date.year() % 100;
    if encoded.sex != sex || !same_date {
        return Err(Invalid::new(
            "nik_mismatch",
            "the NIK encodes another birth date or sex than the ones given",
        ));
    }
    Ok(())
}

/// A birth date as typed (`YYYY-MM-DD`), not after `today` and not before 1900.
pub fn parse_birth_date(text: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let refused = || {
        Invalid::new(
            "invalid_birth_date",
            "birth_date must be a date (YYYY-MM-DD) between 1900-01-01 and today",
        )
    };
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| refused())?;
    if date > today || date.year() < 1900 {
        return Err(refused());
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    fn nik(text: &str) -> Nik {
        Nik::parse(text).unwrap()
    }

    #[test]
    fn a_nik_encodes_birth_date_and_sex() {
        let woman = nik_birth(&nik("6472015501800001"), today()).unwrap();
        assert_eq!(woman.sex, Sex::Female);
        assert_eq!(
            woman.birth_date,
            NaiveDate::from_ymd_opt(1980, 1, 15).unwrap()
        );
        let man = nik_birth(&nik("6472011203790002"), today()).unwrap();
        assert_eq!(man.sex, Sex::Male);
        assert_eq!(
            man.birth_date,
            NaiveDate::from_ymd_opt(1979, 3, 12).unwrap()
        );
        let child = nik_birth(&nik("6472010404200001"), today()).unwrap();
        assert_eq!(
            child.birth_date.year(),
            2020,
            "a year not in the future is this century's"
        );
        assert_eq!(
            nik_birth(&nik("6472010101260001"), today())
                .unwrap()
                .birth_date
                .year(),
            2026
        );
        assert_eq!(
            nik_birth(&nik("6472010101270001"), today())
                .unwrap()
                .birth_date
                .year(),
            1927
        );
    }

    #[test]
    fn digits_that_are_no_date_are_refused() {
        for text in [
            "6472010000000001",
            "6472013213800001",
            "6472017102800001",
            "6472019999000001",
        ] {
            assert!(nik_birth(&nik(text), today()).is_none(), "{text}");
        }
        let refused = check_identity(
            &nik("6472019999000001"),
            Sex::Male,
            NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
            today(),
        )
        .unwrap_err();
        assert_eq!(refused.code, "invalid_nik");
    }

    #[test]
    fn sex_and_birth_date_must_agree_with_the_nik() {
        let born = NaiveDate::from_ymd_opt(1980, 1, 15).unwrap();
        let woman = nik("6472015501800001");
        assert!(check_identity(&woman, Sex::Female, born, today()).is_ok());
        assert_eq!(
            check_identity(&woman, Sex::Male, born, today())
                .unwrap_err()
                .code,
            "nik_mismatch"
        );
        let other_day = NaiveDate::from_ymd_opt(1980, 1, 16).unwrap();
        assert_eq!(
            check_identity(&woman, Sex::Female, other_day, today())
                .unwrap_err()
                .code,
            "nik_mismatch"
        );
    }

    #[test]
    fn birth_dates_are_dates_in_the_past() {
        assert!(parse_birth_date("1980-01-15", today()).is_ok());
        for text in ["1980-02-30", "2027-01-01", "1899-12-31", "15-01-1980", ""] {
            assert_eq!(
                parse_birth_date(text, today()).unwrap_err().code,
                "invalid_birth_date",
                "{text}"
            );
        }
    }
}
