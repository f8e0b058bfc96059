//! The one error type of the HTTP API and the one place it becomes a response.
//!
//! Every error answers with `{"error": {"code", "message", "field"?}}`. `code` is stable and
//! documented (clients switch on it); `message` is for people; `field` names the offending input as
//! a path such as `address.rt`. Handlers return `Result<_, ApiError>` and use `?` on store and
//! domain errors; unique-constraint names from the store become specific conflict codes here.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::{
    domain::{Invalid, Refusals},
    registry::{
        ewarungs::EwarungError, households::HouseholdError, programs::ProgramError,
        users::UserError,
    },
    store::StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body or parameters could not be read (syntax, types, unknown fields).
    #[error("{message}")]
    BadRequest {
        code: String,
        message: String,
        field: Option<String>,
    },
    /// Well-formed input whose value is refused (check digits, lengths, amounts).
    #[error("{message}")]
    Invalid {
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error("{message}")]
    Unauthenticated {
        code: &'static str,
        message: &'static str,
    },
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Locked { code: &'static str, message: String },
    #[error("request body is larger than the limit")]
    PayloadTooLarge,
    /// The body's content type is not one the endpoint reads (`accepted` lists those).
    #[error("request body must be {accepted}")]
    UnsupportedMediaType { accepted: &'static str },
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// Too many failed attempts; try again after `retry_after`.
    #[error("{message}")]
    TooManyAttempts {
        code: &'static str,
        message: String,
        retry_after: std::time::Duration,
    },
    /// The service cannot answer now (overloaded, or the outcome is not known yet); the message
    /// says what to do, and `retry_after` when to try.
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Something went wrong on our side. Details are logged, never sent.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A refused value in a named field.
    pub fn invalid(field: &str, invalid: Invalid) -> Self {
        ApiError::Invalid {
            code: invalid.code.to_string(),
            message: invalid.message,
            field: Some(field.to_string()),
        }
    }

    pub fn forbidden_role() -> Self {
        ApiError::Forbidden {
            code: "forbidden_role",
            message: "your role may not do this",
        }
    }

    pub fn forbidden_ewarung() -> Self {
        ApiError::Forbidden {
            code: "forbidden_ewarung",
            message: "you may act only for your own E-Warung and its terminals",
        }
    }

    pub fn forbidden_kelurahan() -> Self {
        ApiError::Forbidden {
            code: "forbidden_kelurahan",
            message: "you may act only for households of the kelurahan you are bound to",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Locked { .. } => StatusCode::LOCKED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> String {
        match self {
            ApiError::BadRequest { code, .. } | ApiError::Invalid { code, .. } => code.clone(),
            ApiError::Unauthenticated { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Locked { code, .. }
            | ApiError::TooManyAttempts { code, .. }
            | ApiError::Unavailable { code, .. } => code.to_string(),
            ApiError::NotFound { entity } => format!("{entity}_not_found"),
            ApiError::PayloadTooLarge => "payload_too_large".into(),
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type".into(),
            ApiError::MethodNotAllowed => "method_not_allowed".into(),
            ApiError::Internal(_) => "internal_error".into(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::Invalid { field, .. } => {
                field.as_deref()
            }
            _ => None,
        }
    }
}

/// The documented error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// The error body's detail, for an answer that reports several outcomes; an internal
    /// failure stays an error (the whole request fails with 500).
    pub fn detail(self) -> Result<ErrorDetail, ApiError> {
        if let ApiError::Internal(_) = &self {
            return Err(self);
        }
        Ok(ErrorDetail {
            code: self.code(),
            message: self.to_string(),
            field: self.field().map(str::to_string),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                field: self.field().map(str::to_string),
            },
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            ApiError::TooManyAttempts { retry_after, .. } => Some(*retry_after),
            ApiError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        };
        if let Some(wait) = retry_after {
            // Whole seconds, rounded up, never 0.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(seconds.max(1)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<crate::login::LoginError> for ApiError {
    fn from(error: crate::login::LoginError) -> Self {
        use crate::login::LoginError;
        let message = error.to_string();
        match error {
            LoginError::Refused => ApiError::Unauthenticated {
                code: "invalid_credentials",
                message: "username or password is wrong",
            },
            LoginError::Throttled { retry_after } => ApiError::TooManyAttempts {
                code: "too_many_attempts",
                message,
                retry_after,
            },
            LoginError::Overloaded(_) => ApiError::Unavailable {
                code: "login_overloaded",
                message,
                retry_after: Some(std::time::Duration::from_secs(1)),
            },
            LoginError::Store(store) => store.into(),
        }
    }
}

impl From<crate::auth::password_workers::Overloaded> for ApiError {
    fn from(error: crate::auth::password_workers::Overloaded) -> Self {
        crate::login::LoginError::from(error).into()
    }
}

impl From<crate::cards::CardError> for ApiError {
    fn from(error: crate::cards::CardError) -> Self {
        use crate::cards::CardError;
        let message = error.to_string();
        match error {
            CardError::CardNotFound => ApiError::NotFound { entity: "card" },
            CardError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            CardError::HouseholdNotActive(_) => ApiError::Conflict {
                code: "household_not_active",
                message,
            },
            CardError::NotUsable(_) => ApiError::Conflict {
                code: "invalid_state",
                message,
            },
            CardError::HouseholdHasCard => ApiError::Conflict {
                code: "household_has_card",
                message,
            },
            CardError::RepresentativeEnded(_) => ApiError::Conflict {
                code: "representative_ended",
                message,
            },
            CardError::Pin(refusal) => pin_refusal(refusal),
            CardError::ReplaceSeparately | CardError::NoFreeNumber | CardError::Unreadable(_) => {
                ApiError::Internal(anyhow::anyhow!(message))
            }
            CardError::Store(store) => store.into(),
        }
    }
}

/// A refused command answers with its first refused value (a page shows them all).
impl From<Refusals> for ApiError {
    fn from(refusals: Refusals) -> Self {
        match refusals.first() {
            Some((field, invalid)) => ApiError::invalid(field, invalid.clone()),
            None => ApiError::Internal(anyhow::anyhow!("a command was refused without a reason")),
        }
    }
}

fn conflict(code: &'static str, error: &impl std::fmt::Display) -> ApiError {
    ApiError::Conflict {
        code,
        message: error.to_string(),
    }
}

impl From<HouseholdError> for ApiError {
    fn from(error: HouseholdError) -> Self {
        match error {
            HouseholdError::NotFound => ApiError::NotFound {
                entity: "household",
            },
            HouseholdError::Refused(refusals) => refusals.into(),
            HouseholdError::KkNumberRegistered => conflict("kk_number_registered", &error),
            HouseholdError::NikInOtherHousehold(_) => conflict("nik_in_other_household", &error),
            HouseholdError::Stale { .. } => conflict("stale_revision", &error),
            HouseholdError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::members::MemberError> for ApiError {
    fn from(error: crate::registry::members::MemberError) -> Self {
        use crate::registry::members::MemberError;
        match error {
            MemberError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            MemberError::MemberNotFound => ApiError::NotFound { entity: "member" },
            MemberError::Refused(refusals) => refusals.into(),
            MemberError::NikInOtherHousehold(_) => conflict("nik_in_other_household", &error),
            MemberError::NikInThisHousehold => conflict("nik_in_household", &error),
            MemberError::HeadRequired => conflict("head_required", &error),
            MemberError::Stale { .. } => conflict("stale_revision", &error),
            MemberError::Store(store) => store.into(),
        }
    }
}

impl From<crate::audit_trail::ProofError> for ApiError {
    fn from(error: crate::audit_trail::ProofError) -> Self {
        use crate::audit_trail::ProofError;
        match error {
            ProofError::NotFound(_) => ApiError::NotFound { entity: "entry" },
            ProofError::NotSealed => conflict("not_sealed", &error),
            ProofError::NoHead => conflict("not_signed", &error),
            ProofError::Other(error) => ApiError::Internal(error),
        }
    }
}

impl From<crate::registry::change_requests::ChangeRequestError> for ApiError {
    fn from(error: crate::registry::change_requests::ChangeRequestError) -> Self {
        use crate::registry::change_requests::ChangeRequestError;
        match error {
            ChangeRequestError::NotFound => ApiError::NotFound {
                entity: "change request",
            },
            ChangeRequestError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            ChangeRequestError::MemberNotFound => ApiError::NotFound { entity: "member" },
            ChangeRequestError::Refused(refusals) => refusals.into(),
            ChangeRequestError::State(invalid) => ApiError::Conflict {
                code: invalid.code,
                message: invalid.message,
            },
            ChangeRequestError::NotAuthor => ApiError::Forbidden {
                code: "not_author",
                message: "only the author of a request submits or rewrites it",
            },
            ChangeRequestError::OwnRequest => ApiError::Forbidden {
                code: "maker_checker",
                message: "a request is approved by an office user other than its author",
            },
            ChangeRequestError::StatusRequestOpen => conflict("status_request_open", &error),
            ChangeRequestError::Stale { .. } => conflict("stale_revision", &error),
            ChangeRequestError::Duplicate { .. } => conflict("duplicate_request", &error),
            ChangeRequestError::Household(household) => household.into(),
            ChangeRequestError::Member(member) => member.into(),
            ChangeRequestError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::visits::VisitError> for ApiError {
    fn from(error: crate::registry::visits::VisitError) -> Self {
        use crate::{photos::PhotoError, registry::visits::VisitError};
        match error {
            VisitError::NotFound => ApiError::NotFound { entity: "visit" },
            VisitError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            VisitError::Refused(refusals) => refusals.into(),
            VisitError::NotRecorder => ApiError::Forbidden {
                code: "not_recorder",
                message: "only who recorded the visit adds its photo",
            },
            VisitError::PhotoTaken => conflict("photo_taken", &error),
            VisitError::Photo(PhotoError::NotAPhoto) => ApiError::UnsupportedMediaType {
                accepted: "a JPEG or PNG photo",
            },
            VisitError::Photo(PhotoError::TooLarge) => ApiError::PayloadTooLarge,
            VisitError::Photo(PhotoError::Body(message)) => ApiError::BadRequest {
                code: "unreadable_body".into(),
                message,
                field: None,
            },
            VisitError::Photo(PhotoError::Io(io)) => ApiError::Internal(io.into()),
            VisitError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::representatives::RepresentativeError> for ApiError {
    fn from(error: crate::registry::representatives::RepresentativeError) -> Self {
        use crate::{
            model::representatives::NamingConflict, registry::representatives::RepresentativeError,
        };
        match error {
            RepresentativeError::NotFound => ApiError::NotFound {
                entity: "representative",
            },
            RepresentativeError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            RepresentativeError::Refused(refusals) => refusals.into(),
            RepresentativeError::Conflict(refusal) => {
                let code = match refusal {
                    NamingConflict::HouseholdNotActive(_) => "household_not_active",
                    NamingConflict::HouseholdFull => "representatives_full",
                    NamingConflict::AlreadyRepresents => "already_represents",
                    NamingConflict::RepresentsTwo => "represents_two_households",
                    NamingConflict::EwarungOwner => "ewarung_owner",
                    NamingConflict::Operator => "ewarung_operator",
                };
                conflict(code, &error)
            }
            RepresentativeError::AlreadyEnded(_) => conflict("invalid_state", &error),
            RepresentativeError::Card(card) => card.into(),
            RepresentativeError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::import::ImportError> for ApiError {
    fn from(error: crate::registry::import::ImportError) -> Self {
        use crate::registry::{import::ImportError, import_parse::ReadError};
        match error {
            ImportError::Empty => ApiError::Invalid {
                code: "empty_file".into(),
                message: error.to_string(),
                field: None,
            },
            ImportError::Read(ReadError::Header(reason)) => ApiError::Invalid {
                code: "invalid_header".into(),
                message: reason.to_string(),
                field: Some("header".into()),
            },
            ImportError::Read(ReadError::Interrupted(message)) => upload_interrupted(message),
            ImportError::ParserStopped(_) => ApiError::Internal(anyhow::anyhow!(error)),
            ImportError::NotFound => ApiError::NotFound {
                entity: "registry_import",
            },
            ImportError::SameApprover(message) => ApiError::Forbidden {
                code: "maker_checker",
                message,
            },
            ImportError::NotValidated(_) => conflict("invalid_state", &error),
            ImportError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::campaigns::CampaignError> for ApiError {
    fn from(error: crate::registry::campaigns::CampaignError) -> Self {
        use crate::registry::campaigns::CampaignError;
        match error {
            CampaignError::NotFound => ApiError::NotFound { entity: "campaign" },
            CampaignError::Refused(refusals) => refusals.into(),
            CampaignError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::dormancy::DormancyError> for ApiError {
    fn from(error: crate::registry::dormancy::DormancyError) -> Self {
        use crate::registry::dormancy::DormancyError;
        match error {
            DormancyError::ProgramNotFound => ApiError::NotFound { entity: "program" },
            DormancyError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            DormancyError::NoticeNotFound => ApiError::NotFound {
                entity: "dormancy_notice",
            },
            DormancyError::NotDormant(_) => conflict("not_dormant", &error),
            DormancyError::Store(store) => store.into(),
        }
    }
}

impl From<crate::registry::complaints::ComplaintError> for ApiError {
    fn from(error: crate::registry::complaints::ComplaintError) -> Self {
        use crate::registry::complaints::ComplaintError;
        match error {
            ComplaintError::NotFound => ApiError::NotFound {
                entity: "complaint",
            },
            ComplaintError::HouseholdNotFound => ApiError::NotFound {
                entity: "household",
            },
            ComplaintError::Refused(refusals) => refusals.into(),
            ComplaintError::Resolved => conflict("complaint_resolved", &error),
            ComplaintError::Store(store) => store.into(),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::NotFound => ApiError::NotFound { entity: "user" },
            UserError::EwarungNotFound => ApiError::NotFound { entity: "ewarung" },
            UserError::Refused(refusals) => refusals.into(),
            UserError::UsernameTaken => conflict("username_taken", &error),
            UserError::NotYourself => ApiError::Forbidden {
                code: "not_yourself",
                message: "you cannot do this to your own account",
            },
            // Saturated password workers are a 503 with retry-after, as for a login.
            UserError::Busy => crate::auth::password_workers::Overloaded.into(),
            UserError::Store(store) => store.into(),
            UserError::Hashing(_) => ApiError::Internal(anyhow::anyhow!(error.to_string())),
        }
    }
}

impl From<ProgramError> for ApiError {
    fn from(error: ProgramError) -> Self {
        match error {
            ProgramError::ProgramNotFound => ApiError::NotFound { entity: "program" },
            ProgramError::ItemNotFound => ApiError::NotFound {
                entity: "catalog_item",
            },
            ProgramError::Refused(refusals) => refusals.into(),
            ProgramError::CodeTaken => conflict("program_code_taken", &error),
            ProgramError::SkuTaken => conflict("sku_taken", &error),
            ProgramError::Store(store) => store.into(),
        }
    }
}

impl From<EwarungError> for ApiError {
    fn from(error: EwarungError) -> Self {
        match error {
            EwarungError::EwarungNotFound => ApiError::NotFound { entity: "ewarung" },
            EwarungError::TerminalNotFound => ApiError::NotFound { entity: "terminal" },
            EwarungError::Refused(refusals) => refusals.into(),
            EwarungError::BankAccountTaken => conflict("bank_account_taken", &error),
            EwarungError::TerminalIdTaken => conflict("terminal_id_taken", &error),
            EwarungError::SerialNumberTaken => conflict("serial_number_taken", &error),
            EwarungError::TerminalState { .. } => conflict("invalid_state", &error),
            EwarungError::Store(store) => store.into(),
        }
    }
}

/// How a refused PIN reads over HTTP (the PIN being checked is `current_pin`).
fn pin_refusal(refusal: crate::pin_check::PinRefusal) -> ApiError {
    use crate::pin_check::PinRefusal;
    match refusal {
        PinRefusal::NotSet => ApiError::Conflict {
            code: "pin_not_set",
            message: "the card has no PIN yet".into(),
        },
        PinRefusal::Locked { until } | PinRefusal::NowLocked { until } => ApiError::Locked {
            code: "card_locked",
            message: format!("too many wrong PINs; the card is locked until {until}"),
        },
        PinRefusal::Wrong { remaining } => ApiError::Invalid {
            code: "wrong_pin".into(),
            message: format!("the PIN is wrong; {remaining} tries left before the card locks"),
            field: Some("current_pin".into()),
        },
    }
}

impl From<crate::quota::upload::UploadError> for ApiError {
    fn from(error: crate::quota::upload::UploadError) -> Self {
        use crate::quota::upload::UploadError;
        match error {
            UploadError::Empty => ApiError::Invalid {
                code: "empty_file".into(),
                message: error.to_string(),
                field: None,
            },
            UploadError::Read(read) => read.into(),
            UploadError::ParserStopped(_) => ApiError::Internal(anyhow::anyhow!(error)),
            UploadError::Store(store) => store.into(),
        }
    }
}

impl From<crate::quota::parse::ReadError> for ApiError {
    fn from(error: crate::quota::parse::ReadError) -> Self {
        use crate::quota::parse::ReadError;
        match error {
            ReadError::Header(reason) => ApiError::Invalid {
                code: "invalid_header".into(),
                message: reason.to_string(),
                field: Some("header".into()),
            },
            ReadError::Interrupted(_) => upload_interrupted(error.to_string()),
        }
    }
}

/// The request body broke off before its end; nothing of it was kept.
fn upload_interrupted(message: String) -> ApiError {
    ApiError::BadRequest {
        code: "upload_interrupted".into(),
        message,
        field: None,
    }
}

impl From<crate::recon::run::RunError> for ApiError {
    fn from(error: crate::recon::run::RunError) -> Self {
        use crate::recon::bank_file::FileError;
        use crate::recon::run::RunError;
        let message = error.to_string();
        match error {
            RunError::File(FileError::Header(reason)) => ApiError::Invalid {
                code: "invalid_header".into(),
                message: reason.to_string(),
                field: Some("header".into()),
            },
            RunError::File(FileError::Interrupted(_)) => upload_interrupted(message),
            RunError::File(FileError::Empty) | RunError::NoLines => ApiError::Invalid {
                code: "empty_file".into(),
                message,
                field: None,
            },
            RunError::OutOfRange => ApiError::Invalid {
                code: "amount_out_of_range".into(),
                message,
                field: None,
            },
            RunError::ActivityInFile => ApiError::Invalid {
                code: "activity_in_file".into(),
                message,
                field: Some("no_activity".into()),
            },
            RunError::Store(store) => store.into(),
            RunError::Stopped(reason) => ApiError::Internal(anyhow::anyhow!(reason)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => ApiError::NotFound { entity },
            StoreError::Duplicate { constraint } => duplicate(&constraint),
            StoreError::MissingReference { constraint } => ApiError::Invalid {
                code: "unknown_reference".into(),
                message: format!("a referenced record does not exist ({constraint})"),
                field: None,
            },
            // Input is checked before it reaches the database, so a CHECK constraint that fires
            // (a balance below zero, a ledger rule) is a defect on our side: logged, 500.
            StoreError::Check { constraint } => ApiError::Internal(anyhow::anyhow!(
                "a database rule was broken: {constraint}"
            )),
            StoreError::StateConflict { entity, actual } => ApiError::Conflict {
                code: "invalid_state",
                message: format!("{entity} is {actual}, which does not allow this change"),
            },
            StoreError::StaleRevision { entity, actual } => ApiError::Conflict {
                code: "stale_revision",
                message: format!(
                    "{entity} was changed by someone else; it is now at revision {actual}, reload and retry"
                ),
            },
            StoreError::SameApprover(message) => ApiError::Forbidden {
                code: "maker_checker",
                message,
            },
            StoreError::Refused { code, message } => ApiError::Conflict { code, message },
            StoreError::LostRace(what) => ApiError::Conflict {
                code: "invalid_state",
                message: format!("{what} was changed by a concurrent request; read it and retry"),
            },
            StoreError::Database(error) => ApiError::Internal(error.into()),
        }
    }
}

/// Unique constraints, by their stable names, as client errors.
fn duplicate(constraint: &str) -> ApiError {
    let (code, message) = match constraint {
        "users_username_key" => ("username_taken", "that username is taken"),
        "programs_code_key" => ("program_code_taken", "a program with that code exists"),
        "catalog_items_pkey" => ("sku_taken", "the program's catalog already has that SKU"),
        "households_kk_number_key" => (
            "kk_number_registered",
            "a household with that KK number is registered",
        ),
        "cards_one_live_card_per_household" => (
            "household_has_card",
            "the household already has a card; replace it instead of issuing another",
        ),
        "terminals_pkey" => ("terminal_id_taken", "a terminal with that id is registered"),
        "terminals_serial_number_key" => (
            "serial_number_taken",
            "a terminal with that serial number is registered",
        ),
        "ewarungs_bank_account_key" => (
            "bank_account_taken",
            "another E-Warung is paid to that bank account",
        ),
        _ => ("duplicate", "that record exists already"),
    };
    ApiError::Conflict {
        code,
        message: message.to_string(),
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest {
            code: "invalid_path".into(),
            message: rejection.body_text(),
            field: None,
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest {
            code: "invalid_query".into(),
            message: rejection.body_text(),
            field: None,
        }
    }
}
