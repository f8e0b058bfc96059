//! One reconciliation run: load the host's entries of the date into the matcher, stream the bank's
//! file through it on a blocking thread (exceptions leave in chunks over a short queue, so memory
//! does not grow with the file), then record the report. A run that fails part way leaves nothing.

use std::{io::Read, sync::Arc};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::{
    abandon::Abandon,
    domain::{ids::UserId, money::Minor},
    model::recon::{Category, CategoryTotals, EwarungRecon, ReconException, ReconReport, ReconRun},
    recon::{
        bank_file::{self, FileError},
        matcher::Matcher,
    },
    store::{Store, StoreError},
};

/// Exceptions per write.
const CHUNK: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    File(#[from] FileError),
    /// A header and no lines, from a caller who did not state that the bank had no activity.
    #[error("the file has a header and no lines; say no_activity=true if the bank had no activity that day")]
    NoLines,
    /// The file's amounts add up to more than an `i64` of minor units.
    #[error("the file's amounts add up to more than this service can hold")]
    OutOfRange,
    /// `no_activity` stated for a file that has lines.
    #[error("no_activity=true was stated, but the file has lines")]
    ActivityInFile,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reconciliation stopped: {0}")]
    Stopped(String),
}

/// What to reconcile.
pub struct RunRequest {
    pub date: chrono::NaiveDate,
    pub file_name: String,
    pub actor: UserId,
    /// The bank states it had no activity on the date: a header-only file is then a run.
    pub no_activity: bool,
}

/// Reconciles `bank_file` for `request.date`. `progress` gets the bytes of the file read so far.
pub async fn run(
    store: Arc<dyn Store>,
    request: RunRequest,
    bank_file: impl Read + Send + 'static,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<ReconRun, RunError> {
    let days = store.days();
    let run_id = days
        .start_recon_run(request.date, &request.file_name, request.actor)
        .await?;
    // A run whose caller goes away mid-file is removed, not left `running`.
    let cleanup_store = store.clone();
    let abandon = Abandon::new(async move {
        if let Err(cleanup) = cleanup_store.days().abandon_recon_run(run_id).await {
            tracing::warn!(%cleanup, run = %run_id, "could not remove an unfinished run");
        }
    });
    match reconcile(store.clone(), run_id, &request, bank_file, progress).await {
        Ok(run) => {
            abandon.finished();
            Ok(run)
        }
        Err(error) => {
            abandon.now().await;
            Err(error)
        }
    }
}

async fn reconcile(
    store: Arc<dyn Store>,
    run_id: uuid::Uuid,
    request: &RunRequest,
    bank_file: impl Read + Send + 'static,
    mut progress: impl FnMut(u64) + Send + 'static,
) -> Result<ReconRun, RunError> {
    let days = store.days();
    let started = std::time::Instant::now();
    let date = crate::business_day::format_date(request.date);
    let mut matcher = Matcher::new(run_id, &date, days.terminal_owners().await?);
    // The close counted the day's entries: room for all of them up front.
    if let Some(close) = days.day_close(request.date).await? {
        let expected = close.totals.purchases.count + close.totals.refunds.count;
        matcher.reserve(usize::try_from(expected).unwrap_or(0));
    }
    let host_entries = days
        .host_entries(request.date, &mut |row| matcher.add_host(row))
        .await?;
    let loaded_ms = started.elapsed().as_millis() as u64;
    tracing::info!(run = %run_id, date = %date, host_entries, loaded_ms, "host entries loaded");

    let (sender, mut chunks) = mpsc::channel::<Vec<ReconException>>(4);
    let value_date = date.clone();
    let reading = tokio::task::spawn_blocking(move || {
        let mut hashing = HashingReader {
            inner: bank_file,
            hasher: Sha256::new(),
        };
        let mut batch = Vec::with_capacity(CHUNK);
        let mut unusable = 0i64;
        let mut open = true;
        let flush = |batch: &mut Vec<ReconException>, open: &mut bool| {
            if !batch.is_empty() {
                *open = *open && sender.blocking_send(std::mem::take(batch)).is_ok();
            }
        };
        let lines = bank_file::read(
            &mut hashing,
            &value_date,
            |line| {
                let exception = match line {
                    Ok(line) => matcher.bank_line(&line),
                    Err(bad) => {
                        unusable += 1;
                        Some(matcher.unusable(&bad))
                    }
                };
                if let Some(exception) = exception {
                    batch.push(exception);
                    if batch.len() == CHUNK {
                        flush(&mut batch, &mut open);
                    }
                }
                open
            },
            &mut progress,
        )?;
        // Read to the end, so the hash covers the whole file even after the last record.
        std::io::copy(&mut hashing, &mut std::io::sink())
            .map_err(|error| RunError::Stopped(error.to_string()))?;
        batch.extend(matcher.finish_bank_side());
        flush(&mut batch, &mut open);
        matcher.finish_host_side(CHUNK, |chunk| {
            open = open && sender.blocking_send(chunk).is_ok();
        });
        if !open {
            return Err(RunError::Stopped("the writer stopped".into()));
        }
        let sha = hex::encode(hashing.hasher.finalize());
        Ok::<_, RunError>((matcher, sha, lines as i64, unusable))
    });
    while let Some(chunk) = chunks.recv().await {
        days.add_recon_exceptions(&chunk).await?;
    }
    let (matcher, sha, bank_lines, unusable_lines) = reading
        .await
        .map_err(|error| RunError::Stopped(error.to_string()))??;
    if matcher.overflowed() {
        return Err(RunError::OutOfRange);
    }
    match (bank_lines, request.no_activity) {
        (0, false) => return Err(RunError::NoLines),
        (1.., true) => return Err(RunError::ActivityInFile),
        _ => {}
    }
    let matched_ms = started.elapsed().as_millis() as u64;
    tracing::info!(run = %run_id, bank_lines, matched_ms, "bank file matched");

    let categories = named(matcher.totals());
    let exceptions = categories
        .iter()
        .filter(|(c, _)| **c != Category::Matched)
        .map(|(_, t)| t.count)
        .sum();
    let payables = matcher.payables();
    let mut ewarungs = Vec::new();
    for (ewarung_id, totals) in matcher.per_ewarung() {
        let name = match ewarung_id {
            Some(id) => store
                .get_ewarung(id)
                .await?
                .map_or_else(String::new, |e| e.name),
            None => "(terminal unknown to the host)".to_string(),
        };
        let payable_minor = Minor::sum(
            payables
                .iter()
                .filter(|p| Some(p.ewarung_id) == ewarung_id)
                .map(|p| Minor::new(p.amount_minor)),
        )
        .map_err(|_| RunError::OutOfRange)?
        .get();
        ewarungs.push(EwarungRecon {
            ewarung_id,
            name,
            categories: named(&totals),
            payable_minor,
        });
    }
    ewarungs.sort_by(|a, b| a.name.cmp(&b.name));
    let report = ReconReport {
        business_date: date,
        file_name: request.file_name.clone(),
        file_sha256: sha,
        bank_lines,
        unusable_lines,
        host_entries,
        categories,
        ewarungs,
        exceptions,
        no_activity: request.no_activity,
    };
    Ok(days.finish_recon_run(run_id, &report, &payables).await?)
}

fn named(totals: &crate::recon::matcher::Totals) -> CategoryTotals {
    Category::ALL
        .into_iter()
        .map(|c| (c, totals[c.index()]))
        .collect()
}

/// Hashes what passes through, so the run knows which file it reconciled without a second read.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
