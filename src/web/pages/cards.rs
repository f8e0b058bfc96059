//! Cards at the office desk: issuing (the PIN typed twice, then the card letter with the full
//! number shown this once), blocking and unblocking with a reason, lifting a PIN lock, resetting
//! a PIN, reporting a card lost and replacing it. Everything that blocks or replaces asks for
//! confirmation first.
//! The same `cards::Cards` service as the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::web::signed_form::SignedForm;
use crate::web::{flash, form::PagePath};
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
    reason: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_again: String,
    /// The card's state when the clerk opened the form: a card that changed since is refused.
    #[serde(default)]
    seen_status: String,
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

    /// The PIN's label, stating the rule `Pin::parse` applies.
    fn pin_label(&self) -> String {
        let limits = [
            ("min", crate::domain::pin::MIN_DIGITS.to_string()),
            ("max", crate::domain::pin::MAX_DIGITS.to_string()),
        ];
        self.layout.tr.with_args("field-pin", &limits)
    }

    fn pin_max(&self) -> usize {
        crate::domain::pin::MAX_DIGITS
    }
}

/// What a refused card form keeps for its next view (the PIN is never kept).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Typed {
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "card_letter.html", config = "src/web/askama.toml")]
pub struct CardLetter {
    layout: Layout,
    household: HouseholdRecord,
    card: CardRecord,
    /// The full number in groups of four, on the one view the issue granted; `None` after.
    number: Option<String>,
    /// Where the household checks its balance (`/saldo` on the address this page was opened at).
    saldo_address: String,
    /// A representative's card: who holds it and their last valid day (`DD-MM-YYYY`).
    holder: Option<(String, String)>,
}

fn letter_path(card: CardId) -> String {
    format!("/cards/{}/letter", card.0)
}

/// After a card is issued: the browser is sent to its letter, which this session may see with
/// the full number once (a reload, Back or another tab shows it masked).
pub(crate) async fn to_letter(
    state: &AppState,
    signed: &SignedIn,
    issued: &Issued,
) -> Result<Response, WebError> {
    let path = letter_path(issued.card.id);
    flash::done(state, signed, &path, Typed::default()).await
}

/// The card letter: the full number on the view the issue granted, masked on any other.
pub async fn letter(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: axum::http::HeaderMap,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<CardLetter, WebError> {
    signed.require(Permission::ManageCards)?;
    let card = state
        .cards
        .get(CardId(id))
        .await
        .map_err(|error| match error {
            CardError::CardNotFound => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        })?;
    let granted = flash::take::<Typed>(&state, &signed, &letter_path(card.id))
        .await?
        .is_some();
    let number = if granted {
        let digits = state
            .cards
            .number_of(&card)
            .map_err(|error| WebError::Internal(error.to_string()))?;
        let grouped = digits
            .as_bytes()
            .chunks(4)
            .map(|group| String::from_utf8_lossy(group).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Some(grouped)
    } else {
        None
    };
    let holder = match card.representative_id {
        Some(id) => state
            .store
            .representatives()
            .get_representative(id)
            .await?
            .map(|representative| {
                let until =
                    chrono::NaiveDate::parse_from_str(&representative.valid_until, "%Y-%m-%d")
                        .map_or(representative.valid_until.clone(), |date| {
                            date.format("%d-%m-%Y").to_string()
                        });
                (representative.name, until)
            }),
        None => None,
    };
    Ok(CardLetter {
        layout: Layout::new(&signed, "/households"),
        household: household(&state, card.household_id).await?,
        card,
        number,
        saldo_address: saldo_address(&headers),
        holder,
    })
}

/// The address of `/saldo` as the office reaches this server (the host it asked for, over TLS
/// when it came over TLS).
pub(crate) fn saldo_address(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if crate::web::session::over_tls(headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/saldo")
}

async fn household(state: &AppState, id: HouseholdId) -> Result<HouseholdRecord, WebError> {
    state
        .store
        .get_household(id)
        .await?
        .ok_or(WebError::NotFound)
}

/// A refusal of the card service in the clerk's words, as a form error; failures that are not
/// the clerk's as error pages.
fn refusal(signed: &SignedIn, error: CardError) -> Result<String, WebError> {
    let tr = signed.tr();
    let status_words = |status: &str| tr.t(crate::web::status::status_key(status));
    Ok(match error {
        // The card changed state meanwhile (or the page was stale): say what it is now.
        CardError::Store(crate::store::StoreError::StateConflict { actual, .. }) => {
            tr.t1("card-refused-state", "status", status_words(&actual))
        }
        CardError::NotUsable(status) => tr.t1(
            "card-refused-state",
            "status",
            status_words(status.as_str()),
        ),
        CardError::HouseholdNotActive(status) => tr.t1(
            "card-refused-household-not-active",
            "status",
            status_words(status.as_str()),
        ),
        CardError::HouseholdHasCard => tr.t("card-refused-has-card"),
        CardError::RepresentativeEnded(status) => tr.t1(
            "card-refused-representative-ended",
            "status",
            status_words(status.as_str()),
        ),
        CardError::Pin(_) => tr.t("card-refused-pin"),
        CardError::CardNotFound | CardError::HouseholdNotFound => return Err(WebError::NotFound),
        CardError::Store(store) => return Err(store.into()),
        CardError::Unreadable(_) | CardError::NoFreeNumber | CardError::ReplaceSeparately => {
            return Err(WebError::Internal(error.to_string()))
        }
    })
}

fn issue_path(household: HouseholdId) -> String {
    format!("/households/{}/cards/new", household.0)
}

pub async fn issue_form(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<CardForm, WebError> {
    signed.require(Permission::ManageCards)?;
    let household = household(&state, HouseholdId(id)).await?;
    let errors = flash::take::<Typed>(&state, &signed, &issue_path(household.id))
        .await?
        .map(|flash| flash.errors)
        .unwrap_or_default();
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
        errors,
        submit_key: "action-issue-card",
    })
}

pub async fn issue(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<CardFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageCards)?;
    let household = household(&state, HouseholdId(id)).await?;
    let mut errors = FieldErrors::default();
    if let Some(pin) = pin_twice(&signed, &fields, &mut errors) {
        match state.cards.issue(household.id, &pin, signed.user.id).await {
            Ok(issued) => return to_letter(&state, &signed, &issued).await,
            Err(error) => errors.add("form", refusal(&signed, error)?),
        }
    }
    let path = issue_path(household.id);
    flash::refused(&state, &signed, &path, errors, Typed::default()).await
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
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
) -> Result<CardForm, WebError> {
    let (action, card, household) = card_page(&state, &signed, id, &action).await?;
    let path = format!("/cards/{}/{}", card.id.0, action.path());
    let flash = flash::take::<Typed>(&state, &signed, &path).await?;
    let (reason, errors) = flash
        .map(|flash| (flash.form.reason, flash.errors))
        .unwrap_or_default();
    Ok(confirm_page(
        &signed, action, card, household, reason, errors,
    ))
}

pub async fn act(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<CardFields>,
) -> Result<Response, WebError> {
    let (action, card, household) = card_page(&state, &signed, id, &action).await?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let reason = if action.needs_reason() {
        bounded(
            &fields.reason,
            crate::domain::limits::REASON_CHARS,
            "reason",
        )
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
    // The state the clerk decided on: a card that changed since is refused, and so is a form
    // without it (from a page older than the field), with the card's state now.
    let seen = CardStatus::parse(&fields.seen_status).ok();
    if seen.is_none() {
        let status = tr.t(crate::web::status::status_key(card.status.as_str()));
        errors.add("form", tr.t1("card-refused-state", "status", status));
    }
    if errors.is_empty() {
        let reason = reason.unwrap_or_default();
        let cards = &state.cards;
        let actor = signed.user.id;
        let done = match (action, pin) {
            (CardAction::Block, _) => cards
                .change_status(card.id, CardStatus::Blocked, reason.clone(), actor, seen)
                .await
                .map(|_| None),
            (CardAction::Lost, _) => cards
                .change_status(card.id, CardStatus::Lost, reason.clone(), actor, seen)
                .await
                .map(|_| None),
            (CardAction::Unblock, _) => cards
                .change_status(card.id, CardStatus::Active, reason.clone(), actor, seen)
                .await
                .map(|_| None),
            (CardAction::Unlock, _) => cards.unlock(card.id, actor).await.map(|_| None),
            (CardAction::ResetPin, Some(pin)) => cards
                .set_pin(card.id, &pin, actor, seen)
                .await
                .map(|_| None),
            (CardAction::Replace, Some(pin)) => cards
                .replace(card.id, &pin, reason.clone(), actor)
                .await
                .map(Some),
            (_, None) => unreachable!("a PIN was asked for and checked"),
        };
        match done {
            Ok(Some(issued)) => return to_letter(&state, &signed, &issued).await,
            Ok(None) => {
                let to = format!("/households/{}", household.id.0);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(error) => errors.add("form", refusal(&signed, error)?),
        }
    }
    let path = format!("/cards/{}/{}", card.id.0, action.path());
    let typed = Typed {
        reason: fields.reason,
    };
    flash::refused(&state, &signed, &path, errors, typed).await
}
