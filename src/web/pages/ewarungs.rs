//! E-Warungs and their terminals, for the admin and the offices: register an E-Warung (its
//! address and the bank account it is paid into), add a terminal, and rotate a terminal's PIN
//! key. A new key is shown once, with its check value, to be loaded into the terminal; the host
//! keeps it only wrapped.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::web::flash;
use crate::web::form::PagePath;
use crate::web::signed_form::SignedForm;
use crate::{
    domain::{
        household::{neighbourhood_unit, Address},
        ids::EwarungId,
        role::Permission,
        terminal::TerminalId,
        text::bounded,
        Invalid,
    },
    http::state::AppState,
    model::records::{BankAccount, EwarungRecord, NewEwarung, NewTerminal, TerminalRecord},
    store::{Page, StoreError},
    web::{error::WebError, form::FieldErrors, layout::Layout, session::SignedIn},
};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct EwarungFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    rt: String,
    #[serde(default)]
    rw: String,
    #[serde(default)]
    kelurahan: String,
    #[serde(default)]
    kecamatan: String,
    #[serde(default)]
    bank_code: String,
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    account_holder: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ewarungs.html", config = "src/web/askama.toml")]
pub struct EwarungsPage {
    layout: Layout,
    can_manage: bool,
    ewarungs: Vec<EwarungRecord>,
    fields: EwarungFields,
    errors: FieldErrors,
}

impl EwarungsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    /// The form's inputs: name, label key and value as typed.
    fn inputs(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.fields;
        vec![
            ("name", "ewarungs-name", &f.name),
            ("owner", "ewarungs-owner", &f.owner),
            ("street", "field-street", &f.street),
            ("rt", "field-rt", &f.rt),
            ("rw", "field-rw", &f.rw),
            ("kelurahan", "field-kelurahan", &f.kelurahan),
            ("kecamatan", "field-kecamatan", &f.kecamatan),
            ("bank_code", "ewarungs-bank-code", &f.bank_code),
            (
                "account_number",
                "ewarungs-account-number",
                &f.account_number,
            ),
            (
                "account_holder",
                "ewarungs-account-holder",
                &f.account_holder,
            ),
        ]
    }
}

async fn list_page(
    state: &AppState,
    signed: &SignedIn,
    fields: EwarungFields,
    errors: FieldErrors,
) -> Result<EwarungsPage, WebError> {
    let all = Page {
        after: None,
        limit: Page::MAX_LIMIT,
    };
    Ok(EwarungsPage {
        layout: Layout::new(signed, "/ewarungs"),
        can_manage: signed.role().may(Permission::ManageEwarungs),
        ewarungs: state.store.list_ewarungs(all).await?,
        fields,
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
) -> Result<EwarungsPage, WebError> {
    // Auditors and offices read every E-Warung; an operator has their own page (`/kiosk`).
    signed.require(Permission::ReadEwarungs)?;
    signed.require(Permission::ReadRegistry)?;
    let (fields, errors) = flash::take(&state, &signed, "/ewarungs")
        .await?
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    list_page(&state, &signed, fields, errors).await
}

/// Digits in a bank code (Indonesia's clearing codes are three).
const BANK_CODE_DIGITS: usize = 3;
/// The digits an account number may have.
const ACCOUNT_DIGITS: std::ops::RangeInclusive<usize> = 6..=20;

fn all_digits(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_digit())
}

fn bank_code(value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    if value.len() == BANK_CODE_DIGITS && all_digits(value) {
        Ok(value.to_string())
    } else {
        Err(Invalid::new("invalid_bank_code", "a bank code is 3 digits")
            .with("digits", BANK_CODE_DIGITS))
    }
}

fn account_number(value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    if ACCOUNT_DIGITS.contains(&value.len()) && all_digits(value) {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            "invalid_bank_account",
            "an account number is 6 to 20 digits",
        )
        .with("min", ACCOUNT_DIGITS.start())
        .with("max", ACCOUNT_DIGITS.end()))
    }
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<EwarungFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    let mut check = |field: &'static str, result: Result<String, Invalid>| {
        result
            .map_err(|invalid| errors.invalid(&tr, field, &invalid))
            .ok()
    };
    let name = check(
        "name",
        bounded(&fields.name, crate::domain::limits::NAME_CHARS, "name"),
    );
    let owner = check(
        "owner",
        bounded(&fields.owner, crate::domain::limits::NAME_CHARS, "owner"),
    );
    let street = check(
        "street",
        bounded(&fields.street, crate::domain::limits::NAME_CHARS, "street"),
    );
    let rt = check("rt", neighbourhood_unit(&fields.rt, "rt"));
    let rw = check("rw", neighbourhood_unit(&fields.rw, "rw"));
    let kelurahan = check(
        "kelurahan",
        bounded(
            &fields.kelurahan,
            crate::domain::limits::AREA_CHARS,
            "kelurahan",
        ),
    );
    let kecamatan = check(
        "kecamatan",
        bounded(
            &fields.kecamatan,
            crate::domain::limits::AREA_CHARS,
            "kecamatan",
        ),
    );
    let bank_code = check("bank_code", bank_code(&fields.bank_code));
    let number = check("account_number", account_number(&fields.account_number));
    let holder = check(
        "account_holder",
        bounded(
            &fields.account_holder,
            crate::domain::limits::NAME_CHARS,
            "holder",
        ),
    );
    if let (
        Some(name),
        Some(owner_name),
        Some(street),
        Some(rt),
        Some(rw),
        Some(kelurahan),
        Some(kecamatan),
        Some(bank_code),
        Some(account_number),
        Some(account_holder),
    ) = (
        name, owner, street, rt, rw, kelurahan, kecamatan, bank_code, number, holder,
    ) {
        let ewarung = NewEwarung {
            name,
            owner_name,
            address: Address {
                street,
                rt,
                rw,
                kelurahan,
                kecamatan,
            },
            bank_account: BankAccount {
                bank_code,
                account_number,
                account_holder,
            },
        };
        match state.store.create_ewarung(ewarung, signed.user.id).await {
            Ok(record) => {
                return Ok(Redirect::to(&format!("/ewarungs/{}", record.id.0)).into_response())
            }
            // The one unique value of an E-Warung is the account it is paid to.
            Err(StoreError::Duplicate { constraint })
                if constraint == "ewarungs_bank_account_key" =>
            {
                errors.add("account_number", tr.t("ewarungs-account-taken"))
            }
            Err(error) => return Err(error.into()),
        }
    }
    flash::refused(&state, &signed, "/ewarungs", errors, fields).await
}

#[derive(Template, WebTemplate)]
#[template(path = "ewarung.html", config = "src/web/askama.toml")]
pub struct EwarungPage {
    layout: Layout,
    can_manage: bool,
    ewarung: EwarungRecord,
    terminals: Vec<TerminalRecord>,
    /// A key just made: the terminal, the key in clear and its check value, shown this once.
    new_key: Option<(String, String, String)>,
    terminal_id: String,
    serial: String,
    errors: FieldErrors,
}

impl EwarungPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    /// A key in groups of four characters, read aloud and typed into a terminal group by group.
    fn groups(&self, key: &str) -> Vec<String> {
        key.as_bytes()
            .chunks(4)
            .map(|group| String::from_utf8_lossy(group).into_owned())
            .collect()
    }
}

async fn ewarung_page(
    state: &AppState,
    signed: &SignedIn,
    id: EwarungId,
    new_key: Option<(String, String, String)>,
    errors: FieldErrors,
) -> Result<EwarungPage, WebError> {
    let ewarung = state
        .store
        .get_ewarung(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(EwarungPage {
        layout: Layout::new(signed, "/ewarungs"),
        can_manage: signed.role().may(Permission::ManageEwarungs),
        terminals: state.store.list_terminals(id).await?,
        ewarung,
        new_key,
        terminal_id: String::new(),
        serial: String::new(),
        errors,
    })
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<EwarungPage, WebError> {
    signed.require(Permission::ReadEwarungs)?;
    signed.require(Permission::ReadRegistry)?;
    let refused =
        flash::take::<TerminalFields>(&state, &signed, &format!("/ewarungs/{id}")).await?;
    let (fields, errors) = refused
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    let mut page = ewarung_page(&state, &signed, EwarungId(id), None, errors).await?;
    page.terminal_id = fields.terminal_id;
    page.serial = fields.serial;
    Ok(page)
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TerminalFields {
    #[serde(default)]
    terminal_id: String,
    #[serde(default)]
    serial: String,
}

pub async fn add_terminal(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm {
        signed,
        form: fields,
    }: SignedForm<TerminalFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    let ewarung = EwarungId(id);
    let tr = signed.tr();
    let mut errors = FieldErrors::default();
    // Typed in lower case, as program codes and SKUs may be: the same id.
    let terminal_id = TerminalId::parse(&fields.terminal_id.trim().to_ascii_uppercase())
        .map_err(|invalid| errors.invalid(&tr, "terminal_id", &invalid))
        .ok();
    let serial = bounded(
        &fields.serial,
        crate::domain::limits::SERIAL_CHARS,
        "serial",
    )
    .map_err(|invalid| errors.invalid(&tr, "serial", &invalid))
    .ok();
    if let (Some(terminal_id), Some(serial_number)) = (terminal_id, serial) {
        state
            .store
            .get_ewarung(ewarung)
            .await?
            .ok_or(WebError::NotFound)?;
        let terminal_id = terminal_id.as_str().to_string();
        let (key, wrapped) = crate::http::ewarungs::new_pin_key(&state, &terminal_id);
        let terminal = NewTerminal {
            terminal_id: terminal_id.clone(),
            ewarung_id: ewarung,
            serial_number,
            pin_key: Some(wrapped),
        };
        match state.store.create_terminal(terminal, signed.user.id).await {
            Ok(_) => {
                let shown = (terminal_id, key.expose_hex().to_string(), key.check_value());
                let page = ewarung_page(&state, &signed, ewarung, Some(shown), errors).await?;
                return Ok((StatusCode::CREATED, page).into_response());
            }
            Err(StoreError::Duplicate { constraint })
                if constraint == "terminals_serial_number_key" =>
            {
                errors.add("serial", tr.t("terminals-serial-taken"))
            }
            Err(StoreError::Duplicate { .. }) => errors.add("terminal_id", tr.t("terminals-taken")),
            Err(error) => return Err(error.into()),
        }
    }
    let path = format!("/ewarungs/{}", ewarung.0);
    flash::refused(&state, &signed, &path, errors, fields).await
}

/// A page that asks before an action that cannot be undone.
#[derive(Template, WebTemplate)]
#[template(path = "confirm.html", config = "src/web/askama.toml")]
pub struct ConfirmPage {
    layout: Layout,
    title: String,
    text: String,
    action: String,
    button_id: &'static str,
    cancel: String,
}

/// Rotating a PIN key stops the old one at once (the terminal takes no PIN until the new key is
/// loaded into it): it asks first.
pub async fn confirm_rotate_key(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath((id, terminal_id)): PagePath<(uuid::Uuid, String)>,
) -> Result<ConfirmPage, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    let terminal = state
        .store
        .get_terminal(&terminal_id)
        .await?
        .filter(|terminal| terminal.ewarung_id == EwarungId(id))
        .ok_or(WebError::NotFound)?;
    let tr = signed.tr();
    let ewarung = format!("/ewarungs/{id}");
    Ok(ConfirmPage {
        layout: Layout::new(&signed, "/ewarungs"),
        title: tr.t1("terminals-rotate-title", "terminal", &terminal.terminal_id),
        text: tr.t("terminals-rotate-confirm"),
        action: format!("{ewarung}/terminals/{}/pin-key", terminal.terminal_id),
        button_id: "confirm-rotate",
        cancel: ewarung,
    })
}

/// A new PIN key for a terminal of this E-Warung; the old one stops working at once.
pub async fn rotate_key(
    State(state): State<AppState>,
    PagePath((id, terminal_id)): PagePath<(uuid::Uuid, String)>,
    SignedForm { signed, form: _ }: SignedForm<crate::web::form::NoFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageEwarungs)?;
    let ewarung = EwarungId(id);
    let terminal = state
        .store
        .get_terminal(&terminal_id)
        .await?
        .filter(|terminal| terminal.ewarung_id == ewarung)
        .ok_or(WebError::NotFound)?;
    let (key, wrapped) = crate::http::ewarungs::new_pin_key(&state, &terminal.terminal_id);
    state
        .store
        .set_terminal_pin_key(&terminal.terminal_id, wrapped, signed.user.id)
        .await?;
    let shown = (
        terminal.terminal_id,
        key.expose_hex().to_string(),
        key.check_value(),
    );
    let page = ewarung_page(
        &state,
        &signed,
        ewarung,
        Some(shown),
        FieldErrors::default(),
    )
    .await?;
    Ok((StatusCode::CREATED, page).into_response())
}
