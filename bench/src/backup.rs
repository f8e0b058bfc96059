//! `ssn-bench backup`: how long `ssn backup` takes on a SQLite database holding a million
//! purchases, and how many purchases per second terminals complete over HTTP before and while it
//! runs (the backup is one read transaction; WAL lets the writers go on).

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use clap::Args;

use crate::{
    dataset::{self, FreshDatabase},
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
    /// The backup's pause between steps of 4,096 pages (`ssn backup --pause-ms`).
    #[arg(long, default_value_t = 0)]
    pub pause_ms: u64,
}

pub async fn run(args: BackupArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = FreshDatabase::create("sqlite", dir.path()).await?;
    measure(&args, &database, dir.path()).await
}

async fn measure(
    args: &BackupArgs,
    database: &FreshDatabase,
    dir: &std::path::Path,
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
    let source = ssn::backup::sqlite_file(&database.url)?;
    let size_mib = std::fs::metadata(&source)?.len() as f64 / 1_048_576.0;

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
    let output = dir.join("backup.db");
    let (count_start, at_start) = (watch.done.load(Ordering::Relaxed), Instant::now());
    let (from, to) = (source.clone(), output.clone());
    let pace = ssn::backup::BackupPace {
        pause: Duration::from_millis(args.pause_ms),
        ..ssn::backup::BackupPace::default()
    };
    let report =
        tokio::task::spawn_blocking(move || ssn::backup::backup(&from, &to, pace, |_, _| {}))
            .await??;
    let during = watch.done.load(Ordering::Relaxed) - count_start;
    let rate_during = during as f64 / at_start.elapsed().as_secs_f64();
    watch.stop.store(true, Ordering::Relaxed);
    let mut failed = 0;
    for task in tasks {
        failed += task.await?.failed;
    }
    server.stop().await;
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "ssn-bench backup: SQLite, {} purchases in the database ({size_mib:.0} MiB), {} terminals, think {} ms, pause {} ms a step",
        args.purchases, args.terminals, args.think_ms, args.pause_ms
    );
    println!(
        "  backup: {} pages, {:.0} MiB in {seconds:.2} s = {:.0} MiB/s (quick_check and sync included)",
        report.pages,
        report.bytes as f64 / 1_048_576.0,
        report.bytes as f64 / 1_048_576.0 / seconds
    );
    println!(
        "  purchases over HTTP: {rate_before:.0}/s before, {rate_during:.0}/s during the backup ({:.2}x); {failed} failed",
        rate_during / rate_before
    );
    Ok(())
}
