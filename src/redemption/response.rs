//! What the host answers a terminal. Always HTTP 200 with a response code: the terminal acts on
//! the code, and prints or displays the texts. Fields that do not apply are left out.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::redemption::{codes::DisplayText, ResponseCode};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TerminalReply {
    /// ISO 8583 field 39 style: "00" approved, anything else declined (see the README's table).
    #[schema(example = "00")]
    pub response_code: &'static str,
    pub approved: bool,
    #[schema(value_type = Object)]
    pub message: DisplayText,
    pub terminal_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_date: Option<String>,
    /// Retrieval reference number, printed on the receipt and used by the bank to reconcile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    /// The card, masked to its last four digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// What the household can still spend after this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Vec<ReceiptLine>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_tries_left: Option<u32>,
    /// For complete, void and reversal: the purchase's state afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Why, in a sentence, for the operator and the logs (never shown to the cardholder as cash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptLine {
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub quantity: u32,
    pub unit_price: String,
    pub amount: String,
}

impl TerminalReply {
    pub fn new(code: ResponseCode, terminal_id: &str) -> Self {
        Self {
            response_code: code.code(),
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

    pub fn code(&self) -> Option<ResponseCode> {
        ResponseCode::from_code(self.response_code)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain data serialises")
    }
}
