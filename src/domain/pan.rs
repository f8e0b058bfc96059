//! Card numbers (PAN): 16 digits with a Luhn check digit under the program's issuer prefix.
//! A `Pan` never prints in full through `Debug` or `Display`: logs see `************1234`.

use std::fmt;

use rand::Rng;
use serde::{Serialize, Serializer};

use crate::domain::{text::exact_digits, Invalid};

pub const PAN_LENGTH: usize = 16;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pan(String);

impl Pan {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if !exact_digits(text, PAN_LENGTH) {
            return Err(Invalid::new(
                "invalid_pan",
                "card number must be exactly 16 digits",
            ));
        }
        if luhn_check_digit(&text[..PAN_LENGTH - 1]) != text.as_bytes()[PAN_LENGTH - 1] - b'0' {
            return Err(Invalid::new(
                "invalid_check_digit",
                "card number check digit is wrong",
            ));
        }
        Ok(Self(text.to_string()))
    }

    /// Draws a fresh PAN under `prefix` (its issuer identification number).
    pub fn generate(prefix: &CardPrefix, rng: &mut impl Rng) -> Self {
        let mut body = prefix.0.clone();
        while body.len() < PAN_LENGTH - 1 {
            body.push(char::from(b'0' + rng.gen_range(0..10u8)));
        }
        let check = luhn_check_digit(&body);
        body.push(char::from(b'0' + check));
        Self(body)
    }

    /// The full number, for the few places that must have it (storage, the response that issues it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[PAN_LENGTH - 4..]
    }

    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks anything that looks like a card number to its last four digits.
pub fn mask(pan: &str) -> String {
    let last = last_four(pan);
    format!(
        "{}{last}",
        "*".repeat(pan.chars().count() - last.chars().count())
    )
}

/// The last four characters of a card number (all of it when shorter): what may be shown.
pub fn last_four(pan: &str) -> &str {
    let start = pan.char_indices().rev().nth(3).map_or(0, |(at, _)| at);
    &pan[start..]
}

/// The Luhn (mod 10) check digit for `body` (all digits, without the check digit).
pub fn luhn_check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Serialises the full number: only response types that are meant to carry it embed a `Pan`.
impl Serialize for Pan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

crate::deserialize_via_parse!(Pan, "a 16-digit card number");

/// The issuer prefix new cards are numbered under: 6 to 10 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPrefix(String);

impl CardPrefix {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok = (6..=10).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Invalid::new(
                "invalid_card_prefix",
                "card prefix must be 6 to 10 digits",
            ));
        }
        Ok(Self(text.to_string()))
    }
}

impl std::str::FromStr for CardPrefix {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_known_good_number_passes_and_a_changed_digit_fails() {
        assert!(Pan::parse("4111111111111111").is_ok());
        assert_eq!(
            Pan::parse("4111111111111112").unwrap_err().code,
            "invalid_check_digit"
        );
        assert_eq!(
            Pan::parse("411111111111111").unwrap_err().code,
            "invalid_pan"
        );
        assert_eq!(
            Pan::parse("41111111111111a1").unwrap_err().code,
            "invalid_pan"
        );
    }

    #[test]
    fn pans_never_print_in_full() {
        let pan = Pan::parse("4111111111111111").unwrap();
        assert_eq!(format!("{pan}"), "************1111");
        assert!(!format!("{pan:?}").contains("411111111111"));
    }

    proptest! {
        #[test]
        fn generated_pans_parse_and_keep_their_prefix(seed in any::<u64>()) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let prefix = CardPrefix::parse("6019010").unwrap();
            let pan = Pan::generate(&prefix, &mut rng);
            prop_assert!(pan.expose().starts_with("6019010"));
            prop_assert!(Pan::parse(pan.expose()).is_ok());
        }
    }
}
