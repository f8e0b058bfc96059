//! What terminals report besides transactions, relayed by the gateway under the E-Warung's
//! operator: batch totals at batch close (compared with the host's, a mismatch recorded) and
//! device events (into the audit log).

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::role::Permission,
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, PathParam},
    redemption::request::{LocalDate, LocalTime},
    store::{BatchSide, BatchTotalsRecord},
};
use terminal_link::messages::DeviceEventKind;
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchTotalsRequest {
    /// The terminal's local date the batch covers.
    #[schema(value_type = String, example = "2026-11-23")]
    pub business_date: LocalDate,
    #[serde(flatten)]
    pub totals: BatchSide,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceEventRequest {
    /// `POWER_ON`, `PAPER_OUT`, `PAPER_LOADED` or `CARD_READ_ERROR`.
    #[schema(example = "PAPER_OUT")]
    pub event: String,
    #[schema(value_type = String, example = "2026-11-23T10:15:00")]
    pub local_time: LocalTime,
}

/// The caller must be the operator of the terminal's E-Warung.
async fn own_terminal(
    state: &AppState,
    caller: &Caller,
    terminal_id: &str,
) -> Result<(), ApiError> {
    caller.require(Permission::Redeem)?;
    let terminal = state
        .store
        .get_terminal(terminal_id)
        .await?
        .ok_or(ApiError::NotFound { entity: "terminal" })?;
    if caller.ewarung != Some(terminal.ewarung_id) {
        return Err(ApiError::forbidden_ewarung());
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/terminals/{terminal_id}/batch-totals", tag = "terminals",
    request_body = BatchTotalsRequest,
    responses((status = 200, body = BatchTotalsRecord, description = "stored; `matched` says whether the host agrees")),
    security(("bearer" = [])))]
pub async fn batch_totals(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(terminal_id): PathParam<String>,
    Body(request): Body<BatchTotalsRequest>,
) -> Result<Json<BatchTotalsRecord>, ApiError> {
    own_terminal(&state, &caller, &terminal_id).await?;
    let totals = request.totals;
    for side in [totals.purchases, totals.refunds, totals.reversals] {
        if side.count < 0 || side.amount_minor < 0 {
            return Err(ApiError::Invalid {
                code: "invalid_totals".into(),
                message: "counts and amounts are never negative".into(),
                field: None,
            });
        }
    }
    let record = state
        .store
        .record_batch_totals(
            &terminal_id,
            request.business_date.as_str(),
            totals,
            caller.user,
        )
        .await?;
    if !record.matched {
        tracing::warn!(terminal = %terminal_id, date = %record.business_date,
            "terminal batch totals differ from the host's; recorded");
    }
    Ok(Json(record))
}

#[utoipa::path(post, path = "/v1/terminals/{terminal_id}/events", tag = "terminals",
    request_body = DeviceEventRequest, responses((status = 204, description = "recorded")),
    security(("bearer" = [])))]
pub async fn device_event(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(terminal_id): PathParam<String>,
    Body(request): Body<DeviceEventRequest>,
) -> Result<StatusCode, ApiError> {
    own_terminal(&state, &caller, &terminal_id).await?;
    let event = DeviceEventKind::parse(&request.event).ok_or_else(|| ApiError::Invalid {
        code: "invalid_event".into(),
        message: "event must be POWER_ON, PAPER_OUT, PAPER_LOADED or CARD_READ_ERROR".into(),
        field: Some("event".into()),
    })?;
    let local_time = request.local_time.0.format(LocalTime::FORMAT).to_string();
    state
        .store
        .record_terminal_event(&terminal_id, event.as_str(), &local_time, caller.user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
