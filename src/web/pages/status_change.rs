//! Changing whether a household may spend (a family moved, died, found work, or came back), and
//! whether an E-Warung or one of its terminals may trade. One confirmation page for the three:
//! the new status chosen among those the record is not in, a reason that goes into the audit
//! trail, what the change does, then the same services as the API's (`registry`). A household's
//! status is proposed with its ground as a change request, applied when another office user
//! approves it.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::web::form::PagePath;
use crate::web::signed_form::SignedForm;
use crate::{
    domain::{
        change_request::StatusGround,
        household::HouseholdStatus,
        ids::EwarungId,
        role::Permission,
        terminal::{EwarungStatus, TerminalStatus},
        Invalid,
    },
    http::state::AppState,
    model::change_requests::Proposal,
    model::records::{EwarungRecord, HouseholdRecord, TerminalRecord},
    registry::{
        change_requests::{ChangeRequestError, Draft},
        ewarungs,
    },
    web::{
        error::WebError, flash, form::FieldErrors, layout::Layout, refusals, session::SignedIn,
        status::status_key,
    },
};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StatusFields {
    #[serde(default)]
    status: String,
    /// Households only: why (moved away, head deceased, no longer eligible, other).
    #[serde(default)]
    ground: String,
    #[serde(default)]
    reason: String,
    /// Households only: the revision the page was read at, so a change made meanwhile by
    /// someone else is not silently overwritten.
    #[serde(default)]
    revision: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "status_form.html", config = "src/web/askama.toml")]
pub struct StatusForm {
    layout: Layout,
    title: String,
    /// Where the form posts, and where "cancel" and success lead.
    action: String,
    back: String,
    /// The text key of the current status.
    current_key: &'static str,
    /// The statuses that may be chosen: value and text key.
    choices: Vec<(&'static str, &'static str)>,
    /// What a change of this record does, as a text key.
    effect_key: &'static str,
    revision: Option<i32>,
    chosen: String,
    /// Households only: the grounds to choose from (value and text key), and the one chosen.
    grounds: Vec<(&'static str, String)>,
    ground: String,
    reason: String,
    errors: FieldErrors,
}

impl StatusForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

/// The choices of a status enum: every value but the current one.
fn choices(all: &[&'static str], current: &str) -> Vec<(&'static str, &'static str)> {
    all.iter()
        .filter(|value| **value != current)
        .map(|value| (*value, status_key(value)))
        .collect()
}

/// The record a form changes, read before the page is drawn and again before the change.
enum Subject {
    Household(HouseholdRecord),
    Ewarung(EwarungRecord),
    Terminal(TerminalRecord),
}

impl Subject {
    fn form(&self, signed: &SignedIn, fields: StatusFields, errors: FieldErrors) -> StatusForm {
        let tr = signed.tr();
        let (title, all, effect_key, revision, menu): (_, Vec<&'static str>, _, _, _) = match self {
            Subject::Household(household) => (
                tr.t1("status-title-household", "kk", &household.kk_number),
                HouseholdStatus::ALL.iter().map(|s| s.as_str()).collect(),
                "status-effect-household",
                Some(household.revision),
                "/households",
            ),
            Subject::Ewarung(ewarung) => (
                tr.t1("status-title-ewarung", "name", &ewarung.name),
                EwarungStatus::ALL.iter().map(|s| s.as_str()).collect(),
                "status-effect-ewarung",
                None,
                "/ewarungs",
            ),
            Subject::Terminal(terminal) => (
                tr.t1("status-title-terminal", "terminal", &terminal.terminal_id),
                // Only the states this terminal may still move to.
                TerminalStatus::ALL
                    .iter()
                    .filter(|next| terminal.status.may_become(**next))
                    .map(|s| s.as_str())
                    .collect(),
                "status-effect-terminal",
                None,
                "/ewarungs",
            ),
        };
        StatusForm {
            layout: Layout::new(signed, menu),
            title,
            action: self.path(),
            back: self.back(),
            current_key: status_key(self.current()),
            choices: choices(&all, self.current()),
            effect_key,
            // A refused form keeps the revision it was filled against.
            revision: revision.map(|read| {
                if fields.revision > 0 {
                    fields.revision
                } else {
                    read
                }
            }),
            chosen: fields.status,
            grounds: match self {
                Subject::Household(_) => StatusGround::ALL
                    .iter()
                    .map(|ground| {
                        (
                            ground.as_str(),
                            format!("ground-{}", ground.as_str().replace('_', "-")),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            },
            ground: fields.ground,
            reason: fields.reason,
            errors,
        }
    }

    /// The form's own address (it posts there too).
    fn path(&self) -> String {
        match self {
            Subject::Household(household) => format!("/households/{}/status", household.id.0),
            Subject::Ewarung(ewarung) => format!("/ewarungs/{}/status", ewarung.id.0),
            Subject::Terminal(terminal) => format!(
                "/ewarungs/{}/terminals/{}/status",
                terminal.ewarung_id.0, terminal.terminal_id
            ),
        }
    }

    fn back(&self) -> String {
        match self {
            Subject::Household(household) => format!("/households/{}", household.id.0),
            Subject::Ewarung(ewarung) => format!("/ewarungs/{}", ewarung.id.0),
            Subject::Terminal(terminal) => format!("/ewarungs/{}", terminal.ewarung_id.0),
        }
    }

    fn permission(&self) -> Permission {
        match self {
            Subject::Household(_) => Permission::ProposeChanges,
            Subject::Ewarung(_) | Subject::Terminal(_) => Permission::ManageEwarungs,
        }
    }
}

async fn household(
    state: &AppState,
    signed: &SignedIn,
    id: uuid::Uuid,
) -> Result<Subject, WebError> {
    Ok(Subject::Household(signed.reach_household(state, id).await?))
}

async fn ewarung(state: &AppState, id: uuid::Uuid) -> Result<Subject, WebError> {
    let ewarung = state.ewarungs.get(EwarungId(id)).await?;
    Ok(Subject::Ewarung(ewarung))
}

/// A terminal, only under the E-Warung it belongs to.
async fn terminal(
    state: &AppState,
    ewarung: uuid::Uuid,
    terminal_id: &str,
) -> Result<Subject, WebError> {
    let terminal = state
        .store
        .get_terminal(terminal_id)
        .await?
        .filter(|terminal| terminal.ewarung_id == EwarungId(ewarung))
        .ok_or(WebError::NotFound)?;
    Ok(Subject::Terminal(terminal))
}

/// The form, with a refused change's errors and values the one time after it was refused.
async fn confirm(
    state: &AppState,
    signed: &SignedIn,
    subject: Subject,
) -> Result<StatusForm, WebError> {
    signed.require(subject.permission())?;
    let (fields, errors) = flash::take(state, signed, &subject.path())
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    Ok(subject.form(signed, fields, errors))
}

/// A new status, typed by what it applies to.
enum NewStatus {
    Household(HouseholdStatus),
    Ewarung(EwarungStatus),
    Terminal(TerminalStatus),
}

impl Subject {
    fn current(&self) -> &'static str {
        match self {
            Subject::Household(household) => household.status.as_str(),
            Subject::Ewarung(ewarung) => ewarung.status.as_str(),
            Subject::Terminal(terminal) => terminal.status.as_str(),
        }
    }

    /// The chosen status, if it is one this record can have and not the one it has.
    fn parse(&self, chosen: &str) -> Result<NewStatus, Invalid> {
        if chosen == self.current() {
            return Err(Invalid::new(
                "unchanged_status",
                "the record already has this status",
            ));
        }
        Ok(match self {
            Subject::Household(_) => NewStatus::Household(HouseholdStatus::parse(chosen)?),
            Subject::Ewarung(_) => NewStatus::Ewarung(EwarungStatus::parse(chosen)?),
            Subject::Terminal(_) => NewStatus::Terminal(TerminalStatus::parse(chosen)?),
        })
    }
}

/// What a change did: the request it wrote (households), or whether the household had changed
/// since the clerk read it.
#[derive(Default)]
struct Applied {
    request: Option<crate::model::change_requests::ChangeRequestRecord>,
    stale: bool,
}

/// Makes the change through the record's service (a household's: a request to change it); a
/// refusal is added to `errors` beside its field (a failure that is not the form's is the error
/// page).
#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &AppState,
    signed: &SignedIn,
    subject: &Subject,
    status: NewStatus,
    ground: &str,
    reason: &str,
    revision: i32,
    errors: &mut FieldErrors,
) -> Result<Applied, WebError> {
    let (actor, tr) = (signed.user.id, signed.tr());
    match (subject, status) {
        (Subject::Household(household), NewStatus::Household(status)) => {
            // A household's status changes by a request another office user approves.
            let Some(ground) = errors.check(&tr, "ground", StatusGround::parse(ground)) else {
                if let Err(refusals) = ewarungs::reason(reason) {
                    errors.refusals(&tr, &refusals, |field| field);
                }
                return Ok(Applied::default());
            };
            let draft = Draft {
                household_id: Some(household.id),
                proposal: Proposal::Status { status, ground },
                reason: reason.to_string(),
                seen_revision: Some(revision),
            };
            match state.change_requests.propose(draft, true, actor).await {
                Ok(request) => {
                    return Ok(Applied {
                        request: Some(request),
                        stale: false,
                    })
                }
                Err(ChangeRequestError::Stale { .. }) => {
                    errors.add("form", tr.t("status-stale"));
                    return Ok(Applied {
                        request: None,
                        stale: true,
                    });
                }
                Err(error) => {
                    crate::web::pages::change_requests::refusal(&tr, error, errors, |field| {
                        match field {
                            "proposal" => "form",
                            other => other,
                        }
                    })?
                }
            }
        }
        (Subject::Ewarung(ewarung), NewStatus::Ewarung(status)) => {
            let changed = match ewarungs::reason(reason) {
                Ok(reason) => state
                    .ewarungs
                    .change_status(ewarung.id, status, reason, actor)
                    .await
                    .map(|_| ()),
                Err(refusals) => Err(refusals.into()),
            };
            if let Err(error) = changed {
                refusals::ewarung(&tr, error, errors, |field| field)?;
            }
        }
        (Subject::Terminal(terminal), NewStatus::Terminal(status)) => {
            let changed = match ewarungs::reason(reason) {
                Ok(reason) => state
                    .ewarungs
                    .change_terminal_status(&terminal.terminal_id, status, reason, actor)
                    .await
                    .map(|_| ()),
                Err(refusals) => Err(refusals.into()),
            };
            if let Err(error) = changed {
                refusals::ewarung(&tr, error, errors, |field| field)?;
            }
        }
        _ => unreachable!("Subject::parse types the status by its subject"),
    }
    Ok(Applied::default())
}

/// Checks the form, makes the change, and leads back to the record; a refusal re-shows the
/// form with the error beside its field.
async fn change(
    state: &AppState,
    signed: &SignedIn,
    subject: Subject,
    mut fields: StatusFields,
) -> Result<Response, WebError> {
    signed.require(subject.permission())?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    match subject.parse(&fields.status) {
        Ok(status) => {
            let revision = fields.revision;
            let applied = apply(
                state,
                signed,
                &subject,
                status,
                &fields.ground,
                &fields.reason,
                revision,
                &mut errors,
            )
            .await?;
            if errors.is_empty() {
                return match applied.request {
                    Some(request) => {
                        crate::web::pages::change_requests::written(state, signed, &request).await
                    }
                    None => Ok(Redirect::to(&subject.back()).into_response()),
                };
            }
            // The page now shows the household as it is; confirming again applies to that.
            if let (true, Subject::Household(household)) = (applied.stale, &subject) {
                fields.revision = household.revision;
            }
        }
        Err(invalid) => {
            errors.invalid(&tr, "status", &invalid);
            // The reason's own refusal too, so that one return shows both.
            if let Err(refusals) = ewarungs::reason(&fields.reason) {
                errors.refusals(&tr, &refusals, |field| field);
            }
        }
    }
    flash::refused(state, signed, &subject.path(), errors, fields).await
}

pub async fn confirm_household(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<StatusForm, WebError> {
    signed.require(Permission::ProposeChanges)?;
    confirm(&state, &signed, household(&state, &signed, id).await?).await
}

pub async fn change_household(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<StatusFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ProposeChanges)?;
    change(
        &state,
        &signed,
        household(&state, &signed, id).await?,
        fields,
    )
    .await
}

pub async fn confirm_ewarung(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<StatusForm, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    confirm(&state, &signed, ewarung(&state, id).await?).await
}

pub async fn change_ewarung(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<StatusFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    change(&state, &signed, ewarung(&state, id).await?, fields).await
}

pub async fn confirm_terminal(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath((id, terminal_id)): PagePath<(uuid::Uuid, String)>,
) -> Result<StatusForm, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    confirm(&state, &signed, terminal(&state, id, &terminal_id).await?).await
}

pub async fn change_terminal(
    State(state): State<AppState>,
    PagePath((id, terminal_id)): PagePath<(uuid::Uuid, String)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<StatusFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    change(
        &state,
        &signed,
        terminal(&state, id, &terminal_id).await?,
        fields,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_status_is_not_offered() {
        let offered = choices(&["active", "suspended", "exited"], "suspended");
        assert_eq!(
            offered,
            vec![("active", "status-active"), ("exited", "status-exited")]
        );
    }
}
