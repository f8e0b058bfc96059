//! Card work an office does: issue (with a first PIN), block, unblock, report lost, replace, set
//! or change the PIN, unlock. The rules live here, once, for every front end (the JSON API, the
//! web pages): which states a change is valid from, a fresh card number drawn until it is free,
//! the PIN checked with the same lock-out as at a terminal. Handlers parse, call, answer.

use std::sync::Arc;

use crate::{
    auth::{card_policy::CardPolicy, pan_vault::PanVault, pin::PinHasher},
    domain::{
        card::CardStatus,
        household::HouseholdStatus,
        ids::{CardId, HouseholdId, RepresentativeId, UserId},
        pan::Pan,
        pin::Pin,
        representative::RepresentativeStatus,
    },
    pin_check::{self, PinRefusal},
    store::{CardRecord, CardStatusChange, NewCard, Store, StoreError},
};

/// A freshly drawn card number can collide with an existing one (1 in 10^8 per draw); a few fresh
/// draws make a failure practically impossible without looping forever.
const PAN_DRAWS: usize = 5;

/// The states an office may set a card's PIN in (a lost or replaced card gets none).
const PIN_SETTABLE: &[CardStatus] = &[CardStatus::Active, CardStatus::Blocked];

/// Why a card operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("card not found")]
    CardNotFound,
    #[error("household not found")]
    HouseholdNotFound,
    #[error("household is {0}; only active households get cards")]
    HouseholdNotActive(HouseholdStatus),
    /// A household holds one live card; a second is a replacement, not an issue.
    #[error("the household already has a card; replace it instead of issuing another")]
    HouseholdHasCard,
    /// The card's state does not allow the change (e.g. changing the PIN of a blocked card).
    #[error("card is {0}")]
    NotUsable(CardStatus),
    /// Replacement is an operation of its own ([`Cards::replace`]).
    #[error("a card becomes replaced only by replacing it")]
    ReplaceSeparately,
    #[error("the PIN was refused")]
    Pin(PinRefusal),
    /// A representative's card is not unblocked or replaced once the representative's authority
    /// has ended (revoked, or past its last day): a new naming gives a new card.
    #[error("the card's representative is {0}")]
    RepresentativeEnded(RepresentativeStatus),
    #[error("no free card number after {PAN_DRAWS} draws")]
    NoFreeNumber,
    /// The stored encrypted number could not be opened (wrong key or damaged row).
    #[error("card {0}: the stored number cannot be opened")]
    Unreadable(CardId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A card as issued: the only time its full number is known outside the vault.
pub struct Issued {
    pub card: CardRecord,
    pub pan: Pan,
}

#[derive(Clone)]
pub struct Cards {
    pub store: Arc<dyn Store>,
    pub pins: Arc<PinHasher>,
    pub policy: Arc<CardPolicy>,
    pub pans: Arc<PanVault>,
}

impl Cards {
    pub async fn get(&self, id: CardId) -> Result<CardRecord, CardError> {
        self.store
            .get_card(id)
            .await?
            .ok_or(CardError::CardNotFound)
    }

    /// The card with this number, if any.
    pub async fn find_by_number(&self, pan: &Pan) -> Result<Option<CardRecord>, CardError> {
        let hash = self.pans.lookup_hash(pan.expose());
        Ok(self.store.find_card_by_pan_hash(&hash).await?)
    }

    /// Issues an active household its card with a first PIN.
    pub async fn issue(
        &self,
        household: HouseholdId,
        pin: &Pin,
        actor: UserId,
    ) -> Result<Issued, CardError> {
        let household = self
            .store
            .get_household(household)
            .await?
            .ok_or(CardError::HouseholdNotFound)?;
        if household.status != HouseholdStatus::Active {
            return Err(CardError::HouseholdNotActive(household.status));
        }
        let (card, pan) = self
            .with_fresh_number(pin, household.id, None, |card| {
                let store = self.store.clone();
                async move { store.issue_card(card, actor).await }
            })
            .await?;
        tracing::info!(card = %pan, household = %household.id, "card issued");
        Ok(Issued { card, pan })
    }

    /// Ends `old` (it becomes `replaced`) and issues its household a new card, in one transaction.
    pub async fn replace(
        &self,
        old: CardId,
        pin: &Pin,
        reason: String,
        actor: UserId,
    ) -> Result<Issued, CardError> {
        let old = self.get(old).await?;
        self.representative_still_valid(&old).await?;
        let (card, pan) = self
            .with_fresh_number(pin, old.household_id, old.representative_id, |card| {
                let (store, reason) = (self.store.clone(), reason.clone());
                async move { store.replace_card(old.id, card, reason, actor).await }
            })
            .await?;
        tracing::info!(old = %old.pan_last4, new = %pan, "card replaced");
        Ok(Issued { card, pan })
    }

    /// Blocks, unblocks or reports a card lost, from whichever states allow it (a conflict
    /// otherwise); audited with `reason`. With `seen`, the state the clerk decided on: a card
    /// that has changed since is refused, even into another state the change would allow.
    pub async fn change_status(
        &self,
        card: CardId,
        to: CardStatus,
        reason: String,
        actor: UserId,
        seen: Option<CardStatus>,
    ) -> Result<CardRecord, CardError> {
        if to == CardStatus::Replaced {
            return Err(CardError::ReplaceSeparately);
        }
        if to == CardStatus::Active {
            self.representative_still_valid(&self.get(card).await?)
                .await?;
        }
        let change = CardStatusChange {
            card,
            from: self
                .startable(card, CardStatus::sources_of(to), seen)
                .await?,
            to,
            reason,
            actor,
        };
        Ok(self.store.change_card_status(change).await?)
    }

    /// Sets a new PIN without the old one (at the office, the beneficiary present); clears any
    /// lock. With `seen`, only if the card is still in the state the clerk saw.
    pub async fn set_pin(
        &self,
        card: CardId,
        pin: &Pin,
        actor: UserId,
        seen: Option<CardStatus>,
    ) -> Result<CardRecord, CardError> {
        let card = self.get(card).await?;
        let value = self.pins.verification_value(&self.number(&card)?, pin);
        let from = self.startable(card.id, PIN_SETTABLE, seen).await?;
        Ok(self.store.set_pin(card.id, value, &from, actor).await?)
    }

    /// Changes the PIN given the current one; a wrong current PIN counts towards the lock-out
    /// exactly as at a terminal.
    pub async fn change_pin(
        &self,
        card: CardId,
        current: &Pin,
        new: &Pin,
        actor: UserId,
    ) -> Result<CardRecord, CardError> {
        let card = self.get(card).await?;
        if !card.status.can_transact() {
            return Err(CardError::NotUsable(card.status));
        }
        let pan = self.number(&card)?;
        let mut attempts: &dyn Store = self.store.as_ref();
        pin_check::check(
            &mut attempts,
            &self.pins,
            &self.policy,
            &card,
            &pan,
            current,
        )
        .await?
        .map_err(CardError::Pin)?;
        let value = self.pins.verification_value(&pan, new);
        let from = [card.status];
        Ok(self.store.set_pin(card.id, value, &from, actor).await?)
    }

    /// Checks `pin` for `card` as a terminal does (a wrong one counts towards the lock-out; a
    /// right one clears the count), changing nothing else.
    pub async fn check_pin(
        &self,
        card: &CardRecord,
        pin: &Pin,
    ) -> Result<Result<(), PinRefusal>, CardError> {
        let pan = self.number(card)?;
        let mut attempts: &dyn Store = self.store.as_ref();
        Ok(pin_check::check(&mut attempts, &self.pins, &self.policy, card, &pan, pin).await?)
    }

    /// Lifts a lock-out after too many wrong PINs.
    pub async fn unlock(&self, card: CardId, actor: UserId) -> Result<CardRecord, CardError> {
        Ok(self.store.unlock_card(card, actor).await?)
    }

    /// The states of `allowed` a change may start from, narrowed to the one the clerk saw if
    /// given; a clerk who saw a state the change does not start from is refused with the state
    /// the card is in now.
    async fn startable(
        &self,
        card: CardId,
        allowed: &[CardStatus],
        seen: Option<CardStatus>,
    ) -> Result<Vec<CardStatus>, CardError> {
        let from: Vec<CardStatus> = allowed
            .iter()
            .copied()
            .filter(|status| seen.is_none_or(|seen| seen == *status))
            .collect();
        if from.is_empty() {
            let actual = self.get(card).await?.status.to_string();
            return Err(StoreError::StateConflict {
                entity: "card",
                actual,
            }
            .into());
        }
        Ok(from)
    }

    /// Refuses a representative's card whose representative has ended or run past their date.
    async fn representative_still_valid(&self, card: &CardRecord) -> Result<(), CardError> {
        let Some(id) = card.representative_id else {
            return Ok(());
        };
        let today = crate::business_day::local_today(chrono::Utc::now());
        let status = self
            .store
            .representatives()
            .get_representative(id)
            .await?
            .map_or(RepresentativeStatus::Revoked, |representative| {
                representative.status_on(today)
            });
        if status != RepresentativeStatus::Active {
            return Err(CardError::RepresentativeEnded(status));
        }
        Ok(())
    }

    /// Draws card numbers until one is free, then stores the card (for the household, or for
    /// `representative`) with `store_card`, which answers what it stored.
    pub(crate) async fn with_fresh_number<T, F, Fut>(
        &self,
        pin: &Pin,
        household: HouseholdId,
        representative: Option<RepresentativeId>,
        store_card: F,
    ) -> Result<(T, Pan), CardError>
    where
        F: Fn(NewCard) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        for _ in 0..PAN_DRAWS {
            let pan = Pan::generate(&self.policy.prefix, &mut rand::thread_rng());
            let card = NewCard {
                household_id: household,
                representative_id: representative,
                pan: self.pans.protect(pan.expose()),
                pin_hash: self.pins.verification_value(pan.expose(), pin),
            };
            match store_card(card).await {
                Ok(stored) => return Ok((stored, pan)),
                Err(StoreError::Duplicate { constraint }) if constraint == "cards_pan_hash_key" => {
                    continue
                }
                Err(StoreError::Duplicate { constraint })
                    if constraint == "cards_one_live_card_per_household" =>
                {
                    return Err(CardError::HouseholdHasCard)
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(CardError::NoFreeNumber)
    }

    /// The card's full number, for the one letter that shows it after an issue.
    pub fn number_of(&self, card: &CardRecord) -> Result<zeroize::Zeroizing<String>, CardError> {
        self.number(card)
    }

    /// The card's number, opened from its encrypted copy (a PIN's verification value is keyed by it).
    fn number(&self, card: &CardRecord) -> Result<zeroize::Zeroizing<String>, CardError> {
        self.pans
            .open(card.pan_key_id as u32, &card.pan_encrypted)
            .map_err(|_| CardError::Unreadable(card.id))
    }
}
