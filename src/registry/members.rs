//! Household members: who the family card lists, the head among them. Every change is a revision
//! of the household, made against the revision the clerk saw, with why. One NIK is in at most
//! one household that holds it (an exited household holds none): a conflict names the other
//! household, for the office to resolve (exit it, or correct the NIK).

use std::sync::Arc;

use chrono::NaiveDate;

use crate::{
    domain::{
        identity::Nik,
        ids::{HouseholdId, MemberId, UserId},
        limits::{NAME_CHARS, REASON_CHARS},
        member::{check_identity, parse_birth_date, Relation, Sex},
        text::bounded,
        Refusals,
    },
    model::members::{MemberChange, MemberData, MemberEdit, MemberRecord, NikHolder},
    store::{HouseholdRecord, Store, StoreError},
};

/// Why a member command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("household not found")]
    HouseholdNotFound,
    #[error("member not found in this household")]
    MemberNotFound,
    #[error("{0}")]
    Refused(Refusals),
    /// Another household holds the NIK.
    #[error("this NIK is listed in another household (KK {}, id {})", .0.kk_number, .0.household_id)]
    NikInOtherHousehold(NikHolder),
    #[error("this NIK is already listed in this household")]
    NikInThisHousehold,
    /// The head cannot leave, or stop being head, by this change: name another head first.
    #[error("the head of household stays head: name another member head first (POST …/head)")]
    HeadRequired,
    #[error("the household was changed by someone else; it is now at revision {actual}, reload and retry")]
    Stale { actual: i32 },
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for MemberError {
    fn from(refusals: Refusals) -> Self {
        MemberError::Refused(refusals)
    }
}

impl From<StoreError> for MemberError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::StaleRevision { actual, .. } => MemberError::Stale { actual },
            StoreError::NotFound {
                entity: "household",
            } => MemberError::HouseholdNotFound,
            StoreError::NotFound { entity: "member" } => MemberError::MemberNotFound,
            StoreError::Duplicate { constraint }
                if constraint == "household_members_nik_in_household" =>
            {
                MemberError::NikInThisHousehold
            }
            error => MemberError::Store(error),
        }
    }
}

/// A person as a change gives them, checked: the NIK's digits 7–12 must be the birth date and
/// sex given (a NIK typed wrong, or someone else's, is caught here).
#[derive(Debug, Clone)]
pub struct Person {
    data: MemberData,
}

impl Person {
    /// Refusals name the API's fields (`nik`, `name`, `relation`, `sex`, `birth_date`).
    pub fn parse(
        nik: &str,
        name: &str,
        relation: &str,
        sex: &str,
        birth_date: &str,
        today: NaiveDate,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let nik = refusals.check("nik", Nik::parse(nik.trim()));
        let name = refusals.check("name", bounded(name, NAME_CHARS, "name"));
        let relation = refusals.check("relation", Relation::parse(relation.trim()));
        let sex = refusals.check("sex", Sex::parse(sex.trim()));
        let birth_date = refusals.check("birth_date", parse_birth_date(birth_date, today));
        if let (Some(nik), Some(sex), Some(birth_date)) = (&nik, sex, birth_date) {
            if let Err(invalid) = check_identity(nik, sex, birth_date, today) {
                refusals.add("nik", invalid);
            }
        }
        let person = match (nik, name, relation, sex, birth_date) {
            (Some(nik), Some(name), Some(relation), Some(sex), Some(birth_date)) => Some(Self {
                data: MemberData {
                    nik: nik.as_str().to_string(),
                    name,
                    relation,
                    sex,
                    birth_date: birth_date.format("%Y-%m-%d").to_string(),
                },
            }),
            _ => None,
        };
        refusals.or_value(person)
    }

    pub fn relation(&self) -> Relation {
        self.data.relation
    }

    pub fn nik(&self) -> &str {
        &self.data.nik
    }
}

/// Why, checked.
pub fn parse_reason(reason: &str) -> Result<String, Refusals> {
    bounded(reason, REASON_CHARS, "reason").map_err(|invalid| Refusals::one("reason", invalid))
}

#[derive(Clone)]
pub struct Members {
    pub store: Arc<dyn Store>,
    /// Set when the changes made apply an approved change request (see [`Members::applying`]).
    pub approval: Option<crate::model::change_requests::RequestApproval>,
}

impl Members {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            approval: None,
        }
    }

    /// The same service, whose changes apply `approval`'s request: the store marks it applied in
    /// the change's own transaction.
    pub fn applying(&self, approval: crate::model::change_requests::RequestApproval) -> Self {
        Self {
            store: self.store.clone(),
            approval: Some(approval),
        }
    }

    /// The household's members, the head first.
    pub async fn list(&self, household: HouseholdId) -> Result<Vec<MemberRecord>, MemberError> {
        self.store
            .get_household(household)
            .await?
            .ok_or(MemberError::HouseholdNotFound)?;
        Ok(self.store.members().list_members(household).await?)
    }

    /// Adds a member (never a second head: see [`Members::make_head`]).
    pub async fn add(
        &self,
        household: HouseholdId,
        expected_revision: i32,
        person: Person,
        reason: String,
        actor: UserId,
    ) -> Result<HouseholdRecord, MemberError> {
        if person.relation() == Relation::Head {
            return Err(MemberError::HeadRequired);
        }
        let nik = person.data.nik.clone();
        self.apply(
            household,
            expected_revision,
            MemberEdit::Add(person.data),
            reason,
            actor,
            &nik,
        )
        .await
    }

    /// Corrects a member's data; the head's relation stays `head`, no one else's becomes it.
    pub async fn correct(
        &self,
        household: HouseholdId,
        member: MemberId,
        expected_revision: i32,
        person: Person,
        reason: String,
        actor: UserId,
    ) -> Result<HouseholdRecord, MemberError> {
        let current = self.member(household, member).await?;
        if (current.relation == Relation::Head) != (person.relation() == Relation::Head) {
            return Err(MemberError::HeadRequired);
        }
        let nik = person.data.nik.clone();
        let edit = MemberEdit::Correct {
            member,
            data: person.data,
        };
        self.apply(household, expected_revision, edit, reason, actor, &nik)
            .await
    }

    /// Takes a member off the household (moved away, deceased); never the head.
    pub async fn remove(
        &self,
        household: HouseholdId,
        member: MemberId,
        expected_revision: i32,
        reason: String,
        actor: UserId,
    ) -> Result<HouseholdRecord, MemberError> {
        let current = self.member(household, member).await?;
        if current.relation == Relation::Head {
            return Err(MemberError::HeadRequired);
        }
        self.apply(
            household,
            expected_revision,
            MemberEdit::Remove { member },
            reason,
            actor,
            "",
        )
        .await
    }

    /// Makes `member` the head. The former head stays as `former_head_relation`, or leaves the
    /// household when that is `None`.
    pub async fn make_head(
        &self,
        household: HouseholdId,
        member: MemberId,
        expected_revision: i32,
        former_head_relation: Option<Relation>,
        reason: String,
        actor: UserId,
    ) -> Result<HouseholdRecord, MemberError> {
        let current = self.member(household, member).await?;
        if former_head_relation == Some(Relation::Head) {
            return Err(Refusals::one(
                "former_head_relation",
                crate::domain::Invalid::new(
                    "invalid_relation",
                    "the former head takes another relation, or leaves (null)",
                ),
            )
            .into());
        }
        if current.relation == Relation::Head {
            // Already the head: nothing to change, and no empty revision.
            return self
                .store
                .get_household(household)
                .await?
                .ok_or(MemberError::HouseholdNotFound);
        }
        let edit = MemberEdit::MakeHead {
            member,
            former_head_relation,
        };
        self.apply(household, expected_revision, edit, reason, actor, "")
            .await
    }

    async fn member(
        &self,
        household: HouseholdId,
        member: MemberId,
    ) -> Result<MemberRecord, MemberError> {
        self.list(household)
            .await?
            .into_iter()
            .find(|m| m.id == member)
            .ok_or(MemberError::MemberNotFound)
    }

    async fn apply(
        &self,
        household: HouseholdId,
        expected_revision: i32,
        edit: MemberEdit,
        reason: String,
        actor: UserId,
        nik: &str,
    ) -> Result<HouseholdRecord, MemberError> {
        let change = MemberChange {
            household,
            expected_revision,
            edit,
            reason,
            actor,
            request: self.approval,
        };
        match self.store.members().change_members(change).await {
            Ok(record) => Ok(record),
            Err(StoreError::Duplicate { constraint })
                if constraint == "household_members_nik_held" =>
            {
                Err(self.held_elsewhere(nik, household).await)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The conflict for a NIK another household holds, naming it.
    async fn held_elsewhere(&self, nik: &str, household: HouseholdId) -> MemberError {
        match self.store.members().nik_holder(nik).await {
            Ok(Some(holder)) if holder.household_id != household => {
                MemberError::NikInOtherHousehold(holder)
            }
            Ok(_) => MemberError::NikInThisHousehold,
            Err(error) => error.into(),
        }
    }
}

/// The first of `niks` that another household than `household` holds, if any: for naming the
/// conflict when a registration or a return from `exited` is refused by the schema.
pub async fn first_held_elsewhere(
    store: &dyn Store,
    niks: &[String],
    household: Option<HouseholdId>,
) -> Result<Option<NikHolder>, StoreError> {
    for nik in niks {
        if let Some(holder) = store.members().nik_holder(nik).await? {
            if Some(holder.household_id) != household {
                return Ok(Some(holder));
            }
        }
    }
    Ok(None)
}
