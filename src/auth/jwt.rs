//! Access tokens. HS256 with a 256-bit key from configuration or generated once into the data
//! directory; issuer and audience are checked; only the configured algorithm is accepted, so a token
//! claiming `alg: none` or another algorithm is refused before its signature is even considered.
//!
//! The signing key rotates (`auth::key_ring`, files `jwt-key-N.key`): a token names its key in
//! its header's `kid` (a token without one was signed with key 0, the first key), new tokens are
//! signed with the newest key, and a token signed with an older key is accepted until it expires,
//! or until that key is retired.

use std::{path::Path, time::Duration};

use chrono::Utc;
use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};

use crate::auth::key_ring::KeyRing;

/// The numbered signing keys' file names: `jwt-key-N.key` in the data directory.
pub const KEY_PREFIX: &str = "jwt-key";
use serde::{Deserialize, Serialize};

use crate::domain::{
    ids::{EwarungId, UserId},
    role::Role,
};

pub const ISSUER: &str = "ssn";
pub const AUDIENCE: &str = "ssn-api";
/// Clock skew tolerated on `exp`, kept small because tokens only live minutes.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub name: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ewarung: Option<EwarungId>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's token generation when this token was issued (see the revocations module).
    #[serde(default)]
    pub gen: i64,
}

struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

pub struct JwtKeys {
    keys: KeyRing<SigningKey>,
    validation: Validation,
    pub ttl: Duration,
}

impl JwtKeys {
    /// `secret` is key 0; `key_dir` holds the rotated keys (the data directory).
    pub fn new(secret: &[u8], key_dir: &Path, ttl: Duration) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self {
            keys: KeyRing::open(key_dir, KEY_PREFIX, secret, |key| SigningKey {
                encoding: EncodingKey::from_secret(key),
                decoding: DecodingKey::from_secret(key),
            })?,
            validation,
            ttl,
        })
    }

    pub fn issue(
        &self,
        user: UserId,
        name: &str,
        role: Role,
        ewarung: Option<EwarungId>,
        generation: i64,
    ) -> anyhow::Result<(String, chrono::DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + chrono::Duration::from_std(self.ttl)?;
        let claims = Claims {
            sub: user,
            name: name.to_string(),
            role: role.as_str().to_string(),
            ewarung,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            gen: generation,
        };
        let (id, key) = self.keys.newest();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(id.to_string());
        let token = encode(&header, &claims, &key.encoding)?;
        Ok((token, expires))
    }

    /// Reads the key directory again (after a rotation made or retired a key).
    pub fn reload(&self) -> anyhow::Result<()> {
        self.keys.reload()
    }

    /// The token's claims, checked against the key its `kid` names (key 0 without one); a key
    /// this server does not hold (retired, or never made) fails like a bad signature.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let header = decode_header(token)?;
        let id = match header.kid.as_deref() {
            None => 0,
            Some(kid) => kid.parse::<u32>().map_err(|_| ErrorKind::InvalidToken)?,
        };
        let key = self.keys.get(id).ok_or(ErrorKind::InvalidSignature)?;
        decode::<Claims>(token, &key.decoding, &self.validation).map(|data| data.claims)
    }
}
