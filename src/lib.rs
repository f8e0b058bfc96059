//! # ssn: the SSN card transaction service
//!
//! Samarinda's non-cash food assistance moves from a program's budget onto households' cards, out
//! through E-Warung kiosks' EDC terminals, and back to the bank that settles with the kiosks. This
//! crate is the host for all of it.
//!
//! A tour of the rooms:
//! - [`domain`]: pure rules and values that parse instead of validate (`Pan`, `KkNumber`, `Amount`,
//!   roles and permissions, card and household states). No I/O.
//! - [`store`]: every SQL statement, behind the one [`store::Store`] trait with a SQLite and a
//!   PostgreSQL implementation.
//! - [`auth`]: password hashing (argon2id), JWTs, and PIN verification values (keyed HMAC).
//! - [`http`]: the axum router, the one error enum mapped to responses, the auth extractor, and thin
//!   handlers.
//! - [`config`], [`startup`], [`telemetry`]: turning flags into a running, observable server.
//! - [`demo`]: the demo data behind `ssn serve --demo`.
//!
//! A request flows: router → `http::auth::Caller` extractor (JWT → role, E-Warung) → handler parses its
//! body into domain values (`http::json::Body`) → a permission check → a `Store` call in one
//! transaction → a record serialised as JSON. Any failure on the way is an `http::error::ApiError`.

pub mod abandon;
pub mod auth;
pub mod business_day;
pub mod cards;
pub mod cli;
pub mod client;
pub mod close;
pub mod config;
pub mod csv_input;
pub mod demo;
pub mod domain;
pub mod gateway;
pub mod http;
pub mod ledger;
pub mod login;
pub mod model;
pub mod pin_check;
pub mod quota;
pub mod recon;
pub mod redemption;
pub mod secrets;
pub mod settlement;
pub mod startup;
pub mod store;
pub mod telemetry;
