//! Change requests as stored and read back: the proposed change (kept as JSON and read again by
//! the registry's checks when it is applied), who wrote and who decided it, and the approval a
//! household change carries so the store marks the request applied in the same transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    change_request::{ChangeKind, RequestState, StatusGround},
    household::{Address, HouseholdStatus},
    ids::{ChangeRequestId, HouseholdId, MemberId, UserId},
    member::Relation,
};

/// A person as a request proposes them, as typed (checked by `registry::members::Person`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposedPerson {
    #[schema(example = "6472016502120004")]
    pub nik: String,
    pub name: String,
    /// `spouse`, `child`, `child_in_law`, `grandchild`, `parent`, `parent_in_law`,
    /// `other_relative`, `other` (`head` only when correcting the head).
    #[schema(example = "child")]
    pub relation: String,
    /// `male` or `female`.
    #[schema(example = "female")]
    pub sex: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "2012-02-25")]
    pub birth_date: String,
}

/// The change a request proposes, by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Proposal {
    /// The head's NIK or name, or the address (the parts given).
    Data {
        #[serde(default)]
        head_nik: Option<String>,
        #[serde(default)]
        head_name: Option<String>,
        #[serde(default)]
        address: Option<Address>,
    },
    /// A new status on a ground: `moved_away` and `no_longer_eligible` ask for `exited`,
    /// `deceased_head` for `suspended` or `exited`, `other` for any. While a `moved_away` or
    /// `deceased_head` request is open the household's cards are refused (response code 78).
    Status {
        #[schema(value_type = String, example = "exited")]
        status: HouseholdStatus,
        #[schema(value_type = String, example = "moved_away")]
        ground: StatusGround,
    },
    MemberAdd {
        member: ProposedPerson,
    },
    MemberCorrect {
        #[schema(value_type = String, format = Uuid)]
        member_id: MemberId,
        member: ProposedPerson,
    },
    MemberRemove {
        #[schema(value_type = String, format = Uuid)]
        member_id: MemberId,
    },
    /// Another member becomes the head; the former head stays as `former_head_relation`, or
    /// leaves the household when it is null.
    Head {
        #[schema(value_type = String, format = Uuid)]
        member_id: MemberId,
        #[serde(default)]
        #[schema(value_type = Option<String>, example = "spouse")]
        former_head_relation: Option<Relation>,
    },
    /// A household not yet registered (its head the first member).
    NewHousehold {
        kk_number: String,
        head_nik: String,
        head_name: String,
        address: Address,
    },
}

impl Proposal {
    pub fn kind(&self) -> ChangeKind {
        match self {
            Proposal::Data { .. } => ChangeKind::Data,
            Proposal::Status { .. } => ChangeKind::Status,
            Proposal::MemberAdd { .. } => ChangeKind::MemberAdd,
            Proposal::MemberCorrect { .. } => ChangeKind::MemberCorrect,
            Proposal::MemberRemove { .. } => ChangeKind::MemberRemove,
            Proposal::Head { .. } => ChangeKind::Head,
            Proposal::NewHousehold { .. } => ChangeKind::NewHousehold,
        }
    }

    /// Whether the household's cards are refused while the request is open.
    pub fn holds_cards(&self) -> bool {
        matches!(self, Proposal::Status { ground, .. } if ground.holds_cards())
    }
}

impl TryFrom<String> for Proposal {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text)
    }
}

/// A stored request, with its author's and decider's usernames.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct ChangeRequestRecord {
    pub id: ChangeRequestId,
    /// What people quote ("permohonan #12").
    pub number: i64,
    /// Null only for a proposed household not yet applied.
    pub household_id: Option<HouseholdId>,
    #[schema(value_type = String, example = "status")]
    pub kind: ChangeKind,
    #[sqlx(try_from = "String")]
    pub proposal: Proposal,
    pub reason: String,
    /// The household's revision the request was written against.
    pub base_revision: Option<i32>,
    pub kelurahan: String,
    /// Whether the household's cards are refused while it is open.
    pub blocks_cards: bool,
    #[schema(value_type = String, example = "submitted")]
    pub state: RequestState,
    pub created_by: UserId,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_by: Option<UserId>,
    pub decider: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected or returned.
    pub decision_note: Option<String>,
    /// The household's revision that applying it wrote.
    pub applied_revision: Option<i32>,
    pub updated_at: DateTime<Utc>,
    /// The household's KK number (a proposed household's is in its proposal until applied).
    pub kk_number: Option<String>,
}

/// A request as written, checked by the registry.
#[derive(Debug, Clone)]
pub struct NewChangeRequest {
    pub household_id: Option<HouseholdId>,
    pub proposal: Proposal,
    pub reason: String,
    pub base_revision: Option<i32>,
    pub kelurahan: String,
    pub submit: bool,
    pub actor: UserId,
}

/// A request rewritten by its author (draft or returned), checked by the registry.
#[derive(Debug, Clone)]
pub struct RevisedChangeRequest {
    pub id: ChangeRequestId,
    pub proposal: Proposal,
    pub reason: String,
    pub base_revision: Option<i32>,
    pub kelurahan: String,
    pub actor: UserId,
}

/// A step other than approval: `from` → `to` by `actor`, with a note for the author.
#[derive(Debug, Clone)]
pub struct RequestStep {
    pub id: ChangeRequestId,
    pub from: RequestState,
    pub to: RequestState,
    pub actor: UserId,
    pub note: Option<String>,
}

/// Carried by a household change made because a request was approved: the store marks the
/// request applied (only from `submitted`, only by someone other than its author) in the
/// change's own transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestApproval {
    pub request: ChangeRequestId,
    pub approver: UserId,
}

/// Which requests to list; every field optional.
#[derive(Debug, Clone, Default)]
pub struct ChangeRequestFilter {
    pub state: Option<RequestState>,
    pub kind: Option<ChangeKind>,
    pub household_id: Option<HouseholdId>,
    pub kelurahan: Option<String>,
    pub created_by: Option<UserId>,
    /// Only requests in one of these kelurahan (a verifier's reach).
    pub within: Option<Vec<String>>,
}
