//! The pages, one module per area.

pub mod audit;
pub mod audit_trail;
pub mod auth;
pub mod bank;
pub mod campaigns;
pub mod cards;
pub mod change_requests;
pub mod complaints;
pub mod dormancy;
pub mod ewarungs;
pub mod home;
pub mod households;
pub mod kiosk;
pub mod members;
pub mod office;
pub mod programs;
pub mod quota;
pub mod register;
pub mod registry_imports;
pub mod representatives;
pub mod saldo;
pub mod status_change;
pub mod users;
pub mod visits;
