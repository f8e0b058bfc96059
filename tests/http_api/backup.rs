//! Backups of the SQLite default while it serves (`ssn backup`, `ssn restore`, the binary as an
//! operator runs it): a backup taken under purchase load holds every approval acknowledged
//! before it began and its ledger verifies; a backup killed halfway leaves nothing that looks
//! complete; a restore refuses the database a server has open and keeps the one it replaces.

use std::{
    path::Path,
    process::{Command, Output},
    sync::{Arc, Mutex},
};

use sqlx::Connection;

use crate::common::*;

const SSN: &str = env!("CARGO_BIN_EXE_ssn");

fn ssn(database_url: &str, args: &[&str]) -> Output {
    Command::new(SSN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .output()
        .expect("ssn runs")
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn purchases_in(path: &Path, stans: &[String]) -> usize {
    let mut db = sqlx::SqliteConnection::connect(&url_of(path))
        .await
        .unwrap();
    let mut found = 0;
    for stan in stans {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM redemptions WHERE terminal_id = 'SMD00001' AND stan = ?",
        )
        .bind(stan)
        .fetch_one(&mut db)
        .await
        .unwrap();
        found += count as usize;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_purchase_load_holds_what_was_acknowledged_and_restores() {
    let app = spawn_app(Backend::Sqlite).await;
    let operator = app.login("warung-berkah").await;
    let live = app.database_url.clone();
    let backups = tempfile::tempdir().unwrap();
    // Purchases keep coming: each STAN approved (answered 00) is noted as it is acknowledged.
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let load = {
        let (app_base, http, operator) = (app.base.clone(), app.http.clone(), operator.clone());
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for n in 1..=40u32 {
                let stan = format!("{:06}", 500 + n);
                let pan = DEMO_PANS[(n % 4) as usize];
                let answer: serde_json::Value = http
                    .post(format!("{app_base}/v1/redemptions/authorize"))
                    .bearer_auth(&operator)
                    .json(&purchase("SMD00001", &stan, pan, 1, "13500"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if answer["response_code"] == "00" {
                    acknowledged.lock().unwrap().push(stan);
                }
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before = acknowledged.lock().unwrap().clone();
    let output = backups.path().join("ssn-backup.db");
    let (url, out) = (live.clone(), output.clone());
    let made = tokio::task::spawn_blocking(move || {
        ssn(&url, &["backup", "--output", out.to_str().unwrap()])
    })
    .await
    .unwrap();
    let said = succeeded(&made);
    assert!(said.contains("backed up"), "{said}");
    load.await.unwrap();
    assert!(output.exists() && !backups.path().join("ssn-backup.db.partial").exists());
    assert_eq!(purchases_in(&output, &before).await, before.len());
    // The copy is a whole ledger.
    let verified = succeeded(&ssn(&url_of(&output), &["ledger", "verify"]));
    assert!(verified.contains("every invariant holds"), "{verified}");
    // A backup never replaces a file.
    let again = ssn(&live, &["backup", "--output", output.to_str().unwrap()]);
    assert!(!again.status.success());

    // The live database is in use: a restore onto it is refused, and changes nothing.
    let refused = ssn(&live, &["restore", "--input", output.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let all = acknowledged.lock().unwrap().clone();
    let live_file = ssn::backup::sqlite_file(&live).unwrap();
    assert_eq!(purchases_in(&live_file, &all).await, all.len());

    // Restored elsewhere (a drill), then over that copy again: the replaced one is kept.
    let drill = backups.path().join("drill.db");
    succeeded(&ssn(
        &url_of(&drill),
        &["restore", "--input", output.to_str().unwrap()],
    ));
    assert_eq!(purchases_in(&drill, &before).await, before.len());
    let verified = succeeded(&ssn(&url_of(&drill), &["ledger", "verify"]));
    assert!(verified.contains("every invariant holds"), "{verified}");
    let replaced = succeeded(&ssn(
        &url_of(&drill),
        &["restore", "--input", output.to_str().unwrap()],
    ));
    assert!(replaced.contains("replaced-"), "{replaced}");
    // Not a backup: refused before anything is touched.
    let junk = backups.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(!ssn(
        &url_of(&drill),
        &["restore", "--input", junk.to_str().unwrap()]
    )
    .status
    .success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_halfway_leaves_no_file_that_looks_complete() {
    let app = spawn_app(Backend::Sqlite).await;
    let backups = tempfile::tempdir().unwrap();
    let output = backups.path().join("killed.db");
    let partial = backups.path().join("killed.db.partial");
    // One page a step and a long pause between: a backup of the demo takes minutes, and is
    // killed while it runs.
    let mut child = Command::new(SSN)
        .env_clear()
        .arg("--database-url")
        .arg(&app.database_url)
        .args(["backup", "--output", output.to_str().unwrap()])
        .args(["--pages-per-step", "1", "--pause-ms", "500"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !partial.exists() {
        assert!(std::time::Instant::now() < deadline, "no partial backup");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // A few steps in.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the backup is still running"
    );
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success());
    assert!(
        !output.exists(),
        "a killed backup has no complete-looking file"
    );
    // The next backup starts over and finishes.
    let made = ssn(
        &app.database_url,
        &["backup", "--output", output.to_str().unwrap()],
    );
    succeeded(&made);
    assert!(output.exists() && !partial.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_come_on_time_and_only_the_newest_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, move |serve| {
        serve.backup_dir = Some(backup_dir);
        serve.backup_every = std::time::Duration::from_secs(1);
        serve.backup_keep = 2;
    })
    .await;
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".db"))
            .collect();
        names.sort();
        names
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen = std::collections::BTreeSet::new();
    // Four backups made in turn, never more than two kept: a new one is renamed in before the
    // oldest is removed (so a failed backup never leaves fewer), so for a moment there are three.
    let mut settled_at_two = false;
    while seen.len() < 4 || !settled_at_two {
        assert!(std::time::Instant::now() < deadline, "seen {seen:?}");
        let now = names();
        assert!(now.len() <= 3, "{now:?}");
        settled_at_two |= seen.len() >= 3 && now.len() == 2;
        seen.extend(now);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let newest = names().pop().unwrap();
    let verified = succeeded(&ssn(
        &url_of(&dir.path().join(newest)),
        &["ledger", "verify"],
    ));
    assert!(verified.contains("every invariant holds"), "{verified}");
    drop(app);
}
