//! Money: rupiah as `rust_decimal` at the edges, integer minor units (sen, 1/100) everywhere else.
//! Floating point never touches an amount: JSON amounts are strings such as `"150000.00"` (a whole
//! JSON integer is also accepted), and a JSON float is refused rather than rounded.

use std::fmt;

use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::Invalid;

/// Minor units per rupiah. IDR has no coins below 1 rupiah in use, but the program accounts in sen
/// so that bank files with two decimals reconcile exactly.
pub const MINOR_PER_UNIT: i64 = 100;

/// The largest single amount accepted: 10 trillion rupiah. Far above any budget line, and far below
/// `i64::MAX`, so sums of many amounts cannot overflow before a checked addition catches them.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// A strictly positive amount of rupiah with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    minor: i64,
}

impl Amount {
    /// Parses a decimal string such as `"150000"` or `"12500.50"`.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        match plain_minor(text) {
            Some(minor) => Ok(Self { minor }),
            None => Self::parse_general(text),
        }
    }

    /// Any decimal text, with the reason when it is not an amount.
    fn parse_general(text: &str) -> Result<Self, Invalid> {
        let well_formed = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
        if !well_formed {
            return Err(Invalid::new(
                "invalid_amount",
                "amount must be a decimal number such as \"150000.00\"",
            ));
        }
        let value = Decimal::from_str_exact(text).map_err(|_| {
            Invalid::new(
                "amount_out_of_range",
                "amount is not a number this service can hold",
            )
        })?;
        Self::from_decimal(value)
    }

    /// Checks sign, precision and range of an already parsed decimal.
    pub fn from_decimal(value: Decimal) -> Result<Self, Invalid> {
        if value <= Decimal::ZERO {
            return Err(Invalid::new(
                "amount_not_positive",
                "amount must be greater than zero",
            ));
        }
        if value.normalize().scale() > 2 {
            return Err(Invalid::new(
                "amount_too_precise",
                "amount may have at most 2 decimal places",
            ));
        }
        let minor = value
            .checked_mul(Decimal::from(MINOR_PER_UNIT))
            .and_then(|m| i64::try_from(m.trunc()).ok())
            .filter(|m| *m <= MAX_AMOUNT_MINOR)
            .ok_or_else(|| {
                Invalid::new(
                    "amount_out_of_range",
                    "amount exceeds the largest amount accepted (10,000,000,000,000 IDR)",
                )
            })?;
        Ok(Self { minor })
    }

    /// Rebuilds an amount read back from storage, where it was already checked on the way in.
    pub fn from_minor(minor: i64) -> Result<Self, Invalid> {
        if minor <= 0 || minor > MAX_AMOUNT_MINOR {
            return Err(Invalid::new(
                "amount_out_of_range",
                format!("stored amount {minor} is out of range"),
            ));
        }
        Ok(Self { minor })
    }

    pub fn minor_units(self) -> i64 {
        self.minor
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, 2)
    }
}

/// The common case without a decimal library: up to 13 digits and up to two decimals, above zero
/// (anything else takes the general path, which also explains what is wrong).
fn plain_minor(text: &str) -> Option<i64> {
    let (units, cents) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || units.len() > 13 || cents.len() > 2 || !digits(units) || !digits(cents) {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let mut minor: i64 = units.parse().ok()?;
    minor *= MINOR_PER_UNIT;
    match cents.len() {
        1 => minor += cents.parse::<i64>().ok()? * 10,
        2 => minor += cents.parse::<i64>().ok()?,
        _ => {}
    }
    (minor > 0 && minor <= MAX_AMOUNT_MINOR).then_some(minor)
}

/// Formats minor units (which may be zero or negative, e.g. a balance) as an IDR decimal string.
pub fn format_minor(minor: i64) -> String {
    Decimal::new(minor, 2).to_string()
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_minor(self.minor))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount as a decimal string such as \"150000.00\"")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Amount, E> {
                Amount::parse(value).map_err(|invalid| E::custom(invalid.to_serde_message()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Amount, E> {
                Amount::parse(&value.to_string()).map_err(|i| E::custom(i.to_serde_message()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Amount, E> {
                Amount::parse(&value.to_string()).map_err(|i| E::custom(i.to_serde_message()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Amount, E> {
                let invalid = Invalid::new(
                    "amount_must_be_string",
                    "amounts with decimals must be sent as a string such as \"12500.50\"",
                );
                Err(E::custom(invalid.to_serde_message()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[0-9]+(\.[0-9]{1,2})?$"))
            .description(Some("Rupiah as a decimal string, at most 2 decimals"))
            .examples(["150000.00"])
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_parse_to_minor_units() {
        assert_eq!(Amount::parse("150000").unwrap().minor_units(), 15_000_000);
        assert_eq!(Amount::parse("0.01").unwrap().minor_units(), 1);
        assert_eq!(Amount::parse("12.50").unwrap().to_string(), "12.50");
        assert_eq!(Amount::parse("1.500").unwrap().minor_units(), 150);
    }

    #[test]
    fn bad_amounts_are_refused_with_their_own_code() {
        let code = |text: &str| Amount::parse(text).unwrap_err().code;
        assert_eq!(code("0"), "amount_not_positive");
        assert_eq!(code("-5"), "amount_not_positive");
        assert_eq!(code("1.005"), "amount_too_precise");
        assert_eq!(code("1e5"), "invalid_amount");
        assert_eq!(code("abc"), "invalid_amount");
        assert_eq!(
            code("99999999999999999999999999999999"),
            "amount_out_of_range"
        );
        assert_eq!(code("10000000000001"), "amount_out_of_range");
    }

    #[test]
    fn json_floats_are_refused_but_strings_and_integers_accepted() {
        assert!(serde_json::from_str::<Amount>("12.5").is_err());
        assert_eq!(
            serde_json::from_str::<Amount>("125").unwrap().minor_units(),
            12_500
        );
        assert_eq!(
            serde_json::from_str::<Amount>("\"12.5\"")
                .unwrap()
                .minor_units(),
            1_250
        );
    }

    proptest! {
        #[test]
        fn the_plain_fast_path_agrees_with_the_decimal_path(text in "[0-9]{0,15}(\\.[0-9]{0,3})?") {
            if let Some(minor) = plain_minor(&text) {
                prop_assert_eq!(Amount::parse_general(&text).unwrap().minor_units(), minor);
            }
        }

        #[test]
        fn minor_units_round_trip_through_text(minor in 1..=MAX_AMOUNT_MINOR) {
            let amount = Amount::from_minor(minor).unwrap();
            prop_assert_eq!(Amount::parse(&amount.to_string()).unwrap(), amount);
        }
    }
}
