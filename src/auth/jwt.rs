//! Access tokens. HS256 with a 256-bit key from configuration or generated once into the data
//! directory; issuer and audience are checked; only the configured algorithm is accepted, so a token
//! claiming `alg: none` or another algorithm is refused before its signature is even considered.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
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

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
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
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, expires))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}
