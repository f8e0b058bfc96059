//! Importing the registry an office already has: a CSV export, one row per member; every refused
//! line with its number and reason; nothing written until a second office user approves; the
//! same file again changes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

const HEADER: &str = "kk_number,nik,name,relation,sex,birth_date,street,rt,rw,kelurahan,kecamatan";

/// A real-shaped file: one good household of two, one already registered, and each kind of
/// refusal once (lines 4 to 8).
async fn registry_file(app: &TestApp, office: &str) -> String {
    // A registered household's head as its members list says (NIK, name, sex, birth date).
    async fn head(app: &TestApp, office: &str, kk: &str) -> (String, String, String, String) {
        let id = app.household_id(office, kk).await;
        let members = app
            .get(&format!("/v1/households/{id}/members"), office)
            .await
            .expect(200);
        let head = members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["relation"] == "head")
            .unwrap()
            .clone();
        let text = |key: &str| head[key].as_str().unwrap().to_string();
        (text("nik"), text("name"), text("sex"), text("birth_date"))
    }
    let (held_nik, _, held_sex, held_birth) = head(app, office, DEMO_KKS[0]).await;
    let (own_nik, own_name, own_sex, own_birth) = head(app, office, DEMO_KKS[1]).await;
    let address = "Jl. Kenari 1,1,2,Pelita,Samarinda Ilir";
    [
        HEADER.to_string(),
        format!("6472019000000001,6472015501800101,Ani Lestari,head,female,1980-01-15,{address}"),
        format!("6472019000000001,6472011203050102,Bayu,child,male,2005-03-12,{address}"),
        format!("6472019000000002,6472010101700103,Cahyo,head,male,1970-01-01,{address}"),
        "6472019000000002,6472014101720104,Dewi,spouse,female,1972-01-01,Jl. Lain 9,1,2,Pelita,Samarinda Ilir".to_string(),
        format!("6472019000000003,6472010202800105,Eko,child,male,1980-02-02,{address}"),
        format!("6472019000000004,{held_nik},Fitri,head,{held_sex},{held_birth},{address}"),
        format!("6472019000000005,6472015501800101,Gita,head,female,1980-01-15,{address}"),
        format!("123,6472010303800106,Hadi,head,male,1980-03-03,{address}"),
        format!(
            "{},{own_nik},{own_name},head,{own_sex},{own_birth},{address}",
            DEMO_KKS[1]
        ),
    ]
    .join("\n")
        + "\n"
}

async fn upload(app: &TestApp, token: &str, csv: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!(
            "{}/v1/registry-imports?source_name=dtks.csv",
            app.base
        ))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap()
}

async fn uploaded(app: &TestApp, token: &str, csv: &str) -> Value {
    let response = upload(app, token, csv).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn an_import_is_checked_whole_and_written_on_a_second_users_word(app: TestApp) {
    let office = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let csv = registry_file(&app, &office).await;
    let households = app.count("households").await;
    let members = app.count("household_members").await;

    let report = uploaded(&app, &office, &csv).await;
    assert_eq!(report["status"], "validated", "{report}");
    assert_eq!(report["source_name"], "dtks.csv");
    assert_eq!(report["row_count"], 9);
    assert_eq!(report["households_new"], 1);
    assert_eq!(report["members_new"], 2);
    assert_eq!(report["households_existing"], 1);
    assert_eq!(report["households_refused"], 4);
    assert_eq!(report["error_count"], 5);
    let id = report["id"].as_str().unwrap().to_string();
    let errors = app
        .get(&format!("/v1/registry-imports/{id}/errors"), &office)
        .await
        .expect(200);
    let found: Vec<(i64, String, String)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line_no"].as_i64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        (5, "street", "address_conflict"),
        (6, "relation", "head_missing"),
        (7, "nik", "nik_in_other_household"),
        (8, "nik", "duplicate_nik"),
        (9, "kk_number", "invalid_kk_number"),
    ];
    assert_eq!(
        found,
        expected
            .iter()
            .map(|(l, f, c)| (*l, f.to_string(), c.to_string()))
            .collect::<Vec<_>>(),
        "{errors}"
    );
    let named = errors[2]["message"].as_str().unwrap();
    assert!(
        named.contains(DEMO_KKS[0]),
        "names the other household: {named}"
    );
    let paged = app
        .get(
            &format!("/v1/registry-imports/{id}/errors?after_line=6&limit=2"),
            &office,
        )
        .await
        .expect(200);
    assert_eq!(paged.as_array().unwrap().len(), 2);
    assert_eq!(paged[0]["line_no"], 7);

    // Nothing is written before approval, and never on the uploader's own word.
    assert_eq!(app.count("households").await, households);
    let approve = format!("/v1/registry-imports/{id}/approve");
    app.post(&approve, &office, json!({}))
        .await
        .expect_error(403, "maker_checker");
    let approved = app.post(&approve, &checker, json!({})).await.expect(200);
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["households_new"], 1);
    assert_eq!(approved["members_new"], 2);
    assert_eq!(app.count("households").await, households + 1);
    assert_eq!(app.count("household_members").await, members + 2);
    app.post(&approve, &checker, json!({}))
        .await
        .expect_error(409, "invalid_state");
    let created = app.household_id(&office, "6472019000000001").await;
    let household = app
        .get(&format!("/v1/households/{created}"), &office)
        .await
        .expect(200);
    assert_eq!(household["head_name"], "Ani Lestari");
    assert_eq!(household["status"], "active");
    assert_eq!(household["address"]["rt"], "001");
    let listed = app
        .get(&format!("/v1/households/{created}/members"), &office)
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let revisions = app
        .get(&format!("/v1/households/{created}/revisions"), &office)
        .await
        .expect(200);
    assert_eq!(revisions[0]["reason"], "registered");

    // The same file again: everything good is registered already, nothing changes.
    let again = uploaded(&app, &office, &csv).await;
    assert_eq!(again["households_new"], 0);
    assert_eq!(again["households_existing"], 2);
    let again_id = again["id"].as_str().unwrap();
    let applied = app
        .post(
            &format!("/v1/registry-imports/{again_id}/approve"),
            &checker,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(applied["households_new"], 0);
    assert_eq!(app.count("households").await, households + 1);
    assert_eq!(app.count("household_members").await, members + 2);
    let listed = app.get("/v1/registry-imports", &office).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert!(app
        .audit_actions(&office, "registry_import", &id)
        .await
        .contains(&"registry_import.approve".to_string()));
}

async fn a_file_that_cannot_be_read_leaves_nothing(app: TestApp) {
    let office = app.login("dinsos").await;
    let refused = upload(&app, &office, "kk,nik\n1,2\n").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_header");
    let empty = upload(&app, &office, &format!("{HEADER}\n")).await;
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["error"]["code"], "empty_file");
    assert_eq!(app.count("registry_imports").await, 0);
    let json_body = reqwest::Client::new()
        .post(format!("{}/v1/registry-imports", app.base))
        .bearer_auth(&office)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for user in ["verifikator", "warung-berkah", "auditor"] {
        let token = app.login(user).await;
        let response = upload(&app, &token, &format!("{HEADER}\n")).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{user}");
    }
    app.get(
        "/v1/registry-imports/0190a000-0000-7000-8000-000000000000",
        &office,
    )
    .await
    .expect_error(404, "registry_import_not_found");
}

async fn the_import_page_uploads_reports_and_approves(app: TestApp) {
    let office = app.login("dinsos").await;
    let csv = registry_file(&app, &office).await;
    let mut maker = Browser::new(&app);
    maker.login("dinsos").await;
    let page = maker.get("/registry-imports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-upload-progress"), "a progress bar");
    let csrf = page.csrf();
    let sent = maker
        .upload("/registry-imports", &csrf, "dtks.csv", &csv)
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let report = maker.get(sent.location()).await;
    assert!(
        report.body.contains("id=\"import-errors\""),
        "{}",
        report.body
    );
    assert!(report.body.contains("address_conflict") || report.body.contains("Alamat"));
    assert!(
        !report.body.contains("id=\"approve-import\""),
        "not the uploader's to approve"
    );

    let mut checker = Browser::new(&app);
    checker.login("diskominfo").await;
    let report = checker.get(sent.location()).await;
    assert!(
        report.body.contains("id=\"approve-import\""),
        "{}",
        report.body
    );
    let csrf = report.csrf();
    let approved = checker
        .post(&format!("{}/approve", sent.location()), &[("csrf", &csrf)])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    // Sent twice (Back, then again): refused, nothing more written.
    let households = app.count("households").await;
    let twice = checker
        .post(&format!("{}/approve", sent.location()), &[("csrf", &csrf)])
        .await;
    assert_eq!(twice.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("households").await, households);
    let done = checker.get(sent.location()).await;
    assert!(
        done.body.contains("id=\"import-approved\""),
        "{}",
        done.body
    );
}

on_both_backends!(
    an_import_is_checked_whole_and_written_on_a_second_users_word,
    a_file_that_cannot_be_read_leaves_nothing,
    the_import_page_uploads_reports_and_approves,
);
