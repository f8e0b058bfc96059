//! The audit log: every registry change, who made it and why. Readable by auditors, office and
//! admin. And the tamper-evident trail over it and the ledger (`audit_trail`): the signed heads of
//! closed dates, the key they are signed with, and one entry's inclusion proof, for those who
//! read the ledger (bank, office, auditor).

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

#[utoipa::path(get, path = "/v1/audit/heads", tag = "audit",
    responses((status = 200, body = Vec<crate::model::audit_chain::AuditHead>,
        description = "every closed date's signed head, in chain order")),
    security(("bearer" = [])))]
pub async fn heads(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<crate::model::audit_chain::AuditHead>>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    Ok(Json(state.store.audit_chain().heads().await?))
}

/// The key heads are signed with.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// Ed25519 public key (hex).
    public_key: String,
}

#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit",
    responses((status = 200, body = PublicKey)), security(("bearer" = [])))]
pub async fn public_key(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PublicKey>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    Ok(Json(PublicKey {
        public_key: state.audit_signer.public_key_hex(),
    }))
}

#[utoipa::path(get, path = "/v1/audit/proofs/{source}/{id}", tag = "audit",
    params(("source" = String, Path, description = "`transfer` or `audit`"),
           ("id" = String, Path, format = Uuid, description = "the transfer's or audit entry's id")),
    responses((status = 200, body = crate::audit_trail::InclusionProof),
              (status = 404, body = crate::http::error::ErrorBody, description = "`entry_not_found`"),
              (status = 409, body = crate::http::error::ErrorBody,
               description = "`not_sealed` (seconds after it was written), `not_signed` (its date is not closed yet)")),
    security(("bearer" = [])))]
pub async fn proof(
    State(state): State<AppState>,
    caller: Caller,
    crate::http::PathParam((source, id)): crate::http::PathParam<(String, uuid::Uuid)>,
) -> Result<Json<crate::audit_trail::InclusionProof>, ApiError> {
    caller.require(Permission::ReadLedger)?;
    let source = crate::domain::chain::ChainSource::parse(&source)
        .ok_or(ApiError::NotFound { entity: "entry" })?;
    Ok(Json(
        crate::audit_trail::proof(&state.store, source, id).await?,
    ))
}
