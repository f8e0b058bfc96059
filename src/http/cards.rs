//! Cards: issue (with a first PIN), block, unblock, report lost, replace, set or change the PIN,
//! and unlock after too many wrong PINs. The full card number is returned only when a card is
//! issued (so it can be printed); everywhere else it is masked.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        card::CardStatus,
        household::HouseholdStatus,
        ids::{CardId, HouseholdId},
        pan::Pan,
        pin::Pin,
        role::Permission,
    },
    http::{
        auth::Caller, error::ApiError, households, json::Body, state::AppState, text, PathParam,
    },
    pin_check::{self, PinRefusal},
    store::{CardRecord, CardStatusChange, NewCard, StoreError},
};

/// A freshly drawn card number can collide with an existing one (1 in 10^8 per draw); a few fresh
/// draws make a failure practically impossible without looping forever.
const PAN_DRAWS: usize = 5;

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

async fn find(state: &AppState, id: CardId) -> Result<CardRecord, ApiError> {
    state
        .store
        .get_card(id)
        .await?
        .ok_or(ApiError::NotFound { entity: "card" })
}

/// Draws card numbers until one is free, then stores the card with `store_card`.
async fn with_fresh_pan<F, Fut>(
    state: &AppState,
    pin: &Pin,
    household: HouseholdId,
    store_card: F,
) -> Result<IssuedCard, ApiError>
where
    F: Fn(NewCard) -> Fut,
    Fut: std::future::Future<Output = Result<CardRecord, StoreError>>,
{
    for _ in 0..PAN_DRAWS {
        let pan = Pan::generate(&state.cards.prefix, &mut rand::thread_rng());
        let card = NewCard {
            household_id: household,
            pan: state.pans.protect(pan.expose()),
            pin_hash: state.pins.verification_value(pan.expose(), pin),
        };
        match store_card(card).await {
            Ok(card) => return Ok(IssuedCard { card, pan }),
            Err(StoreError::Duplicate { constraint }) if constraint == "cards_pan_hash_key" => {
                continue
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "no free card number after {PAN_DRAWS} draws"
    )))
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
    let household = households::find(&state, household_id).await?;
    if household.status != HouseholdStatus::Active {
        return Err(ApiError::Conflict {
            code: "household_not_active",
            message: format!(
                "household is {}; only active households get cards",
                household.status
            ),
        });
    }
    let issued = with_fresh_pan(&state, &request.pin, household.id, |card| {
        let store = state.store.clone();
        async move { store.issue_card(card, caller.user).await }
    })
    .await?;
    tracing::info!(card = %issued.pan, household = %household.id, "card issued");
    Ok((StatusCode::CREATED, Json(issued)))
}

#[utoipa::path(get, path = "/v1/households/{id}/cards", tag = "cards",
    responses((status = 200, body = Vec<CardRecord>)), security(("bearer" = [])))]
pub async fn list_for_household(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(household_id): PathParam<HouseholdId>,
) -> Result<Json<Vec<CardRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    households::find(&state, household_id).await?;
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
    Ok(Json(find(&state, id).await?))
}

#[utoipa::path(post, path = "/v1/cards/lookup", tag = "cards", request_body = LookupCard,
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<LookupCard>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let card = state
        .store
        .find_card_by_pan_hash(&state.pans.lookup_hash(request.pan.expose()))
        .await?;
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
    let from: &'static [CardStatus] = match to {
        CardStatus::Blocked => &[CardStatus::Active],
        CardStatus::Active => &[CardStatus::Blocked],
        CardStatus::Lost => &[CardStatus::Active, CardStatus::Blocked],
        CardStatus::Replaced => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "replacement has its own endpoint"
            )))
        }
    };
    debug_assert!(from.iter().all(|status| status.may_become(to)));
    let change = CardStatusChange {
        card: id,
        from,
        to,
        reason: text("reason", reason, 500)?,
        actor: caller.user,
    };
    Ok(Json(state.store.change_card_status(change).await?))
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
    let old = find(&state, id).await?;
    let reason = text("reason", &request.reason, 500)?;
    let issued = with_fresh_pan(&state, &request.pin, old.household_id, |card| {
        let (store, reason) = (state.store.clone(), reason.clone());
        async move { store.replace_card(old.id, card, reason, caller.user).await }
    })
    .await?;
    tracing::info!(old = %old.pan_last4, new = %issued.pan, "card replaced");
    Ok((StatusCode::CREATED, Json(issued)))
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
    let card = find(&state, id).await?;
    let value = state
        .pins
        .verification_value(&full_number(&state, &card)?, &request.pin);
    Ok(Json(
        state.store.set_pin(card.id, value, caller.user).await?,
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
    let card = find(&state, id).await?;
    if !card.status.can_transact() {
        return Err(ApiError::Conflict {
            code: "invalid_state",
            message: format!("card is {}", card.status),
        });
    }
    let pan = full_number(&state, &card)?;
    let mut attempts: &dyn crate::store::Store = state.store.as_ref();
    pin_check::check(
        &mut attempts,
        &state.pins,
        &state.cards,
        &card,
        &pan,
        &request.current_pin,
    )
    .await?
    .map_err(refusal)?;
    let value = state.pins.verification_value(&pan, &request.new_pin);
    Ok(Json(
        state.store.set_pin(card.id, value, caller.user).await?,
    ))
}

/// The card's number, opened from its encrypted copy (a PIN's verification value is keyed by it).
fn full_number(
    state: &AppState,
    card: &CardRecord,
) -> Result<zeroize::Zeroizing<String>, ApiError> {
    state
        .pans
        .open(&card.pan_encrypted)
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("card {}: {error}", card.id)))
}

/// How a refused PIN reads over HTTP.
fn refusal(refusal: PinRefusal) -> ApiError {
    match refusal {
        PinRefusal::NotSet => ApiError::Conflict {
            code: "pin_not_set",
            message: "the card has no PIN yet".into(),
        },
        PinRefusal::Locked { until } | PinRefusal::NowLocked { until } => ApiError::Locked {
            code: "card_locked",
            message: format!("too many wrong PINs; the card is locked until {until}"),
        },
        PinRefusal::Wrong { remaining } => ApiError::Invalid {
            code: "wrong_pin".into(),
            message: format!("the PIN is wrong; {remaining} tries left before the card locks"),
            field: Some("current_pin".into()),
        },
    }
}

#[utoipa::path(post, path = "/v1/cards/{id}/unlock", tag = "cards",
    responses((status = 200, body = CardRecord)), security(("bearer" = [])))]
pub async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<CardId>,
) -> Result<Json<CardRecord>, ApiError> {
    caller.require(Permission::ManageCards)?;
    Ok(Json(state.store.unlock_card(id, caller.user).await?))
}
