//! Monthly quota loading: a city office uploads a file of `period,program_code,kk_number,amount_idr`
//! rows; it is validated whole, approved by a different office user, and posted atomically, each
//! household credited at most once per program and period across all batches. Entitlement that
//! outlives the program's carry-over returns to program funding (`expire`).

pub mod parse;
pub mod posting;
pub mod tally;
pub mod upload;

pub use crate::model::quota::*;
pub use tally::BatchTally;
