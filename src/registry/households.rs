//! Households: registering one, changing its data, changing its status. Every change is a
//! revision with who, when, what and why, made against the revision the clerk saw (optimistic
//! locking: a newer one refuses the change).

use std::sync::Arc;

use crate::{
    domain::{
        household::{Address, HouseholdStatus},
        identity::{KkNumber, Nik},
        ids::{HouseholdId, UserId},
        limits::{NAME_CHARS, REASON_CHARS},
        text::bounded,
        Refusals,
    },
    model::change_requests::RequestApproval,
    store::{HouseholdChange, HouseholdRecord, NewHousehold, RevisionRecord, Store, StoreError},
};

/// Why a household command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum HouseholdError {
    #[error("household not found")]
    NotFound,
    /// Values of the command were refused, each beside its field.
    #[error("{0}")]
    Refused(Refusals),
    #[error("a household with that KK number is registered")]
    KkNumberRegistered,
    /// Another household holds a NIK this one would (its head's, or on a return from exited,
    /// any member's).
    #[error("this NIK is listed in another household (KK {}, id {})", .0.kk_number, .0.household_id)]
    NikInOtherHousehold(crate::model::members::NikHolder),
    /// Someone changed the household after the clerk read it.
    #[error("the household was changed by someone else; it is now at revision {actual}, reload and retry")]
    Stale { actual: i32 },
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for HouseholdError {
    fn from(refusals: Refusals) -> Self {
        HouseholdError::Refused(refusals)
    }
}

impl From<StoreError> for HouseholdError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { constraint } if constraint == "households_kk_number_key" => {
                HouseholdError::KkNumberRegistered
            }
            StoreError::StaleRevision { actual, .. } => HouseholdError::Stale { actual },
            StoreError::NotFound {
                entity: "household",
            } => HouseholdError::NotFound,
            error => HouseholdError::Store(error),
        }
    }
}

/// A new household, checked.
#[derive(Debug)]
pub struct Registration {
    kk_number: KkNumber,
    head_nik: Nik,
    head_name: String,
    address: Address,
}

impl Registration {
    /// Checks every value; the refusals name the API's fields (`kk_number`, `address.rt`).
    pub fn parse(
        kk_number: &str,
        head_nik: &str,
        head_name: &str,
        address: Address,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let kk_number = refusals.check("kk_number", KkNumber::parse(kk_number));
        let head_nik = refusals.check("head_nik", Nik::parse(head_nik));
        let head_name = refusals.check("head_name", bounded(head_name, NAME_CHARS, "head_name"));
        let address = refusals.merge(address.normalised());
        let registration = match (kk_number, head_nik, head_name, address) {
            (Some(kk_number), Some(head_nik), Some(head_name), Some(address)) => Some(Self {
                kk_number,
                head_nik,
                head_name,
                address,
            }),
            _ => None,
        };
        refusals.or_value(registration)
    }
}

/// A change of a household's data (the parts given), against the revision the clerk saw.
#[derive(Debug)]
pub struct DataChange {
    expected_revision: i32,
    head_nik: Option<Nik>,
    head_name: Option<String>,
    address: Option<Address>,
    reason: String,
}

impl DataChange {
    pub fn parse(
        expected_revision: i32,
        head_nik: Option<&str>,
        head_name: Option<&str>,
        address: Option<Address>,
        reason: &str,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let head_nik = head_nik.map(|nik| refusals.check("head_nik", Nik::parse(nik)));
        let head_name = head_name
            .map(|name| refusals.check("head_name", bounded(name, NAME_CHARS, "head_name")));
        let address = address.map(|address| refusals.merge(address.normalised()));
        let reason = refusals.check("reason", bounded(reason, REASON_CHARS, "reason"));
        let change = reason.map(|reason| Self {
            expected_revision,
            head_nik: head_nik.flatten(),
            head_name: head_name.flatten(),
            address: address.flatten(),
            reason,
        });
        refusals.or_value(change)
    }
}

/// A change of a household's status, with why.
#[derive(Debug)]
pub struct StatusChange {
    expected_revision: i32,
    status: HouseholdStatus,
    reason: String,
}

impl StatusChange {
    pub fn parse(
        expected_revision: i32,
        status: HouseholdStatus,
        reason: &str,
    ) -> Result<Self, Refusals> {
        let reason = bounded(reason, REASON_CHARS, "reason")
            .map_err(|invalid| Refusals::one("reason", invalid))?;
        Ok(Self {
            expected_revision,
            status,
            reason,
        })
    }
}

#[derive(Clone)]
pub struct Households {
    pub store: Arc<dyn Store>,
    /// Set when the changes made apply an approved change request (see [`Households::applying`]).
    pub approval: Option<RequestApproval>,
}

impl Households {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            approval: None,
        }
    }

    /// The same service, whose changes apply `approval`'s request: the store marks it applied in
    /// the change's own transaction.
    pub fn applying(&self, approval: RequestApproval) -> Self {
        Self {
            store: self.store.clone(),
            approval: Some(approval),
        }
    }

    pub async fn get(&self, id: HouseholdId) -> Result<HouseholdRecord, HouseholdError> {
        self.store
            .get_household(id)
            .await?
            .ok_or(HouseholdError::NotFound)
    }

    /// Registers a household (audited as `household.register`).
    pub async fn register(
        &self,
        registration: Registration,
        actor: UserId,
    ) -> Result<HouseholdRecord, HouseholdError> {
        let household = NewHousehold {
            kk_number: registration.kk_number.as_str().to_string(),
            head_nik: registration.head_nik.as_str().to_string(),
            head_name: registration.head_name,
            address: registration.address,
            request: self.approval,
        };
        let head_nik = household.head_nik.clone();
        match self.store.create_household(household, actor).await {
            Err(error) if holds_nik_elsewhere(&error) => {
                Err(self.name_holder(vec![head_nik], None, error).await)
            }
            other => Ok(other?),
        }
    }

    pub async fn change_data(
        &self,
        id: HouseholdId,
        change: DataChange,
        actor: UserId,
    ) -> Result<HouseholdRecord, HouseholdError> {
        let change = HouseholdChange {
            id,
            expected_revision: change.expected_revision,
            head_nik: change.head_nik.map(|nik| nik.as_str().to_string()),
            head_name: change.head_name,
            address: change.address,
            status: None,
            reason: change.reason,
            actor,
            request: self.approval,
        };
        self.update(change).await
    }

    pub async fn change_status(
        &self,
        id: HouseholdId,
        change: StatusChange,
        actor: UserId,
    ) -> Result<HouseholdRecord, HouseholdError> {
        let change = HouseholdChange {
            id,
            expected_revision: change.expected_revision,
            head_nik: None,
            head_name: None,
            address: None,
            status: Some(change.status),
            reason: change.reason,
            actor,
            request: self.approval,
        };
        self.update(change).await
    }

    /// The household's revisions, oldest first.
    pub async fn revisions(&self, id: HouseholdId) -> Result<Vec<RevisionRecord>, HouseholdError> {
        self.get(id).await?;
        Ok(self.store.list_household_revisions(id).await?)
    }

    async fn update(&self, change: HouseholdChange) -> Result<HouseholdRecord, HouseholdError> {
        let id = change.id;
        let new_head_nik = change.head_nik.clone();
        match self.store.update_household(change).await {
            Err(error) if holds_nik_elsewhere(&error) => {
                // The new head NIK, or (coming back from exited) any member's.
                let members = self.store.members().list_members(id).await?;
                let niks: Vec<String> = new_head_nik
                    .into_iter()
                    .chain(members.into_iter().map(|m| m.nik))
                    .collect();
                Err(self.name_holder(niks, Some(id), error).await)
            }
            other => Ok(other?),
        }
    }

    /// The conflict naming the household that holds one of `niks`.
    async fn name_holder(
        &self,
        niks: Vec<String>,
        household: Option<HouseholdId>,
        error: StoreError,
    ) -> HouseholdError {
        match crate::registry::members::first_held_elsewhere(self.store.as_ref(), &niks, household)
            .await
        {
            Ok(Some(holder)) => HouseholdError::NikInOtherHousehold(holder),
            Ok(None) => error.into(),
            Err(lookup) => lookup.into(),
        }
    }
}

fn holds_nik_elsewhere(error: &StoreError) -> bool {
    matches!(error, StoreError::Duplicate { constraint } if constraint == "household_members_nik_held")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(rt: &str, kelurahan: &str) -> Address {
        Address {
            street: "Jl. Pahlawan 3".into(),
            rt: rt.into(),
            rw: "3".into(),
            kelurahan: kelurahan.into(),
            kecamatan: "Samarinda Ulu".into(),
        }
    }

    #[test]
    fn every_refused_value_is_kept_beside_its_field() {
        let refused =
            Registration::parse("123", "6472015501800001", " ", address("1234", "")).unwrap_err();
        let fields: Vec<&str> = refused.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            ["kk_number", "head_name", "address.rt", "address.kelurahan"]
        );
        assert_eq!(refused.first().unwrap().1.code, "invalid_kk_number");
    }

    #[test]
    fn a_registration_is_normalised() {
        let registration = Registration::parse(
            "6472012345678901",
            "6472015501800001",
            "  Siti Aminah ",
            address("12", "Air Hitam"),
        )
        .unwrap();
        assert_eq!(registration.head_name, "Siti Aminah");
        assert_eq!(registration.address.rt, "012");
    }

    #[test]
    fn a_change_needs_a_reason_and_checks_only_what_it_changes() {
        let refused = DataChange::parse(1, None, None, None, "").unwrap_err();
        assert_eq!(refused.first().unwrap().0, "reason");
        let change = DataChange::parse(1, None, Some("Budi"), None, "pindah").unwrap();
        assert!(change.head_nik.is_none() && change.address.is_none());
    }
}
