//! Uploading a quota file: the rows are checked and staged a chunk at a time as they arrive, the
//! whole-file checks run at the end, and the batch settles as `validated` or `invalid`. A CSV
//! upload is parsed on a blocking thread while earlier chunks are staged, so a file of a million
//! rows never sits in memory. A batch whose upload fails or is dropped half-way is removed: none
//! stays `validating`.

use std::{collections::HashMap, sync::Arc};

use tokio::{io::AsyncRead, sync::mpsc};
use tokio_util::io::SyncIoBridge;

use crate::{
    abandon::Abandon,
    domain::ids::{ProgramId, QuotaBatchId, UserId},
    quota::{
        parse::{self, Chunk, ReadError},
        BatchReport, BatchTally,
    },
    store::{Store, StoreError},
};

/// Why an upload left no batch behind.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file has no rows")]
    Empty,
    /// The header is wrong or the body broke off.
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the quota parser stopped: {0}")]
    ParserStopped(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One row of a JSON upload: the CSV's four fields, as text.
pub struct Row<'a> {
    pub period: &'a str,
    pub program_code: &'a str,
    pub kk_number: &'a str,
    pub amount_idr: &'a str,
}

/// Uploads a CSV file (`period,program_code,kk_number,amount_idr`) read from `body`.
pub async fn csv(
    store: Arc<dyn Store>,
    uploader: UserId,
    source_name: String,
    body: impl AsyncRead + Send + Unpin + 'static,
) -> Result<BatchReport, UploadError> {
    let programs = program_codes(store.as_ref()).await?;
    // Parsing is synchronous (the csv crate); it runs on a blocking thread and hands chunks over a
    // short queue, so at most a few chunks are in memory however large the file.
    let (sender, mut chunks) = mpsc::channel::<Chunk>(2);
    let parser = tokio::task::spawn_blocking(move || {
        parse::read_csv(SyncIoBridge::new(body), &programs, |chunk| {
            sender.blocking_send(chunk).is_ok()
        })
    });
    // The batch is created with the first row, so a file with a bad header or no rows leaves none.
    let first = loop {
        match chunks.recv().await {
            Some(chunk) if chunk.rows == 0 => continue,
            other => break other,
        }
    };
    let Some(first) = first else {
        return Err(match parser.await {
            Err(error) => UploadError::ParserStopped(error.to_string()),
            Ok(Err(error)) => error.into(),
            Ok(Ok(())) => UploadError::Empty,
        });
    };
    let batch = store
        .ledger()
        .create_quota_batch(&source_name, uploader)
        .await?;
    let abandon = abandon_on_drop(&store, batch.id);
    let mut rows: i64 = 0;
    let staged = stage_csv(store.as_ref(), batch.id, first, chunks, parser, &mut rows).await;
    finish_or_abandon(store.as_ref(), batch.id, rows, staged, abandon).await
}

/// Uploads rows given one by one (a JSON upload).
pub async fn rows(
    store: Arc<dyn Store>,
    uploader: UserId,
    source_name: String,
    rows: &[Row<'_>],
) -> Result<BatchReport, UploadError> {
    if rows.is_empty() {
        return Err(UploadError::Empty);
    }
    let programs = program_codes(store.as_ref()).await?;
    let batch = store
        .ledger()
        .create_quota_batch(&source_name, uploader)
        .await?;
    let abandon = abandon_on_drop(&store, batch.id);
    let staged = stage_rows(store.as_ref(), batch.id, &programs, rows).await;
    finish_or_abandon(store.as_ref(), batch.id, rows.len() as i64, staged, abandon).await
}

async fn program_codes(store: &dyn Store) -> Result<HashMap<String, ProgramId>, StoreError> {
    Ok(store
        .list_programs()
        .await?
        .into_iter()
        .map(|program| (program.code, program.id))
        .collect())
}

/// Checks and stages the rows a chunk at a time; the tally of what posting would do.
async fn stage_rows(
    store: &dyn Store,
    batch: QuotaBatchId,
    programs: &HashMap<String, ProgramId>,
    rows: &[Row<'_>],
) -> Result<BatchTally, UploadError> {
    let mut tally = BatchTally::default();
    for (index, part) in rows.chunks(parse::CHUNK_ROWS).enumerate() {
        let mut chunk = Chunk::default();
        for (offset, row) in part.iter().enumerate() {
            let line_no = (index * parse::CHUNK_ROWS + offset + 1) as i64;
            let fields = [row.period, row.program_code, row.kk_number, row.amount_idr];
            match parse::check_row(line_no, fields, programs) {
                Ok(staged) => chunk.lines.push(staged),
                Err(errors) => chunk.errors.extend(errors),
            }
        }
        let outcomes = store
            .ledger()
            .stage_quota_chunk(batch, &chunk.lines, &chunk.errors)
            .await?;
        tally.record(&chunk.lines, &outcomes);
    }
    Ok(tally)
}

/// Stages the parsed chunks as they arrive and waits for the parser; counts the rows read.
async fn stage_csv(
    store: &dyn Store,
    batch: QuotaBatchId,
    first: Chunk,
    chunks: mpsc::Receiver<Chunk>,
    parser: tokio::task::JoinHandle<Result<(), ReadError>>,
    rows: &mut i64,
) -> Result<BatchTally, UploadError> {
    use futures_util::{StreamExt, TryStreamExt};
    let ledger = store.ledger();
    // Two chunks are staged at once: one looks its households up on a reader while the other is
    // written, which on SQLite's single writer is the difference that matters.
    let mut tally = BatchTally::default();
    let rest = futures_util::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    futures_util::stream::once(async { first })
        .chain(rest)
        .map(|chunk| {
            *rows += chunk.rows as i64;
            async move {
                let outcomes = ledger
                    .stage_quota_chunk(batch, &chunk.lines, &chunk.errors)
                    .await?;
                Ok::<_, StoreError>((chunk.lines, outcomes))
            }
        })
        .buffer_unordered(2)
        .try_for_each(|(lines, outcomes)| {
            tally.record(&lines, &outcomes);
            futures_util::future::ready(Ok(()))
        })
        .await?;
    tracing::debug!(%batch, rows = *rows, "quota file read and staged");
    parser
        .await
        .map_err(|error| UploadError::ParserStopped(error.to_string()))??;
    Ok(tally)
}

/// Removes the batch if the upload is dropped before it finishes (the client went away or the
/// request timed out): a batch must never stay `validating`.
fn abandon_on_drop(store: &Arc<dyn Store>, batch: QuotaBatchId) -> Abandon {
    let store = store.clone();
    Abandon::new(async move {
        match store.ledger().abandon_quota_batch(batch).await {
            Ok(true) => tracing::warn!(%batch, "removed a quota batch whose upload did not finish"),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%batch, %error, "could not remove an unfinished quota batch")
            }
        }
    })
}

/// Finishes the batch when staging went well; otherwise removes it before answering.
async fn finish_or_abandon(
    store: &dyn Store,
    batch: QuotaBatchId,
    rows: i64,
    staged: Result<BatchTally, UploadError>,
    abandon: Abandon,
) -> Result<BatchReport, UploadError> {
    let finished = match staged {
        Ok(tally) => store
            .ledger()
            .finish_quota_batch(batch, rows, tally.finish())
            .await
            .map_err(UploadError::from),
        Err(error) => Err(error),
    };
    match finished {
        Ok(report) => {
            abandon.finished();
            Ok(report)
        }
        Err(error) => {
            abandon.now().await;
            Err(error)
        }
    }
}
