//! Household members: listed; added, corrected, removed and the head changed through change
//! requests against the revision the clerk saw, with why, applied (as a revision of the household)
//! when another office user approves them. The rules are `registry::members`' and
//! `registry::change_requests`'; these handlers read, call and answer.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        ids::{HouseholdId, MemberId},
        member::Relation,
    },
    http::{
        auth::Caller, change_requests::propose_for_household, error::ApiError, json::Body,
        state::AppState, PathParam,
    },
    model::{
        change_requests::{ChangeRequestRecord, Proposal, ProposedPerson},
        members::MemberRecord,
    },
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

impl MemberInput {
    fn proposed(self) -> (i32, ProposedPerson, String) {
        let person = ProposedPerson {
            nik: self.nik,
            name: self.name,
            relation: self.relation,
            sex: self.sex,
            birth_date: self.birth_date,
        };
        (self.expected_revision, person, self.reason)
    }
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
    responses((status = 202, body = ChangeRequestRecord,
        description = "Proposed: a submitted change request (kind `member_add`), applied when another office user approves it")),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<MemberInput>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let (revision, member, reason) = request.proposed();
    let proposal = Proposal::MemberAdd { member };
    propose_for_household(&state, &caller, id, revision, proposal, reason).await
}

#[utoipa::path(put, path = "/v1/households/{id}/members/{member_id}", tag = "households",
    request_body = MemberInput, responses((status = 202, body = ChangeRequestRecord,
        description = "Proposed: a submitted change request (kind `member_correct`), applied when another office user approves it")),
    security(("bearer" = [])))]
pub async fn correct_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((id, member_id)): PathParam<(HouseholdId, MemberId)>,
    Body(request): Body<MemberInput>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let (revision, member, reason) = request.proposed();
    let proposal = Proposal::MemberCorrect { member_id, member };
    propose_for_household(&state, &caller, id, revision, proposal, reason).await
}

#[utoipa::path(post, path = "/v1/households/{id}/members/{member_id}/remove", tag = "households",
    request_body = RemoveMember, responses((status = 202, body = ChangeRequestRecord,
        description = "Proposed: a submitted change request (kind `member_remove`), applied when another office user approves it")),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((id, member_id)): PathParam<(HouseholdId, MemberId)>,
    Body(request): Body<RemoveMember>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let proposal = Proposal::MemberRemove { member_id };
    propose_for_household(
        &state,
        &caller,
        id,
        request.expected_revision,
        proposal,
        request.reason,
    )
    .await
}

#[utoipa::path(post, path = "/v1/households/{id}/head", tag = "households",
    request_body = ChangeHead, responses((status = 202, body = ChangeRequestRecord,
        description = "Proposed: a submitted change request (kind `head`), applied when another office user approves it")),
    security(("bearer" = [])))]
pub async fn change_head(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<HouseholdId>,
    Body(request): Body<ChangeHead>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let proposal = Proposal::Head {
        member_id: request.member_id,
        former_head_relation: request.former_head_relation,
    };
    propose_for_household(
        &state,
        &caller,
        id,
        request.expected_revision,
        proposal,
        request.reason,
    )
    .await
}
