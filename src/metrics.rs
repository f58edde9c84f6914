//! Prometheus metrics, shared by both binaries: one process-wide recorder (the
//! `metrics` facade), rendered in the Prometheus text format by `/metrics`.
//!
//! Names are constants here so that dashboards and code cannot drift apart.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
pub const DB_POOL_WAITING: &str = "db_pool_waiting";
pub const STRIPE_DURATION: &str = "stripe_request_duration_seconds";
pub const WORKER_MESSAGES: &str = "worker_messages_total";
pub const WORKER_RETRIES: &str = "worker_batch_retries_total";
pub const WORKER_BATCH_SIZE: &str = "worker_batch_size";
pub const WORKER_LATENCY: &str = "worker_processing_latency_seconds";
pub const WORKER_COMMIT_FAILURES: &str = "worker_commit_failures_total";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(WORKER_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first (not done anywhere).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The Prometheus text exposition of everything recorded so far.
pub fn render() -> String {
    handle().render()
}
