//! The worker's own small HTTP server (`WORKER_HTTP_ADDR`): `/metrics` for
//! Prometheus, `/health` for liveness (the processing loop has ticked recently),
//! `/ready` for readiness (partitions assigned and the database reachable).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::Consumer;
use serde_json::json;
use warp::Filter;
use warp::Reply;
use warp::http::StatusCode;

use super::kafka::WorkerConsumer;
use crate::service::UserService;

/// The loop is considered stuck when it has not ticked for this long. Every wait
/// of the loop is far shorter (polls, backoff), so only a hang gets here.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// The probe listener's limits: the kubelet and Prometheus send one small
/// request at a time, so anything slower or more numerous is not them.
const PROBE_LIMITS: crate::config::HttpLimits = crate::config::HttpLimits {
    header_read_timeout: Duration::from_secs(5),
    request_timeout: Duration::from_secs(10),
    max_connections: 64,
};

/// Shared between the processing loop (which ticks) and the HTTP server.
#[derive(Default)]
pub struct Heartbeat(AtomicU64);

impl Heartbeat {
    pub fn tick(&self) {
        self.0.store(now_millis(), Ordering::Relaxed);
    }

    fn alive(&self) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        last != 0 && now_millis().saturating_sub(last) < STALE_AFTER.as_millis() as u64
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct Probe {
    pub heartbeat: Arc<Heartbeat>,
    /// Weak: the probes must not keep the Kafka client alive after the worker
    /// has closed it (its destruction is where it leaves the group).
    pub consumer: Weak<WorkerConsumer>,
    pub service: Arc<UserService>,
}

/// Binds and serves until the process ends (it is a side task of the worker).
pub async fn serve(addr: SocketAddr, probe: Arc<Probe>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let with = move || {
        let probe = probe.clone();
        warp::any().map(move || probe.clone())
    };
    let metrics = warp::path!("metrics").and(warp::get()).map(|| {
        warp::reply::with_header(
            crate::metrics::render(),
            "content-type",
            crate::metrics::CONTENT_TYPE,
        )
        .into_response()
    });
    let health = warp::path!("health")
        .and(warp::get())
        .and(with())
        .map(|p: Arc<Probe>| {
            let alive = p.heartbeat.alive();
            let status = if alive {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            warp::reply::with_status(
                warp::reply::json(
                    &json!({"success": alive, "status": if alive { "alive" } else { "stalled" }}),
                ),
                status,
            )
            .into_response()
        });
    let ready =
        warp::path!("ready")
            .and(warp::get())
            .and(with())
            .then(|p: Arc<Probe>| async move {
                let assigned = p
                    .consumer
                    .upgrade()
                    .and_then(|c| c.assignment().ok())
                    .is_some_and(|a| a.count() > 0);
                let database = p.service.check_ready().await.is_ok();
                let ok = assigned && database;
                let status = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                warp::reply::with_status(
                    warp::reply::json(
                        &json!({"success": ok, "assigned": assigned, "database": database}),
                    ),
                    status,
                )
                .into_response()
            });
    let routes = metrics
        .or(health)
        .unify()
        .or(ready)
        .unify()
        .recover(|_| async {
            Ok::<_, std::convert::Infallible>(
                warp::reply::with_status(
                    warp::reply::json(&json!({"success": false, "message": "Not found"})),
                    StatusCode::NOT_FOUND,
                )
                .into_response(),
            )
        })
        .unify()
        .boxed();
    // The API's server, for its header-read timeout and connection cap: the
    // probes must keep answering when someone holds slow connections open.
    tokio::spawn(crate::http::server::serve(
        listener,
        routes,
        PROBE_LIMITS,
        std::future::pending(),
        Duration::ZERO,
    ));
    Ok(bound)
}
