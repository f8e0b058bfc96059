//! Authorised representatives as stored and read back, and what naming one may run into.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    household::HouseholdStatus,
    identity::Nik,
    ids::{HouseholdId, RepresentativeId, UserId},
    member::{Relation, Sex},
    representative::{status_on, EndKind, RepresentativeStatus},
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct RepresentativeRecord {
    pub id: RepresentativeId,
    pub household_id: HouseholdId,
    #[schema(example = "6472014107850099")]
    pub nik: String,
    pub name: String,
    #[schema(value_type = String, example = "female")]
    pub sex: Sex,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// To the household's head, as the KK would list it (`other` for a neighbour).
    #[schema(value_type = String, example = "child")]
    pub relation: Relation,
    /// The last day the representative's card works (`YYYY-MM-DD`, inclusive).
    pub valid_until: String,
    pub named_by: UserId,
    pub named_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<UserId>,
    #[schema(value_type = Option<String>, example = "revoked")]
    pub end_kind: Option<EndKind>,
    pub end_reason: Option<String>,
}

impl RepresentativeRecord {
    pub fn status_on(&self, today: NaiveDate) -> RepresentativeStatus {
        status_on(&self.valid_until, self.end_kind, today)
    }
}

/// A representative to name, checked, with the card made for them.
#[derive(Debug, Clone)]
pub struct NewRepresentative {
    pub id: RepresentativeId,
    pub household: HouseholdId,
    pub nik: Nik,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub relation: Relation,
    pub valid_until: NaiveDate,
    pub actor: UserId,
    /// The business day it is named on: representatives past their date before it are ended
    /// first, so that they hold no slot.
    pub today: NaiveDate,
}

/// Why a representative could not be named (the store checks these in the naming transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamingConflict {
    HouseholdNotActive(HouseholdStatus),
    /// The household already has [`PER_HOUSEHOLD`](crate::domain::representative::PER_HOUSEHOLD).
    HouseholdFull,
    /// The person already represents this household.
    AlreadyRepresents,
    /// The person already represents two households.
    RepresentsTwo,
    /// The person owns an E-Warung (by its owner's NIK).
    EwarungOwner,
    /// The person is an E-Warung's operator (by the user's NIK).
    Operator,
}

/// How a representative's authority is ended.
#[derive(Debug, Clone)]
pub struct RepresentativeEnd {
    pub id: RepresentativeId,
    pub reason: String,
    pub actor: UserId,
}
