//! The operational endpoints both binaries serve, declared once: `/health`
//! (liveness), `/ready` (readiness) and `/metrics` (Prometheus). What "alive"
//! and "ready" mean is each binary's own ([`Probes`]): the API is ready when
//! the database answers with this release's schema; the worker when, in
//! addition, it holds partitions, and alive while its loop ticks.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use utoipa::ToSchema;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::render;

/// A probe's answer: 200 with its JSON body, or 503 with it.
pub struct ProbeAnswer(Response);

impl ProbeAnswer {
    pub fn new<T: serde::Serialize>(ok: bool, body: &T) -> Self {
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        Self(render::json(status, body))
    }

    fn into_response(self) -> Response {
        self.0
    }
}

/// What a binary's ops endpoints report.
pub trait Probes: Send + Sync + 'static {
    fn live(&self) -> ProbeAnswer;
    fn ready(&self) -> impl Future<Output = ProbeAnswer> + Send;
    /// Gauges read at scrape time (e.g. the pool's state).
    fn before_scrape(&self) {}
}

/// Whether `/metrics` is among the filters (the API may serve it only on its
/// internal listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithMetrics {
    Yes,
    No,
}

/// What a probe answers: `success`, and what the binary adds (the API:
/// `status`, and `message` when not ready; the worker: `status`, or
/// `assigned` and `database`).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: each binary renders its own
pub(super) struct ProbeBody {
    success: bool,
    #[schema(required = false)]
    status: String,
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    summary = "Liveness (never touches the database)",
    security(()),
    responses(
        (status = 200, description = "Alive", body = ProbeBody),
        (status = 503, description = "Not alive (the worker's loop stopped ticking)", body = ProbeBody),
    )
)]
pub(super) async fn health<P: Probes>(probes: Arc<P>) -> Response {
    probes.live().into_response()
}

#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    summary = "Readiness: the database answers with this release's schema",
    security(()),
    responses(
        (status = 200, description = "Ready", body = ProbeBody),
        (status = 503, description = "Not ready", body = ProbeBody),
    )
)]
pub(super) async fn ready<P: Probes>(probes: Arc<P>) -> Response {
    probes.ready().await.into_response()
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    security(()),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub(super) async fn metrics<P: Probes>(
    probes: Arc<P>,
    metrics: WithMetrics,
) -> Result<Response, warp::Rejection> {
    if metrics == WithMetrics::No {
        return Err(warp::reject::not_found());
    }
    probes.before_scrape();
    Ok(render::with_type(
        crate::metrics::render(),
        crate::metrics::CONTENT_TYPE,
    ))
}

/// `/health`, `/ready` and (with [`WithMetrics::Yes`]) `/metrics`.
pub fn filters<P: Probes>(probes: Arc<P>, with_metrics: WithMetrics) -> BoxedFilter<(Response,)> {
    let with = move || {
        let probes = probes.clone();
        warp::any().map(move || probes.clone())
    };
    let health = warp::path!("health")
        .and(warp::get())
        .and(with())
        .then(health::<P>);
    let ready = warp::path!("ready")
        .and(warp::get())
        .and(with())
        .then(ready::<P>);
    let scrape = warp::path!("metrics")
        .and(warp::get())
        .and(with())
        .and_then(move |p: Arc<P>| metrics(p, with_metrics));
    health.or(ready).unify().or(scrape).unify().boxed()
}

/// The probe listener's limits: the kubelet and Prometheus send one small
/// request at a time, so anything slower or more numerous is not them.
pub const PROBE_LIMITS: crate::config::HttpLimits = crate::config::HttpLimits {
    header_read_timeout: Duration::from_secs(5),
    request_timeout: Duration::from_secs(10),
    max_connections: 64,
};

/// Serves the ops endpoints alone on `listener` (the API's `METRICS_ADDR`,
/// the worker's `WORKER_HTTP_ADDR`) through the API's server, for its header
/// timeout and connection cap: probes keep answering when someone holds slow
/// connections open. Anything else is the API's JSON 404.
pub async fn serve<P: Probes>(
    listener: tokio::net::TcpListener,
    probes: Arc<P>,
    limits: crate::config::HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> bool {
    let app = filters(probes, WithMetrics::Yes)
        .recover(super::error::recover)
        .unify()
        .boxed();
    super::server::serve(listener, app, limits, shutdown, drain).await
}
