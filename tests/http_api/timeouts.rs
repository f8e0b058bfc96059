//! A request past the timeout gets the documented error body with `outcome_unknown`, and a job
//! whose caller has gone before it started is not run.

use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;

use crate::common::*;

async fn status(app: &TestApp, operator: &str, stan: &str) -> Value {
    app.post(
        "/v1/redemptions/status",
        operator,
        original("SMD00001", stan),
    )
    .await
    .expect(200)
}

fn assert_outcome_unknown(reply: &Reply) {
    reply.expect_error(503, "outcome_unknown");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("/v1/redemptions/status"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_timed_out_job_that_had_not_started_is_never_run() {
    let app = spawn_app_with(Backend::Sqlite, |serve| serve.request_timeout_seconds = 1).await;
    let operator = app.login("warung-berkah").await;
    // Another process holds SQLite's write lock: the writer waits at BEGIN (up to its 5 s busy
    // timeout) with the first job in hand; the second waits in its queue.
    let mut blocker = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let started = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000001", DEMO_PANS[0], 1, "13500"),
        )
        .await;
    assert_outcome_unknown(&started);
    let waiting = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000002", DEMO_PANS[1], 1, "13500"),
        )
        .await;
    assert_outcome_unknown(&waiting);
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();

    // The job the writer had begun runs to its end; the one still queued is dropped.
    let mut first = Value::Null;
    for _ in 0..100 {
        first = status(&app, &operator, "000001").await;
        if first["status"] == "final" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(first["status"], "final", "{first}");
    assert_eq!(first["answer"]["response_code"], "00", "{first}");
    assert_eq!(
        status(&app, &operator, "000002").await["status"],
        "not_found"
    );
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[1]).await,
        DEMO_QUOTA
    );
    // The terminal may now send it again, and it is carried out once.
    let again = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000002", DEMO_PANS[1], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(again["response_code"], "00", "{again}");
    app.assert_ledger_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_timed_out_request_is_rolled_back_and_says_so() {
    let app = spawn_app_with(Backend::Postgres, |serve| serve.request_timeout_seconds = 1).await;
    let operator = app.login("warung-berkah").await;
    let mut blocker = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE redemptions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let reply = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000001", DEMO_PANS[0], 1, "13500"),
        )
        .await;
    assert_outcome_unknown(&reply);
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let mut after = Value::Null;
    for _ in 0..100 {
        after = status(&app, &operator, "000001").await;
        if after["status"] == "not_found" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(after["status"], "not_found", "{after}");
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[0]).await,
        DEMO_QUOTA
    );
    // Nothing is stuck: the pool still serves, and the request can be made again.
    let again = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000001", DEMO_PANS[0], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(again["response_code"], "00", "{again}");
    app.assert_ledger_clean().await;
}
