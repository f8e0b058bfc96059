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

/// The highest price cap a catalog item may have: 100 million rupiah a unit. A sack of rice costs
/// a few hundred thousand; the cap keeps a typo from admitting absurd prices.
pub const MAX_PRICE_CAP_MINOR: i64 = 100_000_000 * MINOR_PER_UNIT;

/// The largest monthly quota one household may be loaded in one line: 100 million rupiah.
pub const MAX_QUOTA_LINE_MINOR: i64 = 100_000_000 * MINOR_PER_UNIT;

impl Amount {
    /// Refuses an amount above `max_minor` (a price cap, a quota line) with `amount_out_of_range`.
    pub fn at_most(self, max_minor: i64, what: &str) -> Result<Self, Invalid> {
        if self.minor > max_minor {
            return Err(Invalid::new(
                "amount_out_of_range",
                format!("{what} may be at most {} IDR", format_minor(max_minor)),
            ));
        }
        Ok(self)
    }
}

/// A sum of money in minor units that may be zero or negative: a basket's total, a batch's total,
/// a balance, a difference. Every operation is checked: an overflow is an error, never a wrap
/// (release builds wrap plain `i64` arithmetic silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Minor(i64);

/// An operation on money left the range of `i64` minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the amount is out of range")]
pub struct Overflow;

impl From<Overflow> for Invalid {
    fn from(_: Overflow) -> Self {
        Invalid::new(
            "amount_out_of_range",
            "the total exceeds the largest amount this service can hold",
        )
    }
}

impl Minor {
    pub const ZERO: Minor = Minor(0);

    pub const fn new(minor: i64) -> Self {
        Self(minor)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Minor) -> Result<Minor, Overflow> {
        self.0.checked_add(other.0).map(Minor).ok_or(Overflow)
    }

    pub fn checked_sub(self, other: Minor) -> Result<Minor, Overflow> {
        self.0.checked_sub(other.0).map(Minor).ok_or(Overflow)
    }

    /// A unit price times a quantity.
    pub fn times(self, quantity: u32) -> Result<Minor, Overflow> {
        self.0
            .checked_mul(i64::from(quantity))
            .map(Minor)
            .ok_or(Overflow)
    }

    /// The sum of many amounts, refused as a whole when any partial sum overflows.
    pub fn sum(amounts: impl IntoIterator<Item = Minor>) -> Result<Minor, Overflow> {
        amounts
            .into_iter()
            .try_fold(Minor::ZERO, |total, amount| total.checked_add(amount))
    }
}

impl From<Amount> for Minor {
    fn from(amount: Amount) -> Self {
        Minor(amount.minor)
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_minor(self.0))
    }
}

impl Minor {
    /// Parses a decimal string with at most two decimals and any sign, as amounts are written in
    /// answers (`"0.00"`, `"173000.00"`, `"-500.00"`).
    pub fn parse(text: &str) -> Result<Minor, Invalid> {
        let invalid = || {
            Invalid::new(
                "invalid_amount",
                "amount must be a decimal number such as \"150000.00\"",
            )
        };
        let well_formed = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
        if !well_formed {
            return Err(invalid());
        }
        let value = Decimal::from_str_exact(text).map_err(|_| invalid())?;
        if value.normalize().scale() > 2 {
            return Err(Invalid::new(
                "amount_too_precise",
                "amount may have at most 2 decimal places",
            ));
        }
        value
            .checked_mul(Decimal::from(MINOR_PER_UNIT))
            .and_then(|minor| i64::try_from(minor.trunc()).ok())
            .map(Minor)
            .ok_or_else(|| Overflow.into())
    }
}

impl Serialize for Minor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_minor(self.0))
    }
}

impl<'de> Deserialize<'de> for Minor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Minor::parse(&text).map_err(|invalid| de::Error::custom(invalid.to_serde_message()))
    }
}

impl utoipa::PartialSchema for Minor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^-?[0-9]+\.[0-9]{2}$"))
            .description(Some(
                "Rupiah as a decimal string with two decimals; zero (and, for differences, \
                 negative) amounts included",
            ))
            .examples(["173000.00"])
            .into()
    }
}

impl utoipa::ToSchema for Minor {}

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
    fn sums_of_money_round_trip_through_their_text_zero_and_negative_included() {
        for minor in [0, 1, -1, 17_300_000, -50_000, i64::MAX, i64::MIN] {
            let text = serde_json::to_string(&Minor::new(minor)).unwrap();
            assert_eq!(
                serde_json::from_str::<Minor>(&text).unwrap(),
                Minor::new(minor)
            );
        }
        assert_eq!(serde_json::to_string(&Minor::ZERO).unwrap(), "\"0.00\"");
        assert_eq!(Minor::parse("173000").unwrap(), Minor::new(17_300_000));
        assert!(Minor::parse("1.005").is_err());
        assert!(Minor::parse("1e5").is_err());
        assert!(Minor::parse("99999999999999999999").is_err());
    }

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

    #[test]
    fn sums_and_products_at_the_edges_are_refused_not_wrapped() {
        let max = Minor::new(i64::MAX);
        assert_eq!(max.checked_add(Minor::new(1)), Err(Overflow));
        assert_eq!(
            Minor::new(i64::MIN).checked_sub(Minor::new(1)),
            Err(Overflow)
        );
        assert_eq!(Minor::new(i64::MAX / 2 + 1).times(2), Err(Overflow));
        assert_eq!(
            Minor::new(i64::MAX / 999).times(999).map(Minor::get),
            Ok(i64::MAX / 999 * 999)
        );
        let biggest = Minor::from(Amount::from_minor(MAX_AMOUNT_MINOR).unwrap());
        // The largest accepted price times the largest quantity still fits; ten such lines do not.
        let line = biggest.times(999).unwrap();
        assert_eq!(Minor::sum(std::iter::repeat_n(line, 10)), Err(Overflow));
        assert_eq!(Minor::sum([]), Ok(Minor::ZERO));
        assert_eq!(Invalid::from(Overflow).code, "amount_out_of_range");
    }

    proptest! {
        #[test]
        fn checked_sums_equal_wide_sums_or_refuse(values in proptest::collection::vec(any::<i64>(), 0..20)) {
            let wide: i128 = values.iter().map(|&v| i128::from(v)).sum();
            let fits_every_step = values.iter().try_fold(0i64, |total, &v| total.checked_add(v)).is_some();
            match Minor::sum(values.iter().copied().map(Minor::new)) {
                Ok(total) => prop_assert_eq!(i128::from(total.get()), wide),
                Err(Overflow) => prop_assert!(!fits_every_step),
            }
        }

        #[test]
        fn checked_products_equal_wide_products_or_refuse(price in any::<i64>(), quantity in any::<u32>()) {
            let wide = i128::from(price) * i128::from(quantity);
            match Minor::new(price).times(quantity) {
                Ok(amount) => prop_assert_eq!(i128::from(amount.get()), wide),
                Err(Overflow) => prop_assert!(wide > i128::from(i64::MAX) || wide < i128::from(i64::MIN)),
            }
        }

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
