//! A household's members on the office's pages: add one, correct one, take one off, name another
//! head. Each form proposes the change as a change request (applied when another office user
//! approves it, `registry::change_requests`), checked at once by the members' own rules
//! (`registry::members`). Each form carries the household revision it was filled against and a
//! reason; a refusal is shown beside its field, a change made meanwhile (another tab) is refused
//! on the form.

use askama::Template;
use askama_web::WebTemplate;
use axum::{extract::State, response::Response};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        ids::{HouseholdId, MemberId},
        member::Relation,
        role::Permission,
    },
    http::state::AppState,
    model::change_requests::{Proposal, ProposedPerson},
    model::members::MemberRecord,
    registry::{
        change_requests::Draft,
        members::{parse_reason, MemberError},
    },
    store::HouseholdRecord,
    web::{
        error::WebError,
        flash,
        form::{FieldErrors, PagePath},
        i18n::Tr,
        layout::Layout,
        session::SignedIn,
        signed_form::SignedForm,
    },
};

/// A member form's fields as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberFields {
    #[serde(default)]
    pub nik: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub relation: String,
    #[serde(default)]
    pub sex: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub revision: i32,
    #[serde(default)]
    pub reason: String,
}

/// The head form's fields as typed (`former` empty: the former head leaves the household).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HeadFields {
    #[serde(default)]
    pub member: String,
    #[serde(default)]
    pub former: String,
    #[serde(default)]
    pub revision: i32,
    #[serde(default)]
    pub reason: String,
}

/// Relations a member other than the head may have, with their words.
const RELATIONS: [(Relation, &str); 8] = [
    (Relation::Spouse, "relation-spouse"),
    (Relation::Child, "relation-child"),
    (Relation::ChildInLaw, "relation-child-in-law"),
    (Relation::Grandchild, "relation-grandchild"),
    (Relation::Parent, "relation-parent"),
    (Relation::ParentInLaw, "relation-parent-in-law"),
    (Relation::OtherRelative, "relation-other-relative"),
    (Relation::Other, "relation-other"),
];

/// Relations other than the head, with their words (also a representative's to the head).
pub fn relations() -> &'static [(Relation, &'static str)] {
    &RELATIONS
}

/// The words for a relation.
pub fn relation_key(relation: Relation) -> &'static str {
    RELATIONS
        .iter()
        .find(|(known, _)| *known == relation)
        .map_or("relation-head", |(_, key)| key)
}

#[derive(Template, WebTemplate)]
#[template(path = "member_form.html", config = "src/web/askama.toml")]
pub struct MemberForm {
    layout: Layout,
    household: HouseholdRecord,
    /// `None`: a new member; `Some`: the one being corrected.
    editing: Option<MemberRecord>,
    fields: MemberFields,
    errors: FieldErrors,
}

impl MemberForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn action(&self) -> String {
        match &self.editing {
            Some(member) => format!(
                "/households/{}/members/{}/edit",
                self.household.id.0, member.id.0
            ),
            None => format!("/households/{}/members/new", self.household.id.0),
        }
    }

    fn is_head(&self) -> bool {
        self.editing
            .as_ref()
            .is_some_and(|member| member.relation == Relation::Head)
    }

    fn relations(&self) -> &'static [(Relation, &'static str)] {
        &RELATIONS
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "member_remove.html", config = "src/web/askama.toml")]
pub struct RemoveForm {
    layout: Layout,
    household: HouseholdRecord,
    member: MemberRecord,
    reason: String,
    errors: FieldErrors,
}

impl RemoveForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "head_form.html", config = "src/web/askama.toml")]
pub struct HeadForm {
    layout: Layout,
    household: HouseholdRecord,
    /// Who may become head: every member but the head.
    candidates: Vec<MemberRecord>,
    fields: HeadFields,
    errors: FieldErrors,
}

impl HeadForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn relations(&self) -> &'static [(Relation, &'static str)] {
        &RELATIONS
    }
}

/// A refused member command beside the form's fields; anything else is an error page.
pub fn refusal(tr: &Tr, error: MemberError, errors: &mut FieldErrors) -> Result<(), WebError> {
    match error {
        MemberError::Refused(refusals) => errors.refusals(tr, &refusals, |field| match field {
            "former_head_relation" => "former",
            other => other,
        }),
        MemberError::NikInOtherHousehold(holder) => errors.add(
            "nik",
            tr.t1("invalid-nik-elsewhere", "kk", &holder.kk_number),
        ),
        MemberError::NikInThisHousehold => errors.add("nik", tr.t("invalid-nik-in-household")),
        MemberError::HeadRequired => errors.add("form", tr.t("members-head-required")),
        MemberError::Stale { .. } => errors.add("form", tr.t("invalid-stale")),
        MemberError::MemberNotFound => errors.add("form", tr.t("members-gone")),
        MemberError::HouseholdNotFound => return Err(WebError::NotFound),
        MemberError::Store(store) => return Err(store.into()),
    }
    Ok(())
}

/// The form as it was refused (with its errors), or `fresh` when nothing waits for `path`.
async fn refused_or<T: serde::de::DeserializeOwned>(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
    fresh: T,
) -> Result<(T, FieldErrors), WebError> {
    Ok(match flash::take(state, signed, path).await? {
        Some(refused) => (refused.form, refused.errors),
        None => (fresh, FieldErrors::default()),
    })
}

async fn household(
    state: &AppState,
    signed: &SignedIn,
    id: uuid::Uuid,
) -> Result<HouseholdRecord, WebError> {
    signed.reach_household(state, id).await
}

async fn member_of(
    state: &AppState,
    household: HouseholdId,
    member: uuid::Uuid,
) -> Result<MemberRecord, WebError> {
    members(state, household)
        .await?
        .into_iter()
        .find(|m| m.id.0 == member)
        .ok_or(WebError::NotFound)
}

async fn members(state: &AppState, household: HouseholdId) -> Result<Vec<MemberRecord>, WebError> {
    state
        .members
        .list(household)
        .await
        .map_err(|error| match error {
            MemberError::HouseholdNotFound => WebError::NotFound,
            MemberError::Store(store) => store.into(),
            other => WebError::Internal(other.to_string()),
        })
}

/// Proposes `proposal` for the household as a submitted request (the form's revision must still
/// be the household's), and sends the browser to the request; a refusal goes back to the form
/// at `path` beside its field.
#[allow(clippy::too_many_arguments)]
async fn propose<T: Serialize>(
    state: &AppState,
    signed: &SignedIn,
    household: HouseholdId,
    proposal: Proposal,
    reason: &str,
    revision: i32,
    path: &str,
    fields: T,
) -> Result<Response, WebError> {
    signed.reach_household(state, household.0).await?;
    let draft = Draft {
        household_id: Some(household),
        proposal,
        reason: reason.to_string(),
        seen_revision: Some(revision),
    };
    match state
        .change_requests
        .propose(draft, true, signed.user.id)
        .await
    {
        Ok(request) => crate::web::pages::change_requests::written(state, signed, &request).await,
        Err(error) => {
            let mut errors = FieldErrors::default();
            crate::web::pages::change_requests::refusal(
                &signed.tr(),
                error,
                &mut errors,
                |field| match field {
                    "former_head_relation" => "former",
                    "proposal" => "form",
                    other => other,
                },
            )?;
            flash::refused(state, signed, path, errors, fields).await
        }
    }
}

/// The person a member form proposes, as typed (the NIK also as printed, in groups).
fn proposed(fields: &MemberFields) -> ProposedPerson {
    ProposedPerson {
        nik: fields.nik.chars().filter(|c| !c.is_whitespace()).collect(),
        name: fields.name.clone(),
        relation: fields.relation.trim().to_string(),
        sex: fields.sex.trim().to_string(),
        birth_date: fields.birth_date.clone(),
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<MemberForm, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = household(&state, &signed, id).await?;
    let path = format!("/households/{id}/members/new");
    let (fields, errors) = refused_or(
        &state,
        &signed,
        &path,
        MemberFields {
            revision: household.revision,
            ..MemberFields::default()
        },
    )
    .await?;
    Ok(MemberForm {
        layout: Layout::new(&signed, "/households"),
        household,
        editing: None,
        fields,
        errors,
    })
}

pub async fn add(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<MemberFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let proposal = Proposal::MemberAdd {
        member: proposed(&fields),
    };
    let path = format!("/households/{id}/members/new");
    let (reason, revision) = (fields.reason.clone(), fields.revision);
    propose(
        &state,
        &signed,
        HouseholdId(id),
        proposal,
        &reason,
        revision,
        &path,
        fields,
    )
    .await
}

pub async fn edit_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath((id, member)): PagePath<(uuid::Uuid, uuid::Uuid)>,
) -> Result<MemberForm, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = household(&state, &signed, id).await?;
    let member = member_of(&state, household.id, member).await?;
    let path = format!("/households/{id}/members/{}/edit", member.id.0);
    let (fields, errors) = refused_or(
        &state,
        &signed,
        &path,
        MemberFields {
            nik: member.nik.clone(),
            name: member.name.clone(),
            relation: member.relation.as_str().to_string(),
            sex: member
                .sex
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            birth_date: member.birth_date.clone().unwrap_or_default(),
            revision: household.revision,
            reason: String::new(),
        },
    )
    .await?;
    Ok(MemberForm {
        layout: Layout::new(&signed, "/households"),
        household,
        editing: Some(member),
        fields,
        errors,
    })
}

pub async fn correct(
    State(state): State<AppState>,
    PagePath((id, member)): PagePath<(uuid::Uuid, uuid::Uuid)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<MemberFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let proposal = Proposal::MemberCorrect {
        member_id: MemberId(member),
        member: proposed(&fields),
    };
    let path = format!("/households/{id}/members/{member}/edit");
    let (reason, revision) = (fields.reason.clone(), fields.revision);
    propose(
        &state,
        &signed,
        HouseholdId(id),
        proposal,
        &reason,
        revision,
        &path,
        fields,
    )
    .await
}

/// The remove form's fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RemoveFields {
    #[serde(default)]
    pub revision: i32,
    #[serde(default)]
    pub reason: String,
}

pub async fn remove_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath((id, member)): PagePath<(uuid::Uuid, uuid::Uuid)>,
) -> Result<RemoveForm, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = household(&state, &signed, id).await?;
    let member = member_of(&state, household.id, member).await?;
    let path = format!("/households/{id}/members/{}/remove", member.id.0);
    let (fields, errors) = refused_or(&state, &signed, &path, RemoveFields::default()).await?;
    Ok(RemoveForm {
        layout: Layout::new(&signed, "/households"),
        household,
        member,
        reason: fields.reason,
        errors,
    })
}

pub async fn remove(
    State(state): State<AppState>,
    PagePath((id, member)): PagePath<(uuid::Uuid, uuid::Uuid)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<RemoveFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let proposal = Proposal::MemberRemove {
        member_id: MemberId(member),
    };
    let path = format!("/households/{id}/members/{member}/remove");
    let (reason, revision) = (fields.reason.clone(), fields.revision);
    propose(
        &state,
        &signed,
        HouseholdId(id),
        proposal,
        &reason,
        revision,
        &path,
        fields,
    )
    .await
}

pub async fn head_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<HeadForm, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = household(&state, &signed, id).await?;
    let candidates: Vec<MemberRecord> = members(&state, household.id)
        .await?
        .into_iter()
        .filter(|m| m.relation != Relation::Head)
        .collect();
    let path = format!("/households/{id}/head");
    let (fields, errors) = refused_or(
        &state,
        &signed,
        &path,
        HeadFields {
            revision: household.revision,
            ..HeadFields::default()
        },
    )
    .await?;
    Ok(HeadForm {
        layout: Layout::new(&signed, "/households"),
        household,
        candidates,
        fields,
        errors,
    })
}

pub async fn change_head(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<HeadFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = HouseholdId(id);
    let tr = signed.tr();
    let path = format!("/households/{id}/head");
    let mut errors = FieldErrors::default();
    let member = errors.check(
        &tr,
        "member",
        uuid::Uuid::parse_str(fields.member.trim()).map_err(|_| {
            crate::domain::Invalid::new("choose_from_list", tr.t("invalid-choose-from-list"))
        }),
    );
    let former = match fields.former.trim() {
        "" => Some(None),
        text => errors.check(&tr, "former", Relation::parse(text)).map(Some),
    };
    if let Err(refusals) = parse_reason(&fields.reason) {
        errors.refusals(&tr, &refusals, |field| field);
    }
    let (Some(member), Some(former), true) = (member, former, errors.is_empty()) else {
        return flash::refused(&state, &signed, &path, errors, fields).await;
    };
    let proposal = Proposal::Head {
        member_id: MemberId(member),
        former_head_relation: former,
    };
    let (reason, revision) = (fields.reason.clone(), fields.revision);
    propose(
        &state, &signed, household, proposal, &reason, revision, &path, fields,
    )
    .await
}
