//! The one error type for a value that failed to parse. It carries a stable machine code so the HTTP
//! layer can answer `invalid_check_digit` rather than a sentence a client would have to pattern-match.

use std::fmt;

/// A value was refused. `code` is stable and documented; `message` is the API's English for
/// people; `args` are the values a translation quotes (the web pages show the text keyed
/// `invalid-CODE` with them, in the reader's language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
    pub args: Vec<(&'static str, String)>,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            args: Vec::new(),
        }
    }

    /// The refusal with one more value for its translation to quote.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// Serde only carries a string through a custom error, so the code travels as a `[code]` prefix
    /// that `http::json` strips off again. Keeping both directions here keeps them in step.
    pub fn to_serde_message(&self) -> String {
        format!("[{}] {}", self.code, self.message)
    }

    /// Recovers code and message from a serde error text made by [`Invalid::to_serde_message`].
    pub fn from_serde_message(text: &str) -> Option<(String, String)> {
        let rest = text.strip_prefix('[')?;
        let (code, message) = rest.split_once("] ")?;
        // serde_json appends " at line L column C"; the field path already says where.
        let message = match message.rfind(" at line ") {
            Some(index) => &message[..index],
            None => message,
        };
        Some((code.to_string(), message.to_string()))
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// Every refused value of one command, each with its field (as the API names it: `head_name`,
/// `address.rt`), in the order they were checked. A form shows them all beside their fields; the
/// API answers with the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusals(Vec<(&'static str, Invalid)>);

impl Refusals {
    /// Refusals of one field.
    pub fn one(field: &'static str, invalid: Invalid) -> Self {
        Self(vec![(field, invalid)])
    }

    pub fn add(&mut self, field: &'static str, invalid: Invalid) {
        self.0.push((field, invalid));
    }

    /// Keeps every refusal of `other` too; the value, or `None` if there were some.
    pub fn merge<T>(&mut self, result: Result<T, Refusals>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(other) => {
                self.0.extend(other.0);
                None
            }
        }
    }

    /// The value, or `None` with its refusal kept under `field`.
    pub fn check<T>(&mut self, field: &'static str, result: Result<T, Invalid>) -> Option<T> {
        result.map_err(|invalid| self.add(field, invalid)).ok()
    }

    /// Each refused field in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Invalid)> {
        self.0.iter().map(|(field, invalid)| (*field, invalid))
    }

    /// The first refusal (what the API answers with).
    pub fn first(&self) -> Option<(&'static str, &Invalid)> {
        self.iter().next()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was refused and `value` could be built, else the refusals.
    pub fn or_value<T>(self, value: Option<T>) -> Result<T, Refusals> {
        match value {
            Some(value) if self.is_empty() => Ok(value),
            _ => Err(self),
        }
    }
}

impl fmt::Display for Refusals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (field, invalid)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {invalid}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusals {}

/// Implements `Deserialize` for a newtype through its `FromStr`-like parser, turning an [`Invalid`]
/// into a serde error that keeps the stable code.
#[macro_export]
macro_rules! deserialize_via_parse {
    ($type:ty, $expecting:expr) => {
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $type;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<$type, E> {
                        <$type>::parse(value)
                            .map_err(|invalid| E::custom(invalid.to_serde_message()))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_survives_a_trip_through_serde_text() {
        let invalid = Invalid::new("invalid_pan", "bad digits");
        let text = format!("{} at line 1 column 9", invalid.to_serde_message());
        assert_eq!(
            Invalid::from_serde_message(&text),
            Some(("invalid_pan".into(), "bad digits".into()))
        );
        assert_eq!(Invalid::from_serde_message("plain text"), None);
    }
}
