//! Registering a household and changing its data, with each refused value shown beside its
//! field. The same store calls as the API's (`Store::create_household`, `update_household`,
//! both audited with who and why).

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
        household::{neighbourhood_unit, Address},
        identity::{KkNumber, Nik},
        ids::HouseholdId,
        role::Permission,
        text::bounded,
    },
    http::state::AppState,
    store::{HouseholdChange, NewHousehold, StoreError},
    web::{error::WebError, flash, form::FieldErrors, layout::Layout, session::SignedIn},
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

/// The checked values, or every field's error.
fn check(
    signed: &SignedIn,
    fields: &HouseholdFields,
    editing: bool,
) -> Result<Checked, FieldErrors> {
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let mut text = |field: &'static str, value: &str, max: usize| {
        bounded(value, max, field)
            .map_err(|invalid| errors.invalid(&tr, field, &invalid))
            .ok()
    };
    let name = text("name", &fields.name, crate::domain::limits::NAME_CHARS);
    let street = text("street", &fields.street, crate::domain::limits::NAME_CHARS);
    let kelurahan = text(
        "kelurahan",
        &fields.kelurahan,
        crate::domain::limits::AREA_CHARS,
    );
    let kecamatan = text(
        "kecamatan",
        &fields.kecamatan,
        crate::domain::limits::AREA_CHARS,
    );
    let reason = if editing {
        text(
            "reason",
            &fields.reason,
            crate::domain::limits::REASON_CHARS,
        )
    } else {
        Some(String::new())
    };
    let mut unit = |field: &'static str, value: &str| {
        neighbourhood_unit(value, field)
            .map_err(|invalid| errors.invalid(&tr, field, &invalid))
            .ok()
    };
    let rt = unit("rt", &fields.rt);
    let rw = unit("rw", &fields.rw);
    let kk = if editing {
        None
    } else {
        KkNumber::parse_as_printed(&fields.kk)
            .map_err(|invalid| errors.invalid(&tr, "kk", &invalid))
            .ok()
    };
    let nik = Nik::parse_as_printed(&fields.nik)
        .map_err(|invalid| errors.invalid(&tr, "nik", &invalid))
        .ok();
    match (name, street, kelurahan, kecamatan, reason, rt, rw, nik) {
        (
            Some(name),
            Some(street),
            Some(kelurahan),
            Some(kecamatan),
            Some(reason),
            Some(rt),
            Some(rw),
            Some(nik),
        ) if errors.is_empty() => Ok(Checked {
            kk,
            nik,
            name,
            reason,
            address: Address {
                street,
                rt,
                rw,
                kelurahan,
                kecamatan,
            },
        }),
        _ => Err(errors),
    }
}

struct Checked {
    kk: Option<KkNumber>,
    nik: Nik,
    name: String,
    reason: String,
    address: Address,
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
    let checked = match check(&signed, &fields, false) {
        Ok(checked) => checked,
        Err(errors) => return flash::refused(&state, &signed, NEW_FORM, errors, fields).await,
    };
    let household = NewHousehold {
        kk_number: checked
            .kk
            .map(|kk| kk.as_str().to_string())
            .unwrap_or_default(),
        head_nik: checked.nik.as_str().to_string(),
        head_name: checked.name,
        address: checked.address,
    };
    match state
        .store
        .create_household(household, signed.user.id)
        .await
    {
        Ok(record) => Ok(Redirect::to(&format!("/households/{}", record.id.0)).into_response()),
        Err(StoreError::Duplicate { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("kk", signed.tr().t("invalid-duplicate-kk"));
            flash::refused(&state, &signed, NEW_FORM, errors, fields).await
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<HouseholdForm, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let household = state
        .store
        .get_household(HouseholdId(id))
        .await?
        .ok_or(WebError::NotFound)?;
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
    signed.require(Permission::ManageHouseholds)?;
    let id = HouseholdId(id);
    let household = state
        .store
        .get_household(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let path = format!("/households/{}/edit", household.id.0);
    let checked = match check(&signed, &fields, true) {
        Ok(checked) => checked,
        Err(errors) => return flash::refused(&state, &signed, &path, errors, fields).await,
    };
    let change = HouseholdChange {
        id,
        expected_revision: fields.revision,
        head_nik: Some(checked.nik.as_str().to_string()),
        head_name: Some(checked.name),
        address: Some(checked.address),
        status: None,
        reason: checked.reason,
        actor: signed.user.id,
    };
    match state.store.update_household(change).await {
        Ok(record) => Ok(Redirect::to(&format!("/households/{}", record.id.0)).into_response()),
        Err(StoreError::StaleRevision { .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("form", signed.tr().t("invalid-stale"));
            flash::refused(&state, &signed, &path, errors, fields).await
        }
        Err(error) => Err(error.into()),
    }
}
