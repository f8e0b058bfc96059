//! Programs and their eligible food catalogs.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{catalog::CommodityGroup, money::Amount, role::Permission},
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, PathParam},
    registry::programs::{ItemDefinition, PriceCapChange, ProgramDefinition},
    store::{CatalogItemRecord, ProgramRecord},
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
    let definition = ProgramDefinition::parse(
        &request.code,
        &request.name,
        request.currency.as_deref(),
        Ok(request.default_monthly_amount),
        Ok(request.carry_over_months),
    )?;
    let program = state.programs.define(definition, caller.user).await?;
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

#[utoipa::path(get, path = "/v1/programs/{code}", tag = "programs",
    responses((status = 200, body = ProgramRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(code): PathParam<String>,
) -> Result<Json<ProgramRecord>, ApiError> {
    caller.require(Permission::ReadPrograms)?;
    Ok(Json(state.programs.get(&code).await?))
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
    let item = ItemDefinition::parse(
        &request.sku,
        &request.name,
        &request.unit,
        Ok(request.group),
        Ok(request.max_unit_price),
    )?;
    let record = state.programs.add_item(&code, item, caller.user).await?;
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
    let program = state.programs.get(&code).await?;
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
    let change = PriceCapChange::parse(Ok(request.max_unit_price), &request.reason)?;
    let record = state
        .programs
        .set_price_cap(&code, &sku, change, caller.user)
        .await?;
    Ok(Json(record))
}
