//! Photos of houses from field visits, kept as files outside the database: one per visit, in
//! `DATA_DIR/photos/`, named by the visit and the photo's SHA-256 (so two uploads racing for
//! one visit never write the same file; the one the database keeps names its own). A photo is
//! JPEG or PNG by its first bytes, at most `MAX_PHOTO_BYTES`; it is written to a `.partial`
//! file, flushed, and renamed into place, so a file that is there is whole.

use std::path::{Path, PathBuf};

use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::domain::{
    ids::VisitId,
    visit::{PhotoType, MAX_PHOTO_BYTES},
};

/// Why a photo was not kept.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the file is not a JPEG or PNG photo")]
    NotAPhoto,
    #[error("the photo is larger than {MAX_PHOTO_BYTES} bytes")]
    TooLarge,
    #[error("the photo could not be read from the request: {0}")]
    Body(String),
    #[error("the photo could not be written: {0}")]
    Io(#[from] std::io::Error),
}

/// A photo written: its type, size and hash.
#[derive(Debug, Clone)]
pub struct SavedPhoto {
    pub kind: PhotoType,
    pub bytes: u64,
    pub sha256: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct PhotoStore {
    dir: PathBuf,
}

impl PhotoStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Where a visit's photo with this hash is.
    pub fn path(&self, visit: VisitId, kind: PhotoType, sha256: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.{}",
            visit.0,
            hex::encode(sha256),
            kind.extension()
        ))
    }

    /// Streams `body` into a new file for `visit`.
    pub async fn save<S, E>(&self, visit: VisitId, body: S) -> Result<SavedPhoto, PhotoError>
    where
        S: Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        tokio::fs::create_dir_all(&self.dir).await?;
        let partial = self
            .dir
            .join(format!("{}-{}.partial", visit.0, uuid::Uuid::now_v7()));
        let written = self.write(&partial, body).await;
        let saved = match written {
            Ok(saved) => saved,
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(error);
            }
        };
        let path = self.path(visit, saved.kind, &saved.sha256);
        tokio::fs::rename(&partial, &path).await?;
        sync_dir(&self.dir).await?;
        Ok(saved)
    }

    async fn write<S, E>(&self, partial: &Path, mut body: S) -> Result<SavedPhoto, PhotoError>
    where
        S: Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut file = tokio::fs::File::create(partial).await?;
        let mut hasher = Sha256::new();
        let mut head: Vec<u8> = Vec::with_capacity(8);
        let mut total: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| PhotoError::Body(error.to_string()))?;
            total = total.saturating_add(chunk.len() as u64);
            if total > MAX_PHOTO_BYTES {
                return Err(PhotoError::TooLarge);
            }
            if head.len() < 8 {
                let wanted = (8 - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..wanted]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        let kind = PhotoType::sniff(&head).ok_or(PhotoError::NotAPhoto)?;
        file.sync_all().await?;
        Ok(SavedPhoto {
            kind,
            bytes: total,
            sha256: hasher.finalize().to_vec(),
        })
    }

    /// Removes a photo the database did not keep.
    pub async fn discard(&self, visit: VisitId, saved: &SavedPhoto) {
        let _ = tokio::fs::remove_file(self.path(visit, saved.kind, &saved.sha256)).await;
    }

    /// A kept photo's bytes.
    pub async fn read(
        &self,
        visit: VisitId,
        kind: PhotoType,
        sha256: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(visit, kind, sha256)).await
    }
}

/// Makes a rename in `dir` durable.
async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: Vec<Vec<u8>>,
    ) -> impl Stream<Item = Result<axum::body::Bytes, String>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(axum::body::Bytes::from(p))))
    }

    #[tokio::test]
    async fn a_photo_is_kept_whole_and_anything_else_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PhotoStore::new(dir.path().join("photos"));
        let visit = VisitId::new();
        // The type is read across chunk boundaries.
        let jpeg = vec![vec![0xFF], vec![0xD8, 0xFF, 0xE0], vec![1; 1000]];
        let saved = photos.save(visit, chunks(jpeg)).await.unwrap();
        assert_eq!(saved.kind, PhotoType::Jpeg);
        assert_eq!(saved.bytes, 1004);
        let read = photos.read(visit, saved.kind, &saved.sha256).await.unwrap();
        assert_eq!(read.len(), 1004);
        let other = VisitId::new();
        let gif = vec![b"GIF89a".to_vec(), vec![0; 100]];
        assert!(matches!(
            photos.save(other, chunks(gif)).await,
            Err(PhotoError::NotAPhoto)
        ));
        let huge = vec![vec![0xFF, 0xD8, 0xFF], vec![0; MAX_PHOTO_BYTES as usize]];
        assert!(matches!(
            photos.save(other, chunks(huge)).await,
            Err(PhotoError::TooLarge)
        ));
        let files: Vec<_> = std::fs::read_dir(dir.path().join("photos"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            files.len(),
            1,
            "no partial or refused file is left: {files:?}"
        );
        assert!(files[0].starts_with(&visit.0.to_string()));
    }
}
