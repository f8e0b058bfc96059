//! Programs and their food catalogs: what a card's entitlement may buy, in which unit, and the
//! highest unit price a kiosk may charge for it. Offices and the admin register a program and
//! add items; auditors read. The same service as `POST /v1/programs` and
//! `POST /v1/programs/{code}/items` (`registry::programs`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::web::flash;
use crate::web::form::PagePath;
use crate::web::signed_form::SignedForm;
use crate::{
    domain::{catalog::CommodityGroup, locale::Locale, money::Amount, role::Permission, Invalid},
    http::state::AppState,
    model::records::{CatalogItemRecord, ProgramRecord},
    registry::{
        programs::{ItemDefinition, PriceCapChange, ProgramDefinition, ProgramError},
        Read,
    },
    web::{
        error::WebError,
        form::{rupiah_text, FieldErrors},
        format::Shows,
        layout::Layout,
        refusals,
        session::SignedIn,
    },
};

/// The text key of a commodity group.
pub fn group_key(group: CommodityGroup) -> &'static str {
    match group {
        CommodityGroup::Carbohydrate => "group-carbohydrate",
        CommodityGroup::AnimalProtein => "group-animal-protein",
        CommodityGroup::PlantProtein => "group-plant-protein",
        CommodityGroup::VegetablesAndFruit => "group-vegetables-and-fruit",
    }
}

/// A rupiah amount as typed into a form (`13.500`); its limits are the rules'.
fn rupiah(typed: &str) -> Read<Amount> {
    Amount::parse(&rupiah_text(typed)?)
}

/// A code typed in any case: program codes and SKUs are kept upper-case.
fn code(typed: &str) -> String {
    typed.trim().to_uppercase()
}

/// The form's name of a field the program rules name as the API does.
fn form_field(field: &'static str) -> &'static str {
    match field {
        "default_monthly_amount" => "monthly",
        "carry_over_months" => "carry_over",
        "max_unit_price" => "price_cap",
        other => other,
    }
}

/// Back to the form at `path` with the refusal beside its field; an error page for anything
/// that is not the form's.
async fn refused<T: Serialize>(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
    error: ProgramError,
    fields: T,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    refusals::program(&signed.tr(), error, &mut errors, form_field)?;
    flash::refused(state, signed, path, errors, fields).await
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProgramFields {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    monthly: String,
    #[serde(default)]
    carry_over: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "programs.html", config = "src/web/askama.toml")]
pub struct ProgramsPage {
    layout: Layout,
    can_manage: bool,
    programs: Vec<ProgramRecord>,
    fields: ProgramFields,
    errors: FieldErrors,
}

impl ProgramsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

impl Shows for ProgramsPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

async fn programs_page(
    state: &AppState,
    signed: &SignedIn,
    fields: ProgramFields,
    errors: FieldErrors,
) -> Result<ProgramsPage, WebError> {
    Ok(ProgramsPage {
        layout: Layout::new(signed, "/programs"),
        can_manage: signed.role().may(Permission::ManagePrograms),
        programs: state.store.list_programs().await?,
        fields,
        errors,
    })
}

fn require_reader(signed: &SignedIn) -> Result<(), WebError> {
    // The catalog an operator needs is on their kiosk page; this one is the offices'.
    signed.require(Permission::ReadPrograms)?;
    signed.require(Permission::ReadRegistry)
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
) -> Result<ProgramsPage, WebError> {
    require_reader(&signed)?;
    let (fields, errors) = flash::take(&state, &signed, "/programs")
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    programs_page(&state, &signed, fields, errors).await
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<ProgramFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManagePrograms)?;
    let carry_over = fields
        .carry_over
        .trim()
        .parse::<u16>()
        .map_err(|_| Invalid::new("invalid_carry_over", "a whole number of months"));
    let defined = match ProgramDefinition::parse(
        &code(&fields.code),
        &fields.name,
        None,
        rupiah(&fields.monthly),
        carry_over,
    ) {
        Ok(definition) => state.programs.define(definition, signed.user.id).await,
        Err(refusals) => Err(refusals.into()),
    };
    match defined {
        Ok(record) => Ok(Redirect::to(&format!("/programs/{}", record.code)).into_response()),
        Err(error) => refused(&state, &signed, "/programs", error, fields).await,
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ItemFields {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    price_cap: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "program.html", config = "src/web/askama.toml")]
pub struct ProgramPage {
    layout: Layout,
    can_manage: bool,
    program: ProgramRecord,
    items: Vec<CatalogItemRecord>,
    /// The groups an item may be in: value and text key.
    groups: Vec<(&'static str, &'static str)>,
    fields: ItemFields,
    errors: FieldErrors,
}

impl ProgramPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn group_key(&self, group: &CommodityGroup) -> &'static str {
        group_key(*group)
    }
}

impl Shows for ProgramPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

async fn program_page(
    state: &AppState,
    signed: &SignedIn,
    program_code: &str,
    fields: ItemFields,
    errors: FieldErrors,
) -> Result<ProgramPage, WebError> {
    let program = state.programs.get(program_code).await?;
    Ok(ProgramPage {
        layout: Layout::new(signed, "/programs"),
        can_manage: signed.role().may(Permission::ManagePrograms),
        items: state.store.list_catalog_items(program.id).await?,
        program,
        groups: CommodityGroup::ALL
            .iter()
            .map(|group| (group.as_str(), group_key(*group)))
            .collect(),
        fields,
        errors,
    })
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(program_code): PagePath<String>,
) -> Result<ProgramPage, WebError> {
    require_reader(&signed)?;
    let path = format!("/programs/{program_code}");
    let (fields, errors) = flash::take(&state, &signed, &path)
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    program_page(&state, &signed, &program_code, fields, errors).await
}

pub async fn add_item(
    State(state): State<AppState>,
    PagePath(program_code): PagePath<String>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<ItemFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManagePrograms)?;
    let program = state.programs.get(&program_code).await?;
    let added = match ItemDefinition::parse(
        &code(&fields.sku),
        &fields.name,
        &fields.unit,
        CommodityGroup::parse(fields.group.trim()),
        rupiah(&fields.price_cap),
    ) {
        Ok(item) => {
            state
                .programs
                .add_item(&program.code, item, signed.user.id)
                .await
        }
        Err(refusals) => Err(refusals.into()),
    };
    let path = format!("/programs/{}", program.code);
    match added {
        Ok(_) => Ok(Redirect::to(&format!("{path}#catalog")).into_response()),
        Err(error) => refused(&state, &signed, &path, error, fields).await,
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PriceCapFields {
    #[serde(default)]
    price_cap: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "price_cap_form.html", config = "src/web/askama.toml")]
pub struct PriceCapForm {
    layout: Layout,
    program: ProgramRecord,
    item: CatalogItemRecord,
    fields: PriceCapFields,
    errors: FieldErrors,
}

impl PriceCapForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

impl Shows for PriceCapForm {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

async fn program_item(
    state: &AppState,
    program_code: &str,
    sku: &str,
) -> Result<(ProgramRecord, CatalogItemRecord), WebError> {
    let program = state.programs.get(program_code).await?;
    let item = state.programs.item(&program, sku).await?;
    Ok((program, item))
}

pub async fn price_cap_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath((program_code, sku)): PagePath<(String, String)>,
) -> Result<PriceCapForm, WebError> {
    signed.require(Permission::ManagePrograms)?;
    let (program, item) = program_item(&state, &program_code, &sku).await?;
    let path = format!("/programs/{}/items/{}", program.code, item.sku);
    let (fields, errors) = flash::take(&state, &signed, &path)
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    Ok(PriceCapForm {
        layout: Layout::new(&signed, "/programs"),
        program,
        item,
        fields,
        errors,
    })
}

pub async fn set_price_cap(
    State(state): State<AppState>,
    PagePath((program_code, sku)): PagePath<(String, String)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<PriceCapFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManagePrograms)?;
    let (program, item) = program_item(&state, &program_code, &sku).await?;
    let changed = match PriceCapChange::parse(rupiah(&fields.price_cap), &fields.reason) {
        Ok(change) => {
            state
                .programs
                .set_price_cap(&program.code, &item.sku, change, signed.user.id)
                .await
        }
        Err(refusals) => Err(refusals.into()),
    };
    match changed {
        Ok(_) => Ok(Redirect::to(&format!("/programs/{}#catalog", program.code)).into_response()),
        Err(error) => {
            let path = format!("/programs/{}/items/{}", program.code, item.sku);
            refused(&state, &signed, &path, error, fields).await
        }
    }
}
