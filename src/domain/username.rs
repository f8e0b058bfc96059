//! Usernames: what a person types to sign in.

use crate::domain::Invalid;

/// The most characters a username has (the forms' `maxlength`).
pub const MAX_CHARS: usize = 64;

/// Usernames are 3 to [`MAX_CHARS`] characters of `a-z 0-9 . _ -`.
pub fn parse(text: &str) -> Result<String, Invalid> {
    let ok = (3..=MAX_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(text.to_string())
    } else {
        Err(Invalid::new(
            "invalid_username",
            "username must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}
