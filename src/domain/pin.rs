//! Card PINs: [`MIN_DIGITS`] to [`MAX_DIGITS`] digits (ISO 9564 allows 4 to 12; EDC terminals
//! here take up to 6). A `Pin` cannot be printed or serialised, and its memory is wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

use crate::domain::Invalid;

/// The fewest digits a PIN has.
pub const MIN_DIGITS: usize = 4;
/// The most digits a PIN has.
pub const MAX_DIGITS: usize = 6;

pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok = (MIN_DIGITS..=MAX_DIGITS).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Invalid::new("invalid_pin", "PIN must be 4 to 6 digits")
                .with("min", MIN_DIGITS)
                .with("max", MAX_DIGITS));
        }
        Ok(Self(Zeroizing::new(text.to_string())))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

crate::deserialize_via_parse!(Pin, "a 4 to 6 digit PIN");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_six_digits_and_never_debug_printed() {
        assert!(Pin::parse("1234").is_ok());
        assert!(Pin::parse("123456").is_ok());
        assert!(Pin::parse("123").is_err());
        assert!(Pin::parse("1234567").is_err());
        assert!(Pin::parse("12a4").is_err());
        assert_eq!(format!("{:?}", Pin::parse("9876").unwrap()), "Pin(****)");
    }
}
