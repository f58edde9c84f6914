//! `user-api`: read config → migrate → serve HTTP until SIGTERM.
//! `user-api migrate` only applies migrations (for a Kubernetes Job) and exits.

use std::process::ExitCode;

use anyhow::Context;
use userlib::config::ApiConfig;
use userlib::startup::{Api, shutdown_signal};
use userlib::{db, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match ApiConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("user-api: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = telemetry::init(&config.telemetry);
    let result = match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve(config).await,
        Some("migrate") => migrate(config).await,
        Some(other) => Err(anyhow::anyhow!(
            "unknown command '{other}' (expected: serve, migrate)"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("user-api: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ApiConfig) -> anyhow::Result<()> {
    let api = Api::build(&config).await.context("start-up failed")?;
    tracing::info!(addr = %api.local_addr(), "user-api listening");
    api.run_until(shutdown_signal()).await;
    tracing::info!("user-api stopped");
    Ok(())
}

async fn migrate(config: ApiConfig) -> anyhow::Result<()> {
    let applied = db::migrate(&config.database)
        .await
        .context("migration failed")?;
    tracing::info!(applied, "migrations applied");
    Ok(())
}
