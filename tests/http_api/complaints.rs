//! Complaints: taken in at the office or on the beneficiary's own page, linked to the household,
//! card, E-Warung and purchase; due by their severity's target; escalated when overdue or the
//! third about one E-Warung within six months; assigned and resolved with an outcome and why.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

const COMPLAINTS: &str = "/v1/complaints";

async fn the_office_takes_in_escalates_and_resolves_complaints(app: TestApp) {
    let office = app.login("dinsos").await;
    let auditor = app.login("auditor").await;
    let operator = app.login("warung-berkah").await;
    let first = app.household_id(&office, DEMO_KKS[0]).await;
    let second = app.household_id(&office, DEMO_KKS[1]).await;
    let berkah = app.ewarung_id(&office, "E-Warung Berkah").await;
    let bought = app
        .buy(&operator, "SMD00001", "000801", DEMO_PANS[0], 2)
        .await;
    let rrn = bought["rrn"].as_str().unwrap().to_string();

    // A walk-in about a forced package, named by the receipt's RRN: the E-Warung and the card
    // come from the purchase; high severity, due in two days.
    let filed = app
        .post(
            COMPLAINTS,
            &office,
            json!({"household_id": first, "channel": "walk_in", "category": "forced_package",
                   "description": "harus beli paket minyak", "rrn": rrn}),
        )
        .await
        .expect(201);
    assert_eq!(filed["ewarung_id"], berkah.as_str());
    assert!(filed["card_id"].is_string());
    assert_eq!(filed["severity"], "high");
    assert_eq!(filed["state"], "open");
    assert_eq!(filed["repeat_escalation"], false);
    let created =
        chrono::DateTime::parse_from_rfc3339(filed["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(filed["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_hours(), 48);

    // The third about the same E-Warung within six months is escalated at once.
    for (household, category) in [(&second, "card_kept"), (&first, "price_above_cap")] {
        let next = app
            .post(
                COMPLAINTS,
                &office,
                json!({"household_id": household, "channel": "phone", "category": category,
                       "description": "laporan warga", "ewarung_id": berkah}),
            )
            .await
            .expect(201);
        let third = category == "price_above_cap";
        assert_eq!(next["repeat_escalation"], third, "{next}");
        assert_eq!(next["escalated"], third);
    }

    // Overdue counts as escalated.
    let id = filed["id"].as_str().unwrap();
    app.execute(&format!(
        "UPDATE complaints SET due_at = created_at WHERE number = {}",
        filed["number"]
    ))
    .await;
    let late = app
        .get(&format!("{COMPLAINTS}/{id}"), &office)
        .await
        .expect(200);
    assert_eq!(
        (late["overdue"].clone(), late["escalated"].clone()),
        (json!(true), json!(true))
    );

    // Assigned to an office user, never an operator; resolved once, with why.
    let users = app.get("/v1/users?limit=500", &office).await.expect(200);
    let user_id = |name: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    app.post(
        &format!("{COMPLAINTS}/{id}/assign"),
        &office,
        json!({"user_id": user_id("warung-berkah")}),
    )
    .await
    .expect_error(422, "not_a_handler");
    let assigned = app
        .post(
            &format!("{COMPLAINTS}/{id}/assign"),
            &office,
            json!({"user_id": user_id("diskominfo")}),
        )
        .await
        .expect(200);
    assert_eq!(assigned["assignee"], "diskominfo");
    app.post(
        &format!("{COMPLAINTS}/{id}/resolve"),
        &office,
        json!({"outcome": "upheld", "reason": " "}),
    )
    .await
    .expect_error(422, "blank");
    let resolved = app
        .post(
            &format!("{COMPLAINTS}/{id}/resolve"),
            &office,
            json!({"outcome": "upheld", "reason": "E-Warung ditegur, paket dibatalkan"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["escalated"], false);
    assert_eq!(resolved["resolver"], "dinsos");
    app.post(
        &format!("{COMPLAINTS}/{id}/resolve"),
        &office,
        json!({"outcome": "rejected", "reason": "again"}),
    )
    .await
    .expect_error(409, "complaint_resolved");
    let of_berkah = app
        .get(
            &format!("{COMPLAINTS}?ewarung_id={berkah}&state=open"),
            &auditor,
        )
        .await
        .expect(200);
    assert_eq!(of_berkah["items"].as_array().unwrap().len(), 2);

    // Bad intake changes nothing.
    let before = app.count("complaints").await;
    for (body, status, code) in [
        (
            json!({"household_id": second, "channel": "walk_in", "category": "forced_package",
                "description": "x", "rrn": rrn}),
            422,
            "rrn_not_this_household",
        ),
        (
            json!({"household_id": second, "channel": "walk_in", "category": "card_kept",
                "description": "x"}),
            422,
            "ewarung_required",
        ),
        (
            json!({"household_id": second, "channel": "saldo", "category": "other",
                "description": "x"}),
            422,
            "invalid_channel",
        ),
        (
            json!({"household_id": second, "channel": "walk_in", "category": "other",
                "description": "x", "rrn": "12ab"}),
            422,
            "invalid_rrn",
        ),
    ] {
        app.post(COMPLAINTS, &office, body)
            .await
            .expect_error(status, code);
    }
    app.post(
        COMPLAINTS,
        &auditor,
        json!({"household_id": second, "channel": "walk_in", "category": "other",
               "description": "x"}),
    )
    .await
    .expect_error(403, "forbidden_role");
    app.get(COMPLAINTS, &operator)
        .await
        .expect_error(403, "forbidden_role");
    assert_eq!(app.count("complaints").await, before);
}

async fn a_beneficiary_files_a_complaint_from_the_balance_page(app: TestApp) {
    let office = app.login("dinsos").await;
    let berkah = app.ewarung_id(&office, "E-Warung Berkah").await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/saldo").await;
    let csrf = form.csrf();
    let shown = browser
        .post(
            "/saldo",
            &[("csrf", &csrf), ("pan", DEMO_PANS[2]), ("pin", DEMO_PIN)],
        )
        .await;
    assert!(shown.body.contains("id=\"complaint\""), "{}", shown.body);
    assert!(
        !shown.body.contains(DEMO_PANS[2]),
        "the complaint form carries no card number"
    );
    let grant = between(&shown.body, "name=\"grant\" value=\"", "\"");
    // Nothing chosen: refused beside the field, nothing filed.
    let refused = browser
        .post(
            "/saldo/complaint",
            &[
                ("csrf", &csrf),
                ("grant", &grant),
                ("category", ""),
                ("description", "x"),
            ],
        )
        .await;
    assert!(
        refused.body.contains("id=\"category-error\""),
        "{}",
        refused.body
    );
    assert_eq!(app.count("complaints").await, 0);
    // A grant that was not issued here: told to check the card again.
    let forged = browser
        .post(
            "/saldo/complaint",
            &[
                ("csrf", &csrf),
                ("grant", "00.00"),
                ("category", "other"),
                ("description", "x"),
            ],
        )
        .await;
    assert!(forged.body.contains("terlalu lama"), "{}", forged.body);
    let filed = browser
        .post(
            "/saldo/complaint",
            &[
                ("csrf", &csrf),
                ("grant", &grant),
                ("category", "card_kept"),
                ("ewarung", &berkah),
                ("rrn", ""),
                (
                    "description",
                    "kartu saya ditahan pemilik warung sejak minggu lalu",
                ),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK);
    assert_eq!(filed.headers["cache-control"], "no-store");
    assert!(
        filed.body.contains("Pengaduan #1 sudah diterima"),
        "{}",
        filed.body
    );
    let listed = app.get(COMPLAINTS, &office).await.expect(200);
    let complaint = &listed["items"][0];
    assert_eq!(complaint["channel"], "saldo");
    assert_eq!(complaint["category"], "card_kept");
    assert_eq!(complaint["severity"], "high");
    assert!(complaint["created_by"].is_null());
    assert!(complaint["card_id"].is_string());
    assert_eq!(complaint["ewarung_id"], berkah.as_str());
    assert_eq!(complaint["kk_number"], DEMO_KKS[2]);
}

on_both_backends!(
    the_office_takes_in_escalates_and_resolves_complaints,
    a_beneficiary_files_a_complaint_from_the_balance_page,
);
