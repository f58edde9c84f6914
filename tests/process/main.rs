//! The two binaries as Kubernetes runs them: spawned as processes, configured
//! by environment, stopped by signals (and by kill -9). A binary of its own,
//! so these timing-sensitive tests do not share a process with the API suites.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod directory;
mod worker;
mod worker_start;
