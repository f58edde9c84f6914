//! The Kafka edge (`user-worker`): answers the saga orchestrators'
//! `get_payment_info` commands from `user_commands` on `user_events`, at least
//! once, with malformed commands kept on a dead-letter topic.
//!
//! * `envelope` — the command envelope (both forms the orchestrators send);
//! * `command` — the commands, one file each (parse, then answer a batch):
//!   today `get_payment_info`;
//! * `processor` — the at-least-once loop;
//! * `outgoing` — one polled command's state, its reply or dead-letter copy;
//! * `kafka` — client configuration, rebalance handling, topics;
//! * `health` — the worker's probes and metrics listener;
//! * `directory` — the user directory's relay (outbox → compacted topic) and
//!   its backfill (`user-worker publish-directory`).
//!
//! [`run`] is where the worker composes its dependencies (pool, repository,
//! service without payments, Kafka clients), as `startup` does for the API.

mod command;
mod directory;
mod envelope;
mod health;
mod kafka;
mod outgoing;
mod processor;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{KafkaSettings, WorkerConfig};
use crate::db::{self, Repository};
use crate::payments::NotConfigured;
use crate::service::UserService;

pub use kafka::{consumer_config, producer_config};
pub use processor::Worker;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(
        "topic(s) {0} do not exist on the broker; create them first (scripts/dev does; or `user-worker create-topics`)"
    )]
    MissingTopics(String),
    #[error("cannot serve probes and metrics on {0}")]
    Http(std::net::SocketAddr, #[source] std::io::Error),
    #[error("database: {0}")]
    Database(String),
    /// The consumer can never work again (e.g. another live worker has the
    /// same `KAFKA_GROUP_INSTANCE_ID` and fenced this one): exit, and let the
    /// orchestrator restart the process.
    #[error("kafka consumer failed for good: {0}")]
    Fatal(String),
}

/// Builds the worker from its configuration and runs it until `shutdown`.
pub async fn run(config: &WorkerConfig, shutdown: CancellationToken) -> Result<(), WorkerError> {
    // Install the metrics recorder before anything records.
    crate::metrics::handle();
    let pool = db::build_pool(&config.database);
    let repo = Repository::new(pool, &config.database);
    // The worker only reads payment references; it never calls the payments provider.
    let service = Arc::new(UserService::new(repo, Arc::new(NotConfigured)));
    let worker = Worker::new(&config.kafka, service.clone())?;
    let probes = health::serve(config.http_addr, Arc::new(worker.probe()))
        .await
        .map_err(|e| WorkerError::Http(config.http_addr, e))?;
    tracing::info!(addr = %probes, "worker probes and metrics listening");
    // The relay runs beside the command loop and stops with it.
    let relay_stop = shutdown.child_token();
    let relay = tokio::spawn(directory::relay(
        service,
        directory::producer(&config.kafka)?,
        config.kafka.directory_topic.clone(),
        config.kafka.directory_poll,
        relay_stop.clone(),
    ));
    let result = worker.run(shutdown).await;
    relay_stop.cancel();
    let _ = relay.await;
    result
}

/// `user-worker publish-directory`: publishes every current user's public
/// view on the directory topic once (a new topic, or a consumer starting
/// from scratch); safe while the service runs. Returns how many.
pub async fn publish_directory(config: &WorkerConfig) -> Result<usize, WorkerError> {
    let pool = db::build_pool(&config.database);
    let repo = Repository::new(pool, &config.database);
    let service = UserService::new(repo, Arc::new(NotConfigured));
    let producer = directory::producer(&config.kafka)?;
    directory::backfill(&service, &producer, &config.kafka.directory_topic)
        .await
        .map_err(|e| WorkerError::Database(e.to_string()))
}

/// Creates the commands, events, dead-letter and directory topics where missing; returns
/// the names it created. Without a `replication`, three replicas (one broker
/// lost loses no acknowledged command), or every broker when there are fewer
/// (a development cluster of one).
pub async fn create_topics(
    settings: &KafkaSettings,
    partitions: i32,
    replication: Option<i32>,
) -> Result<Vec<String>, WorkerError> {
    Ok(kafka::create_topics(settings, partitions, replication).await?)
}
