//! Household members: the head is a member, others are added, corrected and removed, the head
//! changes, and one NIK is in at most one household that holds it; each change a revision.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

/// A child born 2015-07-01 (day 01 + 40: a girl).
const GIRL: &str = "6472014107150031";
/// A man born 1978-05-20.
const MAN: &str = "6472012005780007";
/// The second demo household's head.
const OTHER_HEAD: &str = "6472011203790002";

fn member(revision: i64, nik: &str, name: &str, relation: &str, sex: &str, born: &str) -> Value {
    json!({"expected_revision": revision, "nik": nik, "name": name, "relation": relation,
           "sex": sex, "birth_date": born, "reason": "checked against the KK"})
}

async fn members(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    app.get(&format!("/v1/households/{id}/members"), token)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .clone()
}

async fn revision(app: &TestApp, token: &str, id: &str) -> i64 {
    app.get(&format!("/v1/households/{id}"), token)
        .await
        .expect(200)["revision"]
        .as_i64()
        .unwrap()
}

async fn members_are_added_corrected_removed_and_one_becomes_head(app: TestApp) {
    let office = app.login("dinsos").await;
    let id = app.household_id(&office, DEMO_KKS[0]).await;
    let path = format!("/v1/households/{id}/members");

    // The head is the first member; sex and birth date read from the NIK.
    let listed = members(&app, &office, &id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["relation"], "head");
    assert_eq!(listed[0]["nik"], "6472014107850001");
    assert_eq!(listed[0]["name"], "Siti Rahmah");
    assert_eq!(listed[0]["sex"], "female");
    assert_eq!(listed[0]["birth_date"], "1985-07-01");

    let start = revision(&app, &office, &id).await;
    let added = app
        .approved(
            app.post(
                &path,
                &office,
                member(start, GIRL, "Nur Aisyah", "child", "female", "2015-07-01"),
            )
            .await,
        )
        .await;
    assert_eq!(added["revision"], start + 1);

    // Refused values change nothing, each with its code and field.
    let cases = [
        (
            member(start + 1, GIRL, "X", "child", "male", "2015-07-01"),
            422,
            "nik_mismatch",
            "nik",
        ),
        (
            member(
                start + 1,
                "6472019999000001",
                "X",
                "child",
                "male",
                "2000-01-01",
            ),
            422,
            "invalid_nik",
            "nik",
        ),
        (
            member(start + 1, MAN, "X", "cousin", "male", "1978-05-20"),
            422,
            "invalid_relation",
            "relation",
        ),
        (
            member(start + 1, MAN, "X", "spouse", "man", "1978-05-20"),
            422,
            "invalid_sex",
            "sex",
        ),
        (
            member(start + 1, MAN, "X", "spouse", "male", "1978-02-30"),
            422,
            "invalid_birth_date",
            "birth_date",
        ),
        (
            member(start + 1, MAN, " ", "spouse", "male", "1978-05-20"),
            422,
            "blank",
            "name",
        ),
    ];
    for (body, status, code, field) in cases {
        let reply = app.post(&path, &office, body).await;
        reply.expect_error(status, code);
        assert_eq!(reply.field(), field, "{code}");
    }
    app.post(
        &path,
        &office,
        member(start, MAN, "Rudi", "spouse", "male", "1978-05-20"),
    )
    .await
    .expect_error(409, "stale_revision");
    app.post(
        &path,
        &office,
        member(start + 1, GIRL, "Nur", "child", "female", "2015-07-01"),
    )
    .await
    .expect_error(409, "nik_in_household");
    app.post(
        &path,
        &office,
        member(start + 1, MAN, "Rudi", "head", "male", "1978-05-20"),
    )
    .await
    .expect_error(409, "head_required");
    // The other household's head: the conflict names that household.
    let elsewhere = app
        .post(
            &path,
            &office,
            member(
                start + 1,
                OTHER_HEAD,
                "Ahmad",
                "parent",
                "male",
                "1979-03-12",
            ),
        )
        .await;
    elsewhere.expect_error(409, "nik_in_other_household");
    let message = elsewhere.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(DEMO_KKS[1]), "{message}");
    assert_eq!(members(&app, &office, &id).await.len(), 2);
    assert_eq!(revision(&app, &office, &id).await, start + 1);

    let spouse = app
        .approved(
            app.post(
                &path,
                &office,
                member(
                    start + 1,
                    MAN,
                    "Rudi Hartono",
                    "spouse",
                    "male",
                    "1978-05-20",
                ),
            )
            .await,
        )
        .await;
    assert_eq!(spouse["revision"], start + 2);
    let listed = members(&app, &office, &id).await;
    let id_of = |nik: &str| {
        listed
            .iter()
            .find(|m| m["nik"] == nik)
            .map(|m| m["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (girl, man, head) = (id_of(GIRL), id_of(MAN), id_of("6472014107850001"));

    let corrected = app
        .approved(
            app.request(
                reqwest::Method::PUT,
                &format!("{path}/{girl}"),
                Some(&office),
                Some(member(
                    start + 2,
                    GIRL,
                    "Nur Aisyah Putri",
                    "child",
                    "female",
                    "2015-07-01",
                )),
            )
            .await,
        )
        .await;
    assert_eq!(corrected["revision"], start + 3);

    app.post(
        &format!("{path}/{head}/remove"),
        &office,
        json!({"expected_revision": start + 3, "reason": "x"}),
    )
    .await
    .expect_error(409, "head_required");

    // The husband becomes head; the former head stays as his spouse.
    let headed = app.approved(app
        .post(
            &format!("/v1/households/{id}/head"),
            &office,
            json!({"expected_revision": start + 3, "member_id": man, "former_head_relation": "spouse",
                   "reason": "KK reissued with the husband as head"}),
        ).await).await;
    assert_eq!(headed["head_nik"], MAN);
    assert_eq!(headed["head_name"], "Rudi Hartono");
    let listed = members(&app, &office, &id).await;
    assert_eq!(listed[0]["nik"], MAN, "the head first");
    assert_eq!(listed[0]["relation"], "head");
    let former = listed.iter().find(|m| m["id"] == head.as_str()).unwrap();
    assert_eq!(former["relation"], "spouse");

    app.approved(
        app.post(
            &format!("{path}/{girl}/remove"),
            &office,
            json!({"expected_revision": start + 4, "reason": "moved to her grandmother's KK"}),
        )
        .await,
    )
    .await;
    assert_eq!(members(&app, &office, &id).await.len(), 2);

    let revisions = app
        .get(&format!("/v1/households/{id}/revisions"), &office)
        .await
        .expect(200);
    let kinds: Vec<String> = revisions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["changes"].as_object()?.keys().next().cloned())
        .collect();
    for kind in [
        "member_added",
        "member_corrected",
        "head_changed",
        "member_removed",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let audit = app
        .get("/v1/audit?subject_type=household", &office)
        .await
        .expect(200);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert!(actions.contains(&"household.head_changed"), "{actions:?}");

    // Only the office changes members; an operator cannot even read them.
    let operator = app.login("warung-berkah").await;
    app.get(&path, &operator)
        .await
        .expect_error(403, "forbidden_role");
    app.post(
        &path,
        &operator,
        member(start + 5, GIRL, "X", "child", "female", "2015-07-01"),
    )
    .await
    .expect_error(403, "forbidden_role");
    app.get(
        &format!("/v1/households/{}/members", uuid::Uuid::nil()),
        &office,
    )
    .await
    .expect_error(404, "household_not_found");
}

async fn one_nik_is_in_one_household_and_an_exit_releases_it(app: TestApp) {
    let office = app.login("dinsos").await;
    let first = app.household_id(&office, DEMO_KKS[0]).await;
    let address = json!({"street": "Jl. Juanda 4", "rt": "1", "rw": "2", "kelurahan": "Air Hitam",
                         "kecamatan": "Samarinda Ulu"});
    let register = |kk: &str| {
        json!({"kk_number": kk, "head_nik": "6472014107850001", "head_name": "Siti Rahmah",
               "address": address.clone()})
    };
    // The first household's head registered again as another household's head: refused.
    let refused = app
        .post("/v1/households", &office, register("6472010303250001"))
        .await;
    refused.expect_error(409, "nik_in_other_household");
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(DEMO_KKS[0]));

    // The first household exits: its NIKs are free, and the new household takes them.
    let at = revision(&app, &office, &first).await;
    app.approved(
        app.post(
            &format!("/v1/households/{first}/status"),
            &office,
            json!({"expected_revision": at, "status": "exited", "reason": "moved to a new KK"}),
        )
        .await,
    )
    .await;
    app.post("/v1/households", &office, register("6472010303250001"))
        .await
        .expect(201);
    // Coming back while another household holds its head's NIK is refused when the request is
    // approved, naming it; the request stays submitted.
    let request = app
        .post(
            &format!("/v1/households/{first}/status"),
            &office,
            json!({"expected_revision": at + 1, "status": "active", "reason": "came back"}),
        )
        .await
        .expect(202);
    let checker = app.login("diskominfo").await;
    let approve = format!(
        "/v1/change-requests/{}/approve",
        request["id"].as_str().unwrap()
    );
    let back = app.post(&approve, &checker, json!({})).await;
    back.expect_error(409, "nik_in_other_household");
    assert!(back.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("6472010303250001"));
    assert_eq!(revision(&app, &office, &first).await, at + 1);

    // A data change that gives a head another household's NIK is refused the same way.
    let second = app.household_id(&office, DEMO_KKS[1]).await;
    let at = revision(&app, &office, &second).await;
    app.request(
        reqwest::Method::PATCH,
        &format!("/v1/households/{second}"),
        Some(&office),
        Some(json!({"expected_revision": at, "head_nik": "6472014107850001", "reason": "typo"})),
    )
    .await
    .expect_error(409, "nik_in_other_household");
    // A correction of the head's name reaches the head member.
    app.approved(app.request(
        reqwest::Method::PATCH,
        &format!("/v1/households/{second}"),
        Some(&office),
        Some(json!({"expected_revision": at, "head_name": "Ahmad Fauzi Rahman", "reason": "as on the KTP"})),
    ).await).await;
    let listed = members(&app, &office, &second).await;
    assert_eq!(listed[0]["name"], "Ahmad Fauzi Rahman");
}

on_both_backends!(
    members_are_added_corrected_removed_and_one_becomes_head,
    one_nik_is_in_one_household_and_an_exit_releases_it,
);
