//! Dormant balances at the office: the households of a program that hold value and have not
//! bought for N months (filters: program, months, kelurahan; paged), with what expires when;
//! printing a notice records it and opens the letter (Indonesian), which prints on one page.
//! The same `registry::dormancy` service as the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        expiry::{parse_idle_months, DEFAULT_IDLE_MONTHS},
        ids::{DormancyNoticeId, HouseholdId},
        locale::Locale,
        role::Permission,
    },
    http::state::AppState,
    model::dormancy::DormancyNotice,
    registry::dormancy::{DormancyError, DormantView},
    store::{HouseholdRecord, Page, ProgramRecord},
    web::{
        error::WebError,
        flash,
        form::{FieldErrors, PagePath},
        format::Shows,
        layout::Layout,
        session::SignedIn,
        signed_form::SignedForm,
    },
};

const LIST: &str = "/dormant";
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct DormantQuery {
    #[serde(default)]
    program: String,
    #[serde(default)]
    months: String,
    #[serde(default)]
    kelurahan: String,
    after: Option<uuid::Uuid>,
}

/// The print form: which program and window the household was listed in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PrintFields {
    #[serde(default)]
    program: String,
    #[serde(default)]
    months: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dormant.html", config = "src/web/askama.toml")]
pub struct DormantPage {
    layout: Layout,
    programs: Vec<ProgramRecord>,
    program: String,
    months: String,
    kelurahan: String,
    rows: Vec<DormantView>,
    next: Option<String>,
    can_print: bool,
    errors: FieldErrors,
}

impl DormantPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn day(&self, text: &Option<String>) -> String {
        text.as_deref()
            .and_then(|text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .map(|day| day.format("%d-%m-%Y").to_string())
            .unwrap_or_default()
    }

    fn date(&self, day: &Option<chrono::NaiveDate>) -> String {
        day.map(|day| day.format("%d-%m-%Y").to_string())
            .unwrap_or_default()
    }
}

impl Shows for DormantPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dormancy_notice.html", config = "src/web/askama.toml")]
pub struct NoticePage {
    layout: Layout,
    /// The letter is in Indonesian, whatever the clerk's own language.
    letter: crate::web::i18n::Tr,
    notice: DormancyNotice,
    household: HouseholdRecord,
    program_name: String,
    saldo_address: String,
}

impl NoticePage {
    fn day(&self, text: Option<&str>) -> String {
        text.and_then(|text| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .map(|day| day.format("%d-%m-%Y").to_string())
            .unwrap_or_default()
    }

    fn printed(&self) -> String {
        self.letter.t1(
            "notice-date",
            "date",
            self.day(Some(&self.notice.printed_on)),
        )
    }

    fn idle(&self) -> String {
        match self.notice.last_purchase_date.as_deref() {
            Some(last) => self.letter.with_args(
                "notice-idle-since",
                &[
                    ("program", self.program_name.clone()),
                    ("date", self.day(Some(last))),
                ],
            ),
            None => self
                .letter
                .t1("notice-never-bought", "program", &self.program_name),
        }
    }

    fn balance(&self) -> String {
        self.letter.t1(
            "notice-balance",
            "amount",
            crate::web::format::rupiah(self.notice.available_minor),
        )
    }

    fn expiry(&self) -> Option<String> {
        let on = self.notice.expiring_on.as_deref()?;
        Some(self.letter.with_args(
            "notice-expiry",
            &[
                (
                    "amount",
                    crate::web::format::rupiah(self.notice.expiring_minor),
                ),
                ("date", self.day(Some(on))),
            ],
        ))
    }
}

fn web(error: DormancyError) -> WebError {
    match error {
        DormancyError::Store(store) => store.into(),
        DormancyError::ProgramNotFound
        | DormancyError::HouseholdNotFound
        | DormancyError::NoticeNotFound => WebError::NotFound,
        other => WebError::Internal(other.to_string()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<DormantQuery>,
) -> Result<DormantPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    signed.require(Permission::ReadLedger)?;
    let tr = signed.tr();
    let programs = state.store.list_programs().await?;
    let program = match programs.iter().find(|p| p.code == query.program.trim()) {
        Some(found) => found.code.clone(),
        None => programs.first().map(|p| p.code.clone()).unwrap_or_default(),
    };
    let mut errors = match flash::take::<PrintFields>(&state, &signed, LIST).await? {
        Some(refused) => refused.errors,
        None => FieldErrors::default(),
    };
    let months = parse_idle_months(&query.months)
        .map_err(|invalid| errors.invalid(&tr, "months", &invalid))
        .ok();
    let kelurahan = query.kelurahan.trim().to_string();
    let kelurahan_ok = kelurahan.is_empty()
        || crate::domain::text::bounded(&kelurahan, crate::domain::limits::AREA_CHARS, "kelurahan")
            .map_err(|invalid| errors.invalid(&tr, "kelurahan", &invalid))
            .is_ok();
    let page = Page {
        after: query.after,
        limit: PAGE_SIZE,
    };
    let rows = match (months, program.is_empty() || !kelurahan_ok) {
        (Some(months), false) => {
            let within = (!kelurahan.is_empty()).then(|| kelurahan.clone());
            state
                .dormancy
                .list(&program, months, within, page)
                .await
                .map_err(web)?
        }
        _ => Vec::new(),
    };
    let months_text = months.map_or(query.months.clone(), |m| m.to_string());
    let next = (rows.len() == PAGE_SIZE as usize)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            let query = serde_urlencoded::to_string([
                ("program", program.as_str()),
                ("months", months_text.as_str()),
                ("kelurahan", kelurahan.as_str()),
                ("after", &last.household.household_id.0.to_string()),
            ])
            .unwrap_or_default();
            format!("{LIST}?{query}")
        });
    Ok(DormantPage {
        layout: Layout::new(&signed, "/office"),
        programs,
        program,
        months: months_text,
        kelurahan,
        rows,
        next,
        can_print: signed.role().may(Permission::ManageHouseholds),
        errors,
    })
}

/// Records the notice (or finds today's) and opens its letter; a household no longer dormant
/// goes back to the list with why.
pub async fn print(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<PrintFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let tr = signed.tr();
    let months = parse_idle_months(&fields.months).unwrap_or(DEFAULT_IDLE_MONTHS);
    match state
        .dormancy
        .notice(HouseholdId(id), &fields.program, months, signed.user.id)
        .await
    {
        Ok(notice) => {
            let to = format!("/dormancy-notices/{}", notice.id.0);
            Ok(Redirect::to(&to).into_response())
        }
        Err(DormancyError::NotDormant(months)) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "form",
                tr.t1("dormant-not-dormant", "months", months.to_string()),
            );
            flash::refused(&state, &signed, LIST, errors, fields).await
        }
        Err(error) => Err(web(error)),
    }
}

pub async fn notice(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: axum::http::HeaderMap,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<NoticePage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    let notice = state
        .dormancy
        .get_notice(DormancyNoticeId(id))
        .await
        .map_err(web)?;
    let household = state
        .store
        .get_household(notice.household_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let program_name = state
        .store
        .find_program_by_code(&notice.program_code)
        .await?
        .map_or_else(|| notice.program_code.clone(), |program| program.name);
    Ok(NoticePage {
        layout: Layout::new(&signed, "/office"),
        letter: crate::web::i18n::Tr::new(Locale::Id),
        notice,
        household,
        program_name,
        saldo_address: crate::web::pages::cards::saldo_address(&headers),
    })
}
