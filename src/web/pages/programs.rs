//! Programs and their food catalogs: what a card's entitlement may buy, in which unit, and the
//! highest unit price a kiosk may charge for it. Offices and the admin register a program and
//! add items; auditors read. The same store calls and checks as `POST /v1/programs` and
//! `POST /v1/programs/{code}/items`.

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
    domain::{
        catalog::{carry_over_months, parse_code, CommodityGroup},
        locale::Locale,
        money::{Amount, MAX_PRICE_CAP_MINOR, MAX_QUOTA_LINE_MINOR},
        role::Permission,
        text::bounded,
        Invalid,
    },
    http::state::AppState,
    model::records::{CatalogItemRecord, NewCatalogItem, NewProgram, ProgramRecord},
    store::StoreError,
    web::{
        error::WebError,
        form::{rupiah_text, FieldErrors},
        format::Shows,
        layout::Layout,
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

/// A rupiah amount typed into a form, within `max_minor`.
fn rupiah(typed: &str, max_minor: i64, what: &str) -> Result<i64, Invalid> {
    let typed = bounded(typed, 30, what)?;
    let amount = Amount::parse(&rupiah_text(&typed)?)?;
    Ok(amount.at_most(max_minor, what)?.minor_units())
}

/// A code typed in any case: program codes and SKUs are kept upper-case.
fn code(typed: &str, invalid_code: &'static str, what: &str) -> Result<String, Invalid> {
    let typed = bounded(typed, 32, what)?;
    parse_code(&typed.to_uppercase(), invalid_code, what)
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
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let program_code = errors.check(
        &tr,
        "code",
        code(&fields.code, "invalid_program_code", "program code"),
    );
    let name = errors.check(
        &tr,
        "name",
        bounded(&fields.name, crate::domain::limits::NAME_CHARS, "name"),
    );
    let monthly = errors.check(
        &tr,
        "monthly",
        rupiah(&fields.monthly, MAX_QUOTA_LINE_MINOR, "the monthly amount"),
    );
    let carry_over = errors.check(
        &tr,
        "carry_over",
        fields
            .carry_over
            .trim()
            .parse::<u16>()
            .map_err(|_| Invalid::new("invalid_carry_over", "a whole number of months"))
            .and_then(carry_over_months),
    );
    if let (Some(code), Some(name), Some(monthly), Some(carry_over)) =
        (program_code, name, monthly, carry_over)
    {
        let program = NewProgram {
            code,
            name,
            default_monthly_amount_minor: monthly,
            carry_over_months: carry_over,
        };
        match state.store.create_program(program, signed.user.id).await {
            Ok(record) => {
                return Ok(Redirect::to(&format!("/programs/{}", record.code)).into_response())
            }
            Err(StoreError::Duplicate { .. }) => errors.add("code", tr.t("programs-code-taken")),
            Err(error) => return Err(error.into()),
        }
    }
    flash::refused(&state, &signed, "/programs", errors, fields).await
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
    let program = state
        .store
        .find_program_by_code(program_code)
        .await?
        .ok_or(WebError::NotFound)?;
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
    let program = state
        .store
        .find_program_by_code(&program_code)
        .await?
        .ok_or(WebError::NotFound)?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let sku = errors.check(&tr, "sku", code(&fields.sku, "invalid_sku", "SKU"));
    let name = errors.check(
        &tr,
        "name",
        bounded(&fields.name, crate::domain::limits::NAME_CHARS, "name"),
    );
    let unit = errors.check(
        &tr,
        "unit",
        bounded(&fields.unit, crate::domain::limits::UNIT_CHARS, "unit"),
    );
    let group = errors.check(&tr, "group", CommodityGroup::parse(fields.group.trim()));
    let price_cap = errors.check(
        &tr,
        "price_cap",
        rupiah(&fields.price_cap, MAX_PRICE_CAP_MINOR, "a price cap"),
    );
    if let (Some(sku), Some(name), Some(unit), Some(group), Some(price_cap)) =
        (sku, name, unit, group, price_cap)
    {
        let item = NewCatalogItem {
            program_id: program.id,
            sku,
            name,
            unit,
            commodity_group: group,
            max_unit_price_minor: price_cap,
        };
        match state.store.add_catalog_item(item, signed.user.id).await {
            Ok(_) => {
                let to = format!("/programs/{}#catalog", program.code);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(StoreError::Duplicate { .. }) => errors.add("sku", tr.t("programs-sku-taken")),
            Err(error) => return Err(error.into()),
        }
    }
    let path = format!("/programs/{}", program.code);
    flash::refused(&state, &signed, &path, errors, fields).await
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
    let program = state
        .store
        .find_program_by_code(program_code)
        .await?
        .ok_or(WebError::NotFound)?;
    let item = state
        .store
        .list_catalog_items(program.id)
        .await?
        .into_iter()
        .find(|item| item.sku == sku)
        .ok_or(WebError::NotFound)?;
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
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let cap = errors.check(
        &tr,
        "price_cap",
        rupiah(&fields.price_cap, MAX_PRICE_CAP_MINOR, "a price cap"),
    );
    let reason = errors.check(
        &tr,
        "reason",
        bounded(
            &fields.reason,
            crate::domain::limits::REASON_CHARS,
            "reason",
        ),
    );
    if let (Some(cap), Some(reason)) = (cap, reason) {
        state
            .store
            .set_price_cap(program.id, &item.sku, cap, reason, signed.user.id)
            .await?;
        let to = format!("/programs/{}#catalog", program.code);
        return Ok(Redirect::to(&to).into_response());
    }
    let path = format!("/programs/{}/items/{}", program.code, item.sku);
    flash::refused(&state, &signed, &path, errors, fields).await
}
