//! Re-verification campaigns on the web: the office opens one (a name, one kelurahan and/or
//! "not visited for N months", a deadline) and follows its progress per kelurahan; a verifier
//! sees the campaigns' households of their kelurahan still to visit (phone first); after the
//! deadline the households not visited are listed as missed. Same `registry::campaigns` service
//! as the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{campaign::VisitProgress, ids::CampaignId, role::Permission},
    http::state::AppState,
    model::campaigns::CampaignRecord,
    registry::campaigns::{CampaignError, CampaignHouseholdView, CampaignPlan, CampaignView},
    store::Page,
    web::{
        error::WebError,
        flash,
        form::{FieldErrors, PagePath},
        layout::Layout,
        session::SignedIn,
        signed_form::SignedForm,
    },
};

const LIST: &str = "/campaigns";
const PAGE_SIZE: u32 = 50;

/// The opening form's fields as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpenFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kelurahan: String,
    #[serde(default)]
    not_visited_months: String,
    #[serde(default)]
    deadline: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns.html", config = "src/web/askama.toml")]
pub struct CampaignsPage {
    layout: Layout,
    campaigns: Vec<CampaignRecord>,
    can_open: bool,
    fields: OpenFields,
    errors: FieldErrors,
}

impl CampaignsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn day(&self, text: &str) -> String {
        format_day(text)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CampaignQuery {
    #[serde(default)]
    progress: String,
    #[serde(default)]
    kelurahan: String,
    after: Option<uuid::Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign.html", config = "src/web/askama.toml")]
pub struct CampaignPage {
    layout: Layout,
    view: CampaignView,
    /// `pending`, `visited`, `missed` or empty (all).
    progress: String,
    kelurahan: String,
    rows: Vec<CampaignHouseholdView>,
    next: Option<String>,
}

impl CampaignPage {
    fn day(&self, text: &str) -> String {
        format_day(text)
    }

    fn progress_key(&self, progress: &VisitProgress) -> &'static str {
        match progress {
            VisitProgress::Pending => "campaign-pending",
            VisitProgress::Visited => "campaign-visited",
            VisitProgress::Missed => "campaign-missed",
        }
    }

    /// The share visited, in whole percent.
    fn percent(&self, visited: &i64, households: &i64) -> i64 {
        share(*visited, *households)
    }

    fn total_percent(&self) -> i64 {
        share(self.total_visited(), self.total_households())
    }

    fn total_visited(&self) -> i64 {
        self.view.progress.iter().map(|p| p.visited).sum()
    }

    fn total_households(&self) -> i64 {
        self.view.progress.iter().map(|p| p.households).sum()
    }
}

/// `part` of `whole` in whole percent (0 of nothing).
fn share(part: i64, whole: i64) -> i64 {
    if whole == 0 {
        0
    } else {
        part.saturating_mul(100) / whole
    }
}

fn format_day(text: &str) -> String {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.format("%d-%m-%Y").to_string())
        .unwrap_or_else(|_| text.to_string())
}

fn web(error: CampaignError) -> WebError {
    match error {
        CampaignError::NotFound => WebError::NotFound,
        CampaignError::Store(store) => store.into(),
        other => WebError::Internal(other.to_string()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
) -> Result<CampaignsPage, WebError> {
    signed.reach(&state).await?;
    let campaigns = state
        .campaigns
        .list(Page::first(Page::MAX_LIMIT))
        .await
        .map_err(web)?;
    let (fields, errors) = match flash::take::<OpenFields>(&state, &signed, LIST).await? {
        Some(refused) => (refused.form, refused.errors),
        None => (OpenFields::default(), FieldErrors::default()),
    };
    Ok(CampaignsPage {
        layout: Layout::new(&signed, "/households"),
        campaigns,
        can_open: signed.role().may(Permission::ManageHouseholds),
        fields,
        errors,
    })
}

pub async fn open(
    State(state): State<AppState>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<OpenFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let months = match fields.not_visited_months.trim() {
        "" => Some(None),
        text => match text.parse::<u32>() {
            Ok(months) => Some(Some(months)),
            Err(_) => {
                let invalid = crate::domain::campaign::check_not_visited_months(0)
                    .expect_err("0 months is refused");
                errors.invalid(&tr, "not_visited_months", &invalid);
                None
            }
        },
    };
    if let Some(months) = months {
        match CampaignPlan::parse(&fields.name, &fields.kelurahan, months, &fields.deadline) {
            Ok(plan) => match state.campaigns.open(plan, signed.user.id).await {
                Ok(campaign) => {
                    let to = format!("{LIST}/{}", campaign.id.0);
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(error) => return Err(web(error)),
            },
            Err(refusals) => errors.refusals(&tr, &refusals, |field| field),
        }
    }
    flash::refused(&state, &signed, LIST, errors, fields).await
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
    Query(query): Query<CampaignQuery>,
) -> Result<CampaignPage, WebError> {
    let reach = signed.reach(&state).await?;
    let id = CampaignId(id);
    let view = state.campaigns.get(id, &reach).await.map_err(web)?;
    // A verifier opens the list of what is still to visit; the office the whole list.
    let progress = match query.progress.as_str() {
        "" if reach.bound_to().is_some() && !view.closed => Some(VisitProgress::Pending),
        "" | "all" => None,
        text => VisitProgress::parse(text).ok(),
    };
    let kelurahan = query.kelurahan.trim().to_string();
    let page = Page {
        after: query.after,
        limit: PAGE_SIZE,
    };
    let within = (!kelurahan.is_empty()).then(|| kelurahan.clone());
    // A kelurahan that cannot be a name (control characters) matches no household.
    let readable = kelurahan.chars().all(|c| !c.is_control());
    let rows = if readable {
        state
            .campaigns
            .households(id, &reach, progress, within, page)
            .await
            .map_err(web)?
    } else {
        Vec::new()
    };
    let progress_text = progress.map_or("all", |p| p.as_str()).to_string();
    let next = (rows.len() == PAGE_SIZE as usize)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            let query = serde_urlencoded::to_string([
                ("progress", progress_text.as_str()),
                ("kelurahan", kelurahan.as_str()),
                ("after", &last.household.household_id.0.to_string()),
            ])
            .unwrap_or_default();
            format!("{LIST}/{}?{query}", id.0)
        });
    Ok(CampaignPage {
        layout: Layout::new(&signed, "/households"),
        view,
        progress: progress_text,
        kelurahan,
        rows,
        next,
    })
}
