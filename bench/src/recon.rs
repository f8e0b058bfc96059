//! `ssn-bench recon`: a business date of generated completed purchases (a million by default)
//! and a bank file of as many lines with planted exceptions of every category, reconciled through
//! the HTTP API (streamed upload, matching, recording); in the same run, the reference a bank
//! analyst would otherwise use: pandas reading the host's export and the bank's file and merging
//! them (on RRN, then on terminal + STAN + amount for what is left). pandas is installed with pip
//! when missing. Peak memory is each side's own high-water mark.

use std::{
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use clap::Args;
use rand::{rngs::StdRng, Rng, SeedableRng};
use sqlx::Connection;

use crate::{
    dataset::{self, login, FreshDatabase},
    stats, BenchDatabase,
};

#[derive(Debug, Clone, Args)]
pub struct ReconArgs {
    #[command(flatten)]
    pub database: BenchDatabase,
    /// Completed purchases on the host for the day (the bank file has about as many lines).
    #[arg(long, default_value_t = 1_000_000)]
    pub purchases: usize,
    /// Python interpreter for the pandas reference.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

const ROWS_PER_STATEMENT: usize = 500;

/// What a real approval stores with the request (the answer replayed byte for byte), so that the
/// table is as wide as in production.
const STORED_ANSWER: &str = r#"{"response_code":"00","approved":true,"message":{"id":"Disetujui","en":"Approved"},"terminal_id":"SMD00001","stan":"000123","local_date":"2026-11-23","card":"************4346","rrn":"000000123456","approval_code":"A1B2C3","amount":"67500.00","balance":"132500.00","program_code":"SSN-SEMBAKO","receipt":[{"sku":"BERAS-MEDIUM","name":"Beras medium","unit":"kg","quantity":5,"unit_price":"13500.00","amount":"67500.00"}],"state":"held"}"#;

/// Planted exceptions, one in `EVERY` purchases each.
const EVERY: usize = 1_000;

pub async fn run(args: ReconArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = FreshDatabase::create(&args.database.bench_database, dir.path()).await?;
    let outcome = measure(&args, &database, dir.path()).await;
    database.drop_database().await;
    outcome
}

/// One generated purchase.
pub(crate) struct Purchase {
    pub terminal: usize,
    pub stan: u32,
    pub rrn: u64,
    pub amount_minor: i64,
}

async fn measure(args: &ReconArgs, database: &FreshDatabase, dir: &Path) -> anyhow::Result<()> {
    let serve = ssn::config::ServeArgs {
        demo: true,
        request_timeout_seconds: 3600,
        // No hold sweeper: it would only wait on the bulk insert of the day.
        sweep_interval_seconds: 3600,
        ..Default::default()
    };
    let app = dataset::build_app(database, dir, 8, serve).await?;
    let state = app.state().clone();
    let base = format!("http://{}", app.address());
    let date = state.store.days().open_business_date().await?;
    let terminals: Vec<(String, ssn::domain::ids::EwarungId)> =
        state.store.days().terminal_owners().await?;
    let program = state
        .store
        .list_programs()
        .await?
        .first()
        .map(|p| p.id)
        .ok_or_else(|| anyhow::anyhow!("the demo has a program"))?;

    let purchases = generate_purchases(args.purchases, terminals.len(), 42);
    eprintln!(
        "bench: inserting {} completed purchases for {date} …",
        args.purchases
    );
    insert_purchases(&database.url, &date, &terminals, program, &purchases).await?;
    let bank = state.store.find_user_by_username("kaltimtara").await?;
    let bank = bank.ok_or_else(|| anyhow::anyhow!("the demo has a bank user"))?;
    state
        .store
        .days()
        .close_day(
            ssn::business_day::parse_date(&date).expect("a date"),
            bank.id,
        )
        .await?;

    let bank_file = dir.join("bank.csv");
    let host_file = dir.join("host.csv");
    let planted = write_files(&bank_file, &host_file, &date, &terminals, &purchases)?;
    drop(purchases);
    let size_mib = std::fs::metadata(&bank_file)?.len() as f64 / 1_048_576.0;

    let server = dataset::BackgroundServer::start(app);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3_600))
        .build()?;
    let token = login(&http, &base, "kaltimtara", "demo-bank-pass").await?;
    eprintln!("bench: reconciling {} …", bank_file.display());
    let rss_before = stats::rss_mib().unwrap_or(0.0);
    stats::reset_peak_rss();
    let started = Instant::now();
    let body = tokio::fs::File::open(&bank_file).await?;
    let response = http
        .post(format!("{base}/v1/recon/runs"))
        .query(&[("date", date.as_str()), ("file_name", "bank.csv")])
        .bearer_auth(&token)
        .header(reqwest::header::CONTENT_TYPE, "text/csv")
        .body(reqwest::Body::wrap_stream(
            tokio_util::io::ReaderStream::with_capacity(body, 256 * 1024),
        ))
        .send()
        .await?;
    let status = response.status();
    let run: serde_json::Value = response.json().await?;
    let ours = started.elapsed();
    let peak = stats::peak_rss_mib().unwrap_or(0.0);
    anyhow::ensure!(status.is_success(), "the run failed: {run}");
    server.stop().await;

    let categories = &run["report"]["categories"];
    let count = |name: &str| categories[name]["count"].as_i64().unwrap_or(-1);
    eprintln!("bench: pandas reference …");
    let pandas = run_pandas(&args.python, dir, &bank_file, &host_file)?;

    println!(
        "ssn-bench recon ({}, {} host purchases, bank file {} lines, {size_mib:.1} MiB)",
        if database.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        args.purchases,
        run["report"]["bank_lines"]
    );
    println!(
        "  planted: {} amount mismatches, {} host-only, {} bank-only, {} duplicates, {} malformed, {} with no RRN",
        planted.mismatch, planted.host_only, planted.bank_only, planted.duplicate, planted.malformed, planted.no_rrn
    );
    println!(
        "  found:   matched {}, amount_mismatch {}, host_only {}, bank_only {}, duplicate {}, malformed {}",
        count("matched"),
        count("amount_mismatch"),
        count("host_only"),
        count("bank_only"),
        count("duplicate"),
        count("malformed")
    );
    println!(
        "  ssn (HTTP upload, match, record): {:.2} s, peak {peak:.0} MiB (process, {rss_before:.0} MiB before)",
        ours.as_secs_f64()
    );
    println!(
        "  pandas {} (read both, merge on RRN then terminal+STAN+amount): {:.2} s, peak {:.0} MiB",
        pandas.version, pandas.seconds, pandas.peak_mib
    );
    println!(
        "  ratio: {:.2}x faster; memory {:.2}x of pandas'",
        pandas.seconds / ours.as_secs_f64(),
        peak / pandas.peak_mib
    );
    let expected_ok = count("amount_mismatch") == planted.mismatch as i64
        && count("host_only") == planted.host_only as i64
        && count("bank_only") == planted.bank_only as i64
        && count("duplicate") == planted.duplicate as i64
        && count("malformed") == planted.malformed as i64;
    anyhow::ensure!(
        expected_ok,
        "the run did not find exactly what was planted: {categories}"
    );
    Ok(())
}

#[derive(Default)]
struct Planted {
    mismatch: usize,
    host_only: usize,
    bank_only: usize,
    duplicate: usize,
    malformed: usize,
    no_rrn: usize,
}

/// The bank's file (with planted exceptions) and the host's export for pandas.
fn write_files(
    bank: &Path,
    host: &Path,
    date: &str,
    terminals: &[(String, ssn::domain::ids::EwarungId)],
    purchases: &[Purchase],
) -> anyhow::Result<Planted> {
    let mut planted = Planted::default();
    let mut b = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(bank)?);
    let mut h = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(host)?);
    writeln!(
        b,
        "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type"
    )?;
    writeln!(h, "terminal_id,stan,rrn,amount_idr,type")?;
    for (i, p) in purchases.iter().enumerate() {
        let terminal = &terminals[p.terminal].0;
        let amount = ssn::domain::money::format_minor(p.amount_minor);
        writeln!(h, "{terminal},{:06},{:012},{amount},SALE", p.stan, p.rrn)?;
        match i % EVERY {
            1 => {
                planted.host_only += 1;
                continue;
            }
            2 => {
                planted.mismatch += 1;
                let other = ssn::domain::money::format_minor(p.amount_minor + 100);
                writeln!(
                    b,
                    "{date},{terminal},{:06},{:012},A{:05},{other},SALE",
                    p.stan,
                    p.rrn,
                    i % 99_999
                )?;
                continue;
            }
            3 => {
                planted.no_rrn += 1;
                writeln!(
                    b,
                    "{date},{terminal},{:06},,A{:05},{amount},SALE",
                    p.stan,
                    i % 99_999
                )?;
                continue;
            }
            4 => {
                planted.duplicate += 1;
                writeln!(
                    b,
                    "{date},{terminal},{:06},{:012},A{:05},{amount},SALE",
                    p.stan,
                    p.rrn,
                    i % 99_999
                )?;
            }
            5 => {
                planted.bank_only += 1;
                writeln!(
                    b,
                    "{date},{terminal},999999,{:012},A00000,{amount},SALE",
                    900_000_000_000 + i as u64
                )?;
            }
            6 => {
                planted.malformed += 1;
                writeln!(b, "{date},{terminal},12,{:012},A00000,{amount},SALE", p.rrn)?;
            }
            _ => {}
        }
        writeln!(
            b,
            "{date},{terminal},{:06},{:012},A{:05},{amount},SALE",
            p.stan,
            p.rrn,
            i % 99_999
        )?;
    }
    b.flush()?;
    h.flush()?;
    Ok(planted)
}

/// Bench setup only: completed purchases straight into the table, many per statement.
/// `count` purchases spread round-robin over `terminals`, of 10,000 to 200,000 rupiah drawn
/// from `seed`, with distinct RRNs.
pub(crate) fn generate_purchases(count: usize, terminals: usize, seed: u64) -> Vec<Purchase> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| Purchase {
            terminal: i % terminals,
            stan: (i / terminals) as u32 % 1_000_000,
            rrn: 100_000_000_000 + i as u64,
            amount_minor: rng.gen_range(10..=200) * 100_000,
        })
        .collect()
}

/// Bulk-inserts completed purchases of `date` (redemption rows as wide as real ones).
pub(crate) async fn insert_purchases(
    url: &str,
    date: &str,
    terminals: &[(String, ssn::domain::ids::EwarungId)],
    program: ssn::domain::ids::ProgramId,
    purchases: &[Purchase],
) -> anyhow::Result<()> {
    macro_rules! insert {
        ($conn:ident, $db:ty) => {{
            let now = ssn::store::now();
            let mut tx = $conn.begin().await?;
            for chunk in purchases.chunks(ROWS_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO redemptions (id, terminal_id, ewarung_id, stan, local_date, request_hash, kind,
                         response_code, response, program_id, amount_minor, state, rrn, approval_code,
                         business_date, completed_date, created_at, updated_at) ",
                );
                insert.push_values(chunk, |mut row, p| {
                    let (terminal, ewarung) = &terminals[p.terminal];
                    row.push_bind(uuid::Uuid::now_v7())
                        .push_bind(terminal.clone())
                        .push_bind(*ewarung)
                        .push_bind(format!("{:06}", p.stan))
                        .push_bind(date.to_string())
                        .push_bind(vec![0u8; 8])
                        .push_bind("purchase")
                        .push_bind("00")
                        .push_bind(STORED_ANSWER.as_bytes().to_vec())
                        .push_bind(program)
                        .push_bind(p.amount_minor)
                        .push_bind("completed")
                        .push_bind(format!("{:012}", p.rrn))
                        .push_bind(format!("A{:05}", p.rrn % 99_999))
                        .push_bind(date.to_string())
                        .push_bind(date.to_string())
                        .push_bind(now)
                        .push_bind(now);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }};
    }
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        insert!(conn, sqlx::Sqlite);
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        insert!(conn, sqlx::Postgres);
    }
    Ok(())
}

struct PandasResult {
    version: String,
    seconds: f64,
    peak_mib: f64,
}

const PANDAS_SCRIPT: &str = r#"
import resource, sys, time
import pandas as pd
bank_path, host_path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
text = {"terminal_id": str, "stan": str, "rrn": str, "approval_code": str, "type": str, "value_date": str}
bank = pd.read_csv(bank_path, dtype=text, keep_default_na=False, encoding="utf-8-sig")
host = pd.read_csv(host_path, dtype={"terminal_id": str, "stan": str, "rrn": str, "type": str}, keep_default_na=False)
bank["line_no"] = bank.index + 2
bank["amount"] = pd.to_numeric(bank["amount_idr"], errors="coerce")
ok = bank["stan"].str.fullmatch(r"\d{6}") & bank["amount"].notna()
bad = bank[~ok]
bank = bank[ok]
dups = bank[bank.duplicated(["rrn", "type"], keep="first") & (bank["rrn"] != "")]
bank = bank.drop(dups.index)
first = bank.merge(host, on=["rrn", "type"], how="outer", suffixes=("_bank", "_host"), indicator=True)
both = first[first["_merge"] == "both"]
mismatch = both[both["amount"] != both["amount_idr_host"]]
left = bank[~bank["rrn"].isin(host["rrn"])]
right = host[~host["rrn"].isin(bank["rrn"])]
second = left.merge(right, on=["terminal_id", "stan", "type"], how="outer", suffixes=("_bank", "_host"), indicator=True)
second_both = second[(second["_merge"] == "both") & (second["amount"] == second["amount_idr_host"])]
bank_only = (second["_merge"] == "left_only").sum()
host_only = (second["_merge"] == "right_only").sum()
elapsed = time.perf_counter() - started
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(pd.__version__, f"{elapsed:.3f}", f"{peak_mib:.1f}", len(both) - len(mismatch) + len(second_both), len(mismatch), host_only, bank_only, len(dups), len(bad))
"#;

fn run_pandas(python: &str, dir: &Path, bank: &Path, host: &Path) -> anyhow::Result<PandasResult> {
    let has_pandas = std::process::Command::new(python)
        .args(["-c", "import pandas"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pandas {
        eprintln!("bench: installing pandas with pip …");
        let status = std::process::Command::new(python)
            .args(["-m", "pip", "install", "--quiet", "pandas"])
            .status()?;
        anyhow::ensure!(status.success(), "pip install pandas failed");
    }
    let script = dir.join("reference.py");
    std::fs::write(&script, PANDAS_SCRIPT)?;
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(bank)
        .arg(host)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "the pandas reference failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    anyhow::ensure!(fields.len() >= 3, "unexpected pandas output: {text}");
    eprintln!(
        "  pandas counts (matched, mismatch, host_only, bank_only, dup, bad): {:?}",
        &fields[3..]
    );
    Ok(PandasResult {
        version: fields[0].to_string(),
        seconds: fields[1].parse()?,
        peak_mib: fields[2].parse()?,
    })
}
