//! E-Warungs and their terminals, for the admin and the offices: register an E-Warung (its
//! address and the bank account it is paid into), add a terminal, and rotate a terminal's PIN
//! key. A new key is shown once, with its check value, to be loaded into the terminal; the host
//! keeps it only wrapped.

use crate::web::format::Shows;
use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use crate::web::flash;
use crate::web::form::PagePath;
use crate::web::signed_form::SignedForm;
use crate::{
    domain::{household::Address, ids::EwarungId, role::Permission},
    http::state::AppState,
    model::records::{BankAccount, EwarungRecord, TerminalRecord},
    registry::ewarungs::{EwarungRegistration, Keyed, TerminalRegistration},
    store::Page,
    web::{
        error::WebError,
        form::{address_field, FieldErrors},
        layout::Layout,
        refusals,
        session::SignedIn,
    },
};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct EwarungFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    owner_nik: String,
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
            ("owner_nik", "ewarungs-owner-nik", &f.owner_nik),
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

/// The form's name of a field the E-Warung rules name as the API does.
fn ewarung_field(field: &'static str) -> &'static str {
    match field {
        "owner_name" => "owner",
        "bank_account.bank_code" => "bank_code",
        "bank_account.number" => "account_number",
        "bank_account.holder" => "account_holder",
        other => address_field(other),
    }
}

/// The form's name of a field the terminal rules name as the API does.
fn terminal_field(field: &'static str) -> &'static str {
    match field {
        "serial_number" => "serial",
        other => other,
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
    let address = Address {
        street: fields.street.clone(),
        rt: fields.rt.clone(),
        rw: fields.rw.clone(),
        kelurahan: fields.kelurahan.clone(),
        kecamatan: fields.kecamatan.clone(),
    };
    let account = BankAccount {
        bank_code: fields.bank_code.clone(),
        account_number: fields.account_number.clone(),
        account_holder: fields.account_holder.clone(),
    };
    let registered = match EwarungRegistration::parse(
        &fields.name,
        &fields.owner,
        &fields.owner_nik,
        address,
        &account,
    ) {
        Ok(registration) => state.ewarungs.register(registration, signed.user.id).await,
        Err(refusals) => Err(refusals.into()),
    };
    let error = match registered {
        Ok(record) => {
            return Ok(Redirect::to(&format!("/ewarungs/{}", record.id.0)).into_response())
        }
        Err(error) => error,
    };
    let mut errors = FieldErrors::default();
    refusals::ewarung(&signed.tr(), error, &mut errors, ewarung_field)?;
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
    /// Its complaints, newest first (for the office and auditors).
    complaints: Vec<crate::model::complaints::ComplaintRecord>,
}

impl EwarungPage {
    fn category_key(&self, category: &crate::domain::complaint::Category) -> String {
        crate::web::pages::complaints::category_key(*category)
    }

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
    let ewarung = state.ewarungs.get(id).await?;
    Ok(EwarungPage {
        layout: Layout::new(signed, "/ewarungs"),
        can_manage: signed.role().may(Permission::ManageEwarungs),
        terminals: state.store.list_terminals(id).await?,
        ewarung,
        new_key,
        terminal_id: String::new(),
        serial: String::new(),
        errors,
        complaints: if signed.role().may(Permission::ReadRegistry) {
            crate::web::pages::complaints::of_ewarung(state, id).await?
        } else {
            Vec::new()
        },
    })
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<EwarungPage, WebError> {
    signed.require(Permission::ReadEwarungs)?;
    signed.require(Permission::ReadRegistry)?;
    let refused = flash::take::<LeftForPage>(&state, &signed, &format!("/ewarungs/{id}")).await?;
    let (fields, errors) = refused
        .map(|flash| (flash.form, flash.errors))
        .unwrap_or_default();
    let new_key = granted_key(&state, EwarungId(id), &fields.key_for).await?;
    let mut page = ewarung_page(&state, &signed, EwarungId(id), new_key, errors).await?;
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

/// What the E-Warung's page finds left for it: a refused terminal form's values, or the grant
/// an add or a rotation left (`KeyGrant`). A form never carries `key_for`: only a grant does.
#[derive(Debug, Default, Deserialize)]
struct LeftForPage {
    #[serde(default)]
    terminal_id: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    key_for: String,
}

/// What an add or a rotation leaves for the E-Warung's page: the terminal whose key the next
/// view of the page shows, once. The key itself is not kept anywhere in clear: the page opens
/// the wrapped copy the terminal's row holds.
#[derive(Debug, Serialize)]
struct KeyGrant<'a> {
    key_for: &'a str,
}

/// The terminal, key and check value the view may show: the terminal's current key, if the
/// add or rotation that led here granted it and it is still this E-Warung's.
async fn granted_key(
    state: &AppState,
    ewarung: EwarungId,
    key_for: &str,
) -> Result<Option<(String, String, String)>, WebError> {
    if key_for.is_empty() {
        return Ok(None);
    }
    let Some(terminal) = state
        .store
        .get_terminal(key_for)
        .await?
        .filter(|terminal| terminal.ewarung_id == ewarung)
    else {
        return Ok(None);
    };
    let Some(wrapped) = state.store.terminal_pin_key(&terminal.terminal_id).await? else {
        return Ok(None);
    };
    let key = state
        .terminal_keys
        .unwrap(&terminal.terminal_id, &wrapped)
        .map_err(|_| {
            WebError::Internal(format!(
                "terminal {}: the stored key cannot be opened",
                terminal.terminal_id
            ))
        })?;
    Ok(Some((
        terminal.terminal_id,
        key.expose_hex().to_string(),
        key.check_value(),
    )))
}

/// To the E-Warung's page, which shows the new key of `keyed` this once.
async fn show_key(
    state: &AppState,
    signed: &SignedIn,
    ewarung: EwarungId,
    keyed: &Keyed,
) -> Result<Response, WebError> {
    let grant = KeyGrant {
        key_for: &keyed.terminal.terminal_id,
    };
    let path = format!("/ewarungs/{}", ewarung.0);
    flash::done(state, signed, &path, grant).await
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
    // Typed in lower case, as program codes and SKUs may be: the same id.
    let terminal_id = fields.terminal_id.trim().to_ascii_uppercase();
    let added = match TerminalRegistration::parse(&terminal_id, &fields.serial) {
        Ok(registration) => {
            state
                .ewarungs
                .add_terminal(ewarung, registration, signed.user.id)
                .await
        }
        Err(refusals) => Err(refusals.into()),
    };
    let error = match added {
        Ok(keyed) => return show_key(&state, &signed, ewarung, &keyed).await,
        Err(error) => error,
    };
    let mut errors = FieldErrors::default();
    refusals::ewarung(&signed.tr(), error, &mut errors, terminal_field)?;
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
    let terminal = state.ewarungs.terminal(&terminal_id).await?;
    if terminal.ewarung_id != ewarung {
        return Err(WebError::NotFound);
    }
    let keyed = state
        .ewarungs
        .rotate_pin_key(&terminal.terminal_id, signed.user.id)
        .await?;
    show_key(&state, &signed, ewarung, &keyed).await
}

impl Shows for EwarungPage {
    fn locale(&self) -> crate::domain::locale::Locale {
        self.layout.tr.locale
    }
}
