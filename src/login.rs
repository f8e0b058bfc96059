//! Signing in: the one path by which a user proves who they are, shared by the API's token login
//! and (later) the web application's session login, so both are throttled and bounded alike.
//! Failed logins are throttled per username, per username and client address, and slowed per
//! client address (`auth::login_throttle`),
//! password checks run on a bounded set of threads (`auth::password_workers`), and an unknown
//! username costs the same as a wrong password.

use std::{net::IpAddr, sync::Mutex, time::Duration};

use crate::{
    auth::{
        login_throttle::{LoginThrottle, ThrottlePolicy},
        password,
        password_workers::PasswordWorkers,
    },
    model::records::UserRecord,
    store::{Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("username or password is wrong")]
    Refused,
    /// Too many failed logins for this username or from this address.
    #[error("too many failed logins; try again in {} seconds", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Overloaded(#[from] crate::auth::password_workers::Overloaded),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Logins {
    workers: PasswordWorkers,
    throttle: Mutex<LoginThrottle>,
}

impl Logins {
    pub fn new(workers: PasswordWorkers, policy: ThrottlePolicy) -> Self {
        Self {
            workers,
            throttle: Mutex::new(LoginThrottle::new(policy)),
        }
    }

    /// The user whose username and password these are.
    pub async fn check(
        &self,
        store: &dyn Store,
        username: &str,
        candidate: String,
        address: Option<IpAddr>,
    ) -> Result<UserRecord, LoginError> {
        let now = std::time::Instant::now();
        if let Some(retry_after) = self.throttle().refusal(username, address, now) {
            tracing::info!(username, "login throttled");
            crate::metrics::metrics().login("throttled");
            return Err(LoginError::Throttled { retry_after });
        }
        if username.len() > crate::domain::username::MAX_CHARS
            || candidate.len() > password::MAX_PASSWORD_CHARS * 4
        {
            self.throttle().record_failure(username, address, now);
            return Err(LoginError::Refused);
        }
        let user = store.find_user_by_username(username).await?;
        // Verify against a dummy hash when the user is unknown, so both failures take as long.
        let stored = user.as_ref().map_or_else(
            || password::dummy_hash().to_string(),
            |user| user.password_hash.clone(),
        );
        let matches = self.workers.verify(candidate, stored).await?;
        // A disabled user is refused like a wrong password: the answer tells nobody which.
        match user.filter(|user| matches && user.disabled_at.is_none()) {
            Some(user) => {
                crate::metrics::metrics().login("ok");
                self.throttle().record_success(username, address);
                Ok(user)
            }
            None => {
                let now = std::time::Instant::now();
                let slowdown = {
                    let mut throttle = self.throttle();
                    throttle.record_failure(username, address, now);
                    throttle.slowdown(address, now)
                };
                tracing::info!(username, "login refused");
                crate::metrics::metrics().login("wrong");
                // An address that fails often has its failures answered slowly; its right
                // passwords are not (a shared address is never locked out).
                if let Some(wait) = slowdown {
                    crate::metrics::metrics().login("slowed");
                    tokio::time::sleep(wait).await;
                }
                Err(LoginError::Refused)
            }
        }
    }

    /// A new password hash, made on the same bounded workers.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.workers.hash(password).await
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        // The throttle's state stays consistent even if a holder panicked: every update is one
        // map entry.
        self.throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
