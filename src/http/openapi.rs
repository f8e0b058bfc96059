//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from the code.

use axum::Json;
use utoipa::{
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi,
};

use crate::http::{
    audit, cards, error, ewarungs, households, programs, quota, redemptions, sessions, users,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "ssn", description = "SSN card transaction service: registry, ledger and terminal host"),
    paths(
        sessions::login, users::create, users::list,
        programs::create, programs::list, programs::get, programs::add_item, programs::list_items,
        households::create, households::list, households::get, households::update,
        households::change_status, households::revisions,
        cards::issue, cards::list_for_household, cards::get, cards::lookup, cards::block, cards::unblock,
        cards::report_lost, cards::replace, cards::set_pin, cards::change_pin, cards::unlock,
        ewarungs::create, ewarungs::list, ewarungs::get, ewarungs::change_status,
        ewarungs::add_terminal, ewarungs::list_terminals, ewarungs::get_terminal,
        ewarungs::rotate_pin_key,
        crate::http::terminals::batch_totals,
        crate::http::terminals::device_event,
        ewarungs::change_terminal_status, audit::list,
        redemptions::authorize, redemptions::complete, redemptions::void, redemptions::refund, redemptions::reversal,
        redemptions::balance,
        redemptions::status,
        quota::upload, quota::list, quota::report, quota::errors, quota::approve, quota::expire,
        crate::http::days::close, crate::http::days::get_close, crate::http::days::settle,
        crate::http::days::settlements,
        crate::http::recon::upload, crate::http::recon::list, crate::http::recon::get,
        crate::http::recon::exceptions, crate::http::recon::exceptions_csv, crate::http::recon::resolve,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
