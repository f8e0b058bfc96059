//! `ssn-bench pg-crash`: purchases per second before and after PostgreSQL crashes. Starts a
//! durable throwaway cluster ([`super::pg_cluster`]) and `ssn serve --demo` on it as a child
//! process, runs terminals doing authorize + complete over HTTP, kills the postmaster with
//! SIGKILL every few seconds and starts it again, then compares the rate in the seconds after the
//! last restart with the rate before the first crash. Afterwards every approval is replayed (the
//! answer must be byte-identical), completed purchases are counted in the database, and
//! `ssn ledger verify` must pass: a crash may fail requests in flight, never lose an answered one.

use std::{
    process::Stdio,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use clap::Args;
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::pg_cluster::Cluster;

#[derive(Debug, Args)]
pub struct PgCrashArgs {
    /// Concurrent terminals (the demo's four terminal ids, STANs kept apart per client).
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Load before the first crash; the "before" rate is measured over its last 8 s.
    #[arg(long, default_value_t = 10)]
    pub before_seconds: u64,
    /// SIGKILLs of the postmaster.
    #[arg(long, default_value_t = 6)]
    pub crashes: usize,
    /// Time from a restart (the database accepting connections) to the next crash.
    #[arg(long, default_value_t = 4)]
    pub interval_seconds: u64,
    /// Load after the last restart; the "after" rate is measured over its first 10 s.
    #[arg(long, default_value_t = 20)]
    pub after_seconds: u64,
}

/// The window each rate is measured over.
const WINDOW: Duration = Duration::from_secs(10);
/// Skipped at the start: connections and caches warming up.
const WARM_UP: Duration = Duration::from_secs(2);

const TERMINALS: [(&str, &str, &str); 4] = [
    ("SMD00001", "warung-berkah", "demo-operator-pass"),
    ("SMD00002", "warung-berkah", "demo-operator-pass"),
    ("SMD00003", "warung-sejahtera", "demo-operator2-pass"),
    ("SMD00004", "warung-sejahtera", "demo-operator2-pass"),
];

/// Approved authorizations: (request, the exact answer).
type Approved = Arc<Mutex<Vec<(serde_json::Value, Vec<u8>)>>>;

pub async fn run(args: PgCrashArgs) -> anyhow::Result<()> {
    eprintln!("bench: starting a durable PostgreSQL cluster …");
    let cluster = Cluster::start("-c max_connections=200 -c shared_buffers=256MB").await?;
    let database = format!(
        "{}/ssn_crash",
        cluster.url().rsplit_once('/').unwrap_or_default().0
    );
    let mut admin = sqlx::PgConnection::connect(&cluster.url()).await?;
    sqlx::query("CREATE DATABASE ssn_crash")
        .execute(&mut admin)
        .await?;
    admin.close().await?;

    let data = tempfile::tempdir()?;
    let (mut server, base, pans) = start_server(data.path(), &database).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let mut tokens = Vec::new();
    for (terminal, username, password) in TERMINALS {
        tokens.push((
            terminal,
            crate::dataset::login(&http, &base, username, password).await?,
        ));
    }

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let approved: Approved = Arc::default();
    let stans = Arc::new(AtomicU32::new(1));
    let completions = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut clients = Vec::new();
    for client in 0..args.clients {
        let (terminal, token) = tokens[client % tokens.len()].clone();
        clients.push(tokio::spawn(terminal_loop(Terminal {
            http: http.clone(),
            base: base.clone(),
            terminal,
            token,
            pans: pans.clone(),
            stans: stans.clone(),
            stop: stop.clone(),
            start,
            approved: approved.clone(),
            completions: completions.clone(),
        })));
    }

    tokio::time::sleep(Duration::from_secs(args.before_seconds)).await;
    let mut restarts = Vec::new();
    for crash in 1..=args.crashes {
        let killed = start.elapsed();
        cluster.crash().await?;
        cluster.restart().await?;
        let ready = start.elapsed();
        eprintln!(
            "bench: crash {crash} at {:.1} s, accepting connections again after {:.1} s",
            killed.as_secs_f64(),
            (ready - killed).as_secs_f64()
        );
        restarts.push((killed, ready));
        let pause = if crash == args.crashes {
            args.after_seconds
        } else {
            args.interval_seconds
        };
        tokio::time::sleep(Duration::from_secs(pause)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut failed = 0u64;
    for client in clients {
        failed += client.await?;
    }

    let mut completions = completions.lock().unwrap().clone();
    completions.sort();
    let before_end = restarts
        .first()
        .map_or(start.elapsed(), |(killed, _)| *killed);
    let before_start = before_end.saturating_sub(WINDOW - WARM_UP).max(WARM_UP);
    let before = rate(&completions, before_start, before_end);
    println!(
        "ssn-bench pg-crash: PostgreSQL (durable), {} terminals, {} crashes {} s apart",
        args.clients, args.crashes, args.interval_seconds
    );
    println!(
        "  before the first crash ({:.0}-{:.0} s): {before:.0} purchases/s",
        before_start.as_secs_f64(),
        before_end.as_secs_f64()
    );
    for (number, (killed, ready)) in restarts.iter().enumerate() {
        let first = completions
            .iter()
            .find(|at| *at > ready)
            .map_or("none".to_string(), |at| {
                format!("{:.2} s", (*at - *ready).as_secs_f64())
            });
        let next = restarts
            .get(number + 1)
            .map_or(start.elapsed(), |(killed, _)| *killed);
        println!(
            "  crash {}: database down {:.1} s; first purchase {first} after it accepted connections; {:.0}/s until the next crash",
            number + 1,
            (*ready - *killed).as_secs_f64(),
            rate(&completions, *ready, next)
        );
    }
    if let Some((_, ready)) = restarts.last() {
        let after = rate(&completions, *ready, *ready + WINDOW);
        println!(
            "  in the {} s after the last restart: {after:.0} purchases/s = {:.0}% of before",
            WINDOW.as_secs(),
            100.0 * after / before
        );
    }
    println!(
        "  per second: {}",
        per_second(&completions, start.elapsed())
    );
    println!(
        "  {} purchases completed, {failed} requests failed or unanswered (crashes in flight)",
        completions.len()
    );

    let approved = approved.lock().unwrap().clone();
    check_nothing_lost(&http, &base, &tokens, &approved).await?;
    let completed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM redemptions WHERE state = 'completed'")
            .fetch_one(&mut sqlx::PgConnection::connect(&database).await?)
            .await?;
    if completed < completions.len() as i64 {
        bail!(
            "{} completions were acknowledged but only {completed} purchases are completed",
            completions.len()
        );
    }
    let _ = server.kill().await;
    let verify = tokio::process::Command::new(crate::ssn_binary()?)
        .args([
            "ledger",
            "verify",
            "--database-url",
            &database,
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .await?;
    if !verify.status.success() {
        bail!(
            "ssn ledger verify failed after the crashes:\n{}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
    }
    println!(
        "  nothing lost: {} approvals replayed byte for byte, {completed} purchases completed in the database (>= {} acknowledged), ledger verified",
        approved.len(),
        completions.len()
    );
    Ok(())
}

/// Starts `ssn serve --demo` and reads its address and the demo cards from its output.
async fn start_server(
    data: &std::path::Path,
    database: &str,
) -> anyhow::Result<(tokio::process::Child, String, Arc<Vec<String>>)> {
    let mut server = tokio::process::Command::new(crate::ssn_binary()?)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(["--database-url", database, "--data-dir"])
        .arg(data)
        .env("SSN_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting ssn serve")?;
    let mut lines = BufReader::new(server.stdout.take().context("server stdout")?).lines();
    let mut pans = Vec::new();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .context("the server stopped before it listened")?;
        if let Some(address) = line.strip_prefix("ssn listening on ") {
            break address.to_string();
        }
        // Card lines: two spaces, the 16-digit number, two spaces, the name.
        if let Some(pan) = line.split_whitespace().next() {
            if pan.len() == 16 && pan.bytes().all(|b| b.is_ascii_digit()) {
                pans.push(pan.to_string());
            }
        }
    };
    if pans.is_empty() {
        bail!("the demo printed no cards");
    }
    // Keep reading so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((server, base, Arc::new(pans)))
}

struct Terminal {
    http: reqwest::Client,
    base: String,
    terminal: &'static str,
    token: String,
    pans: Arc<Vec<String>>,
    stans: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    start: Instant,
    approved: Approved,
    completions: Arc<Mutex<Vec<Duration>>>,
}

/// Buys rice at Rp 1 a kilo (cards never run dry) until told to stop; the number of requests
/// that failed or went unanswered.
async fn terminal_loop(terminal: Terminal) -> u64 {
    let date = ssn::redemption::engine::local_date(ssn::store::now());
    let mut failed = 0;
    while !terminal.stop.load(Ordering::Relaxed) {
        let n = terminal.stans.fetch_add(1, Ordering::Relaxed);
        let stan = format!("{:06}", n % 1_000_000);
        let pan = &terminal.pans[n as usize % terminal.pans.len()];
        let request = serde_json::json!({
            "terminal_id": terminal.terminal, "stan": stan, "local_time": format!("{date}T10:00:00"),
            "pan": pan, "pin": ssn::demo::DEMO_PIN, "type": "purchase",
            "lines": [{"sku": "BERAS-MEDIUM", "quantity": 1, "unit_price": "1"}],
        });
        let Some(answer) = post(&terminal, "authorize", &request).await else {
            failed += 1;
            continue;
        };
        if !is_approved(&answer) {
            failed += 1;
            continue;
        }
        terminal
            .approved
            .lock()
            .unwrap()
            .push((request, answer.clone()));
        let original =
            serde_json::json!({"terminal_id": terminal.terminal, "stan": stan, "local_date": date});
        match post(&terminal, "complete", &original).await {
            Some(answer) if is_approved(&answer) => terminal
                .completions
                .lock()
                .unwrap()
                .push(terminal.start.elapsed()),
            _ => failed += 1,
        }
    }
    failed
}

async fn post(terminal: &Terminal, action: &str, body: &serde_json::Value) -> Option<Vec<u8>> {
    let response = terminal
        .http
        .post(format!("{}/v1/redemptions/{action}", terminal.base))
        .bearer_auth(&terminal.token)
        .json(body)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.bytes().await.ok().map(|bytes| bytes.to_vec())
}

fn is_approved(answer: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(answer)
        .is_ok_and(|reply| reply["response_code"] == "00")
}

/// Replays every approved authorization: the stored answer must come back byte for byte.
async fn check_nothing_lost(
    http: &reqwest::Client,
    base: &str,
    tokens: &[(&str, String)],
    approved: &[(serde_json::Value, Vec<u8>)],
) -> anyhow::Result<()> {
    for (request, answer) in approved {
        let token = tokens
            .iter()
            .find(|(terminal, _)| request["terminal_id"] == *terminal)
            .map(|(_, token)| token)
            .context("a token for the terminal")?;
        let replay = http
            .post(format!("{base}/v1/redemptions/authorize"))
            .bearer_auth(token)
            .json(request)
            .send()
            .await?
            .bytes()
            .await?;
        if replay.as_ref() != answer.as_slice() {
            bail!(
                "an approved purchase was lost or changed by a crash: {} {}",
                request["terminal_id"],
                request["stan"]
            );
        }
    }
    Ok(())
}

/// Completions per second in [from, to).
fn rate(completions: &[Duration], from: Duration, to: Duration) -> f64 {
    let seconds = to.saturating_sub(from).as_secs_f64();
    if seconds == 0.0 {
        return 0.0;
    }
    let count = completions
        .iter()
        .filter(|at| **at >= from && **at < to)
        .count();
    count as f64 / seconds
}

/// Completions in each whole second of the run, space-separated.
fn per_second(completions: &[Duration], length: Duration) -> String {
    let mut counts = vec![0u32; length.as_secs() as usize + 1];
    for at in completions {
        counts[at.as_secs() as usize] += 1;
    }
    counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
