//! The month overview: households and cards by status, quota loaded, spent, held and left.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::{domain::locale::Locale, web::format::Shows};
use crate::{
    domain::role::Permission,
    http::state::AppState,
    model::views::MonthOverview,
    web::{error::WebError, format, layout::Layout, session::SignedIn},
};

#[derive(Template, WebTemplate)]
#[template(path = "office.html", config = "src/web/askama.toml")]
pub struct OverviewPage {
    layout: Layout,
    month: String,
    overview: MonthOverview,
    /// Whether this user may open the dormant balances' list (it names households).
    sees_dormant: bool,
}

impl OverviewPage {
    fn status_key(&self, status: &str) -> &'static str {
        crate::web::status::status_key(status)
    }
}

pub async fn overview(
    State(state): State<AppState>,
    signed: SignedIn,
) -> Result<OverviewPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    let month = format::today_wita(crate::store::now())[..7].to_string();
    // Expiring: what `POST /v1/quota/expire` would return as of the next month's first day.
    let next_month = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)));
    let mut cutoffs = Vec::new();
    if let Some(first) = next_month {
        for program in state.store.list_programs().await? {
            let cutoff = crate::model::quota::expiry_cutoff(first, program.carry_over_months);
            cutoffs.push((program.id, cutoff));
        }
    }
    let overview = state.store.views().month_overview(&month, &cutoffs).await?;
    Ok(OverviewPage {
        layout: Layout::new(&signed, "/office"),
        month,
        overview,
        sees_dormant: signed.role().may(Permission::ReadRegistry),
    })
}

impl Shows for OverviewPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}
