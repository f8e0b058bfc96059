//! The batch commands as an office user runs them against a live server: `ssn quota load`,
//! `ssn quota approve`, `ssn quota expire`, and `ssn ledger verify` on the database, including a
//! tampered ledger that it must catch.

#[path = "common/mod.rs"]
mod common;

use std::process::Output;

use common::{process::*, Backend, DEMO_KKS};

fn run(
    data_dir: &std::path::Path,
    db: &str,
    server: &str,
    user: &str,
    password: &str,
    args: &[&str],
) -> Output {
    ssn_command(data_dir, db)
        .env("SSN_SERVER", server)
        .env("SSN_USERNAME", user)
        .env("SSN_PASSWORD", password)
        .args(args)
        .output()
        .expect("ssn runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn quota_commands_load_approve_expire_and_the_ledger_verifies(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database(backend, dir.path()).await;
    let server = ServerProcess::start(dir.path(), &db, &[]);
    let file = dir.path().join("kuota-2026-12.csv");
    let mut csv = String::from("period,program_code,kk_number,amount_idr\r\n");
    for kk in DEMO_KKS {
        csv.push_str(&format!("2026-12,SSN-SEMBAKO,{kk},150000\r\n"));
    }
    std::fs::write(&file, &csv).unwrap();
    let path = file.to_str().unwrap();

    let loaded = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &["quota", "load", path],
    );
    assert!(loaded.status.success(), "{}", text(&loaded));
    let out = text(&loaded);
    assert!(out.contains("validated"), "{out}");
    assert!(
        out.contains("rows 5, households 5, total 750000.00 IDR, errors 0"),
        "{out}"
    );
    let batch = out
        .split_whitespace()
        .nth(1)
        .expect("the report starts with the batch id")
        .to_string();

    // The uploader cannot approve; the other office user can.
    let refused = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &["quota", "approve", &batch],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("maker_checker"),
        "{}",
        text(&refused)
    );
    let approved = run(
        dir.path(),
        &db,
        &server.base,
        "diskominfo",
        "demo-office2-pass",
        &["quota", "approve", &batch],
    );
    assert!(approved.status.success(), "{}", text(&approved));
    assert!(
        text(&approved).contains("credited: 5 rows, 750000.00 IDR"),
        "{}",
        text(&approved)
    );

    // A bad file: the command fails and shows the lines.
    std::fs::write(
        &file,
        "period,program_code,kk_number,amount_idr\n2026-12,SSN-SEMBAKO,6472010101239999,5\n",
    )
    .unwrap();
    let invalid = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &["quota", "load", path],
    );
    assert!(!invalid.status.success());
    assert!(
        text(&invalid).contains("line 2: kk_number unknown_household"),
        "{}",
        text(&invalid)
    );

    let expired = run(
        dir.path(),
        &db,
        &server.base,
        "diskominfo",
        "demo-office2-pass",
        &["quota", "expire", "--as-of", "2027-06-01"],
    );
    assert!(expired.status.success(), "{}", text(&expired));
    assert!(
        text(&expired).contains("5 households"),
        "{}",
        text(&expired)
    );

    let verified = ssn_command(dir.path(), &db)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(
        text(&verified).contains("every invariant holds"),
        "{}",
        text(&verified)
    );

    // Someone edits a balance behind the ledger's back: verify names the account and fails.
    let tamper = "UPDATE accounts SET credits_posted = credits_posted + 100 WHERE id = (SELECT id FROM accounts WHERE kind = 'entitlement' ORDER BY id LIMIT 1)";
    common::execute_on(backend, &db, tamper).await;
    let caught = ssn_command(dir.path(), &db)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(!caught.status.success());
    let report = text(&caught);
    assert!(report.contains("balance_mismatch: account"), "{report}");
    assert!(report.contains("(entitlement)"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_commands_and_ledger_verify_on_sqlite() {
    quota_commands_load_approve_expire_and_the_ledger_verifies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_commands_and_ledger_verify_on_postgres() {
    quota_commands_load_approve_expire_and_the_ledger_verifies(Backend::Postgres).await;
}
