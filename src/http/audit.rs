//! The audit log: every registry change, who made it and why. Readable by auditors, office and admin.

use axum::{extract::State, Json};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    domain::role::Permission,
    http::{auth::Caller, error::ApiError, state::AppState, Listing, PageQuery, Params},
    store::AuditRecord,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `user`, `program`, `catalog_item`, `card`, `ewarung` or `terminal`.
    subject_type: Option<String>,
    subject_id: Option<String>,
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Listing<AuditRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<AuditQuery>,
) -> Result<Json<Listing<AuditRecord>>, ApiError> {
    caller.require(Permission::ReadRegistry)?;
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    }
    .page();
    let rows = state
        .store
        .list_audit(query.subject_type, query.subject_id, page)
        .await?;
    Ok(Json(Listing::new(rows, page, |row| row.id)))
}
