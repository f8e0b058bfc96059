//! Quota batches over HTTP: upload (CSV streamed, or JSON; see [`crate::quota::upload`]), the
//! report, the errors, approval by a second office user, and expiry of old entitlement.

use axum::{
    extract::{FromRequest, Request, State},
    http::StatusCode,
    Json,
};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::io::StreamReader;
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{ids::QuotaBatchId, money::Minor, role::Permission},
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    quota::{upload, BatchReport, ExpiredEntitlement, LineError, QuotaBatchRecord},
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// A name for the batch, usually the file name (CSV uploads; JSON carries it in the body).
    pub source_name: Option<String>,
}

/// A JSON upload: the same four fields as the CSV, as strings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonBatch {
    pub source_name: String,
    pub lines: Vec<JsonLine>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonLine {
    #[schema(example = "2026-11")]
    pub period: String,
    #[schema(example = "SSN-SEMBAKO")]
    pub program_code: String,
    #[schema(example = "6472010101230001")]
    pub kk_number: String,
    #[schema(example = "200000")]
    pub amount_idr: String,
}

/// The largest JSON upload; bigger files go as CSV, which streams.
pub const JSON_UPLOAD_LIMIT: usize = 16 * 1024 * 1024;

#[utoipa::path(post, path = "/v1/quota/batches", tag = "quota",
    params(UploadQuery),
    request_body(content = JsonBatch, description = "JSON, or text/csv with header period,program_code,kk_number,amount_idr"),
    responses((status = 201, body = BatchReport), (status = 422, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<BatchReport>), ApiError> {
    caller.require(Permission::LoadQuotas)?;
    let mime = crate::http::json::media_type(request.headers());
    let store = state.store.clone();
    let report = match mime.as_str() {
        "text/csv" => {
            let name = crate::http::text(
                "source_name",
                query.source_name.as_deref().unwrap_or("upload.csv"),
                200,
            )?;
            let body = request
                .into_body()
                .into_data_stream()
                .map_err(std::io::Error::other);
            upload::csv(store, caller.user, name, StreamReader::new(body)).await?
        }
        "application/json" => {
            let Body(batch) = Body::<JsonBatch>::from_request(request, &state).await?;
            let name = crate::http::text(
                "source_name",
                &batch.source_name,
                crate::domain::limits::NAME_CHARS,
            )?;
            let rows: Vec<upload::Row> = batch
                .lines
                .iter()
                .map(|line| upload::Row {
                    period: &line.period,
                    program_code: &line.program_code,
                    kk_number: &line.kk_number,
                    amount_idr: &line.amount_idr,
                })
                .collect();
            upload::rows(store, caller.user, name, &rows).await?
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType {
                accepted: "text/csv or application/json",
            })
        }
    };
    Ok((StatusCode::CREATED, Json(report)))
}

#[utoipa::path(get, path = "/v1/quota/batches", tag = "quota", params(PageQuery),
    responses((status = 200, body = Listing<QuotaBatchRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<PageQuery>,
) -> Result<Json<Listing<QuotaBatchRecord>>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let page = query.page();
    let items = state.store.ledger().list_quota_batches(page).await?;
    Ok(Json(Listing::new(items, page, |b| b.id.0)))
}

#[utoipa::path(get, path = "/v1/quota/batches/{id}", tag = "quota",
    responses((status = 200, body = BatchReport)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<QuotaBatchId>,
) -> Result<Json<BatchReport>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let report = state.store.ledger().quota_batch_report(id).await?;
    Ok(Json(report.ok_or(ApiError::NotFound {
        entity: "quota_batch",
    })?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ErrorsQuery {
    /// Errors on lines after this one (the last `line_no` of the previous page).
    pub after_line: Option<i64>,
    /// 1 to 500 (default 100).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/quota/batches/{id}/errors", tag = "quota", params(ErrorsQuery),
    responses((status = 200, body = Vec<LineError>)), security(("bearer" = [])))]
pub async fn errors(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<QuotaBatchId>,
    Params(query): Params<ErrorsQuery>,
) -> Result<Json<Vec<LineError>>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let errors = state
        .store
        .ledger()
        .list_quota_errors(id, query.after_line.unwrap_or(0), limit)
        .await?;
    Ok(Json(errors))
}

#[utoipa::path(post, path = "/v1/quota/batches/{id}/approve", tag = "quota",
    responses((status = 200, body = BatchReport), (status = 403, body = crate::http::error::ErrorBody),
              (status = 409, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<QuotaBatchId>,
) -> Result<Json<BatchReport>, ApiError> {
    caller.require(Permission::LoadQuotas)?;
    let report = crate::quota::posting::approve(state.store.as_ref(), id, caller.user).await?;
    tracing::info!(batch = %id, approver = %caller.username, "quota batch posted");
    Ok(Json(report))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpireRequest {
    /// Entitlement credited for periods older than this date's month minus the program's
    /// carry-over months goes back to program funding.
    #[schema(value_type = String, example = "2027-01-01")]
    pub as_of: chrono::NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiryReport {
    pub as_of: chrono::NaiveDate,
    pub households: Vec<ExpiredEntitlement>,
    #[schema(value_type = String)]
    pub total_amount: String,
}

#[utoipa::path(post, path = "/v1/quota/expire", tag = "quota", request_body = ExpireRequest,
    responses((status = 200, body = ExpiryReport)), security(("bearer" = [])))]
pub async fn expire(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<ExpireRequest>,
) -> Result<Json<ExpiryReport>, ApiError> {
    caller.require(Permission::LoadQuotas)?;
    let households = state
        .store
        .ledger()
        .expire_entitlements(request.as_of, Some(caller.user))
        .await?;
    let total = Minor::sum(households.iter().map(|h| Minor::new(h.amount_minor)))
        .map_err(|overflow| ApiError::invalid("as_of", overflow.into()))?
        .get();
    Ok(Json(ExpiryReport {
        as_of: request.as_of,
        households,
        total_amount: crate::domain::money::format_minor(total),
    }))
}
