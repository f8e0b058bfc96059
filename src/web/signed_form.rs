//! A form posted by a signed-in user, its CSRF token checked: what every page's form handler
//! takes (`SignedForm<Fields>`), so that no handler can forget the check.
//!
//! A form sent after its session ended (idle, expired) is not lost: what was typed, secrets
//! left out, goes into a short-lived cookie for the login page, and after signing in the clerk
//! is back on the form's page with it filled in and a word on what happened.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{
    http::state::AppState,
    web::{error::WebError, flash, session},
};

/// The cookie that carries a form across a new sign-in.
pub const RESUME_COOKIE: &str = "ssn_resume";
/// How long a form waits for its clerk to sign in again.
const RESUME_FOR: chrono::Duration = chrono::Duration::minutes(30);
/// The most a resumed form keeps (a cookie holds about 4 KiB).
const RESUME_BYTES: usize = 3_000;
/// The largest form body a page posts (file uploads are multipart and do not come here).
const FORM_BYTES: usize = 64 * 1024;

pub struct SignedForm<T> {
    pub signed: session::SignedIn,
    pub form: T,
}

/// A form waiting for its clerk to sign in again: the page it came from, what was typed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resume {
    pub path: String,
    pub form: String,
}

impl Resume {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The resume a cookie carries, if it is one and points at a page of this site.
    pub fn decode(cookie: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cookie).ok()?;
        let resume: Resume = serde_json::from_slice(&bytes).ok()?;
        is_own_page(&resume.path).then_some(resume)
    }
}

/// A path of this site (not `//host/…`, which a browser reads as another site).
fn is_own_page(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')
}

/// The page a form was sent from: the `Referer` if it is this site's, else the address posted
/// to (most forms post to their own page).
fn form_page(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let referer = parts
        .headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| {
            let rest = referer.split_once("://")?.1;
            let (authority, path) = rest.split_at(rest.find('/')?);
            (Some(authority) == host).then(|| path.to_string())
        });
    referer
        .filter(|path| is_own_page(path))
        .unwrap_or_else(|| parts.uri.path().to_string())
}

/// The `Set-Cookie` that carries `resume` to the login page.
fn resume_cookie(resume: &Resume, secure: bool) -> String {
    let mut resume = Resume {
        path: resume.path.clone(),
        form: resume.form.clone(),
    };
    if resume.encode().len() > RESUME_BYTES {
        // Too much to carry: back to the page, empty.
        resume.form.clear();
    }
    session::cookie(RESUME_COOKIE, Some(&resume.encode()), secure, RESUME_FOR)
}

impl<T> FromRequest<AppState> for SignedForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let signed = session::SignedIn::from_request_parts(&mut parts, state).await;
        let bytes = axum::body::to_bytes(body, FORM_BYTES)
            .await
            .map_err(|_| WebError::BadForm)?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| WebError::BadForm)?;
        let signed = match signed {
            Ok(signed) => signed,
            Err(WebError::SignIn) => {
                let resume = Resume {
                    path: form_page(&parts),
                    form: flash::keepable(&pairs),
                };
                let cookie = resume_cookie(&resume, session::over_tls(&parts.headers));
                return Err(WebError::SignInToResume(cookie));
            }
            Err(other) => return Err(other),
        };
        let csrf = pairs
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        signed.check_csrf(csrf)?;
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| WebError::BadForm)?;
        Ok(SignedForm { signed, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_points_only_at_this_site() {
        let own = Resume {
            path: "/households/new".into(),
            form: "name=Siti".into(),
        };
        let back = Resume::decode(&own.encode()).unwrap();
        assert_eq!(
            (back.path.as_str(), back.form.as_str()),
            ("/households/new", "name=Siti")
        );
        for elsewhere in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil",
            "households",
        ] {
            let resume = Resume {
                path: elsewhere.into(),
                form: String::new(),
            };
            assert!(Resume::decode(&resume.encode()).is_none(), "{elsewhere}");
        }
        assert!(Resume::decode("not base64 ~").is_none());
    }

    #[test]
    fn secrets_are_never_kept() {
        let pairs: Vec<(String, String)> = [
            ("csrf", "t"),
            ("name", "Siti"),
            ("password", "rahasia"),
            ("pin", "123456"),
            ("pin_again", "123456"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(flash::keepable(&pairs), "name=Siti");
    }
}
