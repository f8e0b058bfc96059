//! Which households a user reaches: every one (the office, auditors, admins read the whole
//! registry), or those of the kelurahan a verifier is bound to. Asked by the API and the pages
//! before a household, its members, visits or change requests are shown or proposed for.

use crate::{
    domain::{
        ids::UserId,
        role::{Permission, Role},
    },
    store::{Store, StoreResult},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The whole registry.
    Everywhere,
    /// The households of these kelurahan (a verifier's), as their addresses spell them.
    Kelurahan(Vec<String>),
    /// None (a role that does not read households).
    Nowhere,
}

impl Reach {
    /// The reach of `user` in `role`.
    pub async fn of(store: &dyn Store, user: UserId, role: Role) -> StoreResult<Reach> {
        if role.may(Permission::ReadRegistry) {
            Ok(Reach::Everywhere)
        } else if role.may(Permission::ReadOwnKelurahan) {
            Ok(Reach::Kelurahan(store.sessions().kelurahan_of(user).await?))
        } else {
            Ok(Reach::Nowhere)
        }
    }

    /// Whether a household in `kelurahan` is within reach.
    pub fn covers(&self, kelurahan: &str) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::Kelurahan(names) => names.iter().any(|name| name == kelurahan),
            Reach::Nowhere => false,
        }
    }

    /// Whether this reach is bound to kelurahan (and so lists only theirs).
    pub fn bound_to(&self) -> Option<&[String]> {
        match self {
            Reach::Kelurahan(names) => Some(names),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_reaches_their_kelurahan_only() {
        let reach = Reach::Kelurahan(vec!["Gunung Kelua".into()]);
        assert!(reach.covers("Gunung Kelua"));
        assert!(!reach.covers("Pelita"));
        assert!(
            !reach.covers("gunung kelua"),
            "spelled as the addresses spell it"
        );
        assert!(Reach::Everywhere.covers("Pelita"));
        assert!(!Reach::Nowhere.covers("Pelita"));
    }
}
