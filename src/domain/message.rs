//! Words for a person, kept as a text key and its arguments: the front end that shows a refusal
//! puts it in its reader's language (the web pages through Fluent), so no rule below the pages
//! writes a sentence in one language.

/// A text key and the named values it quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// The message with one more named value.
    pub fn with(mut self, name: &'static str, value: impl std::fmt::Display) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}
