//! The PostgreSQL baseline: pgbench's TPC-B-like transaction on the same server, on a database of
//! its own, so `ssn-bench redeem` can state its throughput as a fraction of what the server does
//! for a standard write transaction.

use std::path::PathBuf;

use anyhow::Context;
use sqlx::Connection;

/// Finds pgbench on PATH or in Debian's PostgreSQL directories.
fn pgbench_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("pgbench");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pgbench"))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
        .pop()
        .context("pgbench not found (install postgresql-15 or postgresql-contrib)")
}

/// Runs TPC-B at scale 10 with `clients` clients for `seconds` against a fresh database next to
/// `url`'s; returns transactions per second.
pub async fn tpc_b(url: &str, clients: u32, seconds: u64) -> anyhow::Result<f64> {
    let binary = pgbench_binary()?;
    let name = format!("ssn_pgbench_{}", uuid::Uuid::new_v4().simple());
    let (prefix, _) = url
        .rsplit_once('/')
        .context("the URL needs a database name")?;
    let mut admin = sqlx::PgConnection::connect(url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let target = format!("{prefix}/{name}");
    let result = async {
        let init = tokio::process::Command::new(&binary)
            .args(["-i", "-s", "10", "-q", &target])
            .output()
            .await?;
        anyhow::ensure!(
            init.status.success(),
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let threads = clients.min(2).to_string();
        let run = tokio::process::Command::new(&binary)
            .args([
                "-c",
                &clients.to_string(),
                "-j",
                &threads,
                "-T",
                &seconds.to_string(),
                &target,
            ])
            .output()
            .await?;
        anyhow::ensure!(
            run.status.success(),
            "pgbench failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let text = String::from_utf8_lossy(&run.stdout);
        text.lines()
            .find_map(|line| line.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<f64>().ok())
            .with_context(|| format!("no tps in pgbench's output: {text}"))
    }
    .await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    result
}
