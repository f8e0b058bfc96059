//! The tamper-evident audit trail: the running server seals what is written, a closed date gets a
//! signed head, an entry's inclusion proof checks with nothing but the file and the public key,
//! and `ssn audit verify` names what was altered, removed or inserted straight in the database
//! (the immutability triggers dropped first, as someone with the database's password could).

use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::Browser;

const SSN: &str = env!("CARGO_BIN_EXE_ssn");

/// `ssn` on the app's database and data directory (its signing key).
fn ssn(app: &TestApp, args: &[&str]) -> Output {
    Command::new(SSN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--database-url")
        .arg(&app.database_url)
        .arg("--data-dir")
        .arg(app.data_dir.path())
        .args(args)
        .output()
        .expect("ssn runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(output)
}

/// `ssn audit verify --json`: whether it passed, and its report.
fn verify(app: &TestApp) -> (bool, Value) {
    let output = ssn(app, &["audit", "verify", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|_| {
        panic!(
            "verify answers JSON: {}{}",
            stdout(&output),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

/// The problems a report names, as `(kind, seq, source)`.
fn problems(report: &Value) -> Vec<(String, Option<i64>, Option<String>)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["seq"].as_i64(),
                p["source"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The seq of the `n`th link (from 0) of `source`.
async fn link(app: &TestApp, source: &str, n: usize) -> i64 {
    count_on(
        app.backend,
        &app.database_url,
        &format!(
            "SELECT seq FROM audit_chain WHERE source = '{source}' ORDER BY seq LIMIT 1 OFFSET {n}"
        ),
    )
    .await
}

async fn entries_are_sealed_signed_proved_and_tampering_is_named(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bank = app.login("kaltimtara").await;
    let auditor = app.login("auditor").await;
    let sold = app
        .buy(&operator, "SMD00001", "000101", DEMO_PANS[0], 2)
        .await;
    assert_eq!(sold["response_code"], "00");

    // The server seals on its own within seconds: a proof then waits only for the date's head.
    let transfer = count_on(
        app.backend,
        &app.database_url,
        "SELECT COUNT(*) FROM transfers",
    )
    .await;
    assert!(transfer > 0);
    let mut sealed = 0;
    for _ in 0..100 {
        sealed = count_on(
            app.backend,
            &app.database_url,
            "SELECT COUNT(*) FROM audit_chain WHERE source = 'transfer'",
        )
        .await;
        if sealed == transfer {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sealed, transfer, "every transfer sealed by the server");
    let heads = app.get("/v1/audit/heads", &auditor).await.expect(200);
    assert_eq!(heads, json!([]), "no date closed yet");

    // The date closes; its head is signed (here at once, by the command the server also runs).
    let date = today();
    app.post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    let sealed = succeeded(&ssn(&app, &["audit", "seal"]));
    assert!(sealed.contains("signed 1 heads"), "{sealed}");
    let heads = app.get("/v1/audit/heads", &auditor).await.expect(200);
    assert_eq!(heads[0]["business_date"], date.as_str(), "{heads}");
    let (intact, report) = verify(&app);
    assert!(intact, "{report}");
    assert_eq!(report["heads"], 1);
    assert!(
        report["links"].as_i64().unwrap() >= heads[0]["last_seq"].as_i64().unwrap(),
        "{report}"
    );

    // The auditor's page lists the head and runs the same check.
    let mut inspector = Browser::new(&app);
    inspector.login("auditor").await;
    let page = inspector.get("/audit/trail").await;
    assert!(
        page.body.contains(&format!("data-date=\"{date}\"")),
        "{}",
        page.body
    );
    let checked = inspector
        .post("/audit/trail", &[("csrf", &page.csrf())])
        .await;
    assert!(
        checked.body.contains("id=\"trail-intact\""),
        "{}",
        checked.body
    );
    let mut kiosk = Browser::new(&app);
    kiosk.login("warung-berkah").await;
    assert_eq!(kiosk.get("/audit/trail").await.status.as_u16(), 403);

    // One transfer's inclusion proof, checked offline against the public key.
    let key = succeeded(&ssn(&app, &["audit", "public-key"]));
    let key = key.trim();
    assert_eq!(
        app.get("/v1/audit/public-key", &auditor).await.expect(200)["public_key"],
        key
    );
    let transfer_id = first_transfer_id(&app).await;
    let proof_path = format!("/v1/audit/proofs/transfer/{transfer_id}");
    let proof = app.get(&proof_path, &auditor).await.expect(200);
    assert_eq!(proof["head"]["business_date"], date.as_str());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proof.json");
    std::fs::write(&file, proof.to_string()).unwrap();
    let checked = succeeded(&ssn(
        &app,
        &[
            "audit",
            "check-proof",
            file.to_str().unwrap(),
            "--public-key",
            key,
        ],
    ));
    assert!(checked.contains("the proof holds"), "{checked}");
    let mut forged = proof.clone();
    forged["leaf_index"] = json!(proof["leaf_index"].as_u64().unwrap() ^ 1);
    if forged["leaf_index"].as_u64().unwrap() >= proof["tree_size"].as_u64().unwrap() {
        forged["leaf_index"] = json!(proof["tree_size"].as_u64().unwrap());
    }
    std::fs::write(&file, forged.to_string()).unwrap();
    assert!(!ssn(
        &app,
        &[
            "audit",
            "check-proof",
            file.to_str().unwrap(),
            "--public-key",
            key
        ]
    )
    .status
    .success());
    // RFC 8032's first test key: a valid key, but not the one that signed.
    let other_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    std::fs::write(&file, proof.to_string()).unwrap();
    assert!(!ssn(
        &app,
        &[
            "audit",
            "check-proof",
            file.to_str().unwrap(),
            "--public-key",
            other_key
        ]
    )
    .status
    .success());
    app.get(
        "/v1/audit/proofs/transfer/00000000-0000-0000-0000-000000000000",
        &auditor,
    )
    .await
    .expect_error(404, "entry_not_found");
    app.get(&proof_path, &operator)
        .await
        .expect_error(403, "forbidden_role");

    // An audit entry altered: named, at its link; put back, the trail is whole again.
    let audit_seq = link(&app, "audit", 1).await;
    let audit_row = format!("(SELECT entry_id FROM audit_chain WHERE seq = {audit_seq})");
    app.execute(&format!(
        "UPDATE audit_log SET subject_id = subject_id || 'x' WHERE id = {audit_row}"
    ))
    .await;
    let (intact, report) = verify(&app);
    assert!(!intact);
    assert_eq!(
        problems(&report),
        [(
            "altered".to_string(),
            Some(audit_seq),
            Some("audit".to_string())
        )]
    );
    let said = stdout(&ssn(&app, &["audit", "verify"]));
    assert!(
        said.contains(&format!("first: altered at link {audit_seq}: audit ")),
        "{said}"
    );
    let page = inspector.get("/audit/trail").await;
    let shown = inspector
        .post("/audit/trail", &[("csrf", &page.csrf())])
        .await;
    assert!(
        shown.body.contains("id=\"trail-problems\""),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("data-kind=\"altered\""),
        "{}",
        shown.body
    );
    app.execute(&format!(
        "UPDATE audit_log SET subject_id = substr(subject_id, 1, length(subject_id) - 1)
          WHERE id = {audit_row}"
    ))
    .await;
    assert!(verify(&app).0);

    // A transfer's amount altered behind the ledger's back.
    match app.backend {
        Backend::Sqlite => {
            app.execute("DROP TRIGGER transfers_no_update").await;
            app.execute("DROP TRIGGER transfers_no_delete").await;
        }
        Backend::Postgres => {
            app.execute("ALTER TABLE transfers DISABLE TRIGGER transfers_immutable")
                .await
        }
    }
    let transfer_seq = link(&app, "transfer", 0).await;
    let transfer_row = format!("(SELECT entry_id FROM audit_chain WHERE seq = {transfer_seq})");
    app.execute(&format!(
        "UPDATE transfers SET amount_minor = amount_minor + 100 WHERE id = {transfer_row}"
    ))
    .await;
    let (intact, report) = verify(&app);
    assert!(!intact);
    assert_eq!(
        problems(&report),
        [(
            "altered".to_string(),
            Some(transfer_seq),
            Some("transfer".to_string())
        )]
    );
    app.execute(&format!(
        "UPDATE transfers SET amount_minor = amount_minor - 100 WHERE id = {transfer_row}"
    ))
    .await;
    assert!(verify(&app).0);

    // An entry written into the closed date, backdated: in no link, it is named as inserted;
    // sealed later, it is still named, as sealed after the head of a date it claims.
    let backdated = (chrono::Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let (id, at) = match app.backend {
        Backend::Sqlite => (
            "X'0190a0a0a0a07a0a8a0a0a0a0a0a0a0a'".to_string(),
            format!("'{}'", backdated.replace('Z', "+00:00")),
        ),
        Backend::Postgres => (
            "'0190a0a0-a0a0-7a0a-8a0a-0a0a0a0a0a0a'".to_string(),
            format!("'{backdated}'"),
        ),
    };
    app.execute(&format!(
        "INSERT INTO audit_log (id, at, actor_id, action, subject_type, subject_id, detail)
         VALUES ({id}, {at}, NULL, 'card.unblock', 'card', 'x', '{{}}')"
    ))
    .await;
    // (The server may have sealed it already: named either way.)
    let (intact, report) = verify(&app);
    assert!(!intact);
    let found = problems(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(
        (found[0].0.as_str(), found[0].2.as_deref()),
        ("inserted", Some("audit"))
    );
    succeeded(&ssn(&app, &["audit", "seal"]));
    let (_, report) = verify(&app);
    let found = problems(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].0, "inserted");
    assert!(found[0].1.unwrap() > heads[0]["last_seq"].as_i64().unwrap());

    // A sealed transfer deleted: named as removed, and as the first problem (it is older).
    tamper(
        &app,
        &format!("DELETE FROM transfers WHERE id = {transfer_row}"),
    )
    .await;
    let (intact, report) = verify(&app);
    assert!(!intact);
    let found = problems(&report);
    assert_eq!(
        found[0],
        (
            "removed".to_string(),
            Some(transfer_seq),
            Some("transfer".to_string())
        ),
        "{report}"
    );

    // The whole chain sealed again over the altered rows: self-consistent, but it no longer
    // matches the signed head.
    app.execute("DELETE FROM audit_chain").await;
    app.execute("UPDATE audit_chain_cursors SET pos = 0").await;
    succeeded(&ssn(&app, &["audit", "seal"]));
    let (intact, report) = verify(&app);
    assert!(!intact);
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "head_mismatch" && p["business_date"] == date.as_str()),
        "{report}"
    );
}

/// Runs `sql` with foreign keys unchecked, as the database's owner could.
async fn tamper(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    match app.backend {
        Backend::Sqlite => {
            let mut db = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::raw_sql(&format!("PRAGMA foreign_keys = OFF; {sql}"))
                .execute(&mut db)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut db = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::raw_sql(&format!("SET session_replication_role = replica; {sql}"))
                .execute(&mut db)
                .await
                .unwrap();
        }
    }
}

/// The id (as text) of the first sealed transfer.
async fn first_transfer_id(app: &TestApp) -> String {
    sql_text_on(
        app,
        "SELECT entry_id FROM audit_chain WHERE source = 'transfer' ORDER BY seq LIMIT 1",
    )
    .await
}

async fn sql_text_on(app: &TestApp, sql: &str) -> String {
    match app.backend {
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut db = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            let (id,): (uuid::Uuid,) = sqlx::query_as(sql).fetch_one(&mut db).await.unwrap();
            id.to_string()
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            let (id,): (uuid::Uuid,) = sqlx::query_as(sql).fetch_one(&mut db).await.unwrap();
            id.to_string()
        }
    }
}

on_both_backends!(entries_are_sealed_signed_proved_and_tampering_is_named);
