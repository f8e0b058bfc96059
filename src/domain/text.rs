//! Bounded free text. Every name and address part has a length limit, so a request can never store
//! a megabyte in a name field, and blank strings are refused rather than stored.

use crate::domain::Invalid;

/// Trims `value` and checks it is 1..=`max_chars` characters with no control characters.
pub fn bounded(value: &str, max_chars: usize, what: &str) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new("blank", format!("{what} must not be blank")));
    }
    if trimmed.chars().count() > max_chars {
        return Err(Invalid::new(
            "too_long",
            format!("{what} must be at most {max_chars} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Invalid::new(
            "control_characters",
            format!("{what} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// Checks a string is exactly `len` ASCII digits.
pub fn exact_digits(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_long_and_control_text_is_refused() {
        assert_eq!(bounded("  ", 10, "name").unwrap_err().code, "blank");
        assert_eq!(bounded("abcdef", 5, "name").unwrap_err().code, "too_long");
        assert_eq!(
            bounded("a\u{0}b", 5, "name").unwrap_err().code,
            "control_characters"
        );
        assert_eq!(bounded("  Siti ", 10, "name").unwrap(), "Siti");
    }
}
