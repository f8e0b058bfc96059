//! The web application at `/`: server-rendered pages for the people who run the programme
//! (city offices, E-Warung operators, the bank, auditors), beside the JSON API at `/v1`.
//!
//! Pages are askama templates (`templates/`, checked at compile time) in the user's language
//! (`i18n`, Project Fluent, Indonesian first). Every page works without JavaScript; htmx, served
//! from the binary, only makes it smoother. Signing in gives a session cookie (`session`); every
//! form carries the session's CSRF token; permissions are the API's own `Role::may`.

pub mod error;
pub mod flash;
pub mod form;
pub mod format;
pub mod i18n;
pub mod layout;
pub mod pages;
pub mod refusals;
pub mod session;
pub mod signed_form;
#[cfg(test)]
mod source_files;
pub mod status;
pub mod upload;

use askama::Template;
use axum::{
    body::Body,
    handler::Handler,
    http::{header, HeaderValue, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::{
    domain::locale::Locale,
    http::state::AppState,
    web::{
        error::{ErrorPage, WebError},
        i18n::Tr,
    },
};

const HTMX: &[u8] = include_bytes!("static/htmx.min.js");
const STYLESHEET: &[u8] = include_bytes!("static/app.css");
const UPLOAD_SCRIPT: &[u8] = include_bytes!("static/upload.js");
const PRINT_SCRIPT: &[u8] = include_bytes!("static/print.js");
const MENU_SCRIPT: &[u8] = include_bytes!("static/menu.js");

/// No script but our own files, no inline script or style, no framing, forms only to us.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// The pages and their static files, with the security headers every page response carries.
pub fn router(state: AppState) -> Router<AppState> {
    use pages::{
        audit, audit_trail, auth, bank, campaigns, cards, change_requests, complaints, dormancy,
        ewarungs, home, households, kiosk, members, office, programs, quota, register,
        registry_imports, representatives, saldo, status_change, users, visits,
    };
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(auth::form).post(auth::submit))
        .route("/saldo", get(saldo::form).post(saldo::submit))
        .route("/saldo/complaint", axum::routing::post(saldo::complain))
        .route("/logout", axum::routing::post(auth::logout))
        .route("/locale", axum::routing::post(auth::switch_locale))
        .route("/office", get(office::overview))
        .route("/households", get(households::search))
        .route(
            "/households/new",
            get(register::new_form).post(register::create),
        )
        .route("/households/{id}", get(households::show))
        .route(
            "/households/{id}/edit",
            get(register::edit_form).post(register::update),
        )
        .route(
            "/households/{id}/status",
            get(status_change::confirm_household).post(status_change::change_household),
        )
        .route(
            "/households/{id}/members/new",
            get(members::new_form).post(members::add),
        )
        .route(
            "/households/{id}/members/{member}/edit",
            get(members::edit_form).post(members::correct),
        )
        .route(
            "/households/{id}/members/{member}/remove",
            get(members::remove_form).post(members::remove),
        )
        .route(
            "/households/{id}/head",
            get(members::head_form).post(members::change_head),
        )
        .route("/change-requests", get(change_requests::queue))
        .route(
            "/change-requests/approve",
            axum::routing::post(change_requests::approve_ticked),
        )
        .route("/change-requests/{id}", get(change_requests::show))
        .route(
            "/change-requests/{id}/{action}",
            axum::routing::post(change_requests::act),
        )
        .route("/complaints", get(complaints::queue))
        .route("/complaints/{id}", get(complaints::show))
        .route(
            "/complaints/{id}/{action}",
            axum::routing::post(complaints::act),
        )
        .route(
            "/households/{id}/complaints/new",
            get(complaints::intake_form),
        )
        .route(
            "/households/{id}/complaints",
            axum::routing::post(complaints::intake),
        )
        .route("/field", get(visits::field))
        .route("/households/{id}/visits/new", get(visits::form))
        .route(
            "/households/{id}/visits",
            axum::routing::post(visits::record.layer(axum::extract::DefaultBodyLimit::disable())),
        )
        .route("/visits/{id}/photo", get(visits::photo))
        .route("/dormant", get(dormancy::list))
        .route("/campaigns", get(campaigns::list).post(campaigns::open))
        .route("/campaigns/{id}", get(campaigns::show))
        .route(
            "/households/{id}/dormancy-notices",
            axum::routing::post(dormancy::print),
        )
        .route("/dormancy-notices/{id}", get(dormancy::notice))
        .route(
            "/households/{id}/representatives/new",
            get(representatives::new_form),
        )
        .route(
            "/households/{id}/representatives",
            axum::routing::post(representatives::name),
        )
        .route(
            "/representatives/{id}/revoke",
            get(representatives::revoke_form).post(representatives::revoke),
        )
        .route("/households/{id}/cards/new", get(cards::issue_form))
        .route("/households/{id}/cards", axum::routing::post(cards::issue))
        .route("/cards/{id}/letter", get(cards::letter))
        .route("/cards/{id}/{action}", get(cards::confirm).post(cards::act))
        .route(
            "/registry-imports",
            get(registry_imports::list)
                .post(registry_imports::upload.layer(axum::extract::DefaultBodyLimit::disable())),
        )
        .route("/registry-imports/{id}", get(registry_imports::show))
        .route(
            "/registry-imports/{id}/approve",
            axum::routing::post(registry_imports::approve),
        )
        // A quota file streams (a million rows are ~36 MiB): no body limit, as for the API's.
        .route(
            "/quota",
            get(quota::list).post(quota::upload.layer(axum::extract::DefaultBodyLimit::disable())),
        )
        .route(
            "/quota/expire",
            get(quota::confirm_expire).post(quota::expire),
        )
        .route("/quota/{id}", get(quota::show))
        .route(
            "/quota/{id}/approve",
            get(quota::confirm).post(quota::approve),
        )
        .route("/quota/{id}/errors.csv", get(quota::errors_csv))
        .route("/bank", get(bank::day))
        .route(
            "/bank/{date}/close",
            get(bank::confirm_close).post(bank::close),
        )
        .route(
            "/bank/{date}/recon",
            axum::routing::post(bank::reconcile.layer(axum::extract::DefaultBodyLimit::disable())),
        )
        .route(
            "/bank/{date}/settle",
            get(bank::confirm_settle).post(bank::settle),
        )
        .route("/bank/{date}/payout.csv", get(bank::payout))
        .route("/bank/runs/{id}", get(bank::run_page))
        .route(
            "/bank/runs/{id}/confirm",
            axum::routing::post(bank::confirm_run),
        )
        .route(
            "/bank/runs/{id}/reject",
            axum::routing::post(bank::reject_run),
        )
        .route(
            "/bank/exceptions/{id}/resolve",
            axum::routing::post(bank::resolve),
        )
        .route("/audit", get(audit::log))
        .route("/audit/ledger", get(audit::ledger).post(audit::verify))
        .route(
            "/audit/trail",
            get(audit_trail::show).post(audit_trail::verify),
        )
        .route("/ewarungs", get(ewarungs::list).post(ewarungs::create))
        .route("/ewarungs/{id}", get(ewarungs::show))
        .route(
            "/ewarungs/{id}/terminals",
            axum::routing::post(ewarungs::add_terminal),
        )
        .route(
            "/ewarungs/{id}/status",
            get(status_change::confirm_ewarung).post(status_change::change_ewarung),
        )
        .route(
            "/ewarungs/{id}/terminals/{terminal_id}/status",
            get(status_change::confirm_terminal).post(status_change::change_terminal),
        )
        .route(
            "/ewarungs/{id}/terminals/{terminal_id}/pin-key",
            get(ewarungs::confirm_rotate_key).post(ewarungs::rotate_key),
        )
        .route("/programs", get(programs::list).post(programs::create))
        .route("/programs/{code}", get(programs::show))
        .route(
            "/programs/{code}/items",
            axum::routing::post(programs::add_item),
        )
        .route(
            "/programs/{code}/items/{sku}",
            get(programs::price_cap_form).post(programs::set_price_cap),
        )
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::show))
        .route("/users/{id}/{action}", axum::routing::post(users::act))
        .route("/kiosk", get(kiosk::mine))
        .route("/kiosk/{id}", get(kiosk::show))
        .route(
            "/kiosk/{id}/void",
            get(kiosk::confirm_void).post(kiosk::void),
        )
        .route(
            "/static/htmx.min.js",
            get(|| static_file(HTMX, "text/javascript")),
        )
        .route(
            "/static/app.css",
            get(|| static_file(STYLESHEET, "text/css")),
        )
        .route(
            "/static/upload.js",
            get(|| static_file(UPLOAD_SCRIPT, "text/javascript")),
        )
        .route(
            "/static/menu.js",
            get(|| static_file(MENU_SCRIPT, "text/javascript")),
        )
        .route(
            "/static/print.js",
            get(|| static_file(PRINT_SCRIPT, "text/javascript")),
        )
        .fallback(|| async { WebError::NotFound })
        .method_not_allowed_fallback(|| async { WebError::NotFound })
        .layer(axum::middleware::from_fn_with_state(state, render_errors))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn static_file(bytes: &'static [u8], content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Named by content that changes only with a release of the binary.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response()
}

async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show people's data: no shared cache keeps them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[derive(Template)]
#[template(path = "error.html", config = "src/web/askama.toml")]
struct ErrorTemplate<'a> {
    tr: Tr,
    status: u16,
    message_key: &'a str,
    request_id: &'a str,
}

/// Draws the page of a `WebError`, with the request id only the middleware can see, in the
/// language of the signed-in user if there is one.
async fn render_errors(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let token = session::read_cookie(request.headers(), session::COOKIE);
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let locale = match token {
        Some(token) => user_locale(&state, &token).await.unwrap_or(page.locale),
        None => page.locale,
    };
    let body = ErrorTemplate {
        tr: Tr::new(locale),
        status: page.status.as_u16(),
        message_key: page.message_key,
        request_id: &request_id,
    }
    .render()
    .unwrap_or_else(|_| format!("{} {request_id}", page.status));
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut response = Response::from_parts(parts, Body::from(body));
    if response.status() == StatusCode::OK {
        *response.status_mut() = page.status;
    }
    response
}

/// The language of the user whose session token this is (an error page is rare: two reads).
async fn user_locale(state: &AppState, token: &str) -> Option<Locale> {
    let sessions = state.store.sessions();
    let session = sessions
        .find_session(&session::token_hash(token))
        .await
        .ok()??;
    let user = sessions.find_user(session.user_id).await.ok()??;
    Some(user.locale)
}
