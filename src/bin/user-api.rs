//! `user-api`: read config → migrate → serve HTTP until SIGTERM.
//! `user-api migrate` only applies migrations (for a Kubernetes Job) and exits;
//! it reads only the database and logging settings.

use std::process::ExitCode;

use anyhow::Context;
use userlib::config::{ApiConfig, ConfigError, MigrateConfig};
use userlib::startup::{Api, shutdown_signal};
use userlib::{db, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => match ApiConfig::from_env() {
            Ok(config) => {
                let _log_guard = telemetry::init(&config.telemetry);
                report(serve(config).await)
            }
            Err(e) => config_error(e),
        },
        Some("migrate") => match MigrateConfig::from_env() {
            Ok(config) => {
                let _log_guard = telemetry::init(&config.telemetry);
                report(migrate(config).await)
            }
            Err(e) => config_error(e),
        },
        Some(other) => {
            eprintln!("user-api: unknown command '{other}' (expected: serve, migrate)");
            ExitCode::from(2)
        }
    }
}

fn config_error(e: ConfigError) -> ExitCode {
    eprintln!("user-api: {e}");
    ExitCode::from(2)
}

fn report(result: anyhow::Result<()>) -> ExitCode {
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

async fn migrate(config: MigrateConfig) -> anyhow::Result<()> {
    let applied = db::migrate(&config.database)
        .await
        .context("migration failed")?;
    tracing::info!(applied, "migrations applied");
    Ok(())
}
