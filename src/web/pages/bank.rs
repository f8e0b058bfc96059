//! The bank's desk: close a business date (with its report), upload the bank's settlement file
//! (then the run's categories and totals), work the exception queue (filters, resolve with a
//! reason), settle, and download the payout file. Offices and auditors read the same pages;
//! the buttons show only to the roles that may press them (the API's `Role::may`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Multipart, Query, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::web::form::PagePath;
use crate::web::format::Shows;
use crate::web::signed_form::SignedForm;
use crate::{
    close::DayClose,
    domain::{locale::Locale, role::Permission},
    http::state::AppState,
    model::recon::{Category, ReconException, ReconRun, ReviewReason, ReviewStatus},
    recon::run::{self, RunError, RunRequest},
    settlement::SettlementRecord,
    store::{ExceptionFilter, Page, StoreError},
    web::{
        error::WebError, flash, form::FieldErrors, format, layout::Layout, refusals,
        session::SignedIn, upload,
    },
};

#[derive(Debug, Default, Deserialize)]
pub struct DateQuery {
    date: Option<String>,
}

/// A business date from a form or path, `YYYY-MM-DD`.
fn date(text: &str) -> Result<chrono::NaiveDate, WebError> {
    crate::business_day::parse_date(text).ok_or(WebError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "bank.html", config = "src/web/askama.toml")]
pub struct DayPage {
    layout: Layout,
    date: String,
    /// What was typed in the date field when it was not a date, with the error beside it.
    typed: Option<(String, String)>,
    close: Option<DayClose>,
    runs: Vec<ReconRun>,
    entries: Vec<SettlementRecord>,
    can_close: bool,
    can_reconcile: bool,
    message: Option<String>,
}

async fn day_page(
    state: &AppState,
    signed: &SignedIn,
    text: String,
    message: Option<String>,
) -> Result<DayPage, WebError> {
    let day = date(&text)?;
    let days = state.store.days();
    Ok(DayPage {
        layout: Layout::new(signed, "/bank"),
        close: days.day_close(day).await?,
        runs: days.list_recon_runs(day).await?,
        entries: days.settlements(day).await?,
        date: text,
        typed: None,
        can_close: signed.role().may(Permission::CloseDays),
        can_reconcile: signed.role().may(Permission::Reconcile),
        message,
    })
}

/// A date's close, runs and settlement (by default yesterday in Samarinda).
pub async fn day(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<DateQuery>,
) -> Result<DayPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    // What a refused close, upload or settlement left to say, once.
    let message = flash::take::<crate::web::form::NoFields>(&state, &signed, "/bank")
        .await?
        .and_then(|flash| flash.errors.of("form").map(str::to_string));
    let yesterday = || format::today_wita(crate::store::now() - chrono::Duration::days(1));
    let typed = query.date.unwrap_or_default();
    if typed.trim().is_empty() {
        return day_page(&state, &signed, yesterday(), message).await;
    }
    // Typed as the clerk writes dates (6-12-2026), whatever the browser's language.
    match format::typed_date(&typed) {
        Some(day) => day_page(&state, &signed, day.to_string(), message).await,
        None => {
            let mut page = day_page(&state, &signed, yesterday(), message).await?;
            page.typed = Some((typed, signed.tr().t("invalid-typed-date")));
            Ok(page)
        }
    }
}

impl DayPage {
    /// The date field's value: what was typed if it was refused, else the date shown.
    fn date_field(&self) -> String {
        match &self.typed {
            Some((typed, _)) => typed.clone(),
            None => self.day_text(&self.date),
        }
    }

    /// What a run is to the date: the one settlement pays from, one waiting for a second bank
    /// user, one rejected, or just finished.
    fn run_state_key(&self, run: &ReconRun) -> &'static str {
        match run.review.as_ref().map(|review| review.status) {
            _ if run.authoritative => "run-authoritative",
            Some(ReviewStatus::Pending) => "review-status-pending",
            Some(ReviewStatus::Rejected) => "review-status-rejected",
            _ => crate::web::status::status_key(&run.status),
        }
    }

    fn date_error(&self) -> Option<&str> {
        self.typed.as_ref().map(|(_, error)| error.as_str())
    }
}

/// Answers a refusal of the store on the date's page, other failures as error pages.
async fn refused_on_day(
    state: &AppState,
    signed: &SignedIn,
    text: String,
    error: StoreError,
) -> Result<Response, WebError> {
    let tr = signed.tr();
    let message = match error {
        StoreError::Refused { code, .. } => refusals::store_refused(&tr, code),
        StoreError::StateConflict { .. } => tr.t("error-conflict"),
        other => return Err(other.into()),
    };
    back_to_day(state, signed, &text, tr.t1("bank-refused", "why", &message)).await
}

/// Back to the date's page, which shows `message` once (post/redirect/get).
async fn back_to_day(
    state: &AppState,
    signed: &SignedIn,
    text: &str,
    message: String,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    errors.add("form", message);
    flash::refused(
        state,
        signed,
        "/bank",
        errors,
        crate::web::form::NoFields {},
    )
    .await?;
    Ok(Redirect::to(&format!("/bank?date={text}")).into_response())
}

pub async fn close(
    State(state): State<AppState>,
    PagePath(text): PagePath<String>,
    SignedForm { signed, form: _ }: SignedForm<crate::web::form::NoFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::CloseDays)?;
    match state
        .store
        .days()
        .close_day(date(&text)?, signed.user.id)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/bank?date={text}")).into_response()),
        Err(error) => refused_on_day(&state, &signed, text, error).await,
    }
}

/// What the bank is asked to confirm for a date.
#[derive(Debug, Clone, Copy)]
enum DayStep {
    Close,
    Settle,
}

#[derive(Template, WebTemplate)]
#[template(path = "bank_confirm.html", config = "src/web/askama.toml")]
pub struct ConfirmDayStep {
    layout: Layout,
    date: String,
    title_key: &'static str,
    text_key: &'static str,
    /// `close` or `settle`: the address the form posts to and its button's id.
    step: &'static str,
}

fn confirm_day_step(
    signed: &SignedIn,
    text: String,
    step: DayStep,
) -> Result<ConfirmDayStep, WebError> {
    date(&text)?;
    let (title_key, text_key, step) = match step {
        DayStep::Close => ("bank-close", "bank-close-confirm", "close"),
        DayStep::Settle => ("bank-settle", "bank-settle-confirm", "settle"),
    };
    Ok(ConfirmDayStep {
        layout: Layout::new(signed, "/bank"),
        date: text,
        title_key,
        text_key,
        step,
    })
}

impl crate::web::format::Shows for ConfirmDayStep {
    fn locale(&self) -> crate::domain::locale::Locale {
        self.layout.tr.locale
    }
}

/// Closing a date cannot be undone: it asks first.
pub async fn confirm_close(
    signed: SignedIn,
    PagePath(text): PagePath<String>,
) -> Result<ConfirmDayStep, WebError> {
    signed.require(Permission::CloseDays)?;
    confirm_day_step(&signed, text, DayStep::Close)
}

/// Settling moves money: it asks first.
pub async fn confirm_settle(
    signed: SignedIn,
    PagePath(text): PagePath<String>,
) -> Result<ConfirmDayStep, WebError> {
    signed.require(Permission::Reconcile)?;
    confirm_day_step(&signed, text, DayStep::Settle)
}

pub async fn settle(
    State(state): State<AppState>,
    PagePath(text): PagePath<String>,
    SignedForm { signed, form: _ }: SignedForm<crate::web::form::NoFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::Reconcile)?;
    match crate::settlement::settle(state.store.as_ref(), date(&text)?, signed.user.id).await {
        Ok(outcome) => {
            tracing::info!(date = %text, entries = outcome.posted.len(), "settled from the web");
            Ok(Redirect::to(&format!("/bank?date={text}")).into_response())
        }
        Err(error) => refused_on_day(&state, &signed, text, error).await,
    }
}

/// The payout instruction file of every settlement entry of the date, one line per E-Warung.
pub async fn payout(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(text): PagePath<String>,
) -> Result<Response, WebError> {
    signed.require(Permission::ReadLedger)?;
    let entries = state.store.days().settlements(date(&text)?).await?;
    let head = crate::audit_trail::payout_head(&state.store, &state.audit_signer, &text).await;
    let mut body = Vec::new();
    crate::settlement::write_payout_file(&entries, head.as_deref(), &mut body).map_err(
        |error| {
            WebError::Store(StoreError::Check {
                constraint: error.to_string(),
            })
        },
    )?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"payout-{text}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The bank's settlement file for a date, streamed into a reconciliation run. Fields: `csrf`,
/// then `no_activity` when ticked, then `file`.
pub async fn reconcile(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(text): PagePath<String>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    signed.require(Permission::Reconcile)?;
    let day = date(&text)?;
    upload::check_csrf_first(&mut form, &signed).await?;
    let mut field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    let mut no_activity = false;
    if field.as_ref().and_then(|f| f.name()) == Some("no_activity") {
        no_activity = true;
        field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    }
    let tr = signed.tr();
    let Some(field) = field.filter(|field| upload::is_chosen_file(field, "file")) else {
        return back_to_day(&state, &signed, &text, tr.t("bank-no-file")).await;
    };
    let request = RunRequest {
        date: day,
        file_name: upload::file_name(&field, "bank.csv"),
        actor: signed.user.id,
        no_activity,
    };
    let (forward, body) = upload::stream(field);
    let reader = SyncIoBridge::new(StreamReader::new(body));
    let running = run::run(state.store.clone(), request, reader, |_| {});
    let ((), finished) = tokio::join!(forward, running);
    match finished {
        Ok(run) => Ok(Redirect::to(&format!("/bank/runs/{}", run.id)).into_response()),
        Err(RunError::Store(error)) => refused_on_day(&state, &signed, text, error).await,
        Err(error) => {
            let why = tr.t1("bank-refused", "why", refusals::recon_run(&tr, error)?);
            back_to_day(&state, &signed, &text, why).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ExceptionQuery {
    #[serde(default)]
    category: String,
    #[serde(default)]
    open: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "recon_run.html", config = "src/web/askama.toml")]
pub struct RunPage {
    layout: Layout,
    run: ReconRun,
    /// The run's categories with their totals, in a fixed order.
    categories: Vec<(&'static str, i64, i64, i64)>,
    exceptions: Vec<ReconException>,
    category: String,
    open_only: bool,
    can_resolve: bool,
    /// A refused resolution: the exception, what was typed and why it was refused.
    refused: Option<Refused>,
    refused_error: Option<String>,
    /// While the run waits for a second bank user: what settling after it would change.
    preview: Option<crate::settlement::review::Preview>,
    /// Whether this user may confirm or reject it (a bank user other than its uploader).
    can_decide: bool,
    /// A refused decision: what was typed as the note, and why it was refused.
    decision_refused: Option<(String, String)>,
}

/// A refused resolution, kept for the run's page after the redirect.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Refused {
    exception: uuid::Uuid,
    reason: String,
}

impl RunPage {
    /// The typed reason and the error of exception `id`'s form, if it was refused.
    fn refusal_of(&self, id: &uuid::Uuid) -> Option<(&str, &str)> {
        let refused = self.refused.as_ref().filter(|r| r.exception == *id)?;
        Some((refused.reason.as_str(), self.refused_error.as_deref()?))
    }

    fn category_key(&self, category: &str) -> &'static str {
        crate::web::status::category_key(category)
    }

    fn detail(&self, exception: &ReconException) -> (String, Option<String>) {
        crate::web::status::exception_detail(&self.layout.tr, exception)
    }
}

/// The categories an exception list can be filtered by.
pub const EXCEPTION_CATEGORIES: [&str; 5] = [
    "amount_mismatch",
    "host_only",
    "bank_only",
    "duplicate",
    "malformed",
];

pub async fn run_page(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
    Query(query): Query<ExceptionQuery>,
) -> Result<RunPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    let days = state.store.days();
    let run = days.recon_run(id).await?.ok_or(WebError::NotFound)?;
    let category = Category::parse(&query.category).filter(|c| *c != Category::Matched);
    let filter = ExceptionFilter {
        category,
        open_only: query.open.is_some(),
        ewarung: None,
    };
    let exceptions = days
        .recon_exceptions(id, &filter, Page::first(Page::MAX_LIMIT))
        .await?;
    let flash = flash::take::<Refused>(&state, &signed, &format!("/bank/runs/{id}")).await?;
    let refused_error = flash
        .as_ref()
        .and_then(|flash| flash.errors.of("reason").map(str::to_string));
    let categories = run
        .report
        .as_ref()
        .map(|report| {
            Category::ALL
                .iter()
                .map(|category| {
                    let total = report.categories.get(category).copied().unwrap_or_default();
                    (
                        category.as_str(),
                        total.count,
                        total.bank_amount_minor,
                        total.host_amount_minor,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let pending = run
        .review
        .as_ref()
        .filter(|review| review.status == ReviewStatus::Pending);
    let preview = match pending {
        Some(_) => Some(days.recon_review_preview(id).await?),
        None => None,
    };
    let can_decide = pending.is_some_and(|review| {
        signed.role().may(Permission::Reconcile) && review.requested_by != signed.user.id
    });
    let decision = flash::take::<DecideForm>(&state, &signed, &review_path(id)).await?;
    let decision_refused = decision.map(|flash| {
        let error = flash
            .errors
            .of("note")
            .or(flash.errors.of("form"))
            .unwrap_or_default()
            .to_string();
        (flash.form.note, error)
    });
    Ok(RunPage {
        layout: Layout::new(&signed, "/bank"),
        preview,
        can_decide,
        decision_refused,
        run,
        categories,
        exceptions,
        category: category.map(|c| c.as_str().to_string()).unwrap_or_default(),
        open_only: filter.open_only,
        can_resolve: signed.role().may(Permission::ResolveExceptions),
        refused: flash.map(|flash| flash.form),
        refused_error,
    })
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    reason: String,
    /// The run whose queue the form is on, to return to.
    #[serde(default)]
    run: Option<uuid::Uuid>,
}

/// The fewest and most characters a resolution's reason has.
const REASON_CHARS: std::ops::RangeInclusive<usize> = 5..=crate::domain::limits::REASON_CHARS;

pub async fn resolve(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm { signed, form }: SignedForm<ResolveForm>,
) -> Result<Response, WebError> {
    signed.require(Permission::ResolveExceptions)?;
    let reason = form.reason.trim();
    let days = state.store.days();
    if !REASON_CHARS.contains(&reason.chars().count()) {
        // Back to the queue the form was on, the error beside the reason, what was typed kept.
        let Some(run) = form.run else {
            return Err(WebError::Unprocessable("bank-reason-required"));
        };
        let mut errors = FieldErrors::default();
        let limits = [
            ("min", REASON_CHARS.start().to_string()),
            ("max", REASON_CHARS.end().to_string()),
        ];
        errors.add(
            "reason",
            signed.tr().with_args("bank-reason-length", &limits),
        );
        let typed = Refused {
            exception: id,
            // Kept as typed, one character past the limit, so the clerk sees it was too long.
            reason: form
                .reason
                .chars()
                .take(crate::domain::limits::REASON_CHARS + 1)
                .collect(),
        };
        flash::refused(&state, &signed, &format!("/bank/runs/{run}"), errors, typed).await?;
        return Ok(Redirect::to(&format!("/bank/runs/{run}?open=1")).into_response());
    }
    let resolved = days.resolve_exception(id, reason, signed.user.id).await?;
    Ok(Redirect::to(&format!("/bank/runs/{}?open=1", resolved.run_id)).into_response())
}

/// Where a refused confirmation or rejection of run `id` is kept for its page.
fn review_path(id: uuid::Uuid) -> String {
    format!("/bank/runs/{id}/review")
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DecideForm {
    /// The preview's digest the page showed.
    #[serde(default)]
    digest: String,
    #[serde(default)]
    note: String,
}

/// A second bank user confirms a run that waits: it becomes the date's authoritative run.
pub async fn confirm_run(
    state: State<AppState>,
    id: PagePath<uuid::Uuid>,
    form: SignedForm<DecideForm>,
) -> Result<Response, WebError> {
    decide_run(state, id, form, true).await
}

/// A second bank user rejects a run that waits, saying why: it never settles.
pub async fn reject_run(
    state: State<AppState>,
    id: PagePath<uuid::Uuid>,
    form: SignedForm<DecideForm>,
) -> Result<Response, WebError> {
    decide_run(state, id, form, false).await
}

async fn decide_run(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm { signed, form }: SignedForm<DecideForm>,
    confirm: bool,
) -> Result<Response, WebError> {
    signed.require(Permission::Reconcile)?;
    let tr = signed.tr();
    let note = form.note.trim();
    let mut errors = FieldErrors::default();
    if note.chars().count() > crate::domain::limits::REASON_CHARS
        || (!confirm && note.chars().count() < 5)
    {
        let limits = [
            ("min", "5".to_string()),
            ("max", crate::domain::limits::REASON_CHARS.to_string()),
        ];
        errors.add("note", tr.with_args("review-note-length", &limits));
    } else {
        let decision = crate::settlement::review::ReviewDecision {
            run: id,
            confirm,
            actor: signed.user.id,
            note: (!note.is_empty()).then(|| note.to_string()),
            seen_digest: Some(form.digest.clone()),
        };
        match state.store.days().decide_recon_review(&decision).await {
            Ok(run) => {
                tracing::info!(run = %run.id, confirm, "run review decided from the web");
                return Ok(Redirect::to(&format!("/bank/runs/{id}")).into_response());
            }
            Err(StoreError::SameApprover(_)) => errors.add("form", tr.t("review-same-user")),
            Err(StoreError::Refused { code, .. }) => {
                errors.add("form", refusals::store_refused(&tr, code))
            }
            Err(StoreError::StateConflict { .. }) => errors.add("form", tr.t("error-conflict")),
            Err(other) => return Err(other.into()),
        }
    }
    let typed = DecideForm {
        digest: form.digest,
        note: form
            .note
            .chars()
            .take(crate::domain::limits::REASON_CHARS + 1)
            .collect(),
    };
    flash::refused(&state, &signed, &review_path(id), errors, typed).await?;
    Ok(Redirect::to(&format!("/bank/runs/{id}")).into_response())
}

impl RunPage {
    fn review_status_key(&self, status: &ReviewStatus) -> &'static str {
        match status {
            ReviewStatus::Pending => "review-status-pending",
            ReviewStatus::Confirmed => "review-status-confirmed",
            ReviewStatus::Rejected => "review-status-rejected",
            ReviewStatus::Superseded => "review-status-superseded",
        }
    }

    fn reason_key(&self, reason: &ReviewReason) -> &'static str {
        match reason {
            ReviewReason::TakesMoneyBack => "review-reason-takes-money-back",
            ReviewReason::LowersDue => "review-reason-lowers-due",
            ReviewReason::MalformedShare => "review-reason-malformed-share",
            ReviewReason::UnmatchedShare => "review-reason-unmatched-share",
        }
    }
}

impl Shows for DayPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

impl Shows for RunPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}
