//! Between the terminal's ISO 8583 messages and the redemption API's JSON. Pure functions.

use serde_json::{json, Value};

use crate::{
    domain::money::{format_minor, Amount, Minor},
    redemption::ResponseCode,
    terminal::{
        frame::MAX_PAYLOAD,
        messages::{
            FinancialRequest, FinancialResponse, HostMessage, ProcessingCode, ReceiptLine,
            RequestKey, RequestStatus, StatusResponse,
        },
    },
};

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
pub fn authorize_body(request: &FinancialRequest) -> Result<Value, (ResponseCode, String)> {
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
    let mut body = json!({
        "terminal_id": request.key.terminal_id,
        "stan": request.key.stan_text(),
        "local_time": request.key.local_time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "pan": request.pan,
        "type": transaction_type(request.processing),
        "lines": request.basket.iter().map(|line| json!({
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": format_minor(line.unit_price_minor),
        })).collect::<Vec<_>>(),
    });
    pin_field(&mut body, request)?;
    if let Some(program) = &request.program_code {
        body["program_code"] = json!(program);
    }
    Ok(body)
}

/// `POST /v1/redemptions/balance`.
pub fn balance_body(request: &FinancialRequest) -> Result<Value, (ResponseCode, String)> {
    let mut body = json!({"terminal_id": request.key.terminal_id, "pan": request.pan});
    pin_field(&mut body, request)?;
    if let Some(program) = &request.program_code {
        body["program_code"] = json!(program);
    }
    Ok(body)
}

fn pin_field(body: &mut Value, request: &FinancialRequest) -> Result<(), (ResponseCode, String)> {
    let block = request.pin_block.ok_or((
        ResponseCode::WrongPin,
        "no PIN block (DE52) in the request".to_string(),
    ))?;
    body["pin_block"] = json!(hex::encode_upper(block));
    Ok(())
}

/// The 0210 for an API answer (a `TerminalReply`).
pub fn financial_response(request: &FinancialRequest, reply: &Value) -> HostMessage {
    let text = |field: &str| reply[field].as_str().map(str::to_string);
    let minor = |field: &str| {
        reply[field]
            .as_str()
            .and_then(|amount| Amount::parse(amount).ok())
            .map(Amount::minor_units)
    };
    let receipt = reply["receipt"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|line| {
                    Some(ReceiptLine {
                        name: line["name"].as_str()?.to_string(),
                        quantity: u32::try_from(line["quantity"].as_u64()?).ok()?,
                        amount_minor: Amount::parse(line["amount"].as_str()?).ok()?.minor_units(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut response = FinancialResponse {
        key: request.key.clone(),
        processing: request.processing,
        response_code: text("response_code").unwrap_or_else(|| "96".into()),
        rrn: text("rrn"),
        approval_code: text("approval_code"),
        amount_minor: minor("amount"),
        balance_minor: minor("balance"),
        display: reply["message"]["id"].as_str().unwrap_or("").to_string(),
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
pub fn status_response(original: &RequestKey, reply: &Value) -> HostMessage {
    let answer = &reply["answer"];
    let status = match reply["status"].as_str() {
        Some("final") => RequestStatus::Final,
        Some("not_found") => RequestStatus::NotFound,
        _ => RequestStatus::InProgress,
    };
    let text = |field: &str| answer[field].as_str().map(str::to_string);
    HostMessage::Status(StatusResponse {
        original: original.clone(),
        status,
        response_code: text("response_code")
            .or_else(|| reply["response_code"].as_str().map(str::to_string)),
        rrn: text("rrn"),
        approval_code: text("approval_code"),
        balance_minor: text("balance")
            .and_then(|amount| Amount::parse(&amount).ok())
            .map(Amount::minor_units),
        display: answer["message"]["id"]
            .as_str()
            .or(reply["message"]["id"].as_str())
            .unwrap_or("")
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::terminal::messages::BasketLine;

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
        let body = authorize_body(&request(2_700_000)).unwrap();
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

    #[test]
    fn an_api_answer_becomes_the_0210() {
        let reply = json!({"response_code": "00", "rrn": "000000000001", "approval_code": "123456",
            "amount": "27000.00", "balance": "173000.00", "message": {"id": "Disetujui", "en": "Approved"},
            "receipt": [{"name": "Beras medium", "quantity": 2, "amount": "27000.00"}]});
        let HostMessage::Financial(response) = financial_response(&request(2_700_000), &reply)
        else {
            panic!("a 0210")
        };
        assert_eq!(response.response_code, "00");
        assert_eq!(response.balance_minor, Some(17_300_000));
        assert_eq!(response.receipt[0].amount_minor, 2_700_000);
        assert_eq!(response.display, "Disetujui");
    }
}
