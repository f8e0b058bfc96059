//! Cards at the office desk: issuing (the PIN typed twice, then the card letter with the full
//! number shown this once), blocking and unblocking with a reason, lifting a PIN lock, resetting
//! a PIN, reporting a card lost and replacing it. Everything that blocks or replaces asks for
//! confirmation first.
//! The same `cards::Cards` service as the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::web::form::PageForm;
use crate::{
    cards::{CardError, Issued},
    domain::{
        card::CardStatus,
        ids::{CardId, HouseholdId},
        pin::Pin,
        role::Permission,
        text::bounded,
    },
    http::state::AppState,
    model::records::{CardRecord, HouseholdRecord},
    web::{error::WebError, form::FieldErrors, layout::Layout, session::SignedIn},
};

/// What a card page can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAction {
    Block,
    /// The card is reported lost: it stops working at once and can only be replaced.
    Lost,
    Unblock,
    Unlock,
    ResetPin,
    Replace,
}

impl CardAction {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "block" => CardAction::Block,
            "lost" => CardAction::Lost,
            "unblock" => CardAction::Unblock,
            "unlock" => CardAction::Unlock,
            "pin" => CardAction::ResetPin,
            "replace" => CardAction::Replace,
            _ => return None,
        })
    }

    fn path(self) -> &'static str {
        match self {
            CardAction::Block => "block",
            CardAction::Lost => "lost",
            CardAction::Unblock => "unblock",
            CardAction::Unlock => "unlock",
            CardAction::ResetPin => "pin",
            CardAction::Replace => "replace",
        }
    }

    fn key(self) -> &'static str {
        match self {
            CardAction::Block => "action-block",
            CardAction::Lost => "action-report-lost",
            CardAction::Unblock => "action-unblock",
            CardAction::Unlock => "action-unlock",
            CardAction::ResetPin => "action-reset-pin",
            CardAction::Replace => "action-replace",
        }
    }

    fn needs_reason(self) -> bool {
        matches!(
            self,
            CardAction::Block | CardAction::Lost | CardAction::Unblock | CardAction::Replace
        )
    }

    fn needs_pin(self) -> bool {
        matches!(self, CardAction::ResetPin | CardAction::Replace)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CardFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_again: String,
}

/// The PIN typed twice, or the error to show beside it.
fn pin_twice(signed: &SignedIn, fields: &CardFields, errors: &mut FieldErrors) -> Option<Pin> {
    let tr = signed.tr();
    match Pin::parse(&fields.pin) {
        Err(invalid) => {
            errors.invalid(&tr, "pin", &invalid);
            None
        }
        Ok(_) if fields.pin != fields.pin_again => {
            errors.add("pin_again", tr.t("invalid-pins-differ"));
            None
        }
        Ok(pin) => Some(pin),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "card_form.html", config = "src/web/askama.toml")]
pub struct CardForm {
    layout: Layout,
    title: String,
    action: String,
    /// The card acted on (absent when issuing).
    card: Option<CardRecord>,
    household: HouseholdRecord,
    needs_reason: bool,
    needs_pin: bool,
    reason: String,
    errors: FieldErrors,
    submit_key: &'static str,
}

impl CardForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "card_letter.html", config = "src/web/askama.toml")]
pub struct CardLetter {
    layout: Layout,
    household: HouseholdRecord,
    /// The full number in groups of four.
    number: String,
}

fn letter(signed: &SignedIn, household: HouseholdRecord, issued: &Issued) -> Response {
    let digits = issued.pan.expose();
    let number = digits
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let page = CardLetter {
        layout: Layout::new(signed, "/households"),
        household,
        number,
    };
    // Never cached, never re-shown: the number exists outside the vault only in this answer.
    (StatusCode::CREATED, page).into_response()
}

async fn household(state: &AppState, id: HouseholdId) -> Result<HouseholdRecord, WebError> {
    state
        .store
        .get_household(id)
        .await?
        .ok_or(WebError::NotFound)
}

/// A refusal of the card service, as a form error; other failures as error pages.
fn refusal(signed: &SignedIn, error: CardError) -> Result<String, WebError> {
    match error {
        // The card changed state meanwhile (or the page was stale): say what it is now.
        CardError::Store(crate::store::StoreError::StateConflict { actual, .. }) => {
            let tr = signed.tr();
            let status = tr.t(crate::web::status::status_key(&actual));
            Ok(tr.t1("card-refused-state", "status", status))
        }
        CardError::Store(store) => Err(store.into()),
        CardError::CardNotFound | CardError::HouseholdNotFound => Err(WebError::NotFound),
        CardError::Unreadable(_) | CardError::NoFreeNumber => {
            Err(WebError::Store(crate::store::StoreError::Check {
                constraint: error.to_string(),
            }))
        }
        other => Ok(signed.tr().t1("card-refused", "why", other.to_string())),
    }
}

pub async fn issue_form(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<uuid::Uuid>,
) -> Result<CardForm, WebError> {
    signed.require(Permission::ManageCards)?;
    let household = household(&state, HouseholdId(id)).await?;
    Ok(CardForm {
        layout: Layout::new(&signed, "/households"),
        title: signed
            .tr()
            .t1("card-issue-title", "kk", &household.kk_number),
        action: format!("/households/{}/cards", household.id.0),
        card: None,
        household,
        needs_reason: false,
        needs_pin: true,
        reason: String::new(),
        errors: FieldErrors::default(),
        submit_key: "action-issue-card",
    })
}

pub async fn issue(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<uuid::Uuid>,
    PageForm(fields): PageForm<CardFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageCards)?;
    signed.check_csrf(&fields.csrf)?;
    let household = household(&state, HouseholdId(id)).await?;
    let mut errors = FieldErrors::default();
    if let Some(pin) = pin_twice(&signed, &fields, &mut errors) {
        match state.cards.issue(household.id, &pin, signed.user.id).await {
            Ok(issued) => return Ok(letter(&signed, household, &issued)),
            Err(error) => errors.add("form", refusal(&signed, error)?),
        }
    }
    let page = CardForm {
        layout: Layout::new(&signed, "/households"),
        title: signed
            .tr()
            .t1("card-issue-title", "kk", &household.kk_number),
        action: format!("/households/{}/cards", household.id.0),
        card: None,
        household,
        needs_reason: false,
        needs_pin: true,
        reason: String::new(),
        errors,
        submit_key: "action-issue-card",
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn card_page(
    state: &AppState,
    signed: &SignedIn,
    id: uuid::Uuid,
    action: &str,
) -> Result<(CardAction, CardRecord, HouseholdRecord), WebError> {
    signed.require(Permission::ManageCards)?;
    let action = CardAction::parse(action).ok_or(WebError::NotFound)?;
    let card = state
        .store
        .get_card(CardId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    let household = household(state, card.household_id).await?;
    Ok((action, card, household))
}

fn confirm_page(
    signed: &SignedIn,
    action: CardAction,
    card: CardRecord,
    household: HouseholdRecord,
    reason: String,
    errors: FieldErrors,
) -> CardForm {
    let tr = signed.tr();
    CardForm {
        layout: Layout::new(signed, "/households"),
        title: tr.t1("card-confirm-title", "action", tr.t(action.key())),
        action: format!("/cards/{}/{}", card.id.0, action.path()),
        card: Some(card),
        household,
        needs_reason: action.needs_reason(),
        needs_pin: action.needs_pin(),
        reason,
        errors,
        submit_key: "action-confirm",
    }
}

/// The confirmation (and, where asked, the reason and PIN) before a card changes.
pub async fn confirm(
    State(state): State<AppState>,
    signed: SignedIn,
    Path((id, action)): Path<(uuid::Uuid, String)>,
) -> Result<CardForm, WebError> {
    let (action, card, household) = card_page(&state, &signed, id, &action).await?;
    Ok(confirm_page(
        &signed,
        action,
        card,
        household,
        String::new(),
        FieldErrors::default(),
    ))
}

pub async fn act(
    State(state): State<AppState>,
    signed: SignedIn,
    Path((id, action)): Path<(uuid::Uuid, String)>,
    PageForm(fields): PageForm<CardFields>,
) -> Result<Response, WebError> {
    let (action, card, household) = card_page(&state, &signed, id, &action).await?;
    signed.check_csrf(&fields.csrf)?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let reason = if action.needs_reason() {
        bounded(&fields.reason, 500, "reason")
            .map_err(|invalid| errors.invalid(&tr, "reason", &invalid))
            .ok()
    } else {
        Some(String::new())
    };
    let pin = if action.needs_pin() {
        pin_twice(&signed, &fields, &mut errors)
    } else {
        None
    };
    if errors.is_empty() {
        let reason = reason.unwrap_or_default();
        let cards = &state.cards;
        let actor = signed.user.id;
        let done = match (action, pin) {
            (CardAction::Block, _) => cards
                .change_status(card.id, CardStatus::Blocked, reason.clone(), actor)
                .await
                .map(|_| None),
            (CardAction::Lost, _) => cards
                .change_status(card.id, CardStatus::Lost, reason.clone(), actor)
                .await
                .map(|_| None),
            (CardAction::Unblock, _) => cards
                .change_status(card.id, CardStatus::Active, reason.clone(), actor)
                .await
                .map(|_| None),
            (CardAction::Unlock, _) => cards.unlock(card.id, actor).await.map(|_| None),
            (CardAction::ResetPin, Some(pin)) => {
                cards.set_pin(card.id, &pin, actor).await.map(|_| None)
            }
            (CardAction::Replace, Some(pin)) => cards
                .replace(card.id, &pin, reason.clone(), actor)
                .await
                .map(Some),
            (_, None) => unreachable!("a PIN was asked for and checked"),
        };
        match done {
            Ok(Some(issued)) => return Ok(letter(&signed, household, &issued)),
            Ok(None) => {
                let to = format!("/households/{}", household.id.0);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(error) => errors.add("form", refusal(&signed, error)?),
        }
    }
    let page = confirm_page(&signed, action, card, household, fields.reason, errors);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
