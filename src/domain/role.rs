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
            ),
            Role::Operator => matches!(permission, ReadEwarungs | ReadPrograms),
            Role::Bank => matches!(permission, ReadEwarungs | ReadPrograms),
            Role::Auditor => matches!(permission, ReadRegistry | ReadEwarungs | ReadPrograms),
        }
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
        ] {
            assert!(!Role::Auditor.may(p), "{p:?}");
        }
        for p in [ReadRegistry, ReadEwarungs, ReadPrograms] {
            assert!(Role::Auditor.may(p), "{p:?}");
        }
    }

    #[test]
    fn operators_cannot_touch_the_registry() {
        assert!(!Role::Operator.may(Permission::ReadRegistry));
        assert!(!Role::Operator.may(Permission::ManageCards));
        assert!(!Role::Bank.may(Permission::ManageHouseholds));
    }
}
