//! Load: N purchases across M terminals (each on its own pseudo-terminal, for its own gateway),
//! seeded, with whatever faults are switched on; then a summary and, with `--check`, a check
//! against the host that nothing was lost, applied twice or left unresolved.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use clap::Args;
use serde_json::{json, Value};
use terminal_link::messages::ProcessingCode;

use crate::{
    faults::{FaultArgs, Faults},
    script::{basket_line, Command, Session},
    terminal::Report,
    LineArgs,
};

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Purchases in all.
    #[arg(long, default_value_t = 100)]
    pub transactions: usize,
    /// The terminals to simulate, each on a pseudo-terminal linked at `LINK_PREFIX-ID`.
    #[arg(long, value_delimiter = ',', default_value = "SMD00001")]
    pub terminal_ids: Vec<String>,
    #[arg(long, default_value = "/tmp/terminal-sim")]
    pub link_prefix: String,
    /// Directory for each terminal's state file.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Cards to pick from.
    #[arg(long, value_delimiter = ',', required = true)]
    pub cards: Vec<String>,
    #[arg(long, default_value = "123456")]
    pub pin: String,
    /// The basket of every purchase, `SKU*QTY*PRICE`.
    #[arg(long, default_value = "BERAS-MEDIUM*1*13500")]
    pub item: String,
    /// Check every transaction against the host (SSN_SERVER, SSN_USERNAME, SSN_PASSWORD: the
    /// terminals' E-Warung operator).
    #[arg(long)]
    pub check: bool,
}

/// One transaction as the terminal ended it.
struct Done {
    terminal_id: String,
    report: Report,
    local_date: String,
}

pub async fn run(line: &LineArgs, faults: &FaultArgs, args: LoadArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let terminals = args.terminal_ids.len().max(1);
    let mut tasks = Vec::new();
    for (index, terminal_id) in args.terminal_ids.iter().enumerate() {
        let share =
            args.transactions / terminals + usize::from(index < args.transactions % terminals);
        let mut line = line.clone();
        line.terminal_id = terminal_id.clone();
        line.device = None;
        line.pty_link = Some(PathBuf::from(format!("{}-{terminal_id}", args.link_prefix)));
        // A terminal that loses power must find its STAN counter again: always a state file.
        let state_dir = args.state_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("terminal-sim-{}", std::process::id()))
        });
        std::fs::create_dir_all(&state_dir)?;
        line.state = Some(state_dir.join(format!("{terminal_id}.json")));
        let faults = FaultArgs {
            seed: faults.seed.wrapping_add(index as u64 * 7919),
            ..faults.clone()
        };
        let args = args.clone();
        tasks.push(tokio::spawn(async move {
            drive(line, faults, args, share).await
        }));
    }
    let mut done = Vec::new();
    let mut batches = Vec::new();
    for task in tasks {
        let (mut reports, batch) = task.await??;
        done.append(&mut reports);
        batches.push(batch);
    }
    let elapsed = started.elapsed();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for entry in &done {
        let key = match (&entry.report.kind, entry.report.outcome, &entry.report.code) {
            (kind, "declined", Some(code)) => format!("{kind} declined {code}"),
            (kind, outcome, _) => format!("{kind} {outcome}"),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    // Purchases on the line: the terminal's wait against the pure wire time at this baud rate.
    let mut exchanges = Vec::new();
    let mut wires = Vec::new();
    for batch in &mut batches {
        for timing in batch["timings"].as_array().cloned().unwrap_or_default() {
            exchanges.push(timing[0].as_u64().unwrap_or(0));
            let bytes = timing[1].as_u64().unwrap_or(0);
            wires.push(bytes * 10 * 1_000_000 / u64::from(line.baud.max(1)));
        }
        batch.as_object_mut().map(|b| b.remove("timings"));
    }
    let mut summary = json!({
        "transactions": done.len(),
        "terminals": terminals,
        "seconds": elapsed.as_secs_f64(),
        "outcomes": outcomes,
        "batch_totals": batches,
        "line": {
            "baud": line.baud,
            "purchases_timed": exchanges.len(),
            "exchange_ms": percentiles(&mut exchanges),
            "wire_ms": percentiles(&mut wires),
        },
    });
    if args.check {
        summary["check"] = check(&done).await?;
    }
    println!("{}", serde_json::to_string_pretty(&summary)?);
    let failed = summary["check"]["lost"].as_u64().unwrap_or(0)
        + summary["check"]["duplicated"].as_u64().unwrap_or(0)
        + summary["check"]["unresolved"].as_u64().unwrap_or(0);
    anyhow::ensure!(
        failed == 0,
        "the check against the host failed: {}",
        summary["check"]
    );
    Ok(())
}

async fn drive(
    line: LineArgs,
    faults: FaultArgs,
    args: LoadArgs,
    count: usize,
) -> anyhow::Result<(Vec<Done>, Value)> {
    let chooser = Faults::new(faults.clone(), 999);
    let mut session = Session::start(&line, &faults)?;
    // The gateway opens the line with backoff: wait until a logon goes through.
    let ready_by = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let report = session.run(Command::Logon).await?;
        if report.outcome == "approved" {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < ready_by,
            "no gateway answered terminal {} within 30 s",
            line.terminal_id
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let item = basket_line(&args.item)?;
    let mut done = Vec::new();
    while done.len() < count {
        let pan = args.cards[chooser.below(args.cards.len())].clone();
        let processing = if chooser.roll(faults.cash_rate) {
            ProcessingCode::CashWithdrawal
        } else if chooser.roll(faults.cashback_rate) {
            ProcessingCode::PurchaseWithCashBack
        } else {
            ProcessingCode::Purchase
        };
        let report = session
            .run(Command::Purchase {
                processing,
                pan,
                pin: args.pin.clone(),
                basket: vec![item.clone()],
            })
            .await?;
        if report.kind == "power_loss" {
            // The purchase under way is what the state file says; it is recorded by its STAN
            // when the terminal reverses it, so only the restart itself is not a transaction.
            continue;
        }
        let local_date = (chrono::Utc::now()
            + chrono::Duration::hours(8)
            + chrono::Duration::seconds(faults.clock_skew_seconds))
        .format("%Y-%m-%d")
        .to_string();
        done.push(Done {
            terminal_id: line.terminal_id.clone(),
            report,
            local_date,
        });
        if done.len() % 100 == 0 || done.len() == count {
            eprintln!("terminal-sim: {} {}/{count}", line.terminal_id, done.len());
        }
    }
    // Everything owed goes to the host, then the day's totals.
    session.terminal.recover().await?;
    let today = (chrono::Utc::now()
        + chrono::Duration::hours(8)
        + chrono::Duration::seconds(faults.clock_skew_seconds))
    .date_naive();
    let batch = session.run(Command::Batch(Some(today))).await?;
    let stats = session.terminal.link_stats();
    let timings = std::mem::take(&mut session.terminal.timings);
    Ok((
        done,
        json!({"terminal_id": line.terminal_id, "code": batch.code, "link": {
            "frames_sent": stats.frames_sent, "retransmissions": stats.retransmissions,
            "duplicates_suppressed": stats.duplicates_suppressed, "rejected": stats.rejected},
            "timings": timings.iter().map(|t| json!([t.exchange.as_micros() as u64, t.wire_bytes])).collect::<Vec<_>>()}),
    ))
}

/// Asks the host what became of every transaction.
async fn check(done: &[Done]) -> anyhow::Result<Value> {
    let server = std::env::var("SSN_SERVER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let username = std::env::var("SSN_USERNAME")?;
    let password = std::env::var("SSN_PASSWORD")?;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{server}/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let status = |entry: &Done| {
        let body = json!({"terminal_id": entry.terminal_id,
            "stan": format!("{:06}", entry.report.stan.unwrap_or(0)), "local_date": entry.local_date});
        let request = http
            .post(format!("{server}/v1/redemptions/status"))
            .bearer_auth(&token)
            .json(&body);
        async move { Ok::<Value, anyhow::Error>(request.send().await?.json().await?) }
    };
    // Advices may still be on their way through the gateway's outbox: wait until none is held.
    let mut states = Vec::new();
    for round in 0..60 {
        states.clear();
        for entry in done.iter().filter(|entry| entry.report.stan.is_some()) {
            states.push((entry, status(entry).await?));
        }
        let held = states.iter().filter(|(_, s)| s["state"] == "held").count();
        if held == 0 || round == 59 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (mut lost, mut duplicated, mut unresolved) = (0u64, 0u64, 0u64);
    let mut problems = Vec::new();
    for (entry, host) in &states {
        let state = host["state"].as_str().unwrap_or("not_found");
        let verdict = match (entry.report.outcome, state) {
            (_, "held") => Some("unresolved"),
            ("approved", "completed") => None,
            ("approved", _) => Some("lost"),
            (_, "completed") => Some("duplicated"),
            _ => None,
        };
        match verdict {
            Some("lost") => lost += 1,
            Some("duplicated") => duplicated += 1,
            Some(_) => unresolved += 1,
            None => continue,
        }
        problems.push(
            json!({"terminal_id": entry.terminal_id, "stan": entry.report.stan,
            "terminal": entry.report.outcome, "host": state}),
        );
    }
    Ok(
        json!({"checked": states.len(), "lost": lost, "duplicated": duplicated,
        "unresolved": unresolved, "problems": problems}),
    )
}

/// p50 and p99 of microsecond samples, in milliseconds.
fn percentiles(samples: &mut [u64]) -> Value {
    if samples.is_empty() {
        return Value::Null;
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    json!({"p50": at(0.5), "p99": at(0.99), "mean": samples.iter().sum::<u64>() as f64 / samples.len() as f64 / 1000.0})
}
