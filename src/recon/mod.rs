//! Reconciliation of a closed business date against the bank's settlement file: every line of
//! either side ends in exactly one category (see `crate::model::recon::Category`), the run and its exceptions
//! are recorded, and the same file for the same date is one run however often it is sent.

pub mod bank_file;
pub mod matcher;
pub mod report;
pub mod run;
