//! Change requests: a change to a household's identity or eligibility is written as a request,
//! checked by the same rules the change itself will meet, and applied only when an office user
//! who did not write it approves. Approving runs the change through [`Households`] or
//! [`Members`] at the household revision the request was written against, and the store marks
//! the request applied in that change's transaction; a change the household's present state
//! refuses (someone changed it since, a NIK now held elsewhere) leaves the request submitted,
//! for the office to return or reject with why.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{
    domain::{
        change_request::{RequestState, Step},
        ids::{ChangeRequestId, HouseholdId, UserId},
        limits::REASON_CHARS,
        member::Relation,
        text::bounded,
        Invalid, Refusals,
    },
    model::{
        change_requests::{
            ChangeRequestFilter, ChangeRequestRecord, NewChangeRequest, Proposal, ProposedPerson,
            RequestApproval, RequestStep, RevisedChangeRequest,
        },
        members::MemberRecord,
    },
    registry::{
        households::{DataChange, HouseholdError, Households, Registration, StatusChange},
        members::{MemberError, Members, Person},
    },
    store::{HouseholdRecord, Page, Store, StoreError},
};

/// Why a request command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRequestError {
    #[error("change request not found")]
    NotFound,
    #[error("household not found")]
    HouseholdNotFound,
    #[error("member not found in this household")]
    MemberNotFound,
    /// Values of the request were refused, each beside its field.
    #[error("{0}")]
    Refused(Refusals),
    /// The request is not in a state the step starts from.
    #[error("{0}")]
    State(Invalid),
    /// Only the author submits and rewrites a request.
    #[error("only the author of a request submits or rewrites it")]
    NotAuthor,
    /// Four eyes: the author may not approve their own request.
    #[error("a request is approved by an office user other than its author")]
    OwnRequest,
    /// The household changed after the writer read it.
    #[error("the household was changed by someone else; it is now at revision {actual}, reload and retry")]
    Stale { actual: i32 },
    /// The same change is already proposed for the household and still open (a form sent
    /// twice): that request's number.
    #[error("the same change is already proposed for this household as request #{number}")]
    Duplicate { number: i64 },
    /// The household already has an open request to change its status.
    #[error("this household already has an open status request; decide that one first")]
    StatusRequestOpen,
    /// Applying the approved change was refused by the household's present state.
    #[error("{0}")]
    Household(HouseholdError),
    #[error("{0}")]
    Member(MemberError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for ChangeRequestError {
    fn from(refusals: Refusals) -> Self {
        ChangeRequestError::Refused(refusals)
    }
}

impl From<StoreError> for ChangeRequestError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { constraint }
                if constraint == "change_requests_one_open_status" =>
            {
                ChangeRequestError::StatusRequestOpen
            }
            error => ChangeRequestError::Store(error),
        }
    }
}

/// A request as written: the household it is about (none for a proposed household), the
/// proposed change and why.
#[derive(Debug, Clone)]
pub struct Draft {
    pub household_id: Option<HouseholdId>,
    pub proposal: Proposal,
    pub reason: String,
    /// The household revision the writer saw (a page's form); a newer one refuses the request
    /// as `Stale`, so a change made meanwhile in another tab is not proposed over.
    pub seen_revision: Option<i32>,
}

/// The proposed change, checked by the rules it will be applied under.
enum Checked {
    Data(DataChange),
    Status(StatusChange),
    MemberAdd(Person),
    MemberCorrect(crate::domain::ids::MemberId, Person),
    MemberRemove(crate::domain::ids::MemberId),
    Head(
        crate::domain::ids::MemberId,
        Option<crate::domain::member::Relation>,
    ),
    NewHousehold(Registration),
}

fn person(person: &ProposedPerson, today: chrono::NaiveDate) -> Result<Person, Refusals> {
    Person::parse(
        &person.nik,
        &person.name,
        &person.relation,
        &person.sex,
        &person.birth_date,
        today,
    )
}

/// Checks a proposal against the household's revision `base` and its members: the same
/// commands the change is applied with, so what passes here is refused later only by what
/// happened to the household since.
fn check(
    proposal: &Proposal,
    reason: &str,
    base: i32,
    members: &[MemberRecord],
    now: DateTime<Utc>,
) -> Result<Checked, ChangeRequestError> {
    let today = crate::business_day::local_today(now);
    let member_exists = |id| {
        members
            .iter()
            .find(|m| m.id == id)
            .ok_or(ChangeRequestError::MemberNotFound)
    };
    let checked = match proposal {
        Proposal::Data {
            head_nik: None,
            head_name: None,
            address: None,
        } => {
            return Err(Refusals::one(
                "proposal",
                Invalid::new("nothing_to_change", "the request changes nothing"),
            )
            .into())
        }
        Proposal::Data {
            head_nik,
            head_name,
            address,
        } => Checked::Data(DataChange::parse(
            base,
            head_nik.as_deref(),
            head_name.as_deref(),
            address.clone(),
            reason,
        )?),
        Proposal::Status { status, ground } => {
            if !ground.allows(*status) {
                return Err(Refusals::one(
                    "ground",
                    Invalid::new(
                        "status_ground_mismatch",
                        format!("a request on the ground {ground} cannot ask for {status}"),
                    ),
                )
                .into());
            }
            Checked::Status(StatusChange::parse(base, *status, reason)?)
        }
        Proposal::MemberAdd { member } => {
            let person = person(member, today)?;
            if person.relation() == Relation::Head {
                return Err(ChangeRequestError::Member(MemberError::HeadRequired));
            }
            if members.iter().any(|m| m.nik == person.nik()) {
                return Err(ChangeRequestError::Member(MemberError::NikInThisHousehold));
            }
            Checked::MemberAdd(person)
        }
        Proposal::MemberCorrect { member_id, member } => {
            let was_head = member_exists(*member_id)?.relation == Relation::Head;
            let person = person(member, today)?;
            if was_head != (person.relation() == Relation::Head) {
                return Err(ChangeRequestError::Member(MemberError::HeadRequired));
            }
            if members
                .iter()
                .any(|m| m.id != *member_id && m.nik == person.nik())
            {
                return Err(ChangeRequestError::Member(MemberError::NikInThisHousehold));
            }
            Checked::MemberCorrect(*member_id, person)
        }
        Proposal::MemberRemove { member_id } => {
            if member_exists(*member_id)?.relation == Relation::Head {
                return Err(ChangeRequestError::Member(MemberError::HeadRequired));
            }
            Checked::MemberRemove(*member_id)
        }
        Proposal::Head {
            member_id,
            former_head_relation,
        } => {
            member_exists(*member_id)?;
            Checked::Head(*member_id, *former_head_relation)
        }
        Proposal::NewHousehold {
            kk_number,
            head_nik,
            head_name,
            address,
        } => Checked::NewHousehold(Registration::parse(
            kk_number,
            head_nik,
            head_name,
            address.clone(),
        )?),
    };
    Ok(checked)
}

fn checked_reason(reason: &str) -> Result<String, Refusals> {
    bounded(reason, REASON_CHARS, "reason").map_err(|invalid| Refusals::one("reason", invalid))
}

fn checked_note(note: &str) -> Result<String, Refusals> {
    bounded(note, REASON_CHARS, "note").map_err(|invalid| Refusals::one("note", invalid))
}

#[derive(Clone)]
pub struct ChangeRequests {
    pub store: Arc<dyn Store>,
    pub households: Households,
    pub members: Members,
}

/// What a request is written against: the household's revision and kelurahan.
struct Basis {
    revision: Option<i32>,
    kelurahan: String,
}

impl ChangeRequests {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            households: Households::new(store.clone()),
            members: Members::new(store.clone()),
            store,
        }
    }

    pub async fn get(
        &self,
        id: ChangeRequestId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        self.store
            .change_requests()
            .get_change_request(id)
            .await?
            .ok_or(ChangeRequestError::NotFound)
    }

    pub async fn list(
        &self,
        filter: ChangeRequestFilter,
        page: Page,
    ) -> Result<Vec<ChangeRequestRecord>, ChangeRequestError> {
        Ok(self
            .store
            .change_requests()
            .list_change_requests(filter, page)
            .await?)
    }

    /// Checks a draft against its household now: its revision, kelurahan and members.
    async fn basis(&self, draft: &Draft) -> Result<Basis, ChangeRequestError> {
        let reason = checked_reason(&draft.reason)?;
        let now = Utc::now();
        match (&draft.proposal, draft.household_id) {
            (Proposal::NewHousehold { address, .. }, None) => {
                check(&draft.proposal, &reason, 0, &[], now)?;
                self.refuse_nik_held_elsewhere(&draft.proposal, None)
                    .await?;
                Ok(Basis {
                    revision: None,
                    kelurahan: address.kelurahan.trim().to_string(),
                })
            }
            (Proposal::NewHousehold { .. }, Some(_)) => Err(Refusals::one(
                "household_id",
                Invalid::new(
                    "unexpected_household",
                    "a proposed household names no existing household",
                ),
            )
            .into()),
            (_, None) => Err(Refusals::one(
                "household_id",
                Invalid::new(
                    "household_required",
                    "name the household the request is about",
                ),
            )
            .into()),
            (_, Some(id)) => {
                let household = self.household(id).await?;
                if draft
                    .seen_revision
                    .is_some_and(|seen| seen != household.revision)
                {
                    return Err(ChangeRequestError::Stale {
                        actual: household.revision,
                    });
                }
                let members = self.store.members().list_members(id).await?;
                check(&draft.proposal, &reason, household.revision, &members, now)?;
                self.refuse_nik_held_elsewhere(&draft.proposal, Some(id))
                    .await?;
                Ok(Basis {
                    revision: Some(household.revision),
                    kelurahan: household.address.kelurahan,
                })
            }
        }
    }

    /// Refuses a proposal that names a person another household holds, naming that household,
    /// so the writer hears it now rather than when the request is approved (where the schema
    /// refuses it anyway: a NIK taken meanwhile is caught there).
    async fn refuse_nik_held_elsewhere(
        &self,
        proposal: &Proposal,
        household: Option<HouseholdId>,
    ) -> Result<(), ChangeRequestError> {
        let (nik, is_member_change) = match proposal {
            Proposal::MemberAdd { member } | Proposal::MemberCorrect { member, .. } => {
                (member.nik.trim(), true)
            }
            Proposal::Data {
                head_nik: Some(nik),
                ..
            } => (nik.trim(), false),
            Proposal::NewHousehold { head_nik, .. } => (head_nik.trim(), false),
            _ => return Ok(()),
        };
        match self.store.members().nik_holder(nik).await? {
            Some(holder) if Some(holder.household_id) != household => Err(if is_member_change {
                ChangeRequestError::Member(MemberError::NikInOtherHousehold(holder))
            } else {
                ChangeRequestError::Household(HouseholdError::NikInOtherHousehold(holder))
            }),
            _ => Ok(()),
        }
    }

    async fn household(&self, id: HouseholdId) -> Result<HouseholdRecord, ChangeRequestError> {
        self.store
            .get_household(id)
            .await?
            .ok_or(ChangeRequestError::HouseholdNotFound)
    }

    /// Writes a request, as a draft or submitted at once (audited).
    pub async fn propose(
        &self,
        draft: Draft,
        submit: bool,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let basis = self.basis(&draft).await?;
        if let Some(household) = draft.household_id {
            let open = ChangeRequestFilter {
                household_id: Some(household),
                ..ChangeRequestFilter::default()
            };
            let same = self
                .list(open, Page::first(Page::MAX_LIMIT))
                .await?
                .into_iter()
                .find(|r| r.state.is_open() && r.proposal == draft.proposal);
            if let Some(same) = same {
                return Err(ChangeRequestError::Duplicate {
                    number: same.number,
                });
            }
        }
        let request = NewChangeRequest {
            household_id: draft.household_id,
            proposal: draft.proposal,
            reason: draft.reason.trim().to_string(),
            base_revision: basis.revision,
            kelurahan: basis.kelurahan,
            submit,
            actor,
        };
        Ok(self
            .store
            .change_requests()
            .create_change_request(request)
            .await?)
    }

    /// Rewrites a draft or returned request (its author only), against the household as it is
    /// now.
    pub async fn revise(
        &self,
        id: ChangeRequestId,
        proposal: Proposal,
        reason: String,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let current = self.get(id).await?;
        if current.created_by != actor {
            return Err(ChangeRequestError::NotAuthor);
        }
        if !matches!(current.state, RequestState::Draft | RequestState::Returned) {
            return Err(ChangeRequestError::State(Invalid::new(
                "request_state",
                format!("a {} request cannot be rewritten", current.state),
            )));
        }
        let draft = Draft {
            household_id: current.household_id,
            proposal,
            reason,
            seen_revision: None,
        };
        let basis = self.basis(&draft).await?;
        let revised = RevisedChangeRequest {
            id,
            proposal: draft.proposal,
            reason: draft.reason.trim().to_string(),
            base_revision: basis.revision,
            kelurahan: basis.kelurahan,
            actor,
        };
        Ok(self
            .store
            .change_requests()
            .revise_change_request(revised)
            .await?)
    }

    /// Submits a draft or returned request (its author only).
    pub async fn submit(
        &self,
        id: ChangeRequestId,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let current = self.get(id).await?;
        if current.created_by != actor {
            return Err(ChangeRequestError::NotAuthor);
        }
        self.step(current, Step::Submit, actor, None).await
    }

    /// Returns a submitted request to its author for correction, saying what to correct.
    pub async fn return_for_correction(
        &self,
        id: ChangeRequestId,
        note: &str,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let note = checked_note(note)?;
        let current = self.get(id).await?;
        self.step(current, Step::Return, actor, Some(note)).await
    }

    /// Rejects a submitted request, with why; a hold it put on the household's cards ends.
    pub async fn reject(
        &self,
        id: ChangeRequestId,
        note: &str,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let note = checked_note(note)?;
        let current = self.get(id).await?;
        self.step(current, Step::Reject, actor, Some(note)).await
    }

    async fn step(
        &self,
        current: ChangeRequestRecord,
        step: Step,
        actor: UserId,
        note: Option<String>,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let to = current
            .state
            .after(step)
            .map_err(ChangeRequestError::State)?;
        let step = RequestStep {
            id: current.id,
            from: current.state,
            to,
            actor,
            note,
        };
        match self.store.change_requests().step_change_request(step).await {
            Err(StoreError::StateConflict { actual, .. }) => {
                Err(ChangeRequestError::State(Invalid::new(
                    "request_state",
                    format!("the request is {actual} now; reload it"),
                )))
            }
            other => Ok(other?),
        }
    }

    /// Approves a submitted request (never its author's own) and applies it: the household
    /// change and the request's `applied` are one transaction.
    pub async fn approve(
        &self,
        id: ChangeRequestId,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let current = self.get(id).await?;
        current
            .state
            .after(Step::Approve)
            .map_err(ChangeRequestError::State)?;
        if current.created_by == actor {
            return Err(ChangeRequestError::OwnRequest);
        }
        let members = match current.household_id {
            Some(household) => self.store.members().list_members(household).await?,
            None => Vec::new(),
        };
        let base = current.base_revision.unwrap_or(0);
        let checked = check(
            &current.proposal,
            &current.reason,
            base,
            &members,
            Utc::now(),
        )?;
        let approval = RequestApproval {
            request: id,
            approver: actor,
        };
        let households = self.households.applying(approval);
        let people = self.members.applying(approval);
        let reason = current.reason.clone();
        let household = current.household_id.unwrap_or_default();
        // Each change fails in its own service's terms; a store failure is told apart (the
        // request decided meanwhile), anything else is the change's own refusal.
        let refused: Option<ChangeRequestError> = match checked {
            Checked::Data(change) => {
                household_refusal(households.change_data(household, change, actor).await)
            }
            Checked::Status(change) => {
                household_refusal(households.change_status(household, change, actor).await)
            }
            Checked::NewHousehold(registration) => {
                household_refusal(households.register(registration, actor).await)
            }
            Checked::MemberAdd(person) => {
                member_refusal(people.add(household, base, person, reason, actor).await)
            }
            Checked::MemberCorrect(member, person) => member_refusal(
                people
                    .correct(household, member, base, person, reason, actor)
                    .await,
            ),
            Checked::MemberRemove(member) => {
                member_refusal(people.remove(household, member, base, reason, actor).await)
            }
            Checked::Head(member, former) => member_refusal(
                people
                    .make_head(household, member, base, former, reason, actor)
                    .await,
            ),
        };
        match refused {
            None => self.applied(id, actor).await,
            Some(ChangeRequestError::Store(error)) => Err(self.conflict(error, id).await),
            Some(error) => Err(error),
        }
    }

    /// The request after approval. A change that made no difference (the household already
    /// says what the request proposes) writes no revision, so nothing marked the request: it
    /// is then marked here, still only from `submitted`.
    async fn applied(
        &self,
        id: ChangeRequestId,
        actor: UserId,
    ) -> Result<ChangeRequestRecord, ChangeRequestError> {
        let request = self.get(id).await?;
        let (RequestState::Submitted, Some(household)) = (request.state, request.household_id)
        else {
            return Ok(request);
        };
        let revision = self.household(household).await?.revision;
        let approval = RequestApproval {
            request: id,
            approver: actor,
        };
        match self
            .store
            .change_requests()
            .mark_unchanged_applied(approval, household, revision)
            .await
        {
            Ok(()) => self.get(id).await,
            Err(error) => Err(self.conflict(error, id).await),
        }
    }

    /// The request was decided by someone else meanwhile (the store refused to mark it).
    async fn conflict(&self, error: StoreError, id: ChangeRequestId) -> ChangeRequestError {
        match error {
            StoreError::StateConflict { .. } => match self.get(id).await {
                Ok(now) => ChangeRequestError::State(Invalid::new(
                    "request_state",
                    format!("the request is {} now; reload it", now.state),
                )),
                Err(error) => error,
            },
            error => error.into(),
        }
    }

    /// Approves each of `ids` in turn; one refused does not stop the others.
    pub async fn approve_many(
        &self,
        ids: &[ChangeRequestId],
        actor: UserId,
    ) -> Vec<(
        ChangeRequestId,
        Result<ChangeRequestRecord, ChangeRequestError>,
    )> {
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            outcomes.push((*id, self.approve(*id, actor).await));
        }
        outcomes
    }
}

/// A household service's refusal as the request's, if it refused.
fn household_refusal<T>(done: Result<T, HouseholdError>) -> Option<ChangeRequestError> {
    match done {
        Ok(_) => None,
        Err(HouseholdError::Store(error)) => Some(ChangeRequestError::Store(error)),
        Err(error) => Some(ChangeRequestError::Household(error)),
    }
}

/// A members service's refusal as the request's, if it refused.
fn member_refusal<T>(done: Result<T, MemberError>) -> Option<ChangeRequestError> {
    match done {
        Ok(_) => None,
        Err(MemberError::Store(error)) => Some(ChangeRequestError::Store(error)),
        Err(error) => Some(ChangeRequestError::Member(error)),
    }
}
