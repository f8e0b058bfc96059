//! E-Warungs and their terminals. Operators see only their own E-Warung and its terminals.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{
        household::Address,
        ids::EwarungId,
        role::Permission,
        terminal::{EwarungStatus, TerminalId, TerminalStatus},
    },
    http::{
        auth::Caller, error::ApiError, json::Body, state::AppState, Listing, PageQuery, Params,
        PathParam,
    },
    registry::ewarungs::{self, EwarungRegistration, Keyed, TerminalRegistration},
    store::{BankAccount, EwarungRecord, Page, TerminalRecord},
};
use terminal_link::pin_block::TerminalKey;
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEwarung {
    name: String,
    owner_name: String,
    /// The owner's NIK (16 digits), optional; it keeps the owner from being named a household's
    /// representative.
    #[serde(default)]
    #[schema(example = "6472011505700003")]
    owner_nik: Option<String>,
    address: Address,
    bank_account: BankAccount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEwarungStatus {
    status: EwarungStatus,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTerminal {
    #[schema(value_type = String, example = "SMD00001")]
    terminal_id: TerminalId,
    serial_number: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeTerminalStatus {
    status: TerminalStatus,
    reason: String,
}

#[utoipa::path(post, path = "/v1/ewarungs", tag = "ewarungs", request_body = CreateEwarung,
    responses((status = 201, body = EwarungRecord)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<CreateEwarung>,
) -> Result<(StatusCode, Json<EwarungRecord>), ApiError> {
    caller.require(Permission::ManageEwarungs)?;
    let registration = EwarungRegistration::parse(
        &request.name,
        &request.owner_name,
        request.owner_nik.as_deref().unwrap_or(""),
        request.address,
        &request.bank_account,
    )?;
    let ewarung = state.ewarungs.register(registration, caller.user).await?;
    Ok((StatusCode::CREATED, Json(ewarung)))
}

#[utoipa::path(get, path = "/v1/ewarungs", tag = "ewarungs", params(PageQuery),
    responses((status = 200, body = Listing<EwarungRecord>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(page): Params<PageQuery>,
) -> Result<Json<Listing<EwarungRecord>>, ApiError> {
    caller.require(Permission::ReadEwarungs)?;
    if let Some(own) = caller.ewarung {
        // An operator's list is their own E-Warung.
        let rows: Vec<_> = state.store.get_ewarung(own).await?.into_iter().collect();
        return Ok(Json(Listing::new(
            rows,
            Page::first(Page::MAX_LIMIT),
            |row| row.id.0,
        )));
    }
    let page = page.page();
    let rows = state.store.list_ewarungs(page).await?;
    Ok(Json(Listing::new(rows, page, |row| row.id.0)))
}

async fn find(state: &AppState, caller: &Caller, id: EwarungId) -> Result<EwarungRecord, ApiError> {
    caller.require(Permission::ReadEwarungs)?;
    caller.require_ewarung(id)?;
    Ok(state.ewarungs.get(id).await?)
}

#[utoipa::path(get, path = "/v1/ewarungs/{id}", tag = "ewarungs",
    responses((status = 200, body = EwarungRecord)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<EwarungId>,
) -> Result<Json<EwarungRecord>, ApiError> {
    Ok(Json(find(&state, &caller, id).await?))
}

#[utoipa::path(post, path = "/v1/ewarungs/{id}/status", tag = "ewarungs", request_body = ChangeEwarungStatus,
    responses((status = 200, body = EwarungRecord)), security(("bearer" = [])))]
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<EwarungId>,
    Body(request): Body<ChangeEwarungStatus>,
) -> Result<Json<EwarungRecord>, ApiError> {
    caller.require(Permission::ManageEwarungs)?;
    let reason = ewarungs::reason(&request.reason)?;
    Ok(Json(
        state
            .ewarungs
            .change_status(id, request.status, reason, caller.user)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/ewarungs/{id}/terminals", tag = "ewarungs", request_body = CreateTerminal,
    responses((status = 201, body = TerminalWithKey, description = "the terminal and its PIN key, shown this once")),
    security(("bearer" = [])))]
pub async fn add_terminal(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<EwarungId>,
    Body(request): Body<CreateTerminal>,
) -> Result<(StatusCode, Json<TerminalWithKey>), ApiError> {
    caller.require(Permission::ManageEwarungs)?;
    let registration =
        TerminalRegistration::parse(request.terminal_id.as_str(), &request.serial_number)?;
    let keyed = state
        .ewarungs
        .add_terminal(id, registration, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(keyed.into())))
}

/// A terminal with its new PIN key, shown this once to be loaded into the terminal.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerminalWithKey {
    #[serde(flatten)]
    pub terminal: TerminalRecord,
    pub pin_key: ProvisionedKey,
}

/// A PIN key in clear, answered only when it is made: the host keeps it wrapped.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisionedKey {
    /// AES-128 key, 32 hex digits, to load into the terminal (ISO 9564 format 4 PIN blocks).
    #[schema(example = "00112233445566778899AABBCCDDEEFF")]
    pub key: String,
    /// First three bytes of the key enciphering a zero block: confirms the key without showing it.
    #[schema(example = "9A3B1C")]
    pub check_value: String,
}

impl ProvisionedKey {
    fn show_once(key: &TerminalKey) -> Self {
        Self {
            key: key.expose_hex().to_string(),
            check_value: key.check_value(),
        }
    }
}

impl From<Keyed> for TerminalWithKey {
    fn from(keyed: Keyed) -> Self {
        Self {
            pin_key: ProvisionedKey::show_once(&keyed.key),
            terminal: keyed.terminal,
        }
    }
}

#[utoipa::path(post, path = "/v1/terminals/{terminal_id}/pin-key", tag = "ewarungs",
    responses((status = 201, body = TerminalWithKey, description = "a new PIN key; the old one stops working")),
    security(("bearer" = [])))]
pub async fn rotate_pin_key(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(terminal_id): PathParam<String>,
) -> Result<(StatusCode, Json<TerminalWithKey>), ApiError> {
    caller.require(Permission::ManageEwarungs)?;
    let keyed = state
        .ewarungs
        .rotate_pin_key(&terminal_id, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(keyed.into())))
}

#[utoipa::path(get, path = "/v1/ewarungs/{id}/terminals", tag = "ewarungs",
    responses((status = 200, body = Vec<TerminalRecord>)), security(("bearer" = [])))]
pub async fn list_terminals(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<EwarungId>,
) -> Result<Json<Vec<TerminalRecord>>, ApiError> {
    find(&state, &caller, id).await?;
    Ok(Json(state.store.list_terminals(id).await?))
}

#[utoipa::path(get, path = "/v1/terminals/{terminal_id}", tag = "ewarungs",
    responses((status = 200, body = TerminalRecord)), security(("bearer" = [])))]
pub async fn get_terminal(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(terminal_id): PathParam<String>,
) -> Result<Json<TerminalRecord>, ApiError> {
    caller.require(Permission::ReadEwarungs)?;
    let terminal = state.ewarungs.terminal(&terminal_id).await?;
    caller.require_ewarung(terminal.ewarung_id)?;
    Ok(Json(terminal))
}

/// A terminal moves between active and suspended; retired is final (a retired terminal's id
/// and PIN key left service with its device).
#[utoipa::path(post, path = "/v1/terminals/{terminal_id}/status", tag = "ewarungs", request_body = ChangeTerminalStatus,
    responses((status = 200, body = TerminalRecord),
              (status = 409, body = crate::http::error::ErrorBody, description = "`invalid_state`: the terminal is retired")),
    security(("bearer" = [])))]
pub async fn change_terminal_status(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(terminal_id): PathParam<String>,
    Body(request): Body<ChangeTerminalStatus>,
) -> Result<Json<TerminalRecord>, ApiError> {
    caller.require(Permission::ManageEwarungs)?;
    let reason = ewarungs::reason(&request.reason)?;
    Ok(Json(
        state
            .ewarungs
            .change_terminal_status(&terminal_id, request.status, reason, caller.user)
            .await?,
    ))
}
