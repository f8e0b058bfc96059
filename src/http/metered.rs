//! Counts every request for `/metrics`: by route template (never the path itself, which
//! carries ids), method and status, and its latency.

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

pub async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = request.method().as_str().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let metrics = crate::metrics::metrics();
    metrics
        .http_requests
        .get_or_create(&[
            ("route", route.clone()),
            ("method", method),
            ("status", response.status().as_u16().to_string()),
        ])
        .inc();
    metrics
        .http_seconds
        .get_or_create(&[("route", route)])
        .observe(started.elapsed().as_secs_f64());
    response
}
