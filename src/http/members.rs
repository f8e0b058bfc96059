//! Household members: listed, added, corrected, removed, and the head changed, each a revision of
//! the household made against the revision the clerk saw, with why. The rules are
//! `registry::members`'; these handlers read, call and answer.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        ids::{HouseholdId, MemberId},
        member::Relation,
        role::Permission,
    },
    http::{auth::Caller, error::ApiError, json::Body, state::AppState, PathParam},
    model::members::MemberRecord,
    registry::members::{parse_reason, Person},
    store::HouseholdRecord,
};

/// A person as the family card lists them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// The revision this change was made against; a newer one answers 409 `stale_revision`.
    expected_revision: i32,
    /// 16 digits; digits 7–12 are the birth date as DDMMYY, 40 added to the day for women, and
    /// must agree with `sex` and `birth_date` (422 `nik_mismatch`).
    #[schema(example = "6472014107850031")]
    nik: String,
    name: String,
    /// `spouse`, `child`, `child_in_law`, `grandchild`, `parent`, `parent_in_law`,
    /// `other_relative`, `other` (`head` only when correcting the head).
    #[schema(example = "child")]
    relation: String,
    /// `male` or `female`.
    #[schema(example = "female")]
    sex: String,
    /// `YYYY-MM-DD`, not after today.
    #[schema(example = "1985-07-01")]
    birth_date: String,
    /// Why (e.g. "born 2026-11-02, birth certificate seen").
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveMember {
    expected_revision: i32,
    /// Why (e.g. "moved to Balikpapan", "deceased 2026-10-30").
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeHead {
    expected_revision: i32,
    /// The member who becomes head.
    #[schema(value_type = String, format = Uuid)]
    member_id: MemberId,
    /// What the former head becomes (e.g. `spouse`), or null when they leave the household
    /// (deceased, moved away).
    #[schema(value_type = Option<String>, example = "spouse")]
    former_head_relation: Option<Relation>,
    reason: String,
}

fn person(input: &MemberInput) -> Result<Person, ApiError> {
    let today = crate::business_day::local_today(chrono::Utc::now());
    Ok(Person::parse(
        &input.nik,
        &input.name,
        &input.relation,
        &input.sex,
        &input.birth_date,
        today,
    )?)
}

#[utoipa::path(get, path = "/v1/households/{id}/members", tag = "households",
    responses((status = 200, body = Vec<MemberRecord>)), security(("bearer" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
) -> Result<Json<Vec<MemberRecord>>, ApiError> {
    caller.reach_household(&state, id).await?;
    Ok(Json(state.members.list(id).await?))
}

#[utoipa::path(post, path = "/v1/households/{id}/members", tag = "households", request_body = MemberInput,
    responses((status = 201, body = HouseholdRecord)), security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<MemberInput>,
) -> Result<(StatusCode, Json<HouseholdRecord>), ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let person = person(&request)?;
    let reason = parse_reason(&request.reason)?;
    let record = state
        .members
        .add(id, request.expected_revision, person, reason, caller.user)
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(put, path = "/v1/households/{id}/members/{member_id}", tag = "households",
    request_body = MemberInput, responses((status = 200, body = HouseholdRecord)),
    security(("bearer" = [])))]
pub async fn correct_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((id, member)): PathParam<(HouseholdId, MemberId)>,
    Body(request): Body<MemberInput>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let person = person(&request)?;
    let reason = parse_reason(&request.reason)?;
    Ok(Json(
        state
            .members
            .correct(
                id,
                member,
                request.expected_revision,
                person,
                reason,
                caller.user,
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/households/{id}/members/{member_id}/remove", tag = "households",
    request_body = RemoveMember, responses((status = 200, body = HouseholdRecord)),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((id, member)): PathParam<(HouseholdId, MemberId)>,
    Body(request): Body<RemoveMember>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let reason = parse_reason(&request.reason)?;
    Ok(Json(
        state
            .members
            .remove(id, member, request.expected_revision, reason, caller.user)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/households/{id}/head", tag = "households",
    request_body = ChangeHead, responses((status = 200, body = HouseholdRecord)),
    security(("bearer" = [])))]
pub async fn change_head(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<ChangeHead>,
) -> Result<Json<HouseholdRecord>, ApiError> {
    caller.require(Permission::ManageHouseholds)?;
    let reason = parse_reason(&request.reason)?;
    Ok(Json(
        state
            .members
            .make_head(
                id,
                request.member_id,
                request.expected_revision,
                request.former_head_relation,
                reason,
                caller.user,
            )
            .await?,
    ))
}
