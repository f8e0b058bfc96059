//! Post/redirect/get for refused forms. A refused form is not drawn as the answer to its POST:
//! its errors and what was typed (never a password or a PIN: those fields are not serialised)
//! are kept for the session (`web_flashes`), and the browser is sent back to the form's own
//! address, which draws them once. So Back, reload and a second tab never offer to resubmit a
//! form, and the address bar always shows a page that can be opened again.

use axum::response::{IntoResponse, Redirect, Response};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{
    http::state::AppState,
    web::{error::WebError, form::FieldErrors, session::SignedIn},
};

/// What a refused form left for its next view: the errors and the typed values.
#[derive(Debug, Serialize, Deserialize)]
pub struct Flash<T> {
    pub errors: FieldErrors,
    pub form: T,
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
    let payload = serde_json::to_string(&Flash { errors, form })
        .map_err(|error| WebError::Internal(error.to_string()))?;
    state
        .store
        .sessions()
        .put_flash(&signed.token_hash, path, &payload, crate::store::now())
        .await?;
    Ok(Redirect::to(path).into_response())
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
    Ok(serde_json::from_str(&payload).ok())
}
