//! Households: registration, and data and status changes proposed as change requests that another
//! office user approves (four eyes); each applied change is kept as a revision with who, when,
//! what and why. Changes name the revision they were based on (optimistic locking). The rules are
//! `registry::households`' and `registry::change_requests`'; these handlers read, call and answer.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        change_request::StatusGround,
        household::{Address, HouseholdStatus},
        ids::HouseholdId,
        role::Permission,
    },
    http::{
        auth::Caller, change_requests::propose_for_household, error::ApiError, json::Body,
        state::AppState, Listing, PageQuery, Params, PathParam,
    },
    model::change_requests::{ChangeRequestRecord, Proposal},
    registry::households::Registration,
    store::{HouseholdFilter, HouseholdRecord, RevisionRecord},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHousehold {
    /// 16 digits.
    #[schema(example = "6472012345678901")]
    kk_number: String,
    /// 16 digits.
    #[schema(example = "6472015501800001")]
    head_nik: String,
    head_name: String,
    address: Address,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHousehold {
    /// The revision this change was made against; a newer one answers 409 `stale_revision`.
    expected_revision: i32,
    head_nik: Option<String>,
    head_name: Option<String>,
    address: Option<Address>,
    /// Why (e.g. "moved to Sungai Pinang, checked by RT 012").
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeHouseholdStatus {
    /// The revision this change was made against; a newer one answers 409 `stale_revision`.
    expected_revision: i32,
    status: HouseholdStatus,
    /// `moved_away` or `no_longer_eligible` (ask for `exited`), `deceased_head` (`suspended` or
    /// `exited`), `other` (any status; the default). A `moved_away` or `deceased_head` request
    /// holds the household's cards (response code 78) until it is decided.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "moved_away")]
    ground: Option<StatusGround>,
    reason: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HouseholdQuery {
    #[param(value_type = Option<String>)]
    status: Option<HouseholdStatus>,
    kecamatan: Option<String>,
    head_nik: Option<String>,
    /// Any member's NIK (the head's included): the household that lists that person.
    member_nik: Option<String>,
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

#[utoipa::path(post, path = "/v1/households", tag = "households", request_body = CreateHousehold,
    responses((status = 201, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<CreateHousehold>,
) -> Result<(StatusCode, Json<HouseholdRecord>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let registration = Registration::parse(
        &request.kk_number,
        &request.head_nik,
        &request.head_name,
        request.address,
    )?;
    let record = state.households.register(registration, caller.user).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/households", tag = "households", params(HouseholdQuery),
    responses((status = 200, body = Listing<HouseholdRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<HouseholdQuery>,
) -> Result<Json<Listing<HouseholdRecord>>, ApiError> {
    let reach = caller.reach(&state).await?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let filter = HouseholdFilter {
        status: query.status,
        kecamatan: query.kecamatan,
        head_nik: query.head_nik,
        member_nik: query.member_nik,
        within: reach.bound_to().map(<[String]>::to_vec),
        ..HouseholdFilter::default()
    };
    let rows = state.store.list_households(filter, page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

#[utoipa::path(get, path = "/v1/households/{id}", tag = "households",
    responses((status = 200, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    Ok(Json(caller.reach_household(&state, id).await?))
}

#[utoipa::path(patch, path = "/v1/households/{id}", tag = "households", request_body = UpdateHousehold,
    responses((status = 202, body = ChangeRequestRecord,
        description = "Proposed: a submitted change request (kind `data`), applied when another office user approves it")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<UpdateHousehold>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let proposal = Proposal::Data {
        head_nik: request.head_nik,
        head_name: request.head_name,
        address: request.address,
    };
    propose_for_household(
        &state,
        &caller,
        id,
        request.expected_revision,
        proposal,
        request.reason,
    )
    .await
}

#[utoipa::path(post, path = "/v1/households/{id}/status", tag = "households", request_body = ChangeHouseholdStatus,
    responses((status = 202, body = ChangeRequestRecord,
        description = "Proposed: a submitted change request (kind `status`), applied when another office user approves it")),
    security(("bearer" = [])))]
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<ChangeHouseholdStatus>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let proposal = Proposal::Status {
        status: request.status,
        ground: request.ground.unwrap_or(StatusGround::Other),
    };
    propose_for_household(
        &state,
        &caller,
        id,
        request.expected_revision,
        proposal,
        request.reason,
    )
    .await
}

#[utoipa::path(get, path = "/v1/households/{id}/revisions", tag = "households",
    responses((status = 200, body = Vec<RevisionRecord>)), security(("bearer" = [])))]
pub async fn revisions(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
) -> Result<Json<Vec<RevisionRecord>>, ApiError> {
    caller.reach_household(&state, id).await?;
    Ok(Json(state.households.revisions(id).await?))
}
