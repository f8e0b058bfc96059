//! `ssn-bench registry-import`: a generated registry of a million members (a quarter of a million
//! households of four) uploaded (streamed) through the HTTP API, checked, and approved by a
//! second office user, against a raw bulk insert of the same rows straight into the registry's
//! own tables (households and members, with their indexes) in a fresh database of the same
//! engine, in the same run. Peak memory is the process's high-water mark (server and client share
//! it), reset just before the upload and read after the approval.

use std::{
    collections::HashMap,
    io::{BufRead, Write},
    path::Path,
    time::{Duration, Instant},
};

use clap::Args;
use futures_util::TryStreamExt;
use sqlx::Connection;

use crate::{
    dataset::{self, login, office_user, FreshDatabase, OFFICE_PASSWORD},
    stats, BenchDatabase,
};

#[derive(Debug, Clone, Args)]
pub struct RegistryImportArgs {
    #[command(flatten)]
    pub database: BenchDatabase,
    /// Households in the generated file, four members each.
    #[arg(long, default_value_t = 250_000)]
    pub households: usize,
}

const MEMBERS_PER_HOUSEHOLD: usize = 4;
/// Rows per statement in the baseline's inserts (the same as the import's staging).
const ROWS_PER_STATEMENT: usize = 1_000;
const HEADER: &str = "kk_number,nik,name,relation,sex,birth_date,street,rt,rw,kelurahan,kecamatan";

pub async fn run(args: RegistryImportArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let baseline_dir = tempfile::tempdir()?;
    let database = FreshDatabase::create(&args.database.bench_database, dir.path()).await?;
    let baseline =
        FreshDatabase::create(&args.database.bench_database, baseline_dir.path()).await?;
    let outcome = measure(&args, &database, &baseline, dir.path()).await;
    database.drop_database().await;
    baseline.drop_database().await;
    outcome
}

async fn measure(
    args: &RegistryImportArgs,
    database: &FreshDatabase,
    baseline: &FreshDatabase,
    dir: &Path,
) -> anyhow::Result<()> {
    let file = dir.join("registry.csv");
    let rows = write_file(&file, args.households)?;
    let size_mib = std::fs::metadata(&file)?.len() as f64 / 1_048_576.0;

    // The baseline first, on its own fresh database with the service's schema.
    eprintln!("bench: raw bulk insert of the same rows into households and members …");
    let common = ssn::config::CommonArgs {
        database_url: Some(baseline.url.clone()),
        ..Default::default()
    };
    drop(ssn::store::open(&baseline.url, &common.connect_options()).await?);
    let raw = raw_bulk_insert(&baseline.url, &file).await?;

    let serve = ssn::config::ServeArgs {
        request_timeout_seconds: 600,
        ..Default::default()
    };
    let app = dataset::build_app(database, dir, 8, serve).await?;
    let state = app.state().clone();
    let base = format!("http://{}", app.address());
    state.store.create_user(office_user("bench-maker")).await?;
    state
        .store
        .create_user(office_user("bench-checker"))
        .await?;
    let server = dataset::BackgroundServer::start(app);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3_600))
        .build()?;
    let maker = login(&http, &base, "bench-maker", OFFICE_PASSWORD).await?;
    let checker = login(&http, &base, "bench-checker", OFFICE_PASSWORD).await?;

    let rss_before = stats::rss_mib().unwrap_or(0.0);
    stats::reset_peak_rss();
    eprintln!(
        "bench: uploading {size_mib:.1} MiB ({rows} rows) through POST /v1/registry-imports …"
    );
    let started = Instant::now();
    let handle = tokio::fs::File::open(&file).await?;
    let body = reqwest::Body::wrap_stream(
        tokio_util::io::ReaderStream::with_capacity(handle, 256 * 1024).map_ok(|b| b),
    );
    let report: serde_json::Value = http
        .post(format!("{base}/v1/registry-imports?source_name=bench.csv"))
        .bearer_auth(&maker)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    let upload = started.elapsed();
    anyhow::ensure!(
        report["status"] == "validated" && report["error_count"] == 0,
        "the bench import did not validate cleanly: {report}"
    );
    let id = report["id"].as_str().unwrap_or_default().to_string();
    eprintln!("bench: approving the import …");
    let started = Instant::now();
    let approved: serde_json::Value = http
        .post(format!("{base}/v1/registry-imports/{id}/approve"))
        .bearer_auth(&checker)
        .send()
        .await?
        .json()
        .await?;
    let approve = started.elapsed();
    let peak = stats::peak_rss_mib().unwrap_or(0.0);
    anyhow::ensure!(
        approved["households_new"] == args.households && approved["members_new"] == rows,
        "the bench import did not write every household: {approved}"
    );
    server.stop().await;

    let backend = state.store.backend();
    let total = upload + approve;
    println!(
        "ssn-bench registry-import: {backend}, {} households, {rows} members ({size_mib:.1} MiB)",
        args.households
    );
    println!(
        "  upload + check over HTTP: {:.2} s; approve (write households, members, revisions): {:.2} s; together {:.2} s",
        upload.as_secs_f64(),
        approve.as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "  raw bulk insert of the same rows into households and members: {:.2} s",
        raw.as_secs_f64()
    );
    println!(
        "  ratio import / raw: {:.2}x",
        total.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "  memory: {rss_before:.0} MiB resident before the upload, peak {peak:.0} MiB until approved"
    );
    Ok(())
}

/// The member at `index`: a NIK whose digits 7-12 carry the birth date (40 added to the day for
/// women), unique over a million members (9,000 birth dates × the serial in the last 4 digits).
struct Member {
    nik: String,
    sex: &'static str,
    birth_date: String,
}

fn member(index: usize, female: bool) -> Member {
    let born = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("a date")
        + chrono::Days::new((index % 9_000) as u64);
    let serial = index / 9_000;
    use chrono::Datelike;
    let day = born.day() + if female { 40 } else { 0 };
    Member {
        nik: format!(
            "647201{day:02}{:02}{:02}{serial:04}",
            born.month(),
            born.year() % 100
        ),
        sex: if female { "female" } else { "male" },
        birth_date: born.format("%Y-%m-%d").to_string(),
    }
}

/// Writes the registry file; answers its rows.
fn write_file(path: &Path, households: usize) -> anyhow::Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{HEADER}")?;
    let relations = [
        ("head", false),
        ("spouse", true),
        ("child", true),
        ("child", false),
    ];
    for household in 0..households {
        let kk = format!("97{household:014}");
        let street = format!("Jl. Bench {}", household % 500);
        let kelurahan = format!("Kelurahan {}", household % 59);
        for (slot, (relation, female)) in relations.iter().enumerate() {
            let person = member(household * MEMBERS_PER_HOUSEHOLD + slot, *female);
            writeln!(
                out,
                "{kk},{},Anggota {household}-{slot},{relation},{},{},{street},{:03},{:03},{kelurahan},Kecamatan {}",
                person.nik,
                person.sex,
                person.birth_date,
                household % 30 + 1,
                household % 12 + 1,
                household % 10
            )?;
        }
    }
    out.flush()?;
    Ok(households * MEMBERS_PER_HOUSEHOLD)
}

/// The baseline: the file's rows straight into `households` (the head rows) and
/// `household_members` (every row), many rows per statement, in one transaction, with no check,
/// staging or revision. On SQLite the connection pays the service's durability (WAL,
/// `synchronous=FULL`). The clock starts before the file is read.
async fn raw_bulk_insert(url: &str, file: &Path) -> anyhow::Result<Duration> {
    with_connection!(url, |conn, Db| {
        if url.starts_with("sqlite:") {
            for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"] {
                sqlx::query(pragma).execute(&mut conn).await?;
            }
        }
        let started = Instant::now();
        let now = ssn::store::now();
        let mut tx = conn.begin().await?;
        let reader = std::io::BufReader::new(std::fs::File::open(file)?);
        let mut households: HashMap<String, uuid::Uuid> = HashMap::new();
        let mut batch: Vec<Vec<String>> = Vec::with_capacity(ROWS_PER_STATEMENT);
        let mut lines = reader.lines().skip(1).peekable();
        while let Some(line) = lines.next() {
            batch.push(line?.split(',').map(str::to_string).collect());
            if batch.len() < ROWS_PER_STATEMENT && lines.peek().is_some() {
                continue;
            }
            let heads: Vec<&Vec<String>> = batch.iter().filter(|f| f[3] == "head").collect();
            if !heads.is_empty() {
                let mut insert = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO households (id, kk_number, head_nik, head_name, street, rt, rw,
                         kelurahan, kecamatan, status, revision, created_at, updated_at) ",
                );
                insert.push_values(&heads, |mut row, fields| {
                    let id = *households
                        .entry(fields[0].clone())
                        .or_insert_with(uuid::Uuid::now_v7);
                    row.push_bind(id)
                        .push_bind(fields[0].clone())
                        .push_bind(fields[1].clone())
                        .push_bind(fields[2].clone())
                        .push_bind(fields[6].clone())
                        .push_bind(fields[7].clone())
                        .push_bind(fields[8].clone())
                        .push_bind(fields[9].clone())
                        .push_bind(fields[10].clone())
                        .push_bind("active")
                        .push_bind(1_i32)
                        .push_bind(now)
                        .push_bind(now);
                });
                insert.build().execute(&mut *tx).await?;
            }
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO household_members (id, household_id, nik, name, relation, sex,
                     birth_date, created_at, updated_at) ",
            );
            insert.push_values(&batch, |mut row, fields| {
                let household = *households
                    .entry(fields[0].clone())
                    .or_insert_with(uuid::Uuid::now_v7);
                row.push_bind(uuid::Uuid::now_v7())
                    .push_bind(household)
                    .push_bind(fields[1].clone())
                    .push_bind(fields[2].clone())
                    .push_bind(fields[3].clone())
                    .push_bind(fields[4].clone())
                    .push_bind(fields[5].clone())
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(&mut *tx).await?;
            batch.clear();
        }
        tx.commit().await?;
        Ok(started.elapsed())
    })
}
