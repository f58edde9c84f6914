//! Wiring `user-worker`: the pool, the repository and the use cases (without
//! payments: the worker only reads payment references), the Kafka clients,
//! the probe listener and the user directory's relay beside the command loop;
//! and its one-shot commands (`create-topics`, `publish-directory`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{KafkaSettings, WorkerConfig};
use crate::db::Repository;
use crate::payments::NotConfigured;
use crate::service::UserService;
use crate::worker::{self, Worker, WorkerError};

fn service(config: &WorkerConfig) -> Result<Arc<UserService>, WorkerError> {
    let repo =
        Repository::connect(&config.database).map_err(|e| WorkerError::Database(e.to_string()))?;
    Ok(Arc::new(UserService::new(repo, Arc::new(NotConfigured))))
}

/// Builds the worker from its configuration and runs it until `shutdown`.
pub async fn run(config: &WorkerConfig, shutdown: CancellationToken) -> Result<(), WorkerError> {
    // Install the metrics recorder before anything records.
    crate::metrics::handle();
    let service = service(config)?;
    let commands = Worker::new(&config.kafka, service.clone())?;
    let probes = worker::serve_probes(config.http_addr, Arc::new(commands.probe()))
        .await
        .map_err(|e| WorkerError::Http(config.http_addr, e))?;
    tracing::info!(addr = %probes, "worker probes and metrics listening");
    // The relay runs beside the command loop and stops with it.
    let relay_stop = shutdown.child_token();
    let relay = tokio::spawn(worker::relay_directory(
        service,
        worker::directory_producer(&config.kafka)?,
        config.kafka.directory_topic.clone(),
        config.kafka.directory_poll,
        relay_stop.clone(),
    ));
    let result = commands.run(shutdown).await;
    relay_stop.cancel();
    let _ = relay.await;
    result
}

/// `user-worker publish-directory`: publishes every current user's public
/// view on the directory topic once (a new topic, or a consumer starting
/// from scratch); safe while the service runs. Returns how many.
pub async fn publish_directory(config: &WorkerConfig) -> Result<usize, WorkerError> {
    let service = service(config)?;
    let producer = worker::directory_producer(&config.kafka)?;
    worker::backfill_directory(&service, &producer, &config.kafka.directory_topic)
        .await
        .map_err(|e| WorkerError::Database(e.to_string()))
}

/// `user-worker create-topics`: creates the commands, events, dead-letter and
/// directory topics where missing; returns the names it created. Without a
/// `replication`, three replicas (one broker lost loses no acknowledged
/// command), or every broker when there are fewer (a development cluster of
/// one).
pub async fn create_topics(
    settings: &KafkaSettings,
    partitions: i32,
    replication: Option<i32>,
) -> Result<Vec<String>, WorkerError> {
    Ok(worker::create_topics(settings, partitions, replication).await?)
}
