//! Re-verification campaigns as stored and read back.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ids::{CampaignId, HouseholdId, UserId};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub name: String,
    /// One kelurahan only, when the campaign was opened for one.
    pub kelurahan: Option<String>,
    /// Only households not visited for this many months, when asked.
    pub not_visited_months: Option<i32>,
    /// `YYYY-MM-DD`: a visit dated from this day to the deadline counts.
    pub opened_on: String,
    pub deadline: String,
    /// How many households the campaign holds (fixed when it opened).
    pub households: i64,
    pub opened_by: UserId,
    /// The username of who opened it.
    pub opener: String,
    pub opened_at: DateTime<Utc>,
}

/// A campaign to open, checked.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub id: CampaignId,
    pub name: String,
    pub kelurahan: Option<String>,
    pub not_visited_months: Option<u32>,
    /// Households visited on or after this day are not stale (`not_visited_months` before today).
    pub visited_since: Option<NaiveDate>,
    pub opened_on: NaiveDate,
    pub deadline: NaiveDate,
    pub actor: UserId,
}

/// A kelurahan's share of a campaign.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct KelurahanProgress {
    pub kelurahan: String,
    pub households: i64,
    pub visited: i64,
}

/// A household of a campaign, with its latest visit in the campaign's window.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct CampaignHousehold {
    pub household_id: HouseholdId,
    pub kk_number: String,
    pub head_name: String,
    pub street: String,
    pub kelurahan: String,
    /// The latest visit dated within the campaign's window (`YYYY-MM-DD`), if any.
    pub visited_on: Option<String>,
}

/// Which of a campaign's households to list.
#[derive(Debug, Clone, Default)]
pub struct CampaignHouseholdFilter {
    /// `Some(true)`: visited ones; `Some(false)`: not yet visited ones.
    pub visited: Option<bool>,
    pub kelurahan: Option<String>,
    /// A verifier's kelurahan: only theirs.
    pub within: Option<Vec<String>>,
}
