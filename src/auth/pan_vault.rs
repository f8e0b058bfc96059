//! Card numbers at rest. The database never holds a card number in clear: a card is found by a
//! keyed hash of its number (HMAC-SHA-256, so a stolen table cannot be searched by hashing every
//! possible number of the issuer's range), and the number itself is kept encrypted (AES-256-GCM)
//! for the few places that need it back (a new PIN's verification value). Both keys are derived
//! from the host's PIN key, which lives outside the database; the last four digits are kept in
//! clear for display.

use aes_gcm::Aes256Gcm;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::auth::sealing;

/// Versioned, so the derivation can change without guessing which rows use which.
const LOOKUP_LABEL: &[u8] = b"ssn-pan-lookup-v1";
const SEAL_LABEL: &[u8] = b"ssn-pan-seal-v1";
/// Bound into every sealed number as associated data.
const AAD: &[u8] = b"cards.pan_encrypted";

pub struct PanVault {
    lookup_key: Zeroizing<Vec<u8>>,
    cipher: Aes256Gcm,
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
}

impl std::fmt::Debug for StoredPan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredPan(************{})", self.last4)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored card number does not open (another host key, or tampered)")]
pub struct SealError;

impl PanVault {
    /// `pin_key` is the host's PIN key (see `secrets`).
    pub fn new(pin_key: &[u8]) -> Self {
        Self {
            lookup_key: sealing::derive_key(pin_key, LOOKUP_LABEL),
            cipher: sealing::cipher(pin_key, SEAL_LABEL),
        }
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
        StoredPan {
            hash: self.lookup_hash(pan),
            sealed: sealing::seal(&self.cipher, pan.as_bytes(), AAD),
            last4: crate::domain::pan::last_four(pan).to_string(),
        }
    }

    /// The number back from `cards.pan_encrypted`.
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<String>, SealError> {
        let plain = sealing::open(&self.cipher, sealed, AAD).ok_or(SealError)?;
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
        let vault = PanVault::new(&[7u8; 32]);
        let stored = vault.protect("6019010435474346");
        assert_eq!(stored.last4, "4346");
        assert_eq!(stored.hash, vault.lookup_hash("6019010435474346"));
        assert_ne!(stored.hash, vault.lookup_hash("6019010435474347"));
        assert_eq!(
            vault.open(&stored.sealed).unwrap().as_str(),
            "6019010435474346"
        );
        assert!(
            !stored.sealed.windows(4).any(|w| w == b"4346"),
            "sealed, not in clear"
        );
        let other = PanVault::new(&[8u8; 32]);
        assert!(other.open(&stored.sealed).is_err());
        assert_ne!(other.lookup_hash("6019010435474346"), stored.hash);
        assert_eq!(format!("{stored:?}"), "StoredPan(************4346)");
        assert!(!format!("{vault:?}").contains('7'));
    }
}
