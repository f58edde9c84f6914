//! All filters in one place: which method and path reach which handler.
//!
//! Every route is served at the root (as the seed lists them) and under `/api`
//! (the frontend's and orchestrators' base URL). `GET /user/list-users` comes
//! before `GET /user/{id}` so that it wins.
//!
//! Adding an endpoint (docs/architecture.md, "Adding an endpoint"):
//! 1. its handler, a plain async function in `handlers/<resource>.rs`, with
//!    its `#[utoipa::path]` (method, path, answers) and its answer type; its
//!    request in `requests.rs` (a `ToSchema` type);
//! 2. its filter in its resource's function below;
//! 3. its name in `openapi.rs`'s `paths(...)`: the document and the route
//!    table (metrics labels, 405's `Allow`) are read from there, and
//!    `tests/api/operability.rs` fails until the router serves exactly them;
//! 4. the use case it calls in `service/`, and its test in `tests/api/`.

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
use crate::auth::{Authenticator, Caller};

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

impl State {
    fn service(&self) -> impl Filter<Extract = (Service,), Error = Infallible> + Clone + use<> {
        with_service(self.service.clone())
    }

    fn caller(&self) -> impl Filter<Extract = (Caller,), Error = warp::Rejection> + Clone + use<> {
        caller::caller(self.authenticator.clone())
    }
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

/// `/health`, `/ready`, `/metrics` (declared once for both binaries in
/// `http::ops`; with `METRICS_ADDR` set, `/metrics` lives on the internal
/// listener only), `/openapi.json` and `/docs`.
fn operations(state: &State) -> BoxedFilter<(Response,)> {
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
        .then(super::openapi::document);
    let docs = warp::path!("docs").and(warp::get()).then(ops::docs);
    probes.or(openapi).unify().or(docs).unify().boxed()
}

/// The signed webhooks: no caller, the signature is the credential.
fn webhooks(state: &State) -> BoxedFilter<(Response,)> {
    let secrets = state.webhooks.clone();
    let secrets = move || {
        let secrets = secrets.clone();
        warp::any().map(move || secrets.clone())
    };
    let clerk = warp::path!("webhooks" / "clerk")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(body::raw())
        .and(secrets())
        .and(state.service())
        .then(webhook_events::clerk_webhook)
        .map(reply);
    let stripe = warp::path!("webhooks" / "stripe")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(body::raw())
        .and(secrets())
        .and(state.service())
        .then(webhook_events::stripe_webhook)
        .map(reply);
    clerk.or(stripe).unify().boxed()
}

/// The user: the id list, temporary users, sync, one or many reads, ratings.
/// The literal `/user/...` paths come before `/user/{id}`.
fn users(state: &State) -> BoxedFilter<(Response,)> {
    let list = warp::path!("user" / "list-users")
        .and(warp::get())
        .and(state.caller())
        .and(parsed_query(ListRequest::parse))
        .and(state.service())
        .then(listing::list_users)
        .map(reply);
    let temp = warp::path!("user" / "temp")
        .and(warp::post())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(users::create_temp_user)
        .map(reply);
    let sync = warp::path!("user" / "sync-from-frontend")
        .and(warp::post())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(users::sync_from_frontend)
        .map(reply);
    let public = warp::path!("users" / "public")
        .and(warp::get())
        .and(state.caller())
        .and(parsed_query(PublicLookup::parse))
        .and(state.service())
        .then(users::get_public_users)
        .map(reply);
    let get = user_path!()
        .and(warp::get())
        .and(state.caller())
        .and(warp::query::<UserQuery>())
        .and(state.service())
        .then(users::get_user)
        .map(reply);
    let customer_rating = user_path!("update-customer-rating")
        .and(warp::post())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(ratings::update_customer_rating)
        .map(reply);
    let runner_rating = user_path!("update-runner-rating")
        .and(warp::post())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(ratings::update_runner_rating)
        .map(reply);
    list.or(temp)
        .unify()
        .or(sync)
        .unify()
        .or(public)
        .unify()
        .or(get)
        .unify()
        .boxed()
        .or(customer_rating)
        .unify()
        .or(runner_rating)
        .unify()
        .boxed()
}

/// The stored card, both ways of adding one, and the payout account.
fn payments(state: &State) -> BoxedFilter<(Response,)> {
    let get_card = user_path!("payment")
        .and(warp::get())
        .and(state.caller())
        .and(state.service())
        .then(cards::get_payment)
        .map(reply);
    let put_card = user_path!("payment")
        .and(warp::put())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(cards::put_payment)
        .map(reply);
    let delete_card = user_path!("payment")
        .and(warp::delete())
        .and(state.caller())
        .and(state.service())
        .then(cards::delete_payment)
        .map(reply);
    let add_method = user_path!("payment-methods")
        .and(warp::post())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(cards::add_payment_method)
        .map(reply_with_description)
        .recover(error::recover_with_description)
        .unify();
    let delete_methods = user_path!("payment-methods")
        .and(warp::delete())
        .and(state.caller())
        .and(state.service())
        .then(cards::delete_payment_methods)
        .map(reply);
    let get_connect = user_path!("connect-account")
        .and(warp::get())
        .and(state.caller())
        .and(state.service())
        .then(connect_account::get_connect_account)
        .map(reply);
    let put_connect = user_path!("connect-account")
        .and(warp::put())
        .and(state.caller())
        .and(body::json())
        .and(state.service())
        .then(connect_account::put_connect_account)
        .map(reply);
    get_card
        .or(put_card)
        .unify()
        .or(delete_card)
        .unify()
        .or(add_method)
        .unify()
        .boxed()
        .or(delete_methods)
        .unify()
        .or(get_connect)
        .unify()
        .or(put_connect)
        .unify()
        .boxed()
}

/// The routes without the `/api` prefix.
fn routes(state: State) -> BoxedFilter<(Response,)> {
    operations(&state)
        .or(webhooks(&state))
        .unify()
        .or(users(&state))
        .unify()
        .or(payments(&state))
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
    // The route table is read off the generated document: build it now, not
    // on the first request.
    std::sync::LazyLock::force(&ROUTES);
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
