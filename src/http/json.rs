//! `Body<T>`: the JSON body extractor every handler uses. It refuses, each with its own stable code
//! and the path of the offending field, what axum's `Json` would answer with loose text: a wrong
//! content type, a body over the limit, malformed JSON, trailing data, unknown or duplicate fields,
//! wrong types, missing fields, and values the domain types refuse (bad check digit, bad KK).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;

use crate::{domain::Invalid, http::error::ApiError};

pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if media_type(request.headers()) != "application/json" {
            return Err(ApiError::UnsupportedMediaType {
                accepted: "application/json",
            });
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest {
                        code: "unreadable_body".into(),
                        message: rejection.body_text(),
                        field: None,
                    }
                }
            })?;
        parse(&bytes).map(Body)
    }
}

/// Parses a whole JSON document into `T`, classifying every failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every request body is an object; serde would otherwise read a struct from a positional array.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::BadRequest {
            code: "wrong_type".into(),
            message: "the body must be a JSON object".into(),
            field: None,
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(classify)?;
    deserializer.end().map_err(|_| ApiError::BadRequest {
        code: "malformed_json".into(),
        message: "unexpected data after the JSON document".into(),
        field: None,
    })?;
    Ok(value)
}

fn classify(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let field = (path != ".").then_some(path);
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return ApiError::BadRequest {
            code: "malformed_json".into(),
            message: format!("body is not valid JSON: {inner}"),
            field: None,
        };
    }
    let text = inner.to_string();
    if let Some((code, message)) = Invalid::from_serde_message(&text) {
        return ApiError::Invalid {
            code,
            message,
            field,
        };
    }
    let message = strip_position(&text);
    let quoted = || message.split('`').nth(1).unwrap_or_default().to_string();
    let join = |parent: &Option<String>, name: String| match parent {
        Some(parent) => format!("{parent}.{name}"),
        None => name,
    };
    let (code, field) = if message.starts_with("unknown field") {
        ("unknown_field", field)
    } else if message.starts_with("missing field") {
        ("missing_field", Some(join(&field, quoted())))
    } else if message.starts_with("duplicate field") {
        ("duplicate_field", Some(join(&field, quoted())))
    } else if message.starts_with("invalid type") {
        ("wrong_type", field)
    } else {
        ("invalid_value", field)
    };
    ApiError::BadRequest {
        code: code.into(),
        message,
        field,
    }
}

fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_string(),
        None => text.to_string(),
    }
}

/// A request's media type, lower case, without its parameters (`text/csv; charset=utf-8` is
/// `text/csv`); empty when it has none.
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        kk: crate::domain::identity::KkNumber,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn failure(body: &str) -> (String, Option<String>) {
        match parse::<Outer>(body.as_bytes()).unwrap_err() {
            ApiError::BadRequest { code, field, .. } | ApiError::Invalid { code, field, .. } => {
                (code, field)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_kind_of_bad_body_has_its_code_and_field() {
        let kk = "6472012345678901";
        assert_eq!(failure("{"), ("malformed_json".into(), None));
        assert_eq!(
            failure(&format!(r#"{{"kk":"{kk}","inner":{{"count":1}}}} x"#)).0,
            "malformed_json"
        );
        assert_eq!(
            failure(r#"{"kk":"123","inner":{"count":1}}"#),
            ("invalid_kk_number".into(), Some("kk".into()))
        );
        assert_eq!(
            failure(&format!(r#"{{"kk":"{kk}","inner":{{"count":"x"}}}}"#)),
            ("wrong_type".into(), Some("inner.count".into()))
        );
        assert_eq!(
            failure(&format!(r#"{{"kk":"{kk}","inner":{{}}}}"#)),
            ("missing_field".into(), Some("inner.count".into()))
        );
        assert_eq!(
            failure(&format!(
                r#"{{"kk":"{kk}","kk":"{kk}","inner":{{"count":1}}}}"#
            )),
            ("duplicate_field".into(), Some("kk".into()))
        );
        assert_eq!(
            failure(&format!(
                r#"{{"kk":"{kk}","inner":{{"count":1,"extra":2}}}}"#
            ))
            .0,
            "unknown_field"
        );
    }
}
