//! Card states and the transitions between them. Value belongs to the household, never to the
//! plastic, so nothing here touches money: a replaced card simply stops working.

use crate::string_enum;

string_enum!(
    /// Where a card is in its life.
    CardStatus, "invalid_card_status", {
        Active => "active",
        Blocked => "blocked",
        Lost => "lost",
        Replaced => "replaced",
    }
);

impl CardStatus {
    /// Only an active card can be used at a terminal.
    pub fn can_transact(self) -> bool {
        self == CardStatus::Active
    }

    /// `replaced` is final: the plastic is dead once its successor exists. A lost card may be found
    /// again only as a new card, so it can go to `replaced` but not back to `active`.
    pub fn may_become(self, next: CardStatus) -> bool {
        use CardStatus::*;
        matches!(
            (self, next),
            (Active, Blocked)
                | (Active, Lost)
                | (Blocked, Active)
                | (Blocked, Lost)
                | (Active, Replaced)
                | (Blocked, Replaced)
                | (Lost, Replaced)
        )
    }

    /// The states a card may be replaced from, for the conditional update in storage.
    pub fn replaceable() -> &'static [CardStatus] {
        Self::sources_of(CardStatus::Replaced)
    }

    /// Every state a card may move to `next` from (what [`Self::may_become`] allows), for the
    /// conditional update in storage.
    pub fn sources_of(next: CardStatus) -> &'static [CardStatus] {
        use CardStatus::*;
        match next {
            Active => &[Blocked],
            Blocked => &[Active],
            Lost => &[Active, Blocked],
            Replaced => &[Active, Blocked, Lost],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CardStatus::*;

    #[test]
    fn the_sources_of_a_state_are_exactly_the_states_that_may_become_it() {
        for &to in super::CardStatus::ALL {
            for &from in super::CardStatus::ALL {
                assert_eq!(
                    super::CardStatus::sources_of(to).contains(&from),
                    from.may_become(to),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn replaced_is_final_and_lost_never_comes_back() {
        for next in super::CardStatus::ALL {
            assert!(!Replaced.may_become(*next));
        }
        assert!(!Lost.may_become(Active));
        assert!(Blocked.may_become(Active));
        assert!(Lost.may_become(Replaced));
    }
}
