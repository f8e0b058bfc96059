//! Registry imports at the office: upload the city's CSV export (with a progress bar while it
//! goes up), read the report (what approval writes, what is registered already, every refused
//! line with its number and reason) and, as another office user, approve it. The same
//! `registry::import` service as the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Multipart, State},
    response::{IntoResponse, Redirect, Response},
};
use tokio_util::io::StreamReader;

use crate::{
    domain::{ids::RegistryImportId, role::Permission},
    http::state::AppState,
    model::registry_import::{ImportLineError, ImportRecord},
    registry::import::ImportError,
    store::Page,
    web::{
        error::WebError,
        flash,
        form::{FieldErrors, NoFields, PagePath},
        layout::Layout,
        session::SignedIn,
        signed_form::SignedForm,
        upload,
    },
};

const LIST: &str = "/registry-imports";
/// Refused lines shown on the report page (all of them through the API).
const ERRORS_SHOWN: u32 = 200;

#[derive(Template, WebTemplate)]
#[template(path = "registry_imports.html", config = "src/web/askama.toml")]
pub struct ImportsPage {
    layout: Layout,
    imports: Vec<ImportRecord>,
    can_upload: bool,
    errors: FieldErrors,
}

impl ImportsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.of(field)
    }

    fn status_key(&self, import: &ImportRecord) -> &'static str {
        status_key(import)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "registry_import.html", config = "src/web/askama.toml")]
pub struct ImportPage {
    layout: Layout,
    import: ImportRecord,
    lines: Vec<ImportLineError>,
    can_approve: bool,
    errors: FieldErrors,
}

impl ImportPage {
    fn status_key(&self, import: &ImportRecord) -> &'static str {
        status_key(import)
    }

    fn code_key(&self, code: &str) -> String {
        crate::web::form::invalid_key(code)
    }

    fn has_words(&self, code: &str) -> bool {
        self.layout.tr.has(&crate::web::form::invalid_key(code))
    }
}

fn status_key(import: &ImportRecord) -> &'static str {
    match import.status.as_str() {
        "validated" => "import-status-validated",
        "approved" => "import-status-approved",
        _ => "import-status-validating",
    }
}

fn web(error: ImportError) -> WebError {
    match error {
        ImportError::NotFound => WebError::NotFound,
        ImportError::Store(store) => store.into(),
        other => WebError::Internal(other.to_string()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
) -> Result<ImportsPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    let imports = state
        .registry_imports
        .list(Page::first(50))
        .await
        .map_err(web)?;
    let errors = flash::take::<NoFields>(&state, &signed, LIST)
        .await?
        .map(|refused| refused.errors)
        .unwrap_or_default();
    Ok(ImportsPage {
        layout: Layout::new(&signed, "/households"),
        imports,
        can_upload: signed.role().may(Permission::ManageHouseholds),
        errors,
    })
}

pub async fn upload(
    State(state): State<AppState>,
    signed: SignedIn,
    mut form: Multipart,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let tr = signed.tr();
    let refused = |message: String| async {
        let mut errors = FieldErrors::default();
        errors.add("file", message);
        flash::refused(&state, &signed, LIST, errors, NoFields {}).await
    };
    upload::check_csrf_first(&mut form, &signed).await?;
    let field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    let Some(field) = field.filter(|field| upload::is_chosen_file(field, "file")) else {
        return refused(tr.t("quota-no-file")).await;
    };
    let name = upload::file_name(&field, "registry.csv");
    let (forward, body) = upload::stream(field);
    let uploading =
        state
            .registry_imports
            .upload_csv(signed.user.id, name, StreamReader::new(body));
    let ((), uploaded) = tokio::join!(forward, uploading);
    match uploaded {
        Ok(import) => Ok(Redirect::to(&format!("{LIST}/{}", import.id.0)).into_response()),
        Err(ImportError::Empty) => refused(tr.t("import-empty")).await,
        Err(ImportError::Read(crate::registry::import_parse::ReadError::Header(reason))) => {
            refused(tr.t1("import-bad-header", "why", reason.to_string())).await
        }
        Err(ImportError::Read(_)) => refused(tr.t("import-interrupted")).await,
        Err(error) => Err(web(error)),
    }
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<ImportPage, WebError> {
    signed.require(Permission::ReadRegistry)?;
    let id = RegistryImportId(id);
    let import = state.registry_imports.get(id).await.map_err(web)?;
    let lines = state
        .registry_imports
        .errors(id, 0, ERRORS_SHOWN)
        .await
        .map_err(web)?;
    let errors = flash::take::<NoFields>(&state, &signed, &format!("{LIST}/{}", id.0))
        .await?
        .map(|refused| refused.errors)
        .unwrap_or_default();
    Ok(ImportPage {
        layout: Layout::new(&signed, "/households"),
        can_approve: signed.role().may(Permission::ManageHouseholds)
            && import.status.as_str() == "validated"
            && import.uploaded_by != signed.user.id,
        import,
        lines,
        errors,
    })
}

pub async fn approve(
    State(state): State<AppState>,
    PagePath(id): PagePath<uuid::Uuid>,
    SignedForm { signed, form: _ }: SignedForm<NoFields>,
) -> Result<Response, WebError> {
    signed.require(Permission::ManageHouseholds)?;
    let tr = signed.tr();
    let page = format!("{LIST}/{id}");
    let refusal = match state
        .registry_imports
        .approve(RegistryImportId(id), signed.user.id)
        .await
    {
        Ok(_) => return Ok(Redirect::to(&page).into_response()),
        Err(ImportError::SameApprover(_)) => tr.t("import-same-approver"),
        Err(ImportError::NotValidated(_)) => tr.t("import-not-approvable"),
        Err(error) => return Err(web(error)),
    };
    let mut errors = FieldErrors::default();
    errors.add("form", refusal);
    flash::refused(&state, &signed, &page, errors, NoFields {}).await
}
