//! The languages the web application speaks. Indonesian first: it is what the city's staff, the
//! kiosks and the households read.

use crate::string_enum;

string_enum!(
    /// A user's language, by its ISO 639-1 code: `id` Bahasa Indonesia, `en` English. (The
    /// variants are named as their codes because the OpenAPI document spells them that way.)
    Locale, "invalid_locale", {
        Id => "id",
        En => "en",
    }
);

// `string_enum!` declares the enum, so `#[derive(Default)]` has no variant to mark.
#[allow(clippy::derivable_impls)]
impl Default for Locale {
    /// Indonesian unless the user chose otherwise.
    fn default() -> Self {
        Locale::Id
    }
}
