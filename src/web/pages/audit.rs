//! The audit trail for inspectors: every recorded action with filters (actor, action, subject,
//! dates), and the ledger's own check (`ledger verify`) run on request and shown.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::web::format::Shows;
use crate::web::signed_form::SignedForm;
use crate::{
    domain::{locale::Locale, role::Permission},
    http::state::AppState,
    ledger::verify::LedgerCheck,
    model::views::{AuditFilter, AuditLine},
    web::{
        error::WebError,
        form::FieldErrors,
        format,
        layout::Layout,
        session::SignedIn,
        status::{audit_detail, audit_key, AUDIT_ACTIONS, AUDIT_SUBJECTS},
    },
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
    /// The filter, or the errors of the fields that cannot be one (a date that is not a date,
    /// an action or subject the log does not have): a filter is never silently dropped.
    fn filter(&self, tr: &crate::web::i18n::Tr) -> Result<AuditFilter, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut day = |field: &str, text: &str| {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            let day = format::typed_date(text);
            if day.is_none() {
                errors.add(field, tr.t("invalid-typed-date"));
            }
            day
        };
        let from = day("from", &self.from);
        let until = day("until", &self.until);
        let mut listed = |field: &str, text: &str, names: &[&str]| {
            let text = given(text);
            if text.as_deref().is_some_and(|name| !names.contains(&name)) {
                errors.add(field, tr.t("invalid-choose-from-list"));
            }
            text
        };
        let action = listed("action", &self.action, &AUDIT_ACTIONS);
        let subject_type = listed("subject_type", &self.subject_type, &AUDIT_SUBJECTS);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            actor: given(&self.actor),
            action,
            subject_type,
            subject_id: given(&self.subject_id),
            from: from.and_then(wita_midnight),
            // Through the whole last day.
            until: until.and_then(|d| d.succ_opt()).and_then(wita_midnight),
        })
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
    errors: FieldErrors,
}

impl AuditPage {
    fn detail(&self, line: &AuditLine) -> String {
        audit_detail(&self.layout.tr, &line.record.detail.0)
    }

    /// An action or subject type in words (its own name if this release has none).
    fn words(&self, kind: &str, name: &str) -> String {
        let key = audit_key(kind, name);
        if self.layout.tr.has(&key) {
            self.layout.tr.t(&key)
        } else {
            name.to_string()
        }
    }

    fn actions(&self) -> &'static [&'static str] {
        &AUDIT_ACTIONS
    }

    fn subjects(&self) -> &'static [&'static str] {
        &AUDIT_SUBJECTS
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }
}

pub async fn log(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<AuditQuery>,
) -> Result<AuditPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    signed.require(Permission::ReadLedger)?;
    let filter = match query.filter(&signed.tr()) {
        Ok(filter) => filter,
        Err(errors) => {
            return Ok(AuditPage {
                layout: Layout::new(&signed, "/audit"),
                query,
                lines: Vec::new(),
                next: None,
                errors,
            })
        }
    };
    let lines = state
        .store
        .views()
        .audit_log(&filter, query.before, PAGE_SIZE)
        .await?;
    let next = (lines.len() == PAGE_SIZE as usize)
        .then(|| lines.last().map(|line| query.link(line.record.id)))
        .flatten();
    Ok(AuditPage {
        layout: Layout::new(&signed, "/audit"),
        query,
        lines,
        next,
        errors: FieldErrors::default(),
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

/// Runs `ledger verify`: every account's totals recomputed from its transfers, every transfer
/// balanced. A read, but a long one: it asks for the form's token like any other action.
pub async fn verify(
    State(state): State<AppState>,
    SignedForm { signed, form: _ }: SignedForm<crate::web::form::NoFields>,
) -> Result<LedgerPage, WebError> {
    signed.require(Permission::ReadLedger)?;
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
