//! `user-worker`: read config → consume `user_commands` → produce `user_events`,
//! until SIGTERM/SIGINT. `user-worker create-topics [PARTITIONS [REPLICATION]]`
//! creates the topics (defaults: 6 partitions, 3 replicas or as many brokers
//! as there are, if fewer) and exits. `user-worker publish-directory`
//! publishes every current user on the user directory topic once and exits.

use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use userlib::config::{FromEnv, WorkerConfig};
use userlib::shutdown::shutdown_signal;
use userlib::startup::worker;
use userlib::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match WorkerConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("user-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let log_guard = telemetry::init(&config.telemetry);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("run") => run(config).await,
        Some("create-topics") => create_topics(config, &args[1..]).await,
        Some("publish-directory") => publish_directory(config).await,
        Some(other) => Err(anyhow::anyhow!(
            "unknown command '{other}' (expected: run, create-topics, publish-directory)"
        )),
    };
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("user-worker: {e:#}");
            1
        }
    };
    // Exit now rather than through the runtime's teardown, which would wait for a
    // Kafka client still closing on a blocking thread (see processor.rs).
    drop(log_guard);
    std::process::exit(code)
}

async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown signal received");
        on_signal.cancel();
    });
    let grace = config.shutdown_timeout;
    let worker = worker::run(&config, shutdown.clone());
    tokio::select! {
        result = worker => result.context("worker failed")?,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "shutdown took too long; exiting (unacknowledged work is redelivered)");
        }
    }
    tracing::info!("user-worker stopped");
    Ok(())
}

async fn create_topics(config: WorkerConfig, args: &[String]) -> anyhow::Result<()> {
    let number = |i: usize| -> anyhow::Result<Option<i32>> {
        args.get(i)
            .map(|a| a.parse().with_context(|| format!("'{a}' is not a number")))
            .transpose()
    };
    let created = worker::create_topics(&config.kafka, number(0)?.unwrap_or(6), number(1)?)
        .await
        .context("creating topics failed")?;
    tracing::info!(?created, "topics ready");
    Ok(())
}

async fn publish_directory(config: WorkerConfig) -> anyhow::Result<()> {
    let users = worker::publish_directory(&config)
        .await
        .context("publishing the user directory failed")?;
    tracing::info!(users, "user directory published");
    println!(
        "published {users} users on {}",
        config.kafka.directory_topic
    );
    Ok(())
}
