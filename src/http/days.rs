//! Business dates over HTTP: the daily close and settlement (the `bank` role), read by the bank,
//! the offices and auditors.

use axum::{extract::State, http::StatusCode, Json};

use crate::{
    close::DayClose,
    domain::role::Permission,
    http::{auth::Caller, error::ApiError, state::AppState, PathParam},
    settlement::{SettlementOutcome, SettlementRecord},
};

/// A date in a path, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<chrono::NaiveDate, ApiError> {
    crate::business_day::parse_date(text).ok_or_else(|| ApiError::Invalid {
        code: "invalid_date".into(),
        message: format!(
            "'{}' is not a date YYYY-MM-DD",
            text.chars().take(20).collect::<String>()
        ),
        field: Some("date".into()),
    })
}

#[utoipa::path(post, path = "/v1/days/{date}/close", tag = "days",
    params(("date" = String, Path, description = "business date, YYYY-MM-DD")),
    responses((status = 201, body = DayClose, description = "closed now"),
              (status = 200, body = DayClose, description = "closed before: the same report, nothing changed"),
              (status = 409, body = crate::http::error::ErrorBody, description = "`business_date_not_started`")),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(date): PathParam<String>,
) -> Result<(StatusCode, Json<DayClose>), ApiError> {
    caller.require(Permission::CloseDays)?;
    let date = parse_date(&date)?;
    let (close, new) = state.store.days().close_day(date, caller.user).await?;
    if new {
        tracing::info!(date = %close.business_date, purchases = close.totals.purchases.count,
            open_holds = close.open_holds.len(), batch_problems = close.batch_problems().count(), "day closed");
    }
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(close)))
}

#[utoipa::path(get, path = "/v1/days/{date}/close", tag = "days",
    params(("date" = String, Path, description = "business date, YYYY-MM-DD")),
    responses((status = 200, body = DayClose), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_close(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(date): PathParam<String>,
) -> Result<Json<DayClose>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let date = parse_date(&date)?;
    let close = state.store.days().day_close(date).await?;
    Ok(Json(close.ok_or(ApiError::NotFound { entity: "close" })?))
}

#[utoipa::path(post, path = "/v1/settlements/{date}", tag = "days",
    params(("date" = String, Path, description = "business date, YYYY-MM-DD")),
    responses((status = 200, body = SettlementOutcome, description = "what this call posted (the difference between the authoritative run's match and what was settled before) and every entry of the date; settling again with nothing new posts nothing"),
              (status = 409, body = crate::http::error::ErrorBody, description = "`business_date_not_closed`, `not_reconciled`, `payable_short`")),
    security(("bearer" = [])))]
pub async fn settle(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(date): PathParam<String>,
) -> Result<Json<SettlementOutcome>, ApiError> {
    caller.require(Permission::Reconcile)?;
    let date = parse_date(&date)?;
    let mut outcome = crate::settlement::settle(state.store.as_ref(), date, caller.user).await?;
    outcome.audit_head =
        crate::audit_trail::payout_head(&state.store, &state.audit_signer, &outcome.business_date)
            .await;
    Ok(Json(outcome))
}

#[utoipa::path(get, path = "/v1/settlements/{date}", tag = "days",
    params(("date" = String, Path, description = "business date, YYYY-MM-DD")),
    responses((status = 200, body = [SettlementRecord])),
    security(("bearer" = [])))]
pub async fn settlements(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(date): PathParam<String>,
) -> Result<Json<Vec<SettlementRecord>>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let date = parse_date(&date)?;
    Ok(Json(state.store.days().settlements(date).await?))
}
