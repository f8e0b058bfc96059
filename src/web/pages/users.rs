//! Users, for the admin: create one (an operator bound to one E-Warung), disable or enable,
//! reset a password (typed twice), change a role. Disabling, a new password and a new role end
//! the user's sessions at once. Passwords are hashed on the same bounded workers as logins.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::web::flash;
use crate::web::form::PagePath;
use crate::web::format::Shows;
use crate::web::signed_form::SignedForm;
use crate::{
    auth::password,
    domain::{
        ids::{EwarungId, UserId},
        locale::Locale,
        role::{Permission, Role},
        username,
    },
    http::state::AppState,
    model::records::{EwarungRecord, NewUser, UserRecord},
    store::{Page, StoreError},
    web::{
        error::WebError,
        form::FieldErrors,
        layout::{role_key, Layout},
        session::SignedIn,
    },
};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UserFields {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    ewarung: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html", config = "src/web/askama.toml")]
pub struct UsersPage {
    layout: Layout,
    can_manage: bool,
    users: Vec<UserRecord>,
    ewarungs: Vec<EwarungRecord>,
    fields: UserFields,
    errors: FieldErrors,
}

impl UsersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    /// The role and E-Warung the form shows chosen: what was sent, when it was refused.
    fn chosen(&self) -> (String, String) {
        (self.fields.role.clone(), self.fields.ewarung.clone())
    }

    fn role_key(&self, role: &Role) -> &'static str {
        role_key(*role)
    }

    fn ewarung_name(&self, id: &Option<EwarungId>) -> String {
        ewarung_name(&self.ewarungs, id)
    }
}

fn ewarung_name(ewarungs: &[EwarungRecord], id: &Option<EwarungId>) -> String {
    id.and_then(|id| ewarungs.iter().find(|e| e.id == id))
        .map(|e| e.name.clone())
        .unwrap_or_default()
}

async fn users_page(
    state: &AppState,
    signed: &SignedIn,
    fields: UserFields,
    errors: FieldErrors,
) -> Result<UsersPage, WebError> {
    let all = Page {
        after: None,
        limit: Page::MAX_LIMIT,
    };
    Ok(UsersPage {
        layout: Layout::new(signed, "/users"),
        can_manage: signed.role().may(Permission::ManageUsers),
        users: state.store.list_users(all).await?,
        ewarungs: state.store.list_ewarungs(all).await?,
        fields,
        errors,
    })
}

pub async fn list(State(state): State<AppState>, signed: SignedIn) -> Result<UsersPage, WebError> {
    // Auditors and offices read the list; only the admin changes it.
    signed.require(Permission::ReadRegistry)?;
    let (fields, errors) = flash::take(&state, &signed, "/users")
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    users_page(&state, &signed, fields, errors).await
}

/// The role and E-Warung of a form, or the errors beside them.
async fn role_and_ewarung(
    state: &AppState,
    signed: &SignedIn,
    fields: &UserFields,
    errors: &mut FieldErrors,
) -> Result<Option<(Role, Option<EwarungId>)>, WebError> {
    let tr = signed.tr();
    let Ok(role) = Role::parse(&fields.role) else {
        errors.add("role", tr.t("users-role-required"));
        return Ok(None);
    };
    let ewarung = match uuid::Uuid::parse_str(fields.ewarung.trim()) {
        Ok(id) => state.store.get_ewarung(EwarungId(id)).await?.map(|e| e.id),
        Err(_) => None,
    };
    match (role.is_bound_to_ewarung(), ewarung) {
        (true, None) => {
            errors.add("ewarung", tr.t("users-ewarung-required"));
            Ok(None)
        }
        (true, Some(ewarung)) => Ok(Some((role, Some(ewarung)))),
        // Only operators are bound to an E-Warung: whatever else was chosen is dropped.
        (false, _) => Ok(Some((role, None))),
    }
}

/// The new password typed twice and strong enough, or the errors beside it.
fn new_password(
    signed: &SignedIn,
    fields: &UserFields,
    errors: &mut FieldErrors,
) -> Option<String> {
    let tr = signed.tr();
    if let Err(invalid) = password::check_strength(&fields.password) {
        errors.invalid(&tr, "password", &invalid);
        return None;
    }
    if fields.password != fields.password_again {
        errors.add("password_again", tr.t("users-passwords-differ"));
        return None;
    }
    Some(fields.password.clone())
}

/// The password's hash; `None` when the password workers are all busy (the API answers 503),
/// a refusal the form shows so that the admin tries again in a moment.
async fn hash(state: &AppState, password: String) -> Option<String> {
    state.logins.hash(password).await.ok()
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<UserFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageUsers)?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let name = username::parse(fields.username.trim())
        .map_err(|invalid| errors.invalid(&tr, "username", &invalid))
        .ok();
    let password = new_password(&signed, &fields, &mut errors);
    let role = role_and_ewarung(&state, &signed, &fields, &mut errors).await?;
    let password_hash = match (password, errors.is_empty()) {
        (Some(password), true) => hash(&state, password).await,
        _ => None,
    };
    if password_hash.is_none() && errors.is_empty() {
        errors.add("form", tr.t("login-busy"));
    }
    if let (Some(name), Some(password_hash), Some((role, ewarung)), true) =
        (name, password_hash, role, errors.is_empty())
    {
        let user = NewUser {
            username: name,
            password_hash,
            role,
            ewarung_id: ewarung,
            actor: Some(signed.user.id),
        };
        match state.store.create_user(user).await {
            Ok(record) => {
                return Ok(Redirect::to(&format!("/users/{}", record.id.0)).into_response())
            }
            Err(StoreError::Duplicate { .. }) => errors.add("username", tr.t("users-taken")),
            Err(error) => return Err(error.into()),
        }
    }
    // (The passwords are never kept: flash leaves them out.)
    flash::refused(&state, &signed, "/users", errors, fields).await
}

#[derive(Template, WebTemplate)]
#[template(path = "user.html", config = "src/web/askama.toml")]
pub struct UserPage {
    layout: Layout,
    can_manage: bool,
    user: UserRecord,
    ewarungs: Vec<EwarungRecord>,
    errors: FieldErrors,
    done: Option<String>,
}

impl UserPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    /// The role and E-Warung the form shows chosen: the user's own.
    fn chosen(&self) -> (String, String) {
        let ewarung = self
            .user
            .ewarung_id
            .map(|id| id.0.to_string())
            .unwrap_or_default();
        (self.user.role.as_str().to_string(), ewarung)
    }

    fn role_key(&self, role: &Role) -> &'static str {
        role_key(*role)
    }

    fn ewarung_name(&self) -> String {
        ewarung_name(&self.ewarungs, &self.user.ewarung_id)
    }
}

async fn user_page(
    state: &AppState,
    signed: &SignedIn,
    id: UserId,
    errors: FieldErrors,
    done: Option<String>,
) -> Result<UserPage, WebError> {
    let user = state
        .store
        .sessions()
        .find_user(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let all = Page {
        after: None,
        limit: Page::MAX_LIMIT,
    };
    Ok(UserPage {
        layout: Layout::new(signed, "/users"),
        can_manage: signed.role().may(Permission::ManageUsers),
        user,
        ewarungs: state.store.list_ewarungs(all).await?,
        errors,
        done,
    })
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<UserPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    let outcome = flash::take::<Outcome>(&state, &signed, &format!("/users/{id}")).await?;
    let (done, errors) = match outcome {
        Some(flash) => (
            Some(flash.form.done).filter(|done| !done.is_empty()),
            flash.errors,
        ),
        None => (None, FieldErrors::default()),
    };
    user_page(&state, &signed, UserId(id), errors, done).await
}

/// What an action on a user left for the user's page: what was done, in words.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Outcome {
    #[serde(default)]
    done: String,
}

pub async fn act(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<UserFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageUsers)?;
    let (id, actor, tr) = (UserId(id), signed.user.id, signed.tr());
    let sessions = state.store.sessions();
    let mut errors = FieldErrors::default();
    let done = match action.as_str() {
        "disable" if id == actor => {
            errors.add("form", tr.t("users-not-yourself"));
            None
        }
        "disable" => Some(
            sessions
                .disable_user(id, actor)
                .await
                .map(|_| "users-disabled")?,
        ),
        "enable" => Some(
            sessions
                .enable_user(id, actor)
                .await
                .map(|_| "users-enabled")?,
        ),
        "password" => match new_password(&signed, &fields, &mut errors) {
            Some(password) => match hash(&state, password).await {
                Some(hashed) => {
                    sessions.set_password(id, hashed, actor).await?;
                    Some("users-password-reset")
                }
                None => {
                    errors.add("form", tr.t("login-busy"));
                    None
                }
            },
            None => None,
        },
        "role" if id == actor => {
            errors.add("form", tr.t("users-not-yourself"));
            None
        }
        "role" => match role_and_ewarung(&state, &signed, &fields, &mut errors).await? {
            Some((role, ewarung)) => Some(
                sessions
                    .change_role(id, role, ewarung, actor)
                    .await
                    .map(|_| "users-role-changed")?,
            ),
            None => None,
        },
        _ => return Err(WebError::NotFound),
    };
    if done.is_some() {
        // The user's API tokens stop working here at once (other servers within seconds).
        state.revocations.refresh(sessions).await?;
    }
    // Done or refused, the browser goes back to the user's page, which says which, once.
    let outcome = Outcome {
        done: done.map(|key| tr.t(key)).unwrap_or_default(),
    };
    flash::refused(
        &state,
        &signed,
        &format!("/users/{}", id.0),
        errors,
        outcome,
    )
    .await
}

impl Shows for UsersPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}
