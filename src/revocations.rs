//! Which API access tokens no longer speak for their user. A token carries its user's token
//! generation (`gen`); disabling the user, a new password and a new role move the generation on
//! in the database. Every request is checked against this in-memory copy, not the database, so
//! the redemption path gains no read: the server that made a change refreshes it at once, the
//! others within one [`REFRESH_EVERY`].

use std::{collections::HashMap, sync::Arc, sync::RwLock, time::Duration};

use crate::{
    domain::ids::UserId,
    store::{SessionStore, Store, StoreResult},
};

/// How often every server re-reads the generations changed elsewhere.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TokenState {
    generation: i64,
    disabled: bool,
}

/// The token generation and disabled flag of every user that has either.
#[derive(Debug, Default)]
pub struct TokenRevocations {
    users: RwLock<HashMap<UserId, TokenState>>,
}

impl TokenRevocations {
    /// Whether a token of `user` issued at `generation` is no longer valid.
    pub fn is_revoked(&self, user: UserId, generation: i64) -> bool {
        let users = self
            .users
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        users
            .get(&user)
            .is_some_and(|state| state.disabled || generation < state.generation)
    }

    /// Replaces the copy with what the database says now.
    pub async fn refresh(&self, sessions: &dyn SessionStore) -> StoreResult<()> {
        let fresh: HashMap<UserId, TokenState> = sessions
            .token_states()
            .await?
            .into_iter()
            .map(|(user, generation, disabled)| {
                (
                    user,
                    TokenState {
                        generation,
                        disabled,
                    },
                )
            })
            .collect();
        *self
            .users
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        Ok(())
    }
}

/// Refreshes `revocations` every `every` until the process stops.
pub fn spawn_refresher(
    revocations: Arc<TokenRevocations>,
    store: Arc<dyn Store>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::every(every, move || {
        let (revocations, store) = (revocations.clone(), store.clone());
        async move {
            if let Err(error) = revocations.refresh(store.sessions()).await {
                tracing::warn!(%error, "reading token revocations failed; will retry");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_generations_and_disabled_users_are_revoked() {
        let revocations = TokenRevocations::default();
        let (alice, bob) = (UserId(uuid::Uuid::new_v4()), UserId(uuid::Uuid::new_v4()));
        assert!(
            !revocations.is_revoked(alice, 0),
            "unknown users keep theirs"
        );
        let note = |user, generation, disabled| {
            revocations.users.write().unwrap().insert(
                user,
                TokenState {
                    generation,
                    disabled,
                },
            );
        };
        note(alice, 2, false);
        assert!(revocations.is_revoked(alice, 1));
        assert!(!revocations.is_revoked(alice, 2));
        note(bob, 1, true);
        assert!(revocations.is_revoked(bob, 1), "disabled: every token");
    }
}
