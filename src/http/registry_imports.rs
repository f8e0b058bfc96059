//! Registry imports over HTTP: an office user streams the CSV export (`text/csv`, one row per
//! member), reads the report and the refused lines, and a second office user approves it. The
//! rules are `registry::import`'.

use axum::{
    extract::{Request, State},
    http::StatusCode,
    Json,
};
use futures_util::TryStreamExt;
use serde::Deserialize;
use tokio_util::io::StreamReader;
use utoipa::IntoParams;

use crate::{
    domain::{ids::RegistryImportId, role::Permission},
    http::{auth::Caller, error::ApiError, state::AppState, Listing, PageQuery, Params, PathParam},
    model::registry_import::{ImportLineError, ImportRecord},
};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's name, for the report (default `registry.csv`).
    source_name: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ErrorsQuery {
    /// The last line number of the previous page (0 for the first).
    after_line: Option<i64>,
    /// Lines per page, 1 to 1000 (default 100).
    limit: Option<u32>,
}

#[utoipa::path(post, path = "/v1/registry-imports", tag = "registry-imports",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        description = "header kk_number,nik,name,relation,sex,birth_date,street,rt,rw,kelurahan,kecamatan; one row per member"),
    responses((status = 201, body = ImportRecord)), security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<ImportQuery>,
    request: Request,
) -> Result<(StatusCode, Json<ImportRecord>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let mime = crate::http::json::media_type(request.headers());
    if mime != "text/csv" {
        return Err(ApiError::UnsupportedMediaType {
            accepted: "text/csv",
        });
    }
    let name = crate::http::text(
        "source_name",
        query.source_name.as_deref().unwrap_or("registry.csv"),
        200,
    )?;
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let record = state
        .registry_imports
        .upload_csv(caller.user, name, StreamReader::new(body))
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/registry-imports", tag = "registry-imports", params(PageQuery),
    responses((status = 200, body = Listing<ImportRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<PageQuery>,
) -> Result<Json<Listing<ImportRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let page = query.page();
    let rows = state.registry_imports.list(page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

#[utoipa::path(get, path = "/v1/registry-imports/{id}", tag = "registry-imports",
    responses((status = 200, body = ImportRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<RegistryImportId>,
) -> Result<Json<ImportRecord>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    Ok(Json(state.registry_imports.get(id).await?))
}

#[utoipa::path(get, path = "/v1/registry-imports/{id}/errors", tag = "registry-imports",
    params(ErrorsQuery), responses((status = 200, body = Vec<ImportLineError>)),
    security(("bearer" = [])))]
pub async fn errors(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<RegistryImportId>,
    Params(query): Params<ErrorsQuery>,
) -> Result<Json<Vec<ImportLineError>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let after = query.after_line.unwrap_or(0);
    Ok(Json(state.registry_imports.errors(id, after, limit).await?))
}

#[utoipa::path(post, path = "/v1/registry-imports/{id}/approve", tag = "registry-imports",
    responses((status = 200, body = ImportRecord)), security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<RegistryImportId>,
) -> Result<Json<ImportRecord>, ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    Ok(Json(state.registry_imports.approve(id, caller.user).await?))
}
