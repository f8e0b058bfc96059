//! `/saldo`: a beneficiary's own page, with no account. Card number and PIN in, the household's
//! balance, last purchases, quotas and what expires out, with the program's rules in plain words.
//! The form carries a double-submit token (as the login does); wrong answers from one client
//! address are counted and, past a limit, refused for a while, on top of each card's own PIN
//! lock-out. Nothing is kept: the answer is the page of that one request, never cached.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    beneficiary::{statement, SaldoError, Statement},
    domain::{
        complaint::{Category, Channel},
        ids::EwarungId,
        locale::Locale,
        pan::Pan,
        pin::Pin,
    },
    http::{auth::ClientAddress, state::AppState},
    registry::complaints::{ComplaintError, Intake},
    web::{error::WebError, form::PageForm, format::Shows, i18n::Tr, session},
};

#[derive(Template, WebTemplate)]
#[template(path = "saldo.html", config = "src/web/askama.toml")]
pub struct SaldoPage {
    tr: Tr,
    csrf: String,
    error: Option<String>,
    statement: Option<Statement>,
    /// Wrong PINs that lock a card (said beside the form).
    pin_max_failures: u32,
    /// The complaint form: under a statement, or again with what was refused.
    complaint_form: Option<ComplaintForm>,
    /// A complaint just filed: its number and the date it is answered by.
    filed: Option<(i64, String)>,
}

/// The complaint form on `/saldo`, carrying the statement's grant.
#[derive(Debug, Clone, Default)]
pub struct ComplaintForm {
    grant: String,
    /// E-Warungs to choose from: id and name.
    ewarungs: Vec<(String, String)>,
    /// The household's last purchases: RRN and what to call it.
    purchases: Vec<(String, String)>,
    category: String,
    ewarung: String,
    rrn: String,
    description: String,
    errors: crate::web::form::FieldErrors,
}

impl ComplaintForm {
    fn is_category(&self, value: &str) -> bool {
        self.category == value
    }

    fn categories(&self) -> Vec<(&'static str, String)> {
        Category::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str(),
                    format!("complaint-{}", c.as_str().replace('_', "-")),
                )
            })
            .collect()
    }
}

impl Shows for SaldoPage {
    fn locale(&self) -> Locale {
        self.tr.locale
    }
}

impl SaldoPage {
    fn state_key(&self, state: &Option<String>) -> &'static str {
        crate::web::status::purchase_key(state.as_deref().unwrap_or(""))
    }

    fn date(&self, date: &chrono::NaiveDate) -> String {
        date.format("%d-%m-%Y").to_string()
    }
}

#[derive(Deserialize)]
pub struct SaldoForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pan: String,
    #[serde(default)]
    pin: String,
}

fn token(headers: &HeaderMap) -> String {
    session::read_cookie(headers, session::LOGIN_CSRF_COOKIE)
        .filter(|token| token.len() == session::new_token().len())
        .unwrap_or_else(session::new_token)
}

fn answer(page: SaldoPage, headers: &HeaderMap, status: StatusCode) -> Response {
    let cookie = session::cookie(
        session::LOGIN_CSRF_COOKIE,
        Some(&page.csrf),
        session::over_tls(headers),
        chrono::Duration::hours(1),
    );
    (
        status,
        [
            (header::SET_COOKIE, cookie),
            // A balance is nobody else's business: not kept by the browser or a proxy.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        page,
    )
        .into_response()
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let page = SaldoPage {
        tr: Tr::new(Locale::default()),
        csrf: token(&headers),
        error: None,
        statement: None,
        pin_max_failures: state.card_policy.pin_max_failures,
        complaint_form: None,
        filed: None,
    };
    answer(page, &headers, StatusCode::OK)
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    PageForm(form): PageForm<SaldoForm>,
) -> Result<Response, WebError> {
    let tr = Tr::new(Locale::default());
    let pin_max_failures = state.card_policy.pin_max_failures;
    let refused = |key: &str, status| {
        let page = SaldoPage {
            tr,
            csrf: token(&headers),
            error: Some(tr.t(key)),
            statement: None,
            pin_max_failures,
            complaint_form: None,
            filed: None,
        };
        Ok(answer(page, &headers, status))
    };
    let expected = session::read_cookie(&headers, session::LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same_secret(&form.csrf, &expected) {
        return refused("saldo-expired", StatusCode::FORBIDDEN);
    }
    let now = std::time::Instant::now();
    if state.saldo_throttle.refused(address, now) {
        return refused("saldo-throttled", StatusCode::TOO_MANY_REQUESTS);
    }
    let pan: String = form.pan.chars().filter(|c| !c.is_whitespace()).collect();
    let (Ok(pan), Ok(pin)) = (Pan::parse(&pan), Pin::parse(form.pin.trim())) else {
        state.saldo_throttle.record_failure(address, now);
        return refused("saldo-refused", StatusCode::OK);
    };
    match statement(
        state.store.as_ref(),
        &state.cards,
        &pan,
        &pin,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(statement) => {
            let complaint_form = Some(ComplaintForm {
                grant: state.saldo_grants.issue(
                    statement.household_id,
                    statement.card_id,
                    chrono::Utc::now(),
                ),
                ewarungs: ewarung_choices(&state).await?,
                purchases: purchase_choices(&tr, &statement),
                ..ComplaintForm::default()
            });
            let page = SaldoPage {
                tr,
                csrf: token(&headers),
                error: None,
                statement: Some(statement),
                pin_max_failures,
                complaint_form,
                filed: None,
            };
            Ok(answer(page, &headers, StatusCode::OK))
        }
        Err(SaldoError::Refused) => {
            state.saldo_throttle.record_failure(address, now);
            refused("saldo-refused", StatusCode::OK)
        }
        Err(SaldoError::Store(error)) => Err(error.into()),
    }
}

/// The E-Warungs a beneficiary may complain about: every active one, by name.
async fn ewarung_choices(state: &AppState) -> Result<Vec<(String, String)>, WebError> {
    let all = state
        .store
        .list_ewarungs(crate::store::Page::first(crate::store::Page::MAX_LIMIT))
        .await?;
    Ok(all
        .into_iter()
        .filter(|e| e.status == crate::domain::terminal::EwarungStatus::Active)
        .map(|e| (e.id.0.to_string(), e.name))
        .collect())
}

/// The statement's purchases a complaint may name, by their RRN.
fn purchase_choices(tr: &Tr, statement: &Statement) -> Vec<(String, String)> {
    statement
        .purchases
        .iter()
        .filter_map(|p| {
            let rrn = p.rrn.clone()?;
            let amount = p
                .amount_minor
                .map(crate::web::format::rupiah)
                .unwrap_or_default();
            let when = crate::web::format::time(p.created_at, tr.locale);
            Some((rrn, format!("{when} · {} · {amount}", p.ewarung_name)))
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ComplaintFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grant: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    ewarung: String,
    #[serde(default)]
    rrn: String,
    #[serde(default)]
    description: String,
}

/// A complaint from the statement's form: the grant says whose household and card; a refusal
/// shows the form again with what was typed, beside each field.
pub async fn complain(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<ComplaintFields>,
) -> Result<Response, WebError> {
    let tr = Tr::new(Locale::default());
    let pin_max_failures = state.card_policy.pin_max_failures;
    let page = |error: Option<String>, complaint_form, filed| SaldoPage {
        tr,
        csrf: token(&headers),
        error,
        statement: None,
        pin_max_failures,
        complaint_form,
        filed,
    };
    let expected = session::read_cookie(&headers, session::LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same_secret(&form.csrf, &expected) {
        let refused = page(Some(tr.t("saldo-expired")), None, None);
        return Ok(answer(refused, &headers, StatusCode::FORBIDDEN));
    }
    let now = chrono::Utc::now();
    let Some((household, card)) = state.saldo_grants.verify(&form.grant, now) else {
        // The statement is too old (or not this server's): check the card again.
        let refused = page(Some(tr.t("saldo-complaint-expired")), None, None);
        return Ok(answer(refused, &headers, StatusCode::OK));
    };
    let ewarung = uuid::Uuid::parse_str(form.ewarung.trim())
        .ok()
        .map(EwarungId);
    let rrn = Some(form.rrn.as_str()).filter(|r| !r.trim().is_empty());
    let intake = Intake::parse(
        Category::parse(form.category.trim()),
        None,
        &form.description,
        ewarung,
        rrn,
    );
    let filed = match intake {
        Ok(intake) => {
            state
                .complaints
                .file(household, intake.with_card(card), Channel::Saldo, None)
                .await
        }
        Err(refusals) => Err(ComplaintError::Refused(refusals)),
    };
    match filed {
        Ok(record) => {
            let due = crate::web::format::time(record.due_at, tr.locale);
            let done = page(None, None, Some((record.number, due)));
            Ok(answer(done, &headers, StatusCode::OK))
        }
        Err(ComplaintError::Refused(refusals)) => {
            let mut errors = crate::web::form::FieldErrors::default();
            errors.refusals(&tr, &refusals, |field| match field {
                "ewarung_id" => "ewarung",
                other => other,
            });
            let again = ComplaintForm {
                grant: form.grant.clone(),
                ewarungs: ewarung_choices(&state).await?,
                purchases: Vec::new(),
                category: form.category,
                ewarung: form.ewarung,
                rrn: String::new(),
                description: form.description,
                errors,
            };
            Ok(answer(
                page(None, Some(again), None),
                &headers,
                StatusCode::OK,
            ))
        }
        Err(ComplaintError::Store(error)) => Err(error.into()),
        Err(other) => Err(WebError::Internal(other.to_string())),
    }
}
