//! The audit trail for inspectors: every recorded action with filters (actor, action, subject,
//! dates), and the ledger's own check (`ledger verify`) run on request and shown.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::web::form::PageForm;
use crate::web::format::Shows;
use crate::{
    domain::{locale::Locale, role::Permission},
    http::state::AppState,
    ledger::verify::LedgerCheck,
    model::views::{AuditFilter, AuditLine},
    web::{error::WebError, format, layout::Layout, session::SignedIn},
};

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject_type: String,
    #[serde(default)]
    subject_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    before: Option<uuid::Uuid>,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty() && t.chars().count() <= 200)
}

/// Midnight WITA starting `date` (`YYYY-MM-DD`), as an instant.
fn wita_midnight(date: NaiveDate) -> Option<chrono::DateTime<Utc>> {
    let start = date.and_hms_opt(0, 0, 0)?;
    format::wita()
        .from_local_datetime(&start)
        .single()
        .map(|at| at.with_timezone(&Utc))
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        let day = |text: &str| crate::business_day::parse_date(text.trim());
        AuditFilter {
            actor: given(&self.actor),
            action: given(&self.action),
            subject_type: given(&self.subject_type),
            subject_id: given(&self.subject_id),
            from: day(&self.from).and_then(wita_midnight),
            // Through the whole last day.
            until: day(&self.until)
                .and_then(|d| d.succ_opt())
                .and_then(wita_midnight),
        }
    }

    /// This query's parameters for the next page's link.
    fn link(&self, before: uuid::Uuid) -> String {
        let mut link = format!("/audit?before={before}");
        for (name, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("subject_type", &self.subject_type),
            ("subject_id", &self.subject_id),
            ("from", &self.from),
            ("until", &self.until),
        ] {
            if !value.is_empty() {
                link.push_str(&format!(
                    "&{name}={}",
                    crate::web::pages::households::encode(value)
                ));
            }
        }
        link
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html", config = "src/web/askama.toml")]
pub struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    lines: Vec<AuditLine>,
    next: Option<String>,
}

impl AuditPage {
    fn detail(&self, line: &AuditLine) -> String {
        let text = line.record.detail.0.to_string();
        if text.chars().count() > 300 {
            format!("{}…", text.chars().take(300).collect::<String>())
        } else {
            text
        }
    }
}

pub async fn log(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<AuditQuery>,
) -> Result<AuditPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    signed.require(Permission::ReadLedger)?;
    let lines = state
        .store
        .views()
        .audit_log(&query.filter(), query.before, PAGE_SIZE)
        .await?;
    let next = (lines.len() == PAGE_SIZE as usize)
        .then(|| lines.last().map(|line| query.link(line.record.id)))
        .flatten();
    Ok(AuditPage {
        layout: Layout::new(&signed, "/audit"),
        query,
        lines,
        next,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger_check.html", config = "src/web/askama.toml")]
pub struct LedgerPage {
    layout: Layout,
    check: Option<LedgerCheck>,
}

pub async fn ledger(signed: SignedIn) -> Result<LedgerPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    Ok(LedgerPage {
        layout: Layout::new(&signed, "/audit"),
        check: None,
    })
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Runs `ledger verify`: every account's totals recomputed from its transfers, every transfer
/// balanced. A read, but a long one: it asks for the form's token like any other action.
pub async fn verify(
    State(state): State<AppState>,
    signed: SignedIn,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<LedgerPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    signed.check_csrf(&form.csrf)?;
    let check = state.store.ledger().verify_ledger().await?;
    tracing::info!(user = %signed.user.username, clean = check.is_clean(), "ledger verified from the web");
    Ok(LedgerPage {
        layout: Layout::new(&signed, "/audit"),
        check: Some(check),
    })
}

impl Shows for AuditPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}
