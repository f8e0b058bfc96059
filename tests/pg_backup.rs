//! The PostgreSQL restore drill, short form: a cluster of its own with WAL archiving through
//! `scripts/pg-backup`, `ssn serve` taking purchases on it, a base backup taken while it serves,
//! more purchases, a moment noted, one more purchase; then `scripts/pg-backup restore` to that
//! moment into a new data directory, started by PostgreSQL itself: every purchase acknowledged
//! before the moment is there, the one after is not, and `ssn ledger verify` passes on it.

#[path = "common/mod.rs"]
mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::process::*;
use sqlx::Connection;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-backup");

fn pg_bin() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .find(|bin| bin.join("pg_basebackup").exists());
    found.expect("PostgreSQL's binaries (scripts/test installs postgresql-15)")
}

/// A command run as the user PostgreSQL runs as: `postgres` when the tests run as root (the
/// server refuses root), else the current user.
fn as_server_user(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if nix_is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn nix_is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn checked(command: &mut Command) -> String {
    let out = command.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed: {text}");
    text
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server on `data`, stopped (immediately) when dropped.
struct Cluster {
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(data: &Path, socket_dir: &Path, options: &[String]) -> Cluster {
        let port = free_port();
        let mut settings = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            socket_dir.display()
        );
        for option in options {
            settings.push_str(&format!(" -c {option}"));
        }
        let log = socket_dir.join(format!("server-{port}.log"));
        let started = as_server_user(pg_bin().join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "120", "-o", &settings, "start"])
            .output()
            .unwrap();
        assert!(
            started.status.success(),
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Cluster {
            data: data.to_path_buf(),
            port,
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(pg_bin().join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

async fn buy(http: &reqwest::Client, base: &str, token: &str, stan: &str) {
    for (path, body) in [
        (
            "/v1/redemptions/authorize",
            common::purchase("SMD00001", stan, common::DEMO_PANS[0], 1, "13500"),
        ),
        (
            "/v1/redemptions/complete",
            common::original("SMD00001", stan),
        ),
    ] {
        let reply: serde_json::Value = http
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply["response_code"], "00", "{path}: {reply}");
    }
}

async fn completed(url: &str) -> i64 {
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM redemptions WHERE state = 'completed'")
            .fetch_one(&mut connection)
            .await
            .unwrap();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_backup_and_the_wal_archive_restore_to_a_moment() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    if nix_is_root() {
        checked(Command::new("chown").args(["-R", "postgres"]).arg(root));
    }
    let repo = root.join("repo");
    let data = root.join("data");
    checked(
        as_server_user(pg_bin().join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]),
    );
    let archive = format!(
        "archive_command='{SCRIPT} archive-wal --repo {} %p %f'",
        repo.display()
    );
    let primary = Cluster::start(
        &data,
        root,
        &[
            "wal_level=replica".into(),
            "archive_mode=on".into(),
            archive,
        ],
    );

    let app_dir = root.join("app");
    std::fs::create_dir(&app_dir).unwrap();
    let server = ServerProcess::start(&app_dir, &primary.url(), &[]);
    let http = reqwest::Client::new();
    let token = login(&http, &server.base, "warung-berkah", "demo-operator-pass").await;
    for stan in ["000001", "000002", "000003"] {
        buy(&http, &server.base, &token, stan).await;
    }

    // The base backup, while the service runs.
    let name = checked(
        as_server_user(SCRIPT)
            .args(["base", "--repo"])
            .arg(&repo)
            .args(["--url", &primary.url()]),
    );
    assert!(name.contains("done:"), "{name}");
    for stan in ["000004", "000005"] {
        buy(&http, &server.base, &token, stan).await;
    }
    // The moment to restore to: after purchase 5 was acknowledged, before purchase 6.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let moment = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    buy(&http, &server.base, &token, "000006").await;
    assert_eq!(completed(&primary.url()).await, 6);

    // Close the segment holding purchase 6's commit and wait until the archive has it.
    let mut connection = sqlx::PgConnection::connect(&primary.url()).await.unwrap();
    let (segment,): (String,) = sqlx::query_as("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    for _ in 0..600 {
        if repo.join("wal").join(&segment).exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        repo.join("wal").join(&segment).exists(),
        "{segment} was not archived"
    );
    drop(server);
    let listed = checked(as_server_user(SCRIPT).args(["list", "--repo"]).arg(&repo));
    assert!(listed.contains("WAL archive:"), "{listed}");

    // Restore to the moment, into a new directory; PostgreSQL recovers it on its first start
    // (archiving off: a drill must not write into the live archive).
    let restored = root.join("restored");
    let target = moment.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    checked(
        as_server_user(SCRIPT)
            .args(["restore", "--repo"])
            .arg(&repo)
            .arg("--pgdata")
            .arg(&restored)
            .args(["--target-time", &target]),
    );
    let drill = Cluster::start(&restored, root, &["archive_mode=off".into()]);
    assert_eq!(
        completed(&drill.url()).await,
        5,
        "every purchase before the moment, none after"
    );
    let verified = ssn_command(&app_dir, &drill.url())
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );

    // A restore never writes into a directory that holds something.
    let refused = as_server_user(SCRIPT)
        .args(["restore", "--repo"])
        .arg(&repo)
        .arg("--pgdata")
        .arg(&restored)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
}
