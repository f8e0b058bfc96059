//! What is stored and read back: records (rows as the store returns them and the inputs it
//! takes), quota batches' and reconciliation's rows and reports, and the store's error. Below the ledger and the
//! store, so that both (and the services above them) can name these types without depending on
//! each other.

pub mod audit_chain;
pub mod campaigns;
pub mod change_requests;
pub mod complaints;
pub mod dormancy;
pub mod error;
pub mod members;
pub mod quota;
pub mod recon;
pub mod records;
pub mod registry_import;
pub mod representatives;
pub mod settlement;
pub mod views;
pub mod visits;
