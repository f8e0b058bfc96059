//! Importing the registry an office already has: a CSV export with one row per member (the KK
//! number tying a household's rows), streamed in: each chunk is checked line by line and staged
//! while the next is read, the whole-file checks run at the end, and nothing reaches the
//! registry until a second office user approves. A failed or abandoned upload leaves nothing.

use std::{collections::HashMap, sync::Arc};

use chrono::Utc;
use tokio::{io::AsyncRead, sync::mpsc};
use tokio_util::io::SyncIoBridge;

use crate::{
    abandon::Abandon,
    domain::ids::{HouseholdId, MemberId, RegistryImportId, UserId},
    model::registry_import::{ImportLine, ImportLineError, ImportRecord},
    registry::import_parse::{self, CheckedLine, Chunk, ReadError},
    store::{Page, Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no rows")]
    Empty,
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("the registry file's parser stopped: {0}")]
    ParserStopped(String),
    #[error("registry import not found")]
    NotFound,
    /// The uploader may not approve their own import.
    #[error("{0}")]
    SameApprover(&'static str),
    /// Approving an import that is not waiting for approval.
    #[error("the import is {0}")]
    NotValidated(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound {
                entity: "registry_import",
            } => ImportError::NotFound,
            StoreError::SameApprover(why) => ImportError::SameApprover(why),
            StoreError::StateConflict {
                entity: "registry_import",
                actual,
            } => ImportError::NotValidated(actual),
            error => ImportError::Store(error),
        }
    }
}

/// The ids a file's lines are written under: one household per KK number (its lines need not
/// be together in the file), one member per line.
#[derive(Default)]
struct Ids {
    households: HashMap<String, HouseholdId>,
}

impl Ids {
    fn line(&mut self, line: CheckedLine) -> ImportLine {
        let household_id = *self.households.entry(line.kk_number.clone()).or_default();
        ImportLine {
            line_no: line.line_no,
            kk_number: line.kk_number,
            household_id,
            member_id: MemberId::new(),
            nik: line.nik,
            name: line.name,
            relation: line.relation.as_str().to_string(),
            sex: line.sex.as_str().to_string(),
            birth_date: line.birth_date.format("%Y-%m-%d").to_string(),
            street: line.address.street,
            rt: line.address.rt,
            rw: line.address.rw,
            kelurahan: line.address.kelurahan,
            kecamatan: line.address.kecamatan,
        }
    }
}

#[derive(Clone)]
pub struct RegistryImports {
    pub store: Arc<dyn Store>,
}

impl RegistryImports {
    /// Reads a registry CSV from `body`, stages it and answers the import's report.
    pub async fn upload_csv(
        &self,
        uploader: UserId,
        source_name: String,
        body: impl AsyncRead + Send + Unpin + 'static,
    ) -> Result<ImportRecord, ImportError> {
        let today = crate::business_day::local_today(Utc::now());
        // The csv crate is synchronous: it reads on a blocking thread and hands chunks over a
        // short queue, so only a few chunks are in memory however large the file.
        let (sender, mut chunks) = mpsc::channel::<Chunk>(2);
        let parser = tokio::task::spawn_blocking(move || {
            import_parse::read_csv(SyncIoBridge::new(body), today, |chunk| {
                sender.blocking_send(chunk).is_ok()
            })
        });
        // The import is created with the first row, so a file with a bad header or no rows
        // leaves none.
        let first = loop {
            match chunks.recv().await {
                Some(chunk) if chunk.rows == 0 => continue,
                other => break other,
            }
        };
        let Some(first) = first else {
            return Err(match parser.await {
                Err(error) => ImportError::ParserStopped(error.to_string()),
                Ok(Err(error)) => error.into(),
                Ok(Ok(())) => ImportError::Empty,
            });
        };
        let store = self.store.registry_imports();
        let import = store.create_import(&source_name, uploader).await?;
        let abandon = self.abandon_on_drop(import.id);
        let staged = self.stage(import.id, first, &mut chunks).await;
        let staged = match (staged, parser.await) {
            (Ok(rows), Ok(Ok(()))) => Ok(rows),
            (Err(error), _) => Err(error),
            (_, Ok(Err(error))) => Err(error.into()),
            (_, Err(error)) => Err(ImportError::ParserStopped(error.to_string())),
        };
        let finished = match staged {
            Ok(rows) => store
                .finish_import(import.id, rows)
                .await
                .map_err(Into::into),
            Err(error) => Err(error),
        };
        match finished {
            Ok(record) => {
                abandon.finished();
                tracing::info!(import = %record.id, rows = record.row_count,
                    errors = record.error_count, "registry file staged");
                Ok(record)
            }
            Err(error) => {
                abandon.now().await;
                Err(error)
            }
        }
    }

    /// Stages the chunks as they arrive; answers the rows read.
    async fn stage(
        &self,
        id: RegistryImportId,
        first: Chunk,
        chunks: &mut mpsc::Receiver<Chunk>,
    ) -> Result<i64, ImportError> {
        let store = self.store.registry_imports();
        let mut ids = Ids::default();
        let mut rows: i64 = 0;
        let mut next = Some(first);
        while let Some(chunk) = next {
            rows += i64::try_from(chunk.rows).unwrap_or(i64::MAX);
            let lines: Vec<ImportLine> = chunk.lines.into_iter().map(|l| ids.line(l)).collect();
            store.stage_import_chunk(id, &lines, &chunk.errors).await?;
            next = chunks.recv().await;
        }
        Ok(rows)
    }

    fn abandon_on_drop(&self, id: RegistryImportId) -> Abandon {
        let store = self.store.clone();
        Abandon::new(async move {
            match store.registry_imports().abandon_import(id).await {
                Ok(true) => {
                    tracing::warn!(import = %id, "removed a registry import whose upload did not finish")
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(import = %id, %error, "could not remove an unfinished registry import")
                }
            }
        })
    }

    pub async fn get(&self, id: RegistryImportId) -> Result<ImportRecord, ImportError> {
        self.store
            .registry_imports()
            .get_import(id)
            .await?
            .ok_or(ImportError::NotFound)
    }

    pub async fn list(&self, page: Page) -> Result<Vec<ImportRecord>, ImportError> {
        Ok(self.store.registry_imports().list_imports(page).await?)
    }

    /// Refused lines after `after_line`, in line order.
    pub async fn errors(
        &self,
        id: RegistryImportId,
        after_line: i64,
        limit: u32,
    ) -> Result<Vec<ImportLineError>, ImportError> {
        self.get(id).await?;
        Ok(self
            .store
            .registry_imports()
            .import_errors(id, after_line, limit)
            .await?)
    }

    /// Writes the new households and their members (another office user than the uploader).
    pub async fn approve(
        &self,
        id: RegistryImportId,
        actor: UserId,
    ) -> Result<ImportRecord, ImportError> {
        let record = self
            .store
            .registry_imports()
            .approve_import(id, actor)
            .await?;
        tracing::info!(import = %id, households = record.households_new,
            members = record.members_new, "registry import approved");
        Ok(record)
    }
}
