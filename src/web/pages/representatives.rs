//! A household's authorised representatives at the office desk: name one (their identity, how
//! long they may act, and their own PIN typed twice; then the card letter with the full number
//! shown once) and revoke one with a reason. The same `registry::representatives` service as
//! the API's; a refusal is shown beside its field, the PIN is never kept with a refused form.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Days, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        ids::{HouseholdId, RepresentativeId},
        member::{Relation, Sex},
        pin::Pin,
        role::Permission,
    },
    http::state::AppState,
    model::representatives::{NamingConflict, RepresentativeRecord},
    registry::representatives::{revocation_reason, Naming, RepresentativeError},
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

/// The naming form's fields as typed; the PINs are read but never sent back with a refusal.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NamingFields {
    #[serde(default)]
    pub nik: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sex: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub relation: String,
    #[serde(default)]
    pub valid_until: String,
    #[serde(default, skip_serializing)]
    pub pin: String,
    #[serde(default, skip_serializing)]
    pub pin_again: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RevokeFields {
    #[serde(default)]
    pub reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "representative_form.html", config = "src/web/askama.toml")]
pub struct RepresentativeForm {
    layout: Layout,
    household: HouseholdRecord,
    fields: NamingFields,
    errors: FieldErrors,
}

impl RepresentativeForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn relations(&self) -> &'static [(Relation, &'static str)] {
        crate::web::pages::members::relations()
    }

    fn pin_label(&self) -> String {
        let limits = [
            ("min", crate::domain::pin::MIN_DIGITS.to_string()),
            ("max", crate::domain::pin::MAX_DIGITS.to_string()),
        ];
        self.layout.tr.with_args("field-pin", &limits)
    }

    fn pin_max(&self) -> usize {
        crate::domain::pin::MAX_DIGITS
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "representative_revoke.html", config = "src/web/askama.toml")]
pub struct RevokeForm {
    layout: Layout,
    household: HouseholdRecord,
    representative: RepresentativeRecord,
    reason: String,
    errors: FieldErrors,
}

impl RevokeForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

fn new_path(household: HouseholdId) -> String {
    format!("/households/{}/representatives/new", household.0)
}

fn revoke_path(representative: RepresentativeId) -> String {
    format!("/representatives/{}/revoke", representative.0)
}

/// A refused naming or revocation beside its field; anything else is an error page.
fn refusal(tr: &Tr, error: RepresentativeError, errors: &mut FieldErrors) -> Result<(), WebError> {
    let conflict_key = |conflict: NamingConflict| match conflict {
        NamingConflict::HouseholdNotActive(_) => ("form", "representative-household-not-active"),
        NamingConflict::HouseholdFull => ("form", "representative-full"),
        NamingConflict::AlreadyRepresents => ("nik", "representative-already"),
        NamingConflict::RepresentsTwo => ("nik", "representative-represents-two"),
        NamingConflict::EwarungOwner => ("nik", "representative-ewarung-owner"),
        NamingConflict::Operator => ("nik", "representative-operator"),
    };
    match error {
        RepresentativeError::Refused(refusals) => errors.refusals(tr, &refusals, |field| field),
        RepresentativeError::Conflict(conflict) => {
            let (field, key) = conflict_key(conflict);
            errors.add(field, tr.t(key));
        }
        RepresentativeError::AlreadyEnded(status) => errors.add(
            "form",
            tr.t1(
                "representative-ended",
                "status",
                tr.t(crate::web::status::status_key(&status)),
            ),
        ),
        RepresentativeError::NotFound | RepresentativeError::HouseholdNotFound => {
            return Err(WebError::NotFound)
        }
        RepresentativeError::Card(card) => return Err(WebError::Internal(card.to_string())),
        RepresentativeError::Store(store) => return Err(store.into()),
    }
    Ok(())
}

pub async fn new_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<RepresentativeForm, WebError> {
    signed.require(Permission::ManageCards)?;
    let household = signed.reach_household(&state, id).await?;
    let today = crate::business_day::local_today(Utc::now());
    // A year is the usual term; the clerk may shorten it or extend it to two.
    let in_a_year = today.checked_add_days(Days::new(365)).unwrap_or(today);
    let fresh = NamingFields {
        valid_until: in_a_year.format("%Y-%m-%d").to_string(),
        ..NamingFields::default()
    };
    let (fields, errors) = match flash::take(&state, &signed, &new_path(household.id)).await? {
        Some(refused) => (refused.form, refused.errors),
        None => (fresh, FieldErrors::default()),
    };
    Ok(RepresentativeForm {
        layout: Layout::new(&signed, "/households"),
        household,
        fields,
        errors,
    })
}

pub async fn name(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<NamingFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageCards)?;
    let household = signed.reach_household(&state, id).await?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let naming = Naming::parse(
        &fields
            .nik
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
        &fields.name,
        Sex::parse(fields.sex.trim()),
        &fields.birth_date,
        Relation::parse(fields.relation.trim()),
        &fields.valid_until,
    )
    .map_err(|refusals| errors.refusals(&tr, &refusals, |field| field))
    .ok();
    let pin = match Pin::parse(&fields.pin) {
        Err(invalid) => {
            errors.invalid(&tr, "pin", &invalid);
            None
        }
        Ok(_) if fields.pin != fields.pin_again => {
            errors.add("pin_again", tr.t("invalid-pins-differ"));
            None
        }
        Ok(pin) => Some(pin),
    };
    if let (Some(naming), Some(pin), true) = (naming, pin, errors.is_empty()) {
        match state
            .representatives
            .name(household.id, naming, &pin, signed.user.id)
            .await
        {
            Ok(named) => {
                return crate::web::pages::cards::to_letter(&state, &signed, &named.issued).await
            }
            Err(error) => refusal(&tr, error, &mut errors)?,
        }
    }
    flash::refused(&state, &signed, &new_path(household.id), errors, fields).await
}

async fn representative(
    state: &AppState,
    signed: &SignedIn,
    id: uuid::Uuid,
) -> Result<(RepresentativeRecord, HouseholdRecord), WebError> {
    signed.require(Permission::ManageCards)?;
    let representative = state
        .representatives
        .get(RepresentativeId(id))
        .await
        .map_err(|error| match error {
            RepresentativeError::NotFound => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        })?;
    let household = signed
        .reach_household(state, representative.household_id.0)
        .await?;
    Ok((representative, household))
}

pub async fn revoke_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<RevokeForm, WebError> {
    let (representative, household) = representative(&state, &signed, id).await?;
    let (reason, errors) = match flash::take::<RevokeFields>(
        &state,
        &signed,
        &revoke_path(representative.id),
    )
    .await?
    {
        Some(refused) => (refused.form.reason, refused.errors),
        None => (String::new(), FieldErrors::default()),
    };
    Ok(RevokeForm {
        layout: Layout::new(&signed, "/households"),
        household,
        representative,
        reason,
        errors,
    })
}

pub async fn revoke(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<RevokeFields>,
) -> Result<Response, WebError> {
    let (representative, household) = representative(&state, &signed, id).await?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    match revocation_reason(&fields.reason) {
        Err(refusals) => errors.refusals(&tr, &refusals, |field| field),
        Ok(reason) => match state
            .representatives
            .revoke(representative.id, reason, signed.user.id)
            .await
        {
            Ok(_) => {
                let to = format!("/households/{}#representatives", household.id.0);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(error) => refusal(&tr, error, &mut errors)?,
        },
    }
    flash::refused(
        &state,
        &signed,
        &revoke_path(representative.id),
        errors,
        fields,
    )
    .await
}
