//! Between the terminal's ISO 8583 messages and the redemption API's JSON. Pure functions.

use serde::Serialize;
use serde_json::{json, Value};

use crate::{
    domain::money::{format_minor, Minor},
    redemption::{
        response::{self as api, StatusAnswer, TerminalReply},
        ResponseCode,
    },
};
use terminal_link::{
    frame::MAX_PAYLOAD,
    messages::{
        masked_pan, FinancialRequest, FinancialResponse, HostMessage, OriginalRef, ProcessingCode,
        ReceiptLine, RequestKey, RequestStatus, StatusResponse,
    },
};
/// A redemption request for the host (authorize, balance, refund), typed so that nothing can
/// print its card number or PIN block: its `Debug` masks the number and leaves the block out.
#[derive(Clone, Default, Serialize)]
pub struct HostRequest {
    pub terminal_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pan: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<HostLine>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_block: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_stan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_local_date: Option<String>,
}

impl std::fmt::Debug for HostRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostRequest")
            .field("terminal_id", &self.terminal_id)
            .field("stan", &self.stan)
            .field("local_time", &self.local_time)
            .field("pan", &self.pan.as_deref().map(masked_pan))
            .field("type", &self.transaction_type)
            .field("lines", &self.lines)
            .field("pin_block", &self.pin_block.as_ref().map(|_| "(hidden)"))
            .field("program_code", &self.program_code)
            .field("original_stan", &self.original_stan)
            .field("original_local_date", &self.original_local_date)
            .finish()
    }
}

/// One basket line as the API reads it.
#[derive(Debug, Clone, Serialize)]
pub struct HostLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: String,
}

/// `POST /v1/redemptions/refund`: a request of its own (its STAN) naming the purchase in DE90.
pub fn refund_body(request: &FinancialRequest, original: &OriginalRef) -> HostRequest {
    HostRequest {
        terminal_id: request.key.terminal_id.clone(),
        stan: Some(request.key.stan_text()),
        local_time: Some(local_time(&request.key)),
        original_stan: Some(format!("{:06}", original.stan)),
        original_local_date: Some(original.local_date.format("%Y-%m-%d").to_string()),
        ..HostRequest::default()
    }
}

fn local_time(key: &RequestKey) -> String {
    key.local_time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The host's idempotency key of a request: terminal, STAN, local date.
pub fn original_body(key: &RequestKey) -> Value {
    json!({
        "terminal_id": key.terminal_id,
        "stan": key.stan_text(),
        "local_date": key.local_time.format("%Y-%m-%d").to_string(),
    })
}

/// The transaction type the API records for a processing code.
pub fn transaction_type(processing: ProcessingCode) -> String {
    match processing {
        ProcessingCode::Purchase => "purchase".into(),
        ProcessingCode::CashWithdrawal => "cash_withdrawal".into(),
        ProcessingCode::PurchaseWithCashBack => "purchase_with_cash_back".into(),
        ProcessingCode::Refund => "refund".into(),
        ProcessingCode::BalanceInquiry => "balance_inquiry".into(),
        ProcessingCode::Other(code) => format!("processing_code_{code:02}"),
    }
}

/// `POST /v1/redemptions/authorize` for a purchase or a (refused) cash type, or the local decline
/// when the message contradicts itself.
pub fn authorize_body(request: &FinancialRequest) -> Result<HostRequest, (ResponseCode, String)> {
    let lines = request
        .basket
        .iter()
        .map(|line| Minor::new(line.unit_price_minor).times(line.quantity))
        .collect::<Result<Vec<_>, _>>();
    let Ok(total) = lines.and_then(Minor::sum) else {
        return Err((
            ResponseCode::InvalidTransaction,
            "the basket's total is out of range".to_string(),
        ));
    };
    let total = total.get();
    if request.processing == ProcessingCode::Purchase && total != request.amount_minor {
        return Err((
            ResponseCode::InvalidTransaction,
            format!(
                "the amount {} differs from the basket's total {}",
                format_minor(request.amount_minor),
                format_minor(total)
            ),
        ));
    }
    let lines = request
        .basket
        .iter()
        .map(|line| HostLine {
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: format_minor(line.unit_price_minor),
        })
        .collect();
    Ok(HostRequest {
        stan: Some(request.key.stan_text()),
        local_time: Some(local_time(&request.key)),
        transaction_type: Some(transaction_type(request.processing)),
        lines: Some(lines),
        ..card_request(request)?
    })
}

/// `POST /v1/redemptions/balance`.
pub fn balance_body(request: &FinancialRequest) -> Result<HostRequest, (ResponseCode, String)> {
    card_request(request)
}

/// What every request with a card carries: terminal, card number, PIN block, program.
fn card_request(request: &FinancialRequest) -> Result<HostRequest, (ResponseCode, String)> {
    let block = request.pin_block.ok_or((
        ResponseCode::WrongPin,
        "no PIN block (DE52) in the request".to_string(),
    ))?;
    Ok(HostRequest {
        terminal_id: request.key.terminal_id.clone(),
        pan: Some(request.pan.clone()),
        pin_block: Some(hex::encode_upper(block)),
        program_code: request.program_code.clone(),
        ..HostRequest::default()
    })
}

/// The 0210 for an API answer.
pub fn financial_response(request: &FinancialRequest, reply: &TerminalReply) -> HostMessage {
    let receipt = reply
        .receipt
        .iter()
        .flatten()
        .map(|line| ReceiptLine {
            name: line.name.clone(),
            quantity: line.quantity,
            amount_minor: line.amount.get(),
        })
        .collect();
    let mut response = FinancialResponse {
        key: request.key.clone(),
        processing: request.processing,
        response_code: reply.response_code.code().into(),
        rrn: reply.rrn.clone(),
        approval_code: reply.approval_code.clone(),
        amount_minor: reply.amount.map(Minor::get),
        balance_minor: reply.balance.map(Minor::get),
        display: reply.message.id.to_string(),
        receipt,
    };
    // A long receipt that would not fit in one frame is left for the terminal to print from its
    // own basket; the money fields always fit.
    if HostMessage::Financial(response.clone())
        .encode()
        .map_or(true, |bytes| bytes.len() > MAX_PAYLOAD)
    {
        response.receipt.clear();
    }
    HostMessage::Financial(response)
}

/// A 0210 the gateway answers itself (91 host unreachable, 12 a contradiction, 30 format).
pub fn local_response(request: &FinancialRequest, code: ResponseCode) -> HostMessage {
    HostMessage::Financial(FinancialResponse {
        key: request.key.clone(),
        processing: request.processing,
        response_code: code.code().into(),
        rrn: None,
        approval_code: None,
        amount_minor: None,
        balance_minor: None,
        display: code.text().id.into(),
        receipt: Vec::new(),
    })
}

/// The 0610 for `POST /v1/redemptions/status`'s answer.
pub fn status_response(original: &RequestKey, reply: &StatusAnswer) -> HostMessage {
    let (status, answer) = match reply {
        StatusAnswer::Status(found) => (
            match found.status {
                api::RequestStatus::Final => RequestStatus::Final,
                api::RequestStatus::NotFound => RequestStatus::NotFound,
            },
            found.answer.as_ref(),
        ),
        // Not the caller's terminal (58): no status to give, the refusal's code is the answer.
        StatusAnswer::Refused(refusal) => (RequestStatus::InProgress, Some(refusal)),
    };
    HostMessage::Status(StatusResponse {
        original: original.clone(),
        status,
        response_code: answer.map(|answer| answer.response_code.code().to_string()),
        rrn: answer.and_then(|answer| answer.rrn.clone()),
        approval_code: answer.and_then(|answer| answer.approval_code.clone()),
        balance_minor: answer.and_then(|answer| answer.balance).map(Minor::get),
        display: answer.map_or(String::new(), |answer| answer.message.id.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use terminal_link::messages::BasketLine;

    fn request(amount_minor: i64) -> FinancialRequest {
        FinancialRequest {
            key: RequestKey {
                terminal_id: "SMD00001".into(),
                stan: 7,
                local_time: NaiveDate::from_ymd_opt(2026, 11, 23)
                    .unwrap()
                    .and_hms_opt(9, 30, 0)
                    .unwrap(),
            },
            ewarung_id: "EW".into(),
            processing: ProcessingCode::Purchase,
            amount_minor,
            pan: "6019010000000001".into(),
            pin_block: Some([0xAB; 16]),
            program_code: None,
            basket: vec![BasketLine {
                sku: "BERAS-MEDIUM".into(),
                quantity: 2,
                unit_price_minor: 1_350_000,
            }],
            original: None,
        }
    }

    #[test]
    fn a_purchase_becomes_the_api_request() {
        let typed = authorize_body(&request(2_700_000)).unwrap();
        let shown = format!("{typed:?}");
        assert!(
            shown.contains("************0001") && !shown.contains("601901000000"),
            "{shown}"
        );
        assert!(!shown.contains("ABAB"), "{shown}");
        let body = serde_json::to_value(&typed).unwrap();
        assert_eq!(body["pan"], "6019010000000001");
        assert_eq!(body["stan"], "000007");
        assert_eq!(body["local_time"], "2026-11-23T09:30:00");
        assert_eq!(body["type"], "purchase");
        assert_eq!(body["lines"][0]["unit_price"], "13500.00");
        assert_eq!(body["pin_block"], "AB".repeat(16));
        assert!(body.get("pin").is_none());
    }

    #[test]
    fn an_amount_that_is_not_the_basket_total_is_declined_locally() {
        let (code, _) = authorize_body(&request(1)).unwrap_err();
        assert_eq!(code, ResponseCode::InvalidTransaction);
    }

    /// Reads an answer as the gateway does: JSON into the typed reply.
    fn answer(json: serde_json::Value) -> TerminalReply {
        serde_json::from_value(json).expect("a TerminalReply")
    }

    #[test]
    fn an_api_answer_becomes_the_0210() {
        let reply = answer(
            json!({"response_code": "00", "approved": true, "terminal_id": "SMD00001",
            "rrn": "000000000001", "approval_code": "123456",
            "amount": "27000.00", "balance": "173000.00", "message": {"id": "Disetujui", "en": "Approved"},
            "receipt": [{"sku": "BERAS-MEDIUM", "name": "Beras medium", "unit": "kg", "quantity": 2,
                "unit_price": "13500.00", "amount": "27000.00"}]}),
        );
        let HostMessage::Financial(response) = financial_response(&request(2_700_000), &reply)
        else {
            panic!("a 0210")
        };
        assert_eq!(response.response_code, "00");
        assert_eq!(response.balance_minor, Some(17_300_000));
        assert_eq!(response.receipt[0].amount_minor, 2_700_000);
        assert_eq!(response.display, "Disetujui");
    }

    #[test]
    fn a_zero_balance_reaches_the_terminal() {
        let reply = answer(
            json!({"response_code": "00", "approved": true, "terminal_id": "SMD00001",
            "balance": "0.00", "message": {"id": "Disetujui", "en": "Approved"}}),
        );
        let HostMessage::Financial(response) = financial_response(&request(0), &reply) else {
            panic!("a 0210")
        };
        assert_eq!(response.balance_minor, Some(0));
        let HostMessage::Status(status) = status_response(
            &request(0).key,
            &StatusAnswer::Status(crate::redemption::response::StatusReply {
                terminal_id: "SMD00001".into(),
                stan: "000007".into(),
                local_date: "2026-11-23".into(),
                status: api::RequestStatus::Final,
                answer: Some(reply),
                state: None,
            }),
        ) else {
            panic!("a 0610")
        };
        assert_eq!(status.balance_minor, Some(0));
    }
}
