//! `user-worker`: read config → consume `user_commands` → produce `user_events`.
//!
//! Until the Kafka processor lands it only validates its configuration, logs it
//! and exits cleanly, so deployments can already be wired.

use std::process::ExitCode;

use userlib::config::WorkerConfig;
use userlib::telemetry;

fn main() -> ExitCode {
    let config = match WorkerConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("user-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = telemetry::init(&config.telemetry);
    tracing::info!(
        pool_size = config.database.pool_size,
        "user-worker configured; the Kafka processor is not part of this build yet, exiting"
    );
    ExitCode::SUCCESS
}
