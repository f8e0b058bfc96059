//! Kelurahan verifiers: bound to their kelurahan, they read those households only, record
//! visits with a photo of the house, and propose changes that an office user decides; nothing
//! a verifier does changes a household by itself.

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

/// A tiny JPEG's first bytes, then filler: enough for the type check.
fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(size, 0x42);
    bytes
}

async fn photo_bytes(app: &TestApp, token: &str, visit: &str) -> (u16, Vec<u8>, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/visits/{visit}/photo", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, response.bytes().await.unwrap().to_vec(), kind)
}

async fn a_verifier_reads_their_kelurahan_visits_and_proposes(app: TestApp) {
    let verifier = app.login("verifikator").await;
    let office = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    let mine = app.household_id(&office, DEMO_KKS[0]).await; // Gunung Kelua
    let elsewhere = app.household_id(&office, DEMO_KKS[2]).await; // Pelita

    // Only the households of their kelurahan, in lists and one by one.
    let listed = app.get("/v1/households", &verifier).await.expect(200);
    let kelurahan: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["address"]["kelurahan"].as_str().unwrap())
        .collect();
    assert_eq!(kelurahan.len(), 2, "{listed}");
    assert!(kelurahan
        .iter()
        .all(|k| ["Gunung Kelua", "Temindung Permai"].contains(k)));
    app.get(&format!("/v1/households/{mine}"), &verifier)
        .await
        .expect(200);
    app.get(&format!("/v1/households/{mine}/members"), &verifier)
        .await
        .expect(200);
    app.get(&format!("/v1/households/{elsewhere}"), &verifier)
        .await
        .expect_error(403, "forbidden_kelurahan");
    app.get(&format!("/v1/households/{elsewhere}/members"), &verifier)
        .await
        .expect_error(403, "forbidden_kelurahan");
    // Nothing about money or cards, and no direct change.
    app.get(&format!("/v1/households/{mine}/cards"), &verifier)
        .await
        .expect_error(403, "forbidden_role");
    app.request(
        Method::PATCH,
        &format!("/v1/households/{mine}"),
        Some(&verifier),
        Some(json!({"expected_revision": 1, "head_name": "X", "reason": "typo"})),
    )
    .await
    .expect_error(403, "forbidden_role");

    // A visit, then its photo.
    let today = today();
    let visit = app
        .post(
            &format!("/v1/households/{mine}/visits"),
            &verifier,
            json!({"visited_on": today, "outcome": "moved_away",
                   "note": "rumah kosong, tetangga bilang pindah ke Balikpapan"}),
        )
        .await
        .expect(201);
    assert_eq!(visit["recorder"], "verifikator");
    assert!(visit["photo_type"].is_null());
    let visit_id = visit["id"].as_str().unwrap();
    let photo_path = format!("/v1/visits/{visit_id}/photo");
    app.raw(
        Method::PUT,
        &photo_path,
        Some(&verifier),
        Some("image/gif"),
        Some(b"GIF89a....".to_vec()),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    app.raw(
        Method::PUT,
        &photo_path,
        Some(&verifier),
        Some("image/jpeg"),
        Some(jpeg(5 * 1024 * 1024 + 1)),
    )
    .await
    .expect_error(413, "payload_too_large");
    let photo = jpeg(20_000);
    let with_photo = app
        .raw(
            Method::PUT,
            &photo_path,
            Some(&verifier),
            Some("image/jpeg"),
            Some(photo.clone()),
        )
        .await
        .expect(200);
    assert_eq!(with_photo["photo_type"], "image/jpeg");
    assert_eq!(with_photo["photo_bytes"], 20_000);
    app.raw(
        Method::PUT,
        &photo_path,
        Some(&verifier),
        Some("image/jpeg"),
        Some(jpeg(100)),
    )
    .await
    .expect_error(409, "photo_taken");
    // The photo is a file outside the database, read back whole by whoever reaches the house.
    let (status, bytes, kind) = photo_bytes(&app, &office, visit_id).await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, photo);
    let files: Vec<_> = std::fs::read_dir(app.data_dir.path().join("photos"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "only the kept photo is on disk");
    assert_eq!(photo_bytes(&app, &operator, visit_id).await.0, 403);
    let visits = app
        .get(&format!("/v1/households/{mine}/visits"), &office)
        .await
        .expect(200);
    assert_eq!(visits.as_array().unwrap().len(), 1);

    // Bad visits are refused and change nothing.
    app.post(
        &format!("/v1/households/{mine}/visits"),
        &verifier,
        json!({"visited_on": "2999-01-01", "outcome": "confirmed"}),
    )
    .await
    .expect_error(422, "visit_in_future");
    app.post(
        &format!("/v1/households/{elsewhere}/visits"),
        &verifier,
        json!({"visited_on": today, "outcome": "confirmed"}),
    )
    .await
    .expect_error(403, "forbidden_kelurahan");
    app.post(
        &format!("/v1/households/{mine}/visits"),
        &office,
        json!({"visited_on": today, "outcome": "confirmed"}),
    )
    .await
    .expect_error(403, "forbidden_role");

    // What the visit found becomes a request: the card is held until the office decides.
    let request = app
        .post(
            "/v1/change-requests",
            &verifier,
            json!({"household_id": mine, "submit": true, "reason": "visit: moved to Balikpapan",
                   "proposal": {"kind": "status", "status": "exited", "ground": "moved_away"}}),
        )
        .await
        .expect(201);
    app.post(
        "/v1/change-requests",
        &verifier,
        json!({"household_id": elsewhere, "submit": true, "reason": "x",
               "proposal": {"kind": "status", "status": "exited", "ground": "moved_away"}}),
    )
    .await
    .expect_error(403, "forbidden_kelurahan");
    let bought = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000601", DEMO_PANS[0], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(bought["response_code"], "78");
    let request_id = request["id"].as_str().unwrap();
    app.post(
        &format!("/v1/change-requests/{request_id}/approve"),
        &verifier,
        json!({}),
    )
    .await
    .expect_error(403, "forbidden_role");
    // A verifier lists the requests of their kelurahan only.
    let other = app
        .post(
            "/v1/change-requests",
            &office,
            json!({"household_id": elsewhere, "submit": true, "reason": "typo",
                   "proposal": {"kind": "data", "head_name": "Nur Aini S."}}),
        )
        .await
        .expect(201);
    let seen = app.get("/v1/change-requests", &verifier).await.expect(200);
    let ids: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [request_id]);
    app.get(
        &format!("/v1/change-requests/{}", other["id"].as_str().unwrap()),
        &verifier,
    )
    .await
    .expect_error(403, "forbidden_kelurahan");
    // A household found in the field is proposed, within their kelurahan only, also when
    // the proposal is rewritten.
    let found = |kelurahan: &str| {
        json!({"kind": "new_household", "kk_number": "6472010101239999",
               "head_nik": "6472015005800099", "head_name": "Warni",
               "address": {"street": "Jl. Gunung Kelua Gg. 3 No. 9", "rt": "4", "rw": "2",
                           "kelurahan": kelurahan, "kecamatan": "Samarinda Ulu"}})
    };
    let proposed = app
        .post(
            "/v1/change-requests",
            &verifier,
            json!({"proposal": found("Gunung Kelua"), "reason": "not listed, rents a room"}),
        )
        .await
        .expect(201);
    assert_eq!(proposed["state"], "draft");
    app.post(
        "/v1/change-requests",
        &verifier,
        json!({"proposal": found("Pelita"), "reason": "x"}),
    )
    .await
    .expect_error(403, "forbidden_kelurahan");
    app.request(
        Method::PUT,
        &format!("/v1/change-requests/{}", proposed["id"].as_str().unwrap()),
        Some(&verifier),
        Some(json!({"proposal": found("Pelita"), "reason": "moved the proposal"})),
    )
    .await
    .expect_error(403, "forbidden_kelurahan");
    let applied = app
        .post(
            &format!("/v1/change-requests/{request_id}/approve"),
            &office,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(applied["state"], "applied");
    assert_eq!(
        app.get(&format!("/v1/households/{mine}"), &office)
            .await
            .expect(200)["status"],
        "exited"
    );
}

async fn an_admin_binds_a_verifier_to_kelurahan(app: TestApp) {
    let admin = app.login("admin").await;
    let made = app
        .post(
            "/v1/users",
            &admin,
            json!({"username": "verif-pelita", "password": "correct horse battery",
                   "role": "verifier", "kelurahan": [" Pelita ", "Sidodadi", "Pelita"]}),
        )
        .await
        .expect(201);
    assert_eq!(made["kelurahan"], json!(["Pelita", "Sidodadi"]));
    for body in [
        json!({"username": "verif-two", "password": "correct horse battery", "role": "verifier"}),
        json!({"username": "office-two", "password": "correct horse battery", "role": "office",
               "kelurahan": ["Pelita"]}),
    ] {
        app.post("/v1/users", &admin, body)
            .await
            .expect_error(422, "kelurahan_binding");
    }
    let token = app
        .request(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"username": "verif-pelita", "password": "correct horse battery"})),
        )
        .await
        .expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = app.get("/v1/households", &token).await.expect(200);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["head_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Nur Aini"]);
}

on_both_backends!(
    a_verifier_reads_their_kelurahan_visits_and_proposes,
    an_admin_binds_a_verifier_to_kelurahan,
);
