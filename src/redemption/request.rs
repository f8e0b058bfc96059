//! What terminals send. Shapes and values are checked when the JSON is read (a malformed request
//! is a 4xx and is never recorded); business rules are answered with response codes by the engine.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::domain::{money::Amount, pan::Pan, pin::Pin, terminal::TerminalId, Invalid};

/// System trace audit number (ISO 8583 field 11): six digits, unique per terminal and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stan(String);

impl Stan {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_string()))
        } else {
            Err(Invalid::new(
                "invalid_stan",
                "STAN must be exactly 6 digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::deserialize_via_parse!(Stan, "a 6-digit STAN");

/// The terminal's local date and time, `YYYY-MM-DDTHH:MM:SS` (no zone: terminals do not know one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(pub NaiveDateTime);

impl LocalTime {
    pub const FORMAT: &'static str = "%Y-%m-%dT%H:%M:%S";

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        NaiveDateTime::parse_from_str(text, Self::FORMAT)
            .map(Self)
            .map_err(|_| {
                Invalid::new(
                    "invalid_local_time",
                    "local_time must be YYYY-MM-DDTHH:MM:SS, the terminal's clock",
                )
            })
    }

    /// The date part, which with terminal and STAN identifies a request.
    pub fn date(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

impl Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.format(Self::FORMAT).to_string())
    }
}

crate::deserialize_via_parse!(LocalTime, "a local date-time YYYY-MM-DDTHH:MM:SS");

/// A date `YYYY-MM-DD` naming the original request's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalDate(String);

impl LocalDate {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|date| Self(date.format("%Y-%m-%d").to_string()))
            .map_err(|_| Invalid::new("invalid_local_date", "local_date must be YYYY-MM-DD"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::deserialize_via_parse!(LocalDate, "a date YYYY-MM-DD");

/// What kind of transaction the terminal asks for. Only purchases of food are allowed; the type is
/// kept as sent so that a refused cash attempt is recorded as what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionType {
    Purchase,
    /// Any way of taking cash out: withdrawal, cash-back, cash advance.
    Cash(String),
    Other(String),
}

impl TransactionType {
    pub const CASH_TYPES: &'static [&'static str] = &[
        "cash_withdrawal",
        "cash_back",
        "cash_advance",
        "purchase_with_cash_back",
    ];

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok = (1..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(Invalid::new(
                "invalid_transaction_type",
                "type must be 1 to 32 characters of a-z, 0-9 and _ (e.g. \"purchase\")",
            ));
        }
        Ok(match text {
            "purchase" => TransactionType::Purchase,
            cash if Self::CASH_TYPES.contains(&cash) => TransactionType::Cash(cash.to_string()),
            other => TransactionType::Other(other.to_string()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            TransactionType::Purchase => "purchase",
            TransactionType::Cash(text) | TransactionType::Other(text) => text,
        }
    }
}

impl Serialize for TransactionType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

crate::deserialize_via_parse!(TransactionType, "a transaction type such as \"purchase\"");

/// An ISO 9564 format 4 PIN block (32 hex digits), enciphered under the terminal's PIN key: how a
/// terminal sends the PIN so that it never travels in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct PinBlock(pub [u8; terminal_link::pin_block::BLOCK_LEN]);

impl PinBlock {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bytes = hex::decode(text)
            .ok()
            .and_then(|bytes| bytes.try_into().ok());
        bytes.map(Self).ok_or_else(|| {
            Invalid::new(
                "invalid_pin_block",
                "pin_block must be 32 hex digits (ISO 9564 format 4)",
            )
        })
    }
}

impl std::fmt::Debug for PinBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinBlock(…)")
    }
}

crate::deserialize_via_parse!(PinBlock, "a PIN block of 32 hex digits");

/// How the PIN came: in clear over TLS (a client of the HTTP API) or as a terminal's PIN block.
#[derive(Debug, Clone, Copy)]
pub enum PinEntry<'a> {
    Clear(&'a Pin),
    Block(&'a PinBlock),
}

/// Exactly one of `pin` and `pin_block`.
fn pin_entry<'a>(
    pin: Option<&'a Pin>,
    block: Option<&'a PinBlock>,
) -> Result<PinEntry<'a>, Invalid> {
    match (pin, block) {
        (Some(pin), None) => Ok(PinEntry::Clear(pin)),
        (None, Some(block)) => Ok(PinEntry::Block(block)),
        _ => Err(Invalid::new(
            "pin_required",
            "send either pin or pin_block (ISO 9564 format 4 under the terminal's key), not both",
        )),
    }
}

/// A SKU as sent: 1 to 32 printable characters (whether it is in the catalog is a business rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sku(String);

impl Sku {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok = (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(Invalid::new(
                "invalid_sku",
                "sku must be 1 to 32 printable ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::deserialize_via_parse!(Sku, "a SKU");

/// A whole number of units, 1 to 999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 999;

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(deserializer)?;
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(serde::de::Error::custom(
                Invalid::new(
                    "invalid_quantity",
                    "quantity must be a whole number from 1 to 999",
                )
                .to_serde_message(),
            ))
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketLine {
    #[schema(value_type = String, example = "BERAS-5KG")]
    pub sku: Sku,
    #[schema(value_type = u32, example = 1)]
    pub quantity: Quantity,
    /// Price per unit in IDR, at most the catalog's cap.
    #[schema(value_type = String, example = "65000")]
    pub unit_price: Amount,
}

/// `POST /v1/redemptions/authorize`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    #[schema(value_type = String, example = "SMD00001")]
    pub terminal_id: TerminalId,
    #[schema(value_type = String, example = "000123")]
    pub stan: Stan,
    #[schema(value_type = String, example = "2026-11-23T10:15:00")]
    pub local_time: LocalTime,
    #[schema(value_type = String, example = "6019010435474346")]
    pub pan: Pan,
    /// The PIN in clear; or send `pin_block` instead.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "123456")]
    pub pin: Option<Pin>,
    /// ISO 9564 format 4 PIN block under the terminal's PIN key, 32 hex digits.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "3B1F9C07D24481A65E10C72B9368F00D")]
    pub pin_block: Option<PinBlock>,
    /// `purchase`; cash types are refused with 57, others with 12.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "purchase")]
    pub transaction_type: TransactionType,
    /// Which program pays; may be left out when the household has one.
    pub program_code: Option<String>,
    pub lines: Vec<BasketLine>,
}

impl AuthorizeRequest {
    pub const MAX_LINES: usize = 50;

    /// The basket's SKUs, line by line.
    pub fn skus(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| line.sku.as_str().to_string())
            .collect()
    }

    pub fn pin_entry(&self) -> Result<PinEntry<'_>, Invalid> {
        pin_entry(self.pin.as_ref(), self.pin_block.as_ref())
    }

    /// SHA-256 over everything in the request except the PIN: a replay must match it to get the
    /// stored answer. The PIN stays out so no unkeyed PIN-derived value is ever stored.
    pub fn fingerprint(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Fingerprinted<'a> {
            terminal_id: &'a str,
            stan: &'a str,
            local_time: LocalTime,
            pan: &'a str,
            transaction_type: &'a str,
            program_code: Option<&'a str>,
            lines: &'a [BasketLine],
        }
        let canonical = serde_json::to_vec(&Fingerprinted {
            terminal_id: self.terminal_id.as_str(),
            stan: self.stan.as_str(),
            local_time: self.local_time,
            pan: self.pan.expose(),
            transaction_type: self.transaction_type.as_str(),
            program_code: self.program_code.as_deref(),
            lines: &self.lines,
        })
        .expect("plain data serialises");
        Sha256::digest(canonical).to_vec()
    }
}

/// Names an earlier authorization: `POST /v1/redemptions/{complete,void,reversal}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginalRequest {
    #[schema(value_type = String, example = "SMD00001")]
    pub terminal_id: TerminalId,
    /// The STAN of the authorization.
    #[schema(value_type = String, example = "000123")]
    pub stan: Stan,
    /// The date of the authorization's `local_time`.
    #[schema(value_type = String, example = "2026-11-23")]
    pub local_date: LocalDate,
}

/// `POST /v1/redemptions/refund`: a terminal's refund, a request of its own (its own STAN and
/// local time) that names the purchase it returns to the card.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    #[schema(value_type = String, example = "SMD00001")]
    pub terminal_id: TerminalId,
    /// The refund's own STAN.
    #[schema(value_type = String, example = "000124")]
    pub stan: Stan,
    /// The terminal's clock at the refund, `YYYY-MM-DDTHH:MM:SS`.
    #[schema(value_type = String, example = "2026-11-23T10:20:00")]
    pub local_time: LocalTime,
    /// The purchase's STAN.
    #[schema(value_type = String, example = "000123")]
    pub original_stan: Stan,
    /// The date of the purchase's `local_time`.
    #[schema(value_type = String, example = "2026-11-23")]
    pub original_local_date: LocalDate,
}

impl RefundRequest {
    /// The purchase it names, as complete, void and reversal name one.
    pub fn original(&self) -> OriginalRequest {
        OriginalRequest {
            terminal_id: self.terminal_id.clone(),
            stan: self.original_stan.clone(),
            local_date: self.original_local_date.clone(),
        }
    }

    /// What makes two refunds under one key the same request: the purchase they name.
    pub fn fingerprint(&self) -> Vec<u8> {
        format!(
            "refund:{}:{}",
            self.original_stan.as_str(),
            self.original_local_date.as_str()
        )
        .into_bytes()
    }
}

/// `POST /v1/redemptions/balance`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceRequest {
    #[schema(value_type = String, example = "SMD00001")]
    pub terminal_id: TerminalId,
    #[schema(value_type = String, example = "6019010435474346")]
    pub pan: Pan,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "123456")]
    pub pin: Option<Pin>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub pin_block: Option<PinBlock>,
    pub program_code: Option<String>,
}

impl BalanceRequest {
    pub fn pin_entry(&self) -> Result<PinEntry<'_>, Invalid> {
        pin_entry(self.pin.as_ref(), self.pin_block.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cash_types_are_recognised_and_odd_spellings_refused() {
        assert_eq!(
            TransactionType::parse("purchase").unwrap(),
            TransactionType::Purchase
        );
        assert!(matches!(
            TransactionType::parse("cash_back").unwrap(),
            TransactionType::Cash(_)
        ));
        assert!(matches!(
            TransactionType::parse("refund").unwrap(),
            TransactionType::Other(_)
        ));
        assert!(TransactionType::parse("PURCHASE").is_err());
        assert!(TransactionType::parse("").is_err());
    }

    #[test]
    fn stans_and_times_have_one_spelling() {
        assert!(Stan::parse("000001").is_ok());
        assert!(Stan::parse("1234567").is_err());
        assert!(Stan::parse("12a456").is_err());
        assert_eq!(
            LocalTime::parse("2026-11-23T10:15:00").unwrap().date(),
            "2026-11-23"
        );
        assert!(LocalTime::parse("2026-11-23 10:15").is_err());
        assert!(LocalDate::parse("2026-02-30").is_err());
    }
}
