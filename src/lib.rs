//! userlib: the user service of the delivery marketplace (profiles, ratings,
//! payment details). Two binaries share this library: `user-api` (HTTP, warp)
//! and `user-worker` (Kafka). Dependencies point one way, down:
//!
//! ```text
//!  user-api:    startup::api ────> http (filters, handlers, wire)
//!                                   │  └─> auth (callers), webhooks (signatures, events)
//!  user-worker: startup::worker ─> worker (Kafka loop, directory relay)
//!                                   │
//!                                   v
//!                      service (use cases, ServiceError)
//!                        │                    │
//!                        v                    v
//!           db (pool, migrations,      payments (gateway trait,
//!               repository)                      Stripe, NotConfigured)
//!
//!  startup builds db and payments and hands them down; legacy (user-api
//!  import-legacy) ─> db; every layer uses domain (parsed values);
//!  metrics: names and the recorder, used by http, worker, db (pool gauges), payments
//! ```
//!
//! `http` imports `service`, `domain`, `auth`, `webhooks`, `metrics` — never
//! `db` or `payments`. The binaries read `config` (one section per file) and
//! hand each part its settings: `db` (database), `payments`, `auth`,
//! `telemetry`, `worker` (kafka). Each binary is composed in one file,
//! `startup::api` and `startup::worker`; `shutdown` is the signal both stop on.

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
