//! Forms: errors shown beside the field they concern, in the user's language.

use crate::{domain::Invalid, web::i18n::Tr};

/// The errors of a submitted form, by field name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    /// Adds the refusal of a value, in words of the user's language where there are some.
    pub fn invalid(&mut self, tr: &Tr, field: &'static str, invalid: &Invalid) {
        self.add(field, describe(tr, invalid));
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

/// A refused value in words: the text keyed `invalid-CODE` (`-` for `_`), else the domain's own
/// (English) message.
pub fn describe(tr: &Tr, invalid: &Invalid) -> String {
    let key = format!("invalid-{}", invalid.code.replace('_', "-"));
    if tr.has(&key) {
        tr.t(&key)
    } else {
        invalid.message.clone()
    }
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
