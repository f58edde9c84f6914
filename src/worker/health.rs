//! What the worker's probes report (`WORKER_HTTP_ADDR`; the endpoints are
//! `http::ops`'s, as for the API): `/health` is liveness (the processing loop
//! has ticked recently), `/ready` readiness (partitions assigned and the
//! database reachable), `/metrics` for Prometheus.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::Consumer;
use serde::Serialize;

use super::kafka::WorkerConsumer;
use crate::http::ops::{PROBE_LIMITS, ProbeAnswer, Probes};
use crate::service::UserService;

/// The loop is considered stuck when it has not ticked for this long. Every wait
/// of the loop is far shorter (polls, backoff), so only a hang gets here.
const STALE_AFTER: Duration = Duration::from_secs(60);

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

impl Probes for Probe {
    /// Alive while the processing loop ticks.
    fn live(&self) -> ProbeAnswer {
        #[derive(Serialize)]
        struct Health {
            success: bool,
            status: &'static str,
        }
        let alive = self.heartbeat.alive();
        ProbeAnswer::new(
            alive,
            &Health {
                success: alive,
                status: if alive { "alive" } else { "stalled" },
            },
        )
    }

    /// Ready with partitions assigned and the database reachable.
    async fn ready(&self) -> ProbeAnswer {
        #[derive(Serialize)]
        struct Ready {
            success: bool,
            assigned: bool,
            database: bool,
        }
        let assigned = self
            .consumer
            .upgrade()
            .and_then(|c| c.assignment().ok())
            .is_some_and(|a| a.count() > 0);
        let database = self.service.check_ready().await.is_ok();
        let ok = assigned && database;
        ProbeAnswer::new(
            ok,
            &Ready {
                success: ok,
                assigned,
                database,
            },
        )
    }
}

/// Binds and serves the probes until the process ends (a side task of the
/// worker), with the probe listener's limits.
pub async fn serve(addr: SocketAddr, probe: Arc<Probe>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(crate::http::ops::serve(
        listener,
        probe,
        PROBE_LIMITS,
        std::future::pending(),
        Duration::ZERO,
    ));
    Ok(bound)
}
