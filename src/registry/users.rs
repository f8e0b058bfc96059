//! Users: an admin creates them (an operator bound to exactly one E-Warung, every other role to
//! none), disables and enables them, resets a password, changes a role. Disabling, a new
//! password and a new role end the user's sessions and API tokens at once. Passwords are hashed
//! on the bounded workers logins use, so creating users cannot starve sign-ins.

use std::sync::Arc;

use crate::{
    auth::{password, password_workers::Overloaded},
    domain::{
        identity::Nik,
        ids::{EwarungId, UserId},
        limits::AREA_CHARS,
        role::Role,
        text::bounded,
        username, Invalid, Refusals,
    },
    login::Logins,
    registry::Read,
    revocations::TokenRevocations,
    store::{NewUser, Store, StoreError, UserRecord},
};

/// Why a user command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("E-Warung not found")]
    EwarungNotFound,
    /// Values of the command were refused, each beside its field.
    #[error("{0}")]
    Refused(Refusals),
    #[error("that username is taken")]
    UsernameTaken,
    /// An admin may not disable their own account or change their own role.
    #[error("you cannot do this to your own account")]
    NotYourself,
    /// Every password worker is busy; try again in a moment.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
    #[error(transparent)]
    Store(StoreError),
    /// The password could not be hashed (not the user's fault; logged).
    #[error("the password could not be hashed: {0}")]
    Hashing(String),
}

impl From<Refusals> for UserError {
    fn from(refusals: Refusals) -> Self {
        UserError::Refused(refusals)
    }
}

impl From<StoreError> for UserError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { constraint } if constraint == "users_username_key" => {
                UserError::UsernameTaken
            }
            StoreError::NotFound { entity: "user" } => UserError::NotFound,
            error => UserError::Store(error),
        }
    }
}

/// A password that meets the rule, to be hashed; never printed.
pub struct NewPassword(zeroize::Zeroizing<String>);

impl NewPassword {
    pub fn parse(typed: &str) -> Result<Self, Invalid> {
        password::check_strength(typed)?;
        Ok(Self(zeroize::Zeroizing::new(typed.to_string())))
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

/// The most kelurahan one verifier is bound to.
pub const MAX_KELURAHAN: usize = 20;

/// A role and what it is bound to: an operator to exactly one E-Warung, a verifier to 1 to
/// [`MAX_KELURAHAN`] kelurahan, every other role to neither.
#[derive(Debug, Clone)]
pub struct Binding {
    role: Role,
    ewarung: Option<EwarungId>,
    kelurahan: Vec<String>,
}

impl Binding {
    pub fn parse(
        role: Role,
        ewarung: Option<EwarungId>,
        kelurahan: &[String],
    ) -> Result<Self, Invalid> {
        if role.is_bound_to_ewarung() != ewarung.is_some() {
            return Err(Invalid::new(
                "ewarung_binding",
                "operators need an ewarung_id; other roles must not have one",
            ));
        }
        let mut names: Vec<String> = Vec::new();
        for name in kelurahan {
            let name = bounded(name, AREA_CHARS, "kelurahan")?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let fits = if role.is_bound_to_kelurahan() {
            (1..=MAX_KELURAHAN).contains(&names.len())
        } else {
            names.is_empty()
        };
        if !fits {
            return Err(Invalid::new(
                "kelurahan_binding",
                format!(
                    "verifiers need 1 to {MAX_KELURAHAN} kelurahan; other roles must not have any"
                ),
            ));
        }
        names.sort();
        Ok(Self {
            role,
            ewarung,
            kelurahan: names,
        })
    }

    /// The binding of a chosen role, the refusal under `role`, `ewarung_id` or `kelurahan`.
    pub fn choose(
        role: Read<Role>,
        ewarung: Option<EwarungId>,
        kelurahan: &[String],
    ) -> Result<Self, Refusals> {
        let role = role.map_err(|invalid| Refusals::one("role", invalid))?;
        Self::parse(role, ewarung, kelurahan).map_err(|invalid| {
            let field = if invalid.code == "ewarung_binding" {
                "ewarung_id"
            } else {
                "kelurahan"
            };
            Refusals::one(field, invalid)
        })
    }

    /// A verifier's kelurahan (none for every other role), sorted, each once.
    pub fn kelurahan(&self) -> &[String] {
        &self.kelurahan
    }
}

/// A new user, checked.
#[derive(Debug)]
pub struct NewAccount {
    username: String,
    password: NewPassword,
    binding: Binding,
    nik: Option<Nik>,
}

impl NewAccount {
    /// Checks every value; the refusals name the API's fields (`username`, `role`,
    /// `ewarung_id`, `nik`). The NIK is optional (blank: none).
    pub fn parse(
        username: &str,
        password: &str,
        role: Read<Role>,
        ewarung: Option<EwarungId>,
        kelurahan: &[String],
        nik: &str,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let username = refusals.check("username", username::parse(username));
        let password = refusals.check("password", NewPassword::parse(password));
        let binding = refusals.merge(Binding::choose(role, ewarung, kelurahan));
        let nik = if nik.trim().is_empty() {
            Some(None)
        } else {
            refusals.check("nik", Nik::parse_as_printed(nik)).map(Some)
        };
        let account = match (username, password, binding, nik) {
            (Some(username), Some(password), Some(binding), Some(nik)) => Some(Self {
                username,
                password,
                binding,
                nik,
            }),
            _ => None,
        };
        refusals.or_value(account)
    }
}

#[derive(Clone)]
pub struct Users {
    pub store: Arc<dyn Store>,
    pub logins: Arc<Logins>,
    pub revocations: Arc<TokenRevocations>,
}

impl Users {
    pub async fn get(&self, id: UserId) -> Result<UserRecord, UserError> {
        self.store
            .sessions()
            .find_user(id)
            .await?
            .ok_or(UserError::NotFound)
    }

    pub async fn create(
        &self,
        account: NewAccount,
        actor: UserId,
    ) -> Result<UserRecord, UserError> {
        self.existing_ewarung(account.binding.ewarung).await?;
        let password_hash = self.hash(account.password).await?;
        let user = NewUser {
            username: account.username,
            password_hash,
            role: account.binding.role,
            ewarung_id: account.binding.ewarung,
            kelurahan: account.binding.kelurahan,
            nik: account.nik.map(|nik| nik.as_str().to_string()),
            actor: Some(actor),
        };
        Ok(self.store.create_user(user).await?)
    }

    /// Disables a user: their sessions end and their API tokens stop working.
    pub async fn disable(&self, user: UserId, actor: UserId) -> Result<UserRecord, UserError> {
        if user == actor {
            return Err(UserError::NotYourself);
        }
        let record = self.store.sessions().disable_user(user, actor).await?;
        self.revoke().await?;
        Ok(record)
    }

    pub async fn enable(&self, user: UserId, actor: UserId) -> Result<UserRecord, UserError> {
        let record = self.store.sessions().enable_user(user, actor).await?;
        self.revoke().await?;
        Ok(record)
    }

    /// Sets a new password; the user's sessions and API tokens end.
    pub async fn reset_password(
        &self,
        user: UserId,
        password: NewPassword,
        actor: UserId,
    ) -> Result<(), UserError> {
        self.get(user).await?;
        let hashed = self.hash(password).await?;
        self.store
            .sessions()
            .set_password(user, hashed, actor)
            .await?;
        self.revoke().await
    }

    /// Gives a user another role (and E-Warung); their sessions and API tokens end.
    pub async fn change_role(
        &self,
        user: UserId,
        binding: Binding,
        actor: UserId,
    ) -> Result<UserRecord, UserError> {
        if user == actor {
            return Err(UserError::NotYourself);
        }
        self.existing_ewarung(binding.ewarung).await?;
        let record = self
            .store
            .sessions()
            .change_role(
                user,
                binding.role,
                binding.ewarung,
                &binding.kelurahan,
                actor,
            )
            .await?;
        self.revoke().await?;
        Ok(record)
    }

    async fn existing_ewarung(&self, ewarung: Option<EwarungId>) -> Result<(), UserError> {
        if let Some(ewarung) = ewarung {
            self.store
                .get_ewarung(ewarung)
                .await?
                .ok_or(UserError::EwarungNotFound)?;
        }
        Ok(())
    }

    async fn hash(&self, password: NewPassword) -> Result<String, UserError> {
        let typed = password.0.as_str().to_string();
        self.logins
            .hash(typed)
            .await
            .map_err(|error| match error.downcast::<Overloaded>() {
                Ok(Overloaded) => UserError::Busy,
                Err(error) => UserError::Hashing(format!("{error:#}")),
            })
    }

    /// The user's API tokens stop working here at once (other servers within seconds).
    async fn revoke(&self) -> Result<(), UserError> {
        Ok(self.revocations.refresh(self.store.sessions()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_is_bound_to_one_ewarung_and_no_other_role_is() {
        let ewarung = Some(EwarungId(uuid::Uuid::nil()));
        assert!(Binding::parse(Role::Operator, ewarung, &[]).is_ok());
        assert!(Binding::parse(Role::Office, None, &[]).is_ok());
        for (role, ewarung) in [(Role::Operator, None), (Role::Office, ewarung)] {
            let refused = Binding::parse(role, ewarung, &[]).unwrap_err();
            assert_eq!(refused.code, "ewarung_binding");
        }
    }

    #[test]
    fn a_verifier_is_bound_to_kelurahan_and_no_other_role_is() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let bound = Binding::parse(
            Role::Verifier,
            None,
            &names(&[" Sidodadi ", "Air Putih", "Sidodadi"]),
        )
        .unwrap();
        assert_eq!(bound.kelurahan(), ["Air Putih", "Sidodadi"]);
        for (role, list) in [
            (Role::Verifier, names(&[])),
            (Role::Office, names(&["Sidodadi"])),
            (Role::Verifier, (0..21).map(|i| format!("K{i}")).collect()),
        ] {
            let refused = Binding::parse(role, None, &list).unwrap_err();
            assert_eq!(refused.code, "kelurahan_binding", "{role} {list:?}");
        }
        let blank = Binding::parse(Role::Verifier, None, &names(&[" "])).unwrap_err();
        assert_eq!(blank.code, "blank");
    }

    #[test]
    fn a_new_account_keeps_every_refusal_and_a_missing_role_beside_role() {
        let unread = Err(Invalid::new("invalid_role", "no role"));
        let refused = NewAccount::parse("A", "short", unread, None, &[], "").unwrap_err();
        let fields: Vec<&str> = refused.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["username", "password", "role"]);
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
