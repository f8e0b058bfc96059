//! Redemptions: what a terminal asks of the host (authorize a basket, complete, void, reverse, ask
//! the balance) and the rules that answer it. The rules run as ledger jobs, so each request is one
//! transaction on either database, and every answer that moves value is idempotent.

pub mod answer;
pub mod codes;
pub mod engine;
pub mod request;
pub mod response;
pub mod sweeper;

pub use codes::ResponseCode;
