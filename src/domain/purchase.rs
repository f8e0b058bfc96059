//! A purchase's life at a terminal, as a pure state machine: the states it is stored in, what a
//! terminal's follow-up (complete, void, reversal) asks of it, and [`transition`], the one place
//! that decides what each follow-up does in each state. The redemption engine carries the step
//! out (ledger transfers, the stored state); nothing here does I/O.

use crate::string_enum;

string_enum!(
    /// Where a purchase is, as stored in `redemptions.state`: `declined` (refused at authorize,
    /// nothing held), `held` (approved, the amount held on the card until completed, voided,
    /// reversed or expired), `completed` (the receipt printed, the hold posted to the E-Warung's
    /// payable), `voided` (cancelled while held), `reversed` (undone because the terminal never
    /// got the answer), `expired` (not completed before the hold timed out), `refunded`
    /// (completed, then returned to the card on the same business day).
    PurchaseState, "invalid_purchase_state", {
        Declined => "declined",
        Held => "held",
        Completed => "completed",
        Voided => "voided",
        Reversed => "reversed",
        Expired => "expired",
        Refunded => "refunded",
    }
);

string_enum!(
    /// What a row of `redemptions` records: a terminal's purchase, or the marker a reversal
    /// leaves for a request that never arrived, so that a late original is never approved.
    RequestKind, "invalid_request_kind", {
        Purchase => "purchase",
        ReversalMarker => "reversal_marker",
    }
);

impl PurchaseState {
    /// Undone one way or another: nothing of it is spent, and it can never be undone again.
    pub fn is_undone(self) -> bool {
        matches!(
            self,
            PurchaseState::Voided
                | PurchaseState::Reversed
                | PurchaseState::Expired
                | PurchaseState::Refunded
        )
    }
}

/// What a complete, void or reversal asks of the purchase it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followup {
    /// The receipt printed: post the hold.
    Complete,
    /// Cancel a held purchase, or return a completed one of the same business day to the card.
    Void,
    /// The terminal got no answer: undo whatever the request did (an unknown request is noted
    /// so that it can never be approved later, and acknowledged).
    Reverse,
}

impl Followup {
    pub const ALL: [Followup; 3] = [Followup::Complete, Followup::Void, Followup::Reverse];
}

/// What a follow-up does to a purchase in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing changes; the follow-up is acknowledged with the purchase's state (a replay of
    /// what already happened, or a reversal of something that moved no money).
    Acknowledge(PurchaseState),
    /// Post the hold to the E-Warung's payable and become `Completed`.
    PostHold,
    /// Release the hold back to the card and become `next` (voided or reversed).
    ReleaseHold { next: PurchaseState },
    /// Return the completed amount from the payable to the card and become `next` (refunded or
    /// reversed). A void may do this only on the business day the purchase was completed.
    Refund {
        next: PurchaseState,
        same_business_day_only: bool,
    },
    /// Refused: the purchase's state does not allow it.
    Refuse(Refusal),
}

/// Why a follow-up is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The authorization was declined: there is nothing to complete or void.
    WasDeclined,
    /// A purchase already undone cannot be completed.
    CannotComplete(PurchaseState),
}

impl Step {
    /// Whether carrying the step out writes anything (and so needs the open business date).
    pub fn changes_anything(self) -> bool {
        matches!(
            self,
            Step::PostHold | Step::ReleaseHold { .. } | Step::Refund { .. }
        )
    }
}

/// The purchase state machine: what `action` does to a purchase in `state`.
pub fn transition(state: PurchaseState, action: Followup) -> Step {
    use Followup::{Complete, Reverse, Void};
    use PurchaseState::*;
    match (action, state) {
        // A reversal of a decline is acknowledged: nothing was held, nothing to undo.
        (Reverse, Declined) => Step::Acknowledge(Declined),
        (Complete | Void, Declined) => Step::Refuse(Refusal::WasDeclined),
        (Complete, Held) => Step::PostHold,
        (Complete, Completed) => Step::Acknowledge(Completed),
        (Complete, Voided | Reversed | Expired | Refunded) => {
            Step::Refuse(Refusal::CannotComplete(state))
        }
        (Void, Held) => Step::ReleaseHold { next: Voided },
        (Reverse, Held) => Step::ReleaseHold { next: Reversed },
        (Void, Completed) => Step::Refund {
            next: Refunded,
            same_business_day_only: true,
        },
        (Reverse, Completed) => Step::Refund {
            next: Reversed,
            same_business_day_only: false,
        },
        // Already undone one way or another: acknowledging again changes nothing.
        (Void | Reverse, Voided | Reversed | Expired | Refunded) => Step::Acknowledge(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Followup::{Complete, Reverse, Void};
    use PurchaseState::*;

    /// Every (state, action) pair, written out as the table a reader would check against.
    #[test]
    fn every_state_and_follow_up_has_the_documented_step() {
        let release = |next| Step::ReleaseHold { next };
        let refund = |next, same_business_day_only| Step::Refund {
            next,
            same_business_day_only,
        };
        let table = [
            (Declined, Complete, Step::Refuse(Refusal::WasDeclined)),
            (Declined, Void, Step::Refuse(Refusal::WasDeclined)),
            (Declined, Reverse, Step::Acknowledge(Declined)),
            (Held, Complete, Step::PostHold),
            (Held, Void, release(Voided)),
            (Held, Reverse, release(Reversed)),
            (Completed, Complete, Step::Acknowledge(Completed)),
            (Completed, Void, refund(Refunded, true)),
            (Completed, Reverse, refund(Reversed, false)),
            (
                Voided,
                Complete,
                Step::Refuse(Refusal::CannotComplete(Voided)),
            ),
            (Voided, Void, Step::Acknowledge(Voided)),
            (Voided, Reverse, Step::Acknowledge(Voided)),
            (
                Reversed,
                Complete,
                Step::Refuse(Refusal::CannotComplete(Reversed)),
            ),
            (Reversed, Void, Step::Acknowledge(Reversed)),
            (Reversed, Reverse, Step::Acknowledge(Reversed)),
            (
                Expired,
                Complete,
                Step::Refuse(Refusal::CannotComplete(Expired)),
            ),
            (Expired, Void, Step::Acknowledge(Expired)),
            (Expired, Reverse, Step::Acknowledge(Expired)),
            (
                Refunded,
                Complete,
                Step::Refuse(Refusal::CannotComplete(Refunded)),
            ),
            (Refunded, Void, Step::Acknowledge(Refunded)),
            (Refunded, Reverse, Step::Acknowledge(Refunded)),
        ];
        assert_eq!(table.len(), PurchaseState::ALL.len() * Followup::ALL.len());
        for (state, action, expected) in table {
            assert_eq!(transition(state, action), expected, "{state} + {action:?}");
        }
    }

    #[test]
    fn money_moves_only_out_of_held_or_completed_and_undone_is_final() {
        for &state in PurchaseState::ALL {
            for action in Followup::ALL {
                let step = transition(state, action);
                if step.changes_anything() {
                    assert!(matches!(state, Held | Completed), "{state} + {action:?}");
                }
                if state.is_undone() {
                    assert!(!step.changes_anything(), "{state} + {action:?}");
                }
            }
        }
    }

    #[test]
    fn states_round_trip_through_their_stored_spelling() {
        for &state in PurchaseState::ALL {
            assert_eq!(PurchaseState::parse(state.as_str()).unwrap(), state);
        }
        assert!(PurchaseState::parse("pending").is_err());
    }
}
