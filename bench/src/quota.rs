//! `ssn-bench quota`: a generated quota file of a million rows uploaded (streamed) and validated
//! through the HTTP API, against a raw bulk insert of the same rows into a plain table in the same
//! run; posting the batch is timed too. Peak memory is the process's high-water mark, reset just
//! before the upload, so it shows what the upload itself needed.

use std::{
    io::{BufRead, Write},
    path::Path,
    time::{Duration, Instant},
};

use clap::Args;
use futures_util::TryStreamExt;
use sqlx::Connection;

use ssn::store::NewProgram;

use crate::{
    dataset::{self, login, office_user, FreshDatabase, OFFICE_PASSWORD},
    stats, BenchDatabase,
};

#[derive(Debug, Clone, Args)]
pub struct QuotaArgs {
    #[command(flatten)]
    pub database: BenchDatabase,
    /// Rows in the generated file (one household each).
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Order of the file's rows: `registered` lists households in the order they were registered
    /// (the lookups walk the KK index front to back, the best case); `shuffled` in a fixed
    /// pseudo-random order (every lookup lands on a cold page, the worst case).
    #[arg(long, value_enum, default_value_t = FileOrder::Registered)]
    pub file_order: FileOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileOrder {
    Registered,
    Shuffled,
}

/// Rows per statement when inserting in bulk (the same as the stager uses).
const ROWS_PER_STATEMENT: usize = 1_000;

pub async fn run(args: QuotaArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = FreshDatabase::create(&args.database.bench_database, dir.path()).await?;
    let outcome = measure(&args, &database, dir.path()).await;
    database.drop_database().await;
    outcome
}

async fn measure(args: &QuotaArgs, database: &FreshDatabase, dir: &Path) -> anyhow::Result<()> {
    let serve = ssn::config::ServeArgs {
        request_timeout_seconds: 600,
        ..Default::default()
    };
    let app = dataset::build_app(database, dir, 8, serve).await?;
    let state = app.state().clone();
    let base = format!("http://{}", app.address());
    let store = state.store.as_ref();
    let maker = store.create_user(office_user("bench-maker")).await?.id;
    store.create_user(office_user("bench-checker")).await?;
    store
        .create_program(
            NewProgram {
                code: "BENCH".into(),
                name: "Benchmark program".into(),
                default_monthly_amount_minor: 200_000 * 100,
                carry_over_months: 3,
            },
            maker,
        )
        .await?;
    eprintln!("bench: registering {} households …", args.rows);
    register_households(&database.url, args.rows).await?;
    let file = dir.join("quota.csv");
    write_file(&file, args.rows, args.file_order)?;
    let size_mib = std::fs::metadata(&file)?.len() as f64 / 1_048_576.0;

    // The baseline runs first, on a quiet database: run after the approval, it would pay for
    // checkpointing the approval's write-ahead log and look slower than it is.
    eprintln!("bench: raw bulk insert of the same rows …");
    let raw = raw_bulk_insert(&database.url, &file).await?;

    let server = dataset::BackgroundServer::start(app);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3_600))
        .build()?;
    let maker_token = login(&http, &base, "bench-maker", OFFICE_PASSWORD).await?;
    let checker_token = login(&http, &base, "bench-checker", OFFICE_PASSWORD).await?;

    let rss_before = stats::rss_mib().unwrap_or(0.0);
    stats::reset_peak_rss();
    eprintln!(
        "bench: uploading {size_mib:.1} MiB ({} rows) through POST /v1/quota/batches …",
        args.rows
    );
    let started = Instant::now();
    let handle = tokio::fs::File::open(&file).await?;
    let body = reqwest::Body::wrap_stream(
        tokio_util::io::ReaderStream::with_capacity(handle, 256 * 1024).map_ok(|b| b),
    );
    let report: serde_json::Value = http
        .post(format!("{base}/v1/quota/batches?source_name=bench.csv"))
        .bearer_auth(&maker_token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    let load = started.elapsed();
    let peak = stats::peak_rss_mib().unwrap_or(0.0);
    anyhow::ensure!(
        report["batch"]["status"] == "validated",
        "the bench batch did not validate: {report}"
    );
    let batch = report["batch"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    eprintln!("bench: approving (posting) the batch …");
    let started = Instant::now();
    let posted: serde_json::Value = http
        .post(format!("{base}/v1/quota/batches/{batch}/approve"))
        .bearer_auth(&checker_token)
        .send()
        .await?
        .json()
        .await?;
    let post = started.elapsed();
    anyhow::ensure!(
        posted["batch"]["status"] == "posted",
        "the bench batch did not post: {posted}"
    );
    server.stop().await;

    let backend = state.store.backend();
    let rows = args.rows as f64;
    println!(
        "ssn-bench quota: {backend}, {} rows ({size_mib:.1} MiB), households in {} order",
        args.rows,
        match args.file_order {
            FileOrder::Registered => "registration",
            FileOrder::Shuffled => "shuffled",
        }
    );
    println!(
        "  upload + validate over HTTP: {:.2} s ({:.0} rows/s)",
        load.as_secs_f64(),
        rows / load.as_secs_f64()
    );
    println!(
        "  raw bulk insert of the same rows: {:.2} s ({:.0} rows/s)",
        raw.as_secs_f64(),
        rows / raw.as_secs_f64()
    );
    println!(
        "  ratio upload / raw: {:.2}x",
        load.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "  approve (post {} credits, atomically): {:.2} s",
        args.rows,
        post.as_secs_f64()
    );
    println!(
        "  memory: {rss_before:.0} MiB resident before the upload, peak {peak:.0} MiB during it"
    );
    Ok(())
}

fn kk(index: usize) -> String {
    format!("98{index:014}")
}

fn write_file(path: &Path, rows: usize, order: FileOrder) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "period,program_code,kk_number,amount_idr")?;
    // `index * step mod rows` visits every index once when `step` and `rows` share no factor.
    let step = match order {
        FileOrder::Registered => 1,
        FileOrder::Shuffled => (7_919_993..)
            .find(|step| gcd(*step, rows.max(1)) == 1)
            .unwrap_or(1),
    };
    for index in 0..rows {
        let household = (index as u128 * step as u128 % rows as u128) as usize;
        writeln!(out, "2026-11,BENCH,{},200000", kk(household))?;
    }
    out.flush()?;
    Ok(())
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Bench setup only: households straight into the table, many per statement.
async fn register_households(url: &str, rows: usize) -> anyhow::Result<()> {
    with_connection!(url, |conn, Db| {
        let now = ssn::store::now();
        let mut tx = conn.begin().await?;
        for start in (0..rows).step_by(ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO households (id, kk_number, head_nik, head_name, street, rt, rw, kelurahan,
                                         kecamatan, status, revision, created_at, updated_at) ",
            );
            insert.push_values(
                start..(start + ROWS_PER_STATEMENT).min(rows),
                |mut row, index| {
                    row.push_bind(ssn::domain::ids::HouseholdId::new())
                        .push_bind(kk(index))
                        .push_bind(kk(index))
                        .push_bind("Bench household")
                        .push_bind("Jl. Benchmark 1")
                        .push_bind("001")
                        .push_bind("001")
                        .push_bind("Air Putih")
                        .push_bind("Samarinda Ulu")
                        .push_bind("active")
                        .push_bind(1_i32)
                        .push_bind(now)
                        .push_bind(now);
                },
            );
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// The baseline: read the same file and insert its rows into a plain table, in one transaction,
/// many rows per statement. On SQLite the connection is set up as the service's are (WAL,
/// `synchronous=FULL`, checkpoints left to the service's checkpointer), so the two pay the same
/// durability. The clock starts after the table is created.
async fn raw_bulk_insert(url: &str, file: &Path) -> anyhow::Result<Duration> {
    with_connection!(url, |conn, Db| {
        if url.starts_with("sqlite:") {
            for pragma in ["PRAGMA synchronous = FULL", "PRAGMA wal_autocheckpoint = 0"] {
                sqlx::query(pragma).execute(&mut conn).await?;
            }
        }
        sqlx::query(
            "CREATE TABLE bench_raw_quota (line_no BIGINT NOT NULL, period TEXT NOT NULL, program_code TEXT NOT NULL,
                                           kk_number TEXT NOT NULL, amount_idr TEXT NOT NULL)",
        )
        .execute(&mut conn)
        .await?;
        let started = Instant::now();
        let mut tx = conn.begin().await?;
        let reader = std::io::BufReader::new(std::fs::File::open(file)?);
        let mut batch: Vec<(i64, String)> = Vec::with_capacity(ROWS_PER_STATEMENT);
        let mut lines = reader.lines().enumerate().skip(1).peekable();
        while let Some((index, line)) = lines.next() {
            batch.push((index as i64 + 1, line?));
            if batch.len() == ROWS_PER_STATEMENT || lines.peek().is_none() {
                let mut insert = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO bench_raw_quota (line_no, period, program_code, kk_number, amount_idr) ",
                );
                insert.push_values(&batch, |mut row, (line_no, line)| {
                    let mut fields = line.split(',');
                    row.push_bind(*line_no);
                    for _ in 0..4 {
                        row.push_bind(fields.next().unwrap_or_default().to_string());
                    }
                });
                insert.build().execute(&mut *tx).await?;
                batch.clear();
            }
        }
        tx.commit().await?;
        Ok(started.elapsed())
    })
}
