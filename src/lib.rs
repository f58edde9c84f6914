//! userlib: the user service of the delivery marketplace (profiles, ratings,
//! payment details). Two binaries share this library: `user-api` (HTTP, warp)
//! and `user-worker` (Kafka). Dependencies point one way, down:
//!
//! ```text
//!  user-api: startup ─> http (filters, handlers, wire)      user-worker: worker (Kafka loop)
//!                        │   └─> auth (callers), webhooks (signatures, events)   │
//!                        └──────────────┬──────────────────────────────────────┘
//!                                       v
//!                             service (use cases, ServiceError)
//!                               │                    │
//!                               v                    v
//!                  db (pool, migrations,      payments (gateway trait,
//!                      repository)                      Stripe, NotConfigured)
//!
//!  legacy (user-api import-legacy) ─> db        every layer uses domain (parsed values)
//!  metrics: names and the recorder, used by http, worker, db (pool gauges), payments
//! ```
//!
//! `http` imports `service`, `domain`, `auth`, `webhooks`, `metrics` — never
//! `db` or `payments`. The binaries read `config` (one section per file) and
//! hand each part its settings: `db` (database), `payments`, `auth`,
//! `telemetry`, `worker` (kafka), `startup` (the API's whole config). The API
//! is composed in `startup`, the worker in `worker::run`; `shutdown` is the
//! signal both stop on.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod legacy;
pub mod metrics;
pub mod payments;
pub mod service;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod webhooks;
pub mod worker;
