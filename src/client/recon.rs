//! `ssn close`, `ssn recon run | show | resolve`, `ssn settle`: the bank's daily jobs, as clients
//! of the API (the server does the work; these show progress and write the files).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use futures_util::TryStreamExt;

use crate::{
    client::{file_name, read, upload_csv, ApiClient, ClientArgs},
    close::DayClose,
    domain::money::format_minor,
    model::recon::ReconRun,
    recon::report,
    settlement::{write_payout_file, SettlementOutcome},
};

#[derive(Debug, Subcommand)]
pub enum ReconCommand {
    /// Reconcile the bank's settlement file for a closed date; prints the summary. Exits non-zero
    /// when exceptions are open, so scripts notice.
    Run {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        date: chrono::NaiveDate,
        /// CSV: value_date,terminal_id,stan,rrn,approval_code,amount_idr,type
        #[arg(long)]
        bank_file: PathBuf,
        /// The bank had no activity on the date: accept a file with a header and no lines.
        #[arg(long)]
        no_activity: bool,
        #[command(flatten)]
        output: RunOutput,
    },
    /// Show a recorded run again.
    Show {
        #[command(flatten)]
        client: ClientArgs,
        run_id: uuid::Uuid,
        #[command(flatten)]
        output: RunOutput,
    },
    /// Confirm a run that waits for a second bank user: prints what settling after it would
    /// change per E-Warung, then makes it the date's authoritative run (audited).
    Confirm {
        #[command(flatten)]
        client: ClientArgs,
        run_id: uuid::Uuid,
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a run that waits for a second bank user, saying why (audited); it never settles.
    Reject {
        #[command(flatten)]
        client: ClientArgs,
        run_id: uuid::Uuid,
        #[arg(long)]
        note: String,
    },
    /// Resolve an exception with a reason (audited).
    Resolve {
        #[command(flatten)]
        client: ClientArgs,
        exception_id: uuid::Uuid,
        #[arg(long)]
        reason: String,
    },
}

/// How `recon run` and `recon show` present a run.
#[derive(Debug, clap::Args)]
pub struct RunOutput {
    /// Print the run as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also write every exception, line by line, to this CSV file.
    #[arg(long)]
    exceptions_csv: Option<PathBuf>,
    /// Also write the totals per category and per E-Warung to this CSV file.
    #[arg(long)]
    totals_csv: Option<PathBuf>,
}

pub async fn recon(command: ReconCommand) -> anyhow::Result<()> {
    match command {
        ReconCommand::Run {
            client,
            date,
            bank_file,
            no_activity,
            output,
        } => run(&client, date, &bank_file, no_activity, &output).await,
        ReconCommand::Show {
            client,
            run_id,
            output,
        } => {
            let api = ApiClient::login(&client).await?;
            let response = api
                .request(reqwest::Method::GET, &format!("/v1/recon/runs/{run_id}"))
                .send()
                .await?;
            let run: serde_json::Value = read(response).await?;
            finish(&api, run, &output).await
        }
        ReconCommand::Confirm {
            client,
            run_id,
            note,
        } => decide(&client, run_id, "confirm", note).await,
        ReconCommand::Reject {
            client,
            run_id,
            note,
        } => decide(&client, run_id, "reject", Some(note)).await,
        ReconCommand::Resolve {
            client,
            exception_id,
            reason,
        } => {
            let api = ApiClient::login(&client).await?;
            let response = api
                .request(
                    reqwest::Method::POST,
                    &format!("/v1/recon/exceptions/{exception_id}/resolve"),
                )
                .json(&serde_json::json!({ "reason": reason }))
                .send()
                .await?;
            let resolved: serde_json::Value = read(response).await?;
            println!(
                "resolved {} ({}, line {}): {}",
                exception_id,
                resolved["category"].as_str().unwrap_or(""),
                resolved["line_no"],
                resolved["resolution"].as_str().unwrap_or("")
            );
            Ok(())
        }
    }
}

/// Shows what settling after the run would change, then confirms or rejects it on exactly those
/// figures (the server refuses if they moved meanwhile).
async fn decide(
    args: &ClientArgs,
    run_id: uuid::Uuid,
    verb: &str,
    note: Option<String>,
) -> anyhow::Result<()> {
    let api = ApiClient::login(args).await?;
    let response = api
        .request(
            reqwest::Method::GET,
            &format!("/v1/recon/runs/{run_id}/review"),
        )
        .send()
        .await?;
    let review: serde_json::Value = read(response).await?;
    let preview: crate::settlement::review::Preview =
        serde_json::from_value(review["preview"].clone()).context("reading the preview")?;
    println!("{}", review_table(&preview));
    let response = api
        .request(
            reqwest::Method::POST,
            &format!("/v1/recon/runs/{run_id}/{verb}"),
        )
        .json(&serde_json::json!({ "digest": preview.digest, "note": note }))
        .send()
        .await?;
    let run: ReconRun = read(response).await?;
    let status = run.review.as_ref().map_or("", |r| r.status.as_str());
    println!(
        "run {} {status}; authoritative: {}",
        run.id, run.authoritative
    );
    Ok(())
}

/// What settling after a run would change, one line per E-Warung and program.
fn review_table(preview: &crate::settlement::review::Preview) -> String {
    let mut out = format!(
        "  {:<32} {:<12} {:>16} {:>16} {:>16} {:>16}",
        "E-Warung", "program", "paid IDR", "due now IDR", "due after IDR", "difference IDR"
    );
    for line in &preview.lines {
        out.push_str(&format!(
            "\n  {:<32} {:<12} {:>16} {:>16} {:>16} {:>16}",
            line.ewarung_name,
            line.program_code,
            format_minor(line.paid_minor),
            line.due_now_minor
                .map(format_minor)
                .unwrap_or_else(|| "-".into()),
            format_minor(line.due_after_minor),
            format_minor(line.difference_minor)
        ));
    }
    out
}

async fn run(
    args: &ClientArgs,
    date: chrono::NaiveDate,
    file: &Path,
    no_activity: bool,
    output: &RunOutput,
) -> anyhow::Result<()> {
    let api = ApiClient::login(args).await?;
    let query = [
        ("date", date.to_string()),
        ("file_name", file_name(file, "bank.csv")),
        ("no_activity", no_activity.to_string()),
    ];
    let response = upload_csv(&api, "/v1/recon/runs", &query, file, "reconciling").await?;
    let run: serde_json::Value = read(response).await?;
    finish(&api, run, output).await
}

/// Prints a run (JSON or summary), writes its exceptions when asked, and fails when any are open
/// or the run waits for a second bank user.
async fn finish(
    api: &ApiClient,
    value: serde_json::Value,
    output: &RunOutput,
) -> anyhow::Result<()> {
    let json = output.json;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    let run: ReconRun = serde_json::from_value(value).context("reading the run")?;
    if !json {
        println!("run {}", run.id);
        if let Some(report) = &run.report {
            println!("{}", report::summary(report));
        }
    }
    if let (Some(path), Some(report)) = (&output.totals_csv, &run.report) {
        let out = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        report::write_totals(report, std::io::BufWriter::new(out))?;
        if !json {
            println!("totals written to {}", path.display());
        }
    }
    if let Some(path) = &output.exceptions_csv {
        let response = api
            .request(
                reqwest::Method::GET,
                &format!("/v1/recon/runs/{}/exceptions.csv", run.id),
            )
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "fetching the exceptions: {}",
            response.status()
        );
        let mut out = tokio::fs::File::create(path)
            .await
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut body = response.bytes_stream().map_err(std::io::Error::other);
        while let Some(chunk) = body.try_next().await? {
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
        }
        tokio::io::AsyncWriteExt::flush(&mut out).await?;
        if !json {
            println!("exceptions written to {}", path.display());
        }
    }
    let mut problems = Vec::new();
    if run.open_exceptions > 0 {
        problems.push(format!(
            "{} exceptions are open; resolve each with `ssn recon resolve`",
            run.open_exceptions
        ));
    }
    if let Some(review) = run
        .review
        .as_ref()
        .filter(|r| r.status == crate::model::recon::ReviewStatus::Pending)
    {
        let reasons: Vec<&str> = review.reasons.iter().map(|r| r.as_str()).collect();
        problems.push(format!(
            "the run waits for another bank user ({}): `ssn recon confirm {}` or `ssn recon reject {} --note …`; settlement keeps the previous run meanwhile",
            reasons.join(", "),
            run.id,
            run.id
        ));
    }
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

/// `ssn close --date`: closes the date and prints its totals.
pub async fn close(args: &ClientArgs, date: chrono::NaiveDate, json: bool) -> anyhow::Result<()> {
    let api = ApiClient::login(args).await?;
    let response = api
        .request(reqwest::Method::POST, &format!("/v1/days/{date}/close"))
        .send()
        .await?;
    let again = response.status() == reqwest::StatusCode::OK;
    let value: serde_json::Value = read(response).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let close: DayClose = serde_json::from_value(value).context("reading the close")?;
    let t = &close.totals;
    println!(
        "{} {} (cut-off {} WITA){}",
        if again { "already closed:" } else { "closed" },
        close.business_date,
        close.cutoff,
        if again { ", nothing changed" } else { "" }
    );
    let line = |name: &str, c: &crate::model::records::CountAndTotal| {
        println!(
            "  {name:<12} {:>8} {:>18} IDR",
            c.count,
            format_minor(c.amount_minor)
        )
    };
    line("purchases", &t.purchases);
    line("voids", &t.voids);
    line("reversals", &t.reversals);
    line("expired", &t.expired);
    line("refunds", &t.refunds);
    println!(
        "  {:<12} {:>8} {:>18} IDR",
        "net",
        "",
        format_minor(t.net_minor)
    );
    for e in &close.ewarungs {
        println!(
            "  {:<32} {:>8} purchases {:>18} IDR net",
            e.name,
            e.totals.purchases.count,
            format_minor(e.totals.net_minor)
        );
    }
    println!("  open holds at close: {}", close.open_holds.len());
    for hold in &close.open_holds {
        println!(
            "    {} STAN {} RRN {} {} IDR (authorized {})",
            hold.terminal_id,
            hold.stan,
            hold.rrn.as_deref().unwrap_or("-"),
            format_minor(hold.amount_minor),
            hold.authorized_at
        );
    }
    for problem in close.batch_problems() {
        println!(
            "  terminal {} batch totals: {:?} (terminal {:?}, host {:?})",
            problem.terminal_id, problem.status, problem.terminal, problem.host
        );
    }
    Ok(())
}

/// `ssn settle --date`: settles the date and writes the payout instruction file.
pub async fn settle(
    args: &ClientArgs,
    date: chrono::NaiveDate,
    output: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let api = ApiClient::login(args).await?;
    let response = api
        .request(reqwest::Method::POST, &format!("/v1/settlements/{date}"))
        .send()
        .await?;
    let outcome: SettlementOutcome = read(response).await?;
    let file = std::fs::File::create(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let lines = write_payout_file(
        &outcome.posted,
        outcome.audit_head.as_deref(),
        std::io::BufWriter::new(file),
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
        return Ok(());
    }
    let paid: i64 = outcome.posted.iter().map(|r| r.amount_minor.max(0)).sum();
    let recovered: i64 = outcome.posted.iter().map(|r| r.amount_minor.min(0)).sum();
    println!(
        "settled {date} against run {}: {} payout lines, {} IDR paid, {} IDR recovered; payout file {}",
        outcome.run_id,
        lines,
        format_minor(paid),
        format_minor(-recovered),
        output.display()
    );
    Ok(())
}
