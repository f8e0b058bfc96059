//! Re-verification campaigns over HTTP: an office opens one; whoever reads households reads the
//! campaigns, their progress per kelurahan and their households (a verifier those of their own
//! kelurahan). The rules are `registry::campaigns`'.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{campaign::VisitProgress, ids::CampaignId, role::Permission},
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    model::campaigns::CampaignRecord,
    registry::campaigns::{CampaignHouseholdView, CampaignPlan, CampaignView},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCampaign {
    #[schema(example = "Verifikasi ulang 2027")]
    name: String,
    /// One kelurahan only (as households' addresses spell it).
    #[serde(default)]
    kelurahan: Option<String>,
    /// Only households not visited for this many months (1 to 60; the yearly round is 12).
    #[serde(default)]
    not_visited_months: Option<u32>,
    /// `YYYY-MM-DD`, after today and at most a year ahead.
    #[schema(example = "2027-03-31")]
    deadline: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignHouseholdQuery {
    /// `pending` (not visited, deadline to come), `visited`, or `missed` (not visited by the
    /// deadline); all when absent.
    #[param(value_type = Option<String>)]
    progress: Option<VisitProgress>,
    kelurahan: Option<String>,
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = OpenCampaign,
    responses((status = 201, body = CampaignRecord)), security(("bearer" = [])))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<OpenCampaign>,
) -> Result<(StatusCode, Json<CampaignRecord>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let plan = CampaignPlan::parse(
        &request.name,
        request.kelurahan.as_deref().unwrap_or(""),
        request.not_visited_months,
        &request.deadline,
    )?;
    let campaign = state.campaigns.open(plan, caller.user).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", params(PageQuery),
    responses((status = 200, body = Listing<CampaignRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(page): Params<PageQuery>,
) -> Result<Json<Listing<CampaignRecord>>, ApiError> {
    caller.reach(&state).await?;
    let page = page.page();
    let rows = state.campaigns.list(page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns",
    responses((status = 200, body = CampaignView)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CampaignId>,
) -> Result<Json<CampaignView>, ApiError> {
    let reach = caller.reach(&state).await?;
    Ok(Json(state.campaigns.get(id, &reach).await?))
}

#[utoipa::path(get, path = "/v1/campaigns/{id}/households", tag = "campaigns",
    params(CampaignHouseholdQuery),
    responses((status = 200, body = Listing<CampaignHouseholdView>)), security(("bearer" = [])))]
pub async fn households(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CampaignId>,
    Params(query): Params<CampaignHouseholdQuery>,
) -> Result<Json<Listing<CampaignHouseholdView>>, ApiError> {
    let reach = caller.reach(&state).await?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let kelurahan = crate::http::dormancy::kelurahan_filter(query.kelurahan.as_deref())?;
    let rows = state
        .campaigns
        .households(id, &reach, query.progress, kelurahan, page)
        .await?;
    Ok(Json(Listing::new(rows, page, |row| {
        row.household.household_id.0
    })))
}
