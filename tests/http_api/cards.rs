//! Cards: issue, block, replace, PINs and lockout.

use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

const DEMO_KK: &str = "6472010101230001";

/// The demo household's live card: (card id, masked pan).
async fn live_card(app: &TestApp, token: &str, household: &str) -> (String, String) {
    let cards = app
        .get(&format!("/v1/households/{household}/cards"), token)
        .await
        .expect(200);
    let card = cards
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "active")
        .expect("a live card")
        .clone();
    (
        card["id"].as_str().unwrap().to_string(),
        card["pan"].as_str().unwrap().to_string(),
    )
}

async fn a_card_is_issued_once_and_its_number_shown_only_then(app: TestApp) {
    let office = app.login("dinsos").await;
    let household = app.post("/v1/households", &office, json!({"kk_number": "6472010303250001", "head_nik": "6472014107850021",
        "head_name": "Yusuf", "address": {"street": "Jl. A", "rt": "1", "rw": "1", "kelurahan": "K", "kecamatan": "C"}})).await.expect(201);
    let id = household["id"].as_str().unwrap();
    let issued = app
        .post(
            &format!("/v1/households/{id}/cards"),
            &office,
            json!({"pin": "246810"}),
        )
        .await
        .expect(201);
    let pan = issued["pan"].as_str().unwrap();
    assert_eq!(pan.len(), 16);
    assert!(
        pan.starts_with("6019010"),
        "numbered under the configured prefix"
    );
    assert_eq!(issued["card"]["pan"], format!("************{}", &pan[12..]));
    assert_eq!(issued["card"]["pin_set"], true);
    assert!(!issued.to_string().contains("pin_hash"));

    let card_id = issued["card"]["id"].as_str().unwrap();
    let fetched = app
        .get(&format!("/v1/cards/{card_id}"), &office)
        .await
        .expect(200);
    assert!(
        !fetched.to_string().contains(pan),
        "the full number is never shown again"
    );
    let looked_up = app
        .post("/v1/cards/lookup", &office, json!({"pan": pan}))
        .await
        .expect(200);
    assert_eq!(looked_up["id"], card_id);

    app.post(
        &format!("/v1/households/{id}/cards"),
        &office,
        json!({"pin": "246810"}),
    )
    .await
    .expect_error(409, "household_has_card");
    app.post(
        &format!("/v1/households/{id}/cards"),
        &office,
        json!({"pin": "12"}),
    )
    .await
    .expect_error(422, "invalid_pin");
}

async fn exited_households_get_no_card(app: TestApp) {
    let office = app.login("dinsos").await;
    let household = app.post("/v1/households", &office, json!({"kk_number": "6472010303250002", "head_nik": "6472014107850022",
        "head_name": "Ani", "address": {"street": "Jl. B", "rt": "1", "rw": "1", "kelurahan": "K", "kecamatan": "C"}})).await.expect(201);
    let id = household["id"].as_str().unwrap();
    app.approved(
        app.post(
            &format!("/v1/households/{id}/status"),
            &office,
            json!({"expected_revision": 1, "status": "exited", "reason": "died, reported by RT"}),
        )
        .await,
    )
    .await;
    app.post(
        &format!("/v1/households/{id}/cards"),
        &office,
        json!({"pin": "123456"}),
    )
    .await
    .expect_error(409, "household_not_active");
}

async fn blocking_and_replacement_follow_the_card_lifecycle(app: TestApp) {
    let office = app.login("dinsos").await;
    let household = app.household_id(&office, DEMO_KK).await;
    let (card, _) = live_card(&app, &office, &household).await;

    let blocked = app
        .post(
            &format!("/v1/cards/{card}/block"),
            &office,
            json!({"reason": "reported misuse"}),
        )
        .await
        .expect(200);
    assert_eq!(blocked["status"], "blocked");
    app.post(
        &format!("/v1/cards/{card}/block"),
        &office,
        json!({"reason": "again"}),
    )
    .await
    .expect_error(409, "invalid_state");
    let active = app
        .post(
            &format!("/v1/cards/{card}/unblock"),
            &office,
            json!({"reason": "cleared"}),
        )
        .await
        .expect(200);
    assert_eq!(active["status"], "active");
    app.post(
        &format!("/v1/cards/{card}/lost"),
        &office,
        json!({"reason": "lost at the market"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/v1/cards/{card}/unblock"),
        &office,
        json!({"reason": "found"}),
    )
    .await
    .expect_error(409, "invalid_state");

    let replacement = app
        .post(
            &format!("/v1/cards/{card}/replace"),
            &office,
            json!({"pin": "135790", "reason": "lost card"}),
        )
        .await
        .expect(201);
    let new_card = replacement["card"]["id"].as_str().unwrap();
    assert_eq!(
        replacement["card"]["household_id"],
        household.as_str(),
        "value stays with the household"
    );
    assert_eq!(replacement["card"]["replaces"], card.as_str());
    let old = app
        .get(&format!("/v1/cards/{card}"), &office)
        .await
        .expect(200);
    assert_eq!(old["status"], "replaced");
    // A replaced card is dead: it cannot be replaced, unblocked or given a PIN.
    app.post(
        &format!("/v1/cards/{card}/replace"),
        &office,
        json!({"pin": "135790", "reason": "x"}),
    )
    .await
    .expect_error(409, "invalid_state");
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/cards/{card}/pin"),
        Some(&office),
        Some(json!({"pin": "111111"})),
    )
    .await
    .expect_error(409, "invalid_state");

    let cards = app
        .get(&format!("/v1/households/{household}/cards"), &office)
        .await
        .expect(200);
    let statuses: Vec<_> = cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (card.clone(), "replaced".into()),
            (new_card.to_string(), "active".into())
        ]
    );
    let actions = app.audit_actions(&office, "card", &card).await;
    assert_eq!(
        actions,
        vec![
            "card.issue",
            "card.blocked",
            "card.active",
            "card.lost",
            "card.replace"
        ]
    );
}

async fn three_wrong_pins_lock_the_card_until_an_office_unlocks_it(app: TestApp) {
    let office = app.login("dinsos").await;
    let household = app.household_id(&office, DEMO_KK).await;
    let (card, _) = live_card(&app, &office, &household).await;
    let change = |current: &str| json!({"current_pin": current, "new_pin": "654321"});
    let path = format!("/v1/cards/{card}/pin/change");

    let first = app.post(&path, &office, change("000000")).await;
    first.expect_error(422, "wrong_pin");
    assert!(first.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2 tries left"));
    app.post(&path, &office, change("000001"))
        .await
        .expect_error(422, "wrong_pin");
    app.post(&path, &office, change("000002"))
        .await
        .expect_error(423, "card_locked");
    // Locked: even the right PIN is refused, and counts nothing.
    app.post(&path, &office, change("123456"))
        .await
        .expect_error(423, "card_locked");
    let locked = app
        .get(&format!("/v1/cards/{card}"), &office)
        .await
        .expect(200);
    assert!(locked["locked_until"].is_string());

    // Operators and auditors cannot unlock; an office user can.
    let auditor = app.login("auditor").await;
    app.request(
        reqwest::Method::POST,
        &format!("/v1/cards/{card}/unlock"),
        Some(&auditor),
        None,
    )
    .await
    .expect_error(403, "forbidden_role");
    let unlocked = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/cards/{card}/unlock"),
            Some(&office),
            None,
        )
        .await
        .expect(200);
    assert_eq!(unlocked["pin_failures"], 0);
    assert!(unlocked["locked_until"].is_null());
    app.post(&path, &office, change("123456")).await.expect(200);
    // The new PIN is now the one that counts.
    app.post(
        &path,
        &office,
        json!({"current_pin": "123456", "new_pin": "111111"}),
    )
    .await
    .expect_error(422, "wrong_pin");
    app.post(
        &path,
        &office,
        json!({"current_pin": "654321", "new_pin": "111111"}),
    )
    .await
    .expect(200);

    let actions = app.audit_actions(&auditor, "card", &card).await;
    assert!(
        actions.contains(&"card.pin_locked".to_string())
            && actions.contains(&"card.unlock".to_string()),
        "{actions:?}"
    );
}

async fn a_right_pin_resets_the_count_of_wrong_ones(app: TestApp) {
    let office = app.login("dinsos").await;
    let household = app.household_id(&office, "6472010101230002").await;
    let (card, _) = live_card(&app, &office, &household).await;
    let path = format!("/v1/cards/{card}/pin/change");
    for _ in 0..2 {
        app.post(
            &path,
            &office,
            json!({"current_pin": "999999", "new_pin": "123456"}),
        )
        .await
        .expect_error(422, "wrong_pin");
    }
    app.post(
        &path,
        &office,
        json!({"current_pin": "123456", "new_pin": "123456"}),
    )
    .await
    .expect(200);
    let card_now = app
        .get(&format!("/v1/cards/{card}"), &office)
        .await
        .expect(200);
    assert_eq!(card_now["pin_failures"], 0);
    for _ in 0..2 {
        app.post(
            &path,
            &office,
            json!({"current_pin": "999999", "new_pin": "123456"}),
        )
        .await
        .expect_error(422, "wrong_pin");
    }
}

/// The database holds no card number in clear: cards are found by a keyed hash, the number is
/// encrypted, the audit log names the last four digits only; older clear numbers are converted.
async fn card_numbers_are_stored_only_hashed_and_encrypted(app: TestApp) {
    let office = app.login("dinsos").await;
    let in_clear = |pan: &str| {
        format!(
            "SELECT (SELECT COUNT(*) FROM cards WHERE pan IS NOT NULL OR pan_encrypted IS NULL)
                  + (SELECT COUNT(*) FROM audit_log WHERE CAST(detail AS TEXT) LIKE '%{pan}%')"
        )
    };
    for pan in DEMO_PANS {
        assert_eq!(
            count_on(app.backend, &app.database_url, &in_clear(pan)).await,
            0,
            "{pan}"
        );
    }
    let found = app
        .post("/v1/cards/lookup", &office, json!({"pan": DEMO_PANS[1]}))
        .await
        .expect(200);
    assert_eq!(found["pan"], format!("************{}", &DEMO_PANS[1][12..]));
    let card = found["id"].as_str().unwrap();
    // A PIN change needs the number back (the verification value is keyed by it): it is opened
    // from its encrypted copy, and the card still pays with the new PIN.
    app.execute(&format!(
        "UPDATE cards SET pin_failures = 0 WHERE pan_last4 = '{}'",
        &DEMO_PANS[1][12..]
    ))
    .await;
    app.request(
        reqwest::Method::PUT,
        &format!("/v1/cards/{card}/pin"),
        Some(&office),
        Some(json!({"pin": "135790"})),
    )
    .await
    .expect(200);
    let operator = app.login("warung-berkah").await;
    let balance = json!({"terminal_id": "SMD00001", "pan": DEMO_PANS[1], "pin": "135790"});
    let reply = app
        .post("/v1/redemptions/balance", &operator, balance)
        .await
        .expect(200);
    assert_eq!(reply["response_code"], "00", "{reply}");

    // A card stored before numbers were protected is converted at start-up.
    let last4 = &DEMO_PANS[2][12..];
    app.execute(&format!(
        "UPDATE cards SET pan = '{}', pan_hash = NULL, pan_encrypted = NULL, pan_last4 = NULL
          WHERE pan_last4 = '{last4}'",
        DEMO_PANS[2]
    ))
    .await;
    let state = &app.app_state;
    let converted = state
        .store
        .protect_legacy_pans(&|pan: &str| state.pans.protect(pan))
        .await
        .unwrap();
    assert_eq!(converted, 1);
    assert_eq!(
        count_on(app.backend, &app.database_url, &in_clear(DEMO_PANS[2])).await,
        0
    );
    app.post("/v1/cards/lookup", &office, json!({"pan": DEMO_PANS[2]}))
        .await
        .expect(200);
}

on_both_backends!(
    card_numbers_are_stored_only_hashed_and_encrypted,
    a_card_is_issued_once_and_its_number_shown_only_then,
    exited_households_get_no_card,
    blocking_and_replacement_follow_the_card_lifecycle,
    three_wrong_pins_lock_the_card_until_an_office_unlocks_it,
    a_right_pin_resets_the_count_of_wrong_ones,
);

/// The lock lasts the configured time, and ends by itself: instead of waiting ten minutes, the
/// test reads the lock's end and then moves it into the past, as the clock would.
async fn a_pin_lock_ends_by_itself_after_the_configured_time(backend: Backend) {
    let app = spawn_app_with(backend, |serve| {
        serve.pin_lock_seconds = 600;
        serve.pin_max_failures = 2;
    })
    .await;
    let office = app.login("dinsos").await;
    let household = app.household_id(&office, DEMO_KK).await;
    let (card, _) = live_card(&app, &office, &household).await;
    let path = format!("/v1/cards/{card}/pin/change");
    let change = |current: &str| json!({"current_pin": current, "new_pin": "123456"});
    app.post(&path, &office, change("999999"))
        .await
        .expect_error(422, "wrong_pin");
    let locked_at = chrono::Utc::now();
    app.post(&path, &office, change("999999"))
        .await
        .expect_error(423, "card_locked");
    app.post(&path, &office, change("123456"))
        .await
        .expect_error(423, "card_locked");
    let record = app
        .get(&format!("/v1/cards/{card}"), &office)
        .await
        .expect(200);
    let until: chrono::DateTime<chrono::Utc> = record["locked_until"]
        .as_str()
        .expect("a locked card says until when")
        .parse()
        .unwrap();
    let lasts = (until - locked_at).num_seconds();
    assert!(
        (595..=605).contains(&lasts),
        "the lock lasts {lasts} s, not 600"
    );

    app.execute(
        "UPDATE cards SET locked_until = '2000-01-01T00:00:00Z' WHERE locked_until IS NOT NULL",
    )
    .await;
    app.post(&path, &office, change("123456")).await.expect(200);
}

on_both_backends!(a_pin_lock_ends_by_itself_after_the_configured_time);
