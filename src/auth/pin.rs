//! PIN verification values. A 4–6 digit PIN has at most a million values, so no slow hash can
//! protect it once the hash and salt are known; what protects it is a key the attacker does not
//! have. As banks do with a PVV, the stored value is HMAC-SHA-256 under a PIN key that lives outside
//! the database, with the card number as salt. It is fast enough to check on every purchase.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::pin::Pin;

/// Versioned so the scheme can change later without guessing which rows use which.
const DOMAIN: &[u8] = b"ssn-pvv-v1";

#[derive(Clone)]
pub struct PinHasher {
    key: zeroize::Zeroizing<Vec<u8>>,
}

impl PinHasher {
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: zeroize::Zeroizing::new(key.to_vec()),
        }
    }

    fn mac(&self, pan: &str, pin: &Pin) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(DOMAIN);
        mac.update(pan.as_bytes());
        mac.update(&[0]);
        mac.update(pin.digits().as_bytes());
        mac
    }

    pub fn verification_value(&self, pan: &str, pin: &Pin) -> Vec<u8> {
        self.mac(pan, pin).finalize().into_bytes().to_vec()
    }

    /// Constant-time comparison against the stored value.
    pub fn verify(&self, pan: &str, pin: &Pin, stored: &[u8]) -> bool {
        self.mac(pan, pin).verify_slice(stored).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_depends_on_key_card_and_pin() {
        let hasher = PinHasher::new(b"key one");
        let pin = Pin::parse("123456").unwrap();
        let stored = hasher.verification_value("6019010000000001", &pin);
        assert!(hasher.verify("6019010000000001", &pin, &stored));
        assert!(!hasher.verify("6019010000000002", &pin, &stored));
        assert!(!hasher.verify("6019010000000001", &Pin::parse("123457").unwrap(), &stored));
        assert!(!PinHasher::new(b"key two").verify("6019010000000001", &pin, &stored));
    }
}
