//! Registering a household (the same service as the API's, `registry::households`) and
//! proposing a change of its data (a change request another office user approves,
//! `registry::change_requests`), with each refused value shown beside its field.

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
    domain::{household::Address, ids::HouseholdId, role::Permission},
    http::state::AppState,
    model::change_requests::Proposal,
    registry::{
        change_requests::Draft,
        households::{HouseholdError, Registration},
    },
    web::{
        error::WebError,
        flash,
        form::{address_field, FieldErrors},
        layout::Layout,
        refusals,
        session::SignedIn,
    },
};

/// The form's fields as typed (re-shown as typed when refused).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HouseholdFields {
    #[serde(default)]
    pub kk: String,
    #[serde(default)]
    pub nik: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub rt: String,
    #[serde(default)]
    pub rw: String,
    #[serde(default)]
    pub kelurahan: String,
    #[serde(default)]
    pub kecamatan: String,
    /// Edits only: the revision the form was filled against, and why.
    #[serde(default)]
    pub revision: i32,
    #[serde(default)]
    pub reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "household_form.html", config = "src/web/askama.toml")]
pub struct HouseholdForm {
    layout: Layout,
    /// `None`: a new household; `Some`: the one being changed, and its KK number.
    editing: Option<(HouseholdId, String)>,
    fields: HouseholdFields,
    errors: FieldErrors,
}

impl HouseholdForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn action(&self) -> String {
        match &self.editing {
            Some((id, _)) => format!("/households/{}/edit", id.0),
            None => "/households/new".to_string(),
        }
    }
}

/// The form's name of a field the household rules name as the API does.
fn form_field(field: &'static str) -> &'static str {
    match field {
        "kk_number" => "kk",
        "head_nik" => "nik",
        "head_name" => "name",
        "proposal" => "form",
        other => address_field(other),
    }
}

/// A KK or NIK number as printed on the card, in groups ("6472 0109 …"): the digits alone.
fn as_printed(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace()).collect()
}

impl HouseholdFields {
    fn address(&self) -> Address {
        Address {
            street: self.street.clone(),
            rt: self.rt.clone(),
            rw: self.rw.clone(),
            kelurahan: self.kelurahan.clone(),
            kecamatan: self.kecamatan.clone(),
        }
    }
}

/// Back to the form at `path` with the refusal beside its field; an error page for anything
/// that is not the form's.
async fn refused(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
    error: HouseholdError,
    fields: HouseholdFields,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    refusals::household(&signed.tr(), error, &mut errors, form_field)?;
    flash::refused(state, signed, path, errors, fields).await
}

const NEW_FORM: &str = "/households/new";

pub async fn new_form(
    State(state): State<AppState>,
    signed: SignedIn,
) -> Result<HouseholdForm, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let (fields, errors) = flash::take(&state, &signed, NEW_FORM)
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    Ok(HouseholdForm {
        layout: Layout::new(&signed, "/households"),
        editing: None,
        fields,
        errors,
    })
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<HouseholdFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let registered = match Registration::parse(
        &as_printed(&fields.kk),
        &as_printed(&fields.nik),
        &fields.name,
        fields.address(),
    ) {
        Ok(registration) => {
            state
                .households
                .register(registration, signed.user.id)
                .await
        }
        Err(refusals) => Err(refusals.into()),
    };
    match registered {
        Ok(record) => Ok(Redirect::to(&format!("/households/{}", record.id.0)).into_response()),
        Err(error) => refused(&state, &signed, NEW_FORM, error, fields).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<HouseholdForm, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = signed.reach_household(&state, id).await?;
    let path = format!("/households/{}/edit", household.id.0);
    if let Some(refused) = flash::take(&state, &signed, &path).await? {
        return Ok(HouseholdForm {
            layout: Layout::new(&signed, "/households"),
            editing: Some((household.id, household.kk_number)),
            fields: refused.form,
            errors: refused.errors,
        });
    }
    let fields = HouseholdFields {
        kk: household.kk_number.clone(),
        nik: household.head_nik,
        name: household.head_name,
        street: household.address.street,
        rt: household.address.rt,
        rw: household.address.rw,
        kelurahan: household.address.kelurahan,
        kecamatan: household.address.kecamatan,
        revision: household.revision,
        ..HouseholdFields::default()
    };
    Ok(HouseholdForm {
        layout: Layout::new(&signed, "/households"),
        editing: Some((household.id, household.kk_number)),
        fields,
        errors: FieldErrors::default(),
    })
}

pub async fn update(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<HouseholdFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ProposeChanges)?;
    let household = signed.reach_household(&state, id).await?;
    let id = household.id;
    let path = format!("/households/{}/edit", household.id.0);
    // Only what differs from the household is proposed; the rest stays as it is.
    let nik = as_printed(&fields.nik);
    let address = fields.address();
    let same_address = address
        .clone()
        .normalised()
        .is_ok_and(|typed| typed == household.address);
    let draft = Draft {
        household_id: Some(id),
        proposal: Proposal::Data {
            head_nik: (nik != household.head_nik).then_some(nik),
            head_name: (fields.name.trim() != household.head_name).then(|| fields.name.clone()),
            address: (!same_address).then_some(address),
        },
        reason: fields.reason.clone(),
        seen_revision: Some(fields.revision),
    };
    match state
        .change_requests
        .propose(draft, true, signed.user.id)
        .await
    {
        Ok(request) => crate::web::pages::change_requests::written(&state, &signed, &request).await,
        Err(error) => {
            let mut errors = FieldErrors::default();
            crate::web::pages::change_requests::refusal(
                &signed.tr(),
                error,
                &mut errors,
                form_field,
            )?;
            flash::refused(&state, &signed, &path, errors, fields).await
        }
    }
}
