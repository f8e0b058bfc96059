//! Property tests for the codec: what is encoded decodes to itself, and any byte string either
//! decodes or is refused, without a panic.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use proptest::{collection::vec, prelude::*};
use rand::SeedableRng;

use crate::{
    frame::{self, FrameDecoder, Received, MAX_PAYLOAD, STX},
    messages::*,
    pin_block::{self, TerminalKey},
    tlv::{IsoMessage, Mti, DEFINED_TAGS},
};

fn decode_all(chunks: &[&[u8]], start: Instant, gap: Duration) -> Vec<Received> {
    let mut decoder = FrameDecoder::new();
    let mut out = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        decoder.push(chunk, start + gap * index as u32, &mut out);
    }
    out
}

fn frames(events: &[Received]) -> Vec<frame::Frame> {
    events
        .iter()
        .filter_map(|event| match event {
            Received::Frame(frame) => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

fn local_time() -> impl Strategy<Value = NaiveDateTime> {
    (
        2000i32..2100,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| {
            NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_opt(h, mi, s)
                .unwrap()
        })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (2000i32..2100, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn key() -> impl Strategy<Value = RequestKey> {
    ("[A-Z0-9-]{1,16}", 0u32..1_000_000, local_time()).prop_map(
        |(terminal_id, stan, local_time)| RequestKey {
            terminal_id,
            stan,
            local_time,
        },
    )
}

fn processing() -> impl Strategy<Value = ProcessingCode> {
    (0u8..100).prop_map(ProcessingCode::from_code)
}

fn amount() -> impl Strategy<Value = i64> {
    0i64..1_000_000_000_000
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zA-Z0-9 .,:/()Rp-]{{0,{max}}}")).unwrap()
}

fn basket() -> impl Strategy<Value = Vec<BasketLine>> {
    vec(
        ("[!-~]{1,32}", 1u32..=999, 0i64..100_000_000_000).prop_map(
            |(sku, quantity, unit_price_minor)| BasketLine {
                sku: sku.replace(['\u{1E}', '\u{1F}'], "x"),
                quantity,
                unit_price_minor,
            },
        ),
        0..8,
    )
}

fn terminal_message() -> impl Strategy<Value = TerminalMessage> {
    let financial = (
        key(),
        "[A-Z0-9]{1,15}",
        processing(),
        amount(),
        "[0-9]{12,19}",
        proptest::option::of(any::<[u8; 16]>()),
        proptest::option::of("[A-Z0-9]{1,32}"),
        basket(),
        proptest::option::of((0u32..1_000_000, date())),
    )
        .prop_map(
            |(
                key,
                ewarung_id,
                processing,
                amount_minor,
                pan,
                pin_block,
                program,
                basket,
                original,
            )| {
                TerminalMessage::Financial(FinancialRequest {
                    key,
                    ewarung_id,
                    processing,
                    amount_minor,
                    pan,
                    pin_block,
                    program_code: program,
                    basket,
                    original: original.map(|(stan, local_date)| OriginalRef { stan, local_date }),
                })
            },
        );
    let advice = (
        prop_oneof![
            Just(AdviceKind::Completion),
            Just(AdviceKind::Reversal),
            Just(AdviceKind::ReversalRepeat)
        ],
        key(),
        amount(),
    )
        .prop_map(|(kind, original, amount_minor)| {
            TerminalMessage::Advice(Advice {
                kind,
                original,
                amount_minor,
            })
        });
    let status = key().prop_map(|original| TerminalMessage::Status(StatusQuery { original }));
    let network = (
        "[A-Z0-9]{1,16}",
        0u32..1_000_000,
        prop_oneof![Just(NetworkCode::Logon), Just(NetworkCode::Echo)],
    )
        .prop_map(|(terminal_id, stan, code)| {
            TerminalMessage::Network(NetworkRequest {
                terminal_id,
                stan,
                code,
            })
        });
    let totals = || {
        (0u64..10_000_000_000, 0i64..10_000_000_000_000_000).prop_map(|(count, amount_minor)| {
            Totals {
                count,
                amount_minor,
            }
        })
    };
    let batch = (
        "[A-Z0-9]{1,16}",
        0u32..1_000_000,
        date(),
        totals(),
        totals(),
        totals(),
    )
        .prop_map(
            |(terminal_id, stan, business_date, purchases, refunds, reversals)| {
                TerminalMessage::BatchTotals(BatchTotals {
                    terminal_id,
                    stan,
                    business_date,
                    purchases,
                    refunds,
                    reversals,
                })
            },
        );
    let event = (
        key(),
        proptest::sample::select(DeviceEventKind::ALL.to_vec()),
    )
        .prop_map(|(key, event)| TerminalMessage::DeviceEvent(DeviceEvent { key, event }));
    prop_oneof![financial, advice, status, network, batch, event]
}

fn host_message() -> impl Strategy<Value = HostMessage> {
    let receipt = vec(
        ("[a-zA-Z0-9 ]{1,24}", 1u32..=999, 0i64..100_000_000_000).prop_map(
            |(name, quantity, amount_minor)| ReceiptLine {
                name,
                quantity,
                amount_minor,
            },
        ),
        0..5,
    );
    let financial = (
        key(),
        processing(),
        "[0-9A-Z]{2}",
        proptest::option::of("[0-9]{12}"),
        proptest::option::of("[0-9A-Z]{6}"),
        proptest::option::of(amount()),
        proptest::option::of(amount()),
        text(64),
        receipt,
    )
        .prop_map(
            |(
                key,
                processing,
                response_code,
                rrn,
                approval_code,
                amount_minor,
                balance_minor,
                display,
                receipt,
            )| {
                HostMessage::Financial(FinancialResponse {
                    key,
                    processing,
                    response_code,
                    rrn,
                    approval_code,
                    amount_minor,
                    balance_minor,
                    display,
                    receipt,
                })
            },
        );
    let advice = (
        prop_oneof![Just(AdviceKind::Completion), Just(AdviceKind::Reversal)],
        key(),
        "[0-9]{2}",
        text(64),
    )
        .prop_map(|(kind, original, response_code, display)| {
            HostMessage::Advice(AdviceResponse {
                kind,
                original,
                response_code,
                display,
            })
        });
    let status = (
        key(),
        prop_oneof![
            Just(RequestStatus::Final),
            Just(RequestStatus::InProgress),
            Just(RequestStatus::NotFound)
        ],
        proptest::option::of("[0-9]{2}"),
        proptest::option::of("[0-9]{12}"),
        proptest::option::of("[0-9]{6}"),
        proptest::option::of(amount()),
        text(64),
    )
        .prop_map(
            |(original, status, response_code, rrn, approval_code, balance_minor, display)| {
                HostMessage::Status(StatusResponse {
                    original,
                    status,
                    response_code,
                    rrn,
                    approval_code,
                    balance_minor,
                    display,
                })
            },
        );
    let network = (
        "[A-Z0-9]{1,16}",
        0u32..1_000_000,
        prop_oneof![Just(NetworkCode::Logon), Just(NetworkCode::Echo)],
        "[0-9]{2}",
        local_time(),
    )
        .prop_map(|(terminal_id, stan, code, response_code, host_time_utc)| {
            HostMessage::Network(NetworkResponse {
                terminal_id,
                stan,
                code,
                response_code,
                host_time_utc,
            })
        });
    let batch = ("[A-Z0-9]{1,16}", 0u32..1_000_000, "[0-9]{2}", text(64)).prop_map(
        |(terminal_id, stan, response_code, display)| {
            HostMessage::BatchTotals(BatchTotalsResponse {
                terminal_id,
                stan,
                response_code,
                display,
            })
        },
    );
    let event = (key(), "[0-9]{2}").prop_map(|(key, response_code)| {
        HostMessage::DeviceEvent(DeviceEventResponse { key, response_code })
    });
    prop_oneof![financial, advice, status, network, batch, event]
}

proptest! {
    #[test]
    fn frames_round_trip_in_any_chunking(
        seq in any::<u8>(),
        payload in vec(any::<u8>(), 0..=MAX_PAYLOAD),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = frame::encode(seq, &payload).unwrap();
        let at = cut.index(bytes.len());
        let events = decode_all(&[&bytes[..at], &bytes[at..]], Instant::now(), Duration::ZERO);
        prop_assert_eq!(events, vec![Received::Frame(frame::Frame { seq, payload })]);
    }

    #[test]
    fn any_bytes_decode_without_panic(noise in vec(any::<u8>(), 0..4096)) {
        let events = decode_all(&[&noise], Instant::now(), Duration::ZERO);
        for event in events {
            if let Received::Frame(frame) = event {
                prop_assert!(frame.payload.len() <= MAX_PAYLOAD);
            }
        }
    }

    #[test]
    fn a_frame_after_noise_without_stx_always_arrives(
        noise in vec(any::<u8>().prop_filter("not STX", |b| *b != STX), 0..512),
        payload in vec(any::<u8>(), 0..64),
    ) {
        let good = frame::encode(1, &payload).unwrap();
        let events = decode_all(&[&noise, &good], Instant::now(), Duration::ZERO);
        prop_assert_eq!(frames(&events), vec![frame::Frame { seq: 1, payload }]);
    }

    #[test]
    fn a_frame_after_a_pause_always_arrives_whatever_came_before(
        noise in vec(any::<u8>(), 0..2048),
        payload in vec(any::<u8>(), 0..64),
    ) {
        let good = frame::encode(2, &payload).unwrap();
        let events = decode_all(&[&noise, &good], Instant::now(), Duration::from_millis(600));
        let delivered = frames(&events);
        prop_assert_eq!(delivered.last(), Some(&frame::Frame { seq: 2, payload }));
    }

    #[test]
    fn tlv_bytes_decode_or_are_refused_and_what_decodes_is_canonical(
        bytes in vec(any::<u8>(), 0..1100),
    ) {
        if let Ok(message) = IsoMessage::decode(&bytes) {
            prop_assert_eq!(message.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn tlv_messages_round_trip(
        mti in "[0-9]{4}",
        fields in prop::collection::btree_map(
            prop::sample::select(DEFINED_TAGS.to_vec()), vec(any::<u8>(), 0..40), 0..16),
    ) {
        let mut message = IsoMessage::new(Mti::parse(mti.as_bytes()).unwrap());
        for (tag, value) in fields {
            message.set(tag, value);
        }
        let bytes = message.encode().unwrap();
        prop_assert_eq!(IsoMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn terminal_messages_round_trip(message in terminal_message()) {
        let bytes = message.encode().unwrap();
        prop_assert_eq!(TerminalMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn host_messages_round_trip(message in host_message()) {
        let bytes = message.encode().unwrap();
        prop_assert_eq!(HostMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn message_decoders_take_any_bytes(bytes in vec(any::<u8>(), 0..1100)) {
        if let Ok(message) = TerminalMessage::decode(&bytes) {
            prop_assert_eq!(TerminalMessage::decode(&message.encode().unwrap()).unwrap(), message);
        }
        if let Ok(message) = HostMessage::decode(&bytes) {
            prop_assert_eq!(HostMessage::decode(&message.encode().unwrap()).unwrap(), message);
        }
    }

    #[test]
    fn mutated_messages_decode_or_are_refused(
        message in terminal_message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = message.encode().unwrap();
        for (at, value) in flips {
            let index = at.index(bytes.len());
            bytes[index] = value;
        }
        let _ = TerminalMessage::decode(&bytes);
    }

    #[test]
    fn pin_blocks_round_trip(pin in "[0-9]{4,12}", pan in "[0-9]{12,19}", seed in any::<u64>()) {
        let key = TerminalKey::generate();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let block = pin_block::encipher(&key, &pin, &pan, &mut rng).unwrap();
        let deciphered = pin_block::decipher(&key, &block, &pan).unwrap();
        prop_assert_eq!(deciphered.as_str(), pin.as_str());
    }
}
