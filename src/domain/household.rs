//! Households: the unit the program supports. Their data changes every month in the field (people
//! move, die, find work), so every change is a revision with who, when, what and why.

use serde::{Deserialize, Serialize};

use crate::{
    domain::{Invalid, Refusals},
    string_enum,
};

string_enum!(
    /// Whether the household may receive and spend entitlement.
    HouseholdStatus, "invalid_household_status", {
        Active => "active",
        Suspended => "suspended",
        Exited => "exited",
    }
);

impl HouseholdStatus {
    /// An exited household has left the program; coming back is a new registration decision,
    /// recorded as a new status change from `exited` to `active` with its reason, which is allowed.
    pub fn may_spend(self) -> bool {
        self == HouseholdStatus::Active
    }
}

/// A Samarinda address down to the neighbourhood unit (RT/RW), which is how field checks are routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and house number.
    pub street: String,
    /// Neighbourhood unit, e.g. "012".
    pub rt: String,
    /// Community unit, e.g. "003".
    pub rw: String,
    pub kelurahan: String,
    pub kecamatan: String,
}

/// An RT or RW number: 1 to 3 digits, kept zero-padded to 3 (`"12"` → `"012"`).
pub fn neighbourhood_unit(value: &str, field: &str) -> Result<String, Invalid> {
    let value = value.trim();
    let ok = (1..=3).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(format!("{value:0>3}"))
    } else {
        Err(Invalid::new(
            "invalid_rt_rw",
            format!("{field} must be 1 to 3 digits"),
        ))
    }
}

impl Address {
    /// Trims every part and checks lengths; RT and RW are 1 to 3 digits. Every refused part is
    /// kept, under its path (`address.rt`).
    pub fn normalised(self) -> Result<Self, Refusals> {
        use crate::domain::{
            limits::{AREA_CHARS, NAME_CHARS},
            text::bounded,
        };
        let mut refusals = Refusals::default();
        let street = refusals.check(
            "address.street",
            bounded(&self.street, NAME_CHARS, "street"),
        );
        let rt = refusals.check("address.rt", neighbourhood_unit(&self.rt, "address.rt"));
        let rw = refusals.check("address.rw", neighbourhood_unit(&self.rw, "address.rw"));
        let kelurahan = refusals.check(
            "address.kelurahan",
            bounded(&self.kelurahan, AREA_CHARS, "kelurahan"),
        );
        let kecamatan = refusals.check(
            "address.kecamatan",
            bounded(&self.kecamatan, AREA_CHARS, "kecamatan"),
        );
        let address = match (street, rt, rw, kelurahan, kecamatan) {
            (Some(street), Some(rt), Some(rw), Some(kelurahan), Some(kecamatan)) => Some(Self {
                street,
                rt,
                rw,
                kelurahan,
                kecamatan,
            }),
            _ => None,
        };
        refusals.or_value(address)
    }
}
