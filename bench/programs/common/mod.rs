//! What the benchmark programs share: fresh topics on the bench broker.

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

/// The broker: `KAFKA_BOOTSTRAP_SERVERS`, else the local test broker.
pub fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Partitions of the commands, events and directory topics.
pub const PARTITIONS: i32 = 6;

/// Fresh topics whose names start with `prefix`: commands, events ([`PARTITIONS`]
/// partitions each), dead letters, and the user directory the worker also
/// needs; returns (commands, events, dlq, directory, unique id).
pub async fn fresh_topics(
    prefix: &str,
) -> anyhow::Result<(String, String, String, String, String)> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (commands, events, dlq) = (
        format!("{prefix}cmd_{id}"),
        format!("{prefix}evt_{id}"),
        format!("{prefix}dlq_{id}"),
    );
    let directory = format!("{prefix}dir_{id}");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()?;
    let topics = [
        NewTopic::new(&commands, PARTITIONS, TopicReplication::Fixed(1)),
        NewTopic::new(&events, PARTITIONS, TopicReplication::Fixed(1)),
        NewTopic::new(&dlq, 1, TopicReplication::Fixed(1)),
        NewTopic::new(&directory, PARTITIONS, TopicReplication::Fixed(1))
            .set("cleanup.policy", "compact"),
    ];
    for r in admin.create_topics(&topics, &AdminOptions::new()).await? {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok((commands, events, dlq, directory, id))
}
