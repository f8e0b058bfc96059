//! Per-terminal PIN keys at rest. The host must be able to use a terminal's key (to decipher PIN
//! blocks), so the key cannot be hashed; it is stored wrapped with AES-256-GCM under a key
//! derived from the PIN key, which lives outside the database. The terminal id is bound in as
//! associated data, so a wrapped key copied onto another terminal's row does not unwrap.

use aes_gcm::Aes256Gcm;

use crate::auth::sealing;
use terminal_link::pin_block::TerminalKey;

/// Versioned so the wrapping can change without guessing which rows use which.
const DERIVATION_LABEL: &[u8] = b"ssn-terminal-pin-key-wrap-v1";

pub struct TerminalKeyVault {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
#[error("the stored PIN key of terminal {0} does not unwrap (another host key, or tampered)")]
pub struct UnwrapError(pub String);

impl TerminalKeyVault {
    /// `pin_key` is the host's PIN key (see `secrets`); the wrapping key is derived from it.
    pub fn new(pin_key: &[u8]) -> Self {
        Self {
            cipher: sealing::cipher(pin_key, DERIVATION_LABEL),
        }
    }

    /// `nonce | ciphertext+tag`, for the `terminals.pin_key_wrapped` column.
    pub fn wrap(&self, terminal_id: &str, key: &TerminalKey) -> Vec<u8> {
        sealing::seal(&self.cipher, key.expose_bytes(), terminal_id.as_bytes())
    }

    pub fn unwrap(&self, terminal_id: &str, wrapped: &[u8]) -> Result<TerminalKey, UnwrapError> {
        let failed = || UnwrapError(terminal_id.to_string());
        let key =
            sealing::open(&self.cipher, wrapped, terminal_id.as_bytes()).ok_or_else(failed)?;
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
