//! Redemptions through the terminal API: approvals, every decline path, replays, reversals,
//! voids, expiry of holds, card replacement, and concurrency against the same cards.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

const AUTHORIZE: &str = "/v1/redemptions/authorize";

async fn authorize(app: &TestApp, token: &str, body: &Value) -> Value {
    app.post(AUTHORIZE, token, body.clone()).await.expect(200)
}

#[track_caller]
fn assert_code(reply: &Value, code: &str) {
    assert_eq!(reply["response_code"], code, "unexpected answer: {reply}");
    assert_eq!(reply["approved"], code == "00", "{reply}");
    assert!(reply["message"]["id"].is_string() && reply["message"]["en"].is_string());
}

async fn an_approved_purchase_is_held_completed_and_replayed_byte_for_byte(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[0];
    let request = purchase("SMD00001", "000101", pan, 5, "13500");
    let first = app.post_bytes(AUTHORIZE, &operator, &request).await;
    let answer: Value = serde_json::from_slice(&first).unwrap();
    assert_code(&answer, "00");
    assert_eq!(answer["amount"], "67500.00");
    assert_eq!(answer["balance"], "132500.00");
    assert_eq!(answer["card"], "************4346");
    assert_eq!(answer["rrn"].as_str().unwrap().len(), 12);
    assert_eq!(answer["receipt"][0]["name"], "Beras medium");
    assert!(
        !String::from_utf8_lossy(&first).contains(pan),
        "the full PAN never leaves the host"
    );
    // The hold already counts against the balance.
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, "132500.00");

    // The terminal did not hear the answer and sends the same request again: same bytes.
    for _ in 0..2 {
        assert_eq!(app.post_bytes(AUTHORIZE, &operator, &request).await, first);
    }
    assert_eq!(app.count("redemptions").await, 1);

    let completed = app
        .post(
            "/v1/redemptions/complete",
            &operator,
            original("SMD00001", "000101"),
        )
        .await
        .expect(200);
    assert_code(&completed, "00");
    assert_eq!(completed["state"], "completed");
    assert_eq!(completed["rrn"], answer["rrn"]);
    // Completing twice is harmless.
    let again = app
        .post(
            "/v1/redemptions/complete",
            &operator,
            original("SMD00001", "000101"),
        )
        .await
        .expect(200);
    assert_eq!(again["state"], "completed");
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, "132500.00");
    // What it bought is kept once, however often the terminal asked.
    assert_eq!(app.count("redemption_lines").await, 1);
    app.assert_ledger_clean().await;

    // The check notices lines that no longer add up to what the purchase held.
    app.execute("UPDATE redemption_lines SET amount_minor = amount_minor - 100")
        .await;
    let check = app.app_state.store.ledger().verify_ledger().await.unwrap();
    let rules: Vec<&str> = check.violations.iter().map(|v| v.rule).collect();
    assert_eq!(rules, ["purchase_lines"]);
}

async fn every_decline_has_its_code_and_moves_no_money(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let office = app.login("dinsos").await;
    let pan = DEMO_PANS[1];
    let mut stan = 200;
    let mut next = || {
        stan += 1;
        format!("{stan:06}")
    };

    // 14: a well-formed card number nobody issued.
    let body = "601901000000000";
    let nobodys = format!("{body}{}", ssn::domain::pan::luhn_check_digit(body));
    let unknown = purchase("SMD00001", &next(), &nobodys, 1, "13000");
    assert_code(&authorize(&app, &operator, &unknown).await, "14");

    // 57: cash in any form, recorded as a refused attempt.
    for cash in ["cash_withdrawal", "cash_back"] {
        let mut request = purchase("SMD00001", &next(), pan, 1, "13000");
        request["type"] = json!(cash);
        let reply = authorize(&app, &operator, &request).await;
        assert_code(&reply, "57");
        assert!(reply["reason"].as_str().unwrap().contains("cash"));
    }
    // 12: a type that is not a purchase, an item outside the catalog, a price above the cap.
    let mut other = purchase("SMD00001", &next(), pan, 1, "13000");
    other["type"] = json!("transfer");
    assert_code(&authorize(&app, &operator, &other).await, "12");
    let mut cigarettes = purchase("SMD00001", &next(), pan, 1, "13000");
    cigarettes["lines"][0]["sku"] = json!("ROKOK-FILTER");
    assert_code(&authorize(&app, &operator, &cigarettes).await, "12");
    let overpriced = purchase("SMD00001", &next(), pan, 1, "14000.01");
    assert_code(&authorize(&app, &operator, &overpriced).await, "12");

    // 51: more than the balance (15 kg at 14000 = 210000 > 200000).
    let too_much = purchase("SMD00001", &next(), pan, 15, "14000");
    let reply = authorize(&app, &operator, &too_much).await;
    assert_code(&reply, "51");
    assert_eq!(reply["balance"], DEMO_QUOTA);

    // 58: another E-Warung's terminal, or one that does not exist: not even recorded.
    let before = app.count("redemptions").await;
    for terminal in ["SMD00003", "SMD00099"] {
        let reply = authorize(
            &app,
            &operator,
            &purchase(terminal, &next(), pan, 1, "13000"),
        )
        .await;
        assert_code(&reply, "58");
    }
    assert_eq!(app.count("redemptions").await, before);
    // 58 also for the caller's own terminal once it is suspended.
    app.post(
        "/v1/terminals/SMD00002/status",
        &office,
        json!({"status": "suspended", "reason": "EDC sent for repair"}),
    )
    .await
    .expect(200);
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00002", &next(), pan, 1, "13000"),
        )
        .await,
        "58",
    );

    // 55 with the tries left, then 75 once locked; the right PIN does not help while locked.
    let mut wrong = purchase("SMD00001", &next(), pan, 1, "13000");
    wrong["pin"] = json!("999999");
    let reply = authorize(&app, &operator, &wrong).await;
    assert_code(&reply, "55");
    assert_eq!(reply["pin_tries_left"], 2);
    for expected in ["55", "75"] {
        let mut wrong = purchase("SMD00001", &next(), pan, 1, "13000");
        wrong["pin"] = json!("999999");
        assert_code(&authorize(&app, &operator, &wrong).await, expected);
    }
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", &next(), pan, 1, "13000"),
        )
        .await,
        "75",
    );

    // 62: a blocked card; and a suspended household, whose balance is kept.
    let household = app.household_id(&office, DEMO_KKS[2]).await;
    let cards = app
        .get(&format!("/v1/households/{household}/cards"), &office)
        .await
        .expect(200);
    let card = cards[0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/v1/cards/{card}/block"),
        &office,
        json!({"reason": "reported stolen"}),
    )
    .await
    .expect(200);
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", &next(), DEMO_PANS[2], 1, "13000"),
        )
        .await,
        "62",
    );
    let household = app.household_id(&office, DEMO_KKS[3]).await;
    app.approved(app.post(&format!("/v1/households/{household}/status"), &office,
        json!({"expected_revision": 1, "status": "suspended", "reason": "moved out of Samarinda, pending check"})).await).await;
    let reply = authorize(
        &app,
        &operator,
        &purchase("SMD00001", &next(), DEMO_PANS[3], 1, "13000"),
    )
    .await;
    assert_code(&reply, "62");
    assert!(reply["reason"].as_str().unwrap().contains("suspended"));
    // A balance inquiry passes the same checks as a purchase: the suspended household's too.
    let inquiry = app
        .post(
            "/v1/redemptions/balance",
            &operator,
            json!({"terminal_id": "SMD00001", "pan": DEMO_PANS[3], "pin": DEMO_PIN}),
        )
        .await
        .expect(200);
    assert_code(&inquiry, "62");
    assert!(inquiry["reason"].as_str().unwrap().contains("suspended"));
    assert!(inquiry["balance"].is_null(), "{inquiry}");

    // None of it moved money: only the demo quota's transfers exist, and nothing is held.
    assert_eq!(app.count("transfers").await, 5);
    assert_eq!(
        app.count("redemption_lines").await,
        0,
        "a decline bought nothing"
    );
    app.assert_ledger_clean().await;
}

async fn a_declined_request_stays_declined_and_a_changed_body_is_a_duplicate(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[0];
    let mut wrong_pin = purchase("SMD00001", "000301", pan, 1, "13000");
    wrong_pin["pin"] = json!("111111");
    let first = app.post_bytes(AUTHORIZE, &operator, &wrong_pin).await;
    assert_code(&serde_json::from_slice(&first).unwrap(), "55");
    // The same request with the right PIN is the same request (the PIN is not part of its
    // identity): the stored decline is the answer, byte for byte.
    let right_pin = purchase("SMD00001", "000301", pan, 1, "13000");
    assert_eq!(
        app.post_bytes(AUTHORIZE, &operator, &right_pin).await,
        first
    );

    // The same key with another basket: 94, and nothing changes.
    let approved = authorize(
        &app,
        &operator,
        &purchase("SMD00001", "000302", pan, 2, "13000"),
    )
    .await;
    assert_code(&approved, "00");
    let before = (app.count("redemptions").await, app.count("transfers").await);
    let changed = authorize(
        &app,
        &operator,
        &purchase("SMD00001", "000302", pan, 3, "13000"),
    )
    .await;
    assert_code(&changed, "94");
    assert_eq!(
        (app.count("redemptions").await, app.count("transfers").await),
        before
    );
    // The same STAN on another terminal or another day is another request.
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00002", "000302", pan, 1, "13000"),
        )
        .await,
        "00",
    );
    let mut tomorrow = purchase("SMD00001", "000302", pan, 1, "13000");
    tomorrow["local_time"] = json!("2099-01-01T08:00:00");
    assert_code(&authorize(&app, &operator, &tomorrow).await, "00");
    app.assert_ledger_clean().await;
}

async fn reversals_undo_whatever_the_request_did(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[4];
    let reverse = |stan: &str| original("SMD00001", stan);

    // A held purchase: reversed, the money is back.
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000401", pan, 2, "13000"),
        )
        .await,
        "00",
    );
    let reply = app
        .post("/v1/redemptions/reversal", &operator, reverse("000401"))
        .await
        .expect(200);
    assert_code(&reply, "00");
    assert_eq!(reply["state"], "reversed");
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);
    // Reversing again changes nothing, and completing a reversed purchase is refused.
    assert_code(
        &app.post("/v1/redemptions/reversal", &operator, reverse("000401"))
            .await
            .expect(200),
        "00",
    );
    assert_code(
        &app.post("/v1/redemptions/complete", &operator, reverse("000401"))
            .await
            .expect(200),
        "12",
    );

    // A completed purchase: reversed into a refund to the card.
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000402", pan, 3, "13000"),
        )
        .await,
        "00",
    );
    assert_code(
        &app.post("/v1/redemptions/complete", &operator, reverse("000402"))
            .await
            .expect(200),
        "00",
    );
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, "161000.00");
    let reply = app
        .post("/v1/redemptions/reversal", &operator, reverse("000402"))
        .await
        .expect(200);
    assert_eq!(reply["state"], "reversed");
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);

    // A reversal of a request the host never saw is acknowledged and changes nothing; the late
    // original is then refused, so the terminal's reversal always wins.
    let transfers = app.count("transfers").await;
    assert_code(
        &app.post("/v1/redemptions/reversal", &operator, reverse("000403"))
            .await
            .expect(200),
        "00",
    );
    assert_eq!(app.count("transfers").await, transfers);
    let late = authorize(
        &app,
        &operator,
        &purchase("SMD00001", "000403", pan, 1, "13000"),
    )
    .await;
    assert_code(&late, "94");
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);
    // Complete or void of an unknown request: 25.
    assert_code(
        &app.post("/v1/redemptions/complete", &operator, reverse("000404"))
            .await
            .expect(200),
        "25",
    );
    assert_code(
        &app.post("/v1/redemptions/void", &operator, reverse("000404"))
            .await
            .expect(200),
        "25",
    );
    // Another E-Warung cannot reverse this terminal's purchases.
    let other = app.login("warung-sejahtera").await;
    assert_code(
        &app.post("/v1/redemptions/reversal", &other, reverse("000402"))
            .await
            .expect(200),
        "58",
    );
    app.assert_ledger_clean().await;
}

async fn voids_cancel_holds_and_refund_same_day_purchases_to_the_card(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[0];
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000501", pan, 4, "12000"),
        )
        .await,
        "00",
    );
    let voided = app
        .post(
            "/v1/redemptions/void",
            &operator,
            original("SMD00001", "000501"),
        )
        .await
        .expect(200);
    assert_eq!(voided["state"], "voided");
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);

    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000502", pan, 4, "12000"),
        )
        .await,
        "00",
    );
    app.post(
        "/v1/redemptions/complete",
        &operator,
        original("SMD00001", "000502"),
    )
    .await
    .expect(200);
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, "152000.00");
    let refunded = app
        .post(
            "/v1/redemptions/void",
            &operator,
            original("SMD00001", "000502"),
        )
        .await
        .expect(200);
    assert_code(&refunded, "00");
    assert_eq!(refunded["state"], "refunded");
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);
    // Voiding twice refunds once.
    app.post(
        "/v1/redemptions/void",
        &operator,
        original("SMD00001", "000502"),
    )
    .await
    .expect(200);
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);
    app.assert_ledger_clean().await;
}

async fn a_replacement_card_spends_the_same_balance_and_the_old_one_is_refused(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let office = app.login("dinsos").await;
    let old_pan = DEMO_PANS[1];
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000601", old_pan, 5, "14000"),
        )
        .await,
        "00",
    );
    app.post(
        "/v1/redemptions/complete",
        &operator,
        original("SMD00001", "000601"),
    )
    .await
    .expect(200);

    let household = app.household_id(&office, DEMO_KKS[1]).await;
    let cards = app
        .get(&format!("/v1/households/{household}/cards"), &office)
        .await
        .expect(200);
    let card = cards[0]["id"].as_str().unwrap().to_string();
    let replaced = app
        .post(
            &format!("/v1/cards/{card}/replace"),
            &office,
            json!({"pin": DEMO_PIN, "reason": "card lost at the market"}),
        )
        .await
        .expect(201);
    let new_pan = replaced["pan"].as_str().unwrap().to_string();

    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000602", old_pan, 1, "14000"),
        )
        .await,
        "62",
    );
    assert_eq!(
        app.balance(&operator, "SMD00001", &new_pan).await,
        "130000.00"
    );
    let reply = authorize(
        &app,
        &operator,
        &purchase("SMD00001", "000603", &new_pan, 9, "14000"),
    )
    .await;
    assert_code(&reply, "00");
    assert_eq!(reply["balance"], "4000.00");
    app.assert_ledger_clean().await;
}

async fn only_operators_redeem_and_malformed_requests_are_not_recorded(app: TestApp) {
    let office = app.login("dinsos").await;
    let request = purchase("SMD00001", "000701", DEMO_PANS[0], 1, "13000");
    app.post(AUTHORIZE, &office, request.clone())
        .await
        .expect_error(403, "forbidden_role");
    app.request(Method::POST, AUTHORIZE, None, Some(request))
        .await
        .expect_error(401, "missing_token");

    let operator = app.login("warung-berkah").await;
    let mut cases = Vec::new();
    let mut bad_stan = purchase("SMD00001", "12345", DEMO_PANS[0], 1, "13000");
    bad_stan["stan"] = json!("12345");
    cases.push((bad_stan, "invalid_stan"));
    let mut bad_pan = purchase("SMD00001", "000702", DEMO_PANS[0], 1, "13000");
    bad_pan["pan"] = json!("6019010435474347");
    cases.push((bad_pan, "invalid_check_digit"));
    cases.push((
        purchase("SMD00001", "000703", DEMO_PANS[0], 0, "13000"),
        "invalid_quantity",
    ));
    cases.push((
        purchase("SMD00001", "000704", DEMO_PANS[0], 1, "13000.001"),
        "amount_too_precise",
    ));
    let mut float_price = purchase("SMD00001", "000705", DEMO_PANS[0], 1, "13000");
    float_price["lines"][0]["unit_price"] = json!(13000.5);
    cases.push((float_price, "amount_must_be_string"));
    let mut bad_time = purchase("SMD00001", "000706", DEMO_PANS[0], 1, "13000");
    bad_time["local_time"] = json!("23/11/2026 10:00");
    cases.push((bad_time, "invalid_local_time"));
    for (body, code) in cases {
        let reply = app.post(AUTHORIZE, &operator, body).await;
        assert!(reply.status.is_client_error(), "{}", reply.body);
        assert_eq!(reply.code(), code, "{}", reply.body);
    }
    assert_eq!(app.count("redemptions").await, 0);
}

async fn many_terminals_racing_on_few_cards_never_overspend(app: TestApp) {
    // 3 cards, 200 attempts each at 7000 IDR across two terminals, all at once: 200000 buys 28.
    let operator = app.login("warung-berkah").await;
    let mut attempts = Vec::new();
    for (card, pan) in DEMO_PANS[..3].iter().enumerate() {
        for attempt in 0..200 {
            let terminal = if attempt % 2 == 0 {
                "SMD00001"
            } else {
                "SMD00002"
            };
            let stan = format!("{}{:05}", card + 1, attempt);
            attempts.push((card, purchase(terminal, &stan, pan, 1, "7000")));
        }
    }
    let app = std::sync::Arc::new(app);
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for (card, body) in attempts {
        let (app, operator, semaphore) = (app.clone(), operator.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await.unwrap();
            let reply = app.post(AUTHORIZE, &operator, body).await.expect(200);
            (card, reply["response_code"].as_str().unwrap().to_string())
        }));
    }
    let mut approved = [0u32; 3];
    for task in tasks {
        let (card, code) = task.await.unwrap();
        match code.as_str() {
            "00" => approved[card] += 1,
            "51" => {}
            other => panic!("unexpected response code {other}"),
        }
    }
    assert_eq!(
        approved,
        [28, 28, 28],
        "every card spends exactly what fits, never more"
    );
    for pan in &DEMO_PANS[..3] {
        assert_eq!(app.balance(&operator, "SMD00001", pan).await, "4000.00");
    }
    app.assert_ledger_clean().await;
}

async fn a_status_query_answers_from_the_stored_result(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let status = |stan: &str| original("SMD00001", stan);
    let unknown = app
        .post("/v1/redemptions/status", &operator, status("000901"))
        .await
        .expect(200);
    assert_eq!(unknown["status"], "not_found", "{unknown}");
    assert!(unknown.get("answer").is_none());

    let request = purchase("SMD00001", "000902", DEMO_PANS[0], 1, "13500");
    let first: Value =
        serde_json::from_slice(&app.post_bytes(AUTHORIZE, &operator, &request).await).unwrap();
    let known = app
        .post("/v1/redemptions/status", &operator, status("000902"))
        .await
        .expect(200);
    assert_eq!(known["status"], "final");
    assert_eq!(known["answer"], first);
    assert_eq!(known["state"], "held");

    // A reversal that arrived before its request leaves nothing to report.
    app.post("/v1/redemptions/reversal", &operator, status("000903"))
        .await
        .expect(200);
    let reversed = app
        .post("/v1/redemptions/status", &operator, status("000903"))
        .await
        .expect(200);
    assert_eq!(reversed["status"], "not_found");

    // Another E-Warung's operator learns nothing about this terminal.
    let other = app.login("warung-sejahtera").await;
    let refused = app
        .post("/v1/redemptions/status", &other, status("000902"))
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "58", "{refused}");
}

fn refund(stan: &str, original_stan: &str) -> Value {
    json!({"terminal_id": "SMD00001", "stan": stan, "local_time": format!("{}T11:00:00", today()),
           "original_stan": original_stan, "original_local_date": today()})
}

async fn a_refund_is_its_own_request_and_a_purchase_is_refunded_once(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[0];
    app.buy(&operator, "SMD00001", "000001", pan, 2).await;
    let path = "/v1/redemptions/refund";
    let first = app
        .post_bytes(path, &operator, &refund("000002", "000001"))
        .await;
    let answer: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(answer["response_code"], "00", "{answer}");
    assert_eq!(answer["state"], "refunded");
    assert_eq!(
        answer["stan"], "000002",
        "the answer names the refund's own request"
    );
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);
    // The same refund again is the same answer, byte for byte, and moves nothing.
    let transfers = app.count("transfers").await;
    assert_eq!(
        app.post_bytes(path, &operator, &refund("000002", "000001"))
            .await,
        first
    );
    assert_eq!(app.count("transfers").await, transfers);
    // A new STAN for the same purchase: refused, recorded, nothing moves.
    let again = app
        .post(path, &operator, refund("000003", "000001"))
        .await
        .expect(200);
    assert_eq!(again["response_code"], "94", "{again}");
    assert_eq!(app.count("transfers").await, transfers);
    assert_eq!(
        app.count("refund_requests").await,
        2,
        "the refused attempt is recorded"
    );
    let asked = app
        .post(
            "/v1/redemptions/status",
            &operator,
            original("SMD00001", "000003"),
        )
        .await
        .expect(200);
    assert_eq!(asked["status"], "final");
    assert_eq!(asked["answer"]["response_code"], "94");
    // The refund's key with another purchase named: 94; an unknown purchase: 25; a STAN a
    // purchase already used: 94.
    for (body, code) in [
        (refund("000002", "000009"), "94"),
        (refund("000004", "000099"), "25"),
        (refund("000001", "000001"), "94"),
    ] {
        let reply = app.post(path, &operator, body).await.expect(200);
        assert_eq!(reply["response_code"], code, "{reply}");
    }
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, DEMO_QUOTA);
    // Another E-Warung's operator cannot refund at this terminal.
    let other = app.login("warung-sejahtera").await;
    let foreign = app
        .post(path, &other, refund("000005", "000001"))
        .await
        .expect(200);
    assert_eq!(foreign["response_code"], "58", "{foreign}");
    app.assert_ledger_clean().await;
}

on_both_backends!(
    a_refund_is_its_own_request_and_a_purchase_is_refunded_once,
    a_status_query_answers_from_the_stored_result,
    an_approved_purchase_is_held_completed_and_replayed_byte_for_byte,
    every_decline_has_its_code_and_moves_no_money,
    a_declined_request_stays_declined_and_a_changed_body_is_a_duplicate,
    reversals_undo_whatever_the_request_did,
    voids_cancel_holds_and_refund_same_day_purchases_to_the_card,
    a_replacement_card_spends_the_same_balance_and_the_old_one_is_refused,
    only_operators_redeem_and_malformed_requests_are_not_recorded,
    many_terminals_racing_on_few_cards_never_overspend,
);

/// Holds nobody completes go back to the household once their timeout passes.
async fn an_uncompleted_hold_expires_and_the_money_returns(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let pan = DEMO_PANS[0];
    assert_code(
        &authorize(
            &app,
            &operator,
            &purchase("SMD00001", "000801", pan, 2, "13000"),
        )
        .await,
        "00",
    );
    assert_eq!(app.balance(&operator, "SMD00001", pan).await, "174000.00");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.balance(&operator, "SMD00001", pan).await != DEMO_QUOTA {
        assert!(
            std::time::Instant::now() < deadline,
            "the hold was never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let late = app
        .post(
            "/v1/redemptions/complete",
            &operator,
            original("SMD00001", "000801"),
        )
        .await
        .expect(200);
    assert_code(&late, "12");
    assert_eq!(late["state"], "expired");
    app.assert_ledger_clean().await;
}

mod an_uncompleted_hold_expires {
    use super::*;
    fn quick_expiry(serve: &mut ssn::config::ServeArgs) {
        serve.hold_timeout_seconds = 1;
        serve.sweep_interval_seconds = 1;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        an_uncompleted_hold_expires_and_the_money_returns(
            spawn_app_with(Backend::Sqlite, quick_expiry).await,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        an_uncompleted_hold_expires_and_the_money_returns(
            spawn_app_with(Backend::Postgres, quick_expiry).await,
        )
        .await
    }
}

/// The same purchases completed, voided, reversed and replayed by many clients at once: no
/// deadlock (PostgreSQL's own count), no 96, no 5xx, and every replay of an authorization is its
/// stored answer byte for byte.
async fn a_storm_of_follow_ups_on_the_same_purchases_never_deadlocks(app: TestApp) {
    use futures_util::StreamExt;
    let operator = app.login("warung-berkah").await;
    let deadlocks_before = deadlocks(&app).await;
    // 40 held purchases of 1,000 IDR across four cards and both terminals.
    let mut purchases = Vec::new();
    for index in 0..40usize {
        let terminal = ["SMD00001", "SMD00002"][index % 2];
        let stan = format!("{:06}", 700 + index);
        let body = purchase(terminal, &stan, DEMO_PANS[index % 4], 1, "1000");
        let stored = app.post_bytes(AUTHORIZE, &operator, &body).await;
        let answer: Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(answer["response_code"], "00", "{answer}");
        purchases.push((terminal, stan, body, stored));
    }
    let mut requests = Vec::new();
    for (terminal, stan, body, stored) in &purchases {
        let named = original(terminal, stan);
        for path in ["complete", "void", "complete", "reversal", "void"] {
            requests.push((format!("/v1/redemptions/{path}"), named.clone(), None));
        }
        for _ in 0..2 {
            requests.push((AUTHORIZE.to_string(), body.clone(), Some(stored.clone())));
        }
    }
    // A fixed shuffle, so a failure can be replayed.
    let count = requests.len();
    let mut order: Vec<usize> = (0..count).map(|i| i * 37 % count).collect();
    order.dedup();
    assert_eq!(order.len(), count, "37 is coprime with {count}");
    let base = app.base.clone();
    let answers: Vec<(u16, Vec<u8>, Option<Vec<u8>>)> = futures_util::stream::iter(order)
        .map(|i| {
            let (path, body, stored) = requests[i].clone();
            let (http, base, token) = (app.http.clone(), base.clone(), operator.clone());
            async move {
                let response = http
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.bytes().await.unwrap().to_vec(), stored)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for (status, bytes, stored) in &answers {
        let text = String::from_utf8_lossy(bytes);
        assert_eq!(*status, 200, "{text}");
        let answer: Value = serde_json::from_slice(bytes).unwrap();
        assert_ne!(answer["response_code"], "96", "{answer}");
        if let Some(stored) = stored {
            assert_eq!(bytes, stored, "a replay is its stored answer: {text}");
        }
    }
    app.assert_ledger_clean().await;
    if app.backend == Backend::Postgres {
        // A connection reports its statistics when it ends: end the app's.
        app.app_state.store.close().await;
        let others = "SELECT COUNT(*) FROM pg_stat_activity
                       WHERE datname = current_database() AND pid <> pg_backend_pid()";
        for _ in 0..100 {
            if count_on(app.backend, &app.database_url, others).await == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    assert_eq!(
        deadlocks(&app).await,
        deadlocks_before,
        "deadlocks detected by PostgreSQL"
    );
}

/// PostgreSQL's count of deadlocks in the app's database (0 on SQLite, which has one writer).
async fn deadlocks(app: &TestApp) -> i64 {
    if app.backend != Backend::Postgres {
        return 0;
    }
    let probe = "SELECT CAST(COALESCE(deadlocks, 0) AS BIGINT) FROM pg_stat_database WHERE datname = current_database()";
    count_on(app.backend, &app.database_url, probe).await
}

on_both_backends!(a_storm_of_follow_ups_on_the_same_purchases_never_deadlocks);
