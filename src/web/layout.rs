//! What every signed-in page shares: the language, the user, the CSRF token for its forms and
//! the menu of what the user's role may open.

use crate::{
    domain::role::{Permission, Role},
    web::{i18n::Tr, session::SignedIn},
};

/// A menu entry: where it goes and its text's key.
#[derive(Debug, Clone)]
pub struct MenuItem {
    pub href: &'static str,
    pub key: &'static str,
}

/// The pages a role opens from the menu, in the order the role uses them. Each is granted by
/// the same `Role::may` as the API, so a menu never offers what the page would refuse.
pub fn menu(role: Role) -> Vec<MenuItem> {
    use Permission::*;
    let all: [(&str, &str, &[Permission]); 13] = [
        ("/", "menu-home", &[]),
        ("/office", "menu-overview", &[ReadLedger]),
        ("/households", "menu-households", &[ReadRegistry]),
        ("/field", "menu-field", &[ReadOwnKelurahan]),
        (
            "/change-requests",
            "menu-change-requests",
            &[ReadRegistry, ReadLedger],
        ),
        (
            "/complaints",
            "menu-complaints",
            &[ReadRegistry, ReadLedger],
        ),
        ("/quota", "menu-quota", &[ReadLedger]),
        ("/bank", "menu-bank", &[ReadLedger]),
        ("/audit", "menu-audit", &[ReadRegistry, ReadLedger]),
        ("/kiosk", "menu-kiosk", &[Redeem]),
        ("/ewarungs", "menu-ewarungs", &[ReadEwarungs, ReadRegistry]),
        ("/programs", "menu-programs", &[ReadPrograms, ReadRegistry]),
        ("/users", "menu-users", &[ReadRegistry]),
    ];
    all.into_iter()
        .filter(|(_, _, needs)| needs.iter().all(|permission| role.may(*permission)))
        .map(|(href, key, _)| MenuItem { href, key })
        .collect()
}

/// The frame of a signed-in page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub tr: Tr,
    pub username: String,
    pub role_key: &'static str,
    pub csrf: String,
    pub menu: Vec<MenuItem>,
    /// The menu entry of this page.
    pub current: &'static str,
}

impl Layout {
    pub fn new(signed: &SignedIn, current: &'static str) -> Self {
        Self {
            tr: signed.tr(),
            username: signed.user.username.clone(),
            role_key: role_key(signed.role()),
            csrf: signed.csrf().to_string(),
            menu: menu(signed.role()),
            current,
        }
    }
}

pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Admin => "role-admin",
        Role::Office => "role-office",
        Role::Operator => "role-operator",
        Role::Bank => "role-bank",
        Role::Auditor => "role-auditor",
        Role::Verifier => "role-verifier",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hrefs(role: Role) -> Vec<&'static str> {
        menu(role).into_iter().map(|item| item.href).collect()
    }

    #[test]
    fn each_role_sees_only_its_pages() {
        assert_eq!(
            hrefs(Role::Office),
            [
                "/",
                "/office",
                "/households",
                "/change-requests",
                "/complaints",
                "/quota",
                "/bank",
                "/audit",
                "/ewarungs",
                "/programs",
                "/users"
            ]
        );
        assert_eq!(hrefs(Role::Operator), ["/", "/kiosk"]);
        assert_eq!(hrefs(Role::Verifier), ["/", "/field"]);
        assert_eq!(hrefs(Role::Bank), ["/", "/office", "/quota", "/bank"]);
        // Auditors open every page offices do, and find no form there.
        assert_eq!(hrefs(Role::Auditor), hrefs(Role::Office));
        assert_eq!(
            hrefs(Role::Admin),
            ["/", "/households", "/ewarungs", "/programs", "/users"]
        );
    }
}
