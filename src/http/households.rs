//! Households: registration, data changes and status changes, each kept as a revision with who,
//! when, what and why. Changes name the revision they were based on (optimistic locking).

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        household::{Address, HouseholdStatus},
        identity::{KkNumber, Nik},
        ids::HouseholdId,
        role::Permission,
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, text, Listing, PageQuery,
        Params, PathParam,
    },
    store::{HouseholdChange, HouseholdFilter, HouseholdRecord, NewHousehold, RevisionRecord},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHousehold {
    #[schema(value_type = String, example = "6472012345678901")]
    kk_number: KkNumber,
    #[schema(value_type = String, example = "6472015501800001")]
    head_nik: Nik,
    head_name: String,
    address: Address,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateHousehold {
    /// The revision this change was made against; a newer one answers 409 `stale_revision`.
    expected_revision: i32,
    #[schema(value_type = Option<String>)]
    head_nik: Option<Nik>,
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
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

fn address(address: Address) -> Result<Address, ApiError> {
    address
        .normalised()
        .map_err(|(field, invalid)| ApiError::invalid(field, invalid))
}

#[utoipa::path(post, path = "/v1/households", tag = "households", request_body = CreateHousehold,
    responses((status = 201, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<CreateHousehold>,
) -> Result<(StatusCode, Json<HouseholdRecord>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let household = NewHousehold {
        kk_number: request.kk_number.as_str().to_string(),
        head_nik: request.head_nik.as_str().to_string(),
        head_name: text(
            "head_name",
            &request.head_name,
            crate::domain::limits::NAME_CHARS,
        )?,
        address: address(request.address)?,
    };
    let record = state.store.create_household(household, caller.user).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/households", tag = "households", params(HouseholdQuery),
    responses((status = 200, body = Listing<HouseholdRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<HouseholdQuery>,
) -> Result<Json<Listing<HouseholdRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let filter = HouseholdFilter {
        status: query.status,
        kecamatan: query.kecamatan,
        head_nik: query.head_nik,
        ..HouseholdFilter::default()
    };
    let rows = state.store.list_households(filter, page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

pub(crate) async fn find(state: &AppState, id: HouseholdId) -> Result<HouseholdRecord, ApiError> {
    state
        .store
        .get_household(id)
        .await?
        .ok_or(ApiError::NotFound {
            entity: "household",
        })
}

#[utoipa::path(get, path = "/v1/households/{id}", tag = "households",
    responses((status = 200, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    Ok(Json(find(&state, id).await?))
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
    let change = HouseholdChange {
        id,
        expected_revision: request.expected_revision,
        head_nik: request.head_nik.map(|nik| nik.as_str().to_string()),
        head_name: request
            .head_name
            .map(|name| text("head_name", &name, crate::domain::limits::NAME_CHARS))
            .transpose()?,
        address: request.address.map(address).transpose()?,
        status: None,
        reason: text(
            "reason",
            &request.reason,
            crate::domain::limits::REASON_CHARS,
        )?,
        actor: caller.user,
    };
    Ok(Json(state.store.update_household(change).await?))
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
    let change = HouseholdChange {
        id,
        expected_revision: request.expected_revision,
        head_nik: None,
        head_name: None,
        address: None,
        status: Some(request.status),
        reason: text(
            "reason",
            &request.reason,
            crate::domain::limits::REASON_CHARS,
        )?,
        actor: caller.user,
    };
    Ok(Json(state.store.update_household(change).await?))
}

#[utoipa::path(get, path = "/v1/households/{id}/revisions", tag = "households",
    responses((status = 200, body = Vec<RevisionRecord>)), security(("bearer" = [])))]
pub async fn revisions(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
) -> Result<Json<Vec<RevisionRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    find(&state, id).await?;
    Ok(Json(state.store.list_household_revisions(id).await?))
}
