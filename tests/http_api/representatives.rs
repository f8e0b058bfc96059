//! Authorised representatives: an office names an adult to buy on a household's entitlement with
//! a card and PIN of their own, valid until a date; the purchase records that card and the
//! head's statement shows it; revoking stops the card at once (62), a past last day stops it
//! too (54); the limits (two per household, two households per person, no E-Warung owner or
//! operator, adults only) hold.

use chrono::{Days, NaiveDate};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

const REP_PIN: &str = "246810";
/// A woman born 12 March 1990 (day + 40 in the NIK).
const REP_NIK: &str = "6472015203900004";
/// A man born 1 July 1985.
const OTHER_NIK: &str = "6472010107850005";

fn in_days(days: u64) -> String {
    let today = NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap();
    today
        .checked_add_days(Days::new(days))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn naming(nik: &str, sex: &str, birth_date: &str, name: &str) -> Value {
    json!({"nik": nik, "name": name, "sex": sex, "birth_date": birth_date,
           "relation": "child", "valid_until": in_days(30), "pin": REP_PIN})
}

fn rep_naming() -> Value {
    naming(REP_NIK, "female", "1990-03-12", "Rina Rahmawati")
}

fn other_naming() -> Value {
    naming(OTHER_NIK, "male", "1985-07-01", "Joko Susilo")
}

fn path(household: &str) -> String {
    format!("/v1/households/{household}/representatives")
}

async fn buy_with(app: &TestApp, operator: &str, stan: &str, pan: &str, pin: &str) -> Value {
    let mut basket = purchase("SMD00001", stan, pan, 1, "13500");
    basket["pin"] = json!(pin);
    app.post("/v1/redemptions/authorize", operator, basket)
        .await
        .expect(200)
}

async fn a_representative_buys_with_their_own_card_until_revoked(app: TestApp) {
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    let household = app.household_id(&office, DEMO_KKS[0]).await;

    let named = app
        .post(&path(&household), &office, rep_naming())
        .await
        .expect(201);
    let representative = named["representative"]["id"].as_str().unwrap().to_string();
    assert_eq!(named["representative"]["status"], "active");
    assert_eq!(named["representative"]["household_id"], household.as_str());
    assert_eq!(named["card"]["representative_id"], representative.as_str());
    assert_eq!(named["card"]["household_id"], household.as_str());
    assert_eq!(named["card"]["status"], "active");
    let pan = named["pan"].as_str().unwrap().to_string();
    assert_eq!(pan.len(), 16);
    assert_ne!(pan, DEMO_PANS[0], "a card of their own");

    // The household's own card keeps working; the representative's card takes their own PIN.
    let before = app.balance(&operator, "SMD00001", DEMO_PANS[0]).await;
    let wrong = buy_with(&app, &operator, "000401", &pan, DEMO_PIN).await;
    assert_eq!(wrong["response_code"], "55", "{wrong}");
    let bought = buy_with(&app, &operator, "000402", &pan, REP_PIN).await;
    assert_eq!(bought["response_code"], "00", "{bought}");
    let after = app.balance(&operator, "SMD00001", DEMO_PANS[0]).await;
    assert_ne!(before, after, "the purchase spends the household's balance");
    let inquiry = app
        .post(
            "/v1/redemptions/balance",
            &operator,
            json!({"terminal_id": "SMD00001", "pan": pan, "pin": REP_PIN}),
        )
        .await
        .expect(200);
    assert_eq!(
        inquiry["balance"].as_str(),
        Some(after.as_str()),
        "{inquiry}"
    );

    // The household's statement (its head's own card at /saldo) says whose card bought.
    let mut browser = Browser::new(&app);
    let form = browser.get("/saldo").await;
    let csrf = form.csrf();
    let shown = browser
        .post(
            "/saldo",
            &[("csrf", &csrf), ("pan", DEMO_PANS[0]), ("pin", DEMO_PIN)],
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    let purchases = between(&shown.body, "id=\"saldo-purchases\"", "</table>");
    assert!(purchases.contains(&pan[12..]), "{purchases}");
    assert!(
        purchases.contains("kartu perwakilan: Rina Rahmawati"),
        "{purchases}"
    );
    let representatives = between(&shown.body, "id=\"saldo-representatives\"", "</ul>");
    assert!(
        representatives.contains("Rina Rahmawati"),
        "who represents the household: {}",
        shown.body
    );

    // Listed with the household; read by id.
    let listed = app.get(&path(&household), &office).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let read = app
        .get(&format!("/v1/representatives/{representative}"), &office)
        .await
        .expect(200);
    assert_eq!(read["name"], "Rina Rahmawati");
    assert_eq!(read["valid_until"], in_days(30));

    // Revoked: the card stops at once, and is not unblocked or replaced back to life.
    let revoke = format!("/v1/representatives/{representative}/revoke");
    app.post(&revoke, &office, json!({"reason": ""}))
        .await
        .expect_error(422, "blank");
    let revoked = app
        .post(&revoke, &office, json!({"reason": "the family asked"}))
        .await
        .expect(200);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["end_reason"], "the family asked");
    let refused = buy_with(&app, &operator, "000403", &pan, REP_PIN).await;
    assert_eq!(refused["response_code"], "62", "{refused}");
    app.post(&revoke, &office, json!({"reason": "again"}))
        .await
        .expect_error(409, "invalid_state");
    let card = named["card"]["id"].as_str().unwrap();
    let card_now = app
        .get(&format!("/v1/cards/{card}"), &office)
        .await
        .expect(200);
    assert_eq!(card_now["status"], "blocked");
    app.post(
        &format!("/v1/cards/{card}/unblock"),
        &office,
        json!({"reason": "by mistake"}),
    )
    .await
    .expect_error(409, "representative_ended");
    app.post(
        &format!("/v1/cards/{card}/replace"),
        &office,
        json!({"reason": "lost", "pin": REP_PIN}),
    )
    .await
    .expect_error(409, "representative_ended");
    // The household's own card is untouched.
    let own = buy_with(&app, &operator, "000404", DEMO_PANS[0], DEMO_PIN).await;
    assert_eq!(own["response_code"], "00", "{own}");

    let actions = app.audit_actions(&office, "household", &household).await;
    assert!(actions.contains(&"household.representative_named".to_string()));
    assert!(actions.contains(&"household.representative_revoked".to_string()));
    app.assert_ledger_clean().await;
}

async fn a_card_past_its_last_day_is_refused_as_expired(app: TestApp) {
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    let household = app.household_id(&office, DEMO_KKS[1]).await;
    let mut today_only = rep_naming();
    today_only["valid_until"] = json!(today());
    let named = app
        .post(&path(&household), &office, today_only)
        .await
        .expect(201);
    let pan = named["pan"].as_str().unwrap().to_string();
    let representative = named["representative"]["id"].as_str().unwrap();
    let bought = buy_with(&app, &operator, "000411", &pan, REP_PIN).await;
    assert_eq!(bought["response_code"], "00", "its last day counts");

    // The last day passes (moved back in the database: the clock is not the test's).
    app.execute(&format!(
        "UPDATE household_representatives SET valid_until = '2020-01-01' WHERE nik = '{REP_NIK}'"
    ))
    .await;
    let refused = buy_with(&app, &operator, "000412", &pan, REP_PIN).await;
    assert_eq!(refused["response_code"], "54", "{refused}");
    let read = app
        .get(&format!("/v1/representatives/{representative}"), &office)
        .await
        .expect(200);
    assert_eq!(read["status"], "expired");
    // An expired representative holds no slot: two more may be named, and naming ends it.
    app.post(&path(&household), &office, other_naming())
        .await
        .expect(201);
    let mut third = naming("6472014408800007", "female", "1980-08-04", "Dewi Lestari");
    third["relation"] = json!("other");
    app.post(&path(&household), &office, third)
        .await
        .expect(201);
    let listed = app.get(&path(&household), &office).await.expect(200);
    let statuses: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "active", "expired"], "{listed}");
    let card = named["card"]["id"].as_str().unwrap();
    let card_now = app
        .get(&format!("/v1/cards/{card}"), &office)
        .await
        .expect(200);
    assert_eq!(card_now["status"], "blocked", "ended with its slot");
}

async fn the_limits_on_who_may_represent_hold(app: TestApp) {
    let office = app.login("dinsos").await;
    let first = app.household_id(&office, DEMO_KKS[0]).await;
    let second = app.household_id(&office, DEMO_KKS[1]).await;
    let third = app.household_id(&office, DEMO_KKS[2]).await;
    let representatives = app.count("household_representatives").await;
    let cards = app.count("cards").await;

    // Refused values, each beside its field; nothing is written.
    let mut minor = naming("6472011001120006", "male", "2012-01-10", "Andi");
    app.post(&path(&first), &office, minor.clone())
        .await
        .expect_error(422, "not_adult");
    minor["birth_date"] = json!("2012-01-11");
    app.post(&path(&first), &office, minor)
        .await
        .expect_error(422, "nik_mismatch");
    let mut past = rep_naming();
    past["valid_until"] = json!("2020-01-01");
    app.post(&path(&first), &office, past)
        .await
        .expect_error(422, "invalid_valid_until");
    let mut far = rep_naming();
    far["valid_until"] = json!(in_days(800));
    app.post(&path(&first), &office, far)
        .await
        .expect_error(422, "invalid_valid_until");
    let mut short_pin = rep_naming();
    short_pin["pin"] = json!("12");
    let reply = app.post(&path(&first), &office, short_pin).await;
    assert!(reply.status == 400 || reply.status == 422, "{}", reply.body);
    // An E-Warung's owner and operator (by the NIKs the registry holds) may not represent.
    let mut owner = naming(
        ssn::demo::DEMO_OWNER_NIK,
        "female",
        "1975-05-20",
        "Siti Aminah",
    );
    owner["relation"] = json!("other");
    app.post(&path(&first), &office, owner)
        .await
        .expect_error(409, "ewarung_owner");
    let operator = naming(
        ssn::demo::DEMO_OPERATOR_NIK,
        "male",
        "1990-02-25",
        "Operator",
    );
    app.post(&path(&first), &office, operator)
        .await
        .expect_error(409, "ewarung_operator");
    assert_eq!(
        app.count("household_representatives").await,
        representatives
    );
    assert_eq!(app.count("cards").await, cards);

    // Two per household; once per household; two households per person.
    app.post(&path(&first), &office, rep_naming())
        .await
        .expect(201);
    app.post(&path(&first), &office, rep_naming())
        .await
        .expect_error(409, "already_represents");
    app.post(&path(&first), &office, other_naming())
        .await
        .expect(201);
    let third_person = naming("6472014408800007", "female", "1980-08-04", "Dewi Lestari");
    app.post(&path(&first), &office, third_person)
        .await
        .expect_error(409, "representatives_full");
    app.post(&path(&second), &office, rep_naming())
        .await
        .expect(201);
    app.post(&path(&third), &office, rep_naming())
        .await
        .expect_error(409, "represents_two_households");

    // Only the office names and revokes; a verifier and an operator may not.
    let verifier = app.login("verifikator").await;
    let kiosk = app.login("warung-berkah").await;
    for token in [&verifier, &kiosk] {
        app.post(&path(&third), token, other_naming())
            .await
            .expect_error(403, "forbidden_role");
    }
    app.get(&path(&third), &kiosk)
        .await
        .expect_error(403, "forbidden_role");
    app.get(
        "/v1/representatives/0190a000-0000-7000-8000-000000000000",
        &office,
    )
    .await
    .expect_error(404, "representative_not_found");
}

on_both_backends!(
    a_representative_buys_with_their_own_card_until_revoked,
    a_card_past_its_last_day_is_refused_as_expired,
    the_limits_on_who_may_represent_hold,
);
