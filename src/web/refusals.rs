//! Words for refusals that reach a page from below it (a file's header, a quota upload, a
//! reconciliation run, a file's line errors), in the reader's language. The services keep them
//! typed; only the pages turn them into sentences, so no English leaks into an Indonesian page.

use crate::{
    csv_input::HeaderError,
    quota::upload::UploadError,
    recon::{bank_file::FileError, run::RunError},
    registry::{
        ewarungs::EwarungError, households::HouseholdError, programs::ProgramError,
        users::UserError,
    },
    web::{
        error::WebError,
        form::{invalid_key, FieldErrors},
        i18n::Tr,
    },
};

/// A refused header line.
pub fn header(tr: &Tr, error: &HeaderError) -> String {
    match error {
        HeaderError::Blank => tr.t("file-header-blank"),
        HeaderError::TooLong => tr.t("file-header-too-long"),
        HeaderError::NotUtf8 => tr.t("file-header-not-utf8"),
        HeaderError::Unreadable(_) => tr.t("file-header-unreadable"),
        HeaderError::Wrong { expected, found } => tr.with_args(
            "file-header-wrong",
            &[("expected", expected.clone()), ("found", found.clone())],
        ),
    }
}

/// A refused quota file; a failure that is not the file's is an error page.
pub fn quota_upload(tr: &Tr, error: UploadError) -> Result<String, WebError> {
    use crate::quota::parse::ReadError;
    Ok(match error {
        UploadError::Empty => tr.t("file-no-rows"),
        UploadError::Read(ReadError::Header(header_error)) => header(tr, &header_error),
        UploadError::Read(ReadError::Interrupted(_)) => tr.t("file-interrupted"),
        UploadError::ParserStopped(why) => return Err(WebError::Internal(why)),
        UploadError::Store(store) => return Err(store.into()),
    })
}

/// A refused bank file; a failure that is not the file's is an error page.
pub fn recon_run(tr: &Tr, error: RunError) -> Result<String, WebError> {
    Ok(match error {
        RunError::File(FileError::Empty) => tr.t("file-empty"),
        RunError::File(FileError::Header(header_error)) => header(tr, &header_error),
        RunError::File(FileError::Interrupted(_)) => tr.t("file-interrupted"),
        RunError::NoLines => tr.t("bank-file-no-lines"),
        RunError::OutOfRange => tr.t("bank-file-out-of-range"),
        RunError::ActivityInFile => tr.t("bank-file-has-activity"),
        RunError::Stopped(why) => return Err(WebError::Internal(why)),
        RunError::Store(store) => return Err(store.into()),
    })
}

/// A business rule of the bank's day that refused the request (`StoreError::Refused`'s code).
pub fn store_refused(tr: &Tr, code: &str) -> String {
    let key = format!("refused-{}", code.replace('_', "-"));
    if tr.has(&key) {
        tr.t(&key)
    } else {
        tr.t("error-conflict")
    }
}

/// A line error of a file, by its code (its stored English message only for a code this
/// release has no words for, say one written by a newer release).
pub fn line_error(tr: &Tr, code: &str, message: &str) -> String {
    let key = invalid_key(code);
    if tr.has(&key) {
        tr.t(&key)
    } else {
        message.to_string()
    }
}

/// A refused household command beside the form's fields (`field` names them as the form does);
/// anything that is not the form's is an error page.
pub fn household(
    tr: &Tr,
    error: HouseholdError,
    errors: &mut FieldErrors,
    field: fn(&'static str) -> &'static str,
) -> Result<(), WebError> {
    match error {
        HouseholdError::Refused(refusals) => errors.refusals(tr, &refusals, field),
        HouseholdError::KkNumberRegistered => {
            errors.add(field("kk_number"), tr.t("invalid-duplicate-kk"))
        }
        HouseholdError::NikInOtherHousehold(holder) => errors.add(
            field("head_nik"),
            tr.t1("invalid-nik-elsewhere", "kk", &holder.kk_number),
        ),
        HouseholdError::Stale { .. } => errors.add("form", tr.t("invalid-stale")),
        error => return Err(error.into()),
    }
    Ok(())
}

/// A refused user command beside the form's fields.
pub fn user(
    tr: &Tr,
    error: UserError,
    errors: &mut FieldErrors,
    field: fn(&'static str) -> &'static str,
) -> Result<(), WebError> {
    match error {
        UserError::Refused(refusals) => errors.refusals(tr, &refusals, field),
        UserError::UsernameTaken => errors.add(field("username"), tr.t("users-taken")),
        UserError::EwarungNotFound => {
            errors.add(field("ewarung_id"), tr.t("users-ewarung-required"))
        }
        UserError::NotYourself => errors.add("form", tr.t("users-not-yourself")),
        UserError::Busy => errors.add("form", tr.t("login-busy")),
        error => return Err(error.into()),
    }
    Ok(())
}

/// A refused program or catalog command beside the form's fields.
pub fn program(
    tr: &Tr,
    error: ProgramError,
    errors: &mut FieldErrors,
    field: fn(&'static str) -> &'static str,
) -> Result<(), WebError> {
    match error {
        ProgramError::Refused(refusals) => errors.refusals(tr, &refusals, field),
        ProgramError::CodeTaken => errors.add(field("code"), tr.t("programs-code-taken")),
        ProgramError::SkuTaken => errors.add(field("sku"), tr.t("programs-sku-taken")),
        error => return Err(error.into()),
    }
    Ok(())
}

/// A refused E-Warung or terminal command beside the form's fields.
pub fn ewarung(
    tr: &Tr,
    error: EwarungError,
    errors: &mut FieldErrors,
    field: fn(&'static str) -> &'static str,
) -> Result<(), WebError> {
    match error {
        EwarungError::Refused(refusals) => errors.refusals(tr, &refusals, field),
        // The one unique value of an E-Warung is the account it is paid to.
        EwarungError::BankAccountTaken => {
            errors.add(field("bank_account.number"), tr.t("ewarungs-account-taken"))
        }
        EwarungError::TerminalIdTaken => errors.add(field("terminal_id"), tr.t("terminals-taken")),
        EwarungError::SerialNumberTaken => {
            errors.add(field("serial_number"), tr.t("terminals-serial-taken"))
        }
        EwarungError::TerminalState { .. } => errors.add("form", tr.t("status-terminal-retired")),
        error => return Err(error.into()),
    }
    Ok(())
}
