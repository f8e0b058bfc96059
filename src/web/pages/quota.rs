//! Monthly quota batches at the office: upload a CSV file, read its validation report (every
//! line error downloadable as CSV), and approve another user's batch after seeing what will be
//! posted. The same `quota::upload` and `LedgerStore` calls as the API's; the store refuses an
//! uploader approving their own batch.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Multipart, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};
use tokio_util::io::StreamReader;

use crate::web::format::Shows;
use crate::web::signed_form::SignedForm;
use crate::web::{
    flash,
    form::{FieldErrors, PagePath},
};
use crate::{
    domain::{ids::QuotaBatchId, locale::Locale, role::Permission},
    http::state::AppState,
    model::quota::{BatchReport, QuotaBatchRecord},
    quota::upload as quota_upload,
    store::{Page, StoreError},
    web::{error::WebError, layout::Layout, session::SignedIn, upload},
};

/// Line errors listed on the report page (all of them are in the CSV download).
const ERRORS_SHOWN: usize = 50;

#[derive(Template, WebTemplate)]
#[template(path = "quota_list.html", config = "src/web/askama.toml")]
pub struct BatchList {
    layout: Layout,
    batches: Vec<QuotaBatchRecord>,
    can_upload: bool,
    error: Option<String>,
    /// The expiry form as refused: what was typed, and the errors beside its fields.
    expiry: ExpireForm,
    errors: FieldErrors,
}

impl BatchList {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

pub async fn list(State(state): State<AppState>, signed: SignedIn) -> Result<BatchList, WebError> {
    signed.require(Permission::ReadLedger)?;
    let mut page = list_page(&state, &signed, None).await?;
    // A refused upload (the file's error) or expiry (the date's).
    if let Some(refused) = flash::take::<ExpireForm>(&state, &signed, "/quota").await? {
        page.error = refused.errors.of("file").map(str::to_string);
        page.expiry = refused.form;
        page.errors = refused.errors;
    }
    Ok(page)
}

async fn list_page(
    state: &AppState,
    signed: &SignedIn,
    error: Option<String>,
) -> Result<BatchList, WebError> {
    let batches = state
        .store
        .ledger()
        .list_quota_batches(Page {
            after: None,
            limit: 50,
        })
        .await?;
    Ok(BatchList {
        layout: Layout::new(signed, "/quota"),
        batches,
        can_upload: signed.role().may(Permission::LoadQuotas),
        error,
        expiry: ExpireForm::default(),
        errors: FieldErrors::default(),
    })
}

/// Takes a multipart form: `csrf` first, then `file`, which streams straight into the upload
/// (a million rows never sit in memory).
pub async fn upload(
    State(state): State<AppState>,
    signed: SignedIn,
    mut form: Multipart,
) -> Result<Response, WebError> {
    signed.require(Permission::LoadQuotas)?;
    let tr = signed.tr();
    // Refused, back to the quota page, which says why (post/redirect/get).
    let refused = |message: String| async {
        let mut errors = FieldErrors::default();
        errors.add("file", message);
        flash::refused(&state, &signed, "/quota", errors, ExpireForm::default()).await
    };
    upload::check_csrf_first(&mut form, &signed).await?;
    let field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    let Some(field) = field.filter(|field| upload::is_chosen_file(field, "file")) else {
        return refused(tr.t("quota-no-file")).await;
    };
    let name = upload::file_name(&field, "upload.csv");
    let (forward, body) = upload::stream(field);
    let uploading = quota_upload::csv(
        state.store.clone(),
        signed.user.id,
        name,
        StreamReader::new(body),
    );
    let ((), uploaded) = tokio::join!(forward, uploading);
    match uploaded {
        Ok(report) => Ok(Redirect::to(&format!("/quota/{}", report.batch.id.0)).into_response()),
        Err(error) => {
            let why = crate::web::refusals::quota_upload(&tr, error)?;
            refused(tr.t1("quota-upload-refused", "why", why)).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "quota_report.html", config = "src/web/askama.toml")]
pub struct ReportPage {
    layout: Layout,
    report: BatchReport,
    /// Approval: `Some` on the confirmation page, with any refusal to show.
    confirming: Option<Option<String>>,
    can_approve: bool,
    /// What a refused approval said, shown once at the top of the batch's page.
    notice: Option<String>,
}

impl ReportPage {
    fn outcome_key(&self, outcome: &str) -> &'static str {
        match outcome {
            "credited" => "quota-outcome-credited",
            "already_loaded" => "quota-outcome-already-loaded",
            "skipped_suspended" => "quota-outcome-skipped-suspended",
            "skipped_exited" => "quota-outcome-skipped-exited",
            _ => "empty-none",
        }
    }

    fn status_key(&self) -> &'static str {
        match self.report.batch.status.as_str() {
            "validating" => "quota-status-validating",
            "invalid" => "quota-status-invalid",
            "validated" => "quota-status-validated",
            _ => "quota-status-posted",
        }
    }

    fn errors_shown(&self) -> &[crate::model::quota::LineError] {
        &self.report.errors[..self.report.errors.len().min(ERRORS_SHOWN)]
    }

    fn line_error(&self, error: &crate::model::quota::LineError) -> String {
        crate::web::refusals::line_error(&self.layout.tr, &error.code, &error.message)
    }

    fn awaiting_approval(&self) -> bool {
        self.report.batch.status.as_str() == "validated"
    }
}

async fn report(state: &AppState, id: uuid::Uuid) -> Result<BatchReport, WebError> {
    state
        .store
        .ledger()
        .quota_batch_report(QuotaBatchId(id))
        .await?
        .ok_or(WebError::NotFound)
}

fn report_page(
    signed: &SignedIn,
    report: BatchReport,
    confirming: Option<Option<String>>,
) -> ReportPage {
    ReportPage {
        layout: Layout::new(signed, "/quota"),
        can_approve: signed.role().may(Permission::LoadQuotas),
        report,
        confirming,
        notice: None,
    }
}

/// The refusal a POST left for this page of the batch, if any.
async fn refusal_shown(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
) -> Result<Option<String>, WebError> {
    Ok(
        flash::take::<crate::web::form::NoFields>(state, signed, path)
            .await?
            .and_then(|flash| flash.errors.of("form").map(str::to_string)),
    )
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<ReportPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    let mut page = report_page(&signed, report(&state, id).await?, None);
    page.notice = refusal_shown(&state, &signed, &format!("/quota/{id}")).await?;
    Ok(page)
}

/// What approval will post, and the button that posts it.
pub async fn confirm(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<ReportPage, WebError> {
    signed.require(Permission::LoadQuotas)?;
    let refusal = refusal_shown(&state, &signed, &format!("/quota/{id}/approve")).await?;
    Ok(report_page(
        &signed,
        report(&state, id).await?,
        Some(refusal),
    ))
}

pub async fn approve(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm { signed, form: _ }: SignedForm<crate::web::form::NoFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::LoadQuotas)?;
    let tr = signed.tr();
    // Refused, the browser goes back to a page that can be opened again (post/redirect/get):
    // the confirmation if the batch still awaits another approver, else the batch itself.
    let (to, refusal) = match crate::quota::posting::approve(
        state.store.as_ref(),
        QuotaBatchId(id),
        signed.user.id,
    )
    .await
    {
        Ok(_) => {
            tracing::info!(batch = %id, approver = %signed.user.username, "quota batch posted");
            return Ok(Redirect::to(&format!("/quota/{id}")).into_response());
        }
        Err(StoreError::SameApprover(_)) => {
            (format!("/quota/{id}/approve"), tr.t("quota-same-approver"))
        }
        Err(StoreError::StateConflict { actual, .. }) if actual == "posted" => {
            (format!("/quota/{id}"), tr.t("quota-already-posted"))
        }
        Err(StoreError::StateConflict { actual, .. }) => {
            let status = tr.t(crate::web::status::status_key(&actual));
            let refusal = tr.t1("quota-not-approvable", "status", status);
            (format!("/quota/{id}"), refusal)
        }
        Err(error) => return Err(error.into()),
    };
    let mut errors = FieldErrors::default();
    errors.add("form", refusal);
    flash::refused(&state, &signed, &to, errors, crate::web::form::NoFields {}).await
}

/// Every line error of a batch, as CSV (`line_no,field,code,message`).
pub async fn errors_csv(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<Response, WebError> {
    signed.require(Permission::ReadLedger)?;
    let batch = QuotaBatchId(id);
    report(&state, id).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |error: csv::Error| WebError::Internal(error.to_string());
    let tr = signed.tr();
    writer
        .write_record(["line_no", "field", "code", "message"])
        .map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = state
            .store
            .ledger()
            .list_quota_errors(batch, after, 500)
            .await?;
        for error in &page {
            writer
                .write_record([
                    &error.line_no.to_string(),
                    &error.field,
                    &error.code,
                    &crate::web::refusals::line_error(&tr, &error.code, &error.message),
                ])
                .map_err(csv_error)?;
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = last.line_no,
            _ => break,
        }
    }
    let body = writer
        .into_inner()
        .map_err(|error| csv_error(error.into_error().into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"quota-{id}-errors.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ExpireForm {
    #[serde(default)]
    as_of: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "quota_expire.html", config = "src/web/askama.toml")]
pub struct ExpirePage {
    layout: Layout,
    as_of: String,
    /// After the run: each household's expired amount, and the total.
    expired: Option<(Vec<crate::model::quota::ExpiredEntitlement>, i64)>,
}

/// The date as typed (6-12-2026 or 2026-12-06), or back to the quota page with the error
/// beside the date field and what was typed kept.
async fn as_of(
    state: &AppState,
    signed: &SignedIn,
    form: ExpireForm,
) -> Result<Result<chrono::NaiveDate, Response>, WebError> {
    if let Some(day) = crate::web::format::typed_date(&form.as_of) {
        return Ok(Ok(day));
    }
    let mut errors = FieldErrors::default();
    errors.add("as_of", signed.tr().t("invalid-typed-date"));
    Ok(Err(
        flash::refused(state, signed, "/quota", errors, form).await?
    ))
}

/// What expiry does, and the button that does it (it moves money back to program funding).
pub async fn confirm_expire(
    State(state): State<AppState>,
    signed: SignedIn,
    axum::extract::Query(form): axum::extract::Query<ExpireForm>,
) -> Result<Response, WebError> {
    signed.require(Permission::LoadQuotas)?;
    let day = match as_of(&state, &signed, form).await? {
        Ok(day) => day,
        Err(refused) => return Ok(refused),
    };
    Ok(ExpirePage {
        layout: Layout::new(&signed, "/quota"),
        as_of: day.to_string(),
        expired: None,
    }
    .into_response())
}

/// Returns entitlement older than each program's carry-over to program funding (the API's
/// `POST /v1/quota/expire`); running it again for the same date expires nothing more.
pub async fn expire(
    State(state): State<AppState>,
    SignedForm { signed, form }: SignedForm<ExpireForm>,
) -> Result<Response, WebError> {
    signed.require(Permission::LoadQuotas)?;
    let date = match as_of(&state, &signed, form).await? {
        Ok(day) => day,
        Err(refused) => return Ok(refused),
    };
    let households = state
        .store
        .ledger()
        .expire_entitlements(date, Some(signed.user.id))
        .await?;
    let total = households
        .iter()
        .try_fold(0i64, |sum, h| sum.checked_add(h.amount_minor))
        .ok_or(WebError::Unprocessable("quota-expire-date"))?;
    Ok(ExpirePage {
        layout: Layout::new(&signed, "/quota"),
        as_of: date.to_string(),
        expired: Some((households, total)),
    }
    .into_response())
}

impl Shows for BatchList {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

impl Shows for ExpirePage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

impl Shows for ReportPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}
