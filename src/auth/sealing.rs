//! Secrets the host must be able to read back (terminals' PIN keys, card numbers), sealed with
//! AES-256-GCM under keys derived from the host's PIN key, which lives outside the database. One
//! format for all of them: a random 12-byte nonce, then ciphertext and tag; the associated data
//! binds a sealed value to where it belongs.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;

/// A 32-byte key for one purpose, derived from the host's PIN key (HMAC-SHA-256 of a label).
pub fn derive_key(master: &[u8], label: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// An AES-256-GCM cipher under a derived key.
pub fn cipher(master: &[u8], label: &[u8]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(&derive_key(master, label)).expect("32-byte key")
}

/// `nonce | ciphertext+tag`.
pub fn seal(cipher: &Aes256Gcm, message: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: message, aad })
        .expect("AES-GCM encrypts a short secret");
    [nonce.as_slice(), &sealed].concat()
}

/// The message back; `None` when it was sealed under another key or for other associated data,
/// or was tampered with.
pub fn open(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}
