//! Login: a username and password buy a short-lived access token.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{ids::EwarungId, role::Role},
    http::{auth::ClientAddress, error::ApiError, json::Body, state::AppState},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Token {
    access_token: String,
    token_type: &'static str,
    expires_at: DateTime<Utc>,
    role: Role,
    ewarung_id: Option<EwarungId>,
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = Token),
              (status = 401, body = crate::http::error::ErrorBody, description = "`invalid_credentials`"),
              (status = 429, body = crate::http::error::ErrorBody, description = "`too_many_attempts`: too many failed logins for the username or from the address; `retry-after` says when to try again"),
              (status = 503, body = crate::http::error::ErrorBody, description = "`login_overloaded`: password checks are busy; `retry-after` says when to try again")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Body(login): Body<Login>,
) -> Result<Json<Token>, ApiError> {
    let user = state
        .logins
        .check(
            state.store.as_ref(),
            &login.username,
            login.password,
            address,
        )
        .await?;
    let (access_token, expires_at) = state.jwt.issue(
        user.id,
        &user.username,
        user.role,
        user.ewarung_id,
        user.token_generation,
    )?;
    tracing::info!(user = %user.username, role = %user.role, "login");
    Ok(Json(Token {
        access_token,
        token_type: "Bearer",
        expires_at,
        role: user.role,
        ewarung_id: user.ewarung_id,
    }))
}
