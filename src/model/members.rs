//! Household members as stored and read back, and the changes the store applies to them (each
//! against the household's revision the clerk saw, each a new revision of the household).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    ids::{HouseholdId, MemberId, UserId},
    member::{Relation, Sex},
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct MemberRecord {
    pub id: MemberId,
    pub household_id: HouseholdId,
    pub nik: String,
    pub name: String,
    pub relation: Relation,
    /// Unknown (null) only for a head registered before members existed, or with a NIK that
    /// encodes no birth date.
    pub sex: Option<Sex>,
    /// `YYYY-MM-DD`; null as `sex`.
    pub birth_date: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A person's data as a change gives it.
#[derive(Debug, Clone)]
pub struct MemberData {
    pub nik: String,
    pub name: String,
    pub relation: Relation,
    pub sex: Sex,
    pub birth_date: String,
}

/// What happens to a household's members, at `expected_revision`, by `actor`, with why.
#[derive(Debug, Clone)]
pub enum MemberEdit {
    /// A new member (never a second head: see `MakeHead`).
    Add(MemberData),
    /// A member's data corrected; a head stays head (its NIK and name are the household's).
    Correct { member: MemberId, data: MemberData },
    /// A member leaves the household (never the head: name another head first).
    Remove { member: MemberId },
    /// Another member becomes the head; the former head stays as `former_head_relation`, or
    /// leaves the household when that is `None` (deceased, moved away).
    MakeHead {
        member: MemberId,
        former_head_relation: Option<Relation>,
    },
}

#[derive(Debug, Clone)]
pub struct MemberChange {
    pub household: HouseholdId,
    pub expected_revision: i32,
    pub edit: MemberEdit,
    pub reason: String,
    pub actor: UserId,
    /// The approved change request it applies, marked applied in the same transaction.
    pub request: Option<crate::model::change_requests::RequestApproval>,
}

/// The household that holds a NIK, for naming a conflict.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NikHolder {
    pub household_id: HouseholdId,
    pub kk_number: String,
}
