//! Key rotation while the service runs: the key that encrypts card numbers at rest and the key
//! that signs access tokens (see `auth::key_ring`). A rotation makes a new numbered key file in
//! the data directory; running servers pick it up without a restart. Card numbers are then
//! sealed again under the new key in batches, each batch one transaction that changes a card
//! only if it is still under the key it was read with, so a rotation stopped at any point (a
//! crash, `kill -9`) leaves every number readable under the key its row names, and running it
//! again with `--resume` finishes the work. Tokens are never re-signed: those of an older key
//! are accepted until they expire, and the key can be retired once none can be alive.

use std::{path::Path, sync::Arc, time::Duration};

use crate::{
    auth::{jwt, key_ring, pan_vault::PanVault},
    domain::ids::CardId,
    model::records::ResealedPan,
    store::Store,
};

/// Where a re-encryption stands, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub resealed: u64,
    pub total: u64,
}

/// What a re-encryption did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReencryptReport {
    pub to_key: u32,
    pub resealed: u64,
    /// Cards still under another key at the end (issued meanwhile by a server that had not yet
    /// seen the new key): run again with `--resume`.
    pub remaining: i64,
    /// Cards whose number opened under no key held (their key was retired or lost).
    pub unreadable: Vec<CardId>,
}

/// How a re-encryption is paced.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub batch: u32,
    pub pause: Duration,
}

/// Seals every card number under key `to_key`, batch by batch.
pub async fn reencrypt_pans(
    store: &Arc<dyn Store>,
    vault: &PanVault,
    to_key: u32,
    pace: Pace,
    mut progress: impl FnMut(Progress),
) -> anyhow::Result<ReencryptReport> {
    let target = i32::try_from(to_key)?;
    let count_others = |counts: Vec<(i32, i64)>| -> i64 {
        counts
            .iter()
            .filter(|(key, _)| *key != target)
            .map(|(_, cards)| cards)
            .sum()
    };
    let total = count_others(store.pan_key_counts().await?);
    let mut resealed = 0u64;
    let mut unreadable = Vec::new();
    let mut after = None;
    progress(Progress {
        resealed,
        total: total as u64,
    });
    loop {
        let rows = store
            .cards_sealed_under_other_keys(target, after, pace.batch)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0);
        let mut batch = Vec::with_capacity(rows.len());
        for (card, from_key, sealed) in rows {
            match vault.reseal(u32::try_from(from_key)?, &sealed, to_key) {
                Ok(sealed) => batch.push(ResealedPan {
                    card,
                    from_key,
                    to_key: target,
                    sealed,
                }),
                Err(_) => unreadable.push(card),
            }
        }
        resealed += store.reseal_pans(&batch).await?;
        progress(Progress {
            resealed,
            total: total as u64,
        });
        if !pace.pause.is_zero() {
            tokio::time::sleep(pace.pause).await;
        }
    }
    let remaining = count_others(store.pan_key_counts().await?);
    Ok(ReencryptReport {
        to_key,
        resealed,
        remaining,
        unreadable,
    })
}

/// Why a key may not be retired.
#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    #[error("key {0} is the newest: rotate first, then retire the old one")]
    Newest(u32),
    #[error(
        "key {0} is the first key (the configured one or jwt.key / pin.key); it cannot be retired"
    )]
    First(u32),
    #[error("there is no key {0}")]
    Unknown(u32),
    #[error(
        "{cards} cards are still sealed under key {key}: run `ssn keys rotate-pan --resume` first"
    )]
    StillUsed { key: u32, cards: i64 },
    #[error("tokens signed with key {key} may be valid for {seconds} more seconds (until the token lifetime has passed since the next key was made)")]
    TokensAlive { key: u32, seconds: u64 },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn check_retirable(dir: &Path, prefix: &str, key: u32) -> Result<(), RetireError> {
    let files = key_ring::key_files(dir, prefix)?;
    if key == 0 {
        return Err(RetireError::First(key));
    }
    if !files.contains_key(&key) {
        return Err(RetireError::Unknown(key));
    }
    if files.keys().next_back() == Some(&key) {
        return Err(RetireError::Newest(key));
    }
    Ok(())
}

/// Removes card-number key `key` once no card is sealed under it.
pub async fn retire_pan_key(
    store: &Arc<dyn Store>,
    dir: &Path,
    key: u32,
) -> Result<(), RetireError> {
    check_retirable(dir, crate::auth::pan_vault::KEY_PREFIX, key)?;
    let cards = store
        .pan_key_counts()
        .await
        .map_err(anyhow::Error::from)?
        .into_iter()
        .find(|(id, _)| i64::from(*id) == i64::from(key))
        .map_or(0, |(_, cards)| cards);
    if cards > 0 {
        return Err(RetireError::StillUsed { key, cards });
    }
    key_ring::remove(dir, crate::auth::pan_vault::KEY_PREFIX, key)?;
    Ok(())
}

/// Removes token-signing key `key` once no token it signed can still be valid: `token_ttl`
/// has passed since the next key was made (from then on servers sign with the newer key).
pub fn retire_jwt_key(dir: &Path, key: u32, token_ttl: Duration) -> Result<(), RetireError> {
    check_retirable(dir, jwt::KEY_PREFIX, key)?;
    let files = key_ring::key_files(dir, jwt::KEY_PREFIX)?;
    let (_, next) = files
        .range(key + 1..)
        .next()
        .ok_or(RetireError::Newest(key))?;
    let made = std::fs::metadata(next)
        .and_then(|meta| meta.modified())
        .map_err(anyhow::Error::from)?;
    let age = made.elapsed().unwrap_or_default();
    // A server reads the directory before each token it signs, so a minute covers one that
    // was signing at the moment of rotation, plus the verifier's clock leeway.
    let needed = token_ttl + Duration::from_secs(60);
    if age < needed {
        return Err(RetireError::TokensAlive {
            key,
            seconds: (needed - age).as_secs().max(1),
        });
    }
    key_ring::remove(dir, jwt::KEY_PREFIX, key)?;
    Ok(())
}
