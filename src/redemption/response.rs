//! What the host answers a terminal. Always HTTP 200 with a response code: the terminal acts on
//! the code, and prints or displays the texts. Fields that do not apply are left out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{money::Minor, purchase::PurchaseState},
    redemption::{codes::DisplayText, ResponseCode},
};

/// The answer to every terminal request. It is also what the gateway reads back (it derives
/// `Deserialize` for that), so the two sides share one typed shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TerminalReply {
    /// ISO 8583 field 39 style: "00" approved, anything else declined (see the README's table).
    #[schema(value_type = String, example = "00")]
    pub response_code: ResponseCode,
    pub approved: bool,
    #[schema(value_type = Object)]
    pub message: DisplayText,
    pub terminal_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_date: Option<String>,
    /// Retrieval reference number, printed on the receipt and used by the bank to reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    /// The card, masked to its last four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Minor>,
    /// What the household can still spend after this request (zero included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Minor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Vec<ReceiptLine>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_tries_left: Option<u32>,
    /// For complete, void and reversal: the purchase's state afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PurchaseState>,
    /// Why, in a sentence, for the operator and the logs (never shown to the cardholder as cash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptLine {
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub quantity: u32,
    pub unit_price: Minor,
    pub amount: Minor,
}

impl TerminalReply {
    pub fn new(code: ResponseCode, terminal_id: &str) -> Self {
        Self {
            response_code: code,
            approved: code == ResponseCode::Approved,
            message: code.text(),
            terminal_id: terminal_id.to_string(),
            stan: None,
            local_date: None,
            rrn: None,
            approval_code: None,
            card: None,
            program_code: None,
            amount: None,
            balance: None,
            hold_expires_at: None,
            receipt: None,
            pin_tries_left: None,
            state: None,
            reason: None,
        }
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain data serialises")
    }
}

/// `POST /v1/redemptions/status`'s answer for a terminal of the caller's (another E-Warung's
/// terminal gets a [`TerminalReply`] with code 58 instead).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusReply {
    pub terminal_id: String,
    pub stan: String,
    pub local_date: String,
    pub status: RequestStatus,
    /// The stored answer, as first sent (for `final`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<TerminalReply>,
    /// What became of a purchase since (for `final` purchases; a refund's state is on the
    /// purchase's own STAN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PurchaseState>,
}

/// Whether the host has a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Seen and answered: `answer` is what was sent.
    Final,
    /// Never seen (or reversed before it arrived): nothing happened.
    NotFound,
}

/// Either body `POST /v1/redemptions/status` answers with (for its readers, e.g. the gateway).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusAnswer {
    Status(StatusReply),
    /// Code 58: the terminal is not the caller's.
    Refused(TerminalReply),
}
