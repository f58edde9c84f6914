//! `user-api`: read config → migrate → serve HTTP until SIGTERM.
//! `user-api migrate` only applies migrations (for a Kubernetes Job) and exits;
//! it reads only the database and logging settings.
//! `user-api import-legacy --from <legacy URL> [--dry-run] [--report <file>]`
//! brings the Flask service's users across (see the cut-over runbook, docs/cut-over.md);
//! it exits 0 when nothing was rejected, 3 when the report lists findings.

use std::process::ExitCode;

use anyhow::Context;
use userlib::config::{ApiConfig, ConfigError, FromEnv, MigrateConfig};
use userlib::legacy::ImportOptions;
use userlib::shutdown::shutdown_signal;
use userlib::startup::Api;
use userlib::{db, legacy, telemetry};

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
        Some("import-legacy") => {
            let options = match import_options(std::env::args().skip(2)) {
                Ok(options) => options,
                Err(usage) => {
                    eprintln!("user-api import-legacy: {usage}\n{IMPORT_USAGE}");
                    return ExitCode::from(2);
                }
            };
            match MigrateConfig::from_env() {
                Ok(config) => {
                    let _log_guard = telemetry::init(&config.telemetry);
                    import_legacy(config, options)
                        .await
                        .unwrap_or_else(|e| report(Err(e)))
                }
                Err(e) => config_error(e),
            }
        }
        Some(other) => {
            eprintln!(
                "user-api: unknown command '{other}' (expected: serve, migrate, import-legacy)"
            );
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

const IMPORT_USAGE: &str =
    "usage: user-api import-legacy --from <legacy DATABASE_URL> [--dry-run] [--report <file>]";

fn import_options(mut args: impl Iterator<Item = String>) -> Result<ImportOptions, String> {
    let mut options = ImportOptions {
        legacy_url: String::new(),
        dry_run: false,
        report_path: "import-legacy-report.jsonl".into(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--from" => options.legacy_url = args.next().ok_or("--from needs a URL")?,
            "--dry-run" => options.dry_run = true,
            "--report" => options.report_path = args.next().ok_or("--report needs a path")?.into(),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if options.legacy_url.is_empty() {
        return Err("--from is required".into());
    }
    Ok(options)
}

/// Our database (`DATABASE_URL`) is migrated first; a dry run does not touch it.
async fn import_legacy(config: MigrateConfig, options: ImportOptions) -> anyhow::Result<ExitCode> {
    let target = if options.dry_run {
        None
    } else {
        db::migrate(&config.database)
            .await
            .context("migrating this service's database failed")?;
        Some(
            db::Repository::connect(&config.database)
                .context("connecting to this service's database")?,
        )
    };
    let summary = legacy::import(&options, target.as_ref())
        .await
        .context("import failed")?;
    print!("{summary}");
    Ok(if summary.rejected_anything() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
