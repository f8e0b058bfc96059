//! Field visits as stored and read back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    ids::{HouseholdId, UserId, VisitId},
    visit::VisitOutcome,
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct VisitRecord {
    pub id: VisitId,
    pub household_id: HouseholdId,
    /// `YYYY-MM-DD`.
    pub visited_on: String,
    #[schema(value_type = String, example = "moved_away")]
    pub outcome: VisitOutcome,
    pub note: String,
    /// `image/jpeg` or `image/png` when a photo of the house is kept
    /// (`GET /v1/visits/{id}/photo`).
    pub photo_type: Option<String>,
    pub photo_bytes: Option<i64>,
    #[serde(skip)]
    pub photo_sha256: Option<Vec<u8>>,
    pub recorded_by: UserId,
    /// The recorder's username.
    pub recorder: String,
    pub recorded_at: DateTime<Utc>,
}

/// A visit to record, checked.
#[derive(Debug, Clone)]
pub struct NewVisit {
    /// Chosen before the visit is written, so that a photo sent with it is already named by it.
    pub id: VisitId,
    pub household: HouseholdId,
    pub visited_on: String,
    pub outcome: VisitOutcome,
    pub note: String,
    pub actor: UserId,
    /// The photo sent with the visit, already written (a page sends both at once).
    pub photo: Option<PhotoMeta>,
}

/// What the database keeps of a photo: its type, size and SHA-256.
#[derive(Debug, Clone)]
pub struct PhotoMeta {
    pub mime: &'static str,
    pub bytes: i64,
    pub sha256: Vec<u8>,
}

/// A photo kept for a visit: its type, size and SHA-256 (the file is the photo store's).
#[derive(Debug, Clone)]
pub struct VisitPhoto {
    pub visit: VisitId,
    pub mime: &'static str,
    pub bytes: i64,
    pub sha256: Vec<u8>,
    pub actor: UserId,
}
