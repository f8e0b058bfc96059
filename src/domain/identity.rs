//! Indonesian civil registry numbers: the family card number (KK, Nomor Kartu Keluarga) and the
//! national identity number (NIK). Both are exactly 16 digits.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::domain::{text::exact_digits, Invalid};

macro_rules! sixteen_digit_number {
    ($(#[$doc:meta])* $name:ident, $code:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, Invalid> {
                if !exact_digits(text, 16) {
                    return Err(Invalid::new($code, concat!($what, " must be exactly 16 digits")));
                }
                Ok(Self(text.to_string()))
            }

            /// The number as a person types it from the printed card, in groups with spaces
            /// ("6472 0109 0999 0001"): the spaces are dropped, the digits checked as ever.
            pub fn parse_as_printed(text: &str) -> Result<Self, Invalid> {
                let digits: String = text
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                Self::parse(&digits)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        crate::deserialize_via_parse!($name, concat!("a 16-digit ", $what));
    };
}

sixteen_digit_number!(
    /// Family card number: identifies the household in the civil registry.
    KkNumber,
    "invalid_kk_number",
    "KK number"
);
sixteen_digit_number!(
    /// National identity number of a person (here: the head of household).
    Nik,
    "invalid_nik",
    "NIK"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_typed_as_printed_lose_their_spaces() {
        let kk = KkNumber::parse_as_printed(" 6472 0109 0999 0001 ").unwrap();
        assert_eq!(kk.as_str(), "6472010909990001");
        assert_eq!(
            Nik::parse_as_printed("6472 0141 0785 009")
                .unwrap_err()
                .code,
            "invalid_nik"
        );
        assert!(
            KkNumber::parse("6472 0109 0999 0001").is_err(),
            "the API's rule is unchanged"
        );
    }

    #[test]
    fn kk_and_nik_need_exactly_sixteen_digits() {
        assert!(KkNumber::parse("6472012345678901").is_ok());
        assert_eq!(
            KkNumber::parse("647201234567890").unwrap_err().code,
            "invalid_kk_number"
        );
        assert_eq!(
            Nik::parse("64720123456789012").unwrap_err().code,
            "invalid_nik"
        );
        assert_eq!(
            Nik::parse("647201234567890x").unwrap_err().code,
            "invalid_nik"
        );
    }
}
