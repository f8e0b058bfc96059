//! Change requests: written (as a draft or submitted at once), rewritten by their author when
//! returned, and decided by another office user: approved (and so applied), returned for
//! correction, or rejected. The rules are `registry::change_requests`'; these handlers read, call
//! and answer.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        change_request::{ChangeKind, RequestState},
        ids::{ChangeRequestId, HouseholdId},
        role::Permission,
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    model::change_requests::{ChangeRequestFilter, ChangeRequestRecord, Proposal},
    registry::change_requests::Draft,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The household the request is about; left out only for `new_household`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    household_id: Option<HouseholdId>,
    proposal: Proposal,
    /// Why (e.g. "visited 2026-12-01: the family moved to Balikpapan, neighbours confirm").
    reason: String,
    /// `true` submits it for a decision at once; `false` (the default) keeps it a draft.
    #[serde(default)]
    submit: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisedRequest {
    proposal: Proposal,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// What the author should correct, or why the request is rejected.
    note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveMany {
    /// 1 to 100 requests, approved one after another; one refused does not stop the others.
    #[schema(value_type = Vec<String>)]
    ids: Vec<ChangeRequestId>,
}

/// One request's outcome in an approval of several.
#[derive(Serialize, ToSchema)]
pub struct ApprovalOutcome {
    #[schema(value_type = String, format = Uuid)]
    id: ChangeRequestId,
    /// The request after approval, when it was approved.
    request: Option<ChangeRequestRecord>,
    /// Why not, when it was not (the error body's `error`).
    error: Option<crate::http::error::ErrorDetail>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// `draft`, `submitted`, `returned`, `applied`, `rejected`.
    #[param(value_type = Option<String>)]
    state: Option<RequestState>,
    /// `data`, `status`, `member_add`, `member_correct`, `member_remove`, `head`,
    /// `new_household`.
    #[param(value_type = Option<String>)]
    kind: Option<ChangeKind>,
    #[param(value_type = Option<String>, format = Uuid)]
    household_id: Option<HouseholdId>,
    kelurahan: Option<String>,
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

const MAX_APPROVALS: usize = 100;

/// The request `id`, if the caller reaches its kelurahan (403 `forbidden_kelurahan` if not).
async fn reached(
    state: &AppState,
    caller: &Caller,
    id: ChangeRequestId,
) -> Result<ChangeRequestRecord, ApiError> {
    let reach = caller.reach(state).await?;
    let request = state.change_requests.get(id).await?;
    if reach.covers(&request.kelurahan) {
        Ok(request)
    } else {
        Err(ApiError::forbidden_kelurahan())
    }
}

#[utoipa::path(post, path = "/v1/change-requests", tag = "change-requests", request_body = NewRequest,
    responses((status = 201, body = ChangeRequestRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewRequest>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    caller.require(Permission::ProposeChanges)?;
    let reach = caller.reach(&state).await?;
    match (&request.proposal, request.household_id) {
        (Proposal::NewHousehold { address, .. }, _) => {
            if !reach.covers(address.kelurahan.trim()) {
                return Err(ApiError::forbidden_kelurahan());
            }
        }
        (_, Some(household)) => {
            caller.reach_household(&state, household).await?;
        }
        (_, None) => {}
    }
    let draft = Draft {
        household_id: request.household_id,
        proposal: request.proposal,
        reason: request.reason,
        seen_revision: None,
    };
    let record = state
        .change_requests
        .propose(draft, request.submit, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// A change to household `id` made through its own endpoint (PATCH, …/status, …/members,
/// …/head): written as a submitted request against `expected_revision`, for another office user
/// to approve (four eyes), and answered 202 with the request.
pub(crate) async fn propose_for_household(
    state: &AppState,
    caller: &Caller,
    id: HouseholdId,
    expected_revision: i32,
    proposal: Proposal,
    reason: String,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    caller.reach_household(state, id).await?;
    let draft = Draft {
        household_id: Some(id),
        proposal,
        reason,
        seen_revision: Some(expected_revision),
    };
    let record = state
        .change_requests
        .propose(draft, true, caller.user)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(record)))
}

#[utoipa::path(get, path = "/v1/change-requests", tag = "change-requests", params(RequestQuery),
    responses((status = 200, body = Listing<ChangeRequestRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<RequestQuery>,
) -> Result<Json<Listing<ChangeRequestRecord>>, ApiError> {
    let reach = caller.reach(&state).await?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let filter = ChangeRequestFilter {
        state: query.state,
        kind: query.kind,
        household_id: query.household_id,
        kelurahan: query.kelurahan,
        created_by: None,
        within: reach.bound_to().map(<[String]>::to_vec),
    };
    let rows = state.change_requests.list(filter, page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

#[utoipa::path(get, path = "/v1/change-requests/{id}", tag = "change-requests",
    responses((status = 200, body = ChangeRequestRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ChangeRequestId>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    Ok(Json(reached(&state, &caller, id).await?))
}

#[utoipa::path(put, path = "/v1/change-requests/{id}", tag = "change-requests",
    request_body = RevisedRequest, responses((status = 200, body = ChangeRequestRecord)),
    security(("bearer" = [])))]
pub async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ChangeRequestId>,
    Body(request): Body<RevisedRequest>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    caller.require(Permission::ProposeChanges)?;
    reached(&state, &caller, id).await?;
    // A proposed household rewritten may move: it stays within the writer's reach.
    if let Proposal::NewHousehold { address, .. } = &request.proposal {
        if !caller.reach(&state).await?.covers(address.kelurahan.trim()) {
            return Err(ApiError::forbidden_kelurahan());
        }
    }
    Ok(Json(
        state
            .change_requests
            .revise(id, request.proposal, request.reason, caller.user)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/change-requests/{id}/submit", tag = "change-requests",
    responses((status = 200, body = ChangeRequestRecord)), security(("bearer" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ChangeRequestId>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    caller.require(Permission::ProposeChanges)?;
    reached(&state, &caller, id).await?;
    Ok(Json(state.change_requests.submit(id, caller.user).await?))
}

#[utoipa::path(post, path = "/v1/change-requests/{id}/approve", tag = "change-requests",
    responses((status = 200, body = ChangeRequestRecord)), security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ChangeRequestId>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    caller.require(Permission::DecideChanges)?;
    Ok(Json(state.change_requests.approve(id, caller.user).await?))
}

#[utoipa::path(post, path = "/v1/change-requests/approve", tag = "change-requests",
    request_body = ApproveMany, responses((status = 200, body = Vec<ApprovalOutcome>)),
    security(("bearer" = [])))]
pub async fn approve_many(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<ApproveMany>,
) -> Result<Json<Vec<ApprovalOutcome>>, ApiError> {
    caller.require(Permission::DecideChanges)?;
    if request.ids.is_empty() || request.ids.len() > MAX_APPROVALS {
        return Err(ApiError::invalid(
            "ids",
            crate::domain::Invalid::new(
                "invalid_ids",
                format!("name 1 to {MAX_APPROVALS} requests"),
            ),
        ));
    }
    let outcomes = state
        .change_requests
        .approve_many(&request.ids, caller.user)
        .await;
    let mut answer = Vec::with_capacity(outcomes.len());
    for (id, outcome) in outcomes {
        answer.push(match outcome {
            Ok(record) => ApprovalOutcome {
                id,
                request: Some(record),
                error: None,
            },
            Err(error) => ApprovalOutcome {
                id,
                request: None,
                error: Some(ApiError::from(error).detail()?),
            },
        });
    }
    Ok(Json(answer))
}

#[utoipa::path(post, path = "/v1/change-requests/{id}/return", tag = "change-requests",
    request_body = Decision, responses((status = 200, body = ChangeRequestRecord)),
    security(("bearer" = [])))]
pub async fn return_for_correction(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ChangeRequestId>,
    Body(request): Body<Decision>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    caller.require(Permission::DecideChanges)?;
    Ok(Json(
        state
            .change_requests
            .return_for_correction(id, &request.note, caller.user)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/change-requests/{id}/reject", tag = "change-requests",
    request_body = Decision, responses((status = 200, body = ChangeRequestRecord)),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ChangeRequestId>,
    Body(request): Body<Decision>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    caller.require(Permission::DecideChanges)?;
    Ok(Json(
        state
            .change_requests
            .reject(id, &request.note, caller.user)
            .await?,
    ))
}
