//! Per-terminal PIN keys at rest. The host must be able to use a terminal's key (to decipher PIN
//! blocks), so the key cannot be hashed; it is stored wrapped with AES-256-GCM under a key
//! derived from the PIN key, which lives outside the database. The terminal id is bound in as
//! associated data, so a wrapped key copied onto another terminal's row does not unwrap.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::terminal::pin_block::TerminalKey;

/// Versioned so the wrapping can change without guessing which rows use which.
const DERIVATION_LABEL: &[u8] = b"ssn-terminal-pin-key-wrap-v1";
const NONCE_LEN: usize = 12;

pub struct TerminalKeyVault {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
#[error("the stored PIN key of terminal {0} does not unwrap (another host key, or tampered)")]
pub struct UnwrapError(pub String);

impl TerminalKeyVault {
    /// `pin_key` is the host's PIN key (see `secrets`); the wrapping key is derived from it.
    pub fn new(pin_key: &[u8]) -> Self {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(pin_key).expect("HMAC takes any key length");
        mac.update(DERIVATION_LABEL);
        let derived = Zeroizing::new(mac.finalize().into_bytes().to_vec());
        Self {
            cipher: Aes256Gcm::new_from_slice(&derived).expect("32-byte key"),
        }
    }

    /// `nonce | ciphertext+tag`, for the `terminals.pin_key_wrapped` column.
    pub fn wrap(&self, terminal_id: &str, key: &TerminalKey) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key.expose_bytes(),
                    aad: terminal_id.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any 16 bytes");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn unwrap(&self, terminal_id: &str, wrapped: &[u8]) -> Result<TerminalKey, UnwrapError> {
        let failed = || UnwrapError(terminal_id.to_string());
        if wrapped.len() <= NONCE_LEN {
            return Err(failed());
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let key = Zeroizing::new(
            self.cipher
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: terminal_id.as_bytes(),
                    },
                )
                .map_err(|_| failed())?,
        );
        TerminalKey::from_bytes(&key).map_err(|_| failed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_unwraps_only_for_its_terminal_and_host_key() {
        let vault = TerminalKeyVault::new(b"host pin key, at least 32 bytes long");
        let key = TerminalKey::generate();
        let wrapped = vault.wrap("SMD00001", &key);
        assert!(!wrapped
            .windows(16)
            .any(|window| window == key.expose_bytes()));
        let back = vault.unwrap("SMD00001", &wrapped).unwrap();
        assert_eq!(back.expose_bytes(), key.expose_bytes());
        assert!(vault.unwrap("SMD00002", &wrapped).is_err());
        assert!(TerminalKeyVault::new(b"another host key of 32 bytes....")
            .unwrap("SMD00001", &wrapped)
            .is_err());
        assert!(vault.unwrap("SMD00001", &wrapped[..10]).is_err());
    }
}
