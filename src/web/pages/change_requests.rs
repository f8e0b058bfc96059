//! Change requests on the office's pages: the queue (oldest first, by state, kind and kelurahan,
//! with each request's age, several approved at once), one request with what it proposes in
//! words and its decision (approve, return with a note, reject with a note), and submitting a
//! draft or returned request again. The same service as the API's
//! (`registry::change_requests`): nobody approves their own request.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        change_request::{ChangeKind, RequestState},
        ids::{ChangeRequestId, HouseholdId},
        locale::Locale,
        role::Permission,
    },
    http::state::AppState,
    model::{
        change_requests::{ChangeRequestFilter, ChangeRequestRecord, Proposal},
        members::MemberRecord,
    },
    registry::change_requests::ChangeRequestError,
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
        status::status_key,
    },
};

const PAGE_SIZE: u32 = 50;

/// The words for a request's state.
pub fn state_key(state: RequestState) -> &'static str {
    match state {
        RequestState::Draft => "request-draft",
        RequestState::Submitted => "request-submitted",
        RequestState::Returned => "request-returned",
        RequestState::Applied => "request-applied",
        RequestState::Rejected => "request-rejected",
    }
}

/// The words for what a request changes.
pub fn kind_key(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Data => "request-kind-data",
        ChangeKind::Status => "request-kind-status",
        ChangeKind::MemberAdd => "request-kind-member-add",
        ChangeKind::MemberCorrect => "request-kind-member-correct",
        ChangeKind::MemberRemove => "request-kind-member-remove",
        ChangeKind::Head => "request-kind-head",
        ChangeKind::NewHousehold => "request-kind-new-household",
    }
}

/// What a request proposes, in words, one line per part. `members` names the members a
/// request points at by id.
pub fn describe(tr: &Tr, proposal: &Proposal, members: &[MemberRecord]) -> Vec<String> {
    let name_of = |id: &crate::domain::ids::MemberId| {
        members
            .iter()
            .find(|m| m.id == *id)
            .map_or_else(|| id.0.to_string(), |m| format!("{} ({})", m.name, m.nik))
    };
    let address = |a: &crate::domain::household::Address| {
        format!(
            "{}, RT {} / RW {}, {}, {}",
            a.street, a.rt, a.rw, a.kelurahan, a.kecamatan
        )
    };
    match proposal {
        Proposal::Data {
            head_nik,
            head_name,
            address: new_address,
        } => {
            let mut lines = Vec::new();
            if let Some(name) = head_name {
                lines.push(format!("{}: {name}", tr.t("column-name")));
            }
            if let Some(nik) = head_nik {
                lines.push(format!("{}: {nik}", tr.t("column-nik")));
            }
            if let Some(new_address) = new_address {
                lines.push(format!(
                    "{}: {}",
                    tr.t("household-address"),
                    address(new_address)
                ));
            }
            lines
        }
        Proposal::Status { status, ground } => vec![format!(
            "{} → {} ({})",
            tr.t("label-status"),
            tr.t(status_key(status.as_str())),
            tr.t(&format!("ground-{}", ground.as_str().replace('_', "-")))
        )],
        Proposal::MemberAdd { member } | Proposal::MemberCorrect { member, .. } => {
            let mut lines = Vec::new();
            if let Proposal::MemberCorrect { member_id, .. } = proposal {
                lines.push(format!(
                    "{}: {}",
                    tr.t("request-member"),
                    name_of(member_id)
                ));
            }
            lines.push(format!(
                "{} ({}), {} {}, {}",
                member.name,
                member.nik,
                tr.t(&format!("relation-{}", member.relation.replace('_', "-"))),
                tr.t(&format!("sex-{}", member.sex)),
                member.birth_date
            ));
            lines
        }
        Proposal::MemberRemove { member_id } => vec![format!(
            "{}: {}",
            tr.t("request-member"),
            name_of(member_id)
        )],
        Proposal::Head {
            member_id,
            former_head_relation,
        } => vec![
            format!("{}: {}", tr.t("request-new-head"), name_of(member_id)),
            match former_head_relation {
                Some(relation) => format!(
                    "{}: {}",
                    tr.t("request-former-head"),
                    tr.t(crate::web::pages::members::relation_key(*relation))
                ),
                None => tr.t("request-former-head-leaves"),
            },
        ],
        Proposal::NewHousehold {
            kk_number,
            head_nik,
            head_name,
            address: new_address,
        } => vec![
            format!("{}: {kk_number}", tr.t("label-kk")),
            format!("{}: {head_name} ({head_nik})", tr.t("column-name")),
            format!("{}: {}", tr.t("household-address"), address(new_address)),
        ],
    }
}

/// Whole days since `at`, for the queue's age column.
fn days_since(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - at).num_days().max(0)
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    kelurahan: String,
    after: Option<uuid::Uuid>,
}

/// What an approval of several left for the queue's next view.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Approved {
    #[serde(default)]
    approved: u32,
    /// "#12: why" for each one refused.
    #[serde(default)]
    refused: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "change_requests.html", config = "src/web/askama.toml")]
pub struct QueuePage {
    layout: Layout,
    state: String,
    kind: String,
    kelurahan: String,
    rows: Vec<ChangeRequestRecord>,
    next: Option<String>,
    now: DateTime<Utc>,
    /// Whether this user decides requests (and so sees the boxes to approve several).
    can_decide: bool,
    me: crate::domain::ids::UserId,
    approved: Option<Approved>,
}

impl QueuePage {
    fn state_key(&self, state: &RequestState) -> &'static str {
        state_key(*state)
    }

    fn kind_key(&self, kind: &ChangeKind) -> &'static str {
        kind_key(*kind)
    }

    fn states(&self) -> &'static [RequestState] {
        RequestState::ALL
    }

    fn kinds(&self) -> &'static [ChangeKind] {
        ChangeKind::ALL
    }

    fn age(&self, request: &ChangeRequestRecord) -> i64 {
        days_since(request.submitted_at.unwrap_or(request.created_at), self.now)
    }

    fn may_approve(&self, request: &ChangeRequestRecord) -> bool {
        self.can_decide && request.state == RequestState::Submitted && request.created_by != self.me
    }
}

impl Shows for QueuePage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

const QUEUE: &str = "/change-requests";

pub async fn queue(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<QueueQuery>,
) -> Result<QueuePage, WebError> {
    let reach = signed.reach(&state).await?;
    let tr = signed.tr();
    // Unknown filter values show everything rather than an error: they come from a link.
    let chosen_state = if query.state.is_empty() && query.kind.is_empty() {
        Some(RequestState::Submitted)
    } else {
        RequestState::parse(&query.state).ok()
    };
    let filter = ChangeRequestFilter {
        state: chosen_state,
        kind: ChangeKind::parse(&query.kind).ok(),
        kelurahan: Some(query.kelurahan.trim().to_string()).filter(|k| !k.is_empty()),
        within: reach.bound_to().map(<[String]>::to_vec),
        ..ChangeRequestFilter::default()
    };
    let page = Page {
        after: query.after,
        limit: PAGE_SIZE,
    };
    let rows = state
        .change_requests
        .list(filter, page)
        .await
        .map_err(web)?;
    let next = (rows.len() == PAGE_SIZE as usize)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            format!(
                "{QUEUE}?state={}&kind={}&kelurahan={}&after={}",
                chosen_state.map_or("", |s| s.as_str()),
                query.kind,
                crate::web::pages::households::encode(&query.kelurahan),
                last.id.0
            )
        });
    let approved = flash::take::<Approved>(&state, &signed, QUEUE)
        .await?
        .map(|flash| flash.form);
    let _ = tr;
    Ok(QueuePage {
        layout: Layout::new(&signed, QUEUE),
        state: chosen_state.map_or(String::new(), |s| s.as_str().to_string()),
        kind: query.kind,
        kelurahan: query.kelurahan,
        rows,
        next,
        now: Utc::now(),
        can_decide: signed.role().may(Permission::DecideChanges),
        me: signed.user.id,
        approved,
    })
}

/// The boxes ticked on the queue: `approve-<id>` for each request to approve.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Ticked {
    #[serde(flatten)]
    boxes: HashMap<String, String>,
}

pub async fn approve_ticked(
    State(state): State<AppState>,
    SignedForm { signed, form }: SignedForm<Ticked>,
) -> Result<Response, WebError> {
    signed.require(Permission::DecideChanges)?;
    let tr = signed.tr();
    let ids: Vec<ChangeRequestId> = form
        .boxes
        .keys()
        .filter_map(|name| name.strip_prefix("approve-"))
        .filter_map(|id| uuid::Uuid::parse_str(id).ok())
        .map(ChangeRequestId)
        .collect();
    let mut left = Approved::default();
    let mut refused = Vec::new();
    for (id, outcome) in state
        .change_requests
        .approve_many(&ids, signed.user.id)
        .await
    {
        match outcome {
            Ok(_) => left.approved += 1,
            Err(error) => {
                let number = match state.change_requests.get(id).await {
                    Ok(request) => format!("#{}", request.number),
                    Err(_) => id.0.to_string(),
                };
                refused.push(format!("{number}: {}", refusal_text(&tr, error)?));
            }
        }
    }
    left.refused = refused.join("; ");
    flash::done(&state, &signed, QUEUE, left).await
}

/// A refused step in the reader's words; a failure that is not about the request is an error
/// page.
fn refusal_text(tr: &Tr, error: ChangeRequestError) -> Result<String, WebError> {
    let mut errors = FieldErrors::default();
    refusal(tr, error, &mut errors, |field| field)?;
    Ok(errors
        .iter()
        .map(|(_, message)| message.to_string())
        .collect::<Vec<_>>()
        .join(" "))
}

/// A refused request command beside the form's fields (`field` names them as the form does);
/// anything that is not the form's is an error page.
pub fn refusal(
    tr: &Tr,
    error: ChangeRequestError,
    errors: &mut FieldErrors,
    field: fn(&'static str) -> &'static str,
) -> Result<(), WebError> {
    match error {
        ChangeRequestError::Refused(refusals) => errors.refusals(tr, &refusals, field),
        ChangeRequestError::Stale { .. } => errors.add("form", tr.t("invalid-stale")),
        ChangeRequestError::Duplicate { number } => {
            errors.add("form", tr.t1("request-duplicate", "number", number))
        }
        ChangeRequestError::StatusRequestOpen => errors.add("form", tr.t("request-status-open")),
        ChangeRequestError::OwnRequest => errors.add("form", tr.t("request-own")),
        ChangeRequestError::NotAuthor => errors.add("form", tr.t("request-not-author")),
        ChangeRequestError::State(_) => errors.add("form", tr.t("request-moved-on")),
        ChangeRequestError::MemberNotFound => errors.add("form", tr.t("members-gone")),
        ChangeRequestError::Household(household) => {
            crate::web::refusals::household(tr, household, errors, field)?
        }
        ChangeRequestError::Member(member) => {
            crate::web::pages::members::refusal(tr, member, errors)?
        }
        ChangeRequestError::NotFound | ChangeRequestError::HouseholdNotFound => {
            return Err(WebError::NotFound)
        }
        ChangeRequestError::Store(store) => return Err(store.into()),
    }
    Ok(())
}

/// A failure to read requests, as an error page.
fn web(error: ChangeRequestError) -> WebError {
    match error {
        ChangeRequestError::NotFound | ChangeRequestError::HouseholdNotFound => WebError::NotFound,
        ChangeRequestError::Store(store) => store.into(),
        other => WebError::Internal(other.to_string()),
    }
}

/// The decision forms' fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NoteFields {
    /// What the author should correct (the return form).
    #[serde(default)]
    pub note_return: String,
    /// Why the request is rejected (the reject form).
    #[serde(default)]
    pub note_reject: String,
    /// What left this view a notice (`written`: a page just wrote the request).
    #[serde(default)]
    pub step: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "change_request.html", config = "src/web/askama.toml")]
pub struct RequestPage {
    layout: Layout,
    request: ChangeRequestRecord,
    proposal_lines: Vec<String>,
    can_decide: bool,
    is_author: bool,
    fields: NoteFields,
    errors: FieldErrors,
}

impl RequestPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn state_key(&self) -> &'static str {
        state_key(self.request.state)
    }

    fn kind_key(&self) -> &'static str {
        kind_key(self.request.kind)
    }

    fn may_decide(&self) -> bool {
        self.can_decide && self.request.state == RequestState::Submitted && !self.is_author
    }

    fn may_submit(&self) -> bool {
        self.is_author
            && matches!(
                self.request.state,
                RequestState::Draft | RequestState::Returned
            )
    }
}

impl Shows for RequestPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

pub fn request_path(id: ChangeRequestId) -> String {
    format!("{QUEUE}/{}", id.0)
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<RequestPage, WebError> {
    let reach = signed.reach(&state).await?;
    let request = state
        .change_requests
        .get(ChangeRequestId(id))
        .await
        .map_err(web)?;
    if !reach.covers(&request.kelurahan) {
        return Err(WebError::Forbidden);
    }
    let members = match request.household_id {
        Some(household) => state.store.members().list_members(household).await?,
        None => Vec::new(),
    };
    let tr = signed.tr();
    let (fields, errors) = match flash::take(&state, &signed, &request_path(request.id)).await? {
        Some(refused) => (refused.form, refused.errors),
        None => (NoteFields::default(), FieldErrors::default()),
    };
    Ok(RequestPage {
        proposal_lines: describe(&tr, &request.proposal, &members),
        layout: Layout::new(&signed, QUEUE),
        can_decide: signed.role().may(Permission::DecideChanges),
        is_author: request.created_by == signed.user.id,
        request,
        fields,
        errors,
    })
}

/// After a step: the request's page, with what was refused beside its form.
async fn after_step(
    state: &AppState,
    signed: &SignedIn,
    id: ChangeRequestId,
    outcome: Result<ChangeRequestRecord, ChangeRequestError>,
    fields: NoteFields,
) -> Result<Response, WebError> {
    let path = request_path(id);
    match outcome {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        Err(error) => {
            let mut errors = FieldErrors::default();
            // A refused note shows beside the form it came from.
            let note_field = note_field(&fields.step);
            refusal(&signed.tr(), error, &mut errors, note_field)?;
            flash::refused(state, signed, &path, errors, fields).await
        }
    }
}

/// The form's name of the note a step's refusal names.
fn note_field(step: &str) -> fn(&'static str) -> &'static str {
    match step {
        "reject" => |field| {
            if field == "note" {
                "note_reject"
            } else {
                field
            }
        },
        _ => |field| {
            if field == "note" {
                "note_return"
            } else {
                field
            }
        },
    }
}

/// Which step a decision form takes, from its address.
#[derive(Debug, Clone, Copy)]
enum Decision {
    Approve,
    Return,
    Reject,
    Submit,
}

impl Decision {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Decision::Approve),
            "return" => Some(Decision::Return),
            "reject" => Some(Decision::Reject),
            "submit" => Some(Decision::Submit),
            _ => None,
        }
    }
}

pub async fn act(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
    SignedForm {
        signed,
        form: mut fields,
    }: SignedForm<NoteFields>,
) -> Result<Response, WebError> {
    let decision = Decision::parse(&action).ok_or(WebError::NotFound)?;
    let id = ChangeRequestId(id);
    let actor = signed.user.id;
    let requests = &state.change_requests;
    let outcome = match decision {
        Decision::Approve => {
            signed.require(Permission::DecideChanges)?;
            requests.approve(id, actor).await
        }
        Decision::Return => {
            signed.require(Permission::DecideChanges)?;
            fields.step = "return".into();
            requests
                .return_for_correction(id, &fields.note_return, actor)
                .await
        }
        Decision::Reject => {
            signed.require(Permission::DecideChanges)?;
            fields.step = "reject".into();
            requests.reject(id, &fields.note_reject, actor).await
        }
        Decision::Submit => {
            signed.require(Permission::ProposeChanges)?;
            requests.submit(id, actor).await
        }
    };
    after_step(&state, &signed, id, outcome, fields).await
}

/// A household's requests, newest first, for its page.
pub async fn of_household(
    state: &AppState,
    household: HouseholdId,
) -> Result<Vec<ChangeRequestRecord>, WebError> {
    let filter = ChangeRequestFilter {
        household_id: Some(household),
        ..ChangeRequestFilter::default()
    };
    let mut rows = state
        .change_requests
        .list(filter, Page::first(PAGE_SIZE))
        .await
        .map_err(web)?;
    rows.reverse();
    Ok(rows)
}

/// Where a page that wrote a request sends the browser: the request, with a notice that it
/// waits for a second office user.
pub async fn written(
    state: &AppState,
    signed: &SignedIn,
    request: &ChangeRequestRecord,
) -> Result<Response, WebError> {
    let path = request_path(request.id);
    flash::done(
        state,
        signed,
        &path,
        NoteFields {
            step: "written".into(),
            ..NoteFields::default()
        },
    )
    .await
}
