//! Bounded free text. Every name and address part has a length limit, so a request can never store
//! a megabyte in a name field, and blank strings are refused rather than stored. Characters that
//! show nothing on a screen (zero-width spaces, bidirectional overrides, other Unicode format
//! characters) are refused too: with them one name can look exactly like another to a clerk.

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
        )
        .with("max", max_chars));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Invalid::new(
            "control_characters",
            format!("{what} must not contain control characters"),
        ));
    }
    if trimmed.chars().any(is_invisible_format) {
        return Err(Invalid::new(
            "invisible_characters",
            format!("{what} must not contain invisible or text-direction characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// Unicode's format characters (general category Cf), the line and paragraph separators, and the
/// few other code points that render as nothing. Listed by hand from the Unicode 15 tables: the
/// set changes rarely and a table crate for one predicate is not worth its weight.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// At most `max_chars` of `text`, fit to quote back in an error or store in a report: control
/// characters (NUL among them, which PostgreSQL cannot store in text) and invisible ones become
/// U+FFFD. For echoing what a file said, never for accepting it.
pub fn printable(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| {
            if c.is_control() || is_invisible_format(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
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

    #[test]
    fn printable_text_replaces_what_cannot_be_shown_or_stored() {
        assert_eq!(
            printable("a\u{0}b\u{202E}c\nd", 10),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d"
        );
        assert_eq!(printable("abcdef", 3), "abc");
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        for sneaky in [
            "Siti\u{202E}hayuW",
            "Si\u{200B}ti",
            "\u{FEFF}Siti",
            "Siti\u{2066}",
            "Si\u{00AD}ti",
            "Siti\u{2028}Aminah",
            "S\u{E0041}iti",
        ] {
            assert_eq!(
                bounded(sneaky, 50, "name").unwrap_err().code,
                "invisible_characters",
                "{sneaky:?}"
            );
        }
    }

    #[test]
    fn indonesian_names_with_accents_and_punctuation_are_kept() {
        for name in [
            "Sri Wahyuni",
            "Nur'aini",
            "Muh. Ridwan S.Pd.",
            "Dédé",
            "Ahmad-Ali",
        ] {
            assert_eq!(bounded(name, 50, "name").unwrap(), name);
        }
    }
}
