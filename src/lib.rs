//! # ssn: the SSN card transaction service
//!
//! Samarinda's non-cash food assistance moves from a program's budget onto households' cards, out
//! through E-Warung kiosks' EDC terminals, and back to the bank that settles with the kiosks. This
//! crate is the host for all of it.
//!
//! A tour of the rooms, from the bottom up (`tests/architecture.rs` checks on the source that the
//! modules form no cycle, that domain, model, ledger and store use only what is below them, and
//! that the store's own modules form no cycle):
//! - [`domain`]: pure rules and values that parse instead of validate (`Pan`, `KkNumber`, money
//!   as checked minor units, roles and permissions, card, household and purchase states and their
//!   transitions). No I/O.
//! - [`model`]: what is stored and read back (records, quota and reconciliation rows) and
//!   [`model::error::StoreError`].
//! - [`ledger`]: the double-entry rules: account and transfer kinds, [`ledger::LedgerTx`] (a
//!   transaction seen through the operations money needs), [`ledger::LedgerJob`], the checks of
//!   `ssn ledger verify`.
//! - [`store`]: every SQL statement, behind the [`store::Store`] trait with a SQLite and a
//!   PostgreSQL implementation (SQLite's ledger jobs go through one writer with group commit).
//! - services: [`redemption`] (the terminal rules, written once against `LedgerTx`),
//!   [`cards`], [`registry`] (households, members, change requests, field visits, users,
//!   programs, E-Warungs), [`beneficiary`] (`/saldo`'s statement), [`photos`] (visits' photos
//!   as files), [`quota`], [`recon`], [`close`], [`settlement`], [`login`], [`pin_check`],
//!   [`business_day`], [`revocations`] (which API tokens no longer speak for their user);
//!   [`auth`] holds the keys and hashes they use; [`periodic`] runs the jobs that repeat.
//! - front ends: [`http`] (the axum router, one error enum mapped to responses, thin handlers),
//!   [`web`] (the pages people use: server-rendered HTML, sessions, forms, texts in Fluent),
//!   [`gateway`] (terminals on serial lines, through the `terminal_link` crate), [`client`] (the
//!   batch commands that call the API), [`cli`], [`config`], [`startup`], [`telemetry`], [`demo`].
//!
//! How a purchase flows: `POST /v1/redemptions/authorize` → [`http::redemptions::authorize`]
//! (the `Caller` extractor checked the JWT; the body parsed into an
//! [`redemption::request::AuthorizeRequest`]) → [`store::run_job`] with a
//! [`redemption::engine::Authorize`] job → the store runs the job in one write transaction
//! (SQLite: queued to the group-commit writer, `store::sqlite::group_commit`; PostgreSQL: a pooled
//! transaction with bounded retries) → `Authorize::run` checks terminal, card, PIN, basket and
//! balance through [`ledger::LedgerTx`] (SQLite: `store::sqlite::ledger_tx`; PostgreSQL:
//! `store::postgres::ledger_tx`) and places the hold with `LedgerTx::apply_transfer` → the
//! answer is stored with the request (a replay gets the same bytes) and committed before it is
//! sent. Complete, void and reversal follow the same path with a
//! [`redemption::engine::FollowUp`], whose effect in each state is [`domain::purchase::transition`].

pub mod abandon;
pub mod audit_trail;
pub mod auth;
pub mod backup;
pub mod beneficiary;
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
pub mod keys;
pub mod ledger;
pub mod login;
pub mod metrics;
pub mod model;
pub mod periodic;
pub mod photos;
pub mod pin_check;
pub mod quota;
pub mod recon;
pub mod redemption;
pub mod registry;
pub mod revocations;
pub mod secrets;
pub mod settlement;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
