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
    domain::{
        ids::{EwarungId, UserId},
        locale::Locale,
        role::{Permission, Role},
        Refusals,
    },
    http::state::AppState,
    model::records::{EwarungRecord, UserRecord},
    registry::{
        users::{Binding, NewAccount, NewPassword, UserError},
        Read,
    },
    store::Page,
    web::{
        error::WebError,
        form::FieldErrors,
        i18n::Tr,
        layout::{role_key, Layout},
        refusals,
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
    /// A verifier's kelurahan, separated by commas.
    #[serde(default)]
    kelurahan: String,
    /// The person's NIK, optional.
    #[serde(default)]
    nik: String,
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

    /// The role, E-Warung and kelurahan the form shows chosen: what was sent, when it was
    /// refused.
    fn chosen(&self) -> (String, String, String) {
        (
            self.fields.role.clone(),
            self.fields.ewarung.clone(),
            self.fields.kelurahan.clone(),
        )
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

/// The form's name of a field the user rules name as the API does.
fn form_field(field: &'static str) -> &'static str {
    match field {
        "ewarung_id" => "ewarung",
        other => other,
    }
}

/// The role a form chose, with the E-Warung and the kelurahan: only operators are bound to an
/// E-Warung and only verifiers to kelurahan, so whatever else was chosen beside another role is
/// dropped.
fn chosen_role(fields: &UserFields) -> (Read<Role>, Option<EwarungId>, Vec<String>) {
    let role = Role::parse(&fields.role);
    let ewarung = uuid::Uuid::parse_str(fields.ewarung.trim())
        .ok()
        .map(EwarungId)
        .filter(|_| role.as_ref().is_ok_and(|role| role.is_bound_to_ewarung()));
    let kelurahan = if role.as_ref().is_ok_and(|role| role.is_bound_to_kelurahan()) {
        fields
            .kelurahan
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(String::from)
            .collect()
    } else {
        Vec::new()
    };
    (role, ewarung, kelurahan)
}

/// Whether the new password was typed twice the same; the error beside the second if not.
fn typed_twice(tr: &Tr, fields: &UserFields, errors: &mut FieldErrors) -> bool {
    let same = fields.password == fields.password_again;
    if !same {
        errors.add("password_again", tr.t("users-passwords-differ"));
    }
    same
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
    let (role, ewarung, kelurahan) = chosen_role(&fields);
    let parsed = NewAccount::parse(
        fields.username.trim(),
        &fields.password,
        role,
        ewarung,
        &kelurahan,
        &fields.nik,
    );
    let same = fields.password == fields.password_again;
    let refused = match parsed {
        Ok(account) if same => match state.users.create(account, signed.user.id).await {
            Ok(record) => {
                return Ok(Redirect::to(&format!("/users/{}", record.id.0)).into_response())
            }
            Err(error) => Some(error),
        },
        Ok(_) => None,
        Err(refusals) => Some(refusals.into()),
    };
    let mut errors = FieldErrors::default();
    if let Some(error) = refused {
        refusals::user(&tr, error, &mut errors, form_field)?;
    }
    typed_twice(&tr, &fields, &mut errors);
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

    /// The role, E-Warung and kelurahan the form shows chosen: the user's own.
    fn chosen(&self) -> (String, String, String) {
        let ewarung = self
            .user
            .ewarung_id
            .map(|id| id.0.to_string())
            .unwrap_or_default();
        (
            self.user.role.as_str().to_string(),
            ewarung,
            self.user.kelurahan.join(", "),
        )
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
    let mut user = state
        .store
        .sessions()
        .find_user(id)
        .await?
        .ok_or(WebError::NotFound)?;
    user.kelurahan = state.store.sessions().kelurahan_of(id).await?;
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
    let users = &state.users;
    let mut errors = FieldErrors::default();
    // What was done (its text key), or `None` when the form's own check refused it.
    let done: Result<Option<&'static str>, UserError> = match action.as_str() {
        "disable" => users
            .disable(id, actor)
            .await
            .map(|_| Some("users-disabled")),
        "enable" => users.enable(id, actor).await.map(|_| Some("users-enabled")),
        "password" => match NewPassword::parse(&fields.password) {
            Ok(password) if typed_twice(&tr, &fields, &mut errors) => users
                .reset_password(id, password, actor)
                .await
                .map(|_| Some("users-password-reset")),
            Ok(_) => Ok(None),
            Err(invalid) => Err(UserError::Refused(Refusals::one("password", invalid))),
        },
        "role" => {
            let (role, ewarung, kelurahan) = chosen_role(&fields);
            match Binding::choose(role, ewarung, &kelurahan) {
                Ok(binding) => users
                    .change_role(id, binding, actor)
                    .await
                    .map(|_| Some("users-role-changed")),
                Err(refusals) => Err(refusals.into()),
            }
        }
        _ => return Err(WebError::NotFound),
    };
    let done = match done {
        Ok(done) => done,
        Err(error) => {
            refusals::user(&tr, error, &mut errors, form_field)?;
            None
        }
    };
    // Done or refused, the browser goes back to the user's page, which says which, once.
    let outcome = Outcome {
        done: done.map(|key| tr.t(key)).unwrap_or_default(),
    };
    let path = format!("/users/{}", id.0);
    flash::refused(&state, &signed, &path, errors, outcome).await
}

impl Shows for UsersPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}
