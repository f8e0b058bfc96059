//! Programs and their eligible food catalog. Anything not in a program's catalog can never be
//! redeemed, and each item carries a price cap so a kiosk cannot charge a card above it.

use crate::{domain::Invalid, string_enum};

string_enum!(
    /// The commodity groups of the sembako basket.
    CommodityGroup, "invalid_commodity_group", {
        Carbohydrate => "carbohydrate",
        AnimalProtein => "animal_protein",
        PlantProtein => "plant_protein",
        VegetablesAndFruit => "vegetables_and_fruit",
    }
);

/// Validates a short upper-case code such as a program code or SKU: 2 to 32 of `A-Z 0-9 - _`.
pub fn parse_code(text: &str, code: &'static str, what: &str) -> Result<String, Invalid> {
    let ok = (2..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(text.to_string())
    } else {
        Err(Invalid::new(
            code,
            format!("{what} must be 2 to 32 characters of A-Z, 0-9, '-' or '_'"),
        ))
    }
}

/// The only currency the program pays in.
pub const CURRENCY: &str = "IDR";

/// The longest carry-over a program may set; entitlement older than this returns to the program.
pub const MAX_CARRY_OVER_MONTHS: u16 = 24;

/// A program's carry-over, checked against [`MAX_CARRY_OVER_MONTHS`].
pub fn carry_over_months(months: u16) -> Result<i32, Invalid> {
    if months > MAX_CARRY_OVER_MONTHS {
        let message = format!("carry-over is at most {MAX_CARRY_OVER_MONTHS} months");
        return Err(Invalid::new("invalid_carry_over", message));
    }
    Ok(i32::from(months))
}
