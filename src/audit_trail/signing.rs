//! The key that signs each closed business date's audit head: Ed25519, kept outside the database
//! (configured, or generated once into the data directory like the other keys), so that someone
//! who can rewrite the database still cannot sign a head for what they wrote.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::domain::chain::HeadStatement;

/// The file the key is generated into when none is configured.
pub const KEY_FILE: &str = "audit-signing.key";

pub struct AuditSigner {
    key: SigningKey,
}

// The private key never reaches a log.
impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

impl AuditSigner {
    /// The configured key (base64 of at least 32 bytes: the first 32 are the Ed25519 seed), or
    /// the one in the data directory, generated there when absent.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let bytes = crate::secrets::load_or_create(configured, data_dir, KEY_FILE)?;
        Self::from_secret(&bytes)
    }

    /// As `load_or_create`, but never makes a key (for commands that check what a server signed).
    pub fn load_existing(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let bytes = crate::secrets::load_existing(configured, data_dir, KEY_FILE)?;
        Self::from_secret(&bytes)
    }

    fn from_secret(bytes: &[u8]) -> anyhow::Result<Self> {
        let seed: [u8; 32] = bytes
            .get(..32)
            .and_then(|seed| seed.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("the audit signing key must be at least 32 bytes"))?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key().as_bytes())
    }

    /// The signature (base64) of a head's statement.
    pub fn sign(&self, statement: &HeadStatement) -> String {
        STANDARD.encode(self.key.sign(statement.message().as_bytes()).to_bytes())
    }
}

/// A public key from its hex text.
pub fn parse_public_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("a public key is 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| anyhow::anyhow!("not an Ed25519 public key"))
}

/// Whether `signature` (base64) is `key`'s over the statement.
pub fn signature_holds(key: &VerifyingKey, statement: &HeadStatement, signature: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(statement.message().as_bytes(), &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> HeadStatement {
        HeadStatement {
            business_date: "2026-12-07".into(),
            first_seq: 1,
            last_seq: 3,
            root: [7; 32],
            chain: [8; 32],
            signed_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_signature_holds_for_its_statement_and_key_only() {
        let signer = AuditSigner::from_secret(&[1; 32]).unwrap();
        let other = AuditSigner::from_secret(&[2; 32]).unwrap();
        let signature = signer.sign(&statement());
        assert!(signature_holds(
            &signer.public_key(),
            &statement(),
            &signature
        ));
        assert!(!signature_holds(
            &other.public_key(),
            &statement(),
            &signature
        ));
        let mut changed = statement();
        changed.last_seq = 4;
        assert!(!signature_holds(&signer.public_key(), &changed, &signature));
        assert!(!signature_holds(
            &signer.public_key(),
            &statement(),
            "not base64!"
        ));
        assert_eq!(
            parse_public_key(&signer.public_key_hex()).unwrap(),
            signer.public_key()
        );
        assert!(!format!("{signer:?}").contains("[1"));
    }
}
