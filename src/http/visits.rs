//! Field visits: recorded by a kelurahan verifier for a household within their reach, read by
//! whoever reaches the household; a photo of the house is sent as the body of its own request
//! (`image/jpeg` or `image/png`, at most 5 MiB). The rules are `registry::visits`'.

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use futures_util::TryStreamExt;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        ids::{HouseholdId, VisitId},
        role::Permission,
        visit::VisitOutcome,
    },
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, PathParam},
    model::visits::VisitRecord,
    registry::visits::VisitReport,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisitBody {
    /// `YYYY-MM-DD`: not after today, at most 31 days before it.
    #[schema(example = "2026-12-01")]
    visited_on: String,
    /// `confirmed`, `data_differs`, `moved_away`, `deceased_head`, `not_at_home`.
    #[schema(value_type = String, example = "moved_away")]
    outcome: VisitOutcome,
    /// What was seen or heard (optional).
    #[serde(default)]
    note: String,
}

/// The visit `id`, if the caller reaches its household.
async fn reached(state: &AppState, caller: &Caller, id: VisitId) -> Result<VisitRecord, ApiError> {
    let visit = state.visits.get(id).await?;
    caller.reach_household(state, visit.household_id).await?;
    Ok(visit)
}

#[utoipa::path(post, path = "/v1/households/{id}/visits", tag = "visits",
    request_body = NewVisitBody, responses((status = 201, body = VisitRecord)),
    security(("bearer" = [])))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<NewVisitBody>,
) -> Result<(StatusCode, Json<VisitRecord>), ApiError> {
    caller.require(Permission::RecordVisits)?;
    caller.reach_household(&state, id).await?;
    let report = VisitReport::parse(&request.visited_on, Ok(request.outcome), &request.note)?;
    let visit = state
        .visits
        .record(VisitId::new(), id, report, None, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(visit)))
}

#[utoipa::path(get, path = "/v1/households/{id}/visits", tag = "visits",
    responses((status = 200, body = Vec<VisitRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
) -> Result<Json<Vec<VisitRecord>>, ApiError> {
    caller.reach_household(&state, id).await?;
    Ok(Json(state.visits.of_household(id).await?))
}

#[utoipa::path(put, path = "/v1/visits/{id}/photo", tag = "visits",
    request_body(content = Vec<u8>, content_type = "image/jpeg",
        description = "The photo of the house: JPEG or PNG (by its first bytes), at most 5 MiB"),
    responses((status = 200, body = VisitRecord)), security(("bearer" = [])))]
pub async fn add_photo(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<VisitId>,
    request: Request,
) -> Result<Json<VisitRecord>, ApiError> {
    caller.require(Permission::RecordVisits)?;
    reached(&state, &caller, id).await?;
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(|e| e.to_string());
    Ok(Json(
        state
            .visits
            .add_photo(id, Box::pin(body), caller.user)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/visits/{id}/photo", tag = "visits",
    responses((status = 200, description = "The photo, as `image/jpeg` or `image/png`")),
    security(("bearer" = [])))]
pub async fn photo(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<VisitId>,
) -> Result<Response, ApiError> {
    let visit = reached(&state, &caller, id).await?;
    let (kind, bytes) = state.visits.photo(&visit).await?;
    Ok((
        [
            (header::CONTENT_TYPE, kind.mime()),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}
