//! Post/redirect/get for refused forms. A refused form is not drawn as the answer to its POST:
//! its errors and what was typed (never a password, a PIN or the CSRF token: those fields are
//! not kept) are kept for the session (`web_flashes`), and the browser is sent back to the
//! form's own address, which draws them once. So Back, reload and a second tab never offer to
//! resubmit a form, and the address bar always shows a page that can be opened again.
//!
//! The typed values are kept as the form sent them (URL-encoded), so that a form whose session
//! ended can be put back the same way after the clerk signs in again (`signed_form`).

use axum::response::{IntoResponse, Redirect, Response};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{
    http::state::AppState,
    web::{error::WebError, form::FieldErrors, session::SignedIn},
};

/// Form fields never kept: secrets, and the token that must come from the page itself.
pub const NEVER_KEPT: [&str; 7] = [
    "csrf",
    "password",
    "password_again",
    "pin",
    "pin_again",
    "current_pin",
    "new_pin",
];

/// What a refused form left for its next view: the errors and the typed values.
#[derive(Debug)]
pub struct Flash<T> {
    pub errors: FieldErrors,
    pub form: T,
}

/// How a flash is stored.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stored {
    pub errors: FieldErrors,
    /// The typed values, URL-encoded, secrets left out.
    pub form: String,
}

/// `pairs` URL-encoded, without the fields that are never kept.
pub fn keepable(pairs: &[(String, String)]) -> String {
    let kept: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(name, _)| !NEVER_KEPT.contains(&name.as_str()))
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// Keeps `stored` for the session's next view of `path`.
pub async fn keep(
    state: &AppState,
    token_hash: &[u8],
    path: &str,
    stored: &Stored,
) -> Result<(), WebError> {
    let payload =
        serde_json::to_string(stored).map_err(|error| WebError::Internal(error.to_string()))?;
    state
        .store
        .sessions()
        .put_flash(token_hash, path, &payload, crate::store::now())
        .await?;
    Ok(())
}

/// Keeps `errors` and `form` for the session's next view of `path` and sends the browser there
/// (303 See Other: the browser follows with a GET).
pub async fn refused<T: Serialize>(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
    errors: FieldErrors,
    form: T,
) -> Result<Response, WebError> {
    let encoded = serde_urlencoded::to_string(&form)
        .map_err(|error| WebError::Internal(error.to_string()))?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&encoded).unwrap_or_default();
    let stored = Stored {
        errors,
        form: keepable(&pairs),
    };
    keep(state, &signed.token_hash, path, &stored).await?;
    Ok(Redirect::to(path).into_response())
}

/// Keeps what a done action leaves for the session's next view of `path` (a notice of what
/// was done, a one-time grant to show something) and sends the browser there.
pub async fn done<T: Serialize>(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
    left: T,
) -> Result<Response, WebError> {
    refused(state, signed, path, FieldErrors::default(), left).await
}

/// The flash a refused form left for `path`, taken so that a reload shows the form afresh.
pub async fn take<T: DeserializeOwned>(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
) -> Result<Option<Flash<T>>, WebError> {
    let Some(payload) = state
        .store
        .sessions()
        .take_flash(&signed.token_hash, path)
        .await?
    else {
        return Ok(None);
    };
    // A flash written by an older release may not fit today's form: show the form afresh.
    let Ok(stored) = serde_json::from_str::<Stored>(&payload) else {
        return Ok(None);
    };
    Ok(serde_urlencoded::from_str(&stored.form)
        .ok()
        .map(|form| Flash {
            errors: stored.errors,
            form,
        }))
}
