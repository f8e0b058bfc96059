//! The byte-level examples in `docs/terminal-protocol.md`, built with the codec. The test fails
//! when the document and the codec disagree, so the examples cannot go stale.

use chrono::NaiveDate;

use crate::{frame, messages::*};

/// Bytes as the document shows them: 16 per line, hex, space-separated.
pub fn hex_dump(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key() -> RequestKey {
    RequestKey {
        terminal_id: "SMD00001".into(),
        stan: 42,
        local_time: NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(10, 15, 0)
            .unwrap(),
    }
}

/// (title, frame bytes) for each example, in the document's order.
pub fn examples() -> Vec<(&'static str, Vec<u8>)> {
    let echo = TerminalMessage::Network(NetworkRequest {
        terminal_id: "SMD00001".into(),
        stan: 41,
        code: NetworkCode::Echo,
    });
    let purchase = TerminalMessage::Financial(FinancialRequest {
        key: key(),
        ewarung_id: "EW-0001".into(),
        processing: ProcessingCode::Purchase,
        amount_minor: 6_500_000,
        pan: "6019010000000001".into(),
        pin_block: Some([
            0x3B, 0x1F, 0x9C, 0x07, 0xD2, 0x44, 0x81, 0xA6, 0x5E, 0x10, 0xC7, 0x2B, 0x93, 0x68,
            0xF0, 0x0D,
        ]),
        program_code: None,
        basket: vec![BasketLine {
            sku: "BERAS-5KG".into(),
            quantity: 1,
            unit_price_minor: 6_500_000,
        }],
        original: None,
    });
    let approval = HostMessage::Financial(FinancialResponse {
        key: key(),
        processing: ProcessingCode::Purchase,
        response_code: "00".into(),
        rrn: Some("000000000107".into()),
        approval_code: Some("483920".into()),
        amount_minor: Some(6_500_000),
        balance_minor: Some(13_500_000),
        display: "Disetujui".into(),
        receipt: vec![],
    });
    let completion = TerminalMessage::Advice(Advice {
        kind: AdviceKind::Completion,
        original: key(),
        amount_minor: 6_500_000,
    });
    let frame_of = |seq: u8, payload: Vec<u8>| frame::encode(seq, &payload).unwrap();
    vec![
        ("echo 0800", frame_of(0x01, echo.encode().unwrap())),
        ("purchase 0200", frame_of(0x02, purchase.encode().unwrap())),
        ("approval 0210", frame_of(0x07, approval.encode().unwrap())),
        (
            "completion 0220",
            frame_of(0x03, completion.encode().unwrap()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_document_shows_what_the_codec_sends() {
        let document = include_str!("../../docs/terminal-protocol.md");
        for (title, bytes) in examples() {
            let dump = hex_dump(&bytes);
            assert!(
                document.contains(&dump),
                "docs/terminal-protocol.md lacks the {title} example; the codec sends:\n{dump}"
            );
        }
    }
}

#[cfg(test)]
mod answer_matching {
    use super::*;

    #[test]
    fn a_late_answer_to_the_purchase_is_not_taken_for_the_reversals() {
        let purchase = TerminalMessage::Financial(FinancialRequest {
            key: key(),
            ewarung_id: "EW".into(),
            processing: ProcessingCode::Purchase,
            amount_minor: 1,
            pan: "6019010000000001".into(),
            pin_block: None,
            program_code: None,
            basket: vec![],
            original: None,
        });
        let reversal = TerminalMessage::Advice(Advice {
            kind: AdviceKind::Reversal,
            original: key(),
            amount_minor: 1,
        });
        let late_approval = HostMessage::Financial(FinancialResponse {
            key: key(),
            processing: ProcessingCode::Purchase,
            response_code: "00".into(),
            rrn: None,
            approval_code: None,
            amount_minor: None,
            balance_minor: None,
            display: String::new(),
            receipt: vec![],
        });
        assert!(late_approval.answers(&purchase));
        assert!(!late_approval.answers(&reversal), "same STAN, other kind");
        let other_stan = TerminalMessage::Advice(Advice {
            kind: AdviceKind::Reversal,
            original: RequestKey { stan: 43, ..key() },
            amount_minor: 1,
        });
        let acknowledgement = HostMessage::Advice(AdviceResponse {
            kind: AdviceKind::Reversal,
            original: key(),
            response_code: "00".into(),
            display: String::new(),
        });
        assert!(acknowledgement.answers(&reversal));
        assert!(
            !acknowledgement.answers(&other_stan),
            "an answer to another request"
        );
    }
}
