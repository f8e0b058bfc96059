//! Words for refusals that reach a page from below it (a file's header, a quota upload, a
//! reconciliation run, a file's line errors), in the reader's language. The services keep them
//! typed; only the pages turn them into sentences, so no English leaks into an Indonesian page.

use crate::{
    csv_input::HeaderError,
    quota::upload::UploadError,
    recon::{bank_file::FileError, run::RunError},
    web::{error::WebError, form::invalid_key, i18n::Tr},
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
