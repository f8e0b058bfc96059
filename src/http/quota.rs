//! Quota batches over HTTP: upload (CSV streamed, or JSON), the report, the errors, approval by a
//! second office user, and expiry of old entitlement. A CSV upload is read as it arrives and staged
//! in chunks, so a file of a million rows never sits in memory.

use std::collections::HashMap;

use axum::{
    extract::{FromRequest, Request, State},
    http::{header, StatusCode},
    Json,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, ToSchema};

use crate::{
    abandon::Abandon,
    domain::{
        ids::{ProgramId, QuotaBatchId},
        money::Minor,
        role::Permission,
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    quota::{
        parse::{self, Chunk},
        BatchReport, BatchTally, ExpiredEntitlement, LineError, QuotaBatchRecord,
    },
    store::Store,
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
    let mime = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let programs = program_codes(state.store.as_ref()).await?;
    let report = match mime.as_str() {
        "text/csv" => {
            let name = crate::http::text(
                "source_name",
                query.source_name.as_deref().unwrap_or("upload.csv"),
                200,
            )?;
            upload_csv(&state, &caller, name, programs, request).await?
        }
        "application/json" => {
            let Body(batch) = Body::<JsonBatch>::from_request(request, &state).await?;
            let name = crate::http::text("source_name", &batch.source_name, 200)?;
            upload_json(&state, &caller, name, programs, batch.lines).await?
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType {
                accepted: "text/csv or application/json",
            })
        }
    };
    Ok((StatusCode::CREATED, Json(report)))
}

async fn program_codes(store: &dyn Store) -> Result<HashMap<String, ProgramId>, ApiError> {
    Ok(store
        .list_programs()
        .await?
        .into_iter()
        .map(|p| (p.code, p.id))
        .collect())
}

async fn upload_json(
    state: &AppState,
    caller: &Caller,
    name: String,
    programs: HashMap<String, ProgramId>,
    lines: Vec<JsonLine>,
) -> Result<BatchReport, ApiError> {
    if lines.is_empty() {
        return Err(empty_file());
    }
    let store = state.store.ledger();
    let batch = store.create_quota_batch(&name, caller.user).await?;
    let abandon = abandon_batch(state, batch.id);
    let staged = stage_json(state, batch.id, &programs, &lines).await;
    finish_or_abandon(state, batch.id, lines.len() as i64, staged, abandon).await
}

/// Checks and stages the JSON lines a chunk at a time; the tally of what posting would do.
async fn stage_json(
    state: &AppState,
    batch: QuotaBatchId,
    programs: &HashMap<String, ProgramId>,
    lines: &[JsonLine],
) -> Result<BatchTally, ApiError> {
    let store = state.store.ledger();
    let mut tally = BatchTally::default();
    for (index, part) in lines.chunks(parse::CHUNK_ROWS).enumerate() {
        let mut chunk = Chunk::default();
        for (offset, line) in part.iter().enumerate() {
            let line_no = (index * parse::CHUNK_ROWS + offset + 1) as i64;
            let fields = [
                line.period.as_str(),
                line.program_code.as_str(),
                line.kk_number.as_str(),
                line.amount_idr.as_str(),
            ];
            match parse::check_row(line_no, fields, programs) {
                Ok(staged) => chunk.lines.push(staged),
                Err(errors) => chunk.errors.extend(errors),
            }
        }
        let outcomes = store
            .stage_quota_chunk(batch, &chunk.lines, &chunk.errors)
            .await?;
        tally.record(&chunk.lines, &outcomes);
    }
    Ok(tally)
}

/// Removes the batch if the upload is dropped before it finishes (the client went away or the
/// request timed out): a batch must never stay `validating`.
fn abandon_batch(state: &AppState, batch: QuotaBatchId) -> Abandon {
    let store = state.store.clone();
    Abandon::new(async move {
        match store.ledger().abandon_quota_batch(batch).await {
            Ok(true) => tracing::warn!(%batch, "removed a quota batch whose upload did not finish"),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%batch, %error, "could not remove an unfinished quota batch")
            }
        }
    })
}

/// Finishes the batch when staging went well; otherwise removes it before answering.
async fn finish_or_abandon(
    state: &AppState,
    batch: QuotaBatchId,
    rows: i64,
    staged: Result<BatchTally, ApiError>,
    abandon: Abandon,
) -> Result<BatchReport, ApiError> {
    let finished = match staged {
        Ok(tally) => state
            .store
            .ledger()
            .finish_quota_batch(batch, rows, tally.finish())
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match finished {
        Ok(report) => {
            abandon.finished();
            Ok(report)
        }
        Err(error) => {
            abandon.now().await;
            Err(error)
        }
    }
}

async fn upload_csv(
    state: &AppState,
    caller: &Caller,
    name: String,
    programs: HashMap<String, ProgramId>,
    request: Request,
) -> Result<BatchReport, ApiError> {
    use futures_util::TryStreamExt;
    let stream = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let reader = StreamReader::new(stream);
    // Parsing is synchronous (the csv crate); it runs on a blocking thread and hands chunks over a
    // short queue, so at most a few chunks are in memory however large the file.
    let (sender, mut chunks) = mpsc::channel::<Chunk>(2);
    let parser = tokio::task::spawn_blocking(move || {
        parse::read_csv(SyncIoBridge::new(reader), &programs, |chunk| {
            sender.blocking_send(chunk).is_ok()
        })
    });
    let store = state.store.ledger();
    // The batch is created with the first row, so a file with a bad header or no rows leaves none.
    let first = loop {
        match chunks.recv().await {
            Some(chunk) if chunk.rows == 0 => continue,
            other => break other,
        }
    };
    let Some(first) = first else {
        let parsed = parser.await.map_err(|error| {
            ApiError::Internal(anyhow::anyhow!("quota parser stopped: {error}"))
        })?;
        return Err(match parsed {
            Err(error) => error.into(),
            Ok(()) => empty_file(),
        });
    };
    let batch = store.create_quota_batch(&name, caller.user).await?;
    let abandon = abandon_batch(state, batch.id);
    let mut rows: i64 = 0;
    let staged = stage_csv(state, batch.id, first, chunks, parser, &mut rows).await;
    finish_or_abandon(state, batch.id, rows, staged, abandon).await
}

/// Stages the parsed chunks as they arrive and waits for the parser; counts the rows read.
async fn stage_csv(
    state: &AppState,
    batch: QuotaBatchId,
    first: Chunk,
    chunks: mpsc::Receiver<Chunk>,
    parser: tokio::task::JoinHandle<Result<(), parse::ReadError>>,
    rows: &mut i64,
) -> Result<BatchTally, ApiError> {
    use futures_util::{StreamExt, TryStreamExt};
    let store = state.store.ledger();
    // Two chunks are staged at once: one looks its households up on a reader while the other is
    // written, which on SQLite's single writer is the difference that matters.
    let mut tally = BatchTally::default();
    let rest = futures_util::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    futures_util::stream::once(async { first })
        .chain(rest)
        .map(|chunk| {
            *rows += chunk.rows as i64;
            async move {
                let outcomes = store
                    .stage_quota_chunk(batch, &chunk.lines, &chunk.errors)
                    .await?;
                Ok::<_, crate::store::StoreError>((chunk.lines, outcomes))
            }
        })
        .buffer_unordered(2)
        .try_for_each(|(lines, outcomes)| {
            tally.record(&lines, &outcomes);
            futures_util::future::ready(Ok(()))
        })
        .await?;
    tracing::debug!(%batch, rows = *rows, "quota file read and staged");
    parser
        .await
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("quota parser stopped: {error}")))??;
    Ok(tally)
}

fn empty_file() -> ApiError {
    ApiError::Invalid {
        code: "empty_file".into(),
        message: "the file has no rows".into(),
        field: None,
    }
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
    let report = state
        .store
        .ledger()
        .approve_quota_batch(id, caller.user)
        .await?;
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
