//! Programs and their eligible food catalogs.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        catalog::{carry_over_months, parse_code, CommodityGroup, CURRENCY},
        money::{Amount, MAX_PRICE_CAP_MINOR, MAX_QUOTA_LINE_MINOR},
        role::Permission,
        Invalid,
    },
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, text, PathParam},
    store::{CatalogItemRecord, NewCatalogItem, NewProgram, ProgramRecord},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgram {
    /// Short code, e.g. `SSN-SEMBAKO`.
    code: String,
    name: String,
    /// Only `IDR`; may be left out.
    currency: Option<String>,
    default_monthly_amount: Amount,
    /// Months unused entitlement stays on a card before it returns to the program (0 to 24).
    carry_over_months: u16,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCatalogItem {
    sku: String,
    name: String,
    /// Selling unit, e.g. `kg`, `liter`, `butir`.
    unit: String,
    group: CommodityGroup,
    max_unit_price: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPriceCap {
    /// The new highest unit price; purchases from now on are held to it.
    max_unit_price: Amount,
    /// Why (e.g. "harga beras naik, SK Wali Kota 12/2026"); kept in the audit log.
    reason: String,
}

#[utoipa::path(post, path = "/v1/programs", tag = "programs", request_body = CreateProgram,
    responses((status = 201, body = ProgramRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<CreateProgram>,
) -> Result<(StatusCode, Json<ProgramRecord>), ApiError> {
    caller.require(Permission::ManagePrograms)?;
    let code = parse_code(&request.code, "invalid_program_code", "program code")
        .map_err(|e| ApiError::invalid("code", e))?;
    if request.currency.as_deref().is_some_and(|c| c != CURRENCY) {
        return Err(ApiError::invalid(
            "currency",
            Invalid::new("invalid_currency", "the program pays in IDR only"),
        ));
    }
    let carry_over_months = carry_over_months(request.carry_over_months)
        .map_err(|e| ApiError::invalid("carry_over_months", e))?;
    let program = state
        .store
        .create_program(
            NewProgram {
                code,
                name: text("name", &request.name, crate::domain::limits::NAME_CHARS)?,
                default_monthly_amount_minor: request
                    .default_monthly_amount
                    .at_most(MAX_QUOTA_LINE_MINOR, "the monthly amount")
                    .map_err(|e| ApiError::invalid("default_monthly_amount", e))?
                    .minor_units(),
                carry_over_months,
            },
            caller.user,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(program)))
}

#[utoipa::path(get, path = "/v1/programs", tag = "programs",
    responses((status = 200, body = Vec<ProgramRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ProgramRecord>>, ApiError> {
    caller.require(Permission::ReadPrograms)?;
    Ok(Json(state.store.list_programs().await?))
}

pub(crate) async fn find(state: &AppState, code: &str) -> Result<ProgramRecord, ApiError> {
    state
        .store
        .find_program_by_code(code)
        .await?
        .ok_or(ApiError::NotFound { entity: "program" })
}

#[utoipa::path(get, path = "/v1/programs/{code}", tag = "programs",
    responses((status = 200, body = ProgramRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(code): PathParam<String>,
) -> Result<Json<ProgramRecord>, ApiError> {
    caller.require(Permission::ReadPrograms)?;
    Ok(Json(find(&state, &code).await?))
}

#[utoipa::path(post, path = "/v1/programs/{code}/items", tag = "programs", request_body = CreateCatalogItem,
    responses((status = 201, body = CatalogItemRecord)), security(("bearer" = [])))]
pub async fn add_item(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(code): PathParam<String>,
    Body(request): Body<CreateCatalogItem>,
) -> Result<(StatusCode, Json<CatalogItemRecord>), ApiError> {
    caller.require(Permission::ManagePrograms)?;
    let program = find(&state, &code).await?;
    let item = NewCatalogItem {
        program_id: program.id,
        sku: parse_code(&request.sku, "invalid_sku", "SKU")
            .map_err(|e| ApiError::invalid("sku", e))?,
        name: text("name", &request.name, crate::domain::limits::NAME_CHARS)?,
        unit: text("unit", &request.unit, crate::domain::limits::UNIT_CHARS)?,
        commodity_group: request.group,
        max_unit_price_minor: request
            .max_unit_price
            .at_most(MAX_PRICE_CAP_MINOR, "a price cap")
            .map_err(|e| ApiError::invalid("max_unit_price", e))?
            .minor_units(),
    };
    let record = state.store.add_catalog_item(item, caller.user).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/programs/{code}/items", tag = "programs",
    responses((status = 200, body = Vec<CatalogItemRecord>)), security(("bearer" = [])))]
pub async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(code): PathParam<String>,
) -> Result<Json<Vec<CatalogItemRecord>>, ApiError> {
    caller.require(Permission::ReadPrograms)?;
    let program = find(&state, &code).await?;
    Ok(Json(state.store.list_catalog_items(program.id).await?))
}

#[utoipa::path(patch, path = "/v1/programs/{code}/items/{sku}", tag = "programs",
    request_body = SetPriceCap,
    responses((status = 200, body = CatalogItemRecord, description = "the item with its new price cap")),
    security(("bearer" = [])))]
pub async fn set_price_cap(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((code, sku)): PathParam<(String, String)>,
    Body(request): Body<SetPriceCap>,
) -> Result<Json<CatalogItemRecord>, ApiError> {
    caller.require(Permission::ManagePrograms)?;
    let program = find(&state, &code).await?;
    let cap = request
        .max_unit_price
        .at_most(MAX_PRICE_CAP_MINOR, "a price cap")
        .map_err(|e| ApiError::invalid("max_unit_price", e))?;
    let reason = text(
        "reason",
        &request.reason,
        crate::domain::limits::REASON_CHARS,
    )?;
    let record = state
        .store
        .set_price_cap(program.id, &sku, cap.minor_units(), reason, caller.user)
        .await?;
    Ok(Json(record))
}
