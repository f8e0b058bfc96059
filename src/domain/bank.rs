//! The bank account an E-Warung is paid into: Indonesia's three-digit clearing code and an
//! account number of 6 to 20 digits (what Bank Kaltimtara's settlement file carries).

use crate::domain::Invalid;

/// Digits in a bank code (Indonesia's clearing codes are three).
pub const BANK_CODE_DIGITS: usize = 3;
/// The fewest digits an account number may have.
pub const ACCOUNT_MIN_DIGITS: usize = 6;
/// The most digits an account number may have.
pub const ACCOUNT_MAX_DIGITS: usize = 20;

fn all_digits(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_digit())
}

/// A bank code, trimmed.
pub fn bank_code(value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    if value.len() == BANK_CODE_DIGITS && all_digits(value) {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            "invalid_bank_code",
            format!("a bank code is {BANK_CODE_DIGITS} digits"),
        )
        .with("digits", BANK_CODE_DIGITS))
    }
}

/// An account number, trimmed.
pub fn account_number(value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    if (ACCOUNT_MIN_DIGITS..=ACCOUNT_MAX_DIGITS).contains(&value.len()) && all_digits(value) {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            "invalid_bank_account",
            format!("an account number is {ACCOUNT_MIN_DIGITS} to {ACCOUNT_MAX_DIGITS} digits"),
        )
        .with("min", ACCOUNT_MIN_DIGITS)
        .with("max", ACCOUNT_MAX_DIGITS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers_are_digits_of_their_lengths() {
        assert_eq!(bank_code(" 124 ").unwrap(), "124");
        assert_eq!(bank_code("12").unwrap_err().code, "invalid_bank_code");
        assert_eq!(bank_code("12a").unwrap_err().code, "invalid_bank_code");
        assert_eq!(account_number("123456").unwrap(), "123456");
        assert_eq!(
            account_number("12345").unwrap_err().code,
            "invalid_bank_account"
        );
        assert!(account_number(&"1".repeat(20)).is_ok());
        assert!(account_number(&"1".repeat(21)).is_err());
    }
}
