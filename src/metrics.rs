//! Prometheus metrics, shared by both binaries: one process-wide recorder (the
//! `metrics` facade), rendered in the Prometheus text format by `/metrics`.
//!
//! Names are constants here so that dashboards and code cannot drift apart.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const HTTP_CONNECTIONS_REFUSED: &str = "http_connections_refused_total";
pub const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
pub const DB_POOL_WAITING: &str = "db_pool_waiting";
pub const DB_WRITE_BATCH_SIZE: &str = "db_write_batch_size";
pub const DB_WRITE_BATCH_DURATION: &str = "db_write_batch_duration_seconds";
pub const DB_READ_BATCH_SIZE: &str = "db_read_batch_size";
pub const AUTH_TOKEN_CACHE_ENTRIES: &str = "auth_token_cache_entries";
pub const AUTH_TOKENS: &str = "auth_tokens_total";
pub const STRIPE_DURATION: &str = "stripe_request_duration_seconds";
pub const WORKER_MESSAGES: &str = "worker_messages_total";
pub const WORKER_RETRIES: &str = "worker_batch_retries_total";
pub const WORKER_BATCH_SIZE: &str = "worker_batch_size";
pub const WORKER_LATENCY: &str = "worker_processing_latency_seconds";
pub const WORKER_COMMIT_FAILURES: &str = "worker_commit_failures_total";
/// Seconds the oldest unpublished user-directory event has waited (0: none).
pub const DIRECTORY_LAG: &str = "user_directory_outbox_lag_seconds";
pub const DIRECTORY_PUBLISHED: &str = "user_directory_published_total";
pub const DIRECTORY_FAILURES: &str = "user_directory_relay_failures_total";
/// From the commit of a change to the broker's acknowledgement of its event.
pub const DIRECTORY_PUBLISH_LATENCY: &str = "user_directory_publish_latency_seconds";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// A status code as a label value without allocating for the usual ones.
pub fn status_label(status: u16) -> metrics::SharedString {
    let s: &'static str = match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        415 => "415",
        500 => "500",
        502 => "502",
        503 => "503",
        other => return other.to_string().into(),
    };
    s.into()
}

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(WORKER_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(DB_WRITE_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(DB_READ_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first (not done anywhere).
        let _ = metrics::set_global_recorder(recorder);
        // Histograms keep raw samples until an upkeep pass folds them into their
        // buckets; without it memory grows with every request between scrapes
        // (or forever, if nothing scrapes). A plain thread: it needs no runtime.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            })
            .expect("spawning the metrics upkeep thread");
        handle
    })
}

/// The Prometheus text exposition of everything recorded so far.
pub fn render() -> String {
    handle().render()
}

/// The connection pool's state, read at scrape time (`/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGauges {
    pub in_use: usize,
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl PoolGauges {
    pub fn record(self) {
        metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(self.in_use as f64);
        metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(self.idle as f64);
        metrics::gauge!(DB_POOL_WAITING).set(self.waiting as f64);
    }
}

/// The Prometheus text format's content type (`/metrics` of both binaries).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
