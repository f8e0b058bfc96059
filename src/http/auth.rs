//! The `Caller` extractor: a handler that takes a `Caller` only runs for a valid bearer token, and
//! then knows the user, role and (for operators) E-Warung. Role and E-Warung checks are methods on
//! `Caller`, so a handler states its requirement in one line.

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{
    domain::{
        ids::{EwarungId, UserId},
        role::{Permission, Role},
    },
    http::{error::ApiError, state::AppState},
};

#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserId,
    pub username: String,
    pub role: Role,
    pub ewarung: Option<EwarungId>,
}

impl Caller {
    /// 403 `forbidden_role` unless the caller's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.may(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden_role())
        }
    }

    /// The households this caller reaches; 403 `forbidden_role` for a role that reads none.
    pub async fn reach(&self, state: &AppState) -> Result<crate::registry::reach::Reach, ApiError> {
        use crate::registry::reach::Reach;
        match Reach::of(state.store.as_ref(), self.user, self.role).await? {
            Reach::Nowhere => Err(ApiError::forbidden_role()),
            reach => Ok(reach),
        }
    }

    /// The household `id`, if this caller reaches it: 404 when there is none, 403
    /// `forbidden_kelurahan` when it is outside a verifier's kelurahan.
    pub async fn reach_household(
        &self,
        state: &AppState,
        id: crate::domain::ids::HouseholdId,
    ) -> Result<crate::store::HouseholdRecord, ApiError> {
        let reach = self.reach(state).await?;
        let household = state.households.get(id).await?;
        if reach.covers(&household.address.kelurahan) {
            Ok(household)
        } else {
            Err(ApiError::forbidden_kelurahan())
        }
    }

    /// 403 `forbidden_ewarung` when an operator reaches for another E-Warung.
    pub fn require_ewarung(&self, ewarung: EwarungId) -> Result<(), ApiError> {
        if self.role.is_bound_to_ewarung() && self.ewarung != Some(ewarung) {
            Err(ApiError::forbidden_ewarung())
        } else {
            Ok(())
        }
    }
}

const MISSING: ApiError = ApiError::Unauthenticated {
    code: "missing_token",
    message: "send an access token as 'Authorization: Bearer TOKEN' (POST /v1/auth/login)",
};
const INVALID: ApiError = ApiError::Unauthenticated {
    code: "invalid_token",
    message: "the access token is not valid",
};
const REVOKED: ApiError = ApiError::Unauthenticated {
    code: "token_revoked",
    message: "the access token was revoked (the user was disabled or given a new password or role); log in again",
};
const EXPIRED: ApiError = ApiError::Unauthenticated {
    code: "token_expired",
    message: "the access token has expired; log in again",
};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(MISSING)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(INVALID)?;
        let claims = state
            .jwt
            .verify(token.trim())
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => EXPIRED,
                _ => INVALID,
            })?;
        if state.revocations.is_revoked(claims.sub, claims.gen) {
            return Err(REVOKED);
        }
        let role = Role::parse(&claims.role).map_err(|_| INVALID)?;
        if role.is_bound_to_ewarung() != claims.ewarung.is_some() {
            return Err(INVALID);
        }
        Ok(Caller {
            user: claims.sub,
            username: claims.name,
            role,
            ewarung: claims.ewarung,
        })
    }
}

/// The address the request came from, when the server knows it (it is served with connect info;
/// a router built without it, as in some tests, gives `None`): the peer, or behind a trusted
/// proxy the client it names (`http::client_address`).
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| state.trusted_proxies.client(info.0.ip(), &parts.headers)),
        ))
    }
}
