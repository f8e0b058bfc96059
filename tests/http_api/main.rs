//! The HTTP API, end to end: the real server on a random port, over real HTTP, against SQLite and
//! PostgreSQL. Every case runs on both backends (`on_both_backends!`).

#[path = "../common/mod.rs"]
mod common;

mod audit_trail;
mod auth;
mod backup;
mod bad_input;
mod campaigns;
mod cards;
mod change_requests;
mod complaints;
mod days;
mod dormancy;
mod ledger_contract;
mod members;
mod metrics;
mod money_limits;
mod operations;
mod pin_blocks;
mod quota;
mod read_ahead;
mod redemptions;
mod registry;
mod registry_imports;
mod representatives;
mod timeouts;
mod verifiers;
mod web;
mod web_client;
mod web_complaints;
mod web_field;
mod web_language;
mod web_members;
mod web_refusals;
mod web_requests;
mod web_saldo;
