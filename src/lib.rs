//! userlib: the user service of the delivery marketplace (profiles, ratings,
//! payment details). Two binaries share this library: `user-api` (HTTP, warp) and
//! `user-worker` (Kafka). Dependencies point one way:
//!
//! ```text
//! http (edge) ──┐
//!               ├─> service (use cases) ─> db (repository), payments (gateway)
//! worker (edge) ┘        all of them use domain (parsed values)
//! ```
//!
//! `config` and `telemetry` are read by the binaries; `startup` assembles the API.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod legacy;
pub mod metrics;
pub mod payments;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod webhooks;
pub mod worker;
