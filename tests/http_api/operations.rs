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

/// The document is a contract a client can be generated from: every path parameter declared,
/// operation ids unique, every reference resolvable, every error status with the error body.
async fn the_openapi_document_is_a_consistent_contract(app: TestApp) {
    let document = app
        .request(Method::GET, "/v1/openapi.json", None, None)
        .await
        .expect(200);
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let names: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let what = format!("{method} {path}");
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                !id.is_empty() && ids.insert(id.to_string()),
                "{what}: operationId {id:?} is missing or repeated"
            );
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for name in &names {
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == *name && p["in"] == "path" && p["required"] == true),
                    "{what}: path parameter {name} is not declared"
                );
            }
            for parameter in &parameters {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().unwrap();
                    assert!(
                        names.contains(&name),
                        "{what}: declares path parameter {name} the path lacks"
                    );
                }
            }
            for status in ["400", "401", "403", "404", "422", "503"] {
                let response = &operation["responses"][status];
                assert!(response.is_object(), "{what}: {status} is not declared");
            }
        }
    }
    assert!(operations >= 60, "{operations} operations");
    // Every reference names a schema that exists.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("odd reference {target}"));
        assert!(schemas.contains_key(name), "{target} does not resolve");
    }
    // Each purpose has a schema of its own: a day's batch-totals comparison is not a quota batch.
    assert!(schemas.contains_key("BatchTotalsStatus"));
    let quota_status = schemas["BatchStatus"].to_string();
    assert!(
        quota_status.contains("validating") && !quota_status.contains("mismatch"),
        "{quota_status}"
    );
}

on_both_backends!(
    the_openapi_document_is_a_consistent_contract,
    health_and_readiness_answer_and_every_reply_has_a_request_id,
    the_openapi_document_lists_the_api,
);
