//! Roles and what each may do. The whole access policy is the one `match` in [`Role::may`], so a
//! reviewer can read least privilege off a single screen.

use crate::string_enum;

string_enum!(
    /// The five kinds of user.
    Role, "invalid_role", {
        Admin => "admin",
        Office => "office",
        Operator => "operator",
        Bank => "bank",
        Auditor => "auditor",
        Verifier => "verifier",
    }
);

/// Something a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Create users and bind operators to an E-Warung.
    ManageUsers,
    /// Define programs and their food catalogs.
    ManagePrograms,
    /// Register households, change their data and status.
    ManageHouseholds,
    /// Issue, block, replace and unlock cards; set PINs.
    ManageCards,
    /// Register E-Warungs and their terminals.
    ManageEwarungs,
    /// Read the whole registry (households, cards, users).
    ReadRegistry,
    /// Read E-Warungs and terminals. Operators also hold this, limited to their own E-Warung.
    ReadEwarungs,
    /// Read programs and catalogs (an operator needs the catalog to sell).
    ReadPrograms,
    /// Authorize, complete, void and reverse purchases at a terminal of one's own E-Warung.
    Redeem,
    /// Upload monthly quota files, approve another user's upload, expire old entitlement.
    LoadQuotas,
    /// Read balances, transfers, quota batches and redemptions, closes, reconciliation runs and
    /// settlements.
    ReadLedger,
    /// Close a business date.
    CloseDays,
    /// Run reconciliation against the bank's settlement file, and settle matched amounts.
    Reconcile,
    /// Resolve a reconciliation exception with a reason.
    ResolveExceptions,
    /// Write change requests to households (and proposed households).
    ProposeChanges,
    /// Approve, reject or return others' change requests.
    DecideChanges,
    /// Read the households of one's own kelurahan only (a verifier; see `Role::is_bound_to_kelurahan`).
    ReadOwnKelurahan,
    /// Record field visits to households.
    RecordVisits,
    /// Take complaints in, assign and resolve them.
    HandleComplaints,
}

impl Role {
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => matches!(
                permission,
                ManageUsers
                    | ManagePrograms
                    | ManageEwarungs
                    | ReadRegistry
                    | ReadEwarungs
                    | ReadPrograms
            ),
            Role::Office => matches!(
                permission,
                ManagePrograms
                    | ManageHouseholds
                    | ManageCards
                    | ManageEwarungs
                    | ReadRegistry
                    | ReadEwarungs
                    | ReadPrograms
                    | LoadQuotas
                    | ReadLedger
                    | ResolveExceptions
                    | ProposeChanges
                    | DecideChanges
                    | HandleComplaints
            ),
            Role::Operator => matches!(permission, ReadEwarungs | ReadPrograms | Redeem),
            Role::Bank => matches!(
                permission,
                ReadEwarungs
                    | ReadPrograms
                    | ReadLedger
                    | CloseDays
                    | Reconcile
                    | ResolveExceptions
            ),
            Role::Auditor => matches!(
                permission,
                ReadRegistry | ReadEwarungs | ReadPrograms | ReadLedger
            ),
            // In the field: the households of their kelurahan, visits, and proposals; nothing
            // changes a household until the office approves it.
            Role::Verifier => {
                matches!(permission, ReadOwnKelurahan | RecordVisits | ProposeChanges)
            }
        }
    }

    /// Verifiers work only in the kelurahan they are bound to.
    pub fn is_bound_to_kelurahan(self) -> bool {
        self == Role::Verifier
    }

    /// Operators are the only role bound to one E-Warung.
    pub fn is_bound_to_ewarung(self) -> bool {
        self == Role::Operator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_can_read_everything_and_change_nothing() {
        use Permission::*;
        for p in [
            ManageUsers,
            ManagePrograms,
            ManageHouseholds,
            ManageCards,
            ManageEwarungs,
            Redeem,
            LoadQuotas,
            CloseDays,
            Reconcile,
            ResolveExceptions,
            ProposeChanges,
            DecideChanges,
            HandleComplaints,
        ] {
            assert!(!Role::Auditor.may(p), "{p:?}");
        }
        for p in [ReadRegistry, ReadEwarungs, ReadPrograms, ReadLedger] {
            assert!(Role::Auditor.may(p), "{p:?}");
        }
    }

    #[test]
    fn operators_cannot_touch_the_registry() {
        assert!(!Role::Operator.may(Permission::ReadRegistry));
        assert!(!Role::Operator.may(Permission::ManageCards));
        assert!(!Role::Bank.may(Permission::ManageHouseholds));
        assert!(!Role::Operator.may(Permission::LoadQuotas));
        assert!(!Role::Operator.may(Permission::ReadLedger));
    }

    #[test]
    fn only_the_bank_closes_and_reconciles_and_only_bank_or_office_resolve() {
        for role in Role::ALL {
            let bank = *role == Role::Bank;
            assert_eq!(role.may(Permission::CloseDays), bank, "{role}");
            assert_eq!(role.may(Permission::Reconcile), bank, "{role}");
            assert_eq!(
                role.may(Permission::ResolveExceptions),
                bank || *role == Role::Office,
                "{role}"
            );
        }
    }

    #[test]
    fn a_verifier_proposes_and_visits_but_decides_and_changes_nothing() {
        use Permission::*;
        for p in [
            ReadRegistry,
            ManageHouseholds,
            ManageCards,
            DecideChanges,
            LoadQuotas,
            ReadLedger,
            Redeem,
        ] {
            assert!(!Role::Verifier.may(p), "{p:?}");
        }
        for p in [ReadOwnKelurahan, RecordVisits, ProposeChanges] {
            assert!(Role::Verifier.may(p), "{p:?}");
        }
        assert!(
            !Role::Office.may(ReadOwnKelurahan),
            "the office reads every household"
        );
    }

    #[test]
    fn only_operators_redeem() {
        for role in Role::ALL {
            assert_eq!(
                role.may(Permission::Redeem),
                *role == Role::Operator,
                "{role}"
            );
        }
    }
}
