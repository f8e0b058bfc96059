//! Login, logout and the language switch.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::web::form::PageForm;
use crate::{
    domain::locale::Locale,
    http::{auth::ClientAddress, state::AppState},
    login::LoginError,
    web::{
        error::WebError,
        flash,
        form::FieldErrors,
        i18n::Tr,
        session::{self, SignedIn},
        signed_form::{Resume, RESUME_COOKIE},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "login.html", config = "src/web/askama.toml")]
pub struct LoginPage {
    tr: Tr,
    csrf: String,
    username: String,
    error: Option<String>,
    /// A form sent after the session ended waits for this sign-in.
    resuming: bool,
}

/// The login form. It carries a token that must come back both in the form and in a cookie (a
/// site that is not ours can set neither). The browser's token is kept while it lives, so that
/// login forms open in two tabs both work.
pub async fn form(headers: HeaderMap) -> Response {
    let csrf = login_token(&headers);
    let page = LoginPage {
        tr: Tr::new(Locale::default()),
        csrf: csrf.clone(),
        username: String::new(),
        error: None,
        resuming: resume_of(&headers).is_some(),
    };
    login_response(
        page,
        &csrf,
        session::over_tls(&headers),
        axum::http::StatusCode::OK,
    )
}

/// The form that waits for this sign-in, if any (`signed_form`).
fn resume_of(headers: &HeaderMap) -> Option<Resume> {
    session::read_cookie(headers, RESUME_COOKIE).and_then(|cookie| Resume::decode(&cookie))
}

/// The browser's login token if it has a well-formed one, else a new one.
fn login_token(headers: &HeaderMap) -> String {
    session::read_cookie(headers, session::LOGIN_CSRF_COOKIE)
        .filter(|token| token.len() == session::new_token().len())
        .unwrap_or_else(session::new_token)
}

fn login_response(
    page: LoginPage,
    csrf: &str,
    secure: bool,
    status: axum::http::StatusCode,
) -> Response {
    let cookie = session::cookie(
        session::LOGIN_CSRF_COOKIE,
        Some(csrf),
        secure,
        chrono::Duration::hours(1),
    );
    (status, [(header::SET_COOKIE, cookie)], page).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, WebError> {
    let secure = session::over_tls(&headers);
    let tr = Tr::new(Locale::default());
    let refused = |message: String, status| {
        let csrf = login_token(&headers);
        let page = LoginPage {
            tr,
            csrf: csrf.clone(),
            username: form.username.clone(),
            error: Some(message),
            resuming: false,
        };
        Ok(login_response(page, &csrf, secure, status))
    };
    let expected = session::read_cookie(&headers, session::LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same_secret(&form.csrf, &expected) {
        // An old login page (its cookie ended) or a forged one: nothing is checked, and the
        // form is shown again, ready to be sent, with what happened in words.
        let fresh = session::new_token();
        let page = LoginPage {
            tr,
            csrf: fresh.clone(),
            username: form.username.clone(),
            error: Some(tr.t("login-expired")),
            resuming: false,
        };
        return Ok(login_response(
            page,
            &fresh,
            secure,
            axum::http::StatusCode::FORBIDDEN,
        ));
    }
    // The same path as the API's token login: the same throttle, the same password workers.
    let user = match state
        .logins
        .check(
            state.store.as_ref(),
            &form.username,
            form.password.clone(),
            address,
        )
        .await
    {
        Ok(user) => user,
        Err(LoginError::Refused) => {
            return refused(tr.t("login-refused"), axum::http::StatusCode::UNAUTHORIZED)
        }
        Err(LoginError::Throttled { retry_after }) => {
            let seconds = retry_after.as_secs().max(1).to_string();
            return refused(
                tr.t1("login-throttled", "seconds", &seconds),
                axum::http::StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Err(LoginError::Overloaded(_)) => {
            return refused(
                tr.t("login-busy"),
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        Err(LoginError::Store(error)) => return Err(error.into()),
    };
    let now = crate::store::now();
    let sessions = state.store.sessions();
    // A new login never reuses a token the browser already had.
    if let Some(old) = session::read_cookie(&headers, session::COOKIE) {
        sessions
            .revoke_session(&session::token_hash(&old), now)
            .await?;
    }
    let (token, record) = session::start(&user, now);
    sessions.create_session(&record).await?;
    tracing::info!(user = %user.username, role = %user.role, "web login");
    // A form sent after the last session ended: back to its page, filled in as it was sent.
    let to = match resume_of(&headers) {
        Some(resume) => {
            let page = resume.path.split('?').next().unwrap_or("/").to_string();
            let mut errors = FieldErrors::default();
            errors.add("form", Tr::new(user.locale).t("session-resumed"));
            let stored = flash::Stored {
                errors,
                form: resume.form,
            };
            flash::keep(&state, &record.token_hash, &page, &stored).await?;
            resume.path
        }
        None => "/".to_string(),
    };
    let mut response = Redirect::to(&to).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        session::cookie(RESUME_COOKIE, None, secure, chrono::Duration::zero())
            .parse()
            .expect("a cookie is a valid header"),
    );
    cookies.append(
        header::SET_COOKIE,
        session::cookie(session::COOKIE, Some(&token), secure, session::ABSOLUTE)
            .parse()
            .expect("a cookie is a valid header"),
    );
    // The login token stays: another tab's login form still carries it.
    Ok(response)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    state
        .store
        .sessions()
        .revoke_session(&signed.token_hash, crate::store::now())
        .await?;
    tracing::info!(user = %signed.user.username, "web logout");
    let cookie = session::cookie(
        session::COOKIE,
        None,
        session::over_tls(&headers),
        chrono::Duration::zero(),
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

#[derive(Deserialize)]
pub struct LocaleForm {
    #[serde(default)]
    csrf: String,
    locale: String,
}

/// Switches the user's language and keeps it for their next visits.
pub async fn switch_locale(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    PageForm(form): PageForm<LocaleForm>,
) -> Result<Redirect, WebError> {
    signed.check_csrf(&form.csrf)?;
    let locale = Locale::parse(&form.locale).map_err(|_| WebError::NotFound)?;
    state
        .store
        .sessions()
        .set_locale(signed.user.id, locale)
        .await?;
    // Back to the page the switch was pressed on, if it was ours.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| referer.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|at| rest[at..].to_string()))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/".to_string());
    Ok(Redirect::to(&back))
}
