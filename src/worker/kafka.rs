//! Kafka clients of the worker: their configuration, the consumer context that
//! logs rebalances and commits on revocation, and topic checks and creation.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::config::{ExposeSecret, KafkaClient, KafkaSettings};

pub type WorkerConsumer = StreamConsumer<WorkerContext>;

/// How quickly a client notices a broker that is back: librdkafka doubles its
/// reconnect backoff up to `reconnect.backoff.max.ms` (10 s by default), so
/// after an outage commands waited up to 10 s more than the outage itself.
/// Capped at 1 s: at most one connection attempt per broker per second while
/// a broker is down for long — nothing a broker notices — and answers resume
/// within about a second of its return (docs: faults and recovery).
const RECONNECT: [(&str, &str); 2] = [
    ("reconnect.backoff.ms", "100"),
    ("reconnect.backoff.max.ms", "1000"),
];

/// How soon the group notices a worker that died without leaving it (kill -9,
/// a lost node): its partitions wait that long before another member takes
/// them. librdkafka's default session (45 s) is far beyond a saga's patience;
/// 6 s with a heartbeat every second means failover in about 6-8 s, while a
/// pause of a few seconds (a GC-free process, but a busy node or a slow
/// network) is not yet taken for a death, which would cost a rebalance and
/// duplicate replies. `KAFKA_PROPERTIES` overrides both.
const GROUP_MEMBERSHIP: [(&str, &str); 2] = [
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "1000"),
];

fn base_config(settings: &KafkaSettings, who: KafkaClient) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap_servers);
    for (key, value) in RECONNECT {
        config.set(key, value);
    }
    for (key, client, value) in &settings.properties {
        if *client == KafkaClient::Both || *client == who {
            config.set(key, value.expose_secret());
        }
    }
    config
}

/// The command consumer. Offsets are stored by the worker only after a message's
/// reply is acknowledged (`enable.auto.offset.store=false`); librdkafka commits
/// what is stored in the background, and the worker commits on revoke and exit.
pub fn consumer(settings: &KafkaSettings) -> KafkaResult<WorkerConsumer> {
    consumer_config(settings).create_with_context(WorkerContext)
}

/// The command consumer's librdkafka configuration (also what the saga
/// benchmark's echo baseline consumes with, so both sides of its ratio run
/// the same client settings).
pub fn consumer_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        // A new group starts at the oldest command: nothing sent before the first
        // worker started is skipped.
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false");
    for (key, value) in GROUP_MEMBERSHIP {
        config.set(key, value);
    }
    if let Some(id) = &settings.group_instance_id {
        config.set("group.instance.id", id);
    }
    // User properties last, so they can override any of the above.
    for (k, v) in base_config(settings, KafkaClient::Consumer).config_map() {
        config.set(k, v);
    }
    config
}

/// The reply and dead-letter producer: idempotent, acknowledged by all replicas.
pub fn producer(settings: &KafkaSettings) -> KafkaResult<FutureProducer> {
    producer_config(settings).create()
}

/// The reply producer's librdkafka configuration (also the echo baseline's).
pub fn producer_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "10000");
    for (k, v) in base_config(settings, KafkaClient::Producer).config_map() {
        config.set(k, v);
    }
    config
}

/// Logs assignments and revocations, and commits stored offsets before
/// partitions are taken away, so the next owner starts right after our work.
pub struct WorkerContext;

impl ClientContext for WorkerContext {}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            tracing::info!(partitions = %describe(tpl), "partitions revoked");
            commit_stored(consumer);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned");
                // librdkafka keeps a partition's pause across losing and
                // regaining it: a partition paused during a broker outage
                // (processor: wait_paused) whose assignment was lost before
                // the resume came back paused, and was never read again.
                // What we are given, we read.
                if let Err(e) = consumer.resume(tpl) {
                    tracing::warn!(error = %e, "resuming newly assigned partitions failed");
                }
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
            Rebalance::Revoke(_) => {}
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _: &TopicPartitionList) {
        record_commit(result);
    }
}

/// Commits what has been stored.
pub fn commit_stored<C: ConsumerContext>(consumer: &impl Consumer<C>) {
    record_commit(consumer.commit_consumer_state(CommitMode::Sync));
}

/// Counts and logs a failed commit (background or ours); "nothing stored" is
/// not a failure.
fn record_commit(result: KafkaResult<()>) {
    match result {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => {
            metrics::counter!(crate::metrics::WORKER_COMMIT_FAILURES).increment(1);
            tracing::warn!(error = %e, "committing offsets failed");
        }
    }
}

/// `topic/partition` list for logs, e.g. `user_commands/0,user_commands/3`.
pub fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Which of `topics` the broker does not have. Blocking (metadata request):
/// call it from `spawn_blocking`.
pub fn missing_topics(
    consumer: &WorkerConsumer,
    topics: &[&str],
    timeout: Duration,
) -> KafkaResult<Vec<String>> {
    let metadata = consumer.fetch_metadata(None, timeout)?;
    Ok(topics
        .iter()
        .filter(|t| {
            !metadata
                .topics()
                .iter()
                .any(|m| m.name() == **t && m.error().is_none() && !m.partitions().is_empty())
        })
        .map(|t| t.to_string())
        .collect())
}

/// Creates the worker's topics where missing (`user-worker create-topics`; the dev
/// and test scripts use it): commands, events and the user directory with
/// `partitions` partitions, the dead-letter topic with one. The directory is
/// compacted: the latest record of each user stays, and a deleted user's
/// tombstone erases the rest (after `delete.retention.ms`, a day by default,
/// the tombstone too).
pub async fn create_topics(
    settings: &KafkaSettings,
    partitions: i32,
    replication: Option<i32>,
) -> KafkaResult<Vec<String>> {
    let admin: AdminClient<DefaultClientContext> =
        base_config(settings, KafkaClient::Both).create()?;
    let replication = match replication {
        Some(r) => r,
        None => {
            let brokers = admin
                .inner()
                .fetch_metadata(None, Duration::from_secs(10))?
                .brokers()
                .len();
            (brokers as i32).clamp(1, 3)
        }
    };
    // With three or more replicas, an acks=all write must reach two of them
    // before it counts: one broker lost never loses an acknowledged command.
    let min_insync = if replication >= 3 { "2" } else { "1" };
    let topics = [
        (settings.commands_topic.as_str(), partitions),
        (settings.events_topic.as_str(), partitions),
        (settings.dlq_topic.as_str(), 1),
    ]
    .map(|(name, partitions)| {
        NewTopic::new(name, partitions, TopicReplication::Fixed(replication))
            .set("min.insync.replicas", min_insync)
    });
    let directory = NewTopic::new(
        &settings.directory_topic,
        partitions,
        TopicReplication::Fixed(replication),
    )
    .set("min.insync.replicas", min_insync)
    .set("cleanup.policy", "compact");
    let topics: Vec<NewTopic<'_>> = topics.into_iter().chain([directory]).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics(&topics, &options).await?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(
                    |_| tracing::error!(topic = %name, error = %code, "creating topic failed"),
                );
            }
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failover and recovery times the chaos suite measures rest on these.
    #[test]
    fn clients_reconnect_within_a_second_and_notice_a_dead_member_within_six() {
        let settings = KafkaSettings::new("127.0.0.1:9092", "c", "e", "d", "g");
        let consumer = consumer_config(&settings);
        assert_eq!(consumer.get("session.timeout.ms"), Some("6000"));
        assert_eq!(consumer.get("heartbeat.interval.ms"), Some("1000"));
        assert_eq!(consumer.get("reconnect.backoff.max.ms"), Some("1000"));
        let producer = base_config(&settings, KafkaClient::Producer);
        assert_eq!(producer.get("reconnect.backoff.max.ms"), Some("1000"));

        let mut tuned = settings.clone();
        tuned.properties.push((
            "session.timeout.ms".into(),
            KafkaClient::Consumer,
            crate::config::SecretString::from("10000"),
        ));
        assert_eq!(
            consumer_config(&tuned).get("session.timeout.ms"),
            Some("10000"),
            "KAFKA_PROPERTIES overrides"
        );
        assert_eq!(
            consumer.get("group.instance.id"),
            None,
            "dynamic by default"
        );
        tuned.group_instance_id = Some("user-worker-7d9f-abcde".into());
        assert_eq!(
            consumer_config(&tuned).get("group.instance.id"),
            Some("user-worker-7d9f-abcde")
        );
    }
}
