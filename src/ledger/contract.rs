//! The one contract both engines' transfers are held to. Each engine runs its own statements
//! (PostgreSQL one statement per transfer, SQLite a few on the writer's connection) and reports
//! what each step touched, as row counts; [`outcome`] alone decides what that means. So neither
//! engine can apply half a transfer, or count a transfer that moved nothing, where the other
//! would refuse it.

use crate::{
    ledger::{Transfer, TransferKind},
    model::error::StoreError,
};

/// What one transfer's statements touched, as the engine counted rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A hold or a directly posted transfer: how many of its two accounts exist, the guarded
    /// debit, the credit, the transfer row.
    Moved {
        accounts_found: u64,
        debited: u64,
        credited: u64,
        inserted: u64,
    },
    /// A post, void or expiry of a hold: its transfer row (at most one per hold), and the two
    /// accounts whose pending totals it resolves.
    Resolved {
        inserted: u64,
        accounts_updated: u64,
    },
}

/// `Ok(true)`: the transfer moved value; `Ok(false)`: it was refused as a whole and moved
/// nothing (the guarded debit found too little, or another resolution of the hold got in
/// first); an error for anything in between, which rolls the caller's transaction back.
pub fn outcome(applied: Applied) -> Result<bool, StoreError> {
    match applied {
        // A transfer between accounts that do not exist is a defect, never a refusal.
        Applied::Moved {
            accounts_found: found,
            ..
        } if found != 2 => Err(StoreError::Check {
            constraint: "transfers_accounts_exist".into(),
        }),
        Applied::Moved { debited: 0, .. } => Ok(false),
        Applied::Moved {
            debited: 1,
            credited: 1,
            inserted: 1,
            ..
        } => Ok(true),
        Applied::Resolved { inserted: 0, .. } => Ok(false),
        Applied::Resolved {
            inserted: 1,
            accounts_updated: 2,
        } => Ok(true),
        _ => Err(StoreError::Check {
            constraint: "transfers_balanced".into(),
        }),
    }
}

/// How much of the hold a resolution posts (all of it for `Post`, nothing for a void or expiry);
/// anything but the whole held amount, or more than held, breaks the ledger's rules.
pub fn posted_of_resolution(transfer: &Transfer, held: i64) -> Result<i64, StoreError> {
    let amount = transfer.amount_minor;
    let posted = if transfer.kind == TransferKind::Post {
        amount
    } else {
        0
    };
    if posted > held || (transfer.kind != TransferKind::Post && amount != held) {
        return Err(StoreError::Check {
            constraint: "transfers_post_within_hold".into(),
        });
    }
    Ok(posted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_or_nothing_counts() {
        let moved = |debited, credited, inserted| {
            outcome(Applied::Moved {
                accounts_found: 2,
                debited,
                credited,
                inserted,
            })
        };
        assert!(moved(1, 1, 1).unwrap());
        assert!(!moved(0, 0, 0).unwrap());
        for half in [(1, 0, 1), (1, 1, 0), (1, 0, 0), (2, 1, 1)] {
            assert!(moved(half.0, half.1, half.2).is_err(), "{half:?}");
        }
        let missing = outcome(Applied::Moved {
            accounts_found: 1,
            debited: 0,
            credited: 0,
            inserted: 0,
        });
        assert!(missing.is_err());
        let resolved = |inserted, accounts_updated| {
            outcome(Applied::Resolved {
                inserted,
                accounts_updated,
            })
        };
        assert!(resolved(1, 2).unwrap());
        assert!(!resolved(0, 0).unwrap());
        for half in [(1, 1), (1, 0), (1, 3)] {
            assert!(resolved(half.0, half.1).is_err(), "{half:?}");
        }
    }
}
