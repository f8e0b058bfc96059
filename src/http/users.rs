//! Users: admins create them; operators must be bound to exactly one E-Warung.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    auth::password,
    domain::{
        ids::EwarungId,
        role::{Permission, Role},
        Invalid,
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
    },
    store::{NewUser, UserRecord},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    password: String,
    role: Role,
    /// Required for operators, refused for every other role.
    ewarung_id: Option<EwarungId>,
}

pub use crate::domain::username::parse as parse_username;

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<CreateUser>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    caller.require(Permission::ManageUsers)?;
    let username =
        parse_username(&request.username).map_err(|e| ApiError::invalid("username", e))?;
    password::check_strength(&request.password).map_err(|e| ApiError::invalid("password", e))?;
    if request.role.is_bound_to_ewarung() != request.ewarung_id.is_some() {
        let message = "operators need an ewarung_id; other roles must not have one";
        return Err(ApiError::invalid(
            "ewarung_id",
            Invalid::new("ewarung_binding", message),
        ));
    }
    if let Some(ewarung) = request.ewarung_id {
        state
            .store
            .get_ewarung(ewarung)
            .await?
            .ok_or(ApiError::NotFound { entity: "ewarung" })?;
    }
    // Saturated password workers are a 503 with retry-after, as for a login.
    let password_hash = state.logins.hash(request.password).await.map_err(|error| {
        match error.downcast::<crate::auth::password_workers::Overloaded>() {
            Ok(overloaded) => ApiError::from(overloaded),
            Err(error) => ApiError::Internal(error),
        }
    })?;
    let user = state
        .store
        .create_user(NewUser {
            username,
            password_hash,
            role: request.role,
            ewarung_id: request.ewarung_id,
            actor: Some(caller.user),
        })
        .await?;
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
    let users = state.store.list_users(page).await?;
    Ok(Json(Listing::new(users, page, |user| user.id.0)))
}
