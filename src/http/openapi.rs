//! The OpenAPI document, generated from the code: each handler carries its
//! method, path, parameters and answers (`#[utoipa::path]`), the request and
//! answer types are their own schemas (`#[derive(ToSchema)]`), and this module
//! only lists the handlers and adds what is common to all (servers, security
//! schemes; the error answers are `error.rs`'s).
//!
//! The route table (metrics labels, 405's `Allow`) is read off this document,
//! so a route is declared once beside its handler; `tests/api/operability.rs`
//! checks that the router serves exactly the documented routes.

use std::sync::LazyLock;

use warp::reply::Response;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{
    BadRequest, Conflict, Forbidden, Gone, NotFound, NotJson, ProviderUnavailable, SlowBody,
    TooLarge, Unauthorized, Unavailable,
};
use super::handlers::{cards, connect_account, listing, ops, ratings, users, webhook_events};

/// The document's fixed parts; the paths are the handlers'.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "userlib — user service API",
        version = "1.0.0",
        description = "Every path is also served under the prefix /api. Every answer is a JSON object with a boolean `success`; failures carry `message`.",
        license(name = "MIT")
    ),
    servers((url = "/"), (url = "/api")),
    security(("bearer" = []), ("session" = [])),
    modifiers(&Credentials),
    components(responses(
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        TooLarge,
        NotJson,
        Unavailable,
        ProviderUnavailable,
        SlowBody
    )),
    paths(
        super::ops::health,
        super::ops::ready,
        super::ops::metrics,
        document,
        ops::docs,
        webhook_events::clerk_webhook,
        webhook_events::stripe_webhook,
        listing::list_users,
        users::create_temp_user,
        users::sync_from_frontend,
        users::get_public_users,
        users::get_user,
        cards::get_payment,
        cards::put_payment,
        cards::delete_payment,
        connect_account::get_connect_account,
        connect_account::put_connect_account,
        ratings::update_customer_rating,
        ratings::update_runner_rating,
        cards::add_payment_method,
        cards::delete_payment_methods,
    )
)]
struct ApiDoc;

/// The two ways to present credentials.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Clerk session token (RS256 JWT) or a service token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__session",
                "Clerk's session cookie",
            ))),
        );
    }
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "This document",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
pub async fn document() -> Response {
    super::render::with_type(DOCUMENT.as_str(), "application/json")
}

/// The document, generated once; served and read for the route table.
static GENERATED: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The document as served.
pub static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    GENERATED
        .to_json()
        .expect("the generated document serialises")
});

/// Every route (method, path template with `{id}`), literal paths before
/// `{id}` ones so that `/user/list-users` is not taken for a user id.
pub static ROUTES: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    let mut routes: Vec<(&'static str, &'static str)> = Vec::new();
    for (path, item) in &GENERATED.paths.paths {
        let template: &'static str =
            Box::leak(path.replace("{clerk_user_id}", "{id}").into_boxed_str());
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("DELETE", item.delete.is_some()),
            ("PATCH", item.patch.is_some()),
        ];
        for (method, present) in methods {
            if present {
                routes.push((method, template));
            }
        }
    }
    // Stable: the document's order among equals.
    routes.sort_by_key(|(_, t)| t.contains('{'));
    routes
});

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::DOCUMENT;

    /// Every `$ref` in the document points at something it defines: a typo in
    /// an annotation would otherwise show only in a client's code generator.
    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: Value = serde_json::from_str(&DOCUMENT).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} is not defined");
        }
    }
}
