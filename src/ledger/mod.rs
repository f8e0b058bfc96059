//! The double-entry ledger: accounts, immutable balanced transfers, and the rules that move value
//! (quota loading, holds for purchases, posting, voiding, refunds, expiry). The rules are written
//! once against [`LedgerTx`], a transaction on either database; the SQL behind it lives in `store`.
//!
//! Balances follow the pending/posted model of payment ledgers: a hold raises `debits_pending` on
//! the household's entitlement and `credits_pending` on the E-Warung's payable; posting or voiding
//! it is a *new* transfer naming the hold (`pending_id`), and a unique index lets it resolve once.

pub mod accounts;
pub mod contract;
pub mod settlement;
pub mod settlement_review;
pub mod tx;
pub mod verify;

pub use accounts::{AccountBalance, AccountKind, TransferKind};
pub use tx::{LedgerJob, LedgerTx, ReadAheadPlan, Transfer};
