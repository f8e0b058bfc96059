//! The short-lived grant a `/saldo` statement gives its reader to file a complaint about their
//! household without typing card and PIN again: the household, the card and an expiry, signed
//! with HMAC-SHA-256 under a key derived from the PIN key (so every server of one deployment
//! accepts every other's grants). It names no card number and is good for [`GRANT_MINUTES`].

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::ids::{CardId, HouseholdId};

/// How long after the statement a complaint may be filed with its grant.
pub const GRANT_MINUTES: i64 = 30;

pub struct SaldoGrants {
    key: [u8; 32],
}

impl std::fmt::Debug for SaldoGrants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SaldoGrants(…)")
    }
}

impl SaldoGrants {
    pub fn new(pin_key: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(pin_key).expect("HMAC takes any key");
        mac.update(b"ssn/saldo-complaint-grant/v1");
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Self { key }
    }

    fn mac(&self, body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// A grant for `household` and `card`, good until `now` + [`GRANT_MINUTES`].
    pub fn issue(&self, household: HouseholdId, card: CardId, now: DateTime<Utc>) -> String {
        let expires = (now + chrono::Duration::minutes(GRANT_MINUTES)).timestamp();
        let mut body = Vec::with_capacity(40);
        body.extend_from_slice(household.0.as_bytes());
        body.extend_from_slice(card.0.as_bytes());
        body.extend_from_slice(&expires.to_be_bytes());
        let mac = self.mac(&body);
        format!("{}.{}", hex::encode(&body), hex::encode(mac))
    }

    /// The household and card of a grant that is this deployment's and not expired at `now`.
    pub fn verify(&self, grant: &str, now: DateTime<Utc>) -> Option<(HouseholdId, CardId)> {
        let (body, mac) = grant.split_once('.')?;
        let body = hex::decode(body).ok()?;
        let mac = hex::decode(mac).ok()?;
        if body.len() != 40 {
            return None;
        }
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        check.update(&body);
        check.verify_slice(&mac).ok()?;
        let expires = i64::from_be_bytes(body[32..40].try_into().ok()?);
        if now.timestamp() > expires {
            return None;
        }
        let household = uuid::Uuid::from_slice(&body[..16]).ok()?;
        let card = uuid::Uuid::from_slice(&body[16..32]).ok()?;
        Some((HouseholdId(household), CardId(card)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_good_for_its_household_until_it_expires_and_cannot_be_forged() {
        let grants = SaldoGrants::new(b"a pin key of this deployment");
        let (household, card) = (HouseholdId::new(), CardId::new());
        let now = Utc::now();
        let grant = grants.issue(household, card, now);
        assert_eq!(grants.verify(&grant, now), Some((household, card)));
        let later = now + chrono::Duration::minutes(GRANT_MINUTES + 1);
        assert_eq!(grants.verify(&grant, later), None, "expired");
        let other = SaldoGrants::new(b"another deployment");
        assert_eq!(other.verify(&grant, now), None, "another key");
        // Another household in the body, the same signature: refused.
        let (body, mac) = grant.split_once('.').unwrap();
        let mut bytes = hex::decode(body).unwrap();
        bytes[0] ^= 1;
        let forged = format!("{}.{mac}", hex::encode(bytes));
        assert_eq!(grants.verify(&forged, now), None);
        assert_eq!(grants.verify("garbage", now), None);
    }
}
