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
    domain::{locale::Locale, pan::Pan, pin::Pin},
    http::{auth::ClientAddress, state::AppState},
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
            let page = SaldoPage {
                tr,
                csrf: token(&headers),
                error: None,
                statement: Some(statement),
                pin_max_failures,
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
