//! Dormant balances: the office lists the households of a program that hold value and have not
//! bought for N months, with what will expire and when if nothing is spent, and prints a notice
//! per household (a letter in Indonesian), which is recorded with the figures it told.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        expiry::{first_expiry, idle_since, period_of},
        ids::{DormancyNoticeId, HouseholdId, UserId},
    },
    model::dormancy::{DormancyNotice, DormantFilter, DormantHousehold, NewNotice},
    store::{Page, ProgramRecord, Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum DormancyError {
    #[error("program not found")]
    ProgramNotFound,
    #[error("household not found")]
    HouseholdNotFound,
    #[error("notice not found")]
    NoticeNotFound,
    /// A notice is for a household the list shows: one that holds value and has not bought in
    /// the window.
    #[error("the household is not dormant in this program: it bought within the last {0} months, holds nothing, or is not active")]
    NotDormant(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A dormant household with what expires first if nothing is spent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DormantView {
    #[serde(flatten)]
    pub household: DormantHousehold,
    /// The first day part of the balance expires, and how much (minor units); absent when
    /// nothing would.
    pub expiring_on: Option<NaiveDate>,
    pub expiring_minor: i64,
}

#[derive(Clone)]
pub struct Dormancy {
    pub store: Arc<dyn Store>,
}

impl Dormancy {
    async fn program(&self, code: &str) -> Result<ProgramRecord, DormancyError> {
        // A code with control characters names no program (and PostgreSQL refuses a NUL in text).
        if code.is_empty() || code.len() > 64 || code.chars().any(char::is_control) {
            return Err(DormancyError::ProgramNotFound);
        }
        self.store
            .find_program_by_code(code)
            .await?
            .ok_or(DormancyError::ProgramNotFound)
    }

    fn filter(program: &ProgramRecord, months: u32, today: NaiveDate) -> DormantFilter {
        let since = idle_since(today, months);
        DormantFilter {
            program: program.id,
            since: since.format("%Y-%m-%d").to_string(),
            since_period: period_of(since),
            kelurahan: None,
            household: None,
        }
    }

    /// The program's households idle for `months`, optionally in one kelurahan, in pages.
    pub async fn list(
        &self,
        program_code: &str,
        months: u32,
        kelurahan: Option<String>,
        page: Page,
    ) -> Result<Vec<DormantView>, DormancyError> {
        let program = self.program(program_code).await?;
        let today = crate::business_day::local_today(Utc::now());
        let filter = DormantFilter {
            kelurahan,
            ..Self::filter(&program, months, today)
        };
        let rows = self.store.dormancy().list_dormant(filter, page).await?;
        self.with_expiry(&program, rows, today).await
    }

    async fn with_expiry(
        &self,
        program: &ProgramRecord,
        rows: Vec<DormantHousehold>,
        today: NaiveDate,
    ) -> Result<Vec<DormantView>, DormancyError> {
        let ids: Vec<HouseholdId> = rows.iter().map(|row| row.household_id).collect();
        let credits = self
            .store
            .dormancy()
            .quota_credits_of(program.id, &ids)
            .await?;
        Ok(rows
            .into_iter()
            .map(|household| {
                let own: Vec<(String, i64)> = credits
                    .iter()
                    .filter(|(id, _, _)| *id == household.household_id)
                    .map(|(_, period, amount)| (period.clone(), *amount))
                    .collect();
                let expiry = first_expiry(
                    household.available_minor,
                    &own,
                    program.carry_over_months,
                    today,
                );
                DormantView {
                    household,
                    expiring_on: expiry.map(|(on, _)| on),
                    expiring_minor: expiry.map_or(0, |(_, amount)| amount),
                }
            })
            .collect())
    }

    /// Records a notice for a dormant household with the figures of today (audited); the page
    /// prints it as a letter.
    pub async fn notice(
        &self,
        household: HouseholdId,
        program_code: &str,
        months: u32,
        actor: UserId,
    ) -> Result<DormancyNotice, DormancyError> {
        let program = self.program(program_code).await?;
        if self.store.get_household(household).await?.is_none() {
            return Err(DormancyError::HouseholdNotFound);
        }
        let today = crate::business_day::local_today(Utc::now());
        // One notice per household and program a day: a second click, a reload or another tab
        // prints the same letter again rather than recording another.
        let printed_today = today.format("%Y-%m-%d").to_string();
        if let Some(done) = self
            .notices_of(household)
            .await?
            .into_iter()
            .find(|notice| notice.program_id == program.id && notice.printed_on == printed_today)
        {
            return Ok(done);
        }
        let filter = DormantFilter {
            household: Some(household),
            ..Self::filter(&program, months, today)
        };
        let rows = self
            .store
            .dormancy()
            .list_dormant(filter, Page::first(1))
            .await?;
        let Some(view) = self
            .with_expiry(&program, rows, today)
            .await?
            .into_iter()
            .next()
        else {
            return Err(DormancyError::NotDormant(months));
        };
        let notice = NewNotice {
            household,
            program: program.id,
            available_minor: view.household.available_minor,
            expiring_minor: view.expiring_minor,
            expiring_on: view.expiring_on,
            last_purchase_date: view.household.last_purchase_date,
            idle_months: months,
            printed_on: today,
            actor,
        };
        Ok(self.store.dormancy().record_notice(notice).await?)
    }

    pub async fn get_notice(&self, id: DormancyNoticeId) -> Result<DormancyNotice, DormancyError> {
        self.store
            .dormancy()
            .get_notice(id)
            .await?
            .ok_or(DormancyError::NoticeNotFound)
    }

    pub async fn notices_of(
        &self,
        household: HouseholdId,
    ) -> Result<Vec<DormancyNotice>, DormancyError> {
        Ok(self.store.dormancy().list_notices(household).await?)
    }
}
