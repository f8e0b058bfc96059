//! Dormant balances over HTTP: the households of a program idle for N months with what expires
//! when, and the notices printed for them. The rules are `registry::dormancy`'.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{expiry::parse_idle_months, ids::HouseholdId, role::Permission},
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    model::dormancy::DormancyNotice,
    registry::dormancy::DormantView,
};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DormantQuery {
    /// The program's code.
    #[param(example = "SSN-SEMBAKO")]
    program: String,
    /// Months without an approved purchase, 1 to 24 (default 3).
    months: Option<u32>,
    /// One kelurahan only, as households' addresses spell it.
    kelurahan: Option<String>,
    /// The `next_after` of the previous page.
    after: Option<uuid::Uuid>,
    /// Rows per page, 1 to 500 (default 100).
    limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintNotice {
    #[schema(example = "SSN-SEMBAKO")]
    program: String,
    /// The idle window the household was found in, 1 to 24 (default 3).
    #[serde(default)]
    months: Option<u32>,
}

/// A kelurahan filter as given: none when blank, refused (422) when it cannot be a name.
pub(crate) fn kelurahan_filter(given: Option<&str>) -> Result<Option<String>, ApiError> {
    match given.map(str::trim).filter(|name| !name.is_empty()) {
        None => Ok(None),
        Some(name) => {
            crate::http::text("kelurahan", name, crate::domain::limits::AREA_CHARS).map(Some)
        }
    }
}

fn idle_months(months: Option<u32>) -> Result<u32, ApiError> {
    let text = months.map(|months| months.to_string()).unwrap_or_default();
    parse_idle_months(&text).map_err(|invalid| ApiError::invalid("months", invalid))
}

#[utoipa::path(get, path = "/v1/dormant-households", tag = "dormancy", params(DormantQuery),
    responses((status = 200, body = Listing<DormantView>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<DormantQuery>,
) -> Result<Json<Listing<DormantView>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    caller.require(Permission::ReadLedger)?;
    let months = idle_months(query.months)?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let kelurahan = kelurahan_filter(query.kelurahan.as_deref())?;
    let rows = state
        .dormancy
        .list(&query.program, months, kelurahan, page)
        .await?;
    Ok(Json(Listing::new(rows, page, |row| {
        row.household.household_id.0
    })))
}

#[utoipa::path(post, path = "/v1/households/{id}/dormancy-notices", tag = "dormancy",
    request_body = PrintNotice, responses((status = 201, body = DormancyNotice)),
    security(("bearer" = [])))]
pub async fn print(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household): PathParam<HouseholdId>,
    Body(request): Body<PrintNotice>,
) -> Result<(StatusCode, Json<DormancyNotice>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let months = idle_months(request.months)?;
    let notice = state
        .dormancy
        .notice(household, &request.program, months, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(notice)))
}

#[utoipa::path(get, path = "/v1/households/{id}/dormancy-notices", tag = "dormancy",
    responses((status = 200, body = Vec<DormancyNotice>)), security(("bearer" = [])))]
pub async fn list_for_household(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household): PathParam<HouseholdId>,
) -> Result<Json<Vec<DormancyNotice>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    state.households.get(household).await?;
    Ok(Json(state.dormancy.notices_of(household).await?))
}
