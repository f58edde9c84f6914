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
//! The binary is wired in `startup::worker`, as the API is in `startup::api`:
//! this module talks to the use cases (`service`) only, like `http`.

mod command;
mod directory;
mod envelope;
mod health;
mod kafka;
mod outgoing;
mod processor;

pub use directory::{
    backfill as backfill_directory, producer as directory_producer, relay as relay_directory,
};
pub use health::serve as serve_probes;
pub use kafka::{consumer_config, create_topics, producer_config};
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
