//! Households: registration, data changes and status changes, each kept as a revision with who,
//! when, what and why. Changes name the revision they were based on (optimistic locking). The
//! rules are `registry::households`'; these handlers read, call and answer.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        household::{Address, HouseholdStatus},
        ids::HouseholdId,
        role::Permission,
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    registry::households::{DataChange, Registration, StatusChange},
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
    expected_revision: i32,
    status: HouseholdStatus,
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
    responses((status = 200, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<UpdateHousehold>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let change = DataChange::parse(
        request.expected_revision,
        request.head_nik.as_deref(),
        request.head_name.as_deref(),
        request.address,
        &request.reason,
    )?;
    Ok(Json(
        state
            .households
            .change_data(id, change, caller.user)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/households/{id}/status", tag = "households", request_body = ChangeHouseholdStatus,
    responses((status = 200, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<ChangeHouseholdStatus>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let change = StatusChange::parse(request.expected_revision, request.status, &request.reason)?;
    Ok(Json(
        state
            .households
            .change_status(id, change, caller.user)
            .await?,
    ))
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
