//! Signing in to the web application: a session cookie, its lifetimes, and the CSRF token every
//! form carries.
//!
//! The cookie holds 32 random bytes; the database keeps only their SHA-256, so neither a copy of
//! the sessions table nor a log line can sign anybody in. A session ends after [`IDLE`] without
//! a request, [`ABSOLUTE`] after login whatever happens, at logout, and as soon as its user is
//! disabled. A new login always gets a new token (the old one, if the browser sent it, ends).

use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{
    domain::{
        ids::EwarungId,
        role::{Permission, Role},
    },
    http::state::AppState,
    model::records::{UserRecord, WebSessionRecord},
    web::{error::WebError, i18n::Tr},
};

/// The session cookie's name.
pub const COOKIE: &str = "ssn_session";
/// The login form's double-submit cookie (there is no session to hold its token yet).
pub const LOGIN_CSRF_COOKIE: &str = "ssn_login_csrf";
/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::minutes(30);
/// A session ends this long after login, however busy.
pub const ABSOLUTE: Duration = Duration::hours(12);
/// Activity is written at most this often (a page view need not be a write each time).
const TOUCH_AFTER: Duration = Duration::seconds(60);

/// A new random token, as the cookie carries it.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new session for `user`, starting `now`, and the token for its cookie.
pub fn start(user: &UserRecord, now: DateTime<Utc>) -> (String, WebSessionRecord) {
    let token = new_token();
    let record = WebSessionRecord {
        token_hash: token_hash(&token),
        user_id: user.id,
        csrf_token: new_token(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ABSOLUTE,
        revoked_at: None,
    };
    (token, record)
}

/// Why a session no longer signs its browser in, if it does not.
pub fn ended(
    session: &WebSessionRecord,
    user: &UserRecord,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if session.revoked_at.is_some() {
        Some("revoked")
    } else if now >= session.expires_at {
        Some("expired")
    } else if now - session.last_seen_at >= IDLE {
        Some("idle")
    } else if user.disabled_at.is_some() {
        Some("user disabled")
    } else {
        None
    }
}

/// How often ended sessions are deleted.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes every session that can no longer sign anybody in, in batches; answers how many.
/// A deleted session and an ended one look the same to a browser: back to the login page.
pub async fn sweep_ended(
    sessions: &dyn crate::store::SessionStore,
    now: DateTime<Utc>,
) -> crate::store::StoreResult<u64> {
    const BATCH: u32 = 500;
    let mut total = 0;
    loop {
        let deleted = sessions
            .delete_ended_sessions(now, now - IDLE, BATCH)
            .await?;
        total += deleted;
        if deleted < u64::from(BATCH) {
            return Ok(total);
        }
    }
}

/// Runs [`sweep_ended`] every `every` until the process stops.
pub fn spawn_sweeper(
    store: std::sync::Arc<dyn crate::store::Store>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::every(every, move || {
        let store = store.clone();
        async move {
            match sweep_ended(store.sessions(), Utc::now()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted ended web sessions"),
                Err(error) => tracing::warn!(%error, "web session sweep failed; will retry"),
            }
        }
    })
}

/// The `Set-Cookie` value for a session token (`None`: clear it).
pub fn cookie(name: &str, token: Option<&str>, secure: bool, lifetime: Duration) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(token) => format!(
            "{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            lifetime.num_seconds()
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so), so that
/// cookies are marked `Secure`.
pub fn over_tls(parts: &axum::http::HeaderMap) -> bool {
    parts
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The value of cookie `name` in the request, if sent.
pub fn read_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// A signed-in user, for a page handler. Extracting it fails with a redirect to the login page
/// when the browser has no live session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserRecord,
    csrf_token: String,
    pub token_hash: Vec<u8>,
}

impl SignedIn {
    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn tr(&self) -> Tr {
        Tr::new(self.user.locale)
    }

    /// The token this session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf_token
    }

    /// The same permission check as the API's (`Role::may`).
    pub fn require(&self, permission: Permission) -> Result<(), WebError> {
        if self.user.role.may(permission) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// The households this user reaches (a verifier: their kelurahan's); 403 for a role that
    /// reads none.
    pub async fn reach(
        &self,
        state: &crate::http::state::AppState,
    ) -> Result<crate::registry::reach::Reach, WebError> {
        use crate::registry::reach::Reach;
        match Reach::of(state.store.as_ref(), self.user.id, self.user.role).await? {
            Reach::Nowhere => Err(WebError::Forbidden),
            reach => Ok(reach),
        }
    }

    /// The household `id` if this user reaches it: 404 when there is none, 403 when it is
    /// outside a verifier's kelurahan.
    pub async fn reach_household(
        &self,
        state: &crate::http::state::AppState,
        id: uuid::Uuid,
    ) -> Result<crate::store::HouseholdRecord, WebError> {
        let reach = self.reach(state).await?;
        let household = state
            .store
            .get_household(crate::domain::ids::HouseholdId(id))
            .await?
            .ok_or(WebError::NotFound)?;
        if reach.covers(&household.address.kelurahan) {
            Ok(household)
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// An operator only ever sees their own E-Warung.
    pub fn require_ewarung(&self, ewarung: EwarungId) -> Result<(), WebError> {
        if self.user.role.is_bound_to_ewarung() && self.user.ewarung_id != Some(ewarung) {
            Err(WebError::Forbidden)
        } else {
            Ok(())
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        if same_secret(sent, &self.csrf_token) {
            Ok(())
        } else {
            Err(WebError::BadCsrf)
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let token = read_cookie(&parts.headers, COOKIE).ok_or(WebError::SignIn)?;
        let hash = token_hash(&token);
        let sessions = state.store.sessions();
        let session = sessions
            .find_session(&hash)
            .await?
            .ok_or(WebError::SignIn)?;
        let user = sessions
            .find_user(session.user_id)
            .await?
            .ok_or(WebError::SignIn)?;
        let now = crate::store::now();
        if let Some(reason) = ended(&session, &user, now) {
            tracing::info!(user = %user.username, reason, "web session ended");
            return Err(WebError::SignIn);
        }
        if now - session.last_seen_at >= TOUCH_AFTER {
            sessions.touch_session(&hash, now).await?;
        }
        Ok(SignedIn {
            user,
            csrf_token: session.csrf_token,
            token_hash: hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserRecord {
        UserRecord {
            id: crate::domain::ids::UserId(uuid::Uuid::now_v7()),
            username: "siti".into(),
            password_hash: String::new(),
            role: Role::Office,
            ewarung_id: None,
            created_at: Utc::now(),
            locale: Default::default(),
            disabled_at: None,
            token_generation: 0,
            kelurahan: Vec::new(),
            nik: None,
        }
    }

    #[test]
    fn a_session_ends_when_idle_expired_revoked_or_its_user_disabled() {
        let now = Utc::now();
        let mut user = user();
        let (token, session) = start(&user, now);
        assert_eq!(session.token_hash, token_hash(&token));
        assert_ne!(session.token_hash, token.as_bytes());
        assert_eq!(ended(&session, &user, now + Duration::minutes(29)), None);
        assert_eq!(ended(&session, &user, now + IDLE), Some("idle"));
        let busy = WebSessionRecord {
            last_seen_at: now + Duration::hours(12) - Duration::minutes(1),
            ..session.clone()
        };
        assert_eq!(ended(&busy, &user, now + ABSOLUTE), Some("expired"));
        let revoked = WebSessionRecord {
            revoked_at: Some(now),
            ..session.clone()
        };
        assert_eq!(ended(&revoked, &user, now), Some("revoked"));
        user.disabled_at = Some(now);
        assert_eq!(ended(&session, &user, now), Some("user disabled"));
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..42]));
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let set = cookie(COOKIE, Some("abc"), true, ABSOLUTE);
        assert_eq!(
            set,
            "ssn_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("cookie", "a=1; ssn_session=xyz; b=2".parse().unwrap());
        assert_eq!(read_cookie(&headers, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(read_cookie(&headers, "c"), None);
    }
}
