//! Numbers people quote (a change request's, a complaint's): the next after the highest, taken
//! in the inserting statement. Two writers on PostgreSQL may take the same one; the unique
//! index sends the later back, and it tries again.

use std::future::Future;

use crate::store::{StoreError, StoreResult};

/// Tries before a lost race for a number is reported.
const TRIES: usize = 3;

/// Runs `insert` again while it loses the race for the next number (`constraint` is the
/// number's unique index), at most [`TRIES`] times.
pub(crate) async fn with_next_number<T, F, Fut>(constraint: &str, mut insert: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match insert().await {
            Err(StoreError::Duplicate { constraint: lost })
                if lost == constraint && tries < TRIES =>
            {
                continue
            }
            other => return other,
        }
    }
}
