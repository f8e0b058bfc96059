//! Complaints: taken in by the office (walk-in, phone), listed with their due dates and
//! escalations, assigned, resolved with an outcome and why. The beneficiary files theirs on
//! `/saldo`. The rules are `registry::complaints`'.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        complaint::{Category, Channel, ComplaintState, Outcome, Severity},
        ids::{ComplaintId, EwarungId, HouseholdId, UserId},
        role::Permission,
        Invalid,
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    model::complaints::{ComplaintFilter, ComplaintRecord},
    registry::complaints::{resolution, Intake},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComplaintBody {
    #[schema(value_type = String, format = Uuid)]
    household_id: HouseholdId,
    /// `walk_in` or `phone` (`saldo` is the beneficiary's own page).
    #[schema(value_type = String, example = "walk_in")]
    channel: Channel,
    /// `forced_package`, `price_above_cap`, `card_kept`, `refused_service`, `wrong_balance`,
    /// `data_error`, `other`.
    #[schema(value_type = String, example = "forced_package")]
    category: Category,
    /// `high` (answered within 2 days), `normal` (5), `low` (10); by default the category's.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "high")]
    severity: Option<Severity>,
    description: String,
    /// The E-Warung complained about (required for a kiosk's conduct unless `rrn` names it).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    ewarung_id: Option<EwarungId>,
    /// The purchase complained about: the 12-digit RRN on the receipt.
    #[serde(default)]
    #[schema(example = "000000000042")]
    rrn: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// An active office user.
    #[schema(value_type = String, format = Uuid)]
    user_id: UserId,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `upheld`, `partly_upheld`, `rejected`, `referred`.
    #[schema(value_type = String, example = "upheld")]
    outcome: Outcome,
    /// Why, and what was done.
    reason: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ComplaintQuery {
    /// `open` or `resolved`.
    #[param(value_type = Option<String>)]
    state: Option<ComplaintState>,
    #[param(value_type = Option<String>, format = Uuid)]
    ewarung_id: Option<EwarungId>,
    #[param(value_type = Option<String>, format = Uuid)]
    household_id: Option<HouseholdId>,
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

#[utoipa::path(post, path = "/v1/complaints", tag = "complaints", request_body = NewComplaintBody,
    responses((status = 201, body = ComplaintRecord)), security(("bearer" = [])))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewComplaintBody>,
) -> Result<(StatusCode, Json<ComplaintRecord>), ApiError> {
    caller.require(Permission::HandleComplaints)?;
    if request.channel == Channel::Saldo {
        return Err(ApiError::invalid(
            "channel",
            Invalid::new(
                "invalid_channel",
                "the office takes complaints walk_in or by phone; saldo is the beneficiary's page",
            ),
        ));
    }
    let intake = Intake::parse(
        Ok(request.category),
        request.severity.map(Ok),
        &request.description,
        request.ewarung_id,
        request.rrn.as_deref(),
    )?;
    let record = state
        .complaints
        .file(
            request.household_id,
            intake,
            request.channel,
            Some(caller.user),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/complaints", tag = "complaints", params(ComplaintQuery),
    responses((status = 200, body = Listing<ComplaintRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<ComplaintQuery>,
) -> Result<Json<Listing<ComplaintRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let filter = ComplaintFilter {
        state: query.state,
        ewarung_id: query.ewarung_id,
        household_id: query.household_id,
    };
    let rows = state.complaints.list(filter, page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

#[utoipa::path(get, path = "/v1/complaints/{id}", tag = "complaints",
    responses((status = 200, body = ComplaintRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ComplaintId>,
) -> Result<Json<ComplaintRecord>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    Ok(Json(state.complaints.get(id).await?))
}

#[utoipa::path(post, path = "/v1/complaints/{id}/assign", tag = "complaints",
    request_body = AssignBody, responses((status = 200, body = ComplaintRecord)),
    security(("bearer" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ComplaintId>,
    Body(request): Body<AssignBody>,
) -> Result<Json<ComplaintRecord>, ApiError> {
    caller.require(Permission::HandleComplaints)?;
    Ok(Json(
        state
            .complaints
            .assign(id, request.user_id, caller.user)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/complaints/{id}/resolve", tag = "complaints",
    request_body = ResolveBody, responses((status = 200, body = ComplaintRecord)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<ComplaintId>,
    Body(request): Body<ResolveBody>,
) -> Result<Json<ComplaintRecord>, ApiError> {
    caller.require(Permission::HandleComplaints)?;
    let (outcome, reason) = resolution(Ok(request.outcome), &request.reason)?;
    Ok(Json(
        state
            .complaints
            .resolve(id, outcome, &reason, caller.user)
            .await?,
    ))
}
