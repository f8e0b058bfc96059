//! An E-Warung's own page, for its operator's phone: today's sales per terminal and the latest
//! terminal requests with their answers in words. An operator sees only their own E-Warung.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::Redirect,
};

use crate::{
    domain::{ids::EwarungId, locale::Locale, role::Permission},
    http::state::AppState,
    model::views::{RecentRequest, TerminalSales},
    web::{error::WebError, format, layout::Layout, session::SignedIn},
};

const RECENT: u32 = 20;

#[derive(Template, WebTemplate)]
#[template(path = "kiosk.html", config = "src/web/askama.toml")]
pub struct KioskPage {
    layout: Layout,
    name: String,
    date: String,
    sales: Vec<TerminalSales>,
    recent: Vec<RecentRequest>,
    locale: Locale,
}

impl KioskPage {
    fn money(&self, minor: &i64) -> String {
        format::rupiah(*minor)
    }

    fn maybe_money(&self, minor: &Option<i64>) -> String {
        minor.map(format::rupiah).unwrap_or_default()
    }

    fn when(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        format::time(*at, self.locale)
    }

    fn response_key(&self, code: &str) -> &'static str {
        crate::web::status::response_key(code)
    }
}

/// An operator's own E-Warung.
pub async fn mine(signed: SignedIn) -> Result<Redirect, WebError> {
    signed.require(Permission::Redeem)?;
    let ewarung = signed.user.ewarung_id.ok_or(WebError::Forbidden)?;
    Ok(Redirect::to(&format!("/kiosk/{}", ewarung.0)))
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<uuid::Uuid>,
) -> Result<KioskPage, WebError> {
    signed.require(Permission::ReadEwarungs)?;
    let id = EwarungId(id);
    signed.require_ewarung(id)?;
    let ewarung = state
        .store
        .get_ewarung(id)
        .await?
        .ok_or(WebError::NotFound)?;
    // Sales count on the business date that is open now (after the cut-off, tomorrow's).
    let date = state.store.days().open_business_date().await?;
    let views = state.store.views();
    Ok(KioskPage {
        layout: Layout::new(&signed, "/kiosk"),
        name: ewarung.name,
        sales: views.terminal_sales(id, &date).await?,
        recent: views.recent_requests(id, RECENT).await?,
        date,
        locale: signed.user.locale,
    })
}
