//! `ssn-bench redeem`: N simulated terminals, each with its operator's real JWT, doing
//! authorize (with PIN) and complete over HTTP for a fixed time; then, in the same run, the raw
//! ceiling: the same ledger SQL for one redemption in one transaction, one after another, no HTTP
//! and no batching (on PostgreSQL also pgbench's TPC-B on the same server).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use clap::Args;
use rand::Rng;

use crate::{
    dataset::{self, FreshDatabase, RedeemDataset},
    pgbench,
    stats::Latencies,
    BenchDatabase,
};
use ssn::{
    config::ServeArgs,
    domain::{money::Amount, pan::Pan, pin::Pin, purchase::Followup, terminal::TerminalId},
    http::state::AppState,
    ledger::{LedgerJob, LedgerTx},
    redemption::{
        engine::{Authorize, FollowUp},
        request::{
            AuthorizeRequest, BasketLine, LocalDate, LocalTime, OriginalRequest, Quantity, Sku,
            Stan, TransactionType,
        },
    },
    store::StoreResult,
};

#[derive(Debug, Clone, Args)]
pub struct RedeemArgs {
    #[command(flatten)]
    pub database: BenchDatabase,
    /// Simulated terminals, each a task with its own purchases.
    #[arg(long, default_value_t = 500)]
    pub terminals: usize,
    /// How long each phase runs.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// A terminal's pause between purchases, drawn uniformly from 0 to twice this (a cashier
    /// scanning the next basket). 0 makes every terminal fire back to back.
    #[arg(long, default_value_t = 100)]
    pub think_ms: u64,
    /// Households (cards) purchases are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub households: usize,
    /// pgbench clients for the PostgreSQL baseline (TPC-B, scale 10).
    #[arg(long, default_value_t = 8)]
    pub pgbench_clients: u32,
}

/// What terminal loops share with whoever watches them: redemptions done so far, and a flag
/// that ends them before their deadline.
#[derive(Default)]
pub(crate) struct Watch {
    pub done: std::sync::atomic::AtomicU64,
    pub stop: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
pub(crate) struct Tally {
    authorize: Latencies,
    complete: Latencies,
    redemption: Latencies,
    redemptions: u64,
    declined: u64,
    pub failed: u64,
}

pub async fn run(args: RedeemArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = FreshDatabase::create(&args.database.bench_database, dir.path()).await?;
    let outcome = measure(&args, &database, dir.path()).await;
    database.drop_database().await;
    outcome
}

async fn measure(
    args: &RedeemArgs,
    database: &FreshDatabase,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let max_connections = if database.is_postgres() { 32 } else { 8 };
    let serve = serve_args();
    let app = dataset::build_app(database, dir, max_connections, serve).await?;
    let state = app.state().clone();
    let base = format!("http://{}", app.address());
    eprintln!(
        "bench: creating {} terminals and {} households with cards on {} …",
        args.terminals,
        args.households,
        state.store.backend()
    );
    let data = Arc::new(dataset::redeem_dataset(&state, args.terminals, args.households).await?);
    let server = dataset::BackgroundServer::start(app);

    eprintln!(
        "bench: {} terminals buying for {} s over HTTP …",
        args.terminals, args.seconds
    );
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let tasks = start_terminals(&base, &data, deadline, args.think_ms, Arc::default()).await?;
    let mut tally = Tally::default();
    for task in tasks {
        let one = task.await?;
        tally.authorize.merge(one.authorize);
        tally.complete.merge(one.complete);
        tally.redemption.merge(one.redemption);
        tally.redemptions += one.redemptions;
        tally.declined += one.declined;
        tally.failed += one.failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.stop().await;
    let service_rate = tally.redemptions as f64 / elapsed;

    eprintln!(
        "bench: raw ceiling for {} s (same SQL, one transaction per redemption, no HTTP) …",
        args.seconds
    );
    let raw_rate = raw_ceiling(&state, &data, Duration::from_secs(args.seconds)).await?;

    let backend = state.store.backend();
    println!(
        "ssn-bench redeem: {backend}, {} terminals, think {} ms, {} s, {} households",
        args.terminals, args.think_ms, args.seconds, args.households
    );
    println!(
        "  service over HTTP: {} redemptions (authorize + complete) in {elapsed:.1} s = {service_rate:.0}/s; {} declined, {} failed",
        tally.redemptions, tally.declined, tally.failed
    );
    println!(
        "    authorize p50 {:.2} ms p99 {:.2} ms | complete p50 {:.2} ms p99 {:.2} ms | whole redemption p50 {:.2} ms p99 {:.2} ms",
        tally.authorize.percentile_ms(50.0), tally.authorize.percentile_ms(99.0),
        tally.complete.percentile_ms(50.0), tally.complete.percentile_ms(99.0),
        tally.redemption.percentile_ms(50.0), tally.redemption.percentile_ms(99.0),
    );
    println!(
        "  raw ceiling (same SQL, one transaction per redemption, sequential): {raw_rate:.0}/s"
    );
    println!(
        "  ratio service / raw ceiling: {:.2}x",
        service_rate / raw_rate
    );
    if let Some(admin) = database.is_postgres().then_some(&database.url) {
        eprintln!(
            "bench: pgbench TPC-B scale 10, {} clients, {} s …",
            args.pgbench_clients, args.seconds
        );
        let tps = pgbench::tpc_b(admin, args.pgbench_clients, args.seconds).await?;
        println!(
            "  pgbench TPC-B (scale 10, {} clients): {tps:.0} tps",
            args.pgbench_clients
        );
        eprintln!(
            "bench: raw, {} clients at once for {} s (the same SQL, no HTTP) …",
            args.pgbench_clients, args.seconds
        );
        let clients = args.pgbench_clients as usize;
        let raw_parallel = raw_clients(
            &state,
            &data,
            Duration::from_secs(args.seconds),
            clients,
            "2099-12-30",
        )
        .await?;
        println!(
            "  raw, {clients} clients at once (same SQL, one transaction per redemption, no HTTP): \
             {raw_parallel:.0}/s = {:.2}x pgbench in redemptions, {:.2}x in database transactions",
            raw_parallel / tps,
            2.0 * raw_parallel / tps
        );
        println!(
            "  ratio service / pgbench: {:.2}x in redemptions; {:.2}x in database transactions \
             (authorize and complete are one each, as a TPC-B transaction is)",
            service_rate / tps,
            2.0 * service_rate / tps
        );
    }
    Ok(())
}

/// The service's settings for a bench run: fresh random keys, a generous request timeout.
pub(crate) fn serve_args() -> ServeArgs {
    let key = |bytes: [u8; 32]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    ServeArgs {
        jwt_secret: Some(key(rand::random()).into()),
        pin_key: Some(key(rand::random()).into()),
        request_timeout_seconds: 120,
        ..ServeArgs::default()
    }
}

/// Every terminal of `data` buying over HTTP as its E-Warung's operator until `deadline` (or
/// `watch.stop`): one task each, answering its tally.
pub(crate) async fn start_terminals(
    base: &str,
    data: &Arc<RedeemDataset>,
    deadline: Instant,
    think_ms: u64,
    watch: Arc<Watch>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<Tally>>> {
    let terminals: usize = data.ewarungs.iter().map(|(_, ids)| ids.len()).sum();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(terminals)
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut tasks = Vec::new();
    for (operator, ids) in &data.ewarungs {
        let token = dataset::login(&http, base, operator, dataset::OPERATOR_PASSWORD).await?;
        for terminal in ids {
            tasks.push(tokio::spawn(terminal_loop(
                http.clone(),
                base.to_string(),
                token.clone(),
                terminal.clone(),
                data.clone(),
                deadline,
                think_ms,
                watch.clone(),
            )));
        }
    }
    Ok(tasks)
}

/// One terminal buying until `deadline` (or `watch.stop`), each redemption counted in `watch`.
#[allow(clippy::too_many_arguments)]
async fn terminal_loop(
    http: reqwest::Client,
    base: String,
    token: String,
    terminal: String,
    data: Arc<RedeemDataset>,
    deadline: Instant,
    think_ms: u64,
    watch: Arc<Watch>,
) -> Tally {
    let mut tally = Tally::default();
    let mut stan = 0u32;
    let date = ssn::redemption::engine::local_date(ssn::store::now());
    // Terminals do not start in lockstep.
    if think_ms > 0 {
        let pause = rand::thread_rng().gen_range(0..=2 * think_ms);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    while Instant::now() < deadline && !watch.stop.load(std::sync::atomic::Ordering::Relaxed) {
        stan += 1;
        let pan = &data.pans[rand::thread_rng().gen_range(0..data.pans.len())];
        let request = serde_json::json!({
            "terminal_id": terminal, "stan": format!("{stan:06}"), "local_time": format!("{date}T10:00:00"),
            "pan": pan, "pin": dataset::PIN, "type": "purchase",
            "lines": [{"sku": dataset::SKU, "quantity": 2, "unit_price": "13500"}],
        });
        let began = Instant::now();
        let Some(code) = post(&http, &base, "authorize", &token, &request).await else {
            tally.failed += 1;
            continue;
        };
        tally.authorize.record(began.elapsed());
        if code != "00" {
            tally.declined += 1;
            continue;
        }
        let original = serde_json::json!({"terminal_id": terminal, "stan": format!("{stan:06}"), "local_date": date});
        let completing = Instant::now();
        match post(&http, &base, "complete", &token, &original)
            .await
            .as_deref()
        {
            Some("00") => {
                tally.complete.record(completing.elapsed());
                tally.redemption.record(began.elapsed());
                tally.redemptions += 1;
                watch
                    .done
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            _ => tally.failed += 1,
        }
        if think_ms > 0 {
            let pause = rand::thread_rng().gen_range(0..=2 * think_ms);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }
    tally
}

/// Sends one terminal request; the response code, or `None` on a transport failure.
async fn post(
    http: &reqwest::Client,
    base: &str,
    action: &str,
    token: &str,
    body: &serde_json::Value,
) -> Option<String> {
    let reply: serde_json::Value = http
        .post(format!("{base}/v1/redemptions/{action}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    reply["response_code"].as_str().map(str::to_string)
}

/// One redemption's ledger work, authorize and complete, in one transaction.
struct RawRedemption {
    authorize: Authorize,
    complete: FollowUp,
}

#[async_trait]
impl LedgerJob for RawRedemption {
    type Output = bool;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<bool> {
        let answer = self.authorize.run(tx).await?;
        let approved = serde_json::from_slice::<serde_json::Value>(&answer)
            .is_ok_and(|reply| reply["response_code"] == "00");
        if approved {
            self.complete.run(tx).await?;
        }
        Ok(approved)
    }
}

/// Redemptions per second when each one commits alone, one after another, on a day of its own
/// (its STANs never meet the service run's).
async fn raw_ceiling(
    state: &AppState,
    data: &RedeemDataset,
    length: Duration,
) -> anyhow::Result<f64> {
    raw_clients(state, data, length, 1, "2099-12-31").await
}

/// The same as [`raw_ceiling`] from `clients` tasks at once, each a terminal of its own (on
/// PostgreSQL, pgbench's client count: what the per-request design gets from the server with
/// no HTTP in front of it). `day` (a terminal's local date) keeps each run's STANs apart from the
/// others': a STAN used twice on a day would be a replay, answered without any work.
async fn raw_clients(
    state: &AppState,
    data: &RedeemDataset,
    length: Duration,
    clients: usize,
    day: &'static str,
) -> anyhow::Result<f64> {
    // One terminal of each E-Warung in turn, as the service run's terminals are spread: clients at
    // one E-Warung would queue on its payable account's row lock.
    let most = data
        .ewarungs
        .iter()
        .map(|(_, t)| t.len())
        .max()
        .unwrap_or(0);
    let terminals: Vec<&String> = (0..most)
        .flat_map(|nth| data.ewarungs.iter().filter_map(move |(_, t)| t.get(nth)))
        .collect();
    anyhow::ensure!(
        clients <= terminals.len(),
        "{clients} raw clients need as many terminals"
    );
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for terminal in terminals.into_iter().take(clients) {
        let (state, pans, terminal) = (state.clone(), data.pans.clone(), terminal.clone());
        tasks.push(tokio::spawn(async move {
            raw_client(&state, &pans, &terminal, day, started + length).await
        }));
    }
    let mut done = 0u64;
    for task in tasks {
        done += task.await??;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// One terminal's redemptions, each in a transaction of its own, until `deadline`.
async fn raw_client(
    state: &AppState,
    pans: &[String],
    terminal: &str,
    day: &str,
    deadline: Instant,
) -> anyhow::Result<u64> {
    let ewarung = state
        .store
        .get_terminal(terminal)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench terminal missing"))?
        .ewarung_id;
    let terminal = TerminalId::parse(terminal)?;
    let local_time = LocalTime::parse(&format!("{day}T10:00:00"))?;
    let mut done = 0u64;
    let mut stan = 0u32;
    while Instant::now() < deadline {
        stan += 1;
        let stan_text = format!("{:06}", stan % 1_000_000);
        let pan = &pans[rand::thread_rng().gen_range(0..pans.len())];
        let request = AuthorizeRequest {
            terminal_id: terminal.clone(),
            stan: Stan::parse(&stan_text)?,
            local_time,
            pan: Pan::parse(pan)?,
            pin: Some(Pin::parse(dataset::PIN)?),
            pin_block: None,
            transaction_type: TransactionType::Purchase,
            program_code: None,
            lines: vec![BasketLine {
                sku: Sku::parse(dataset::SKU)?,
                quantity: serde_json::from_value::<Quantity>(serde_json::json!(2))?,
                unit_price: Amount::parse("13500")?,
            }],
        };
        let job = RawRedemption {
            authorize: Authorize {
                rules: state.redemptions.clone(),
                ewarung,
                request,
            },
            complete: FollowUp {
                ewarung,
                action: Followup::Complete,
                original: OriginalRequest {
                    terminal_id: terminal.clone(),
                    stan: Stan::parse(&stan_text)?,
                    local_date: LocalDate::parse(day)?,
                },
            },
        };
        let output = state.store.ledger().transact_alone(Arc::new(job)).await?;
        if output.downcast::<bool>().map(|ok| *ok).unwrap_or(false) {
            done += 1;
        }
    }
    Ok(done)
}
