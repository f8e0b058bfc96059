//! Forms: errors shown beside the field they concern, in the user's language.

use crate::{domain::Invalid, web::i18n::Tr};

/// A form with nothing typed into it: a confirmation's button (its token is the extractor's).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NoFields {}

/// The errors of a submitted form, by field name (`form` for the form as a whole), in the
/// order the form shows its fields.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: String) {
        self.0.push((field.to_string(), message));
    }

    /// Each (field, message), for the summary at the top of a refused form.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(field, message)| (field.as_str(), message.as_str()))
    }

    /// Adds the refusal of a value, in words of the user's language where there are some.
    pub fn invalid(&mut self, tr: &Tr, field: &str, invalid: &Invalid) {
        self.add(field, describe(tr, invalid));
    }

    /// Adds a command's refusals (`crate::domain::Refusals`, fields named as the API names
    /// them) beside the form's fields: `field` gives the form's name of each (an address part
    /// `address.rt` is the form's `rt`, say).
    pub fn refusals(
        &mut self,
        tr: &Tr,
        refusals: &crate::domain::Refusals,
        field: impl Fn(&'static str) -> &'static str,
    ) {
        for (name, invalid) in refusals.iter() {
            self.invalid(tr, field(name), invalid);
        }
    }

    /// The value, or `None` with its refusal added beside `field`.
    pub fn check<T>(&mut self, tr: &Tr, field: &str, result: Result<T, Invalid>) -> Option<T> {
        result
            .map_err(|invalid| self.invalid(tr, field, &invalid))
            .ok()
    }

    /// The error of `field`, if any.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The form's name of an address part (`address.rt` → `rt`); any other field keeps its name.
pub fn address_field(field: &'static str) -> &'static str {
    field.strip_prefix("address.").unwrap_or(field)
}

/// A refused value in words: the text keyed `invalid-CODE` (`-` for `_`) with the refusal's
/// values. Every code has one in both languages (a unit test reads the sources for codes).
pub fn describe(tr: &Tr, invalid: &Invalid) -> String {
    tr.with_args(&invalid_key(invalid.code), &invalid.args)
}

/// The text key of a refusal code.
pub fn invalid_key(code: &str) -> String {
    format!("invalid-{}", code.replace('_', "-"))
}

/// A posted form, as `axum::Form` reads it; a body that does not parse is answered with the
/// error page (400), not the extractor's plain text.
pub struct PageForm<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for PageForm<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = crate::web::error::WebError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(value)| PageForm(value))
            .map_err(|_| crate::web::error::WebError::BadForm)
    }
}

/// A value of the page's address (an id, a date), as `axum::extract::Path` reads it; an address
/// that does not parse is a page that does not exist (404 page), not the extractor's plain text.
pub struct PagePath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for PagePath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = crate::web::error::WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PagePath(value))
            .map_err(|_| crate::web::error::WebError::NotFound)
    }
}

/// A rupiah amount as people in Samarinda write it: `13.500`, `Rp 1.250.000`, `200000` or
/// `13.500,50` (dots group thousands, a comma starts the sen). Read into the API's canonical
/// decimal text (`13500`, `13500.50`), which `Amount::parse` then checks for sign and range.
/// A dot followed by anything but groups of three digits is refused rather than guessed at:
/// `13.5` could be a typo of either convention.
pub fn rupiah_text(typed: &str) -> Result<String, Invalid> {
    let refused = || {
        Invalid::new(
            "invalid_rupiah",
            "write the amount in rupiah, e.g. 13.500 or 13500",
        )
    };
    let text = typed.trim();
    let text = text
        .strip_prefix("Rp")
        .or_else(|| text.strip_prefix("rp"))
        .unwrap_or(text)
        .trim();
    let (whole, sen) = match text.split_once(',') {
        Some((whole, sen)) => (whole, Some(sen)),
        None => (text, None),
    };
    let mut groups = whole.split('.');
    let first = groups.next().unwrap_or("");
    let first_ok = !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_digit())
        && (first.len() <= 3 || !whole.contains('.'));
    let rest: Vec<&str> = groups.collect();
    let rest_ok = rest
        .iter()
        .all(|group| group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit()));
    let sen_ok = sen
        .is_none_or(|sen| (1..=2).contains(&sen.len()) && sen.bytes().all(|b| b.is_ascii_digit()));
    if !(first_ok && rest_ok && sen_ok) {
        return Err(refused());
    }
    let digits: String = std::iter::once(first).chain(rest).collect();
    Ok(match sen {
        Some(sen) => format!("{digits}.{sen}"),
        None => digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refusal code the sources can produce: `Invalid::new("code", …)`, the codes the
    /// value macros are given (`string_enum!`, `sixteen_digit_number!`) and the quota file's
    /// line error codes (`code: "…".into()`).
    fn refusal_codes() -> std::collections::BTreeSet<String> {
        fn quoted_after(text: &str, marker: &str, within: usize) -> Vec<String> {
            text.match_indices(marker)
                .filter_map(|(at, _)| {
                    let rest = &text[at + marker.len()..];
                    let rest = &rest[..rest.len().min(within)];
                    let start = rest.find('"')? + 1;
                    let end = start + rest[start..].find('"')?;
                    let code = &rest[start..end];
                    code.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                        .then(|| code.to_string())
                })
                .collect()
        }
        let mut codes = std::collections::BTreeSet::new();
        for (path, text) in crate::web::source_files::rust_sources("") {
            let text = text.as_str();
            codes.extend(quoted_after(text, "Invalid::new(", 80));
            for marker in ["string_enum!(", "sixteen_digit_number!("] {
                for (at, _) in text.match_indices(marker) {
                    // The code is the first quoted text after the type's name.
                    let rest = &text[at..];
                    let rest = &rest[rest.find(',').unwrap_or(0)..];
                    codes.extend(quoted_after(rest, ",", 40).into_iter().take(1));
                }
            }
            // A quota file's line errors (stored with the batch, shown on its page).
            if path.to_string_lossy().contains("quota") {
                for (at, _) in text.match_indices("code: \"") {
                    let rest = &text[at + "code: \"".len()..];
                    if let Some(end) = rest.find("\".into()") {
                        codes.insert(rest[..end].to_string());
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_refusal_code_has_words_in_both_languages() {
        let codes = refusal_codes();
        for expected in [
            "invalid_pin",
            "invalid_kk_number",
            "invalid_role",
            "wrong_field_count",
        ] {
            assert!(codes.contains(expected), "{expected} in {codes:?}");
        }
        for locale in [
            crate::domain::locale::Locale::Id,
            crate::domain::locale::Locale::En,
        ] {
            let tr = Tr::new(locale);
            let missing: Vec<&String> = codes
                .iter()
                .filter(|code| !tr.has(&invalid_key(code)))
                .collect();
            assert!(
                missing.is_empty(),
                "{}: no words for {missing:?}",
                locale.as_str()
            );
        }
    }

    #[test]
    fn rupiah_is_read_the_way_it_is_written_in_indonesia() {
        for (typed, canonical) in [
            ("13500", "13500"),
            ("13.500", "13500"),
            ("Rp 1.250.000", "1250000"),
            ("rp200.000", "200000"),
            (" 13.500,5 ", "13500.5"),
            ("13500,50", "13500.50"),
            ("0", "0"),
        ] {
            assert_eq!(rupiah_text(typed).as_deref(), Ok(canonical), "{typed}");
        }
        for refused in [
            "",
            "Rp",
            "13.5",
            "13500.50",
            "1.2345",
            "1234.567",
            "13,500.00",
            "-5",
            "1e5",
            "13.500,505",
            "13..500",
            ".500",
        ] {
            let error = rupiah_text(refused).expect_err(refused);
            assert_eq!(error.code, "invalid_rupiah");
        }
    }
}
