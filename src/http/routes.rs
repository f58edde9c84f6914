//! All filters in one place: which method and path reach which handler.
//!
//! Every route is served at the root (as the seed lists them) and under `/api`
//! (the frontend's and orchestrators' base URL). `GET /user/list-users` comes
//! before `GET /user/{id}` so that it wins.

use std::convert::Infallible;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::filters::path::FullPath;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use std::sync::Arc;

use super::auth;
use super::body;
use super::error;
use super::handlers::{self, Svc};
use super::webhooks::WebhookSecrets;
use crate::auth::Authenticator;
use crate::domain::RatingKind;

/// Every route the API serves (method, path template), without the `/api`
/// prefix. Metrics and logs label requests with these templates, and the OpenAPI
/// test checks the document against this list and the list against the router.
/// Literal paths come before `{id}` ones, as in the router.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/webhooks/clerk"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/user/list-users"),
    ("POST", "/user/temp"),
    ("POST", "/user/sync-from-frontend"),
    ("GET", "/user/{id}"),
    ("GET", "/user/{id}/payment"),
    ("PUT", "/user/{id}/payment"),
    ("DELETE", "/user/{id}/payment"),
    ("GET", "/user/{id}/connect-account"),
    ("PUT", "/user/{id}/connect-account"),
    ("POST", "/user/{id}/update-customer-rating"),
    ("POST", "/user/{id}/update-runner-rating"),
    ("POST", "/user/{id}/payment-methods"),
    ("DELETE", "/user/{id}/payment-methods"),
];

/// The route template a request path belongs to (`/api` removed), or
/// `unmatched`: bounded label values whatever paths clients send.
pub fn template(path: &str) -> &'static str {
    ROUTES
        .iter()
        .map(|(_, t)| *t)
        .find(|t| template_matches(t, path))
        .unwrap_or("unmatched")
}

/// Whether `path` (with or without the `/api` prefix) fits `template`, where
/// `{id}` stands for one non-empty segment.
pub fn template_matches(template: &str, path: &str) -> bool {
    let path = match path.strip_prefix("/api") {
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    };
    let mut given = path.trim_end_matches('/').split('/').skip(1);
    template.split('/').skip(1).all(|t| match given.next() {
        Some(g) => t == g || (t == "{id}" && !g.is_empty()),
        None => false,
    }) && given.next().is_none()
}

/// The raw query string, "" when there is none; for handlers that parse it
/// themselves so that a bad query is their own 400.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

fn with_svc(svc: Svc) -> impl Filter<Extract = (Svc,), Error = Infallible> + Clone {
    warp::any().map(move || svc.clone())
}

/// Everything the routes need.
#[derive(Clone)]
pub struct State {
    pub service: Svc,
    pub authenticator: Authenticator,
    pub webhooks: Arc<WebhookSecrets>,
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
    let svc = state.service.clone();
    let s = || with_svc(svc.clone());
    let json = body::json;
    let auth = || auth::caller(state.authenticator.clone());
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
        .and(s())
        .then(super::webhooks::clerk_webhook);
    let stripe_webhook = warp::path!("webhooks" / "stripe")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(body::raw())
        .and(webhook_secrets())
        .and(s())
        .then(super::webhooks::stripe_webhook);

    let health = warp::path!("health")
        .and(warp::get())
        .then(handlers::health);
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(s())
        .then(handlers::metrics);
    let openapi = warp::path!("openapi.json")
        .and(warp::get())
        .then(handlers::openapi);
    let docs = warp::path!("docs").and(warp::get()).then(handlers::docs);
    let ready = warp::path!("ready")
        .and(warp::get())
        .and(s())
        .then(handlers::ready);

    let list_users = warp::path!("user" / "list-users")
        .and(warp::get())
        .and(auth())
        .and(raw_query())
        .and(s())
        .then(handlers::list_users);
    let temp = warp::path!("user" / "temp")
        .and(warp::post())
        .and(auth())
        .and(json())
        .and(s())
        .then(handlers::create_temp_user);
    let sync = warp::path!("user" / "sync-from-frontend")
        .and(warp::post())
        .and(auth())
        .and(json())
        .and(s())
        .then(handlers::sync_from_frontend);

    let get_user = user_path!()
        .and(warp::get())
        .and(auth())
        .and(warp::query::<super::wire::UserQuery>())
        .and(s())
        .then(handlers::get_user);

    let get_payment = user_path!("payment")
        .and(warp::get())
        .and(auth())
        .and(s())
        .then(handlers::get_payment);
    let put_payment = user_path!("payment")
        .and(warp::put())
        .and(auth())
        .and(json())
        .and(s())
        .then(handlers::put_payment);
    let delete_payment = user_path!("payment")
        .and(warp::delete())
        .and(auth())
        .and(s())
        .then(handlers::delete_payment);

    let get_connect = user_path!("connect-account")
        .and(warp::get())
        .and(auth())
        .and(s())
        .then(handlers::get_connect_account);
    let put_connect = user_path!("connect-account")
        .and(warp::put())
        .and(auth())
        .and(json())
        .and(s())
        .then(handlers::put_connect_account);

    let customer_rating = user_path!("update-customer-rating")
        .and(warp::post())
        .and(auth())
        .and(json())
        .and(s())
        .then(|id, caller, body, svc| {
            handlers::update_rating(RatingKind::Customer, id, caller, body, svc)
        });
    let runner_rating = user_path!("update-runner-rating")
        .and(warp::post())
        .and(auth())
        .and(json())
        .and(s())
        .then(|id, caller, body, svc| {
            handlers::update_rating(RatingKind::Runner, id, caller, body, svc)
        });

    let add_payment_method = user_path!("payment-methods")
        .and(warp::post())
        .and(auth())
        .and(json())
        .and(s())
        .then(handlers::add_payment_method)
        .recover(error::recover_with_description)
        .unify();
    let delete_payment_methods = user_path!("payment-methods")
        .and(warp::delete())
        .and(auth())
        .and(s())
        .then(handlers::delete_payment);

    health
        .or(ready)
        .unify()
        .or(metrics)
        .unify()
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

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn paths_map_to_bounded_templates() {
        assert_eq!(template("/api/user/user_1"), "/user/{id}");
        assert_eq!(template("/user/user_1/payment"), "/user/{id}/payment");
        assert_eq!(template("/api/user/list-users"), "/user/list-users");
        assert_eq!(template("/user/temp"), "/user/temp");
        assert_eq!(template("/api/health"), "/health");
        assert_eq!(template("/apiary/health"), "unmatched");
        assert_eq!(template("/user/a/b/c"), "unmatched");
        assert_eq!(template("/user//payment"), "unmatched");
        assert_eq!(template("/"), "unmatched");
    }
}
