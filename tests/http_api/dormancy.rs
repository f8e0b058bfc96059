//! Dormant balances: households that hold value and have not bought for N months are listed for
//! the office with what expires and when; a notice is printed per household and recorded (once a
//! day); a purchase takes a household off the list.

use chrono::{Datelike, Months, NaiveDate};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

const LIST: &str = "/v1/dormant-households?program=SSN-SEMBAKO";

fn next_month_start() -> String {
    let today = NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap();
    today
        .with_day(1)
        .unwrap()
        .checked_add_months(Months::new(1))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn listed(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["kk_number"].as_str().unwrap().to_string())
        .collect()
}

async fn idle_households_are_listed_with_what_expires_and_notified(app: TestApp) {
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    // The demo quota is this month's: nobody has been idle for three months yet.
    let fresh = app.get(LIST, &office).await.expect(200);
    assert!(listed(&fresh).is_empty(), "{fresh}");

    // The quota came long ago (moved back in the database: the clock is not the test's).
    app.execute("UPDATE quota_credits SET period = '2000-01'")
        .await;
    let idle = app.get(LIST, &office).await.expect(200);
    let kks = listed(&idle);
    assert!(kks.contains(&DEMO_KKS[0].to_string()), "{idle}");
    assert!(kks.contains(&DEMO_KKS[1].to_string()), "{idle}");
    let row = idle["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["kk_number"] == DEMO_KKS[1])
        .unwrap();
    assert_eq!(row["available_minor"], 20_000_000);
    assert_eq!(row["last_purchase_date"], serde_json::Value::Null);
    // Past every carry-over: all of it expires when the next month begins.
    assert_eq!(row["expiring_on"], next_month_start());
    assert_eq!(row["expiring_minor"], 20_000_000);
    assert_eq!(row["notices"], 0);

    // A purchase is activity: the household leaves the list.
    app.buy(&operator, "SMD00001", "000501", DEMO_PANS[0], 1)
        .await;
    let after = listed(&app.get(LIST, &office).await.expect(200));
    assert!(!after.contains(&DEMO_KKS[0].to_string()), "{after:?}");
    assert!(after.contains(&DEMO_KKS[1].to_string()));

    // One kelurahan only.
    let temindung = app
        .get(&format!("{LIST}&kelurahan=Temindung%20Permai"), &office)
        .await
        .expect(200);
    assert_eq!(listed(&temindung), [DEMO_KKS[1]]);

    // A notice records what it told the household; printing again the same day is the same one.
    let second = app.household_id(&office, DEMO_KKS[1]).await;
    let notices = format!("/v1/households/{second}/dormancy-notices");
    let notice = app
        .post(
            &notices,
            &office,
            json!({"program": "SSN-SEMBAKO", "months": 3}),
        )
        .await
        .expect(201);
    assert_eq!(notice["available_minor"], 20_000_000);
    assert_eq!(notice["expiring_on"], next_month_start());
    assert_eq!(notice["printer"], "dinsos");
    assert_eq!(notice["printed_on"], today());
    let again = app
        .post(&notices, &office, json!({"program": "SSN-SEMBAKO"}))
        .await
        .expect(201);
    assert_eq!(again["id"], notice["id"]);
    let kept = app.get(&notices, &office).await.expect(200);
    assert_eq!(kept.as_array().unwrap().len(), 1);
    let row = app
        .get(&format!("{LIST}&kelurahan=Temindung%20Permai"), &office)
        .await
        .expect(200);
    assert_eq!(row["items"][0]["notices"], 1);
    assert_eq!(row["items"][0]["last_notice_on"], today());
    assert!(app
        .audit_actions(&office, "household", &second)
        .await
        .contains(&"household.dormancy_notice".to_string()));

    // A household that bought is not sent one; bad input and other roles change nothing.
    let first = app.household_id(&office, DEMO_KKS[0]).await;
    app.post(
        &format!("/v1/households/{first}/dormancy-notices"),
        &office,
        json!({"program": "SSN-SEMBAKO"}),
    )
    .await
    .expect_error(409, "not_dormant");
    app.get(&format!("{LIST}&months=0"), &office)
        .await
        .expect_error(422, "invalid_idle_months");
    app.get(&format!("{LIST}&months=25"), &office)
        .await
        .expect_error(422, "invalid_idle_months");
    app.get("/v1/dormant-households?program=NOPE", &office)
        .await
        .expect_error(404, "program_not_found");
    // Text the database cannot hold (a NUL) is refused, never sent to it.
    app.post(&notices, &office, json!({"program": "\u{88}\u{0}"}))
        .await
        .expect_error(404, "program_not_found");
    app.get(&format!("{LIST}&kelurahan=Pel%00ita"), &office)
        .await
        .expect_error(422, "control_characters");
    app.get(LIST, &operator)
        .await
        .expect_error(403, "forbidden_role");
    let auditor = app.login("auditor").await;
    app.get(LIST, &auditor).await.expect(200);
    app.post(&notices, &auditor, json!({"program": "SSN-SEMBAKO"}))
        .await
        .expect_error(403, "forbidden_role");
    assert_eq!(app.count("dormancy_notices").await, 1);
}

async fn the_office_prints_a_notice_from_the_list(app: TestApp) {
    app.execute("UPDATE quota_credits SET period = '2000-01'")
        .await;
    let mut browser = Browser::new(&app);
    browser.login("dinsos").await;
    let overview = browser.get("/office").await;
    assert!(overview.body.contains("href=\"/dormant\""));
    let list = browser.get("/dormant?months=6").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(DEMO_KKS[2]), "{}", list.body);
    assert!(list.body.contains("Rp 200.000"), "{}", list.body);
    let refused = browser.get("/dormant?months=abc").await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.body.contains("id=\"months-error\""),
        "{}",
        refused.body
    );

    let office = app.login("dinsos").await;
    let household = app.household_id(&office, DEMO_KKS[2]).await;
    let csrf = list.csrf();
    let printed = browser
        .post(
            &format!("/households/{household}/dormancy-notices"),
            &[("csrf", &csrf), ("program", "SSN-SEMBAKO"), ("months", "6")],
        )
        .await;
    assert_eq!(printed.status, StatusCode::SEE_OTHER, "{}", printed.body);
    let letter = browser.get(printed.location()).await;
    assert_eq!(letter.status, StatusCode::OK);
    assert!(letter.body.contains("Nur Aini"), "{}", letter.body);
    assert!(
        letter.body.contains("belum pernah berbelanja"),
        "{}",
        letter.body
    );
    assert!(letter.body.contains("akan hangus"), "{}", letter.body);
    // Sent twice (a double click, Back and again): still one notice.
    browser
        .post(
            &format!("/households/{household}/dormancy-notices"),
            &[("csrf", &csrf), ("program", "SSN-SEMBAKO"), ("months", "6")],
        )
        .await;
    assert_eq!(app.count("dormancy_notices").await, 1);
    // An auditor reads the list but has no button.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get("/dormant").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("dormancy-notices\""), "no print form");
}

on_both_backends!(
    idle_households_are_listed_with_what_expires_and_notified,
    the_office_prints_a_notice_from_the_list,
);
