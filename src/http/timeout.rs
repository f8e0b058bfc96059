//! Requests that take too long. The caller gets the documented error body with `outcome_unknown`:
//! a request that changes something may or may not have been carried out when its time ran out
//! (on PostgreSQL its transaction is rolled back when the handler is dropped, unless the commit
//! was already under way; on SQLite a job already in the writer's hands runs, one still waiting
//! does not), and the message says how to find out before sending it again.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::http::error::ApiError;

pub async fn limit(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    // Inside `/v1` the router sees the path without its prefix; the original is what callers sent.
    let path = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| request.uri().path(), |original| original.path())
        .to_string();
    let reads = request.method().is_safe();
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                path,
                timeout_seconds = timeout.as_secs(),
                "request timed out"
            );
            timed_out(&path, reads, timeout).into_response()
        }
    }
}

fn timed_out(path: &str, reads: bool, timeout: Duration) -> ApiError {
    let seconds = timeout.as_secs();
    let message = if reads {
        format!("the request took longer than {seconds} s; nothing was changed, try again")
    } else if path.starts_with("/v1/redemptions/") {
        format!(
            "the request took longer than {seconds} s and may or may not have been carried out: \
             ask POST /v1/redemptions/status with the same terminal_id, stan and local_date, \
             or reverse it"
        )
    } else {
        format!(
            "the request took longer than {seconds} s and may or may not have been carried out: \
             read what it changes before sending it again"
        )
    };
    ApiError::Unavailable {
        code: "outcome_unknown",
        message,
        retry_after: None,
    }
}
