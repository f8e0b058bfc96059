//! Users: admins create them; operators must be bound to exactly one E-Warung.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        ids::EwarungId,
        role::{Permission, Role},
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
    },
    registry::users::NewAccount,
    store::UserRecord,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    password: String,
    role: Role,
    /// Required for operators, refused for every other role.
    ewarung_id: Option<EwarungId>,
    /// Required for verifiers (1 to 20, as households' addresses spell them), refused for
    /// every other role.
    #[serde(default)]
    kelurahan: Vec<String>,
    /// The person's NIK (16 digits), optional. An operator's keeps them from being named a
    /// household's representative.
    #[serde(default)]
    #[schema(example = "6472011203790002")]
    nik: Option<String>,
}

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<CreateUser>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    caller.require(Permission::ManageUsers)?;
    let account = NewAccount::parse(
        &request.username,
        &request.password,
        Ok(request.role),
        request.ewarung_id,
        &request.kelurahan,
        request.nik.as_deref().unwrap_or(""),
    )?;
    let user = state.users.create(account, caller.user).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = Listing<UserRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(page): Params<PageQuery>,
) -> Result<Json<Listing<UserRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let page = page.page();
    let mut users = state.store.list_users(page).await?;
    for user in users.iter_mut().filter(|u| u.role.is_bound_to_kelurahan()) {
        user.kelurahan = state.store.sessions().kelurahan_of(user.id).await?;
    }
    Ok(Json(Listing::new(users, page, |user| user.id.0)))
}
