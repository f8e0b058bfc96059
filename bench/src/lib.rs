//! `ssn-bench`: measured figures for `docs/benchmarks.md`. Each benchmark runs the real service
//! (HTTP server, store, group commit) on a fresh database and, in the same run, the baseline the
//! figure is compared with, so the ratio is independent of how fast this particular machine is.

/// Runs `$body` with `$conn` bound to a connection of the URL's backend (`sqlx::Connection` in
/// scope), `$db` naming its sqlx database type.
macro_rules! with_connection {
    ($url:expr, |$conn:ident, $db:ident| $body:block) => {
        if $url.starts_with("sqlite:") {
            type $db = sqlx::Sqlite;
            let mut $conn = sqlx::SqliteConnection::connect($url).await?;
            $body
        } else {
            type $db = sqlx::Postgres;
            let mut $conn = sqlx::PgConnection::connect($url).await?;
            $body
        }
    };
}

pub mod backup;
pub mod dataset;
pub mod logins;
pub mod pg_cluster;
pub mod pg_crash;
pub mod pgbench;
pub mod quota;
pub mod recon;
pub mod redeem;
pub mod registry_import;
pub mod stats;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Concurrent terminals doing authorize (with PIN) + complete over HTTP, against the raw
    /// per-commit ceiling (SQLite) or pgbench TPC-B (PostgreSQL).
    Redeem(redeem::RedeemArgs),
    /// Upload and validate a generated quota file against a raw bulk insert of the same rows.
    Quota(quota::QuotaArgs),
    /// Import a generated registry of a million members (upload, check, approve) against a raw
    /// bulk insert of the same rows into the registry's tables.
    RegistryImport(registry_import::RegistryImportArgs),
    /// Reconcile a generated day of purchases against a bank file with planted exceptions, and
    /// time pandas doing the same merge.
    Recon(recon::ReconArgs),
    /// The server's resident memory before, during and after a burst of logins (argon2id).
    Logins(logins::LoginsArgs),
    /// `ssn backup` of a SQLite database of a million purchases while terminals buy: its time
    /// and the purchases per second before and during it.
    Backup(backup::BackupArgs),
    /// Purchases per second before and after PostgreSQL's postmaster is killed (SIGKILL) and
    /// restarted under load, on a throwaway durable cluster; then checks nothing answered was lost.
    PgCrash(pg_crash::PgCrashArgs),
}

/// Where the benchmark's fresh database lives.
#[derive(Debug, Clone, Args)]
pub struct BenchDatabase {
    /// `sqlite` for a new file in a temporary directory, or a PostgreSQL URL of a server the bench
    /// may create (and drop) a database on, e.g. postgres://postgres@127.0.0.1:5432/postgres.
    #[arg(long, env = "SSN_BENCH_DATABASE", default_value = "sqlite")]
    pub bench_database: String,
}

/// The `ssn` binary next to this one (`cargo build --release --workspace` builds both), for the
/// benchmarks that run the server as a process of its own.
pub fn ssn_binary() -> anyhow::Result<std::path::PathBuf> {
    let here = std::env::current_exe()?;
    let ssn = here.with_file_name(format!("ssn{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        ssn.is_file(),
        "{} not found: build it with `cargo build --release --workspace`",
        ssn.display()
    );
    Ok(ssn)
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Redeem(args) => redeem::run(args).await,
        BenchCommand::Backup(args) => backup::run(args).await,
        BenchCommand::Quota(args) => quota::run(args).await,
        BenchCommand::Recon(args) => recon::run(args).await,
        BenchCommand::RegistryImport(args) => registry_import::run(args).await,
        BenchCommand::Logins(args) => logins::run(args).await,
        BenchCommand::PgCrash(args) => pg_crash::run(args).await,
    }
}
