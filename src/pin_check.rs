//! Checking a card's PIN with lockout, the one way every caller does it (PIN change now, purchases
//! and balance inquiries later). Wrong PINs are counted in storage atomically, so parallel guesses
//! cannot slip past the limit; a lock that has run out is cleared before the next check.

use chrono::{DateTime, Utc};

use crate::{
    domain::pin::Pin,
    http::state::AppState,
    store::{CardRecord, StoreResult},
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

/// Verifies `pin` for `card`, counting a failure or clearing the count.
pub async fn check(
    state: &AppState,
    card: &CardRecord,
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
        state.store.clear_pin_failures(card.id).await?;
    }
    if state.pins.verify(&card.pan, pin, stored) {
        if card.pin_failures > 0 {
            state.store.clear_pin_failures(card.id).await?;
        }
        return Ok(Ok(()));
    }
    let policy = &state.cards;
    let lock_until =
        now + chrono::Duration::from_std(policy.pin_lock).unwrap_or(chrono::Duration::days(1));
    let updated = state
        .store
        .record_pin_failure(card.id, policy.pin_max_failures, lock_until)
        .await?;
    tracing::info!(card = %crate::domain::pan::mask(&card.pan), failures = updated.pin_failures, "wrong PIN");
    if let Some(until) = updated.locked_until.filter(|until| *until > now) {
        return Ok(Err(PinRefusal::NowLocked { until }));
    }
    let used = u32::try_from(updated.pin_failures).unwrap_or(u32::MAX);
    Ok(Err(PinRefusal::Wrong {
        remaining: policy.pin_max_failures.saturating_sub(used),
    }))
}
