//! Card PINs: 4 to 6 digits. A `Pin` cannot be printed or serialised, and its memory is wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

use crate::domain::Invalid;

pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok = (4..=6).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Invalid::new("invalid_pin", "PIN must be 4 to 6 digits"));
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
