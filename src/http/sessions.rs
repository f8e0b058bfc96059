//! Login: a username and password buy a short-lived access token.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    auth::password,
    domain::{ids::EwarungId, role::Role},
    http::{error::ApiError, json::Body, state::AppState},
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
    responses((status = 200, body = Token), (status = 401, body = crate::http::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Body(login): Body<Login>,
) -> Result<Json<Token>, ApiError> {
    let refused = ApiError::Unauthenticated {
        code: "invalid_credentials",
        message: "username or password is wrong",
    };
    if login.username.len() > 64 || login.password.len() > password::MAX_PASSWORD_CHARS * 4 {
        return Err(refused);
    }
    let user = state.store.find_user_by_username(&login.username).await?;
    // Verify against a dummy hash when the user is unknown, so both failures take as long.
    let stored = user
        .as_ref()
        .map(|user| user.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let candidate = login.password;
    let matches = tokio::task::spawn_blocking(move || password::verify(&candidate, &stored))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::info!(username = %login.username, "login refused");
        return Err(refused);
    };
    let (access_token, expires_at) =
        state
            .jwt
            .issue(user.id, &user.username, user.role, user.ewarung_id)?;
    tracing::info!(user = %user.username, role = %user.role, "login");
    Ok(Json(Token {
        access_token,
        token_type: "Bearer",
        expires_at,
        role: user.role,
        ewarung_id: user.ewarung_id,
    }))
}
