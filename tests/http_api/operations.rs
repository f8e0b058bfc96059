//! Health, readiness, request ids and the OpenAPI document.

use reqwest::Method;

use crate::common::*;
use crate::on_both_backends;

async fn health_and_readiness_answer_and_every_reply_has_a_request_id(app: TestApp) {
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        health.headers.get("x-request-id").map(|v| v.len()),
        Some(36)
    );
    assert_eq!(health.expect(200)["status"], "ok");
    let ready = app
        .request(Method::GET, "/readyz", None, None)
        .await
        .expect(200);
    let expected = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready["database"], expected);
    let error = app.request(Method::GET, "/v1/households", None, None).await;
    assert!(error.headers.contains_key("x-request-id"));
}

async fn the_openapi_document_lists_the_api(app: TestApp) {
    let document = app
        .request(Method::GET, "/v1/openapi.json", None, None)
        .await
        .expect(200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/auth/login",
        "/v1/households/{id}/cards",
        "/v1/cards/{id}/replace",
        "/v1/terminals/{terminal_id}",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
}

on_both_backends!(
    health_and_readiness_answer_and_every_reply_has_a_request_id,
    the_openapi_document_lists_the_api,
);
