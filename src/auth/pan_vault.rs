//! Card numbers at rest. The database never holds a card number in clear: a card is found by a
//! keyed hash of its number (HMAC-SHA-256, so a stolen table cannot be searched by hashing every
//! possible number of the issuer's range), and the number itself is kept encrypted (AES-256-GCM)
//! for the few places that need it back (a new PIN's verification value). The lookup key is
//! derived from the host's PIN key, which lives outside the database. The encryption key
//! rotates (`auth::key_ring`, files `pan-key-N.key`): each sealed number names its key
//! (`cards.pan_key_id`; 0 is the key derived from the PIN key), new numbers are sealed under the
//! newest, and `ssn keys rotate-pan` re-encrypts the rest. The last four digits are kept in
//! clear for display.

use std::path::Path;

use aes_gcm::Aes256Gcm;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::auth::{key_ring::KeyRing, sealing};

/// The numbered encryption keys' file names: `pan-key-N.key` in the data directory.
pub const KEY_PREFIX: &str = "pan-key";

/// Versioned, so the derivation can change without guessing which rows use which.
const LOOKUP_LABEL: &[u8] = b"ssn-pan-lookup-v1";
const SEAL_LABEL: &[u8] = b"ssn-pan-seal-v1";
/// Bound into every sealed number as associated data.
const AAD: &[u8] = b"cards.pan_encrypted";

pub struct PanVault {
    lookup_key: Zeroizing<Vec<u8>>,
    ciphers: KeyRing<Aes256Gcm>,
}

impl std::fmt::Debug for PanVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PanVault(keys hidden)")
    }
}

/// How a card number is stored: never the number itself.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPan {
    /// `cards.pan_hash`: what a card is found by.
    pub hash: Vec<u8>,
    /// `cards.pan_encrypted`: nonce, then ciphertext and tag.
    pub sealed: Vec<u8>,
    /// `cards.pan_last4`.
    pub last4: String,
    /// `cards.pan_key_id`: the key `sealed` is sealed under.
    pub key_id: u32,
}

impl std::fmt::Debug for StoredPan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredPan(************{})", self.last4)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored card number does not open (another host key, a retired key, or tampered)")]
pub struct SealError;

impl PanVault {
    /// `pin_key` is the host's PIN key (see `secrets`); `key_dir` holds the rotated encryption
    /// keys (the data directory).
    pub fn new(pin_key: &[u8], key_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            lookup_key: sealing::derive_key(pin_key, LOOKUP_LABEL),
            ciphers: KeyRing::open(key_dir, KEY_PREFIX, pin_key, |key| {
                sealing::cipher(key, SEAL_LABEL)
            })?,
        })
    }

    /// The ids of the encryption keys this vault holds, oldest first.
    pub fn key_ids(&self) -> Vec<u32> {
        self.ciphers.ids()
    }

    /// Reads the key directory again (after a rotation made or retired a key).
    pub fn reload(&self) -> anyhow::Result<()> {
        self.ciphers.reload()
    }

    /// What a card with this number is found by.
    pub fn lookup_hash(&self, pan: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup_key)
            .expect("HMAC takes any key length");
        mac.update(pan.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Everything the `cards` row keeps of a number.
    pub fn protect(&self, pan: &str) -> StoredPan {
        let (key_id, cipher) = self.ciphers.newest();
        StoredPan {
            hash: self.lookup_hash(pan),
            sealed: sealing::seal(&cipher, pan.as_bytes(), AAD),
            last4: crate::domain::pan::last_four(pan).to_string(),
            key_id,
        }
    }

    /// The number sealed under key `key_id` as `sealed`, sealed again under key `to`.
    pub fn reseal(&self, key_id: u32, sealed: &[u8], to: u32) -> Result<Vec<u8>, SealError> {
        let pan = self.open(key_id, sealed)?;
        let cipher = self.ciphers.get(to).ok_or(SealError)?;
        Ok(sealing::seal(&cipher, pan.as_bytes(), AAD))
    }

    /// The number back from `cards.pan_encrypted`, sealed under key `key_id`.
    pub fn open(&self, key_id: u32, sealed: &[u8]) -> Result<Zeroizing<String>, SealError> {
        let cipher = self.ciphers.get(key_id).ok_or(SealError)?;
        let plain = sealing::open(&cipher, sealed, AAD).ok_or(SealError)?;
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_found_by_its_hash_and_opened_only_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let vault = PanVault::new(&[7u8; 32], dir.path()).unwrap();
        let stored = vault.protect("6019010435474346");
        assert_eq!(stored.key_id, 0);
        assert_eq!(stored.last4, "4346");
        assert_eq!(stored.hash, vault.lookup_hash("6019010435474346"));
        assert_ne!(stored.hash, vault.lookup_hash("6019010435474347"));
        assert_eq!(
            vault.open(0, &stored.sealed).unwrap().as_str(),
            "6019010435474346"
        );
        assert!(
            !stored.sealed.windows(4).any(|w| w == b"4346"),
            "sealed, not in clear"
        );
        let other = PanVault::new(&[8u8; 32], dir.path()).unwrap();
        assert!(other.open(0, &stored.sealed).is_err());
        assert_ne!(other.lookup_hash("6019010435474346"), stored.hash);
        assert_eq!(format!("{stored:?}"), "StoredPan(************4346)");
        assert!(!format!("{vault:?}").contains('7'));
    }

    #[test]
    fn a_rotated_key_seals_new_numbers_and_the_old_one_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let vault = PanVault::new(&[7u8; 32], dir.path()).unwrap();
        let before = vault.protect("6019010435474346");
        let id = crate::auth::key_ring::create_next(dir.path(), KEY_PREFIX).unwrap();
        let after = vault.protect("6019010435474346");
        assert_eq!((before.key_id, after.key_id), (0, id));
        assert_eq!(before.hash, after.hash, "found by the same hash");
        assert!(vault.open(0, &after.sealed).is_err(), "names its key");
        let moved = vault.reseal(0, &before.sealed, id).unwrap();
        assert_eq!(vault.open(id, &moved).unwrap().as_str(), "6019010435474346");
        crate::auth::key_ring::remove(dir.path(), KEY_PREFIX, id).unwrap();
        vault.reload().unwrap();
        assert!(
            vault.open(id, &moved).is_err(),
            "a retired key opens nothing"
        );
    }
}
