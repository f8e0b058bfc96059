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
        programs::set_price_cap,
        households::create, households::list, households::get, households::update,
        households::change_status, households::revisions,
        crate::http::members::list_members, crate::http::members::add_member,
        crate::http::members::correct_member, crate::http::members::remove_member,
        crate::http::members::change_head,
        crate::http::change_requests::create, crate::http::change_requests::list,
        crate::http::change_requests::get, crate::http::change_requests::revise,
        crate::http::change_requests::submit, crate::http::change_requests::approve,
        crate::http::change_requests::approve_many,
        crate::http::change_requests::return_for_correction,
        crate::http::change_requests::reject,
        crate::http::visits::record, crate::http::visits::list, crate::http::visits::add_photo,
        crate::http::visits::photo,
        crate::http::representatives::name, crate::http::representatives::list,
        crate::http::representatives::get, crate::http::representatives::revoke,
        crate::http::dormancy::list, crate::http::dormancy::print,
        crate::http::dormancy::list_for_household,
        crate::http::campaigns::open, crate::http::campaigns::list, crate::http::campaigns::get,
        crate::http::campaigns::households,
        crate::http::registry_imports::upload, crate::http::registry_imports::list,
        crate::http::registry_imports::get, crate::http::registry_imports::errors,
        crate::http::registry_imports::approve,
        crate::http::complaints::file, crate::http::complaints::list,
        crate::http::complaints::get, crate::http::complaints::assign,
        crate::http::complaints::resolve,
        cards::issue, cards::list_for_household, cards::get, cards::lookup, cards::block, cards::unblock,
        cards::report_lost, cards::replace, cards::set_pin, cards::change_pin, cards::unlock,
        ewarungs::create, ewarungs::list, ewarungs::get, ewarungs::change_status,
        ewarungs::add_terminal, ewarungs::list_terminals, ewarungs::get_terminal,
        ewarungs::rotate_pin_key,
        crate::http::terminals::batch_totals,
        crate::http::terminals::device_event,
        ewarungs::change_terminal_status, audit::list, audit::heads, audit::public_key, audit::proof,
        redemptions::authorize, redemptions::complete, redemptions::void, redemptions::refund, redemptions::reversal,
        redemptions::balance,
        redemptions::status,
        quota::upload, quota::list, quota::report, quota::errors, quota::approve, quota::expire,
        crate::http::days::close, crate::http::days::get_close, crate::http::days::settle,
        crate::http::days::settlements,
        crate::http::recon::upload, crate::http::recon::list, crate::http::recon::get,
        crate::http::recon::exceptions, crate::http::recon::exceptions_csv, crate::http::recon::resolve,
        crate::http::recon::review, crate::http::recon::confirm, crate::http::recon::reject,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth, &Contract),
)]
pub struct ApiDoc;

/// Makes the generated document a faithful contract where annotations alone leave gaps: every
/// `{name}` in a path is a declared path parameter, every operation has a unique id (its tag and
/// handler, e.g. `cards_get`), and every operation declares the error answers any request can get
/// (the documented error body), so a client or a schema-driven fuzzer finds every status the
/// server can send in the document.
struct Contract;

/// Statuses any operation may answer with the error body: unreadable input, no or a bad token, a
/// role or E-Warung that may not, no such thing, a conflict with the current state, a body too
/// large or of the wrong type, refused values, a locked card, too many attempts, a timeout.
const ERROR_STATUSES: [(&str, &str); 11] = [
    ("400", "malformed request: `malformed_json`, `wrong_type`, `unknown_field`, `missing_field`, `invalid_query`, `invalid_path`, …"),
    ("401", "`missing_token`, `invalid_token`, `token_expired`, `token_revoked`, `invalid_credentials`"),
    ("403", "`forbidden_role`, `forbidden_ewarung`, `forbidden_kelurahan`, `maker_checker`, `not_author`, `not_recorder`"),
    ("404", "no such record or route (`…_not_found`)"),
    ("409", "the current state does not allow it (`invalid_state`, `stale_revision`, `…_taken`, …)"),
    ("413", "`payload_too_large`"),
    ("415", "`unsupported_media_type`"),
    ("422", "a value the domain refuses (the README's table)"),
    ("423", "`card_locked`"),
    ("429", "`too_many_attempts`"),
    ("503", "`login_overloaded`, `outcome_unknown`"),
];

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            path::{ParameterBuilder, ParameterIn},
            ContentBuilder, Ref, RefOr, Required, ResponseBuilder,
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names: Vec<&str> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                for name in &names {
                    let declared = parameters
                        .iter()
                        .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
                    if !declared {
                        parameters.push(
                            ParameterBuilder::new()
                                .name(*name)
                                .parameter_in(ParameterIn::Path)
                                .required(Required::True)
                                .schema(Some(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::String),
                                ))
                                .build(),
                        );
                    }
                }
                let tag = operation
                    .tags
                    .as_ref()
                    .and_then(|tags| tags.first().cloned())
                    .unwrap_or_default();
                if let Some(id) = &operation.operation_id {
                    if !id.starts_with(&format!("{tag}_")) {
                        operation.operation_id = Some(format!("{tag}_{id}"));
                    }
                }
                for (status, description) in ERROR_STATUSES {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(description)
                                    .content(
                                        "application/json",
                                        ContentBuilder::new()
                                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                                            .build(),
                                    )
                                    .build(),
                            )
                        });
                }
            }
        }
    }
}

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
