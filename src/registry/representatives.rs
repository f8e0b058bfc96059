//! Authorised representatives: an office names an adult to buy on a household's entitlement
//! with a card and PIN of their own, valid until a date; revoking ends it at once (the card is
//! blocked in the same transaction, and the terminal also refuses a representative's card past
//! its last day with code 54). Who may not be named (an E-Warung's owner or operator, someone
//! already representing two households, a third representative) is checked by the store in the
//! naming transaction.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};

use crate::{
    cards::{CardError, Cards, Issued},
    domain::{
        identity::Nik,
        ids::{HouseholdId, RepresentativeId, UserId},
        limits::{NAME_CHARS, REASON_CHARS},
        member::{check_identity, parse_birth_date, Relation, Sex},
        pin::Pin,
        representative::{check_adult, parse_valid_until},
        text::bounded,
        Refusals,
    },
    model::representatives::{
        NamingConflict, NewRepresentative, RepresentativeEnd, RepresentativeRecord,
    },
    registry::Read,
    store::{Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum RepresentativeError {
    #[error("representative not found")]
    NotFound,
    #[error("household not found")]
    HouseholdNotFound,
    #[error("{0}")]
    Refused(Refusals),
    #[error("{}", conflict_text(.0))]
    Conflict(NamingConflict),
    /// Revoking a representative who is already revoked or expired.
    #[error("the representative is already {0}")]
    AlreadyEnded(String),
    #[error(transparent)]
    Card(CardError),
    #[error(transparent)]
    Store(StoreError),
}

fn conflict_text(conflict: &NamingConflict) -> String {
    match conflict {
        NamingConflict::HouseholdNotActive(status) => {
            format!("the household is {status}; only an active household names representatives")
        }
        NamingConflict::HouseholdFull => {
            "the household already has two representatives; revoke one first".into()
        }
        NamingConflict::AlreadyRepresents => "this person already represents the household".into(),
        NamingConflict::RepresentsTwo => {
            "this person already represents two households (theirs and one other)".into()
        }
        NamingConflict::EwarungOwner => "this person owns an E-Warung".into(),
        NamingConflict::Operator => "this person operates an E-Warung".into(),
    }
}

impl From<Refusals> for RepresentativeError {
    fn from(refusals: Refusals) -> Self {
        RepresentativeError::Refused(refusals)
    }
}

impl From<StoreError> for RepresentativeError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound {
                entity: "representative",
            } => RepresentativeError::NotFound,
            StoreError::NotFound {
                entity: "household",
            } => RepresentativeError::HouseholdNotFound,
            StoreError::StateConflict {
                entity: "representative",
                actual,
            } => RepresentativeError::AlreadyEnded(actual),
            error => RepresentativeError::Store(error),
        }
    }
}

impl From<CardError> for RepresentativeError {
    fn from(error: CardError) -> Self {
        match error {
            CardError::Store(store) => store.into(),
            CardError::HouseholdNotFound => RepresentativeError::HouseholdNotFound,
            error => RepresentativeError::Card(error),
        }
    }
}

/// A representative as named, checked; refusals name `nik`, `name`, `sex`, `birth_date`,
/// `relation`, `valid_until`.
#[derive(Debug, Clone)]
pub struct Naming {
    nik: Nik,
    name: String,
    sex: Sex,
    birth_date: NaiveDate,
    relation: Relation,
    valid_until: NaiveDate,
    today: NaiveDate,
}

impl Naming {
    pub fn parse(
        nik: &str,
        name: &str,
        sex: Read<Sex>,
        birth_date: &str,
        relation: Read<Relation>,
        valid_until: &str,
    ) -> Result<Self, Refusals> {
        let today = crate::business_day::local_today(Utc::now());
        let mut refusals = Refusals::default();
        let nik = refusals.check("nik", Nik::parse(nik));
        let name = refusals.check("name", bounded(name, NAME_CHARS, "name"));
        let sex = refusals.check("sex", sex);
        let birth_date = refusals.check("birth_date", parse_birth_date(birth_date, today));
        let relation = refusals.check("relation", relation);
        let valid_until = refusals.check("valid_until", parse_valid_until(valid_until, today));
        if let (Some(nik), Some(sex), Some(birth_date)) = (&nik, sex, birth_date) {
            if refusals
                .check("nik", check_identity(nik, sex, birth_date, today))
                .is_some()
            {
                refusals.check("birth_date", check_adult(birth_date, today));
            }
        }
        let naming = match (nik, name, sex, birth_date, relation, valid_until) {
            (
                Some(nik),
                Some(name),
                Some(sex),
                Some(birth_date),
                Some(relation),
                Some(valid_until),
            ) => Some(Self {
                nik,
                name,
                sex,
                birth_date,
                relation,
                valid_until,
                today,
            }),
            _ => None,
        };
        refusals.or_value(naming)
    }
}

/// A reason for revoking, checked (the refusal under `reason`).
pub fn revocation_reason(typed: &str) -> Result<String, Refusals> {
    bounded(typed, REASON_CHARS, "reason").map_err(|invalid| Refusals::one("reason", invalid))
}

/// A representative just named, with their card: the only time its full number is shown.
pub struct Named {
    pub representative: RepresentativeRecord,
    pub issued: Issued,
}

#[derive(Clone)]
pub struct Representatives {
    pub store: Arc<dyn Store>,
    pub cards: Cards,
}

impl Representatives {
    /// Names a representative of `household` and issues their card with its first PIN.
    pub async fn name(
        &self,
        household: HouseholdId,
        naming: Naming,
        pin: &Pin,
        actor: UserId,
    ) -> Result<Named, RepresentativeError> {
        let id = RepresentativeId::new();
        let representative = NewRepresentative {
            id,
            household,
            nik: naming.nik,
            name: naming.name,
            sex: naming.sex,
            birth_date: naming.birth_date,
            relation: naming.relation,
            valid_until: naming.valid_until,
            actor,
            today: naming.today,
        };
        let (named, pan) = self
            .cards
            .with_fresh_number(pin, household, Some(id), |card| {
                let (store, representative) = (self.store.clone(), representative.clone());
                async move {
                    store
                        .representatives()
                        .name_representative(representative, card)
                        .await
                }
            })
            .await?;
        let (representative, card) = named.map_err(RepresentativeError::Conflict)?;
        tracing::info!(card = %pan, household = %household, "representative named");
        Ok(Named {
            representative,
            issued: Issued { card, pan },
        })
    }

    /// Ends a representative's authority now and blocks their card.
    pub async fn revoke(
        &self,
        id: RepresentativeId,
        reason: String,
        actor: UserId,
    ) -> Result<RepresentativeRecord, RepresentativeError> {
        let end = RepresentativeEnd { id, reason, actor };
        Ok(self
            .store
            .representatives()
            .revoke_representative(end)
            .await?)
    }

    pub async fn get(
        &self,
        id: RepresentativeId,
    ) -> Result<RepresentativeRecord, RepresentativeError> {
        self.store
            .representatives()
            .get_representative(id)
            .await?
            .ok_or(RepresentativeError::NotFound)
    }

    /// A household's representatives, present and past, the latest named first.
    pub async fn of_household(
        &self,
        household: HouseholdId,
    ) -> Result<Vec<RepresentativeRecord>, RepresentativeError> {
        Ok(self
            .store
            .representatives()
            .list_representatives(household)
            .await?)
    }
}
