//! Re-verification campaigns: the office opens one (households not visited for N months, or one
//! kelurahan) with a deadline; verifiers see the households of their kelurahan still to visit;
//! a visit within the window counts; progress per kelurahan; after the deadline the households
//! not visited are reported as missed, and stay as they were.

use chrono::{Days, NaiveDate};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

fn in_days(days: u64) -> String {
    NaiveDate::parse_from_str(&today(), "%Y-%m-%d")
        .unwrap()
        .checked_add_days(Days::new(days))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn kks(listing: &Value) -> Vec<String> {
    let mut kks: Vec<String> = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["kk_number"].as_str().unwrap().to_string())
        .collect();
    kks.sort();
    kks
}

fn progress_of<'a>(view: &'a Value, kelurahan: &str) -> &'a Value {
    view["progress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["kelurahan"] == kelurahan)
        .unwrap_or_else(|| panic!("{kelurahan} in {view}"))
}

async fn verifiers_work_a_campaign_and_the_office_follows_it(app: TestApp) {
    let office = app.login("dinsos").await;
    let verifier = app.login("verifikator").await;
    let active = app
        .get("/v1/households?status=active", &office)
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .len() as i64;

    // The yearly round: every household not visited for twelve months (none ever was).
    let round = app
        .post(
            "/v1/campaigns",
            &office,
            json!({"name": "Verifikasi ulang 2027", "not_visited_months": 12,
                   "deadline": in_days(60)}),
        )
        .await
        .expect(201);
    assert_eq!(round["households"], active);
    assert_eq!(round["opened_on"], today());
    assert_eq!(round["opener"], "dinsos");
    let id = round["id"].as_str().unwrap().to_string();
    let path = format!("/v1/campaigns/{id}");

    // The verifier sees only the households of their kelurahan, all still to visit.
    let theirs = app
        .get(&format!("{path}/households?progress=pending"), &verifier)
        .await
        .expect(200);
    let mut expected = vec![DEMO_KKS[0].to_string(), DEMO_KKS[1].to_string()];
    expected.sort();
    assert_eq!(kks(&theirs), expected, "{theirs}");
    let view = app.get(&path, &verifier).await.expect(200);
    assert_eq!(view["progress"].as_array().unwrap().len(), 2, "{view}");
    assert_eq!(progress_of(&view, "Gunung Kelua")["visited"], 0);

    // A visit today counts; the household leaves the verifier's list.
    let household = app.household_id(&office, DEMO_KKS[0]).await;
    app.post(
        &format!("/v1/households/{household}/visits"),
        &verifier,
        json!({"visited_on": today(), "outcome": "confirmed"}),
    )
    .await
    .expect(201);
    let pending = app
        .get(&format!("{path}/households?progress=pending"), &verifier)
        .await
        .expect(200);
    assert_eq!(kks(&pending), [DEMO_KKS[1]]);
    let visited = app
        .get(&format!("{path}/households?progress=visited"), &office)
        .await
        .expect(200);
    assert_eq!(kks(&visited), [DEMO_KKS[0]]);
    assert_eq!(visited["items"][0]["visited_on"], today());
    assert_eq!(visited["items"][0]["progress"], "visited");
    let view = app.get(&path, &office).await.expect(200);
    assert_eq!(view["closed"], false);
    assert_eq!(progress_of(&view, "Gunung Kelua")["visited"], 1);
    let total: i64 = view["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["households"].as_i64().unwrap())
        .sum();
    assert_eq!(total, active, "every household in one kelurahan's row");
    // Before the deadline nothing is missed.
    let missed = app
        .get(&format!("{path}/households?progress=missed"), &office)
        .await
        .expect(200);
    assert!(kks(&missed).is_empty());
    app.get(
        &format!("{path}/households?kelurahan=Gunung%00Kelua"),
        &office,
    )
    .await
    .expect_error(422, "control_characters");

    // One kelurahan's campaign holds its households only; today's visit is within its window.
    let one_kelurahan = app
        .post(
            "/v1/campaigns",
            &office,
            json!({"name": "Gunung Kelua", "kelurahan": "Gunung Kelua", "deadline": in_days(10)}),
        )
        .await
        .expect(201);
    let one_view = app
        .get(
            &format!("/v1/campaigns/{}", one_kelurahan["id"].as_str().unwrap()),
            &office,
        )
        .await
        .expect(200);
    assert_eq!(one_view["progress"].as_array().unwrap().len(), 1);
    assert_eq!(progress_of(&one_view, "Gunung Kelua")["visited"], 1);

    // Past the deadline: who was not visited is reported, and nothing happens to them.
    app.execute(
        "UPDATE verification_campaigns SET opened_on = '2020-01-01', deadline = '2020-02-01'
         WHERE name = 'Verifikasi ulang 2027'",
    )
    .await;
    let closed = app.get(&path, &office).await.expect(200);
    assert_eq!(closed["closed"], true);
    let missed = app
        .get(&format!("{path}/households?progress=missed"), &office)
        .await
        .expect(200);
    assert_eq!(missed["items"].as_array().unwrap().len() as i64, active);
    let second = app.household_id(&office, DEMO_KKS[1]).await;
    let record = app
        .get(&format!("/v1/households/{second}"), &office)
        .await
        .expect(200);
    assert_eq!(record["status"], "active", "never suspended by a campaign");

    let listed = app.get("/v1/campaigns", &verifier).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert!(app
        .audit_actions(&office, "campaign", &id)
        .await
        .contains(&"campaign.open".to_string()));
}

async fn a_campaign_needs_a_scope_and_a_deadline(app: TestApp) {
    let office = app.login("dinsos").await;
    let refused = [
        (
            json!({"name": "x", "deadline": in_days(30)}),
            "campaign_scope_required",
        ),
        (
            json!({"name": "x", "not_visited_months": 12, "deadline": today()}),
            "invalid_deadline",
        ),
        (
            json!({"name": "x", "not_visited_months": 12, "deadline": in_days(400)}),
            "invalid_deadline",
        ),
        (
            json!({"name": "x", "not_visited_months": 0, "deadline": in_days(30)}),
            "invalid_not_visited_months",
        ),
        (
            json!({"name": " ", "kelurahan": "Pelita", "deadline": in_days(30)}),
            "blank",
        ),
    ];
    for (body, code) in refused {
        app.post("/v1/campaigns", &office, body)
            .await
            .expect_error(422, code);
    }
    assert_eq!(app.count("verification_campaigns").await, 0);
    let verifier = app.login("verifikator").await;
    app.post(
        "/v1/campaigns",
        &verifier,
        json!({"name": "x", "kelurahan": "Pelita", "deadline": in_days(30)}),
    )
    .await
    .expect_error(403, "forbidden_role");
    let operator = app.login("warung-berkah").await;
    app.get("/v1/campaigns", &operator)
        .await
        .expect_error(403, "forbidden_role");
    app.get(
        "/v1/campaigns/0190a000-0000-7000-8000-000000000000",
        &office,
    )
    .await
    .expect_error(404, "campaign_not_found");
}

async fn the_campaign_pages_for_the_office_and_the_field(app: TestApp) {
    let mut desk = Browser::new(&app);
    desk.login("dinsos").await;
    let form = desk.get("/campaigns").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    // No scope: refused beside the kelurahan field, what was typed kept.
    let refused = desk
        .post(
            "/campaigns",
            &[
                ("csrf", &csrf),
                ("name", "Putaran Januari"),
                ("deadline", &in_days(20)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let again = desk.get("/campaigns").await;
    assert!(
        again.body.contains("id=\"kelurahan-error\""),
        "{}",
        again.body
    );
    assert!(again.body.contains("Putaran Januari"));
    let opened = desk
        .post(
            "/campaigns",
            &[
                ("csrf", &csrf),
                ("name", "Putaran Januari"),
                ("not_visited_months", "12"),
                ("deadline", &in_days(20)),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    let campaign = desk.get(opened.location()).await;
    assert_eq!(campaign.status, StatusCode::OK);
    assert!(campaign.body.contains("id=\"campaign-progress\""));
    assert!(campaign.body.contains("Gunung Kelua"));

    // The verifier's round starts from /field: the campaign, then the households to visit.
    let mut phone = Browser::new(&app);
    phone.login("verifikator").await;
    let field = phone.get("/field").await;
    assert!(
        field.body.contains("id=\"field-campaigns\""),
        "{}",
        field.body
    );
    assert!(field.body.contains("Putaran Januari"));
    let list = phone.get(opened.location()).await;
    let households = between(&list.body, "id=\"campaign-households\"", "</ul>");
    assert!(households.contains("Siti Rahmah"), "{households}");
    assert!(!households.contains("Nur Aini"), "not their kelurahan");
    assert!(!list.body.contains("Pelita"), "{}", list.body);
}

on_both_backends!(
    verifiers_work_a_campaign_and_the_office_follows_it,
    a_campaign_needs_a_scope_and_a_deadline,
    the_campaign_pages_for_the_office_and_the_field,
);
