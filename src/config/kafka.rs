//! `KAFKA_*`: the worker's broker, topics, group, batching and extra librdkafka
//! properties (read by `worker::kafka`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ConfigError, invalid};

#[derive(Deserialize)]
#[serde(default)]
pub(super) struct RawKafka {
    kafka_bootstrap_servers: String,
    kafka_user_commands_topic: String,
    kafka_user_events_topic: String,
    kafka_user_service_group_id: String,
    kafka_dlq_topic: String,
    kafka_user_directory_topic: String,
    kafka_directory_poll_ms: u64,
    kafka_batch_size: usize,
    kafka_batch_wait_ms: u64,
    kafka_batches_in_flight: usize,
    kafka_group_instance_id: Option<String>,
    kafka_properties: Option<SecretString>,
}

impl Default for RawKafka {
    fn default() -> Self {
        Self {
            kafka_bootstrap_servers: "127.0.0.1:9092".into(),
            kafka_user_commands_topic: "user_commands".into(),
            kafka_user_events_topic: "user_events".into(),
            // The Flask service's group: the worker resumes from its offsets.
            kafka_user_service_group_id: "user-service-group".into(),
            kafka_dlq_topic: "user_commands.dlq".into(),
            kafka_user_directory_topic: "user_directory".into(),
            // How often an idle relay looks at the outbox: one indexed
            // query per poll, and the floor of commit-to-topic latency.
            kafka_directory_poll_ms: 10,
            kafka_batch_size: 500,
            // 0: a batch is what is already queued (the consumer's queue fills
            // while the previous batch is answered); nothing waits for more.
            // bench/saga_latency.sh against an echo with the worker's own client
            // settings, 1 000 commands/s, interleaved pairs: p50 1.25-1.44x the
            // echo with 0 vs 1.60-1.78x with 5 ms; 10 000/s kept up; backlog
            // drain the same (bench/worker_throughput.sh, 47-53k/s either way).
            kafka_batch_wait_ms: 0,
            // A batch's acknowledgements take longer than its answer (on the
            // test broker, ack p50 3.6 ms and p99 15 ms vs the database's
            // 0.6 / 2.3 ms), so the next batches are answered meanwhile.
            // docs/worker.md has the measurements behind 8.
            kafka_batches_in_flight: 8,
            kafka_group_instance_id: None,
            kafka_properties: None,
        }
    }
}

/// Which clients an extra librdkafka property is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaClient {
    Both,
    Consumer,
    Producer,
}

/// Kafka settings of the worker.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub commands_topic: String,
    pub events_topic: String,
    pub group_id: String,
    pub dlq_topic: String,
    /// The compacted topic of public profiles (docs/user-directory.md).
    pub directory_topic: String,
    /// How often an idle directory relay looks for new events.
    pub directory_poll: Duration,
    /// Most messages answered together (one database query per batch).
    pub batch_size: usize,
    /// How long a batch waits for more messages once it has one.
    pub batch_wait: Duration,
    /// Most answered batches awaiting the broker's acknowledgements at once.
    pub batches_in_flight: usize,
    /// This worker's static group membership (`KAFKA_GROUP_INSTANCE_ID`, the
    /// pod's name in Kubernetes): a restarted container takes its partitions
    /// back at once instead of after the dead member's session.
    pub group_instance_id: Option<String>,
    /// Extra librdkafka properties (`KAFKA_PROPERTIES`), e.g. TLS and SASL.
    /// Values may be secrets: `Debug` prints the keys only.
    pub properties: Vec<(String, KafkaClient, SecretString)>,
}

impl KafkaSettings {
    /// Settings for a broker and topic names, with the defaults of everything else.
    pub fn new(bootstrap: &str, commands: &str, events: &str, dlq: &str, group: &str) -> Self {
        Self {
            bootstrap_servers: bootstrap.into(),
            commands_topic: commands.into(),
            events_topic: events.into(),
            group_id: group.into(),
            dlq_topic: dlq.into(),
            ..Self::check(RawKafka::default()).expect("the defaults are valid")
        }
    }

    pub(super) fn check(raw: RawKafka) -> Result<Self, ConfigError> {
        for (var, value) in [
            ("KAFKA_BOOTSTRAP_SERVERS", &raw.kafka_bootstrap_servers),
            ("KAFKA_USER_COMMANDS_TOPIC", &raw.kafka_user_commands_topic),
            ("KAFKA_USER_EVENTS_TOPIC", &raw.kafka_user_events_topic),
            (
                "KAFKA_USER_SERVICE_GROUP_ID",
                &raw.kafka_user_service_group_id,
            ),
            ("KAFKA_DLQ_TOPIC", &raw.kafka_dlq_topic),
            (
                "KAFKA_USER_DIRECTORY_TOPIC",
                &raw.kafka_user_directory_topic,
            ),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(var, "non-empty", value));
            }
        }
        if raw.kafka_batch_size == 0 || raw.kafka_batch_size > 10_000 {
            return Err(invalid(
                "KAFKA_BATCH_SIZE",
                "from 1 to 10000",
                &raw.kafka_batch_size.to_string(),
            ));
        }
        if !(1..=64).contains(&raw.kafka_batches_in_flight) {
            return Err(invalid(
                "KAFKA_BATCHES_IN_FLIGHT",
                "from 1 to 64",
                &raw.kafka_batches_in_flight.to_string(),
            ));
        }
        if !(1..=1000).contains(&raw.kafka_directory_poll_ms) {
            return Err(invalid(
                "KAFKA_DIRECTORY_POLL_MS",
                "from 1 to 1000",
                &raw.kafka_directory_poll_ms.to_string(),
            ));
        }
        let group_instance_id = raw
            .kafka_group_instance_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        if let Some(id) = &group_instance_id
            && (id.len() > 249
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
        {
            return Err(invalid(
                "KAFKA_GROUP_INSTANCE_ID",
                "at most 249 of [A-Za-z0-9._-] (e.g. the pod's name)",
                id,
            ));
        }
        let properties = match &raw.kafka_properties {
            None => Vec::new(),
            Some(list) => parse_properties(list.expose_secret())?,
        };
        Ok(Self {
            bootstrap_servers: raw.kafka_bootstrap_servers,
            commands_topic: raw.kafka_user_commands_topic,
            events_topic: raw.kafka_user_events_topic,
            group_id: raw.kafka_user_service_group_id,
            dlq_topic: raw.kafka_dlq_topic,
            directory_topic: raw.kafka_user_directory_topic,
            directory_poll: Duration::from_millis(raw.kafka_directory_poll_ms),
            batch_size: raw.kafka_batch_size,
            batch_wait: Duration::from_millis(raw.kafka_batch_wait_ms),
            batches_in_flight: raw.kafka_batches_in_flight,
            group_instance_id,
            properties,
        })
    }
}

/// `key=value` pairs separated by `;` or newlines; a `consumer.` or `producer.`
/// prefix limits a property to that client (e.g. `consumer.session.timeout.ms=6000`).
fn parse_properties(list: &str) -> Result<Vec<(String, KafkaClient, SecretString)>, ConfigError> {
    list.split([';', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once('=').ok_or_else(|| {
                ConfigError::new(
                    "KAFKA_PROPERTIES must be key=value pairs separated by ';' (a key had no '=')",
                )
            })?;
            let key = key.trim();
            let (client, key) = if let Some(k) = key.strip_prefix("consumer.") {
                (KafkaClient::Consumer, k)
            } else if let Some(k) = key.strip_prefix("producer.") {
                (KafkaClient::Producer, k)
            } else {
                (KafkaClient::Both, key)
            };
            if key.is_empty() {
                return Err(ConfigError::new("KAFKA_PROPERTIES has an empty key"));
            }
            Ok((key.to_owned(), client, SecretString::from(value.trim())))
        })
        .collect()
}
