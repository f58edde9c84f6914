//! Fault scenarios under load: PostgreSQL restarts, a broker outage, workers
//! killed with SIGKILL, a poison flood, scaling out and in. Each asserts that
//! nothing is lost — every command answered (by correlation id), every
//! acknowledged write still in its row — and prints what it measured.
//!
//! `cargo test` runs the short forms (CI). `CHAOS_SCALE=long` runs the long
//! forms the issue describes (`bench/chaos-suite.sh`, `docs/benchmarks.md`).
//! A binary of its own, and one scenario at a time: each loads both cores.

#[path = "../common/mod.rs"]
mod common;

mod broker_outage;
mod load;
mod poison_flood;
mod postgres_restart;
mod scale_out;
mod worker_kills;
