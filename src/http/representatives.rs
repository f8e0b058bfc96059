//! Authorised representatives over HTTP: an office names one (with the card and first PIN made
//! for them; the full card number is answered this once) and revokes one; whoever reads the
//! household reads its representatives. The rules are `registry::representatives`'.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        ids::{HouseholdId, RepresentativeId},
        member::{Relation, Sex},
        pan::Pan,
        pin::Pin,
        representative::RepresentativeStatus,
        role::Permission,
    },
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, PathParam},
    model::representatives::RepresentativeRecord,
    registry::representatives::{revocation_reason, Named, Naming},
    store::CardRecord,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameRepresentative {
    #[schema(example = "6472015203900004")]
    nik: String,
    name: String,
    #[schema(value_type = String, example = "female")]
    sex: Sex,
    /// `YYYY-MM-DD`; must agree with the NIK, and the person must be 17 or older.
    #[schema(example = "1990-03-12")]
    birth_date: String,
    /// To the household's head (`other` for a neighbour).
    #[schema(value_type = String, example = "child")]
    relation: Relation,
    /// The card's last valid day (`YYYY-MM-DD`): from today up to two years ahead.
    #[schema(example = "2027-06-30")]
    valid_until: String,
    /// The representative's own first PIN (4 to 6 digits).
    #[schema(value_type = String, example = "246810")]
    pin: Pin,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRepresentative {
    reason: String,
}

/// A representative with where they stand today.
#[derive(Serialize, ToSchema)]
pub struct RepresentativeView {
    #[serde(flatten)]
    representative: RepresentativeRecord,
    /// `active`, `expired` (past `valid_until`) or `revoked`.
    #[schema(value_type = String, example = "active")]
    status: RepresentativeStatus,
}

impl From<RepresentativeRecord> for RepresentativeView {
    fn from(representative: RepresentativeRecord) -> Self {
        let today = crate::business_day::local_today(chrono::Utc::now());
        RepresentativeView {
            status: representative.status_on(today),
            representative,
        }
    }
}

/// A representative just named: the only answer with their card's full number.
#[derive(Serialize, ToSchema)]
pub struct NamedRepresentative {
    representative: RepresentativeView,
    card: CardRecord,
    #[schema(value_type = String, example = "6019010123456789")]
    pan: Pan,
}

impl From<Named> for NamedRepresentative {
    fn from(named: Named) -> Self {
        NamedRepresentative {
            representative: named.representative.into(),
            card: named.issued.card,
            pan: named.issued.pan,
        }
    }
}

#[utoipa::path(post, path = "/v1/households/{id}/representatives", tag = "representatives",
    request_body = NameRepresentative, responses((status = 201, body = NamedRepresentative)),
    security(("bearer" = [])))]
pub async fn name(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household): PathParam<HouseholdId>,
    Body(request): Body<NameRepresentative>,
) -> Result<(StatusCode, Json<NamedRepresentative>), ApiError> {
    caller.require(Permission::ManageCards)?;
    let naming = Naming::parse(
        &request.nik,
        &request.name,
        Ok(request.sex),
        &request.birth_date,
        Ok(request.relation),
        &request.valid_until,
    )?;
    let named = state
        .representatives
        .name(household, naming, &request.pin, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(named.into())))
}

#[utoipa::path(get, path = "/v1/households/{id}/representatives", tag = "representatives",
    responses((status = 200, body = Vec<RepresentativeView>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household): PathParam<HouseholdId>,
) -> Result<Json<Vec<RepresentativeView>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    caller.reach_household(&state, household).await?;
    let representatives = state.representatives.of_household(household).await?;
    Ok(Json(representatives.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/v1/representatives/{id}", tag = "representatives",
    responses((status = 200, body = RepresentativeView)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<RepresentativeId>,
) -> Result<Json<RepresentativeView>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let representative = state.representatives.get(id).await?;
    caller
        .reach_household(&state, representative.household_id)
        .await?;
    Ok(Json(representative.into()))
}

#[utoipa::path(post, path = "/v1/representatives/{id}/revoke", tag = "representatives",
    request_body = RevokeRepresentative, responses((status = 200, body = RepresentativeView)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<RepresentativeId>,
    Body(request): Body<RevokeRepresentative>,
) -> Result<Json<RepresentativeView>, ApiError> {
    caller.require(Permission::ManageCards)?;
    let reason = revocation_reason(&request.reason)?;
    let revoked = state
        .representatives
        .revoke(id, reason, caller.user)
        .await?;
    Ok(Json(revoked.into()))
}
