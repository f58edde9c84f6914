//! The HTTP edge (`user-api`): the filters (`routes`: which method and path
//! reach which handler, CORS, the one `recover`), the handlers by resource
//! (`handlers/`), requests and answers as the clients send and read them
//! (`requests`, `responses`), their rendering (`render`), the error mapping
//! (`error`), the ops endpoints both binaries serve (`ops`), and the
//! per-request tracing span (request id) and access log.
//! It talks to the use cases (`service`) only, never to `db` or `payments`.

mod body;
mod caller;
mod error;
mod handlers;
mod openapi;
pub mod ops;
mod render;
mod requests;
mod responses;
mod route_table;
mod routes;
pub mod server;

use std::sync::Arc;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::auth::Authenticator;
use crate::service::UserService;

pub use handlers::ops::ApiProbes;
pub use handlers::webhook_events::WebhookSecrets;
pub use route_table::{ROUTES, template_matches};

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsOn {
    /// On the API's own port (the default).
    ApiPort,
    /// Only on the internal listener (`METRICS_ADDR`); the API port answers 404.
    InternalListener,
}

/// The complete filter `user-api` serves: routes, CORS, errors as JSON, a
/// tracing span per request carrying its request id, and one access log line per
/// request.
pub fn app(
    service: Arc<UserService>,
    authenticator: Authenticator,
    webhooks: WebhookSecrets,
    cors_origins: &[String],
    metrics: MetricsOn,
) -> BoxedFilter<(Response,)> {
    let state = routes::State {
        service,
        authenticator,
        webhooks: Arc::new(webhooks),
        metrics,
    };
    routes::api(state, cors_origins)
        .with(warp::log::custom(access_log))
        .with(warp::trace(request_span))
        .map(warp::reply::Reply::into_response)
        .boxed()
}

/// Uses the caller's `X-Request-Id` when it is a sane token, otherwise a new one,
/// so a request can be followed from the frontend or orchestrator into our logs.
/// The id is only made when the span is recorded (not when logging is off).
fn request_span(info: warp::trace::Info<'_>) -> tracing::Span {
    let span = tracing::info_span!(
        "request",
        request_id = tracing::field::Empty,
        method = %info.method()
    );
    if !span.is_disabled() {
        match info
            .request_headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            }) {
            Some(id) => span.record("request_id", id),
            None => span.record(
                "request_id",
                tracing::field::display(uuid::Uuid::new_v4().simple()),
            ),
        };
    }
    span
}

/// One log line and the request metrics per request, labelled by route template.
fn access_log(info: warp::log::Info<'_>) {
    let route = route_table::template(info.path());
    let status = info.status();
    let elapsed = info.elapsed();
    tracing::info!(
        target: "userlib::http::access",
        route,
        path = info.path(),
        status = status.as_u16(),
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    let method = match *info.method() {
        warp::http::Method::GET => "GET",
        warp::http::Method::POST => "POST",
        warp::http::Method::PUT => "PUT",
        warp::http::Method::DELETE => "DELETE",
        warp::http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let status = crate::metrics::status_label(status.as_u16());
    metrics::counter!(crate::metrics::HTTP_REQUESTS, "route" => route, "method" => method, "status" => status.clone())
        .increment(1);
    metrics::histogram!(crate::metrics::HTTP_DURATION, "route" => route, "method" => method, "status" => status)
        .record(elapsed.as_secs_f64());
}
