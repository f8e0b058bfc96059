//! `ssn quota load | approve | expire`: the office's batch jobs, as clients of the API.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::{
    client::{file_name, read, upload_csv, ApiClient, ClientArgs},
    quota::LineError,
};

/// The report as the server sends it (amounts already formatted).
#[derive(Debug, Deserialize)]
pub struct ReportView {
    pub batch: BatchView,
    pub households: i64,
    pub outcomes: Vec<OutcomeView>,
    pub errors: Vec<LineError>,
    pub skipped: Vec<SkippedView>,
}

#[derive(Debug, Deserialize)]
pub struct BatchView {
    pub id: uuid::Uuid,
    pub status: String,
    pub source_name: String,
    pub row_count: i64,
    pub error_count: i64,
    pub total_amount: String,
}

#[derive(Debug, Deserialize)]
pub struct OutcomeView {
    pub outcome: String,
    pub rows: i64,
    pub amount: String,
}

#[derive(Debug, Deserialize)]
pub struct SkippedView {
    pub line_no: i64,
    pub kk_number: String,
    pub period: String,
    pub outcome: String,
}

/// Uploads `file`, showing progress, and prints the validation report. Fails when the batch is
/// invalid, so scripts can stop there.
pub async fn load(args: &ClientArgs, file: &Path, json: bool) -> anyhow::Result<()> {
    let client = ApiClient::login(args).await?;
    let name = file_name(file, "upload.csv");
    let query = [("source_name", name)];
    let response = upload_csv(&client, "/v1/quota/batches", &query, file, "uploading").await?;
    let report: serde_json::Value = read(response).await?;
    print_report(&report, json)?;
    let status = report["batch"]["status"].as_str().unwrap_or_default();
    anyhow::ensure!(
        status != "invalid",
        "the batch is invalid: nothing will be posted"
    );
    Ok(())
}

/// Approves (and so posts) a batch uploaded by someone else.
pub async fn approve(args: &ClientArgs, batch: uuid::Uuid, json: bool) -> anyhow::Result<()> {
    let client = ApiClient::login(args).await?;
    let response = client
        .request(
            reqwest::Method::POST,
            &format!("/v1/quota/batches/{batch}/approve"),
        )
        .send()
        .await?;
    let report: serde_json::Value = read(response).await?;
    print_report(&report, json)
}

/// Returns old entitlement to program funding and lists the households touched.
pub async fn expire(args: &ClientArgs, as_of: chrono::NaiveDate, json: bool) -> anyhow::Result<()> {
    let client = ApiClient::login(args).await?;
    let response = client
        .request(reqwest::Method::POST, "/v1/quota/expire")
        .json(&serde_json::json!({ "as_of": as_of }))
        .send()
        .await?;
    let report: serde_json::Value = read(response).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let households = report["households"].as_array().cloned().unwrap_or_default();
    println!(
        "expired as of {as_of}: {} households, {} IDR back to program funding",
        households.len(),
        report["total_amount"].as_str().unwrap_or("0")
    );
    for household in households {
        println!(
            "  {}  {}  {} IDR",
            household["program_code"].as_str().unwrap_or(""),
            household["kk_number"].as_str().unwrap_or(""),
            household["amount"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

fn print_report(report: &serde_json::Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let view: ReportView =
        serde_json::from_value(report.clone()).context("the report was not understood")?;
    let batch = &view.batch;
    println!(
        "batch {} ({}): {}",
        batch.id, batch.source_name, batch.status
    );
    println!(
        "  rows {}, households {}, total {} IDR, errors {}",
        batch.row_count, view.households, batch.total_amount, batch.error_count
    );
    let posted = batch.status == "posted";
    for outcome in &view.outcomes {
        let verb = match (outcome.outcome.as_str(), posted) {
            ("credited", true) => "credited",
            ("credited", false) => "to credit",
            ("already_loaded", _) => "already loaded (not credited again)",
            ("skipped_suspended", _) => "skipped: household suspended",
            ("skipped_exited", _) => "skipped: household exited",
            (other, _) => other,
        };
        println!("  {verb}: {} rows, {} IDR", outcome.rows, outcome.amount);
    }
    for skipped in &view.skipped {
        println!(
            "    line {}: KK {} period {}: {}",
            skipped.line_no, skipped.kk_number, skipped.period, skipped.outcome
        );
    }
    if !view.errors.is_empty() {
        println!("  errors (first {}):", view.errors.len());
        for error in &view.errors {
            println!(
                "    line {}: {} {}: {}",
                error.line_no, error.field, error.code, error.message
            );
        }
    }
    if batch.status == "validated" {
        println!(
            "next: another office user runs `ssn quota approve {}`",
            batch.id
        );
    }
    Ok(())
}
