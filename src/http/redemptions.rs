//! The terminal-facing API. Every answer is HTTP 200 with an ISO 8583-style response code (a
//! malformed request, a missing token or a wrong role are the only 4xx), because the terminal acts
//! on the code. The bodies come from the ledger jobs as bytes, so a replay is byte for byte.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{
    domain::{purchase::Followup, role::Permission},
    http::{auth::Caller, error::ApiError, json::Body, state::AppState},
    ledger::LedgerJob,
    redemption::{
        engine::{Authorize, Balance, FollowUp, Refund, Status},
        request::{AuthorizeRequest, BalanceRequest, OriginalRequest, RefundRequest},
        response::{StatusReply, TerminalReply},
    },
};

#[utoipa::path(post, path = "/v1/redemptions/authorize", tag = "redemptions",
    request_body = AuthorizeRequest,
    responses((status = 200, body = TerminalReply, description = "approved (00) or declined with a response code")),
    security(("bearer" = [])))]
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<AuthorizeRequest>,
) -> Result<Response, ApiError> {
    let ewarung = terminal_operator(&caller)?;
    request
        .pin_entry()
        .map_err(|invalid| ApiError::invalid("pin", invalid))?;
    let terminal = request.terminal_id.to_string();
    let job = Authorize {
        rules: state.redemptions.clone(),
        ewarung,
        request,
    };
    Ok(answer(&state, job, &terminal, "authorize").await)
}

#[utoipa::path(post, path = "/v1/redemptions/complete", tag = "redemptions",
    request_body = OriginalRequest, responses((status = 200, body = TerminalReply)),
    security(("bearer" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Body(original): Body<OriginalRequest>,
) -> Result<Response, ApiError> {
    follow_up(state, caller, original, Followup::Complete).await
}

#[utoipa::path(post, path = "/v1/redemptions/void", tag = "redemptions",
    request_body = OriginalRequest, responses((status = 200, body = TerminalReply)),
    security(("bearer" = [])))]
pub async fn void(
    State(state): State<AppState>,
    caller: Caller,
    Body(original): Body<OriginalRequest>,
) -> Result<Response, ApiError> {
    follow_up(state, caller, original, Followup::Void).await
}

#[utoipa::path(post, path = "/v1/redemptions/refund", tag = "redemptions",
    request_body = RefundRequest,
    responses((status = 200, body = TerminalReply, description = "00 returned to the card (a held purchase is voided, a completed one of the same business day refunded); 94 when the purchase was already refunded, voided, reversed or expired, or the STAN was used for another request; 25 when the purchase is unknown")),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<RefundRequest>,
) -> Result<Response, ApiError> {
    let ewarung = terminal_operator(&caller)?;
    let terminal = request.terminal_id.to_string();
    Ok(answer(&state, Refund { ewarung, request }, &terminal, "refund").await)
}

#[utoipa::path(post, path = "/v1/redemptions/reversal", tag = "redemptions",
    request_body = OriginalRequest, responses((status = 200, body = TerminalReply)),
    security(("bearer" = [])))]
pub async fn reversal(
    State(state): State<AppState>,
    caller: Caller,
    Body(original): Body<OriginalRequest>,
) -> Result<Response, ApiError> {
    follow_up(state, caller, original, Followup::Reverse).await
}

#[utoipa::path(post, path = "/v1/redemptions/balance", tag = "redemptions",
    request_body = BalanceRequest, responses((status = 200, body = TerminalReply)),
    security(("bearer" = [])))]
pub async fn balance(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<BalanceRequest>,
) -> Result<Response, ApiError> {
    let ewarung = terminal_operator(&caller)?;
    request
        .pin_entry()
        .map_err(|invalid| ApiError::invalid("pin", invalid))?;
    let terminal = request.terminal_id.to_string();
    let job = Balance {
        rules: state.redemptions.clone(),
        ewarung,
        request,
    };
    Ok(answer(&state, job, &terminal, "balance").await)
}

#[utoipa::path(post, path = "/v1/redemptions/status", tag = "redemptions",
    request_body = OriginalRequest,
    responses((status = 200, body = StatusReply, description = "`status` final (with the stored `answer`, as first sent, and the purchase's `state` now) or not_found; a terminal of another E-Warung gets a TerminalReply with code 58")),
    security(("bearer" = [])))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Body(original): Body<OriginalRequest>,
) -> Result<Response, ApiError> {
    let ewarung = terminal_operator(&caller)?;
    let terminal = original.terminal_id.to_string();
    Ok(answer(&state, Status { ewarung, original }, &terminal, "status").await)
}

async fn follow_up(
    state: AppState,
    caller: Caller,
    original: OriginalRequest,
    action: Followup,
) -> Result<Response, ApiError> {
    let ewarung = terminal_operator(&caller)?;
    let terminal = original.terminal_id.to_string();
    let name = match action {
        Followup::Complete => "complete",
        Followup::Void => "void",
        Followup::Reverse => "reversal",
    };
    let job = FollowUp {
        ewarung,
        action,
        original,
    };
    Ok(answer(&state, job, &terminal, name).await)
}

/// Only operators transact, and only for their own E-Warung (checked against the terminal).
fn terminal_operator(caller: &Caller) -> Result<crate::domain::ids::EwarungId, ApiError> {
    caller.require(Permission::Redeem)?;
    caller.ewarung.ok_or_else(ApiError::forbidden_ewarung)
}

/// The job's answer as the terminal's HTTP response (always 200: the code is in the body),
/// counted by `action` and response code for `/metrics`.
async fn answer<J>(state: &AppState, job: J, terminal: &str, action: &'static str) -> Response
where
    J: LedgerJob<Output = Vec<u8>>,
{
    let body = crate::redemption::answer::answer(state.store.as_ref(), job, terminal).await;
    crate::metrics::metrics().redemption(action, response_code(&body));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The response code an answer carries (`"response_code":"00"`), read off its bytes without
/// parsing the whole answer again; `none` for an answer without one (a status answer).
fn response_code(body: &[u8]) -> &str {
    const KEY: &[u8] = b"\"response_code\":\"";
    body.windows(KEY.len())
        .position(|window| window == KEY)
        .and_then(|at| body.get(at + KEY.len()..at + KEY.len() + 2))
        .and_then(|code| std::str::from_utf8(code).ok())
        .unwrap_or("none")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_response_code_is_read_off_the_answer() {
        assert_eq!(
            super::response_code(br#"{"response_code":"51","approved":false}"#),
            "51"
        );
        assert_eq!(super::response_code(br#"{"status":"not_found"}"#), "none");
    }
}
