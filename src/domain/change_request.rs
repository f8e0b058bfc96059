//! Change requests: every change to a household's identity or eligibility is proposed, then
//! decided by an office user who did not write it (four eyes). The states and who may move a
//! request between them are here; what a request changes is the registry's.
//!
//! ```text
//! draft ──submit──▶ submitted ──approve──▶ applied
//!   ▲                  │  │
//!   └──── resubmit ── returned (for correction) ◀─┘  └──reject──▶ rejected
//! ```
//! Approving applies the change in the household's own transaction, so no request is ever
//! approved but not applied.

use crate::{domain::Invalid, string_enum};

string_enum!(
    /// Where a request is.
    RequestState, "invalid_request_state", {
        Draft => "draft",
        Submitted => "submitted",
        Returned => "returned",
        Applied => "applied",
        Rejected => "rejected",
    }
);

string_enum!(
    /// What a request changes.
    ChangeKind, "invalid_change_kind", {
        Data => "data",
        Status => "status",
        MemberAdd => "member_add",
        MemberCorrect => "member_correct",
        MemberRemove => "member_remove",
        Head => "head",
        NewHousehold => "new_household",
    }
);

string_enum!(
    /// Why a household's status should change.
    StatusGround, "invalid_status_ground", {
        MovedAway => "moved_away",
        DeceasedHead => "deceased_head",
        NoLongerEligible => "no_longer_eligible",
        Other => "other",
    }
);

impl StatusGround {
    /// While a request on this ground is open, the household's cards are refused at the
    /// terminal: the family may be gone, and nobody else should spend its balance meanwhile.
    pub fn holds_cards(self) -> bool {
        matches!(self, StatusGround::MovedAway | StatusGround::DeceasedHead)
    }

    /// The statuses a request on this ground may ask for.
    pub fn allows(self, status: super::household::HouseholdStatus) -> bool {
        use super::household::HouseholdStatus::{Active, Exited, Suspended};
        match self {
            StatusGround::MovedAway | StatusGround::NoLongerEligible => status == Exited,
            StatusGround::DeceasedHead => matches!(status, Suspended | Exited),
            StatusGround::Other => matches!(status, Active | Suspended | Exited),
        }
    }
}

/// What someone does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    Approve,
    Reject,
    Return,
}

impl RequestState {
    /// Open requests wait for someone: the author (draft, returned) or the office (submitted).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestState::Draft | RequestState::Submitted | RequestState::Returned
        )
    }

    /// The state `step` leads to from here, or why it may not be taken.
    pub fn after(self, step: Step) -> Result<RequestState, Invalid> {
        let next = match (self, step) {
            (RequestState::Draft | RequestState::Returned, Step::Submit) => RequestState::Submitted,
            (RequestState::Submitted, Step::Approve) => RequestState::Applied,
            (RequestState::Submitted, Step::Reject) => RequestState::Rejected,
            (RequestState::Submitted, Step::Return) => RequestState::Returned,
            (state, step) => {
                return Err(Invalid::new(
                    "request_state",
                    format!("a {state} request cannot be {}", step.past_tense()),
                ))
            }
        };
        Ok(next)
    }
}

impl Step {
    fn past_tense(self) -> &'static str {
        match self {
            Step::Submit => "submitted",
            Step::Approve => "approved",
            Step::Reject => "rejected",
            Step::Return => "returned",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::household::HouseholdStatus;

    #[test]
    fn only_a_submitted_request_is_decided_and_only_its_author_resubmits() {
        use RequestState::*;
        assert_eq!(Draft.after(Step::Submit).unwrap(), Submitted);
        assert_eq!(Returned.after(Step::Submit).unwrap(), Submitted);
        assert_eq!(Submitted.after(Step::Approve).unwrap(), Applied);
        assert_eq!(Submitted.after(Step::Reject).unwrap(), Rejected);
        assert_eq!(Submitted.after(Step::Return).unwrap(), Returned);
        for done in [Applied, Rejected] {
            for step in [Step::Submit, Step::Approve, Step::Reject, Step::Return] {
                assert_eq!(done.after(step).unwrap_err().code, "request_state");
            }
        }
        assert!(Draft.after(Step::Approve).is_err());
        assert!(Returned.after(Step::Approve).is_err());
        assert!(Submitted.after(Step::Submit).is_err());
    }

    #[test]
    fn only_moving_away_and_a_deceased_head_hold_the_cards() {
        assert!(StatusGround::MovedAway.holds_cards());
        assert!(StatusGround::DeceasedHead.holds_cards());
        assert!(!StatusGround::NoLongerEligible.holds_cards());
        assert!(!StatusGround::Other.holds_cards());
        assert!(StatusGround::MovedAway.allows(HouseholdStatus::Exited));
        assert!(!StatusGround::MovedAway.allows(HouseholdStatus::Active));
        assert!(!StatusGround::DeceasedHead.allows(HouseholdStatus::Active));
        assert!(StatusGround::Other.allows(HouseholdStatus::Active));
    }
}
