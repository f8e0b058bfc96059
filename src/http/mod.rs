//! The HTTP API under `/v1`: the router, the middleware every request passes (request id, logging
//! with card numbers masked, body limit, timeout), and small helpers the handlers share.

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod cards;
pub mod change_requests;
pub mod client_address;
pub mod complaints;
pub mod days;
pub mod dormancy;
pub mod error;
pub mod ewarungs;
pub mod health;
pub mod households;
pub mod json;
pub mod members;
pub mod metered;
pub mod openapi;
pub mod programs;
pub mod quota;
pub mod recon;
pub mod redemptions;
pub mod registry_imports;
pub mod representatives;
pub mod sessions;
pub mod state;
pub mod terminals;
pub mod timeout;
pub mod users;
pub mod visits;

use std::time::Duration;

use axum::{
    extract::{DefaultBodyLimit, FromRequestParts},
    http::{HeaderName, Request},
    routing::{get, post},
    Router,
};
use serde::{Deserialize, Serialize};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::text::bounded,
    http::{error::ApiError, state::AppState},
    store::{next_after, Page},
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Router limits, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub body_bytes: usize,
    pub request_timeout: Duration,
}

/// The whole HTTP surface: the API under `/v1`, health checks, and `pages` (the web application,
/// built by the caller so that this module never depends on it), behind one set of middleware.
pub fn router(state: AppState, limits: Limits, pages: Router<AppState>) -> Router {
    let v1 = Router::new()
        .route("/auth/login", post(sessions::login))
        .route("/users", post(users::create).get(users::list))
        .route("/programs", post(programs::create).get(programs::list))
        .route("/programs/{code}", get(programs::get))
        .route(
            "/programs/{code}/items",
            post(programs::add_item).get(programs::list_items),
        )
        .route(
            "/programs/{code}/items/{sku}",
            axum::routing::patch(programs::set_price_cap),
        )
        .route(
            "/households",
            post(households::create).get(households::list),
        )
        .route(
            "/households/{id}",
            get(households::get).patch(households::update),
        )
        .route("/households/{id}/status", post(households::change_status))
        .route("/households/{id}/revisions", get(households::revisions))
        .route(
            "/households/{id}/members",
            get(members::list_members).post(members::add_member),
        )
        .route(
            "/households/{id}/members/{member_id}",
            axum::routing::put(members::correct_member),
        )
        .route(
            "/households/{id}/members/{member_id}/remove",
            post(members::remove_member),
        )
        .route("/households/{id}/head", post(members::change_head))
        .route("/complaints", post(complaints::file).get(complaints::list))
        .route("/complaints/{id}", get(complaints::get))
        .route("/complaints/{id}/assign", post(complaints::assign))
        .route("/complaints/{id}/resolve", post(complaints::resolve))
        .route(
            "/households/{id}/visits",
            post(visits::record).get(visits::list),
        )
        .route(
            "/households/{id}/representatives",
            post(representatives::name).get(representatives::list),
        )
        .route("/representatives/{id}", get(representatives::get))
        .route("/dormant-households", get(dormancy::list))
        .route("/registry-imports/{id}", get(registry_imports::get))
        .route(
            "/registry-imports/{id}/errors",
            get(registry_imports::errors),
        )
        .route("/campaigns", post(campaigns::open).get(campaigns::list))
        .route("/campaigns/{id}", get(campaigns::get))
        .route("/campaigns/{id}/households", get(campaigns::households))
        .route(
            "/households/{id}/dormancy-notices",
            post(dormancy::print).get(dormancy::list_for_household),
        )
        .route(
            "/representatives/{id}/revoke",
            post(representatives::revoke),
        )
        .route(
            "/visits/{id}/photo",
            get(visits::photo)
                .put(visits::add_photo)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/change-requests",
            post(change_requests::create).get(change_requests::list),
        )
        .route(
            "/change-requests/approve",
            post(change_requests::approve_many),
        )
        .route(
            "/change-requests/{id}",
            get(change_requests::get).put(change_requests::revise),
        )
        .route(
            "/change-requests/{id}/submit",
            post(change_requests::submit),
        )
        .route(
            "/change-requests/{id}/approve",
            post(change_requests::approve),
        )
        .route(
            "/change-requests/{id}/return",
            post(change_requests::return_for_correction),
        )
        .route(
            "/change-requests/{id}/reject",
            post(change_requests::reject),
        )
        .route(
            "/households/{id}/cards",
            post(cards::issue).get(cards::list_for_household),
        )
        .route("/cards/lookup", post(cards::lookup))
        .route("/cards/{id}", get(cards::get))
        .route("/cards/{id}/block", post(cards::block))
        .route("/cards/{id}/unblock", post(cards::unblock))
        .route("/cards/{id}/lost", post(cards::report_lost))
        .route("/cards/{id}/replace", post(cards::replace))
        .route("/cards/{id}/pin", axum::routing::put(cards::set_pin))
        .route("/cards/{id}/pin/change", post(cards::change_pin))
        .route("/cards/{id}/unlock", post(cards::unlock))
        .route("/ewarungs", post(ewarungs::create).get(ewarungs::list))
        .route("/ewarungs/{id}", get(ewarungs::get))
        .route("/ewarungs/{id}/status", post(ewarungs::change_status))
        .route(
            "/ewarungs/{id}/terminals",
            post(ewarungs::add_terminal).get(ewarungs::list_terminals),
        )
        .route("/terminals/{terminal_id}", get(ewarungs::get_terminal))
        .route(
            "/terminals/{terminal_id}/pin-key",
            post(ewarungs::rotate_pin_key),
        )
        .route(
            "/terminals/{terminal_id}/batch-totals",
            post(terminals::batch_totals),
        )
        .route(
            "/terminals/{terminal_id}/events",
            post(terminals::device_event),
        )
        .route(
            "/terminals/{terminal_id}/status",
            post(ewarungs::change_terminal_status),
        )
        .route("/redemptions/authorize", post(redemptions::authorize))
        .route("/redemptions/complete", post(redemptions::complete))
        .route("/redemptions/void", post(redemptions::void))
        .route("/redemptions/refund", post(redemptions::refund))
        .route("/redemptions/reversal", post(redemptions::reversal))
        .route("/redemptions/balance", post(redemptions::balance))
        .route("/redemptions/status", post(redemptions::status))
        .route("/quota/batches/{id}", get(quota::report))
        .route("/quota/batches/{id}/errors", get(quota::errors))
        .route("/quota/batches/{id}/approve", post(quota::approve))
        .route("/quota/expire", post(quota::expire))
        .route("/days/{date}/close", post(days::close).get(days::get_close))
        .route(
            "/settlements/{date}",
            post(days::settle).get(days::settlements),
        )
        .route("/recon/runs", get(recon::list))
        .route("/recon/runs/{id}", get(recon::get))
        .route("/recon/runs/{id}/exceptions", get(recon::exceptions))
        .route("/recon/runs/{id}/review", get(recon::review))
        .route("/recon/runs/{id}/confirm", post(recon::confirm))
        .route("/recon/runs/{id}/reject", post(recon::reject))
        .route(
            "/recon/runs/{id}/exceptions.csv",
            get(recon::exceptions_csv),
        )
        .route("/recon/exceptions/{id}/resolve", post(recon::resolve))
        .route("/audit", get(audit::list))
        .route("/audit/heads", get(audit::heads))
        .route("/audit/public-key", get(audit::public_key))
        .route("/audit/proofs/{source}/{id}", get(audit::proof))
        .route("/openapi.json", get(openapi::document))
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            timeout::limit,
        ))
        // Added after the timeout: an upload of a million rows takes longer than any request
        // should, and streams, so it is bounded by the connection instead.
        .route(
            "/quota/batches",
            post(quota::upload)
                .layer(DefaultBodyLimit::max(quota::JSON_UPLOAD_LIMIT))
                .get(quota::list),
        )
        .route(
            "/recon/runs",
            post(recon::upload).layer(DefaultBodyLimit::disable()),
        )
        // A registry of a million members streams in, and its approval writes them in one
        // transaction: both are bounded by the connection, not the request timeout.
        .route(
            "/registry-imports",
            post(registry_imports::upload)
                .layer(DefaultBodyLimit::disable())
                .get(registry_imports::list),
        )
        .route(
            "/registry-imports/{id}/approve",
            post(registry_imports::approve),
        )
        // The API answers in JSON under /v1, also for what it does not have; every other
        // address is the web application's (which answers a browser with a page).
        .fallback(|| async { ApiError::NotFound { entity: "route" } })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });

    let health = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    Router::new()
        .merge(health)
        .nest("/v1", v1)
        // The web application: pages at `/`, on the same state and middleware, with its own
        // answer (a page) for an address or a method it does not have.
        .merge(pages)
        .layer(axum::middleware::from_fn(metered::count))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // Paths carry ids only, but a client may still paste a card number into one.
            let path = crate::telemetry::mask_digit_runs(request.uri().path());
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %path)
        }).on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Trims and bounds a free-text field, naming it in the error.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, ApiError> {
    bounded(value, max_chars, field).map_err(|invalid| ApiError::invalid(field, invalid))
}

/// A page of a listing and where the next one starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Listing<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub next_after: Option<uuid::Uuid>,
}

impl<T: ToSchema> Listing<T> {
    pub fn new(items: Vec<T>, page: Page, id: impl Fn(&T) -> uuid::Uuid) -> Self {
        let next_after = next_after(&items, id, page.limit);
        Self { items, next_after }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The `next_after` of the previous page.
    pub after: Option<uuid::Uuid>,
    /// Rows per page, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> Page {
        Page {
            after: self.after,
            limit: self
                .limit
                .unwrap_or(Page::DEFAULT_LIMIT)
                .clamp(1, Page::MAX_LIMIT),
        }
    }
}

/// Query parameters, with bad ones answered as `ApiError` like everything else.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Params<T>(pub T);

/// A path parameter, with a malformed one (say, not a uuid) answered as `ApiError`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParam<T>(pub T);
