//! `GET /metrics` scraped around a purchase, from a server process of its own (its counters are
//! the process's): the counters of what happened moved by exactly what happened.

use crate::common::{process::ServerProcess, *};

/// The value of the sample line that starts with `series` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(http: &reqwest::Client, base: &str) -> String {
    let answer = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    answer.text().await.unwrap()
}

async fn a_purchase_moves_its_counters(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(backend, dir.path()).await;
    let server = ServerProcess::start(dir.path(), &database_url, &[]);
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/v1/auth/login", server.base))
        .json(&serde_json::json!({"username": "warung-berkah", "password": "demo-operator-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let before = scrape(&http, &server.base).await;
    let answer: serde_json::Value = http
        .post(format!("{}/v1/redemptions/authorize", server.base))
        .bearer_auth(&token)
        .json(&purchase("SMD00001", "000901", DEMO_PANS[0], 1, "13500"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["response_code"], "00", "{answer}");
    let after = scrape(&http, &server.base).await;
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        moved(r#"ssn_redemptions_total{action="authorize",response_code="00"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(
            r#"ssn_http_requests_total{route="/v1/redemptions/authorize",method="POST",status="200"}"#
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(r#"ssn_http_request_duration_seconds_count{route="/v1/redemptions/authorize"}"#),
        1.0
    );
    // The first scrape itself was counted, under its route.
    assert!(
        sample(
            &after,
            r#"ssn_http_requests_total{route="/metrics",method="GET",status="200"}"#
        ) >= 1.0,
        "{after}"
    );
    assert_eq!(sample(&after, r#"ssn_logins_total{outcome="ok"}"#), 1.0);
    if backend == Backend::Sqlite {
        // The purchase was one write job, committed in a group.
        assert!(
            moved("ssn_sqlite_group_commit_jobs_count") >= 1.0,
            "{after}"
        );
    }
    // Its wait for a connection (PostgreSQL) or for the writer (SQLite) was measured.
    let pool = match backend {
        Backend::Sqlite => "sqlite_writer",
        Backend::Postgres => "postgres",
    };
    assert!(
        moved(&format!(r#"ssn_db_wait_seconds_count{{pool="{pool}"}}"#)) >= 1.0,
        "{after}"
    );
    // The read pool at the scrape: at least the connection the purchase's reads used.
    assert!(
        sample(&after, r#"ssn_db_pool_connections{state="open"}"#) >= 1.0,
        "{after}"
    );
    // A path with an id is counted by its template, never by the id.
    let _ = http
        .get(format!(
            "{}/v1/households/{}",
            server.base,
            uuid::Uuid::nil()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let last = scrape(&http, &server.base).await;
    assert!(last.contains(r#"route="/v1/households/{id}""#), "{last}");
    assert!(!last.contains(&uuid::Uuid::nil().to_string()));
}

crate::on_both_backends!(a_purchase_moves_its_counters);
