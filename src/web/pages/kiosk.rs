//! An E-Warung's own page, for its operator's phone: today's sales per terminal and the latest
//! terminal requests with their answers in words. An operator sees only their own E-Warung.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::web::form::PagePath;
use crate::web::format::Shows;
use crate::web::signed_form::SignedForm;
use crate::{
    domain::{
        ids::EwarungId, locale::Locale, purchase::Followup, role::Permission, terminal::TerminalId,
    },
    http::state::AppState,
    model::{
        recon::ReconException,
        records::CatalogItemRecord,
        views::{RecentRequest, TerminalSales, TerminalState},
    },
    redemption::{
        engine::FollowUp,
        request::{LocalDate, OriginalRequest, Stan},
        response::TerminalReply,
    },
    settlement::SettlementRecord,
    store::{ExceptionFilter, Page},
    web::{error::WebError, format, layout::Layout, session::SignedIn},
};

const RECENT: u32 = 20;
/// How far back a terminal's last message is looked for, in business dates.
const LAST_MESSAGE_DAYS: usize = 7;

/// `open` (a business date) and the dates before it, `count` in all, newest first.
fn recent_business_dates(open: &str, count: usize) -> Vec<String> {
    let Some(open) = crate::business_day::parse_date(open) else {
        return vec![open.to_string()];
    };
    (0..count)
        .filter_map(|back| open.checked_sub_days(chrono::Days::new(back as u64)))
        .map(crate::business_day::format_date)
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "kiosk.html", config = "src/web/askama.toml")]
pub struct KioskPage {
    layout: Layout,
    id: uuid::Uuid,
    name: String,
    date: String,
    sales: Vec<TerminalSales>,
    holds: Vec<RecentRequest>,
    recent: Vec<RecentRequest>,
    terminals: Vec<TerminalState>,
    /// Each program (name and code) with its catalog.
    catalog: Vec<(String, Vec<CatalogItemRecord>)>,
    /// The settlement statement of `statement_date`.
    statement_date: String,
    statement: Vec<SettlementRecord>,
    /// The exceptions of that date's authoritative reconciliation run on this E-Warung's
    /// terminals: what the bank did not pay, or paid differently, and why.
    exceptions: Vec<ReconException>,
    /// The answer to a void just made, in words.
    answer: Option<String>,
    /// Whether this user may void (the E-Warung's operator; others read).
    can_void: bool,
}

impl KioskPage {
    fn response_key(&self, code: &str) -> &'static str {
        crate::web::status::response_key(code)
    }

    /// Today's purchases and their amount over every terminal (`None` on a day without sales,
    /// which the page says in words, and past what an `i64` holds, which a kiosk never reaches).
    fn total(&self) -> Option<(i64, i64)> {
        if self.sales.is_empty() {
            return None;
        }
        self.sales
            .iter()
            .try_fold((0i64, 0i64), |(count, amount), row| {
                Some((
                    count.checked_add(row.purchases)?,
                    amount.checked_add(row.amount_minor)?,
                ))
            })
    }

    /// The latest requests less the open holds, which the page lists once, above them.
    fn latest(&self) -> Vec<&RecentRequest> {
        self.recent
            .iter()
            .filter(|row| row.state.as_deref() != Some("held"))
            .collect()
    }

    fn catalog_size(&self) -> usize {
        self.catalog.iter().map(|(_, items)| items.len()).sum()
    }

    fn state_key(&self, state: &Option<String>) -> &'static str {
        crate::web::status::purchase_key(state.as_deref().unwrap_or(""))
    }

    /// A purchase of the terminal's today (the date a void may name) that a void would undo.
    fn voidable(&self, row: &RecentRequest) -> bool {
        self.can_void
            && row.local_date == self.date
            && matches!(row.state.as_deref(), Some("held") | Some("completed"))
    }

    fn void_link(&self, row: &RecentRequest) -> String {
        format!(
            "/kiosk/{}/void?terminal={}&stan={}&date={}",
            self.id, row.terminal_id, row.stan, row.local_date
        )
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct KioskQuery {
    /// The settlement statement's date.
    date: Option<String>,
    /// A void's response code, to show in words.
    answer: Option<String>,
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
    PagePath(id): PagePath<uuid::Uuid>,
    Query(query): Query<KioskQuery>,
) -> Result<KioskPage, WebError> {
    signed.require(Permission::ReadEwarungs)?;
    let ewarung = EwarungId(id);
    signed.require_ewarung(ewarung)?;
    let record = state
        .store
        .get_ewarung(ewarung)
        .await?
        .ok_or(WebError::NotFound)?;
    // Sales count on the business date that is open now (after the cut-off, tomorrow's).
    let date = state.store.days().open_business_date().await?;
    // What the terminals said lately: the open date and the days before it (newest first).
    let dates = recent_business_dates(&date, LAST_MESSAGE_DAYS);
    // The date as the operator types it (6-12-2026); yesterday by default.
    let statement_date = query
        .date
        .as_deref()
        .and_then(format::typed_date)
        .map(|day| day.to_string())
        .unwrap_or_else(|| format::today_wita(crate::store::now() - chrono::Duration::days(1)));
    let (statement, exceptions) = match crate::business_day::parse_date(&statement_date) {
        Some(day) => statement_of(&state, ewarung, day).await?,
        None => (Vec::new(), Vec::new()),
    };
    let mut catalog = Vec::new();
    for program in state.store.list_programs().await? {
        let items = state.store.list_catalog_items(program.id).await?;
        catalog.push((format!("{} ({})", program.name, program.code), items));
    }
    let views = state.store.views();
    let tr = signed.tr();
    Ok(KioskPage {
        layout: Layout::new(&signed, "/kiosk"),
        id,
        name: record.name,
        sales: views.terminal_sales(ewarung, &date).await?,
        holds: views.open_holds(ewarung).await?,
        recent: views
            .recent_requests(ewarung, &dates[..dates.len().min(2)], RECENT)
            .await?,
        terminals: views.terminal_states(ewarung, &dates).await?,
        catalog,
        statement_date,
        statement,
        exceptions,
        answer: query.answer.map(|code| {
            let code: String = code.chars().take(2).collect();
            format!("{code} · {}", tr.t(crate::web::status::response_key(&code)))
        }),
        can_void: signed.role().may(Permission::Redeem),
        date,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct VoidQuery {
    #[serde(default)]
    terminal: String,
    #[serde(default)]
    stan: String,
    #[serde(default)]
    date: String,
}

impl VoidQuery {
    fn original(&self) -> Result<OriginalRequest, WebError> {
        let invalid = |_| WebError::Unprocessable("kiosk-void-unknown");
        Ok(OriginalRequest {
            terminal_id: TerminalId::parse(&self.terminal).map_err(invalid)?,
            stan: Stan::parse(&self.stan).map_err(invalid)?,
            local_date: LocalDate::parse(&self.date).map_err(invalid)?,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "kiosk_void.html", config = "src/web/askama.toml")]
pub struct VoidPage {
    layout: Layout,
    id: uuid::Uuid,
    query: VoidQuery,
}

/// Voiding moves money back to the household: the operator confirms first.
pub async fn confirm_void(
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
    Query(query): Query<VoidQuery>,
) -> Result<VoidPage, WebError> {
    signed.require(Permission::Redeem)?;
    signed.require_ewarung(EwarungId(id))?;
    query.original()?;
    Ok(VoidPage {
        layout: Layout::new(&signed, "/kiosk"),
        id,
        query,
    })
}

#[derive(Debug, Deserialize)]
pub struct VoidForm {
    #[serde(flatten)]
    original: VoidQuery,
}

/// What the bank paid the E-Warung for `day`, and the exceptions of the day's authoritative
/// run (the newest upload; see README) that concern its terminals.
async fn statement_of(
    state: &AppState,
    ewarung: EwarungId,
    day: chrono::NaiveDate,
) -> Result<(Vec<SettlementRecord>, Vec<ReconException>), WebError> {
    let days = state.store.days();
    let statement = days
        .settlements(day)
        .await?
        .into_iter()
        .filter(|entry| entry.ewarung_id == ewarung)
        .collect();
    let mut exceptions = Vec::new();
    let runs = days.list_recon_runs(day).await?;
    if let Some(run) = runs.iter().find(|run| run.authoritative) {
        let filter = ExceptionFilter {
            category: None,
            open_only: false,
            ewarung: Some(ewarung),
        };
        exceptions = days
            .recon_exceptions(run.id, &filter, Page::first(Page::MAX_LIMIT))
            .await?;
    }
    Ok((statement, exceptions))
}

/// Voids one of today's purchases, as the terminal would: the same ledger job as
/// `POST /v1/redemptions/void`, answered with its response code in words.
pub async fn void(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm { signed, form }: SignedForm<VoidForm>,
) -> Result<Response, WebError> {
    signed.require(Permission::Redeem)?;
    let ewarung = EwarungId(id);
    signed.require_ewarung(ewarung)?;
    let original = form.original.original()?;
    let terminal = original.terminal_id.to_string();
    let job = FollowUp {
        ewarung,
        action: Followup::Void,
        original,
    };
    let bytes = crate::redemption::answer::answer(state.store.as_ref(), job, &terminal).await;
    let code = serde_json::from_slice::<TerminalReply>(&bytes)
        .map(|reply| reply.response_code.code().to_string())
        .unwrap_or_else(|_| "96".to_string());
    tracing::info!(user = %signed.user.username, terminal, code, "void from the web");
    Ok(Redirect::to(&format!("/kiosk/{id}?answer={code}")).into_response())
}

impl Shows for KioskPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_business_dates_count_back_from_the_open_date() {
        assert_eq!(
            recent_business_dates("2026-12-01", 3),
            ["2026-12-01", "2026-11-30", "2026-11-29"]
        );
        assert_eq!(recent_business_dates("bad", 3), ["bad"]);
    }
}
