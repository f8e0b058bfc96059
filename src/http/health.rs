//! Liveness and readiness for load balancers and orchestrators.

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use crate::http::state::AppState;

/// The process is up and serving HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise, so traffic is held back rather than failed.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": state.store.backend() })),
        ),
        Err(error) => {
            tracing::warn!(%error, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": state.store.backend() })),
            )
        }
    }
}

/// `GET /metrics`: every metric of the process in OpenMetrics text, for Prometheus to scrape
/// (README: Metrics). Unauthenticated, like the health checks: it holds counts, no data.
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let metrics = crate::metrics::metrics();
    let pool = state.store.pool_usage();
    metrics.pool_usage(pool.open, pool.idle);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        metrics.render(),
    )
}
