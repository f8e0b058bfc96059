//! Re-verification campaigns: an office opens one over every household not visited for N months,
//! or over one kelurahan (or both), with a deadline; verifiers see the households of their
//! kelurahan still to visit; progress is counted per kelurahan; households not visited by the
//! deadline are reported as missed and nothing else happens to them.

use std::sync::Arc;

use chrono::{Months, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{
        campaign::{check_not_visited_months, parse_deadline, VisitProgress},
        ids::{CampaignId, UserId},
        limits::{AREA_CHARS, NAME_CHARS},
        text::bounded,
        Invalid, Refusals,
    },
    model::campaigns::{
        CampaignHousehold, CampaignHouseholdFilter, CampaignRecord, KelurahanProgress, NewCampaign,
    },
    registry::reach::Reach,
    store::{Page, Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign not found")]
    NotFound,
    #[error("{0}")]
    Refused(Refusals),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusals> for CampaignError {
    fn from(refusals: Refusals) -> Self {
        CampaignError::Refused(refusals)
    }
}

/// A campaign as asked for, checked; refusals name `name`, `kelurahan`, `not_visited_months`,
/// `deadline`.
#[derive(Debug, Clone)]
pub struct CampaignPlan {
    name: String,
    kelurahan: Option<String>,
    not_visited_months: Option<u32>,
    deadline: NaiveDate,
    today: NaiveDate,
}

impl CampaignPlan {
    pub fn parse(
        name: &str,
        kelurahan: &str,
        not_visited_months: Option<u32>,
        deadline: &str,
    ) -> Result<Self, Refusals> {
        let today = crate::business_day::local_today(Utc::now());
        let mut refusals = Refusals::default();
        let name = refusals.check("name", bounded(name, NAME_CHARS, "name"));
        let kelurahan = if kelurahan.trim().is_empty() {
            Some(None)
        } else {
            refusals
                .check("kelurahan", bounded(kelurahan, AREA_CHARS, "kelurahan"))
                .map(Some)
        };
        let months = match not_visited_months {
            None => Some(None),
            Some(months) => refusals
                .check("not_visited_months", check_not_visited_months(months))
                .map(Some),
        };
        if let (Some(None), Some(None)) = (&kelurahan, &months) {
            refusals.add(
                "kelurahan",
                Invalid::new(
                    "campaign_scope_required",
                    "a campaign covers one kelurahan, households not visited for some months, or both",
                ),
            );
        }
        let deadline = refusals.check("deadline", parse_deadline(deadline, today));
        let plan = match (name, kelurahan, months, deadline) {
            (Some(name), Some(kelurahan), Some(not_visited_months), Some(deadline))
                if kelurahan.is_some() || not_visited_months.is_some() =>
            {
                Some(Self {
                    name,
                    kelurahan,
                    not_visited_months,
                    deadline,
                    today,
                })
            }
            _ => None,
        };
        refusals.or_value(plan)
    }
}

/// A campaign with its progress per kelurahan (a verifier's kelurahan only, for a verifier).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: CampaignRecord,
    /// Whether the deadline has passed (the households not visited are then missed).
    pub closed: bool,
    pub progress: Vec<KelurahanProgress>,
}

/// A campaign household with where it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignHouseholdView {
    #[serde(flatten)]
    pub household: CampaignHousehold,
    #[schema(value_type = String, example = "pending")]
    pub progress: VisitProgress,
}

fn today() -> NaiveDate {
    crate::business_day::local_today(Utc::now())
}

fn is_closed(campaign: &CampaignRecord, today: NaiveDate) -> bool {
    campaign.deadline.as_str() < today.format("%Y-%m-%d").to_string().as_str()
}

#[derive(Clone)]
pub struct Campaigns {
    pub store: Arc<dyn Store>,
}

impl Campaigns {
    pub async fn open(
        &self,
        plan: CampaignPlan,
        actor: UserId,
    ) -> Result<CampaignRecord, CampaignError> {
        let visited_since = plan
            .not_visited_months
            .and_then(|months| plan.today.checked_sub_months(Months::new(months)));
        let campaign = NewCampaign {
            id: CampaignId::new(),
            name: plan.name,
            kelurahan: plan.kelurahan,
            not_visited_months: plan.not_visited_months,
            visited_since,
            opened_on: plan.today,
            deadline: plan.deadline,
            actor,
        };
        Ok(self.store.campaigns().open_campaign(campaign).await?)
    }

    pub async fn list(&self, page: Page) -> Result<Vec<CampaignRecord>, CampaignError> {
        Ok(self.store.campaigns().list_campaigns(page).await?)
    }

    /// The campaign with its progress within `reach`.
    pub async fn get(&self, id: CampaignId, reach: &Reach) -> Result<CampaignView, CampaignError> {
        let campaign = self
            .store
            .campaigns()
            .get_campaign(id)
            .await?
            .ok_or(CampaignError::NotFound)?;
        let progress = match reach {
            Reach::Nowhere => Vec::new(),
            _ => {
                self.store
                    .campaigns()
                    .campaign_progress(id, reach.bound_to())
                    .await?
            }
        };
        Ok(CampaignView {
            closed: is_closed(&campaign, today()),
            campaign,
            progress,
        })
    }

    /// The campaign's households within `reach`, those in `progress` only when given.
    pub async fn households(
        &self,
        id: CampaignId,
        reach: &Reach,
        progress: Option<VisitProgress>,
        kelurahan: Option<String>,
        page: Page,
    ) -> Result<Vec<CampaignHouseholdView>, CampaignError> {
        let view = self.get(id, reach).await?;
        let today = today();
        // Before the deadline nothing is missed; after it nothing is pending.
        let visited = match (progress, view.closed) {
            (None, _) => None,
            (Some(VisitProgress::Visited), _) => Some(true),
            (Some(VisitProgress::Pending), false) | (Some(VisitProgress::Missed), true) => {
                Some(false)
            }
            (Some(_), _) => return Ok(Vec::new()),
        };
        let within = match reach {
            Reach::Everywhere => None,
            Reach::Kelurahan(names) => Some(names.clone()),
            Reach::Nowhere => Some(Vec::new()),
        };
        let filter = CampaignHouseholdFilter {
            visited,
            kelurahan,
            within,
        };
        let rows = self
            .store
            .campaigns()
            .campaign_households(id, filter, page)
            .await?;
        Ok(rows
            .into_iter()
            .map(|household| CampaignHouseholdView {
                progress: VisitProgress::of(
                    household.visited_on.is_some(),
                    &view.campaign.deadline,
                    today,
                ),
                household,
            })
            .collect())
    }
}
