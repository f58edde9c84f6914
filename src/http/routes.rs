//! All filters in one place: which method and path reach which handler.
//!
//! Every route is served at the root (as the seed lists them) and under `/api`
//! (the frontend's and orchestrators' base URL). `GET /user/list-users` comes
//! before `GET /user/{id}` so that it wins.
//!
//! Adding an endpoint (docs/architecture.md, "Adding an endpoint"):
//! 1. its handler, a plain async function, in `handlers/<resource>.rs`, with
//!    its request parsed in `requests.rs` and its answer in `responses.rs`;
//! 2. its filter below, and its arm in the `or` chain;
//! 3. its line in `route_table.rs` (metrics labels, 405's `Allow`);
//! 4. its entry in `openapi.json` — `tests/api/operability.rs` fails until
//!    the document, the table and the router agree;
//! 5. the use case it calls in `service/`, and its test in `tests/api/`.

use std::convert::Infallible;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::filters::path::FullPath;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use std::sync::Arc;

use super::error::{reply, reply_with_description};
use super::handlers::webhook_events::{self, WebhookSecrets};
use super::handlers::{Service, cards, connect_account, listing, ops, ratings, users};
use super::requests::{ListRequest, PublicLookup, UserQuery};
use super::route_table::{ROUTES, template_matches};
use super::{body, caller, error};
use crate::auth::Authenticator;
use crate::domain::RatingKind;

/// A query string parsed by `parse`, a bad one as the handler's own 400:
/// this filter never rejects, so a bad `list-users` query cannot fall
/// through to `GET /user/{id}`, and each route's message says what to send.
fn parsed_query<T: Send + 'static>(
    parse: fn(&str) -> Result<T, error::ApiError>,
) -> impl Filter<Extract = (Result<T, error::ApiError>,), Error = Infallible> + Clone {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .map(move |raw: String| parse(&raw))
}

fn with_service(service: Service) -> impl Filter<Extract = (Service,), Error = Infallible> + Clone {
    warp::any().map(move || service.clone())
}

/// Everything the routes need.
#[derive(Clone)]
pub struct State {
    pub service: Service,
    pub authenticator: Authenticator,
    pub webhooks: Arc<WebhookSecrets>,
    pub metrics: super::MetricsOn,
}

/// `/user/{id}` followed by `tail` path segments.
macro_rules! user_path {
    () => {
        warp::path("user")
            .and(warp::path::param::<String>())
            .and(warp::path::end())
    };
    ($tail:literal) => {
        warp::path("user")
            .and(warp::path::param::<String>())
            .and(warp::path($tail))
            .and(warp::path::end())
    };
}

/// The routes without the `/api` prefix.
fn routes(state: State) -> BoxedFilter<(Response,)> {
    let service = || with_service(state.service.clone());
    let json = body::json;
    let caller = || caller::caller(state.authenticator.clone());
    let secrets = state.webhooks.clone();
    let webhook_secrets = move || {
        let secrets = secrets.clone();
        warp::any().map(move || secrets.clone())
    };

    let clerk_webhook = warp::path!("webhooks" / "clerk")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(body::raw())
        .and(webhook_secrets())
        .and(service())
        .then(webhook_events::clerk_webhook)
        .map(reply);
    let stripe_webhook = warp::path!("webhooks" / "stripe")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(body::raw())
        .and(webhook_secrets())
        .and(service())
        .then(webhook_events::stripe_webhook)
        .map(reply);

    // /health, /ready and /metrics: declared once for both binaries (http::ops).
    // With METRICS_ADDR set, /metrics lives on the internal listener only.
    let probes = super::ops::filters(
        Arc::new(ops::ApiProbes(state.service.clone())),
        if state.metrics == super::MetricsOn::ApiPort {
            super::ops::WithMetrics::Yes
        } else {
            super::ops::WithMetrics::No
        },
    );
    let openapi = warp::path!("openapi.json")
        .and(warp::get())
        .then(ops::openapi);
    let docs = warp::path!("docs").and(warp::get()).then(ops::docs);

    let list_users = warp::path!("user" / "list-users")
        .and(warp::get())
        .and(caller())
        .and(parsed_query(ListRequest::parse))
        .and(service())
        .then(listing::list_users)
        .map(reply);
    let temp = warp::path!("user" / "temp")
        .and(warp::post())
        .and(caller())
        .and(json())
        .and(service())
        .then(users::create_temp_user)
        .map(reply);
    let sync = warp::path!("user" / "sync-from-frontend")
        .and(warp::post())
        .and(caller())
        .and(json())
        .and(service())
        .then(users::sync_from_frontend)
        .map(reply);

    let public_users = warp::path!("users" / "public")
        .and(warp::get())
        .and(caller())
        .and(parsed_query(PublicLookup::parse))
        .and(service())
        .then(users::get_public_users)
        .map(reply);

    let get_user = user_path!()
        .and(warp::get())
        .and(caller())
        .and(warp::query::<UserQuery>())
        .and(service())
        .then(users::get_user)
        .map(reply);

    let get_payment = user_path!("payment")
        .and(warp::get())
        .and(caller())
        .and(service())
        .then(cards::get_payment)
        .map(reply);
    let put_payment = user_path!("payment")
        .and(warp::put())
        .and(caller())
        .and(json())
        .and(service())
        .then(cards::put_payment)
        .map(reply);
    let delete_payment = user_path!("payment")
        .and(warp::delete())
        .and(caller())
        .and(service())
        .then(cards::delete_payment)
        .map(reply);

    let get_connect = user_path!("connect-account")
        .and(warp::get())
        .and(caller())
        .and(service())
        .then(connect_account::get_connect_account)
        .map(reply);
    let put_connect = user_path!("connect-account")
        .and(warp::put())
        .and(caller())
        .and(json())
        .and(service())
        .then(connect_account::put_connect_account)
        .map(reply);

    let customer_rating = user_path!("update-customer-rating")
        .and(warp::post())
        .and(caller())
        .and(json())
        .and(service())
        .then(|id, caller, body, svc| {
            ratings::update_rating(RatingKind::Customer, id, caller, body, svc)
        })
        .map(reply);
    let runner_rating = user_path!("update-runner-rating")
        .and(warp::post())
        .and(caller())
        .and(json())
        .and(service())
        .then(|id, caller, body, svc| {
            ratings::update_rating(RatingKind::Runner, id, caller, body, svc)
        })
        .map(reply);

    let add_payment_method = user_path!("payment-methods")
        .and(warp::post())
        .and(caller())
        .and(json())
        .and(service())
        .then(cards::add_payment_method)
        .map(reply_with_description)
        .recover(error::recover_with_description)
        .unify();
    let delete_payment_methods = user_path!("payment-methods")
        .and(warp::delete())
        .and(caller())
        .and(service())
        .then(cards::delete_payment)
        .map(reply);

    probes
        .or(openapi)
        .unify()
        .or(docs)
        .unify()
        .or(clerk_webhook)
        .unify()
        .or(stripe_webhook)
        .unify()
        .or(list_users)
        .unify()
        .or(temp)
        .unify()
        .or(sync)
        .unify()
        .or(public_users)
        .unify()
        .or(get_user)
        .unify()
        .boxed()
        .or(get_payment)
        .unify()
        .or(put_payment)
        .unify()
        .or(delete_payment)
        .unify()
        .or(get_connect)
        .unify()
        .or(put_connect)
        .unify()
        .boxed()
        .or(customer_rating)
        .unify()
        .or(runner_rating)
        .unify()
        .or(add_payment_method)
        .unify()
        .or(delete_payment_methods)
        .unify()
        .boxed()
}

/// The whole API: routes at the root and under `/api`, errors recovered into
/// JSON, and CORS for the browser origins configured.
///
/// Errors are recovered *inside* the CORS wrapper, so an allowed origin can read
/// every answer, a 401, 404, 405 or 413 included; a browser shows the page
/// nothing but "Failed to fetch" for an answer without CORS headers. Only the
/// CORS filter's own refusals (a disallowed origin, method or header) are
/// recovered outside it, and so carry none.
pub fn api(state: State, cors_origins: &[String]) -> BoxedFilter<(Response,)> {
    let routes = routes(state);
    let answered = warp::path::full()
        .and(
            warp::path("api")
                .and(routes.clone())
                .or(routes)
                .unify()
                .recover(error::recover)
                .unify(),
        )
        .map(with_allow);
    if cors_origins.is_empty() {
        return answered.boxed();
    }
    let cors = warp::cors()
        .allow_origins(cors_origins.iter().map(String::as_str))
        .allow_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
        .allow_headers(["authorization", "content-type"])
        .allow_credentials(true)
        .max_age(600);
    answered
        .with(cors)
        .map(warp::reply::Reply::into_response)
        .recover(error::recover)
        .unify()
        .map(vary_on_origin)
        .boxed()
}

/// With CORS on, what an answer carries depends on the request's `Origin`: a
/// shared cache must not hand one origin's answer to another.
fn vary_on_origin(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// RFC 9110: a 405 says which methods the path does take.
fn with_allow(path: FullPath, mut response: Response) -> Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let mut methods: Vec<&str> = ROUTES
            .iter()
            .filter(|(_, t)| template_matches(t, path.as_str()))
            .map(|(m, _)| *m)
            .collect();
        methods.sort_unstable();
        methods.dedup();
        if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    response
}
