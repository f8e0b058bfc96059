//! PIN blocks: terminals send the PIN as an ISO 9564 format 4 block under their own key, which the
//! host provisions at registration (shown once), keeps wrapped, and can rotate.

use rand::SeedableRng;
use serde_json::{json, Value};
use terminal_link::pin_block::{self, TerminalKey};

use crate::common::*;
use crate::on_both_backends;

const AUTHORIZE: &str = "/v1/redemptions/authorize";

fn block(key: &TerminalKey, pin: &str, pan: &str) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let block = pin_block::encipher(key, pin, pan, &mut rng).unwrap();
    hex::encode_upper(block)
}

/// A purchase with the PIN as a block instead of in clear.
fn purchase_with_block(terminal: &str, stan: &str, pan: &str, pin_block: &str) -> Value {
    let mut request = purchase(terminal, stan, pan, 1, "13500");
    let fields = request.as_object_mut().unwrap();
    fields.remove("pin");
    fields.insert("pin_block".into(), json!(pin_block));
    request
}

async fn a_registered_terminal_gets_a_key_shown_once_and_its_blocks_are_verified(app: TestApp) {
    let office = app.login("dinsos").await;
    let ewarung = app.ewarung_id(&office, "E-Warung Berkah").await;
    let created = app
        .post(
            &format!("/v1/ewarungs/{ewarung}/terminals"),
            &office,
            json!({"terminal_id": "SMD00077", "serial_number": "VX520-77"}),
        )
        .await
        .expect(201);
    let key = TerminalKey::from_hex(created["pin_key"]["key"].as_str().unwrap()).unwrap();
    assert_eq!(created["pin_key"]["check_value"], key.check_value());
    assert_eq!(created["pin_key_check_value"], key.check_value());
    // Afterwards only the check value is shown, and the audit names no key.
    let shown = app.get("/v1/terminals/SMD00077", &office).await.expect(200);
    assert_eq!(shown["pin_key_check_value"], key.check_value());
    assert!(shown.get("pin_key").is_none(), "{shown}");
    let hex_key = key.expose_hex().to_string();
    assert!(!app
        .get("/v1/audit?limit=100", &office)
        .await
        .expect(200)
        .to_string()
        .contains(&hex_key));

    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[2];
    let good = purchase_with_block("SMD00077", "000001", pan, &block(&key, DEMO_PIN, pan));
    let approved = app.post(AUTHORIZE, &operator, good).await.expect(200);
    assert_eq!(approved["response_code"], "00", "{approved}");

    // A wrong PIN inside a good block counts against the card like a wrong clear PIN.
    let wrong = purchase_with_block("SMD00077", "000002", pan, &block(&key, "999999", pan));
    let declined = app.post(AUTHORIZE, &operator, wrong).await.expect(200);
    assert_eq!(declined["response_code"], "55", "{declined}");
    assert!(declined["pin_tries_left"].is_number());

    // A block made under another key, or for another card, tries no PIN and counts nothing.
    let stranger = TerminalKey::generate();
    let foreign = purchase_with_block("SMD00077", "000003", pan, &block(&stranger, DEMO_PIN, pan));
    let declined = app.post(AUTHORIZE, &operator, foreign).await.expect(200);
    assert_eq!(declined["response_code"], "55", "{declined}");
    assert!(declined.get("pin_tries_left").is_none(), "{declined}");
    let other_card = block(&key, DEMO_PIN, DEMO_PANS[3]);
    let declined = app
        .post(
            AUTHORIZE,
            &operator,
            purchase_with_block("SMD00077", "000004", pan, &other_card),
        )
        .await
        .expect(200);
    assert_eq!(declined["response_code"], "55");
    app.assert_ledger_clean().await;
}

async fn a_rotated_key_replaces_the_old_one(app: TestApp) {
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    // Operators cannot make keys.
    app.post("/v1/terminals/SMD00001/pin-key", &operator, json!({}))
        .await
        .expect_error(403, "forbidden_role");
    let rotated = app
        .post("/v1/terminals/SMD00001/pin-key", &office, json!({}))
        .await
        .expect(201);
    let new_key = TerminalKey::from_hex(rotated["pin_key"]["key"].as_str().unwrap()).unwrap();
    let demo_key = TerminalKey::from_hex(pin_block::DEMO_KEY_HEX).unwrap();
    assert_ne!(new_key.check_value(), demo_key.check_value());
    let pan = DEMO_PANS[4];
    let old = purchase_with_block("SMD00001", "000011", pan, &block(&demo_key, DEMO_PIN, pan));
    assert_eq!(
        app.post(AUTHORIZE, &operator, old).await.expect(200)["response_code"],
        "55"
    );
    let new = purchase_with_block("SMD00001", "000012", pan, &block(&new_key, DEMO_PIN, pan));
    assert_eq!(
        app.post(AUTHORIZE, &operator, new).await.expect(200)["response_code"],
        "00"
    );
    app.post("/v1/terminals/SMD09999/pin-key", &office, json!({}))
        .await
        .expect_error(404, "terminal_not_found");
    let actions = app.audit_actions(&office, "terminal", "SMD00001").await;
    assert!(
        actions.contains(&"terminal.pin_key".to_string()),
        "{actions:?}"
    );
}

async fn a_request_sends_exactly_one_of_pin_and_pin_block(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[0];
    let demo_key = TerminalKey::from_hex(pin_block::DEMO_KEY_HEX).unwrap();
    let mut both = purchase("SMD00002", "000021", pan, 1, "13500");
    both["pin_block"] = json!(block(&demo_key, DEMO_PIN, pan));
    app.post(AUTHORIZE, &operator, both)
        .await
        .expect_error(422, "pin_required");
    let mut neither = purchase("SMD00002", "000022", pan, 1, "13500");
    neither.as_object_mut().unwrap().remove("pin");
    app.post(AUTHORIZE, &operator, neither)
        .await
        .expect_error(422, "pin_required");
    let malformed = purchase_with_block("SMD00002", "000023", pan, "00FF");
    app.post(AUTHORIZE, &operator, malformed)
        .await
        .expect_error(422, "invalid_pin_block");
    assert_eq!(app.count("redemptions").await, 0);
    // The demo terminals' documented key works for a balance inquiry too.
    let balance = app
        .post(
            "/v1/redemptions/balance",
            &operator,
            json!({"terminal_id": "SMD00002", "pan": pan, "pin_block": block(&demo_key, DEMO_PIN, pan)}),
        )
        .await
        .expect(200);
    assert_eq!(balance["response_code"], "00", "{balance}");
    assert_eq!(balance["balance"], DEMO_QUOTA);
}

on_both_backends!(
    a_registered_terminal_gets_a_key_shown_once_and_its_blocks_are_verified,
    a_rotated_key_replaces_the_old_one,
    a_request_sends_exactly_one_of_pin_and_pin_block,
);
