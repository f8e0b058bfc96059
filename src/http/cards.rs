//! Cards over HTTP: issue (with a first PIN), block, unblock, report lost, replace, set or change
//! the PIN, and unlock after too many wrong PINs; the rules are [`crate::cards`]'. The full card
//! number is returned only when a card is issued (so it can be printed); everywhere else it is
//! masked.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    cards::Issued,
    domain::{
        card::CardStatus,
        ids::{CardId, HouseholdId},
        pan::Pan,
        pin::Pin,
        role::Permission,
    },
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, text, PathParam},
    store::CardRecord,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCard {
    /// The first PIN, chosen by the beneficiary at the office (4 to 6 digits).
    #[schema(value_type = String, example = "123456")]
    pin: Pin,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceCard {
    #[schema(value_type = String, example = "123456")]
    pin: Pin,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupCard {
    /// The full card number; sent in the body so it never lands in a URL or access log.
    #[schema(value_type = String, example = "6019010123456789")]
    pan: Pan,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPin {
    #[schema(value_type = String)]
    pin: Pin,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePin {
    #[schema(value_type = String)]
    current_pin: Pin,
    #[schema(value_type = String)]
    new_pin: Pin,
}

/// The answer to issuing or replacing a card: the only time the full number is shown.
#[derive(Serialize, ToSchema)]
pub struct IssuedCard {
    card: CardRecord,
    #[schema(value_type = String, example = "6019010123456789")]
    pan: Pan,
}

impl From<Issued> for IssuedCard {
    fn from(issued: Issued) -> Self {
        IssuedCard {
            card: issued.card,
            pan: issued.pan,
        }
    }
}

#[utoipa::path(post, path = "/v1/households/{id}/cards", tag = "cards", request_body = IssueCard,
    responses((status = 201, body = IssuedCard)), security(("bearer" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household_id): PathParam<HouseholdId>,
    Body(request): Body<IssueCard>,
) -> Result<(StatusCode, Json<IssuedCard>), ApiError> {
    caller.require(Permission::ManageCards)?;
    let issued = state
        .cards
        .issue(household_id, &request.pin, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

#[utoipa::path(get, path = "/v1/households/{id}/cards", tag = "cards",
    responses((status = 200, body = Vec<CardRecord>)), security(("bearer" = [])))]
pub async fn list_for_household(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household_id): PathParam<HouseholdId>,
) -> Result<Json<Vec<CardRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    state.households.get(household_id).await?;
    Ok(Json(state.store.list_household_cards(household_id).await?))
}

#[utoipa::path(get, path = "/v1/cards/{id}", tag = "cards",
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    Ok(Json(state.cards.get(id).await?))
}

#[utoipa::path(post, path = "/v1/cards/lookup", tag = "cards", request_body = LookupCard,
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<LookupCard>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let card = state.cards.find_by_number(&request.pan).await?;
    Ok(Json(card.ok_or(ApiError::NotFound { entity: "card" })?))
}

async fn change_status(
    state: &AppState,
    caller: &Caller,
    id: CardId,
    to: CardStatus,
    reason: &str,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ManageCards)?;
    let reason = text("reason", reason, crate::domain::limits::REASON_CHARS)?;
    Ok(Json(
        state
            .cards
            .change_status(id, to, reason, caller.user, None)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/cards/{id}/block", tag = "cards", request_body = Reason,
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
    Body(r): Body<Reason>,
) -> Result<Json<CardRecord>, ApiError> {
    change_status(&state, &caller, id, CardStatus::Blocked, &r.reason).await
}

#[utoipa::path(post, path = "/v1/cards/{id}/unblock", tag = "cards", request_body = Reason,
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
    Body(r): Body<Reason>,
) -> Result<Json<CardRecord>, ApiError> {
    change_status(&state, &caller, id, CardStatus::Active, &r.reason).await
}

#[utoipa::path(post, path = "/v1/cards/{id}/lost", tag = "cards", request_body = Reason,
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn report_lost(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
    Body(r): Body<Reason>,
) -> Result<Json<CardRecord>, ApiError> {
    change_status(&state, &caller, id, CardStatus::Lost, &r.reason).await
}

#[utoipa::path(post, path = "/v1/cards/{id}/replace", tag = "cards", request_body = ReplaceCard,
    responses((status = 201, body = IssuedCard)), security(("bearer" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
    Body(request): Body<ReplaceCard>,
) -> Result<(StatusCode, Json<IssuedCard>), ApiError> {
    caller.require(Permission::ManageCards)?;
    let reason = text(
        "reason",
        &request.reason,
        crate::domain::limits::REASON_CHARS,
    )?;
    let issued = state
        .cards
        .replace(id, &request.pin, reason, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

#[utoipa::path(put, path = "/v1/cards/{id}/pin", tag = "cards", request_body = SetPin,
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn set_pin(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
    Body(request): Body<SetPin>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ManageCards)?;
    Ok(Json(
        state
            .cards
            .set_pin(id, &request.pin, caller.user, None)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/cards/{id}/pin/change", tag = "cards", request_body = ChangePin,
    responses((status = 200, body = CardRecord), (status = 423, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_pin(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
    Body(request): Body<ChangePin>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ManageCards)?;
    let card = state
        .cards
        .change_pin(id, &request.current_pin, &request.new_pin, caller.user)
        .await?;
    Ok(Json(card))
}

#[utoipa::path(post, path = "/v1/cards/{id}/unlock", tag = "cards",
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ManageCards)?;
    Ok(Json(state.cards.unlock(id, caller.user).await?))
}
