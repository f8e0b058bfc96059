//! Programs and catalogs, households and their revisions, E-Warungs and terminals.

use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

fn address() -> serde_json::Value {
    json!({"street": "Jl. Kadrie Oening No. 9", "rt": "3", "rw": "11", "kelurahan": "Air Hitam", "kecamatan": "Samarinda Ulu"})
}

async fn a_program_and_its_catalog_are_registered_with_exact_amounts(app: TestApp) {
    let office = app.login("dinsos").await;
    let program = json!({"code": "SSN-LANSIA", "name": "Lansia", "currency": "IDR",
                         "default_monthly_amount": "150000.50", "carry_over_months": 2});
    let created = app
        .post("/v1/programs", &office, program.clone())
        .await
        .expect(201);
    assert_eq!(created["default_monthly_amount"], "150000.50");
    assert_eq!(created["currency"], "IDR");
    app.post("/v1/programs", &office, program)
        .await
        .expect_error(409, "program_code_taken");

    let item = json!({"sku": "BERAS-PREMIUM", "name": "Beras premium", "unit": "kg", "group": "carbohydrate", "max_unit_price": "15500"});
    let added = app
        .post("/v1/programs/SSN-LANSIA/items", &office, item.clone())
        .await
        .expect(201);
    assert_eq!(added["max_unit_price"], "15500.00");
    app.post("/v1/programs/SSN-LANSIA/items", &office, item)
        .await
        .expect_error(409, "sku_taken");
    let items = app
        .get("/v1/programs/SSN-LANSIA/items", &office)
        .await
        .expect(200);
    assert_eq!(items.as_array().unwrap().len(), 1);
    app.get("/v1/programs/NOPE/items", &office)
        .await
        .expect_error(404, "program_not_found");

    let bad_group = json!({"sku": "ROKOK", "name": "Rokok", "unit": "bungkus", "group": "tobacco", "max_unit_price": "30000"});
    let reply = app
        .post("/v1/programs/SSN-LANSIA/items", &office, bad_group)
        .await;
    reply.expect_error(422, "invalid_commodity_group");
    assert_eq!(reply.field(), "group");
}

async fn bad_amounts_are_refused_and_change_nothing(app: TestApp) {
    let office = app.login("dinsos").await;
    let before = app.count("programs").await;
    let cases = [
        (json!("100.001"), "amount_too_precise"),
        (json!("-5"), "amount_not_positive"),
        (json!("0"), "amount_not_positive"),
        (json!(100.5), "amount_must_be_string"),
        (json!("99999999999999999999"), "amount_out_of_range"),
        (json!("1e5"), "invalid_amount"),
    ];
    for (index, (amount, code)) in cases.into_iter().enumerate() {
        let program = json!({"code": format!("P{index}X"), "name": "x", "default_monthly_amount": amount, "carry_over_months": 1});
        let reply = app.post("/v1/programs", &office, program).await;
        reply.expect_error(422, code);
        assert_eq!(reply.field(), "default_monthly_amount");
    }
    let usd = json!({"code": "USD1", "name": "x", "currency": "USD", "default_monthly_amount": "1", "carry_over_months": 1});
    app.post("/v1/programs", &office, usd)
        .await
        .expect_error(422, "invalid_currency");
    let long = json!({"code": "LONG1", "name": "x", "default_monthly_amount": "1", "carry_over_months": 99});
    app.post("/v1/programs", &office, long)
        .await
        .expect_error(422, "invalid_carry_over");
    assert_eq!(app.count("programs").await, before);
}

async fn household_changes_are_kept_as_revisions_with_who_and_why(app: TestApp) {
    let office = app.login("dinsos").await;
    let created = app
        .post(
            "/v1/households",
            &office,
            json!({"kk_number": "6472010202240001", "head_nik": "6472014107850009",
        "head_name": "Rina Wati", "address": address()}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["revision"], 1);
    assert_eq!(
        created["address"]["rt"], "003",
        "RT is normalised to three digits"
    );

    let mut moved = address();
    moved["kecamatan"] = json!("Sungai Pinang");
    // A change is a request for another office user to approve: nothing moves until then.
    let proposed = app
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/households/{id}"),
            Some(&office),
            Some(json!({"expected_revision": 1, "address": moved, "reason": "moved, checked by RT 003"})),
        )
        .await;
    assert_eq!(proposed.status.as_u16(), 202, "{}", proposed.body);
    assert_eq!(proposed.body["kind"], "data");
    assert_eq!(proposed.body["base_revision"], 1);
    let unchanged = app
        .get(&format!("/v1/households/{id}"), &office)
        .await
        .expect(200);
    assert_eq!(unchanged["revision"], 1);
    assert_eq!(unchanged["address"]["kecamatan"], "Samarinda Ulu");
    let request = proposed.body["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/v1/change-requests/{request}/approve"),
        &office,
        json!({}),
    )
    .await
    .expect_error(403, "maker_checker");
    let updated = app.approved(proposed).await;
    assert_eq!(updated["revision"], 2);
    assert_eq!(updated["address"]["kecamatan"], "Sungai Pinang");

    // Another office still holding revision 1 cannot propose over the move.
    let other_office = app.login("diskominfo").await;
    let stale = app
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/households/{id}"),
            Some(&other_office),
            Some(json!({"expected_revision": 1, "head_name": "Rina", "reason": "typo"})),
        )
        .await;
    stale.expect_error(409, "stale_revision");

    // A ground that does not allow the status asked for is refused when written.
    app.post(
        &format!("/v1/households/{id}/status"),
        &other_office,
        json!({"expected_revision": 2, "status": "active", "ground": "moved_away", "reason": "x"}),
    )
    .await
    .expect_error(422, "status_ground_mismatch");
    let suspended = app
        .approved(
            app.post(
                &format!("/v1/households/{id}/status"),
                &other_office,
                json!({"expected_revision": 2, "status": "suspended",
                       "reason": "head found work, pending field check"}),
            )
            .await,
        )
        .await;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(
        suspended["status_reason"],
        "head found work, pending field check"
    );

    let revisions = app
        .get(&format!("/v1/households/{id}/revisions"), &office)
        .await
        .expect(200);
    let revisions = revisions.as_array().unwrap();
    assert_eq!(revisions.len(), 3);
    assert_eq!(revisions[0]["reason"], "registered");
    assert_eq!(
        revisions[1]["changes"]["address.kecamatan"],
        json!({"from": "Samarinda Ulu", "to": "Sungai Pinang"})
    );
    assert_eq!(
        revisions[2]["changes"]["status"],
        json!({"from": "active", "to": "suspended"})
    );
    assert_ne!(
        revisions[1]["changed_by"], revisions[2]["changed_by"],
        "each revision names its own author"
    );

    let listed = app
        .get("/v1/households?status=suspended", &office)
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let duplicate = app
        .post(
            "/v1/households",
            &office,
            json!({"kk_number": "6472010202240001", "head_nik": "6472014107850010",
        "head_name": "Someone", "address": address()}),
        )
        .await;
    duplicate.expect_error(409, "kk_number_registered");
}

async fn households_page_through_with_next_after(app: TestApp) {
    let office = app.login("dinsos").await;
    let first = app.get("/v1/households?limit=3", &office).await.expect(200);
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let after = first["next_after"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/households?limit=3&after={after}"), &office)
        .await
        .expect(200);
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second["next_after"].is_null());
}

async fn ewarungs_and_terminals_are_registered_once(app: TestApp) {
    let office = app.login("dinsos").await;
    let ewarung = json!({"name": "E-Warung Mawar", "owner_name": "Ibu Mawar", "address": address(),
        "bank_account": {"bank_code": "124", "number": "1240055555", "holder": "Mawar"}});
    let created = app
        .post("/v1/ewarungs", &office, ewarung.clone())
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "active");
    app.post("/v1/ewarungs", &office, ewarung)
        .await
        .expect_error(409, "bank_account_taken");

    let terminal = json!({"terminal_id": "SMD00099", "serial_number": "VX520-99"});
    app.post(&format!("/v1/ewarungs/{id}/terminals"), &office, terminal)
        .await
        .expect(201);
    let same_id = json!({"terminal_id": "SMD00099", "serial_number": "VX520-100"});
    app.post(&format!("/v1/ewarungs/{id}/terminals"), &office, same_id)
        .await
        .expect_error(409, "terminal_id_taken");
    let same_serial = json!({"terminal_id": "SMD00100", "serial_number": "VX520-99"});
    app.post(
        &format!("/v1/ewarungs/{id}/terminals"),
        &office,
        same_serial,
    )
    .await
    .expect_error(409, "serial_number_taken");
    let bad = app
        .post(
            &format!("/v1/ewarungs/{id}/terminals"),
            &office,
            json!({"terminal_id": "smd-9", "serial_number": "x"}),
        )
        .await;
    bad.expect_error(422, "invalid_terminal_id");
    assert_eq!(bad.field(), "terminal_id");

    let suspended = app
        .post(
            "/v1/terminals/SMD00099/status",
            &office,
            json!({"status": "suspended", "reason": "screen broken"}),
        )
        .await
        .expect(200);
    assert_eq!(suspended["status"], "suspended");
    let closed = app
        .post(
            &format!("/v1/ewarungs/{id}/status"),
            &office,
            json!({"status": "closed", "reason": "owner moved"}),
        )
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");

    let actions = app
        .audit_actions(&app.login("auditor").await, "terminal", "SMD00099")
        .await;
    assert_eq!(actions, vec!["terminal.create", "terminal.status"]);
}

on_both_backends!(
    a_program_and_its_catalog_are_registered_with_exact_amounts,
    bad_amounts_are_refused_and_change_nothing,
    household_changes_are_kept_as_revisions_with_who_and_why,
    households_page_through_with_next_after,
    ewarungs_and_terminals_are_registered_once,
);

/// `PATCH`es the rice's price cap as `token`'s user.
async fn set_cap(app: &TestApp, token: &str, body: serde_json::Value) -> Reply {
    let path = "/v1/programs/SSN-SEMBAKO/items/BERAS-MEDIUM";
    app.request(reqwest::Method::PATCH, path, Some(token), Some(body))
        .await
}

async fn a_new_price_cap_holds_purchases_from_then_on(app: TestApp) {
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    // Refusals change nothing.
    set_cap(
        &app,
        &office,
        json!({"max_unit_price": "12000.001", "reason": "x"}),
    )
    .await
    .expect_error(422, "amount_too_precise");
    set_cap(
        &app,
        &office,
        json!({"max_unit_price": "12000", "reason": " "}),
    )
    .await
    .expect_error(422, "blank");
    set_cap(
        &app,
        &operator,
        json!({"max_unit_price": "12000", "reason": "x"}),
    )
    .await
    .expect_error(403, "forbidden_role");
    app.request(
        reqwest::Method::PATCH,
        "/v1/programs/SSN-SEMBAKO/items/ROKOK",
        Some(&office),
        Some(json!({"max_unit_price": "12000", "reason": "x"})),
    )
    .await
    .expect_error(404, "catalog_item_not_found");
    let approved = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000071", DEMO_PANS[2], 1, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(approved["response_code"], "00", "{approved}");
    // The cap goes down: the same price is declined from now on, a price under it approved.
    let changed = set_cap(
        &app,
        &office,
        json!({"max_unit_price": "12000", "reason": "harga beras turun, SK Dinsos 7/2026"}),
    )
    .await
    .expect(200);
    assert_eq!(changed["max_unit_price"], "12000.00");
    let declined = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000072", DEMO_PANS[2], 1, "13000"),
        )
        .await
        .expect(200);
    assert_ne!(declined["response_code"], "00", "{declined}");
    let under = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000073", DEMO_PANS[2], 1, "12000"),
        )
        .await
        .expect(200);
    assert_eq!(under["response_code"], "00", "{under}");
    let auditor = app.login("auditor").await;
    let program = app
        .get("/v1/programs/SSN-SEMBAKO", &office)
        .await
        .expect(200);
    let subject = format!("{}/BERAS-MEDIUM", program["id"].as_str().unwrap());
    let actions = app.audit_actions(&auditor, "catalog_item", &subject).await;
    assert!(
        actions.iter().any(|a| a == "catalog_item.price_cap"),
        "{actions:?}"
    );
    app.assert_ledger_clean().await;
}

on_both_backends!(a_new_price_cap_holds_purchases_from_then_on);
