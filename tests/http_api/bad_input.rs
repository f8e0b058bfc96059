//! Bad input gets a 4xx with a stable code, a message and the offending field, and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

fn household() -> serde_json::Value {
    json!({"kk_number": "6472010404260001", "head_nik": "6472014107850031", "head_name": "Dewi",
           "address": {"street": "Jl. C", "rt": "4", "rw": "2", "kelurahan": "Sidomulyo", "kecamatan": "Samarinda Ilir"}})
}

async fn every_kind_of_bad_body_is_refused_with_its_code_and_field(app: TestApp) {
    let office = app.login("dinsos").await;
    let before = (
        app.count("households").await,
        app.count("household_revisions").await,
        app.count("audit_log").await,
    );
    let with = |field: &str, value: serde_json::Value| {
        let mut body = household();
        body[field] = value;
        body.to_string().into_bytes()
    };
    let mut nested_bad_rt = household();
    nested_bad_rt["address"]["rt"] = json!("12a");
    let mut missing = household();
    missing.as_object_mut().unwrap().remove("head_nik");
    let duplicate_key = br#"{"kk_number":"6472010404260001","kk_number":"6472010404260002","head_nik":"6472014107850031","head_name":"D","address":{"street":"a","rt":"1","rw":"1","kelurahan":"k","kecamatan":"c"}}"#.to_vec();
    // (body, status, code, field)
    let cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"{not json".to_vec(), 400, "malformed_json", ""),
        (b"".to_vec(), 400, "malformed_json", ""),
        (b"[]".to_vec(), 400, "wrong_type", ""),
        (
            with("kk_number", json!("647201040426000")),
            422,
            "invalid_kk_number",
            "kk_number",
        ),
        (
            with("kk_number", json!(6472010404260001u64)),
            400,
            "wrong_type",
            "kk_number",
        ),
        (
            with("head_nik", json!("64720141078500311")),
            422,
            "invalid_nik",
            "head_nik",
        ),
        (with("head_name", json!("   ")), 422, "blank", "head_name"),
        (
            with("head_name", json!("x".repeat(201))),
            422,
            "too_long",
            "head_name",
        ),
        (
            with("head_name", json!("Sri\u{202E}inuyhaW")),
            422,
            "invisible_characters",
            "head_name",
        ),
        (
            with("head_name", json!("Sri\u{200B}Wahyuni")),
            422,
            "invisible_characters",
            "head_name",
        ),
        (with("surprise", json!(1)), 400, "unknown_field", "surprise"),
        (
            nested_bad_rt.to_string().into_bytes(),
            422,
            "invalid_rt_rw",
            "address.rt",
        ),
        (
            missing.to_string().into_bytes(),
            400,
            "missing_field",
            "head_nik",
        ),
        (duplicate_key, 400, "duplicate_field", "kk_number"),
        (
            [household().to_string().as_bytes(), b" {}"].concat(),
            400,
            "malformed_json",
            "",
        ),
    ];
    for (body, status, code, field) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(80)
            .collect::<String>();
        let reply = app
            .raw(
                Method::POST,
                "/v1/households",
                Some(&office),
                Some("application/json"),
                Some(body),
            )
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.code(), reply.field()),
            (status, code, field),
            "{shown}: {}",
            reply.body
        );
        assert!(!reply.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let after = (
        app.count("households").await,
        app.count("household_revisions").await,
        app.count("audit_log").await,
    );
    assert_eq!(before, after, "refused requests changed nothing");
}

async fn wrong_content_type_oversized_bodies_and_bad_paths_are_refused(app: TestApp) {
    let office = app.login("dinsos").await;
    let body = household().to_string().into_bytes();
    app.raw(
        Method::POST,
        "/v1/households",
        Some(&office),
        Some("text/plain"),
        Some(body.clone()),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    app.raw(
        Method::POST,
        "/v1/households",
        Some(&office),
        None,
        Some(body),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    // The quota upload reads CSV or JSON, and says so.
    let refused = app
        .raw(
            Method::POST,
            "/v1/quota/batches",
            Some(&office),
            Some("application/xml"),
            Some(b"<batch/>".to_vec()),
        )
        .await;
    refused.expect_error(415, "unsupported_media_type");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text/csv"),
        "{}",
        refused.body
    );
    let mut huge = household();
    huge["head_name"] = json!("x".repeat(70 * 1024));
    app.post("/v1/households", &office, huge)
        .await
        .expect_error(413, "payload_too_large");
    app.get("/v1/households/not-a-uuid", &office)
        .await
        .expect_error(400, "invalid_path");
    app.get(&format!("/v1/households/{}", uuid::Uuid::now_v7()), &office)
        .await
        .expect_error(404, "household_not_found");
    app.get("/v1/households?limit=abc", &office)
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/households?colour=blue", &office)
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/households?status=dead", &office)
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/nowhere", &office)
        .await
        .expect_error(404, "route_not_found");
    app.request(Method::DELETE, "/v1/households", Some(&office), None)
        .await
        .expect_error(405, "method_not_allowed");
    let bad_check_digit = app
        .post(
            "/v1/cards/lookup",
            &office,
            json!({"pan": "6019010000000000"}),
        )
        .await;
    bad_check_digit.expect_error(422, "invalid_check_digit");
    assert_eq!(bad_check_digit.field(), "pan");
    assert_eq!(app.count("households").await, 5);
}

on_both_backends!(
    every_kind_of_bad_body_is_refused_with_its_code_and_field,
    wrong_content_type_oversized_bodies_and_bad_paths_are_refused,
);
