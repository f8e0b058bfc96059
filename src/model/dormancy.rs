//! Dormant balances as stored and read back: households that hold value and have not bought for
//! months, and the notices printed for them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ids::{DormancyNoticeId, HouseholdId, ProgramId, UserId};

/// A household that holds value in a program and has bought nothing in the idle window.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct DormantHousehold {
    pub household_id: HouseholdId,
    pub kk_number: String,
    pub head_name: String,
    pub kelurahan: String,
    pub kecamatan: String,
    /// What it can spend now, in minor units (sen).
    pub available_minor: i64,
    /// Its last approved purchase's business date (`YYYY-MM-DD`), if it ever bought.
    pub last_purchase_date: Option<String>,
    /// Notices printed for it in this program so far, and the day of the latest.
    pub notices: i64,
    pub last_notice_on: Option<String>,
}

/// Which dormant households to list.
#[derive(Debug, Clone)]
pub struct DormantFilter {
    pub program: ProgramId,
    /// The idle window's first day (`YYYY-MM-DD`): a purchase on or after it is activity.
    pub since: String,
    /// Its period (`YYYY-MM`): only households credited in or before it are listed.
    pub since_period: String,
    pub kelurahan: Option<String>,
    /// One household only (a notice's figures).
    pub household: Option<HouseholdId>,
}

/// A notice to record, with the figures it tells the household.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub household: HouseholdId,
    pub program: ProgramId,
    pub available_minor: i64,
    pub expiring_minor: i64,
    pub expiring_on: Option<NaiveDate>,
    pub last_purchase_date: Option<String>,
    pub idle_months: u32,
    pub printed_on: NaiveDate,
    pub actor: UserId,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, ToSchema)]
pub struct DormancyNotice {
    pub id: DormancyNoticeId,
    pub household_id: HouseholdId,
    pub program_id: ProgramId,
    pub program_code: String,
    pub available_minor: i64,
    /// What expires on `expiring_on` if nothing is spent (0 and no date when nothing would).
    pub expiring_minor: i64,
    pub expiring_on: Option<String>,
    pub last_purchase_date: Option<String>,
    pub idle_months: i32,
    pub printed_on: String,
    pub printed_by: UserId,
    /// The username of who printed it.
    pub printer: String,
    pub printed_at: DateTime<Utc>,
}
