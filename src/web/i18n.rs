//! The web application's texts, through Project Fluent: one `.ftl` file per language in
//! `src/web/locales/`, compiled into the binary. Indonesian is the default; English is a switch
//! each user makes and keeps (`users.locale`).

use std::sync::LazyLock;

use fluent_bundle::{concurrent::FluentBundle, FluentArgs, FluentResource, FluentValue};

use crate::domain::locale::Locale;

const INDONESIAN: &str = include_str!("locales/id.ftl");
const ENGLISH: &str = include_str!("locales/en.ftl");

/// Both languages' bundles, parsed once.
pub struct Texts {
    indonesian: FluentBundle<FluentResource>,
    english: FluentBundle<FluentResource>,
}

static TEXTS: LazyLock<Texts> = LazyLock::new(|| Texts {
    indonesian: bundle("id", INDONESIAN),
    english: bundle("en", ENGLISH),
});

fn bundle(language: &str, source: &str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_string())
        .unwrap_or_else(|(_, errors)| panic!("locales/{language}.ftl does not parse: {errors:?}"));
    let id: unic_langid::LanguageIdentifier =
        language.parse().expect("a valid language identifier");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // The marks Fluent puts around placeholders would show up in HTML attributes and tests.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/{language}.ftl repeats a key: {errors:?}"));
    bundle
}

impl Texts {
    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        match locale {
            Locale::Id => &self.indonesian,
            Locale::En => &self.english,
        }
    }
}

/// The texts of one language, as a page's template reads them.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// The text of `key`; the key itself when missing (a test keeps that from shipping).
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The text of `key` with one named argument.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(value.to_string()));
        self.format(key, Some(&args))
    }

    /// The text of a message, with its arguments.
    pub fn message(&self, message: &crate::domain::message::Message) -> String {
        self.with_args(message.key, &message.args)
    }

    /// The text of `key` with named arguments.
    pub fn with_args(&self, key: &str, named: &[(&'static str, String)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in named {
            args.set(*name, FluentValue::from(value.clone()));
        }
        self.format(key, Some(&args))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let bundle = TEXTS.bundle(self.locale);
        let Some(pattern) = bundle.get_message(key).and_then(|message| message.value()) else {
            tracing::warn!(key, locale = %self.locale.as_str(), "missing text");
            return key.to_string();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, ?errors, "text formatted with errors");
        }
        text.into_owned()
    }

    /// Whether `key` has a text in this language.
    /// A form field's name in words (`label-NAME`), for the error summary; `None` for a field
    /// without one.
    pub fn field_label(&self, field: &str) -> Option<String> {
        let key = format!("label-{}", field.replace('_', "-"));
        self.has(&key).then(|| self.t(&key))
    }

    pub fn has(&self, key: &str) -> bool {
        TEXTS.bundle(self.locale).has_message(key)
    }

    /// The HTML `lang` of the page.
    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }
}

/// Every key a language file defines, in order.
pub fn keys(locale: Locale) -> Vec<String> {
    let source = match locale {
        Locale::Id => INDONESIAN,
        Locale::En => ENGLISH,
    };
    source
        .lines()
        .filter_map(|line| line.split_once(" ="))
        .map(|(key, _)| key.trim().to_string())
        .filter(|key| !key.is_empty() && !key.starts_with('#') && !key.starts_with(' '))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_define_the_same_keys() {
        let mut indonesian = keys(Locale::Id);
        let mut english = keys(Locale::En);
        assert!(indonesian.len() > 20, "{indonesian:?}");
        indonesian.sort();
        english.sort();
        assert_eq!(indonesian, english);
    }

    #[test]
    fn every_key_a_template_or_page_uses_is_defined() {
        let defined = keys(Locale::Id);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web");
        let mut used = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let name = path.to_string_lossy();
            if !(name.ends_with(".html") || name.ends_with(".rs")) || name.ends_with("i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in [".t(\"", ".t1(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    used.push((key.to_string(), name.to_string()));
                }
            }
        }
        assert!(used.len() > 20, "found {} uses", used.len());
        for (key, file) in used {
            assert!(
                defined.contains(&key),
                "{file} uses {key}, which no .ftl defines"
            );
        }
    }

    #[test]
    fn texts_come_in_the_users_language() {
        assert_eq!(Tr::new(Locale::Id).t("action-login"), "Masuk");
        assert_eq!(Tr::new(Locale::En).t("action-login"), "Sign in");
        assert_eq!(
            Tr::new(Locale::En).t1("login-throttled", "seconds", 30),
            "Too many failed attempts. Try again in 30 seconds."
        );
    }
}
