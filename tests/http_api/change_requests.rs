//! Change requests: a change to a household is proposed, decided by an office user who did not
//! write it, and applied with the decision; an open "moved away" or "head deceased" request holds
//! the household's cards at the terminal (78) until it is decided.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

const REQUESTS: &str = "/v1/change-requests";

fn status_request(household: &str, status: &str, ground: &str, submit: bool) -> Value {
    json!({"household_id": household, "submit": submit,
           "proposal": {"kind": "status", "status": status, "ground": ground},
           "reason": "visited 2026-12-01: neighbours say the family left"})
}

async fn terminal_says(app: &TestApp, operator: &str, stan: &str, pan: &str) -> String {
    let answer = app
        .post(
            "/v1/redemptions/authorize",
            operator,
            purchase("SMD00001", stan, pan, 1, "13500"),
        )
        .await
        .expect(200);
    answer["response_code"].as_str().unwrap().to_string()
}

async fn household(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/v1/households/{id}"), token)
        .await
        .expect(200)
}

async fn a_move_holds_the_card_until_a_second_office_user_approves_it(app: TestApp) {
    let office = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let operator = app.login("warung-berkah").await;
    let id = app.household_id(&office, DEMO_KKS[0]).await;
    let before = household(&app, &office, &id).await;

    // A draft holds nothing yet.
    let draft = app
        .post(
            REQUESTS,
            &office,
            status_request(&id, "exited", "moved_away", false),
        )
        .await
        .expect(201);
    assert_eq!(draft["state"], "draft");
    assert_eq!(draft["blocks_cards"], true);
    assert_eq!(draft["base_revision"], before["revision"]);
    assert_eq!(draft["kelurahan"], before["address"]["kelurahan"]);
    assert_eq!(draft["author"], "dinsos");
    assert_eq!(
        terminal_says(&app, &operator, "000301", DEMO_PANS[0]).await,
        "00"
    );
    let request = draft["id"].as_str().unwrap();
    // Only its author submits it.
    app.post(&format!("{REQUESTS}/{request}/submit"), &checker, json!({}))
        .await
        .expect_error(403, "not_author");
    let submitted = app
        .post(&format!("{REQUESTS}/{request}/submit"), &office, json!({}))
        .await
        .expect(200);
    assert_eq!(submitted["state"], "submitted");

    // Submitted: the card is refused with its own code, purchases and balance inquiries alike,
    // and nothing is taken from the balance.
    let balance_before = app.balance(&operator, "SMD00001", DEMO_PANS[1]).await;
    assert_eq!(
        terminal_says(&app, &operator, "000302", DEMO_PANS[0]).await,
        "78"
    );
    let inquiry = app
        .post(
            "/v1/redemptions/balance",
            &operator,
            json!({"terminal_id": "SMD00001", "pan": DEMO_PANS[0], "pin": DEMO_PIN}),
        )
        .await
        .expect(200);
    assert_eq!(inquiry["response_code"], "78", "{inquiry}");
    // Another household's card is not affected.
    assert_eq!(
        terminal_says(&app, &operator, "000303", DEMO_PANS[1]).await,
        "00"
    );
    assert_ne!(
        app.balance(&operator, "SMD00001", DEMO_PANS[1]).await,
        balance_before
    );

    // Four eyes: the author may not approve their own request; nothing changes.
    app.post(&format!("{REQUESTS}/{request}/approve"), &office, json!({}))
        .await
        .expect_error(403, "maker_checker");
    assert_eq!(household(&app, &office, &id).await["status"], "active");

    let applied = app
        .post(
            &format!("{REQUESTS}/{request}/approve"),
            &checker,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(applied["state"], "applied");
    assert_eq!(applied["decider"], "diskominfo");
    let after = household(&app, &office, &id).await;
    assert_eq!(after["status"], "exited");
    assert_eq!(
        applied["applied_revision"].as_i64(),
        after["revision"].as_i64()
    );
    assert_eq!(
        after["revision"].as_i64().unwrap(),
        before["revision"].as_i64().unwrap() + 1
    );
    let revisions = app
        .get(&format!("/v1/households/{id}/revisions"), &office)
        .await
        .expect(200);
    let last = revisions.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], draft["reason"], "{last}");
    // Exited now: the card is refused as any exited household's.
    assert_eq!(
        terminal_says(&app, &operator, "000304", DEMO_PANS[0]).await,
        "62"
    );
    // Approving twice does nothing more.
    app.post(
        &format!("{REQUESTS}/{request}/approve"),
        &checker,
        json!({}),
    )
    .await
    .expect_error(409, "request_state");

    // Every step is audited with who and why.
    let audit = app
        .get(
            &format!("/v1/audit?subject_type=change_request&subject_id={request}"),
            &checker,
        )
        .await
        .expect(200);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    for action in [
        "change_request.create",
        "change_request.submit",
        "change_request.apply",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    app.assert_ledger_clean().await;
}

async fn rejecting_a_move_lifts_the_hold_and_a_returned_request_is_rewritten(app: TestApp) {
    let office = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let operator = app.login("warung-berkah").await;
    let id = app.household_id(&office, DEMO_KKS[1]).await;

    let request = app
        .post(
            REQUESTS,
            &office,
            status_request(&id, "exited", "deceased_head", true),
        )
        .await
        .expect(201);
    let request_id = request["id"].as_str().unwrap();
    assert_eq!(
        terminal_says(&app, &operator, "000401", DEMO_PANS[1]).await,
        "78"
    );
    // One open status request per household.
    app.post(
        REQUESTS,
        &office,
        status_request(&id, "suspended", "other", true),
    )
    .await
    .expect_error(409, "status_request_open");

    // Returned for correction: still open, the card still held.
    app.post(
        &format!("{REQUESTS}/{request_id}/return"),
        &checker,
        json!({"note": " "}),
    )
    .await
    .expect_error(422, "blank");
    let returned = app
        .post(
            &format!("{REQUESTS}/{request_id}/return"),
            &checker,
            json!({"note": "attach the death certificate number"}),
        )
        .await
        .expect(200);
    assert_eq!(returned["state"], "returned");
    assert_eq!(
        returned["decision_note"],
        "attach the death certificate number"
    );
    assert_eq!(
        terminal_says(&app, &operator, "000402", DEMO_PANS[1]).await,
        "78"
    );
    // A returned request is not approved until it is submitted again.
    app.post(
        &format!("{REQUESTS}/{request_id}/approve"),
        &checker,
        json!({}),
    )
    .await
    .expect_error(409, "request_state");
    // Its author rewrites it (another office user may not) and submits it again.
    let rewrite = json!({"proposal": {"kind": "status", "status": "suspended", "ground": "deceased_head"},
                         "reason": "head deceased 2026-11-20, certificate 6472-KM-112026-0042"});
    app.request(
        reqwest::Method::PUT,
        &format!("{REQUESTS}/{request_id}"),
        Some(&checker),
        Some(rewrite.clone()),
    )
    .await
    .expect_error(403, "not_author");
    let rewritten = app
        .request(
            reqwest::Method::PUT,
            &format!("{REQUESTS}/{request_id}"),
            Some(&office),
            Some(rewrite),
        )
        .await
        .expect(200);
    assert_eq!(rewritten["proposal"]["status"], "suspended");
    app.post(
        &format!("{REQUESTS}/{request_id}/submit"),
        &office,
        json!({}),
    )
    .await
    .expect(200);

    // Rejected: the hold ends at once and the household is as it was.
    let rejected = app
        .post(
            &format!("{REQUESTS}/{request_id}/reject"),
            &checker,
            json!({"note": "the head was seen at home on 2026-12-03"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(
        terminal_says(&app, &operator, "000403", DEMO_PANS[1]).await,
        "00"
    );
    assert_eq!(household(&app, &office, &id).await["status"], "active");
    // A decided request takes no more steps.
    app.post(
        &format!("{REQUESTS}/{request_id}/submit"),
        &office,
        json!({}),
    )
    .await
    .expect_error(409, "request_state");
}

async fn member_and_data_requests_apply_at_the_revision_they_were_written_against(app: TestApp) {
    let office = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let id = app.household_id(&office, DEMO_KKS[2]).await;
    let address = household(&app, &office, &id).await["address"].clone();

    let child = json!({"household_id": id, "submit": true, "reason": "born 2026-10-02, birth certificate seen",
        "proposal": {"kind": "member_add", "member": {"nik": "6472014210260001", "name": "Putri",
            "relation": "child", "sex": "female", "birth_date": "2026-10-02"}}});
    let mut moved = address.clone();
    moved["street"] = json!("Jl. Pramuka No. 7");
    let data = json!({"household_id": id, "submit": true, "reason": "moved within the kelurahan",
        "proposal": {"kind": "data", "address": moved}});
    let first = app.post(REQUESTS, &office, child).await.expect(201);
    let second = app.post(REQUESTS, &office, data).await.expect(201);
    // Both were written against the same revision: approving both at once applies the first,
    // and the second finds the household moved on and stays submitted.
    let outcomes = app
        .post(
            &format!("{REQUESTS}/approve"),
            &checker,
            json!({"ids": [first["id"], second["id"]]}),
        )
        .await
        .expect(200);
    assert_eq!(outcomes[0]["request"]["state"], "applied", "{outcomes}");
    assert!(outcomes[0]["error"].is_null());
    assert_eq!(outcomes[1]["error"]["code"], "stale_revision", "{outcomes}");
    let second_id = second["id"].as_str().unwrap();
    let still = app
        .get(&format!("{REQUESTS}/{second_id}"), &office)
        .await
        .expect(200);
    assert_eq!(still["state"], "submitted");
    let members = app
        .get(&format!("/v1/households/{id}/members"), &office)
        .await
        .expect(200);
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "Putri"),
        "{members}"
    );

    // Returned, rewritten against the household as it is now, submitted and approved.
    app.post(
        &format!("{REQUESTS}/{second_id}/return"),
        &checker,
        json!({"note": "written before the child was added; write it again"}),
    )
    .await
    .expect(200);
    app.request(
        reqwest::Method::PUT,
        &format!("{REQUESTS}/{second_id}"),
        Some(&office),
        Some(json!({"proposal": {"kind": "data", "address": moved}, "reason": "moved within the kelurahan"})),
    )
    .await
    .expect(200);
    app.post(
        &format!("{REQUESTS}/{second_id}/submit"),
        &office,
        json!({}),
    )
    .await
    .expect(200);
    let applied = app
        .post(
            &format!("{REQUESTS}/{second_id}/approve"),
            &checker,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(applied["state"], "applied");
    assert_eq!(
        household(&app, &office, &id).await["address"]["street"],
        "Jl. Pramuka No. 7"
    );

    // The queue lists by state and kind.
    let applied_members = app
        .get(
            &format!("{REQUESTS}?state=applied&kind=member_add"),
            &checker,
        )
        .await
        .expect(200);
    assert_eq!(applied_members["items"].as_array().unwrap().len(), 1);
    let open = app
        .get(&format!("{REQUESTS}?state=submitted"), &checker)
        .await
        .expect(200);
    assert!(open["items"].as_array().unwrap().is_empty(), "{open}");
}

async fn bad_requests_are_refused_and_change_nothing(app: TestApp) {
    let office = app.login("dinsos").await;
    let auditor = app.login("auditor").await;
    let operator = app.login("warung-berkah").await;
    let id = app.household_id(&office, DEMO_KKS[3]).await;

    // A ground that does not fit the status asked for.
    app.post(
        REQUESTS,
        &office,
        status_request(&id, "active", "moved_away", true),
    )
    .await
    .expect_error(422, "status_ground_mismatch");
    // No household named.
    app.post(
        REQUESTS,
        &office,
        json!({"proposal": {"kind": "status", "status": "exited", "ground": "moved_away"},
               "reason": "left"}),
    )
    .await
    .expect_error(422, "household_required");
    // An unknown kind, an unknown member, a bad NIK, an empty reason.
    app.post(
        REQUESTS,
        &office,
        json!({"household_id": id, "proposal": {"kind": "teleport"}, "reason": "x"}),
    )
    .await
    .expect_error(400, "invalid_value");
    app.post(
        REQUESTS,
        &office,
        json!({"household_id": id, "reason": "moved",
               "proposal": {"kind": "member_remove", "member_id": "01939f3e-0000-7000-8000-000000000000"}}),
    )
    .await
    .expect_error(404, "member_not_found");
    app.post(
        REQUESTS,
        &office,
        json!({"household_id": id, "reason": "born",
               "proposal": {"kind": "member_add", "member": {"nik": "123", "name": "X",
                   "relation": "child", "sex": "male", "birth_date": "2020-01-01"}}}),
    )
    .await
    .expect_error(422, "invalid_nik");
    app.post(
        REQUESTS,
        &office,
        json!({"household_id": id, "reason": "  ",
               "proposal": {"kind": "status", "status": "suspended", "ground": "other"}}),
    )
    .await
    .expect_error(422, "blank");
    // Auditors read, never write; operators do neither.
    app.post(
        REQUESTS,
        &auditor,
        status_request(&id, "exited", "moved_away", true),
    )
    .await
    .expect_error(403, "forbidden_role");
    app.get(REQUESTS, &auditor).await.expect(200);
    app.get(REQUESTS, &operator)
        .await
        .expect_error(403, "forbidden_role");
    assert_eq!(app.count("change_requests").await, 0);
}

on_both_backends!(
    a_move_holds_the_card_until_a_second_office_user_approves_it,
    rejecting_a_move_lifts_the_hold_and_a_returned_request_is_rewritten,
    member_and_data_requests_apply_at_the_revision_they_were_written_against,
    bad_requests_are_refused_and_change_nothing,
);
