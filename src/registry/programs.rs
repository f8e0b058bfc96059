//! Programs and their eligible food catalogs: defining a program (its code, monthly amount and
//! how long unused entitlement stays on a card), adding catalog items with their price caps, and
//! moving a cap when prices move (purchases from then on are held to the new cap; the audit log
//! keeps the old and the new one with why).

use std::sync::Arc;

use crate::{
    domain::{
        catalog::{carry_over_months, parse_code, CommodityGroup, CURRENCY},
        ids::UserId,
        limits::{NAME_CHARS, REASON_CHARS, UNIT_CHARS},
        money::{Amount, MAX_PRICE_CAP_MINOR, MAX_QUOTA_LINE_MINOR},
        text::bounded,
        Invalid, Refusals,
    },
    registry::Read,
    store::{CatalogItemRecord, NewCatalogItem, NewProgram, ProgramRecord, Store, StoreError},
};

/// Why a program or catalog command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("program not found")]
    ProgramNotFound,
    #[error("catalog item not found")]
    ItemNotFound,
    /// Values of the command were refused, each beside its field.
    #[error("{0}")]
    Refused(Refusals),
    #[error("a program with that code exists")]
    CodeTaken,
    #[error("the program's catalog already has that SKU")]
    SkuTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for ProgramError {
    fn from(refusals: Refusals) -> Self {
        ProgramError::Refused(refusals)
    }
}

impl From<StoreError> for ProgramError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { constraint } => match constraint.as_str() {
                "programs_code_key" => ProgramError::CodeTaken,
                "catalog_items_pkey" => ProgramError::SkuTaken,
                _ => ProgramError::Store(StoreError::Duplicate { constraint }),
            },
            StoreError::NotFound { entity: "program" } => ProgramError::ProgramNotFound,
            StoreError::NotFound {
                entity: "catalog_item",
            } => ProgramError::ItemNotFound,
            error => ProgramError::Store(error),
        }
    }
}

/// A new program, checked.
#[derive(Debug)]
pub struct ProgramDefinition {
    code: String,
    name: String,
    monthly: Amount,
    carry_over_months: i32,
}

impl ProgramDefinition {
    /// Checks every value; the refusals name the API's fields (`code`,
    /// `default_monthly_amount`, `carry_over_months`).
    pub fn parse(
        code: &str,
        name: &str,
        currency: Option<&str>,
        monthly: Read<Amount>,
        carry_over: Read<u16>,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let code = refusals.check(
            "code",
            parse_code(code, "invalid_program_code", "program code"),
        );
        let name = refusals.check("name", bounded(name, NAME_CHARS, "name"));
        if currency.is_some_and(|currency| currency != CURRENCY) {
            refusals.add(
                "currency",
                Invalid::new("invalid_currency", "the program pays in IDR only"),
            );
        }
        let monthly = refusals.check(
            "default_monthly_amount",
            monthly.and_then(|amount| amount.at_most(MAX_QUOTA_LINE_MINOR, "the monthly amount")),
        );
        let carry_over =
            refusals.check("carry_over_months", carry_over.and_then(carry_over_months));
        let definition = match (code, name, monthly, carry_over) {
            (Some(code), Some(name), Some(monthly), Some(carry_over_months)) => Some(Self {
                code,
                name,
                monthly,
                carry_over_months,
            }),
            _ => None,
        };
        refusals.or_value(definition)
    }
}

/// A new catalog item, checked.
#[derive(Debug)]
pub struct ItemDefinition {
    sku: String,
    name: String,
    unit: String,
    group: CommodityGroup,
    price_cap: Amount,
}

impl ItemDefinition {
    /// Checks every value; the refusals name the API's fields (`sku`, `max_unit_price`).
    pub fn parse(
        sku: &str,
        name: &str,
        unit: &str,
        group: Read<CommodityGroup>,
        price_cap: Read<Amount>,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let sku = refusals.check("sku", parse_code(sku, "invalid_sku", "SKU"));
        let name = refusals.check("name", bounded(name, NAME_CHARS, "name"));
        let unit = refusals.check("unit", bounded(unit, UNIT_CHARS, "unit"));
        let group = refusals.check("group", group);
        let price_cap = refusals.check("max_unit_price", price_cap.and_then(capped));
        let item = match (sku, name, unit, group, price_cap) {
            (Some(sku), Some(name), Some(unit), Some(group), Some(price_cap)) => Some(Self {
                sku,
                name,
                unit,
                group,
                price_cap,
            }),
            _ => None,
        };
        refusals.or_value(item)
    }
}

/// A new price cap for an item, with why, checked.
#[derive(Debug)]
pub struct PriceCapChange {
    price_cap: Amount,
    reason: String,
}

impl PriceCapChange {
    pub fn parse(price_cap: Read<Amount>, reason: &str) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let price_cap = refusals.check("max_unit_price", price_cap.and_then(capped));
        let reason = refusals.check("reason", bounded(reason, REASON_CHARS, "reason"));
        let change = match (price_cap, reason) {
            (Some(price_cap), Some(reason)) => Some(Self { price_cap, reason }),
            _ => None,
        };
        refusals.or_value(change)
    }
}

fn capped(amount: Amount) -> Result<Amount, Invalid> {
    amount.at_most(MAX_PRICE_CAP_MINOR, "a price cap")
}

#[derive(Clone)]
pub struct Programs {
    pub store: Arc<dyn Store>,
}

impl Programs {
    pub async fn get(&self, code: &str) -> Result<ProgramRecord, ProgramError> {
        self.store
            .find_program_by_code(code)
            .await?
            .ok_or(ProgramError::ProgramNotFound)
    }

    /// A program's item by its SKU.
    pub async fn item(
        &self,
        program: &ProgramRecord,
        sku: &str,
    ) -> Result<CatalogItemRecord, ProgramError> {
        self.store
            .list_catalog_items(program.id)
            .await?
            .into_iter()
            .find(|item| item.sku == sku)
            .ok_or(ProgramError::ItemNotFound)
    }

    pub async fn define(
        &self,
        definition: ProgramDefinition,
        actor: UserId,
    ) -> Result<ProgramRecord, ProgramError> {
        let program = NewProgram {
            code: definition.code,
            name: definition.name,
            default_monthly_amount_minor: definition.monthly.minor_units(),
            carry_over_months: definition.carry_over_months,
        };
        Ok(self.store.create_program(program, actor).await?)
    }

    pub async fn add_item(
        &self,
        program_code: &str,
        item: ItemDefinition,
        actor: UserId,
    ) -> Result<CatalogItemRecord, ProgramError> {
        let program = self.get(program_code).await?;
        let item = NewCatalogItem {
            program_id: program.id,
            sku: item.sku,
            name: item.name,
            unit: item.unit,
            commodity_group: item.group,
            max_unit_price_minor: item.price_cap.minor_units(),
        };
        Ok(self.store.add_catalog_item(item, actor).await?)
    }

    pub async fn set_price_cap(
        &self,
        program_code: &str,
        sku: &str,
        change: PriceCapChange,
        actor: UserId,
    ) -> Result<CatalogItemRecord, ProgramError> {
        let program = self.get(program_code).await?;
        Ok(self
            .store
            .set_price_cap(
                program.id,
                sku,
                change.price_cap.minor_units(),
                change.reason,
                actor,
            )
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_keeps_every_refusal_with_what_the_front_end_could_not_read() {
        let unread = Err(Invalid::new("invalid_rupiah", "not an amount"));
        let refused = ProgramDefinition::parse("x", "", Some("USD"), unread, Ok(25)).unwrap_err();
        let refusals: Vec<(&str, &str)> = refused
            .iter()
            .map(|(field, invalid)| (field, invalid.code))
            .collect();
        assert_eq!(
            refusals,
            [
                ("code", "invalid_program_code"),
                ("name", "blank"),
                ("currency", "invalid_currency"),
                ("default_monthly_amount", "invalid_rupiah"),
                ("carry_over_months", "invalid_carry_over"),
            ]
        );
    }

    #[test]
    fn a_price_cap_is_held_to_its_limit() {
        let too_much = Amount::parse("100000000.01").unwrap();
        let refused = PriceCapChange::parse(Ok(too_much), "naik").unwrap_err();
        assert_eq!(refused.first().unwrap().0, "max_unit_price");
        assert!(PriceCapChange::parse(Amount::parse("15000"), "naik").is_ok());
    }
}
