//! Finding a household (by KK, NIK, name or kelurahan) and reading one: address, status, the
//! history of changes with who, when and why, and its cards.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::web::form::PagePath;
use crate::web::format::Shows;
use crate::{
    domain::{locale::Locale, role::Permission},
    http::state::AppState,
    model::records::{CardRecord, HouseholdRecord, RevisionRecord},
    store::{HouseholdFilter, Page},
    web::{error::WebError, layout::Layout, session::SignedIn},
};

const PAGE_SIZE: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kelurahan: String,
    after: Option<uuid::Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "households.html", config = "src/web/askama.toml")]
pub struct SearchPage {
    layout: Layout,
    q: String,
    kelurahan: String,
    searched: bool,
    rows: Vec<HouseholdRecord>,
    next: Option<String>,
    can_register: bool,
}

impl SearchPage {
    fn status_key(&self, status: &str) -> &'static str {
        crate::web::status::status_key(status)
    }
}

/// What the search box holds: 16 digits are a KK or any member's NIK (tried in that order),
/// anything else part of the head's name.
fn filter(q: &str, kelurahan: &str) -> Vec<HouseholdFilter> {
    let q = q.trim();
    let kelurahan = Some(kelurahan.trim().to_string()).filter(|k| !k.is_empty());
    let base = HouseholdFilter {
        kelurahan,
        ..HouseholdFilter::default()
    };
    // A KK or NIK number, also as printed in groups ("6472 0109 …").
    if let Ok(number) = crate::domain::identity::KkNumber::parse_as_printed(q) {
        vec![
            HouseholdFilter {
                kk_number: Some(number.as_str().to_string()),
                ..base.clone()
            },
            HouseholdFilter {
                member_nik: Some(number.as_str().to_string()),
                ..base
            },
        ]
    } else if q.is_empty() {
        vec![base]
    } else {
        vec![HouseholdFilter {
            name_contains: Some(q.chars().take(crate::domain::limits::NAME_CHARS).collect()),
            ..base
        }]
    }
}

pub async fn search(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<SearchQuery>,
) -> Result<SearchPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    let searched = !query.q.trim().is_empty() || !query.kelurahan.trim().is_empty();
    let page = Page {
        after: query.after,
        limit: PAGE_SIZE,
    };
    let mut rows = Vec::new();
    if searched {
        for filter in filter(&query.q, &query.kelurahan) {
            rows = state.store.list_households(filter, page).await?;
            if !rows.is_empty() {
                break;
            }
        }
    }
    let next = (rows.len() == PAGE_SIZE as usize).then(|| {
        let last = rows
            .last()
            .map(|row| row.id.0.to_string())
            .unwrap_or_default();
        format!(
            "/households?q={}&kelurahan={}&after={last}",
            encode(&query.q),
            encode(&query.kelurahan)
        )
    });
    Ok(SearchPage {
        layout: Layout::new(&signed, "/households"),
        q: query.q,
        kelurahan: query.kelurahan,
        searched,
        rows,
        next,
        can_register: signed.role().may(Permission::ManageHouseholds),
    })
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "household.html", config = "src/web/askama.toml")]
pub struct HouseholdPage {
    layout: Layout,
    household: HouseholdRecord,
    /// Each change with the username of who made it.
    revisions: Vec<(RevisionRecord, String)>,
    cards: Vec<CardRecord>,
    /// Its authorised representatives, present and past (not for verifiers).
    representatives: Vec<crate::model::representatives::RepresentativeRecord>,
    /// The family card's people, the head first.
    members: Vec<crate::model::members::MemberRecord>,
    balances: Vec<crate::model::views::ProgramBalance>,
    purchases: Vec<crate::model::views::HouseholdPurchase>,
    /// Its change requests, newest first.
    requests: Vec<crate::model::change_requests::ChangeRequestRecord>,
    /// Its field visits, the latest first.
    visits: Vec<crate::model::visits::VisitRecord>,
    /// What this user may change here (auditors read only).
    can_edit: bool,
    can_manage_cards: bool,
    /// Whether this user sees the household's money and cards (not a verifier).
    sees_money: bool,
    can_visit: bool,
    can_complain: bool,
    /// Its complaints, newest first (not for verifiers).
    complaints: Vec<crate::model::complaints::ComplaintRecord>,
}

impl HouseholdPage {
    fn complaint_key(&self, category: &crate::domain::complaint::Category) -> String {
        crate::web::pages::complaints::category_key(*category)
    }

    fn outcome_key(&self, outcome: &crate::domain::visit::VisitOutcome) -> String {
        format!("visit-{}", outcome.as_str().replace('_', "-"))
    }

    /// Whether an open request holds the household's cards at the terminal.
    fn cards_held(&self) -> bool {
        self.requests
            .iter()
            .any(|r| r.blocks_cards && r.state.is_open() && r.state.as_str() != "draft")
    }

    fn request_state_key(
        &self,
        state: &crate::domain::change_request::RequestState,
    ) -> &'static str {
        crate::web::pages::change_requests::state_key(*state)
    }

    fn request_kind_key(&self, kind: &crate::domain::change_request::ChangeKind) -> &'static str {
        crate::web::pages::change_requests::kind_key(*kind)
    }

    fn state_key(&self, state: &Option<String>) -> &'static str {
        crate::web::status::purchase_key(state.as_deref().unwrap_or(""))
    }

    /// Whether the household may be given a new card of its own (none active or blocked; a
    /// representative's card is theirs).
    fn needs_card(&self) -> bool {
        !self.cards.iter().any(|card| {
            card.representative_id.is_none() && matches!(card.status.as_str(), "active" | "blocked")
        })
    }

    /// The representative a card was made for, by name.
    fn card_holder(&self, card: &CardRecord) -> Option<&str> {
        let id = card.representative_id?;
        self.representatives
            .iter()
            .find(|representative| representative.id == id)
            .map(|representative| representative.name.as_str())
    }

    fn representative_status(
        &self,
        representative: &crate::model::representatives::RepresentativeRecord,
    ) -> crate::domain::representative::RepresentativeStatus {
        representative.status_on(crate::business_day::local_today(chrono::Utc::now()))
    }

    fn representative_status_key(
        &self,
        representative: &crate::model::representatives::RepresentativeRecord,
    ) -> &'static str {
        crate::web::status::status_key(self.representative_status(representative).as_str())
    }

    fn representative_active(
        &self,
        representative: &crate::model::representatives::RepresentativeRecord,
    ) -> bool {
        self.representative_status(representative)
            == crate::domain::representative::RepresentativeStatus::Active
    }

    /// Whether another representative may be named (an active household with a free slot).
    fn may_name_representative(&self) -> bool {
        let active = self
            .representatives
            .iter()
            .filter(|representative| self.representative_active(representative))
            .count();
        self.can_manage_cards
            && self.household.status.as_str() == "active"
            && active < crate::domain::representative::PER_HOUSEHOLD
    }

    fn status_key(&self, status: &str) -> &'static str {
        crate::web::status::status_key(status)
    }

    fn relation_key(&self, relation: &crate::domain::member::Relation) -> &'static str {
        crate::web::pages::members::relation_key(*relation)
    }

    fn sex_key(&self, sex: &crate::domain::member::Sex) -> &'static str {
        match sex {
            crate::domain::member::Sex::Female => "sex-female",
            crate::domain::member::Sex::Male => "sex-male",
        }
    }

    /// A stored birth date (`YYYY-MM-DD`) as Indonesians write it.
    fn birth_date(&self, stored: &str) -> String {
        chrono::NaiveDate::parse_from_str(stored, "%Y-%m-%d")
            .map(|date| date.format("%d-%m-%Y").to_string())
            .unwrap_or_else(|_| stored.to_string())
    }

    /// Why a revision was made: the clerk's words, or for the registration (which the service
    /// records itself) the word in the reader's language.
    fn revision_reason(&self, revision: &crate::model::records::RevisionRecord) -> String {
        if revision.changes.0.get("registered").is_some() {
            self.layout.tr.t("household-registered")
        } else {
            revision.reason.clone()
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<HouseholdPage, WebError> {
    let household = signed.reach_household(&state, id).await?;
    let id = household.id;
    let mut revisions = Vec::new();
    let mut names: Vec<(crate::domain::ids::UserId, String)> = Vec::new();
    for revision in state.store.list_household_revisions(id).await? {
        let name = match names.iter().find(|(user, _)| *user == revision.changed_by) {
            Some((_, name)) => name.clone(),
            None => {
                let user = state
                    .store
                    .sessions()
                    .find_user(revision.changed_by)
                    .await?;
                let name = user.map_or_else(|| revision.changed_by.to_string(), |u| u.username);
                names.push((revision.changed_by, name.clone()));
                name
            }
        };
        revisions.push((revision, name));
    }
    let members = state.store.members().list_members(id).await?;
    // A verifier works on who lives where: never the household's money or cards.
    let sees_money = signed.role().may(Permission::ReadRegistry);
    let views = state.store.views();
    let (cards, representatives, balances, purchases) = if sees_money {
        (
            state.store.list_household_cards(id).await?,
            state
                .store
                .representatives()
                .list_representatives(id)
                .await?,
            views.household_balances(id).await?,
            views.household_purchases(id, 20).await?,
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new(), Vec::new())
    };
    Ok(HouseholdPage {
        layout: Layout::new(&signed, "/households"),
        household,
        revisions,
        cards,
        representatives,
        members,
        balances,
        purchases,
        requests: crate::web::pages::change_requests::of_household(&state, id).await?,
        visits: state.store.visits().list_visits(id).await?,
        can_edit: signed.role().may(Permission::ProposeChanges),
        can_manage_cards: signed.role().may(Permission::ManageCards),
        complaints: if sees_money {
            state
                .complaints
                .list(
                    crate::model::complaints::ComplaintFilter {
                        household_id: Some(id),
                        ..Default::default()
                    },
                    Page::first(50),
                )
                .await
                .map_err(|error| WebError::Internal(error.to_string()))?
        } else {
            Vec::new()
        },
        sees_money,
        can_visit: signed.role().may(Permission::RecordVisits),
        can_complain: signed.role().may(Permission::HandleComplaints),
    })
}

impl Shows for HouseholdPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_digits_are_a_kk_then_a_nik_anything_else_a_name() {
        let filters = filter("6472010101010001", "");
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].kk_number.as_deref(), Some("6472010101010001"));
        assert_eq!(filters[1].member_nik.as_deref(), Some("6472010101010001"));
        let by_name = filter(" siti ", "Sidodadi");
        assert_eq!(by_name[0].name_contains.as_deref(), Some("siti"));
        assert_eq!(by_name[0].kelurahan.as_deref(), Some("Sidodadi"));
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
