//! Field visits: a verifier records what they found at a household's address (the day, an
//! outcome, a note) and may add a photo of the house. A visit changes nothing about the
//! household: what it found is proposed as a change request (`registry::change_requests`).

use std::sync::Arc;

use chrono::Utc;

use crate::{
    domain::{
        ids::{HouseholdId, UserId, VisitId},
        limits::REASON_CHARS,
        text::bounded,
        visit::{parse_visit_date, PhotoType, VisitOutcome},
        Refusals,
    },
    model::visits::{NewVisit, PhotoMeta, VisitPhoto, VisitRecord},
    photos::{PhotoError, PhotoStore, SavedPhoto},
    registry::Read,
    store::{Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    #[error("visit not found")]
    NotFound,
    #[error("household not found")]
    HouseholdNotFound,
    #[error("{0}")]
    Refused(Refusals),
    /// Only the verifier who recorded a visit adds its photo.
    #[error("only who recorded the visit adds its photo")]
    NotRecorder,
    #[error("this visit already has its photo")]
    PhotoTaken,
    #[error("{0}")]
    Photo(PhotoError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for VisitError {
    fn from(refusals: Refusals) -> Self {
        VisitError::Refused(refusals)
    }
}

impl From<StoreError> for VisitError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity: "visit" } => VisitError::NotFound,
            StoreError::StateConflict {
                entity: "visit", ..
            } => VisitError::PhotoTaken,
            error => VisitError::Store(error),
        }
    }
}

/// A visit as reported, checked; refusals name `visited_on`, `outcome`, `note`.
#[derive(Debug, Clone)]
pub struct VisitReport {
    visited_on: String,
    outcome: VisitOutcome,
    note: String,
}

impl VisitReport {
    pub fn parse(
        visited_on: &str,
        outcome: Read<VisitOutcome>,
        note: &str,
    ) -> Result<Self, Refusals> {
        let today = crate::business_day::local_today(Utc::now());
        let mut refusals = Refusals::default();
        let day = refusals.check("visited_on", parse_visit_date(visited_on, today));
        let outcome = refusals.check("outcome", outcome);
        // A note is optional; when given it is bounded like a reason.
        let note = if note.trim().is_empty() {
            Some(String::new())
        } else {
            refusals.check("note", bounded(note, REASON_CHARS, "note"))
        };
        let report = match (day, outcome, note) {
            (Some(day), Some(outcome), Some(note)) => Some(Self {
                visited_on: day.format("%Y-%m-%d").to_string(),
                outcome,
                note,
            }),
            _ => None,
        };
        refusals.or_value(report)
    }
}

#[derive(Clone)]
pub struct Visits {
    pub store: Arc<dyn Store>,
    pub photos: Arc<PhotoStore>,
}

impl Visits {
    /// Records a visit (audited), with the photo already written for it by [`Visits::save_photo`]
    /// under `id`, if any; a visit that could not be written leaves no photo behind.
    pub async fn record(
        &self,
        id: VisitId,
        household: HouseholdId,
        report: VisitReport,
        photo: Option<SavedPhoto>,
        actor: UserId,
    ) -> Result<VisitRecord, VisitError> {
        let meta = photo.as_ref().map(|saved| PhotoMeta {
            mime: saved.kind.mime(),
            bytes: i64::try_from(saved.bytes).unwrap_or(i64::MAX),
            sha256: saved.sha256.clone(),
        });
        let visit = NewVisit {
            id,
            household,
            visited_on: report.visited_on,
            outcome: report.outcome,
            note: report.note,
            actor,
            photo: meta,
        };
        let recorded = match self.store.get_household(household).await {
            Ok(Some(_)) => self
                .store
                .visits()
                .record_visit(visit)
                .await
                .map_err(Into::into),
            Ok(None) => Err(VisitError::HouseholdNotFound),
            Err(error) => Err(error.into()),
        };
        if let (Err(_), Some(saved)) = (&recorded, &photo) {
            self.photos.discard(id, saved).await;
        }
        recorded
    }

    /// Writes a photo for the visit `id` is about to be (JPEG or PNG, at most 5 MiB).
    pub async fn save_photo<S, E>(&self, id: VisitId, body: S) -> Result<SavedPhoto, VisitError>
    where
        S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.photos.save(id, body).await.map_err(VisitError::Photo)
    }

    /// Removes a photo written for a visit that was then not recorded.
    pub async fn discard_photo(&self, id: VisitId, saved: &SavedPhoto) {
        self.photos.discard(id, saved).await;
    }

    pub async fn get(&self, id: VisitId) -> Result<VisitRecord, VisitError> {
        self.store
            .visits()
            .get_visit(id)
            .await?
            .ok_or(VisitError::NotFound)
    }

    pub async fn of_household(
        &self,
        household: HouseholdId,
    ) -> Result<Vec<VisitRecord>, VisitError> {
        Ok(self.store.visits().list_visits(household).await?)
    }

    /// Adds the photo streamed in `body` to a visit its recorder made, which has none yet.
    pub async fn add_photo<S, E>(
        &self,
        id: VisitId,
        body: S,
        actor: UserId,
    ) -> Result<VisitRecord, VisitError>
    where
        S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let visit = self.get(id).await?;
        if visit.recorded_by != actor {
            return Err(VisitError::NotRecorder);
        }
        if visit.photo_type.is_some() {
            return Err(VisitError::PhotoTaken);
        }
        let saved = self
            .photos
            .save(id, body)
            .await
            .map_err(VisitError::Photo)?;
        let photo = VisitPhoto {
            visit: id,
            mime: saved.kind.mime(),
            bytes: i64::try_from(saved.bytes).unwrap_or(i64::MAX),
            sha256: saved.sha256.clone(),
            actor,
        };
        match self.store.visits().add_visit_photo(photo).await {
            Ok(record) => Ok(record),
            Err(error) => {
                // Another upload won, or the row could not be written: this file is nobody's.
                self.photos.discard(id, &saved).await;
                Err(error.into())
            }
        }
    }

    /// A visit's photo: its type and bytes; `NotFound` when it has none.
    pub async fn photo(&self, visit: &VisitRecord) -> Result<(PhotoType, Vec<u8>), VisitError> {
        let (Some(mime), Some(sha256)) = (&visit.photo_type, &visit.photo_sha256) else {
            return Err(VisitError::NotFound);
        };
        let kind = PhotoType::parse_mime(mime).ok_or(VisitError::NotFound)?;
        let bytes = self
            .photos
            .read(visit.id, kind, sha256)
            .await
            .map_err(|error| VisitError::Photo(PhotoError::Io(error)))?;
        Ok((kind, bytes))
    }
}
