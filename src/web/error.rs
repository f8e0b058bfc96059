//! What can go wrong on a page, mapped to a response in one place. Errors become an HTML page
//! that shows the request id (`render_errors` fills it in, as only the middleware sees it).

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use crate::{domain::locale::Locale, store::StoreError};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No live session: the browser goes to the login page.
    #[error("sign in first")]
    SignIn,
    /// A form sent after its session ended: to the login page, carrying the form in this
    /// `Set-Cookie` value (see `signed_form`).
    #[error("sign in again to send the form")]
    SignInToResume(String),
    /// The role may not do this, or an operator reached for another E-Warung.
    #[error("not allowed")]
    Forbidden,
    /// A form without this session's CSRF token.
    #[error("the form is out of date")]
    BadCsrf,
    #[error("not found")]
    NotFound,
    /// A value the form sent was refused; the text key says why.
    #[error("refused: {0}")]
    Unprocessable(&'static str),
    /// A form the browser could not have sent (a broken multipart body).
    #[error("the form could not be read")]
    BadForm,
    /// What the page asked for happened already or no longer applies; the text key says what.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A failure that is not the user's (the detail goes to the log, never to the page).
    #[error("internal: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the page could not be drawn: {0}")]
    Render(#[from] askama::Error),
}

/// An error page to draw: its status, the text's key, and the language to draw it in.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message_key: &'static str,
    pub locale: Locale,
}

impl WebError {
    fn page(&self) -> (StatusCode, &'static str) {
        match self {
            WebError::SignIn | WebError::SignInToResume(_) => {
                (StatusCode::SEE_OTHER, "error-sign-in")
            }
            WebError::Forbidden => (StatusCode::FORBIDDEN, "error-forbidden"),
            WebError::BadCsrf => (StatusCode::FORBIDDEN, "error-csrf"),
            WebError::NotFound => (StatusCode::NOT_FOUND, "error-not-found"),
            WebError::BadForm => (StatusCode::BAD_REQUEST, "error-bad-form"),
            WebError::Unprocessable(key) => (StatusCode::UNPROCESSABLE_ENTITY, key),
            WebError::Conflict(key) => (StatusCode::CONFLICT, key),
            WebError::Store(StoreError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, "error-not-found")
            }
            WebError::Store(
                StoreError::StateConflict { .. }
                | StoreError::LostRace(_)
                | StoreError::StaleRevision { .. },
            ) => (StatusCode::CONFLICT, "error-conflict"),
            WebError::Store(_) | WebError::Render(_) | WebError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "error-internal")
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn => return Redirect::to("/login").into_response(),
            WebError::SignInToResume(cookie) => {
                return ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
            }
            _ => {}
        }
        let (status, message_key) = self.page();
        if status.is_server_error() {
            tracing::error!(error = %self, "page failed");
        } else {
            tracing::info!(error = %self, "page refused");
        }
        let mut response =
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")]).into_response();
        response.extensions_mut().insert(ErrorPage {
            status,
            message_key,
            locale: Locale::default(),
        });
        response
    }
}

// What a registry service answers that is not a form's to show (a refused value is shown beside
// its field by `web::refusals`): a missing record is the 404 page, a conflict says so, a
// failure below is the error page.

impl From<crate::registry::households::HouseholdError> for WebError {
    fn from(error: crate::registry::households::HouseholdError) -> Self {
        use crate::registry::households::HouseholdError;
        match error {
            HouseholdError::NotFound => WebError::NotFound,
            HouseholdError::Store(store) => store.into(),
            HouseholdError::Stale { .. } => WebError::Conflict("invalid-stale"),
            HouseholdError::KkNumberRegistered => WebError::Conflict("invalid-duplicate-kk"),
            HouseholdError::NikInOtherHousehold(_) => WebError::Conflict("invalid-nik-elsewhere"),
            HouseholdError::Refused(refusals) => WebError::Internal(refusals.to_string()),
        }
    }
}

impl From<crate::registry::users::UserError> for WebError {
    fn from(error: crate::registry::users::UserError) -> Self {
        use crate::registry::users::UserError;
        match error {
            UserError::NotFound | UserError::EwarungNotFound => WebError::NotFound,
            UserError::Store(store) => store.into(),
            UserError::UsernameTaken => WebError::Conflict("users-taken"),
            UserError::NotYourself => WebError::Conflict("users-not-yourself"),
            UserError::Busy => WebError::Conflict("login-busy"),
            UserError::Refused(refusals) => WebError::Internal(refusals.to_string()),
            UserError::Hashing(why) => WebError::Internal(why),
        }
    }
}

impl From<crate::registry::programs::ProgramError> for WebError {
    fn from(error: crate::registry::programs::ProgramError) -> Self {
        use crate::registry::programs::ProgramError;
        match error {
            ProgramError::ProgramNotFound | ProgramError::ItemNotFound => WebError::NotFound,
            ProgramError::Store(store) => store.into(),
            ProgramError::CodeTaken => WebError::Conflict("programs-code-taken"),
            ProgramError::SkuTaken => WebError::Conflict("programs-sku-taken"),
            ProgramError::Refused(refusals) => WebError::Internal(refusals.to_string()),
        }
    }
}

impl From<crate::registry::ewarungs::EwarungError> for WebError {
    fn from(error: crate::registry::ewarungs::EwarungError) -> Self {
        use crate::registry::ewarungs::EwarungError;
        match error {
            EwarungError::EwarungNotFound | EwarungError::TerminalNotFound => WebError::NotFound,
            EwarungError::Store(store) => store.into(),
            EwarungError::BankAccountTaken => WebError::Conflict("ewarungs-account-taken"),
            EwarungError::TerminalIdTaken => WebError::Conflict("terminals-taken"),
            EwarungError::SerialNumberTaken => WebError::Conflict("terminals-serial-taken"),
            EwarungError::TerminalState { .. } => WebError::Conflict("status-terminal-retired"),
            EwarungError::Refused(refusals) => WebError::Internal(refusals.to_string()),
        }
    }
}
