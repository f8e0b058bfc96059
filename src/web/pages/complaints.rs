//! Complaints on the office's pages: the queue (open ones first by default, with due dates,
//! overdue and escalated ones marked), one complaint with its assignment and resolution, and
//! the intake form a clerk fills for a walk-in or a phone call from the household's page. The
//! same service as the API's (`registry::complaints`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        complaint::{Category, Channel, ComplaintState, Outcome, Severity},
        ids::{ComplaintId, EwarungId, UserId},
        locale::Locale,
        role::Permission,
    },
    http::state::AppState,
    model::{
        complaints::{ComplaintFilter, ComplaintRecord},
        records::{EwarungRecord, HouseholdRecord, UserRecord},
    },
    registry::complaints::{resolution, ComplaintError, Intake},
    store::Page,
    web::{
        error::WebError,
        flash,
        form::{FieldErrors, PagePath},
        format::Shows,
        i18n::Tr,
        layout::Layout,
        session::SignedIn,
        signed_form::SignedForm,
    },
};

const PAGE_SIZE: u32 = 50;
const QUEUE: &str = "/complaints";

pub fn category_key(category: Category) -> String {
    format!("complaint-{}", category.as_str().replace('_', "-"))
}

fn choices<T: Copy>(
    all: &[T],
    key: impl Fn(T) -> String,
    text: impl Fn(T) -> &'static str,
) -> Vec<(&'static str, String)> {
    all.iter().map(|v| (text(*v), key(*v))).collect()
}

/// A failure to read complaints, as an error page.
fn web(error: ComplaintError) -> WebError {
    match error {
        ComplaintError::NotFound | ComplaintError::HouseholdNotFound => WebError::NotFound,
        ComplaintError::Store(store) => store.into(),
        other => WebError::Internal(other.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    state: String,
    after: Option<uuid::Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "complaints.html", config = "src/web/askama.toml")]
pub struct QueuePage {
    layout: Layout,
    state: String,
    rows: Vec<ComplaintRecord>,
    next: Option<String>,
}

impl QueuePage {
    fn category_key(&self, category: &Category) -> String {
        category_key(*category)
    }
}

impl Shows for QueuePage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

pub async fn queue(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<QueueQuery>,
) -> Result<QueuePage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    // Open ones unless asked otherwise; "all" lists every one.
    let chosen = match query.state.as_str() {
        "" => Some(ComplaintState::Open),
        "all" => None,
        text => ComplaintState::parse(text).ok(),
    };
    let filter = ComplaintFilter {
        state: chosen,
        ..ComplaintFilter::default()
    };
    let page = Page {
        after: query.after,
        limit: PAGE_SIZE,
    };
    let rows = state.complaints.list(filter, page).await.map_err(web)?;
    let next = (rows.len() == PAGE_SIZE as usize)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            format!(
                "{QUEUE}?state={}&after={}",
                chosen.map_or("all", |s| s.as_str()),
                last.id.0
            )
        });
    Ok(QueuePage {
        layout: Layout::new(&signed, QUEUE),
        state: chosen.map_or("all".to_string(), |s| s.as_str().to_string()),
        rows,
        next,
    })
}

/// The complaint page's forms: assignment and resolution.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActFields {
    #[serde(default)]
    user: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "complaint.html", config = "src/web/askama.toml")]
pub struct ComplaintPage {
    layout: Layout,
    complaint: ComplaintRecord,
    /// Office users it may be assigned to.
    handlers: Vec<UserRecord>,
    can_handle: bool,
    fields: ActFields,
    errors: FieldErrors,
}

impl ComplaintPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn category_key(&self) -> String {
        category_key(self.complaint.category)
    }

    fn severity_key(&self) -> String {
        format!("severity-{}", self.complaint.severity.as_str())
    }

    fn channel_key(&self) -> String {
        format!(
            "channel-{}",
            self.complaint.channel.as_str().replace('_', "-")
        )
    }

    fn outcomes(&self) -> Vec<(&'static str, String)> {
        choices(
            Outcome::ALL,
            |o| format!("outcome-{}", o.as_str().replace('_', "-")),
            Outcome::as_str,
        )
    }

    fn outcome_key(&self, outcome: &Outcome) -> String {
        format!("outcome-{}", outcome.as_str().replace('_', "-"))
    }

    fn is_outcome(&self, value: &str) -> bool {
        self.fields.outcome == value
    }
}

impl Shows for ComplaintPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

fn complaint_path(id: ComplaintId) -> String {
    format!("{QUEUE}/{}", id.0)
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<ComplaintPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    let complaint = state.complaints.get(ComplaintId(id)).await.map_err(web)?;
    let (fields, errors) = match flash::take(&state, &signed, &complaint_path(complaint.id)).await?
    {
        Some(refused) => (refused.form, refused.errors),
        None => (ActFields::default(), FieldErrors::default()),
    };
    let handlers = state
        .store
        .list_users(Page::first(Page::MAX_LIMIT))
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none() && u.role.may(Permission::HandleComplaints))
        .collect();
    Ok(ComplaintPage {
        layout: Layout::new(&signed, QUEUE),
        complaint,
        handlers,
        can_handle: signed.role().may(Permission::HandleComplaints),
        fields,
        errors,
    })
}

/// A refused complaint command beside the form's fields.
fn refusal(tr: &Tr, error: ComplaintError, errors: &mut FieldErrors) -> Result<(), WebError> {
    match error {
        ComplaintError::Refused(refusals) => errors.refusals(tr, &refusals, |field| match field {
            "user_id" => "user",
            "ewarung_id" => "ewarung",
            other => other,
        }),
        ComplaintError::Resolved => errors.add("form", tr.t("complaint-already-resolved")),
        other => return Err(web(other)),
    }
    Ok(())
}

pub async fn act(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<ActFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::HandleComplaints)?;
    let id = ComplaintId(id);
    let actor = signed.user.id;
    let done = match action.as_str() {
        "assign" => match uuid::Uuid::parse_str(fields.user.trim()) {
            Ok(user) => state.complaints.assign(id, UserId(user), actor).await,
            Err(_) => Err(ComplaintError::Refused(crate::domain::Refusals::one(
                "user_id",
                crate::domain::Invalid::new("not_a_handler", "choose an office user"),
            ))),
        },
        "resolve" => match resolution(Outcome::parse(fields.outcome.trim()), &fields.reason) {
            Ok((outcome, reason)) => state.complaints.resolve(id, outcome, &reason, actor).await,
            Err(refusals) => Err(ComplaintError::Refused(refusals)),
        },
        _ => return Err(WebError::NotFound),
    };
    let path = complaint_path(id);
    match done {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        Err(error) => {
            let mut errors = FieldErrors::default();
            refusal(&signed.tr(), error, &mut errors)?;
            flash::refused(&state, &signed, &path, errors, fields).await
        }
    }
}

/// The intake form's fields as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntakeFields {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    ewarung: String,
    #[serde(default)]
    rrn: String,
    #[serde(default)]
    description: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "complaint_form.html", config = "src/web/askama.toml")]
pub struct IntakeForm {
    layout: Layout,
    household: HouseholdRecord,
    ewarungs: Vec<EwarungRecord>,
    fields: IntakeFields,
    errors: FieldErrors,
}

impl IntakeForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn categories(&self) -> Vec<(&'static str, String)> {
        choices(Category::ALL, category_key, Category::as_str)
    }

    fn severities(&self) -> Vec<(&'static str, String)> {
        choices(
            Severity::ALL,
            |s| format!("severity-{}", s.as_str()),
            Severity::as_str,
        )
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let typed = match field {
            "channel" => &self.fields.channel,
            "category" => &self.fields.category,
            "severity" => &self.fields.severity,
            _ => &self.fields.ewarung,
        };
        typed == value
    }
}

fn intake_path(household: uuid::Uuid) -> String {
    format!("/households/{household}/complaints/new")
}

pub async fn intake_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<IntakeForm, WebError> {
    signed.require(Permission::HandleComplaints)?;
    let household = signed.reach_household(&state, id).await?;
    let (fields, errors) = match flash::take(&state, &signed, &intake_path(id)).await? {
        Some(refused) => (refused.form, refused.errors),
        None => (
            IntakeFields {
                channel: Channel::WalkIn.as_str().to_string(),
                ..IntakeFields::default()
            },
            FieldErrors::default(),
        ),
    };
    Ok(IntakeForm {
        layout: Layout::new(&signed, QUEUE),
        household,
        ewarungs: state
            .store
            .list_ewarungs(Page::first(Page::MAX_LIMIT))
            .await?,
        fields,
        errors,
    })
}

pub async fn intake(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<IntakeFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::HandleComplaints)?;
    let household = signed.reach_household(&state, id).await?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let channel = match Channel::parse(fields.channel.trim()) {
        Ok(channel) if channel != Channel::Saldo => Some(channel),
        _ => {
            errors.add("channel", tr.t("invalid-invalid-channel"));
            None
        }
    };
    let severity = Some(fields.severity.trim())
        .filter(|s| !s.is_empty())
        .map(Severity::parse);
    let ewarung = uuid::Uuid::parse_str(fields.ewarung.trim())
        .ok()
        .map(EwarungId);
    let rrn = Some(fields.rrn.as_str()).filter(|r| !r.trim().is_empty());
    let intake = Intake::parse(
        Category::parse(fields.category.trim()),
        severity,
        &fields.description,
        ewarung,
        rrn,
    );
    let filed = match (intake, channel) {
        (Ok(intake), Some(channel)) => state
            .complaints
            .file(household.id, intake, channel, Some(signed.user.id))
            .await
            .map(Some),
        (Ok(_), None) => Ok(None),
        (Err(refusals), _) => Err(ComplaintError::Refused(refusals)),
    };
    match filed {
        Ok(Some(record)) => Ok(Redirect::to(&complaint_path(record.id)).into_response()),
        Ok(None) => flash::refused(&state, &signed, &intake_path(id), errors, fields).await,
        Err(error) => {
            refusal(&tr, error, &mut errors)?;
            flash::refused(&state, &signed, &intake_path(id), errors, fields).await
        }
    }
}

/// An E-Warung's complaints, newest first, for its page.
pub async fn of_ewarung(
    state: &AppState,
    ewarung: EwarungId,
) -> Result<Vec<ComplaintRecord>, WebError> {
    let filter = ComplaintFilter {
        ewarung_id: Some(ewarung),
        ..ComplaintFilter::default()
    };
    let mut rows = state
        .complaints
        .list(filter, Page::first(PAGE_SIZE))
        .await
        .map_err(web)?;
    rows.reverse();
    Ok(rows)
}
