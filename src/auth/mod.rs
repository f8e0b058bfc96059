//! Who is calling and what they proved: user passwords (argon2id), access tokens (JWT, one
//! configured algorithm only), and card PIN verification values (HMAC-SHA-256 under a key that
//! never enters the database).

pub mod address_throttle;
pub mod card_policy;
pub mod jwt;
pub mod key_ring;
pub mod login_throttle;
pub mod pan_vault;
pub mod password;
pub mod password_workers;
pub mod pin;
pub mod saldo_grant;
pub mod sealing;
pub mod terminal_keys;
