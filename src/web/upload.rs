//! Files sent from a form (`multipart/form-data`): the `csrf` field must come first, then the
//! file, which is streamed on rather than held in memory.

use axum::{
    body::Bytes,
    extract::{multipart::Field, Multipart},
};
use futures_util::{stream::BoxStream, StreamExt};

use crate::web::{error::WebError, session::SignedIn};

/// Reads the form's first field, which must be `csrf` with this session's token.
pub async fn check_csrf_first(form: &mut Multipart, signed: &SignedIn) -> Result<(), WebError> {
    let field = form.next_field().await.map_err(|_| WebError::BadForm)?;
    let field = field.ok_or(WebError::BadCsrf)?;
    if field.name() != Some("csrf") {
        return Err(WebError::BadCsrf);
    }
    let sent = field.text().await.map_err(|_| WebError::BadForm)?;
    signed.check_csrf(&sent)
}

/// The next field, if it is the file (`file`), with the name the browser gave it (bounded), or
/// `default_name`.
/// Whether a form's part is the file input `name` with a file chosen: a browser sends the input
/// with an empty file name when none was.
pub fn is_chosen_file(field: &Field<'_>, name: &str) -> bool {
    field.name() == Some(name) && field.file_name().is_some_and(|file| !file.is_empty())
}

pub fn file_name(field: &Field<'_>, default_name: &str) -> String {
    field
        .file_name()
        .map(|name| {
            name.chars()
                .take(crate::domain::limits::NAME_CHARS)
                .collect::<String>()
        })
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| default_name.to_string())
}

/// The file's bytes as an owned stream, and the future that feeds it from the form (run both
/// together: the form is borrowed, a reader for a blocking parser must be owned).
pub fn stream(
    mut field: Field<'_>,
) -> (
    impl std::future::Future<Output = ()> + Send + '_,
    BoxStream<'static, std::io::Result<Bytes>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let forward = async move {
        while let Some(chunk) = field.chunk().await.transpose() {
            if sender
                .send(chunk.map_err(std::io::Error::other))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .boxed();
    (forward, body)
}
