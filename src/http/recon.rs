//! Reconciliation over HTTP: the bank uploads its settlement file for a closed date (CSV, streamed
//! through the matcher as it arrives), fetches runs and their exceptions (JSON pages, or the whole
//! list as CSV), and the bank or an office resolves exceptions with a reason.

use axum::{
    body::Body as HttpBody,
    extract::{Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::role::Permission,
    http::{
        auth::Caller, days::parse_date, error::ApiError, json::Body, state::AppState, Listing,
        Params, PathParam,
    },
    model::recon::{Category, ReconException, ReconRun},
    recon::run::{self, RunRequest},
    store::{ExceptionFilter, Page},
};

/// Exceptions returned with a run's upload; the rest are a page away.
const EXCEPTIONS_INLINE: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// The closed business date the file is for, YYYY-MM-DD.
    pub date: String,
    /// The bank file's name, for the record.
    pub file_name: Option<String>,
    /// The bank states it had no activity on the date: only then is a header-only file a run.
    pub no_activity: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunWithExceptions {
    #[serde(flatten)]
    pub run: ReconRun,
    /// The first exceptions, in order; page through `/exceptions` for all.
    pub exceptions: Vec<ReconException>,
}

#[utoipa::path(post, path = "/v1/recon/runs", tag = "recon", params(RunQuery),
    request_body(content = String, content_type = "text/csv",
        description = "header value_date,terminal_id,stan,rrn,approval_code,amount_idr,type"),
    responses((status = 201, body = RunWithExceptions),
              (status = 409, body = crate::http::error::ErrorBody, description = "`business_date_not_closed`"),
              (status = 422, body = crate::http::error::ErrorBody, description = "`invalid_header`, `empty_file` (no header, or a header and no lines without `no_activity=true`), `activity_in_file` (`no_activity=true` with lines)")),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<RunQuery>,
    request: Request,
) -> Result<(StatusCode, Json<RunWithExceptions>), ApiError> {
    use futures_util::TryStreamExt;
    caller.require(Permission::Reconcile)?;
    let date = parse_date(&query.date)?;
    let file_name = crate::http::text(
        "file_name",
        query.file_name.as_deref().unwrap_or("bank.csv"),
        200,
    )?;
    let stream = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let request = RunRequest {
        date,
        file_name,
        actor: caller.user,
        no_activity: query.no_activity.unwrap_or(false),
    };
    let run = run::run(state.store.clone(), request, reader, |_| {}).await?;
    let exceptions = state
        .store
        .days()
        .recon_exceptions(
            run.id,
            &ExceptionFilter::default(),
            Page::first(EXCEPTIONS_INLINE),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RunWithExceptions { run, exceptions }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub date: String,
}

#[utoipa::path(get, path = "/v1/recon/runs", tag = "recon", params(ListQuery),
    responses((status = 200, body = [ReconRun])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<ListQuery>,
) -> Result<Json<Vec<ReconRun>>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let date = parse_date(&query.date)?;
    Ok(Json(state.store.days().list_recon_runs(date).await?))
}

#[utoipa::path(get, path = "/v1/recon/runs/{id}", tag = "recon",
    responses((status = 200, body = ReconRun), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<uuid::Uuid>,
) -> Result<Json<ReconRun>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let run = state.store.days().recon_run(id).await?;
    Ok(Json(run.ok_or(ApiError::NotFound {
        entity: "recon_run",
    })?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    /// amount_mismatch, host_only, bank_only, duplicate or malformed.
    pub category: Option<String>,
    /// Only exceptions nobody has resolved yet.
    #[serde(default)]
    pub open: bool,
    /// Only the exceptions of this E-Warung's terminals.
    pub ewarung_id: Option<uuid::Uuid>,
    pub after: Option<uuid::Uuid>,
    pub limit: Option<u32>,
}

impl ExceptionQuery {
    fn filter(&self) -> Result<ExceptionFilter, ApiError> {
        let category = match self.category.as_deref() {
            None => None,
            Some(text) => Some(Category::parse(text).filter(|c| *c != Category::Matched).ok_or_else(|| {
                ApiError::Invalid {
                    code: "invalid_category".into(),
                    message: "category is one of amount_mismatch, host_only, bank_only, duplicate, malformed".into(),
                    field: Some("category".into()),
                }
            })?),
        };
        Ok(ExceptionFilter {
            category,
            open_only: self.open,
            ewarung: self.ewarung_id.map(crate::domain::ids::EwarungId),
        })
    }
}

#[utoipa::path(get, path = "/v1/recon/runs/{id}/exceptions", tag = "recon", params(ExceptionQuery),
    responses((status = 200, body = Listing<ReconException>)), security(("bearer" = [])))]
pub async fn exceptions(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<uuid::Uuid>,
    Params(query): Params<ExceptionQuery>,
) -> Result<Json<Listing<ReconException>>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let filter = query.filter()?;
    let page = Page {
        after: query.after,
        limit: query
            .limit
            .unwrap_or(Page::DEFAULT_LIMIT)
            .clamp(1, Page::MAX_LIMIT),
    };
    let days = state.store.days();
    days.recon_run(id).await?.ok_or(ApiError::NotFound {
        entity: "recon_run",
    })?;
    let items = days.recon_exceptions(id, &filter, page).await?;
    Ok(Json(Listing::new(items, page, |e| e.id)))
}

/// Every exception of a run as CSV, streamed page by page.
#[utoipa::path(get, path = "/v1/recon/runs/{id}/exceptions.csv", tag = "recon",
    responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
pub async fn exceptions_csv(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<uuid::Uuid>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadLedger)?;
    state
        .store
        .days()
        .recon_run(id)
        .await?
        .ok_or(ApiError::NotFound {
            entity: "recon_run",
        })?;
    let store = state.store.clone();
    let pages = futures_util::stream::unfold(Some((store, None, true)), move |cursor| async move {
        let (store, after, first) = cursor?;
        let page = Page {
            after,
            limit: Page::MAX_LIMIT,
        };
        let mut out = Vec::new();
        if first {
            crate::recon::report::write_exceptions_header(&mut out);
        }
        match store
            .days()
            .recon_exceptions(id, &ExceptionFilter::default(), page)
            .await
        {
            Ok(rows) => {
                crate::recon::report::write_exceptions(&rows, &mut out);
                let next = crate::store::next_after(&rows, |e| e.id, page.limit);
                let cursor = next.map(|after| (store, Some(after), false));
                Some((Ok::<_, std::io::Error>(out), cursor))
            }
            Err(error) => Some((Err(std::io::Error::other(error.to_string())), None)),
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        HttpBody::from_stream(pages),
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// Why the exception is closed (what was checked, what was agreed with the bank).
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/recon/exceptions/{id}/resolve", tag = "recon",
    request_body = ResolveRequest,
    responses((status = 200, body = ReconException),
              (status = 409, body = crate::http::error::ErrorBody, description = "already resolved")),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<uuid::Uuid>,
    Body(request): Body<ResolveRequest>,
) -> Result<Json<ReconException>, ApiError> {
    caller.require(Permission::ResolveExceptions)?;
    let reason = crate::http::text(
        "reason",
        &request.reason,
        crate::domain::limits::REASON_CHARS,
    )?;
    if reason.chars().count() < 5 {
        return Err(ApiError::Invalid {
            code: "reason_required".into(),
            message: "say why the exception is resolved (at least 5 characters)".into(),
            field: Some("reason".into()),
        });
    }
    Ok(Json(
        state
            .store
            .days()
            .resolve_exception(id, &reason, caller.user)
            .await?,
    ))
}

/// A run's four-eyes review, if it has one, and what settling after it would change now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub run_id: uuid::Uuid,
    pub authoritative: bool,
    pub review: Option<crate::model::recon::RunReview>,
    pub preview: crate::settlement::review::Preview,
}

#[utoipa::path(get, path = "/v1/recon/runs/{id}/review", tag = "recon",
    responses((status = 200, body = ReviewView), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<uuid::Uuid>,
) -> Result<Json<ReviewView>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let days = state.store.days();
    let run = days.recon_run(id).await?.ok_or(ApiError::NotFound {
        entity: "recon_run",
    })?;
    let preview = days.recon_review_preview(id).await?;
    Ok(Json(ReviewView {
        run_id: run.id,
        authoritative: run.authoritative,
        review: run.review,
        preview,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// The preview's `digest` the decision was made on (from `GET /v1/recon/runs/{id}/review`);
    /// when given and the figures have moved since, the decision is refused with
    /// `review_changed`.
    pub digest: Option<String>,
    /// Why: optional for a confirmation, at least 5 characters for a rejection.
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/v1/recon/runs/{id}/confirm", tag = "recon",
    request_body = DecideRequest,
    responses((status = 200, body = ReconRun, description = "the run, now the date's authoritative run"),
              (status = 403, body = crate::http::error::ErrorBody, description = "`maker_checker`: the uploader of the run cannot decide on it"),
              (status = 404, body = crate::http::error::ErrorBody),
              (status = 409, body = crate::http::error::ErrorBody, description = "`review_not_pending` (the run does not wait: never did, or already decided or superseded), `review_changed` (the digest no longer matches the figures)")),
    security(("bearer" = [])))]
pub async fn confirm(
    state: State<AppState>,
    caller: Caller,
    id: PathParam<uuid::Uuid>,
    body: Body<DecideRequest>,
) -> Result<Json<ReconRun>, ApiError> {
    decide(state, caller, id, body, true).await
}

#[utoipa::path(post, path = "/v1/recon/runs/{id}/reject", tag = "recon",
    request_body = DecideRequest,
    responses((status = 200, body = ReconRun, description = "the run, which never settles; the previous authoritative run stays"),
              (status = 404, body = crate::http::error::ErrorBody),
              (status = 409, body = crate::http::error::ErrorBody, description = "as for confirm"),
              (status = 422, body = crate::http::error::ErrorBody, description = "`note_required`")),
    security(("bearer" = [])))]
pub async fn reject(
    state: State<AppState>,
    caller: Caller,
    id: PathParam<uuid::Uuid>,
    body: Body<DecideRequest>,
) -> Result<Json<ReconRun>, ApiError> {
    decide(state, caller, id, body, false).await
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<uuid::Uuid>,
    Body(request): Body<DecideRequest>,
    confirm: bool,
) -> Result<Json<ReconRun>, ApiError> {
    caller.require(Permission::Reconcile)?;
    let note = match request.note.as_deref().map(str::trim) {
        Some(note) if !note.is_empty() => Some(crate::http::text(
            "note",
            note,
            crate::domain::limits::REASON_CHARS,
        )?),
        _ => None,
    };
    if !confirm && note.as_ref().is_none_or(|note| note.chars().count() < 5) {
        return Err(ApiError::Invalid {
            code: "note_required".into(),
            message: "say why the run is rejected (at least 5 characters)".into(),
            field: Some("note".into()),
        });
    }
    let decision = crate::settlement::review::ReviewDecision {
        run: id,
        confirm,
        actor: caller.user,
        note,
        seen_digest: request.digest,
    };
    Ok(Json(
        state.store.days().decide_recon_review(&decision).await?,
    ))
}
