//! `ssn-bench backup`: how long a backup takes of a database holding a million purchases, and
//! how many purchases per second terminals complete over HTTP before and while it runs. SQLite:
//! `ssn backup` (one read transaction; WAL lets the writers go on). PostgreSQL: a throwaway
//! cluster archiving its WAL through `scripts/pg-backup archive-wal`, backed up with
//! `scripts/pg-backup base` (pg_basebackup) as an operator would run it.

use std::{
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use clap::Args;
use sqlx::Connection;

use crate::{
    dataset::{self, FreshDatabase},
    pg_cluster::Cluster,
    recon::{generate_purchases, insert_purchases},
    redeem::{serve_args, start_terminals, Watch},
};
use ssn::config::ServeArgs;

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Completed purchases of an earlier date in the database before the backup.
    #[arg(long, default_value_t = 1_000_000)]
    pub purchases: usize,
    /// Simulated terminals buying throughout.
    #[arg(long, default_value_t = 20)]
    pub terminals: usize,
    /// Households (cards) the purchases are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub households: usize,
    /// Seconds of purchases measured before the backup starts.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// A terminal's pause between purchases (0 to twice this, as in `redeem`).
    #[arg(long, default_value_t = 0)]
    pub think_ms: u64,
    /// The backup's pause between steps of 4,096 pages (`ssn backup --pause-ms`; SQLite only).
    #[arg(long, default_value_t = 0)]
    pub pause_ms: u64,
    /// `sqlite`, or `postgres` (a throwaway cluster of the Debian binaries with WAL archiving,
    /// backed up by `scripts/pg-backup base`).
    #[arg(long, default_value = "sqlite")]
    pub engine: String,
}

/// Where the backup is taken from, and how.
enum Source {
    Sqlite,
    Postgres { cluster: Cluster, repo: PathBuf },
}

/// What one backup wrote.
struct Written {
    seconds: f64,
    bytes: u64,
    what: String,
}

pub async fn run(args: BackupArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    match args.engine.as_str() {
        "sqlite" => {
            let database = FreshDatabase::create("sqlite", dir.path()).await?;
            measure(&args, &database, dir.path(), &Source::Sqlite).await
        }
        "postgres" => {
            eprintln!("bench: starting a PostgreSQL cluster that archives its WAL …");
            // The cluster's directory belongs to the server's user, which writes the archive.
            let cluster = Cluster::start_with(|path| {
                format!(
                    "-c max_connections=200 -c shared_buffers=256MB -c archive_mode=on \
                     -c archive_command='{PG_BACKUP} archive-wal --repo {} %p %f'",
                    path.join("repo").display()
                )
            })
            .await?;
            let repo = cluster.path().join("repo");
            let database = FreshDatabase::create(&cluster.url(), dir.path()).await?;
            let source = Source::Postgres { cluster, repo };
            measure(&args, &database, dir.path(), &source).await
        }
        other => anyhow::bail!("--engine is sqlite or postgres, not {other}"),
    }
}

const PG_BACKUP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-backup");

async fn measure(
    args: &BackupArgs,
    database: &FreshDatabase,
    dir: &Path,
    source: &Source,
) -> anyhow::Result<()> {
    let serve = ServeArgs {
        // No hold sweeper: it would only wait on the bulk insert.
        sweep_interval_seconds: 3600,
        ..serve_args()
    };
    let app = dataset::build_app(database, dir, 8, serve).await?;
    let state = app.state().clone();
    let base = format!("http://{}", app.address());
    let data = Arc::new(dataset::redeem_dataset(&state, args.terminals, args.households).await?);
    let terminals = state.store.days().terminal_owners().await?;
    let purchases = generate_purchases(args.purchases, terminals.len(), 7);
    eprintln!("bench: inserting {} completed purchases …", args.purchases);
    insert_purchases(
        &database.url,
        "2025-12-01",
        &terminals,
        data.program,
        &purchases,
    )
    .await?;
    drop(purchases);
    let size_mib = database_bytes(&database.url, source).await? as f64 / 1_048_576.0;

    let server = dataset::BackgroundServer::start(app);
    let watch: Arc<Watch> = Arc::default();
    let far = Instant::now() + Duration::from_secs(24 * 3600);
    let tasks = start_terminals(&base, &data, far, args.think_ms, watch.clone()).await?;
    // Warm up, then the rate without a backup.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (count_before, at_before) = (watch.done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let rate_before = (watch.done.load(Ordering::Relaxed) - count_before) as f64
        / at_before.elapsed().as_secs_f64();
    eprintln!("bench: backing up {size_mib:.0} MiB while the terminals buy …");
    let (count_start, at_start) = (watch.done.load(Ordering::Relaxed), Instant::now());
    let written = match source {
        Source::Sqlite => back_up_sqlite(args, &database.url, dir).await?,
        Source::Postgres { cluster, repo } => back_up_postgres(cluster, repo).await?,
    };
    let during = watch.done.load(Ordering::Relaxed) - count_start;
    let rate_during = during as f64 / at_start.elapsed().as_secs_f64();
    watch.stop.store(true, Ordering::Relaxed);
    let mut failed = 0;
    for task in tasks {
        failed += task.await?.failed;
    }
    server.stop().await;
    let Written {
        seconds,
        bytes,
        what,
    } = written;
    println!(
        "ssn-bench backup: {}, {} purchases in the database ({size_mib:.0} MiB), {} terminals, think {} ms, pause {} ms a step",
        args.engine, args.purchases, args.terminals, args.think_ms, args.pause_ms
    );
    println!(
        "  backup: {what}, {:.0} MiB written in {seconds:.2} s = {:.0} MiB/s of database",
        bytes as f64 / 1_048_576.0,
        size_mib / seconds
    );
    println!(
        "  purchases over HTTP: {rate_before:.0}/s before, {rate_during:.0}/s during the backup ({:.2}x); {failed} failed",
        rate_during / rate_before
    );
    Ok(())
}

/// The database's size on disk: the SQLite file, or `pg_database_size`.
async fn database_bytes(url: &str, source: &Source) -> anyhow::Result<u64> {
    match source {
        Source::Sqlite => Ok(std::fs::metadata(ssn::backup::sqlite_file(url)?)?.len()),
        Source::Postgres { .. } => {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut connection)
                .await?;
            Ok(u64::try_from(bytes)?)
        }
    }
}

/// `ssn backup`: SQLite's online backup, `quick_check` and fsync included.
async fn back_up_sqlite(args: &BackupArgs, url: &str, dir: &Path) -> anyhow::Result<Written> {
    let (from, to) = (ssn::backup::sqlite_file(url)?, dir.join("backup.db"));
    let pace = ssn::backup::BackupPace {
        pause: Duration::from_millis(args.pause_ms),
        ..ssn::backup::BackupPace::default()
    };
    let report =
        tokio::task::spawn_blocking(move || ssn::backup::backup(&from, &to, pace, |_, _| {}))
            .await??;
    Ok(Written {
        seconds: report.elapsed.as_secs_f64(),
        bytes: report.bytes,
        what: format!("ssn backup, {} pages", report.pages),
    })
}

/// `scripts/pg-backup base` as the server's user: pg_basebackup of the whole cluster, tar,
/// gzip, WAL streamed alongside, synced and renamed into the repository.
async fn back_up_postgres(cluster: &Cluster, repo: &Path) -> anyhow::Result<Written> {
    let started = Instant::now();
    let output = cluster
        .as_server_user(Path::new(PG_BACKUP))
        .args(["base", "--repo"])
        .arg(repo)
        .args(["--url", &cluster.url()])
        .output()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        output.status.success(),
        "pg-backup base failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let name = String::from_utf8(output.stdout)?.trim().to_string();
    let mut bytes = 0;
    for entry in std::fs::read_dir(repo.join("base").join(&name))? {
        bytes += entry?.metadata()?.len();
    }
    Ok(Written {
        seconds,
        bytes,
        what: "scripts/pg-backup base (pg_basebackup -Ft -z -X stream, whole cluster)".into(),
    })
}
