//! Complaints: taken in at the office's desk (walk-in, phone) or from the beneficiary's own page
//! (`/saldo`), each linked to its household and, where there is one, to the card, the E-Warung
//! and the purchase (by its RRN, which must be the household's); assigned to an office user;
//! answered by its due date with an outcome and why.

use std::sync::Arc;

use chrono::Utc;

use crate::{
    domain::{
        complaint::{Category, Channel, Outcome, Severity},
        ids::{CardId, ComplaintId, EwarungId, HouseholdId, UserId},
        limits::REASON_CHARS,
        role::Permission,
        text::bounded,
        Invalid, Refusals,
    },
    model::complaints::{ComplaintFilter, ComplaintRecord, NewComplaint},
    registry::Read,
    store::{Page, Store, StoreError},
};

/// The longest description kept.
pub const DESCRIPTION_CHARS: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    #[error("complaint not found")]
    NotFound,
    #[error("household not found")]
    HouseholdNotFound,
    #[error("{0}")]
    Refused(Refusals),
    #[error("the complaint is resolved already")]
    Resolved,
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for ComplaintError {
    fn from(refusals: Refusals) -> Self {
        ComplaintError::Refused(refusals)
    }
}

impl From<StoreError> for ComplaintError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound {
                entity: "complaint",
            } => ComplaintError::NotFound,
            StoreError::StateConflict {
                entity: "complaint",
                ..
            } => ComplaintError::Resolved,
            error => ComplaintError::Store(error),
        }
    }
}

/// A complaint as taken in, checked; refusals name `category`, `severity`, `description`,
/// `ewarung_id`, `rrn`.
#[derive(Debug, Clone)]
pub struct Intake {
    category: Category,
    severity: Severity,
    description: String,
    ewarung: Option<EwarungId>,
    rrn: Option<String>,
    card: Option<CardId>,
}

impl Intake {
    pub fn parse(
        category: Read<Category>,
        severity: Option<Read<Severity>>,
        description: &str,
        ewarung: Option<EwarungId>,
        rrn: Option<&str>,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let category = refusals.check("category", category);
        let severity = match severity {
            Some(read) => refusals.check("severity", read),
            None => category.map(Category::default_severity),
        };
        let description = refusals.check(
            "description",
            bounded(description, DESCRIPTION_CHARS, "description"),
        );
        let rrn = rrn
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from);
        if let Some(rrn) = &rrn {
            if rrn.len() != 12 || !rrn.bytes().all(|b| b.is_ascii_digit()) {
                refusals.add(
                    "rrn",
                    Invalid::new("invalid_rrn", "an RRN is the 12 digits on the receipt"),
                );
            }
        }
        if let Some(category) = category {
            if category.names_ewarung() && ewarung.is_none() && rrn.is_none() {
                refusals.add(
                    "ewarung_id",
                    Invalid::new(
                        "ewarung_required",
                        "a complaint about a kiosk names the E-Warung (or the purchase's RRN)",
                    ),
                );
            }
        }
        let intake = match (category, severity, description) {
            (Some(category), Some(severity), Some(description)) if refusals.is_empty() => {
                Some(Self {
                    category,
                    severity,
                    description,
                    ewarung,
                    rrn,
                    card: None,
                })
            }
            _ => None,
        };
        refusals.or_value(intake)
    }

    /// The card the complaint is about (the one used on `/saldo`).
    pub fn with_card(mut self, card: CardId) -> Self {
        self.card = Some(card);
        self
    }
}

/// An outcome with why, checked.
pub fn resolution(outcome: Read<Outcome>, reason: &str) -> Result<(Outcome, String), Refusals> {
    let mut refusals = Refusals::default();
    let outcome = refusals.check("outcome", outcome);
    let reason = refusals.check("reason", bounded(reason, REASON_CHARS, "reason"));
    let resolved = match (outcome, reason) {
        (Some(outcome), Some(reason)) => Some((outcome, reason)),
        _ => None,
    };
    refusals.or_value(resolved)
}

#[derive(Clone)]
pub struct Complaints {
    pub store: Arc<dyn Store>,
}

impl Complaints {
    /// Files a complaint about `household`; `actor` is `None` for the beneficiary on `/saldo`.
    pub async fn file(
        &self,
        household: HouseholdId,
        intake: Intake,
        channel: Channel,
        actor: Option<UserId>,
    ) -> Result<ComplaintRecord, ComplaintError> {
        self.store
            .get_household(household)
            .await?
            .ok_or(ComplaintError::HouseholdNotFound)?;
        let mut ewarung = intake.ewarung;
        let mut card = intake.card;
        let mut redemption = None;
        if let Some(rrn) = &intake.rrn {
            let purchase = self.store.complaints().purchase_by_rrn(rrn).await?;
            let Some(purchase) = purchase.filter(|p| p.household_id == Some(household)) else {
                return Err(Refusals::one(
                    "rrn",
                    Invalid::new(
                        "rrn_not_this_household",
                        "no purchase of this household has this RRN",
                    ),
                )
                .into());
            };
            if ewarung.is_some_and(|named| named != purchase.ewarung_id) {
                return Err(Refusals::one(
                    "ewarung_id",
                    Invalid::new(
                        "ewarung_mismatch",
                        "the purchase with this RRN was at another E-Warung",
                    ),
                )
                .into());
            }
            ewarung = Some(purchase.ewarung_id);
            card = card.or(purchase.card_id);
            redemption = Some(purchase.redemption_id);
        }
        if let Some(named) = ewarung {
            self.store.get_ewarung(named).await?.ok_or_else(|| {
                Refusals::one(
                    "ewarung_id",
                    Invalid::new("unknown_reference", "no such E-Warung"),
                )
            })?;
        }
        let complaint = NewComplaint {
            household_id: household,
            card_id: card,
            ewarung_id: ewarung,
            redemption_id: redemption,
            rrn: intake.rrn,
            channel,
            category: intake.category,
            severity: intake.severity,
            description: intake.description,
            actor,
        };
        Ok(self
            .store
            .complaints()
            .file_complaint(complaint)
            .await?
            .as_of(Utc::now()))
    }

    pub async fn get(&self, id: ComplaintId) -> Result<ComplaintRecord, ComplaintError> {
        Ok(self
            .store
            .complaints()
            .get_complaint(id)
            .await?
            .ok_or(ComplaintError::NotFound)?
            .as_of(Utc::now()))
    }

    pub async fn list(
        &self,
        filter: ComplaintFilter,
        page: Page,
    ) -> Result<Vec<ComplaintRecord>, ComplaintError> {
        let now = Utc::now();
        Ok(self
            .store
            .complaints()
            .list_complaints(filter, page)
            .await?
            .into_iter()
            .map(|c| c.as_of(now))
            .collect())
    }

    /// Assigns an open complaint to an office user.
    pub async fn assign(
        &self,
        id: ComplaintId,
        assignee: UserId,
        actor: UserId,
    ) -> Result<ComplaintRecord, ComplaintError> {
        let user = self.store.sessions().find_user(assignee).await?;
        let handles = user
            .is_some_and(|u| u.disabled_at.is_none() && u.role.may(Permission::HandleComplaints));
        if !handles {
            return Err(Refusals::one(
                "user_id",
                Invalid::new(
                    "not_a_handler",
                    "complaints are assigned to an active office user",
                ),
            )
            .into());
        }
        Ok(self
            .store
            .complaints()
            .assign_complaint(id, assignee, actor)
            .await?
            .as_of(Utc::now()))
    }

    /// Resolves an open complaint with an outcome and why.
    pub async fn resolve(
        &self,
        id: ComplaintId,
        outcome: Outcome,
        reason: &str,
        actor: UserId,
    ) -> Result<ComplaintRecord, ComplaintError> {
        Ok(self
            .store
            .complaints()
            .resolve_complaint(id, outcome, reason, actor)
            .await?
            .as_of(Utc::now()))
    }
}
