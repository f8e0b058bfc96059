//! Checking a card's PIN with lockout, the one way every caller does it (PIN change at the office,
//! purchases and balance inquiries at terminals). Wrong PINs are counted in storage atomically, so
//! parallel guesses cannot slip past the limit; a lock that has run out is cleared before the check.
//! The counting happens through [`PinAttempts`], which the store implements on its own
//! transactions and a ledger transaction implements inside the purchase's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    auth::card_policy::CardPolicy,
    auth::pin::PinHasher,
    domain::{ids::CardId, pin::Pin},
    ledger::LedgerTx,
    store::{CardRecord, Store, StoreResult},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinRefusal {
    /// The card has no PIN yet.
    NotSet,
    /// The card was already locked when the PIN arrived (ISO 8583 response 75).
    Locked { until: DateTime<Utc> },
    /// Wrong PIN, `remaining` tries before the card locks (ISO 8583 response 55).
    Wrong { remaining: u32 },
    /// Wrong PIN, and that was the last try: the card is now locked.
    NowLocked { until: DateTime<Utc> },
}

/// Where wrong PINs are counted.
#[async_trait]
pub trait PinAttempts: Send {
    async fn record_failure(
        &mut self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord>;
    async fn clear_failures(&mut self, card: CardId) -> StoreResult<()>;
}

#[async_trait]
impl PinAttempts for &dyn Store {
    async fn record_failure(
        &mut self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord> {
        self.record_pin_failure(card, max_failures, lock_until)
            .await
    }
    async fn clear_failures(&mut self, card: CardId) -> StoreResult<()> {
        self.clear_pin_failures(card).await
    }
}

#[async_trait]
impl PinAttempts for &mut dyn LedgerTx {
    async fn record_failure(
        &mut self,
        card: CardId,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<CardRecord> {
        self.record_pin_failure(card, max_failures, lock_until)
            .await
    }
    async fn clear_failures(&mut self, card: CardId) -> StoreResult<()> {
        self.clear_pin_failures(card).await
    }
}

/// Verifies `pin` for `card` (whose number is `pan`: the verification value is keyed by it),
/// counting a failure or clearing the count.
pub async fn check(
    attempts: &mut impl PinAttempts,
    hasher: &PinHasher,
    policy: &CardPolicy,
    card: &CardRecord,
    pan: &str,
    pin: &Pin,
) -> StoreResult<Result<(), PinRefusal>> {
    let now = crate::store::now();
    let Some(stored) = card.pin_hash.as_deref() else {
        return Ok(Err(PinRefusal::NotSet));
    };
    if let Some(until) = card.locked_until {
        if until > now {
            return Ok(Err(PinRefusal::Locked { until }));
        }
        // The lock ran out: the card starts again with a clean count.
        attempts.clear_failures(card.id).await?;
    }
    if hasher.verify(pan, pin, stored) {
        if card.pin_failures > 0 {
            attempts.clear_failures(card.id).await?;
        }
        return Ok(Ok(()));
    }
    let lock_until =
        now + chrono::Duration::from_std(policy.pin_lock).unwrap_or(chrono::Duration::days(1));
    let updated = attempts
        .record_failure(card.id, policy.pin_max_failures, lock_until)
        .await?;
    tracing::info!(card = %card.id, last4 = %card.pan_last4, failures = updated.pin_failures, "wrong PIN");
    if let Some(until) = updated.locked_until.filter(|until| *until > now) {
        return Ok(Err(PinRefusal::NowLocked { until }));
    }
    let used = u32::try_from(updated.pin_failures).unwrap_or(u32::MAX);
    Ok(Err(PinRefusal::Wrong {
        remaining: policy.pin_max_failures.saturating_sub(used),
    }))
}
