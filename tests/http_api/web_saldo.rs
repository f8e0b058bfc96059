//! `/saldo`: a beneficiary checks the household's balance with card number and PIN, no account.
//! Unknown cards and wrong PINs answer alike; wrong PINs count towards the card's lock-out as at
//! a terminal; one client address is refused after ten wrong answers.

use reqwest::StatusCode;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

async fn ask(browser: &mut Browser, pan: &str, pin: &str) -> Page {
    let form = browser.get("/saldo").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    browser
        .post("/saldo", &[("csrf", &csrf), ("pan", pan), ("pin", pin)])
        .await
}

/// The error paragraph of a refused answer.
fn refusal(page: &Page) -> String {
    between(&page.body, "id=\"saldo-error\">", "</p>")
}

async fn a_beneficiary_sees_the_balance_and_a_wrong_pin_reveals_nothing(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bought = app
        .post("/v1/redemptions/authorize", &operator, {
            let mut basket = purchase("SMD00001", "000777", DEMO_PANS[0], 1, "13500");
            basket["lines"] = serde_json::json!([
                {"sku": "BERAS-MEDIUM", "quantity": 1, "unit_price": "13500"},
                {"sku": "TELUR-AYAM", "quantity": 1, "unit_price": "13500"},
            ]);
            basket
        })
        .await
        .expect(200);
    assert_eq!(bought["response_code"], "00", "{bought}");

    let mut browser = Browser::new(&app);
    let form = browser.get("/saldo").await;
    assert!(form.body.contains("lang=\"id\""));
    assert_eq!(form.headers["cache-control"], "no-store");
    assert!(
        form.body.contains("id=\"rules\""),
        "the rules are said before any card"
    );

    // Printed as on the card, in groups.
    let pan = format!(
        "{} {} {} {}",
        &DEMO_PANS[0][..4],
        &DEMO_PANS[0][4..8],
        &DEMO_PANS[0][8..12],
        &DEMO_PANS[0][12..]
    );
    let shown = ask(&mut browser, &pan, DEMO_PIN).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.headers["cache-control"], "no-store");
    assert!(shown.body.contains("id=\"statement\""), "{}", shown.body);
    assert!(shown.body.contains("Siti Rahmah"));
    assert!(
        shown.body.contains(&DEMO_PANS[0][12..]),
        "the card's last four digits"
    );
    assert!(!shown.body.contains(DEMO_PANS[0]), "never the whole number");
    // 200,000 loaded, 27,000 held by the purchase (not completed yet).
    assert!(shown.body.contains("173.000"), "{}", shown.body);
    assert!(shown.body.contains("27.000"), "{}", shown.body);
    assert!(shown.body.contains("id=\"saldo-purchases\""));
    // What was bought, line by line, and with which card.
    let purchases = shown
        .body
        .split("id=\"saldo-purchases\"")
        .nth(1)
        .unwrap_or_default();
    assert!(
        purchases.contains("1 × Beras medium (kg) @ Rp 13.500"),
        "{purchases}"
    );
    assert!(
        purchases.contains("1 × Telur ayam ras (kg) @ Rp 13.500"),
        "{purchases}"
    );
    assert!(
        purchases.contains(&format!("•••• {}", &DEMO_PANS[0][12..])),
        "{purchases}"
    );
    assert!(
        shown.body.contains("Warung Berkah") || shown.body.contains("Berkah"),
        "{}",
        shown.body
    );

    // An unknown card and a wrong PIN answer alike.
    let unknown = ask(&mut browser, "6019010000000007", DEMO_PIN).await;
    let wrong = ask(&mut browser, DEMO_PANS[1], "000000").await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(refusal(&unknown), refusal(&wrong));
    assert!(!refusal(&wrong).is_empty());
    assert!(!wrong.body.contains("id=\"statement\""));
    // Wrong PINs count towards the card's lock-out: after three, the right PIN is refused too.
    ask(&mut browser, DEMO_PANS[1], "000001").await;
    ask(&mut browser, DEMO_PANS[1], "000002").await;
    let locked = ask(&mut browser, DEMO_PANS[1], DEMO_PIN).await;
    assert_eq!(
        refusal(&locked),
        refusal(&wrong),
        "a locked card says no more than a wrong PIN"
    );
    let office = app.login("dinsos").await;
    let card = app
        .post(
            "/v1/cards/lookup",
            &office,
            serde_json::json!({"pan": DEMO_PANS[1]}),
        )
        .await
        .expect(200);
    assert!(!card["locked_until"].is_null(), "{card}");
    // The terminal refuses the same card: one lock-out.
    let at_terminal = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000778", DEMO_PANS[1], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(at_terminal["response_code"], "75", "{at_terminal}");

    // A form from another page (no cookie of this browser) is refused, nothing checked.
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .post(
            "/saldo",
            &[("csrf", "x"), ("pan", DEMO_PANS[2]), ("pin", DEMO_PIN)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

async fn one_address_is_refused_after_ten_wrong_answers(app: TestApp) {
    let mut browser = Browser::new(&app);
    for attempt in 0..10 {
        let pan = format!("60190100000000{attempt:02}");
        let answer = ask(&mut browser, &pan, "123456").await;
        assert_eq!(answer.status, StatusCode::OK, "attempt {attempt}");
    }
    // Now even a right card and PIN from this address waits.
    let refused = ask(&mut browser, DEMO_PANS[3], DEMO_PIN).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!refused.body.contains("id=\"statement\""));
}

on_both_backends!(
    a_beneficiary_sees_the_balance_and_a_wrong_pin_reveals_nothing,
    one_address_is_refused_after_ten_wrong_answers,
);
