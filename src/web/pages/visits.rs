//! The kelurahan verifier's pages, phone first: the households of their kelurahan (`/field`),
//! recording a visit with a photo of the house taken there and then
//! (`/households/{id}/visits/new`), and a visit's photo for whoever reaches the household. A
//! visit changes nothing; what it found is proposed from the household's page as a change
//! request. The same services as the API's (`registry::visits`, `registry::change_requests`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Multipart, Query, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        ids::VisitId,
        locale::Locale,
        role::Permission,
        visit::{VisitOutcome, MAX_PHOTO_BYTES},
    },
    http::state::AppState,
    model::{change_requests::ChangeRequestRecord, records::HouseholdRecord},
    photos::PhotoError,
    registry::visits::{VisitError, VisitReport},
    store::{HouseholdFilter, Page},
    web::{
        error::WebError, flash, form::FieldErrors, format::Shows, layout::Layout,
        session::SignedIn, upload,
    },
};

/// The visit form's fields as typed (the photo is never kept: it is chosen again).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VisitFields {
    #[serde(default)]
    pub visited_on: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "visit_form.html", config = "src/web/askama.toml")]
pub struct VisitForm {
    layout: Layout,
    household: HouseholdRecord,
    fields: VisitFields,
    errors: FieldErrors,
    max_photo_mib: u64,
}

impl VisitForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn is_chosen(&self, outcome: &str) -> bool {
        self.fields.outcome == outcome
    }

    fn outcomes(&self) -> Vec<(&'static str, String)> {
        VisitOutcome::ALL
            .iter()
            .map(|o| {
                (
                    o.as_str(),
                    format!("visit-{}", o.as_str().replace('_', "-")),
                )
            })
            .collect()
    }
}

fn form_path(household: uuid::Uuid) -> String {
    format!("/households/{household}/visits/new")
}

pub async fn form(
    State(state): State<AppState>,
    signed: SignedIn,
    crate::web::form::PagePath(id): crate::web::form::PagePath<uuid::Uuid>,
) -> Result<VisitForm, WebError> {
    signed.require(Permission::RecordVisits)?;
    let household = signed.reach_household(&state, id).await?;
    let today = crate::business_day::local_today(chrono::Utc::now());
    let (fields, errors) = match flash::take(&state, &signed, &form_path(id)).await? {
        Some(refused) => (refused.form, refused.errors),
        None => (
            VisitFields {
                visited_on: today.format("%Y-%m-%d").to_string(),
                ..VisitFields::default()
            },
            FieldErrors::default(),
        ),
    };
    Ok(VisitForm {
        layout: Layout::new(&signed, "/field"),
        household,
        fields,
        errors,
        max_photo_mib: MAX_PHOTO_BYTES / (1024 * 1024),
    })
}

/// Reads a text field of the form, in order; a form with its fields in another order, or cut
/// short, is not this page's.
async fn text_field(form: &mut Multipart, name: &str) -> Result<String, WebError> {
    let field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    let field = field.ok_or(WebError::BadForm)?;
    if field.name() != Some(name) {
        return Err(WebError::BadForm);
    }
    let text = field.text().await.map_err(|_| WebError::BadForm)?;
    Ok(text.chars().take(2_000).collect())
}

/// Records a visit from the form: `csrf`, `visited_on`, `outcome`, `note`, then `photo`
/// (optional). The photo is written first, under the visit's id; a refused visit keeps none.
pub async fn record(
    State(state): State<AppState>,
    signed: SignedIn,
    crate::web::form::PagePath(id): crate::web::form::PagePath<uuid::Uuid>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    signed.require(Permission::RecordVisits)?;
    let household = signed.reach_household(&state, id).await?;
    let tr = signed.tr();
    upload::check_csrf_first(&mut form, &signed).await?;
    let fields = VisitFields {
        visited_on: text_field(&mut form, "visited_on").await?,
        outcome: text_field(&mut form, "outcome").await?,
        note: text_field(&mut form, "note").await?,
    };
    let visit = VisitId::new();
    let mut errors = FieldErrors::default();
    let mut photo = None;
    let field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    if let Some(field) = field.filter(|field| upload::is_chosen_file(field, "photo")) {
        let (forward, body) = upload::stream(field);
        let ((), saved) = tokio::join!(forward, state.visits.save_photo(visit, body));
        match saved {
            Ok(saved) => photo = Some(saved),
            Err(VisitError::Photo(PhotoError::NotAPhoto)) => {
                errors.add("photo", tr.t("visit-photo-not-a-photo"))
            }
            Err(VisitError::Photo(PhotoError::TooLarge)) => errors.add(
                "photo",
                tr.t1(
                    "visit-photo-too-large",
                    "mib",
                    MAX_PHOTO_BYTES / (1024 * 1024),
                ),
            ),
            Err(VisitError::Photo(PhotoError::Body(_))) => return Err(WebError::BadForm),
            Err(error) => return Err(WebError::Internal(error.to_string())),
        }
    }
    let outcome = VisitOutcome::parse(fields.outcome.trim());
    let report = match VisitReport::parse(&fields.visited_on, outcome, &fields.note) {
        Ok(report) if errors.is_empty() => Some(report),
        Ok(_) => None,
        Err(refusals) => {
            errors.refusals(&tr, &refusals, |field| field);
            None
        }
    };
    let Some(report) = report else {
        if let Some(saved) = &photo {
            state.visits.discard_photo(visit, saved).await;
        }
        return flash::refused(&state, &signed, &form_path(id), errors, fields).await;
    };
    match state
        .visits
        .record(visit, household.id, report, photo, signed.user.id)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/households/{id}#visits")).into_response()),
        Err(VisitError::HouseholdNotFound) => Err(WebError::NotFound),
        Err(error) => Err(WebError::Internal(error.to_string())),
    }
}

/// A visit's photo, for whoever reaches its household.
pub async fn photo(
    State(state): State<AppState>,
    signed: SignedIn,
    crate::web::form::PagePath(id): crate::web::form::PagePath<uuid::Uuid>,
) -> Result<Response, WebError> {
    let visit = state
        .visits
        .get(VisitId(id))
        .await
        .map_err(|error| match error {
            VisitError::NotFound => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        })?;
    signed.reach_household(&state, visit.household_id.0).await?;
    let (kind, bytes) = state
        .visits
        .photo(&visit)
        .await
        .map_err(|error| match error {
            VisitError::NotFound => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, kind.mime()),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct FieldQuery {
    #[serde(default)]
    kelurahan: String,
    after: Option<uuid::Uuid>,
}

const FIELD_PAGE_SIZE: u32 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "field.html", config = "src/web/askama.toml")]
pub struct FieldPage {
    layout: Layout,
    kelurahan: Vec<String>,
    chosen: String,
    households: Vec<HouseholdRecord>,
    next: Option<String>,
    /// The verifier's open requests (submitted or returned), oldest first.
    requests: Vec<ChangeRequestRecord>,
    /// Campaigns before their deadline, with how many of the verifier's households are still
    /// to visit in each.
    campaigns: Vec<(crate::model::campaigns::CampaignRecord, i64)>,
}

impl FieldPage {
    fn state_key(&self, state: &crate::domain::change_request::RequestState) -> &'static str {
        crate::web::pages::change_requests::state_key(*state)
    }

    fn kind_key(&self, kind: &crate::domain::change_request::ChangeKind) -> &'static str {
        crate::web::pages::change_requests::kind_key(*kind)
    }

    fn status_key(&self, status: &str) -> &'static str {
        crate::web::status::status_key(status)
    }
}

impl Shows for FieldPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

/// The verifier's round: the households of their kelurahan (one kelurahan at a time when they
/// have several), and their own requests still open.
pub async fn field(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<FieldQuery>,
) -> Result<FieldPage, WebError> {
    signed.require(Permission::ReadOwnKelurahan)?;
    let kelurahan = state.store.sessions().kelurahan_of(signed.user.id).await?;
    let chosen = Some(query.kelurahan.trim().to_string())
        .filter(|k| kelurahan.contains(k))
        .unwrap_or_default();
    let filter = HouseholdFilter {
        kelurahan: Some(chosen.clone()).filter(|k| !k.is_empty()),
        within: Some(kelurahan.clone()),
        ..HouseholdFilter::default()
    };
    let page = Page {
        after: query.after,
        limit: FIELD_PAGE_SIZE,
    };
    let households = state.store.list_households(filter, page).await?;
    let next = (households.len() == FIELD_PAGE_SIZE as usize)
        .then(|| households.last())
        .flatten()
        .map(|last| {
            format!(
                "/field?kelurahan={}&after={}",
                crate::web::pages::households::encode(&chosen),
                last.id.0
            )
        });
    let mine = crate::model::change_requests::ChangeRequestFilter {
        created_by: Some(signed.user.id),
        ..Default::default()
    };
    let requests = state
        .change_requests
        .list(mine, Page::first(Page::MAX_LIMIT))
        .await
        .map_err(|error| WebError::Internal(error.to_string()))?
        .into_iter()
        .filter(|r| r.state.is_open())
        .collect();
    let reach = signed.reach(&state).await?;
    let mut campaigns = Vec::new();
    for campaign in state
        .campaigns
        .list(Page::first(Page::MAX_LIMIT))
        .await
        .map_err(|error| WebError::Internal(error.to_string()))?
    {
        let view = state
            .campaigns
            .get(campaign.id, &reach)
            .await
            .map_err(|error| WebError::Internal(error.to_string()))?;
        let to_visit: i64 = view
            .progress
            .iter()
            .map(|row| row.households - row.visited)
            .sum();
        if !view.closed && to_visit > 0 {
            campaigns.push((view.campaign, to_visit));
        }
    }
    Ok(FieldPage {
        layout: Layout::new(&signed, "/field"),
        kelurahan,
        chosen,
        households,
        next,
        requests,
        campaigns,
    })
}
